"""The chaos run's unsafe variant (tests/chaos/test_chaos.py is the run itself): the
inbox's check off, which must show the duplicates the check stops. A file of its own
so that `make test` runs it beside the others (infra/dev/testrun.py)."""

from pathlib import Path

from tests.chaos.run import chaos
from tests.chaos.test_chaos import report


def test_with_the_inbox_check_off_the_run_reports_duplicates(tmp_path: Path) -> None:
    out = chaos(
        tmp_path / "chaos",
        communicators=12,
        dedup=False,
        interval=0.4,
        kinds={"republish": 4, "kill": 1, "stripe": 1},
    )
    text = report(out)
    assert out.faults.get("republish", 0) > 0, text
    assert out.duplicated["events handled twice"] > 0, text
    assert out.total_duplicated > 0, text
    assert out.counts["duplicates suppressed"] == 0, text
    assert out.lost["stipends not paid"] == 0, text  # money is guarded twice over
    assert out.duplicated["stipends paid twice"] == 0, text
