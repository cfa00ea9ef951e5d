"""`make test`'s runner stops a job that hangs: past its deadline the job is asked
for its stacks, ended, and reported as failed with them, and the runner goes on
instead of waiting until CI's budget runs out."""

import importlib.util
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.fixture
def testrun(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[object]:
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


@pytest.fixture
def hanging_test() -> Iterator[Path]:
    """A test that never ends, under the suite's own conftest (inside the project,
    so that pytest reads its settings)."""
    folder = ROOT / "var" / "test" / f"selftest-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    (folder / "conftest.py").write_text("import tests.conftest  # noqa: F401\n")
    (folder / "test_hangs.py").write_text(
        "import time\n\n\ndef test_waits_forever():\n    time.sleep(600)\n"
    )
    yield folder / "test_hangs.py"
    shutil.rmtree(folder)


def test_a_job_past_its_deadline_is_stopped_with_its_stacks(
    testrun: object,
    hanging_test: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(testrun, "DEADLINE", 8.0)
    job = testrun.Job(  # type: ignore[attr-defined]
        "hangs",
        [str(hanging_test)],
        log=tmp_path / "hangs.log",
        stacks=tmp_path / "hangs.stacks",
    )
    began = time.monotonic()
    status = testrun.run(1, [job])  # type: ignore[attr-defined]
    took = time.monotonic() - began

    assert status == 1
    assert took < 60, f"the runner waited {took:.0f} s for a job due to stop at 8"
    assert job.process.poll() is not None
    printed = capsys.readouterr().out
    assert "[FAILED] hangs: stopped after its deadline of 8 s" in printed
    # where it hung, by name: the greenlet stacks from tests/conftest.py's handler
    assert "test_waits_forever" in printed
    assert "FAILED: hangs" in printed
