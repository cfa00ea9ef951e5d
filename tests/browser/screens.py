"""Where the README's screenshots go.

A test run writes them beside the other artifacts (artifacts/browser/screens/), so
that it leaves the checkout as it was; `make screens` runs the browser tests with
`SCREENS_DIR=docs/screens`, which refreshes the README's pictures: the fixed ones
the tests take by name, and every step shot (`shots`) whose name is already a
picture there."""

import os
from pathlib import Path

from tests.conftest import ROOT

ARTIFACTS = ROOT / "artifacts" / "browser"
SCREENS = Path(os.environ.get("SCREENS_DIR") or ARTIFACTS / "screens")
REFRESHING = bool(os.environ.get("SCREENS_DIR"))
