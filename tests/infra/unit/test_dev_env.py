"""What `make run`'s processes print on its terminal: no library notices (eventlet's
deprecation, raised where svyaz.db imports it first, as the migrations do)."""

import subprocess
import sys

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "infra" / "dev"))
import stack as devstack  # noqa: E402


def stderr_of_importing(modules: str, env: dict[str, str]) -> str:
    shown = subprocess.run(
        [sys.executable, "-c", f"import {modules}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT / "services" / "registry",
    )
    assert shown.returncode == 0, shown.stderr
    return shown.stderr


def test_a_process_of_make_run_prints_no_library_notice() -> None:
    env = devstack.Settings().env("registry")
    assert stderr_of_importing("svyaz.db, nameko.cli", env) == ""
    # and without the setting, the notice is there (the test can see one)
    env.pop("PYTHONWARNINGS")
    assert "Eventlet is deprecated" in stderr_of_importing("svyaz.db", env)
