"""`make test`'s runner stops a job that hangs: past its deadline the job is asked
for its stacks, ended and reported with them, then run once more; a second hang or
any failure fails the run. The runner never waits until CI's budget runs out."""

import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT


@pytest.fixture
def testrun(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    spec = importlib.util.spec_from_file_location(
        "testrun", ROOT / "infra" / "dev" / "testrun.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "testrun", module)  # for its dataclass
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "OUT", tmp_path)
    monkeypatch.setattr(module, "DURATIONS", tmp_path / "durations.json")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    yield module


# a stand-in for pytest: hangs (always, or only on its first try), fails or passes
JOB = """
import sys, time
from pathlib import Path

marker = Path(sys.argv[-1])  # the job's last argument
if "{how}" == "fails":
    print("1 failed in 0.01s")
    sys.exit(1)
if "{how}" == "hangs once" and marker.exists():
    print("1 passed in 0.01s")
    sys.exit(0)
marker.touch()
time.sleep(600)
"""


def run_job(
    testrun: Any, how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str]:
    script = tmp_path / "job.py"
    script.write_text(JOB.format(how=how))
    monkeypatch.setattr(testrun, "PYTEST", [sys.executable, str(script)])
    monkeypatch.setattr(testrun, "DEADLINE", 3.0)
    job = testrun.Job(
        "hangs",
        [str(tmp_path / "tried")],
        log=tmp_path / "hangs.log",
        stacks=tmp_path / "hangs.stacks",
        xml=tmp_path / "hangs.xml",
    )
    began = time.monotonic()
    status = testrun.run(1, [job])
    took = time.monotonic() - began
    assert took < 60, f"the runner waited {took:.0f} s for a job due to stop at 3"
    assert job.process.poll() is not None
    return status, job.log.parent


# how the stand-in behaves -> the run's status, and what the runner must print
# (and how often), or never print (count 0)
CASES = {
    "hangs": (  # twice: stopped twice, kept, and the run fails
        1,
        {
            "[HUNG] hangs: stopped after its deadline of 3 s": 2,
            "[again] hangs: once more": 1,
            "stacks when stopped:": 2,
            "FAILED: hangs; run again after a hang: hangs": 1,
        },
    ),
    "hangs once": (  # passes on its second try, and the summary says it hung
        0,
        {"[HUNG] hangs": 1, "[ok] hangs: 1 passed": 1, "after a hang: hangs": 1},
    ),
    "fails": (  # a failure is never run again
        1,
        {"[FAILED] hangs: 1 failed": 1, "[again]": 0, "HUNG": 0},
    ),
}


@pytest.mark.parametrize("how", list(CASES))
def test_a_hang_is_stopped_and_run_once_more_a_failure_never(
    how: str,
    testrun: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    expected_status, lines = CASES[how]

    status, folder = run_job(testrun, how, tmp_path, monkeypatch)

    assert status == expected_status
    printed = capsys.readouterr().out
    for line, times in lines.items():
        assert printed.count(line) == times, (line, printed[-3000:])
    assert (folder / "hangs.hung.log").exists() == how.startswith("hangs")


WAITS = """
import sys
sys.path.insert(0, {root!r})
import tests.conftest  # the handler under test
import eventlet, time

def waits_in_a_greenlet():
    time.sleep(600)

eventlet.spawn(waits_in_a_greenlet)
eventlet.sleep(0)
print("ready", flush=True)
time.sleep(600)
"""


def test_the_suite_answers_sigusr1_with_every_greenlets_stack(tmp_path: Path) -> None:
    """What the runner prints of a hung job: tests/conftest.py's handler writes each
    thread's and each greenlet's stack to the file SVYAZ_TEST_STACKS names."""
    stacks = tmp_path / "job.stacks"
    script = tmp_path / "waits.py"
    script.write_text(WAITS.format(root=str(ROOT)))
    process = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=ROOT,
        env={**os.environ, "SVYAZ_TEST_STACKS": str(stacks)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 60
        while "waits_in_a_greenlet" not in (
            stacks.read_text() if stacks.exists() else ""
        ):
            assert time.monotonic() < deadline, "no stacks written within 60 s"
            time.sleep(0.2)
        text = stacks.read_text()
        assert "Thread" in text  # faulthandler: the threads
        assert "--- greenlet" in text  # the handler: the greenlets
    finally:
        process.kill()
        process.wait()


# a stand-in that notes when it started and ended, and stays its seconds between
SPAN = """
import sys, time
from pathlib import Path

start = time.monotonic()
time.sleep(float(sys.argv[-2]))
Path(sys.argv[-1]).write_text(f"{start} {time.monotonic()}")
print("1 passed in 1.00s")
"""


def test_the_chaos_jobs_run_last_side_by_side(
    testrun: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chaos jobs start once every other job has started and only one still
    runs, and run together: each faults only the system it started."""
    script = tmp_path / "span.py"
    script.write_text(SPAN)
    monkeypatch.setattr(testrun, "PYTEST", [sys.executable, str(script)])
    seconds = {"long": 8, "short": 1, "chaos-a": 1.5, "chaos-b": 1.5}
    jobs = [
        testrun.Job(
            name,
            [str(seconds[name]), str(tmp_path / f"{name}.span")],
            exclusive=name.startswith("chaos"),
            estimate=seconds[name],
            log=tmp_path / f"{name}.log",
            stacks=tmp_path / f"{name}.stacks",
            xml=tmp_path / f"{name}.xml",
        )
        for name in seconds
    ]

    assert testrun.run(3, jobs) == 0

    began, ended = {}, {}
    for name in seconds:
        text = (tmp_path / f"{name}.span").read_text().split()
        began[name], ended[name] = float(text[0]), float(text[1])
    for chaos in ("chaos-a", "chaos-b"):
        assert began[chaos] >= ended["short"]  # not beside two others
        assert began[chaos] < ended["long"]  # but beside the last one
    assert began["chaos-a"] < ended["chaos-b"]  # and together
    assert began["chaos-b"] < ended["chaos-a"]


def test_jobs_cache_bytecode_whatever_the_machine_says(
    testrun: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    job = testrun.Job("unit", [], stacks=tmp_path / "unit.stacks")

    env = testrun.job_environment(job)

    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["SVYAZ_TEST_STACKS"] == str(tmp_path / "unit.stacks")


def test_a_sweep_that_fails_is_reported_and_the_tests_still_run(
    testrun: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweep of what killed runs left is a clean-up: when it fails (the broker's
    API away), the runner says so and goes on; when it works, its report."""

    def away(**_: Any) -> None:
        raise ConnectionError("the management API did not answer")

    monkeypatch.setattr(testrun.leftovers, "sweep", away)
    said = testrun.sweep_leftovers()
    assert said.startswith("leftovers: not swept (ConnectionError: the management")
    monkeypatch.setattr(testrun.leftovers, "sweep", lambda **_: None)
    assert "a test run or bench is running" in testrun.sweep_leftovers()
