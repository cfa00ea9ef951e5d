"""The whole test suite in a few pytest processes at once (`make test`).

The suite spends most of its time waiting (for RabbitMQ, PostgreSQL, a browser, a
whole system starting), so on two cores a few processes side by side finish it in
far less time than one. Each process is a *job*: the unit tests, contracts and infra
checks together; each service's integration tests (the larger ones in two halves);
the end-to-end tests; the browser tests in two halves. Every test makes its own vhost
and databases, so jobs share nothing but the machine.

The chaos runs, which load the machine on purpose, run last, side by side, from the
moment every other job has started and only one of them still runs. The longest jobs
start first, by the times of the last run (var/test/durations.json) or, without one,
by the estimates below.

    python infra/dev/testrun.py            # every job, 3 slots (TEST_SLOTS)
    python infra/dev/testrun.py --slots 1  # one job at a time

Before its jobs start it removes what killed test runs left on the machine, when
no other run is alive (infra/dev/leftovers.py). Each job's output is in
var/test/<job>.log, and each test's outcome and time in var/test/<job>.xml (JUnit
XML, which CI systems and `infra/dev/testtimes.py` read); a failing job's summary
is printed. The exit status is 1 when any job failed.

No job may run longer than its deadline (TEST_JOB_DEADLINE seconds, 1200 by
default): a job past it is asked for the stacks of its threads and greenlets
(SIGUSR1, see tests/conftest.py), stopped, and reported with the end of its log and
those stacks, so that a hang names itself instead of eating CI's whole budget. It then
runs once more from the start (TEST_JOB_RETRIES=0: never); a job that fails its
tests is never run again, and the summary names every job that hung.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import leftovers

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "var" / "test"
DURATIONS = OUT / "durations.json"
PYTEST = [
    str(ROOT / ".venv" / "bin" / "pytest"),
    "-q",
    "-p",
    "no:cacheprovider",
    "--durations=15",  # in each job's log: where its time went
]
# seconds each job took in a clean-clone run beside two others (2026-12-06, 2 × AMD
# EPYC): the order on a fresh clone (CI's), before var/test/durations.json exists
TYPICAL = {
    "e2e": 330,
    "browser-2": 290,
    "browser-1": 245,
    "stipends-integration-2": 205,
    "gateway-integration-1": 180,
    "gateway-integration-2": 170,
    "notifications-integration": 140,
    "registry-integration-1": 125,
    "registry-integration-2": 120,
    "stipends-integration-1": 120,
    "unit-contracts-infra": 90,
    "svyaz-integration": 85,
    "pooled": 75,
    "sandbox-integration": 50,
    "insights-integration": 15,
}
SYSTEM_WEIGHT = 1  # a job that starts a whole system (its processes wait, mostly)
SPLIT = {"gateway", "stipends", "registry"}  # integration folders run in two halves
# pytest -q's last line: "12 passed, 1 skipped, 1 warning in 101.84s (0:01:41)"
SUMMARY = re.compile(r"^=*\s*(\d+ \w+(?:, \d+ \w+)*) in [\d.]+s", re.MULTILINE)
COUNTED = {"passed", "failed", "error", "errors", "skipped", "xfailed", "xpassed"}
DEADLINE = float(os.environ.get("TEST_JOB_DEADLINE", "1200"))
RETRIES = int(os.environ.get("TEST_JOB_RETRIES", "1"))  # after a hang, not a failure
TAIL = 1  # the chaos jobs start when no more than this many others still run


@dataclass
class Job:
    name: str
    args: list[str]
    weight: int = 1
    exclusive: bool = False  # last, beside the other such jobs (see TAIL)
    estimate: float = 60.0
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    elapsed: float = 0.0
    summary: str = ""
    returncode: int | None = None
    timed_out: bool = False
    hung: int = 0  # how many of its tries were stopped at the deadline
    log: Path = field(default_factory=Path)
    stacks: Path = field(default_factory=Path)
    xml: Path = field(default_factory=Path)


def jobs() -> list[Job]:
    tests = ROOT / "tests"
    found: list[Job] = []
    quick = [str(p.relative_to(ROOT)) for p in sorted(tests.glob("*/unit"))]
    quick += ["tests/contracts", "tests/infra"]
    found.append(Job("unit-contracts-infra", quick, estimate=120))
    for folder in sorted(tests.glob("*/integration")):
        area = folder.parent.name
        if area == "infra":
            continue  # with the unit job
        files = sorted(str(p.relative_to(ROOT)) for p in folder.glob("test_*.py"))
        if area in SPLIT and len(files) > 1:
            found.append(Job(f"{area}-integration-1", files[0::2], estimate=180))
            found.append(Job(f"{area}-integration-2", files[1::2], estimate=180))
        elif files:
            found.append(Job(f"{area}-integration", files, estimate=90))
    # end-to-end and browser tests share one running system per pytest session
    # (tests/conftest.py: `system`), so a job takes many files: e2e whole, the
    # browser tests in two halves
    e2e = sorted(str(p.relative_to(ROOT)) for p in (tests / "e2e").glob("test_*.py"))
    found.append(Job("e2e", e2e, weight=SYSTEM_WEIGHT, estimate=300))
    # payouts and reconciliation again, through PgBouncer in transaction pooling
    found.append(Job("pooled", ["tests/pooled"], estimate=75))
    browser = sorted(
        str(p.relative_to(ROOT)) for p in (tests / "browser").glob("test_*.py")
    )
    for half in (0, 1):
        found.append(
            Job(
                f"browser-{half + 1}",
                browser[half::2],
                weight=SYSTEM_WEIGHT,
                estimate=240,
            )
        )
    for path in sorted((tests / "chaos").glob("test_*.py")):
        found.append(
            Job(
                f"chaos-{path.stem.removeprefix('test_')}",
                [str(path.relative_to(ROOT))],
                exclusive=True,
                estimate=120,
            )
        )
    known = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    for job in found:
        default = TYPICAL.get(job.name, job.estimate)
        job.estimate = float(known.get(job.name, default))
        job.log = OUT / f"{job.name}.log"
        job.stacks = OUT / f"{job.name}.stacks"
        job.xml = OUT / f"{job.name}.xml"
    return found


def job_environment(job: Job) -> dict[str, str]:
    """The job's environment: this one, with bytecode caching on. On a machine that
    sets PYTHONDONTWRITEBYTECODE, every Python process the suite starts (pytest, each
    service of each system, each sandbox, each CLI call) compiles the project's
    modules again, and pytest rewrites every test module again: pytest alone took
    1.1 s longer to start."""
    env = {**os.environ, "SVYAZ_TEST_STACKS": str(job.stacks)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def start(job: Job) -> None:
    job.started = time.monotonic()
    handle = job.log.open("wb")
    job.stacks.unlink(missing_ok=True)
    job.process = subprocess.Popen(  # its own process group: stopped as a whole
        [*PYTEST, f"--junitxml={job.xml}", *job.args],
        cwd=ROOT,
        env=job_environment(job),
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    handle.close()


def stop(job: Job) -> None:
    """A job past its deadline: its stacks into its log, then the whole group ended."""
    assert job.process is not None
    job.timed_out = True
    # SIGUSR1 to pytest alone: a browser or driver in its group would die of it
    for sig, grace in ((signal.SIGUSR1, 5.0), (signal.SIGTERM, 15.0)):
        try:
            if sig == signal.SIGUSR1:
                os.kill(job.process.pid, sig)
            else:
                os.killpg(job.process.pid, sig)
            job.process.wait(timeout=grace)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):
        os.killpg(job.process.pid, signal.SIGKILL)
    job.process.wait()


def finish(job: Job) -> None:
    assert job.process is not None
    job.returncode = job.process.returncode
    job.elapsed = time.monotonic() - job.started
    text = job.log.read_text(errors="replace")
    found = SUMMARY.findall(text)
    job.summary = found[-1] if found else "no summary (see its log)"
    if job.timed_out:
        job.returncode = job.returncode or 1
        job.summary = f"stopped after its deadline of {DEADLINE:.0f} s"
    ok = job.returncode in (0, 5)  # 5: nothing collected
    mark = "ok" if ok else "HUNG" if job.timed_out else "FAILED"
    print(f"[{mark}] {job.name}: {job.summary} ({job.elapsed:.0f} s)", flush=True)
    if job.timed_out:  # where it was: the log's end, and every stack
        stacks = job.stacks.read_text(errors="replace") if job.stacks.exists() else ""
        print(text[-4000:], "\nstacks when stopped:", stacks[-20000:], flush=True)
    elif not ok:
        tail = text[text.rfind("short test summary info") :][-4000:]
        print(tail or text[-4000:], flush=True)


def retry(job: Job) -> None:
    """A job stopped at its deadline runs once more, from the start; its first try's
    log and stacks are kept beside the new ones (<job>.hung.log, .hung.stacks)."""
    job.hung += 1
    job.log.replace(job.log.with_suffix(".hung.log"))
    if job.stacks.exists():
        job.stacks.replace(job.stacks.with_suffix(".hung.stacks"))
    print(f"[again] {job.name}: once more, after the hang above", flush=True)
    job.timed_out = False
    start(job)


def run(slots: int, todo: list[Job]) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    parallel = sorted(
        (job for job in todo if not job.exclusive), key=lambda j: -j.estimate
    )
    alone = [job for job in todo if job.exclusive]
    running: list[Job] = []
    done: list[Job] = []
    began = time.monotonic()

    def load() -> int:
        return sum(job.weight for job in running)

    def reap() -> None:
        for job in list(running):
            assert job.process is not None
            if job.process.poll() is None and (
                time.monotonic() - job.started > DEADLINE
            ):
                stop(job)
            if job.process.poll() is not None:
                finish(job)
                if job.timed_out and job.hung < RETRIES:
                    retry(job)  # once: a rare hang must not cost the whole run
                    continue
                running.remove(job)
                done.append(job)

    try:
        # the chaos runs last, side by side (each faults only its own system), from
        # the moment every other job has started and at most one is still running:
        # the main phase's last job alone leaves a core idle
        while parallel or alone or running:
            reap()
            for job in list(parallel):
                if not running or load() + job.weight <= slots:
                    parallel.remove(job)
                    start(job)
                    running.append(job)
            if not parallel and alone and len(running) <= TAIL:
                for job in alone:
                    start(job)
                    running.append(job)
                alone.clear()
            time.sleep(0.5)
    except KeyboardInterrupt:
        for job in running:
            if job.process is not None:
                os.killpg(job.process.pid, signal.SIGTERM)
        raise
    known = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    known.update({job.name: round(job.elapsed, 1) for job in done})
    DURATIONS.write_text(json.dumps(known, indent=1, sort_keys=True) + "\n")
    failed = [job for job in done if job.returncode not in (0, 5)]
    hung = [job.name for job in done if job.hung]
    counts: dict[str, int] = {}
    for job in done:
        for number, word in re.findall(r"(\d+) (\w+)", job.summary):
            if word in COUNTED:
                counts[word] = counts.get(word, 0) + int(number)
    total = (
        ", ".join(f"{n} {word}" for word, n in sorted(counts.items())) or "no counts"
    )
    minutes, seconds = divmod(time.monotonic() - began, 60)
    print(
        f"\n{len(done)} jobs, {total}, in {minutes:.0f} min {seconds:.0f} s"
        + (f"; FAILED: {', '.join(job.name for job in failed)}" if failed else "")
        + (f"; run again after a hang: {', '.join(hung)}" if hung else ""),
        flush=True,
    )
    return 1 if failed else 0


def sweep_leftovers() -> str:
    """What killed runs left, removed when no run is alive (the sweep takes the
    lock alone), as a line to print. A sweep that fails (the broker's management
    API not answering, a role still in use) is reported and the tests run anyway:
    a clean-up is no reason to skip them."""
    try:
        return leftovers.report(leftovers.sweep())
    except Exception as exc:  # noqa: BLE001 - reported, the run goes on
        return (
            f"leftovers: not swept ({type(exc).__name__}: {exc}); see "
            "`python infra/dev/leftovers.py --dry-run`"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--slots", type=int, default=int(os.environ.get("TEST_SLOTS", "3"))
    )
    parser.add_argument("--only", help="only the jobs whose name matches this regex")
    parser.add_argument("--list", action="store_true", help="the jobs, then stop")
    options = parser.parse_args()
    if options.list:
        for job in jobs():
            print(f"{job.name} ({job.estimate:.0f} s): {' '.join(job.args)}")
        return
    only = options.only
    print(sweep_leftovers(), flush=True)
    leftovers.hold()  # this run is alive itself until it ends
    sys.exit(
        run(options.slots, [j for j in jobs() if not only or re.search(only, j.name)])
    )


if __name__ == "__main__":
    main()
