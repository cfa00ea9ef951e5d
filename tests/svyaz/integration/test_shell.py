"""The operator's console signs its calls and reaches a running service."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from registry.service import RegistryService
from tests.conftest import ROOT
from tests.helpers import bus_settings


def test_one_call_prints_the_services_answer(
    database: Any,
    service_config: Any,
    container_factory: Any,
    tmp_path: Path,
    rabbit_config: dict[str, Any],
) -> None:
    config = service_config("registry", DB_URI=database("registry"))
    container_factory(RegistryService, config).start()
    operator = yaml.safe_load((ROOT / "infra/tools/operator.yml").read_text())
    operator["AMQP_URI"] = rabbit_config["AMQP_URI"]
    operator.update(bus_settings("operator"))
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(operator))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "svyaz.shell",
            "--config",
            str(path),
            "--call",
            "registry.list_corridors",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    corridors = {c["country"]: c["provider"] for c in json.loads(result.stdout)}
    assert corridors["GE"] == "bank_file"

    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "svyaz.shell",
            "--config",
            str(path),
            "--call",
            "registry.get_contact",
            "--args",
            json.dumps(["00000000-0000-4000-8000-000000000000", "curiosity"]),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1
    # the registry refuses before the method runs: `operator` is not among its callers
    assert "'operator' may not call get_contact" in refused.stderr
