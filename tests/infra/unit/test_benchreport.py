"""docs/benchmarks.md is written from what the benchmarks printed: each RESULT line
read back and judged against its own target, a script without one listed as failed,
and the machine described."""

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SCRIPT = ROOT / "infra" / "dev" / "benchreport.py"


def test_results_are_read_back_and_judged(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "fast.log").write_text(
        "machine: x\nours 100/s, raw 120/s\n"
        # eventlet's deprecation notice, as an import prints it
        "Eventlet is deprecated. It is currently being maintained in bugfix mode, and\n"
        "we strongly recommend against using it for new projects.\n\n"
        "If you are already using Eventlet, we recommend migrating to a different\n"
        "framework.  For more detail see\n"
        "https://eventlet.readthedocs.io/en/latest/asyncio/migration.html\n\n"
        "  import eventlet.patcher\n"
        "RESULT fast ratio=0.83 target>=0.8\n"
    )
    (logs / "slow.log").write_text("wall 7 s\nRESULT slow ratio=7.40 target<=3\n")
    (logs / "broken.log").write_text("Traceback (most recent call last):\nboom\n")
    for log, written in (
        ("fast", 1_700_000_000),
        ("slow", 1_700_000_600),
        ("broken", 1_600_000_000),
    ):
        os.utime(logs / f"{log}.log", (written, written))  # the run's time, not now
    out = tmp_path / "benchmarks.md"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(logs), str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "fast: 0.83 met" in done.stdout and "slow: 7.4 missed" in done.stdout
    text = out.read_text()
    assert "| `bench/fast.py` | 0.83 | >= 0.8 | target met |" in text
    assert "| `bench/slow.py` | 7.40 | <= 3 | **target missed** |" in text
    assert "| `bench/broken.py` | — | — | **failed: no RESULT line** |" in text
    assert "ours 100/s, raw 120/s" in text  # the figures beside the ratio
    assert "recommend" not in text and "framework." not in text  # not figures
    assert "- CPU: " in text and "- Python 3." in text
    assert "Written by `make bench` on 2023-11-14 22:23 UTC" in text  # the last log


def test_no_logs_is_an_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path), str(tmp_path / "b.md")],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and "no benchmark logs" in done.stderr


def test_the_hand_written_notes_survive_a_new_run(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "fast.log").write_text("RESULT fast ratio=0.90 target>=0.8\n")
    out = tmp_path / "benchmarks.md"
    out.write_text(
        "# Benchmarks\n\nold figures\n\n## What changed and why\n\n"
        "### bench/fast.py\n\nBatched the writes.\n"
    )
    subprocess.run([sys.executable, str(SCRIPT), str(logs), str(out)], check=True)
    text = out.read_text()
    assert "old figures" not in text and "| 0.90 |" in text
    assert text.endswith(
        "## What changed and why\n\n### bench/fast.py\n\nBatched the writes.\n"
    )
