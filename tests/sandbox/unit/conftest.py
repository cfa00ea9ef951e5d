"""The sandbox's modules imported in this process (no server, no state file)."""

import sys

from tests.stripe_harness import SANDBOX

if str(SANDBOX) not in sys.path:
    sys.path.insert(0, str(SANDBOX))
