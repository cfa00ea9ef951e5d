"""What `make run`'s processes print on its terminal: no library notices (eventlet's
deprecation, raised where svyaz.db imports it first, as the migrations do)."""

import subprocess
import sys

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "infra" / "dev"))
import stack as devstack  # noqa: E402


def test_a_process_of_make_run_prints_no_library_notice() -> None:
    env = devstack.Settings().env("registry")
    shown = subprocess.run(
        [sys.executable, "-c", "import svyaz.db, nameko.cli"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT / "services" / "registry",
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stderr == ""
    # and without the setting, the notice is there (the test can see one)
    env.pop("PYTHONWARNINGS")
    noisy = subprocess.run(
        [sys.executable, "-c", "import svyaz.db"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Eventlet is deprecated" in noisy.stderr
