"""The chaos run in its short form (`make test`; `make chaos` runs the long one):
a whole cycle for a few dozen people through two replicas of every service while
faults are injected, then the witnesses (tests/chaos/run.py). And its unsafe
variant, the inbox's check off, which must show the duplicates the check stops."""

from pathlib import Path

import pytest

from tests.chaos.run import Outcome, chaos


def report(out: Outcome) -> str:
    text = "\n".join(out.lines())
    print(text)  # shown with -s, and in the failure's report
    return text


@pytest.fixture
def var(tmp_path: Path) -> Path:
    return tmp_path / "chaos"


def test_a_cycle_under_faults_loses_nothing_and_does_nothing_twice(var: Path) -> None:
    # a fault every 0.3 s on average while the cycle runs: the cycle got quicker
    # (50 s on 2026-12-06) and at 0.4 s a run could end with 57 faults
    out = chaos(var, communicators=40, interval=0.3)
    text = report(out)
    assert out.counts["stipends approved"] == 40, text
    assert out.total_faults >= 60, text  # the long run in `make chaos`: 200 and more
    for kind in ("kill", "pg", "amqp", "republish"):
        assert out.faults.get(kind, 0) > 0, (kind, text)
    assert out.counts["restarts"] > 0, text
    assert out.total_lost == 0, text
    assert out.total_duplicated == 0, text
    assert not any(out.broken.values()), text
    assert out.leaks.findings == [], text
    assert out.counts["duplicates suppressed"] > 0, text  # the inbox did its work


def test_with_the_inbox_check_off_the_run_reports_duplicates(var: Path) -> None:
    out = chaos(
        var,
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
