"""docs/chaos.md is written from what `make chaos` printed, as printed."""

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SCRIPT = ROOT / "infra" / "dev" / "chaosreport.py"


def test_each_run_is_copied_as_printed_and_a_missing_one_said(tmp_path: Path) -> None:
    runs = tmp_path / "chaos"
    runs.mkdir()
    (runs / "run.txt").write_text(
        "chaos: 3 communicators\nUserWarning: noise\n\n"
        "RESULT chaos faults=250 lost=0 duplicated=0\n"
    )
    target = tmp_path / "chaos.md"
    subprocess.run([sys.executable, str(SCRIPT), str(runs), str(target)], check=True)
    text = target.read_text()
    assert "chaos: 3 communicators\nRESULT chaos faults=250 lost=0 duplicated=0" in text
    assert "noise" not in text
    assert "## The unsafe variant (inbox deduplication off)\n\n(not run)" in text
    assert "- CPU:" in text
