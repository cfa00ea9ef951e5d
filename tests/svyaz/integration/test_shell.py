"""The operator's console signs a staff member in with the registry, then signs its
calls as `operator` and reaches a running service."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyotp
import yaml
from nameko.testing.services import entrypoint_hook

from registry.service import RegistryService
from tests.conftest import ROOT
from tests.helpers import actor, bus_settings, earlier_code, next_code

PASSWORD = "a long passphrase of the operator"


def _staff(container: Any, email: str) -> pyotp.TOTP:
    """A program admin with a confirmed authenticator; their TOTP."""
    with entrypoint_hook(container, "create_staff_account") as create:
        create(
            actor(["program_admin"]),
            {"email": email, "roles": ["program_admin"], "password": PASSWORD},
        )
    with entrypoint_hook(container, "sign_in") as sign_in:
        enrolling = sign_in(email, PASSWORD, None)
    totp = pyotp.parse_uri(enrolling["enrollment_uri"])
    # the previous step's code (still accepted): the console's sign-ins take the
    # current one and the next, and each code is good once
    earlier = earlier_code(totp)
    with entrypoint_hook(container, "confirm_second_factor") as confirm:
        assert confirm(enrolling["actor"], earlier)["confirmed"]
    return totp


def test_the_console_signs_in_then_calls_as_the_person_it_signed_in(
    database: Any,
    service_config: Any,
    container_factory: Any,
    tmp_path: Path,
    rabbit_config: dict[str, Any],
) -> None:
    config = service_config("registry", DB_URI=database("registry"))
    container = container_factory(RegistryService, config)
    container.start()
    totp = _staff(container, "ops@example.org")
    operator = yaml.safe_load((ROOT / "infra/tools/operator.yml").read_text())
    operator["AMQP_URI"] = rabbit_config["AMQP_URI"]
    operator.update(bus_settings("operator"))
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(operator))

    def console(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "svyaz.shell", "--config", str(path), *argv],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "SVYAZ_EMAIL": "ops@example.org", **env},
        )

    wrong = console(
        "--call", "registry.list_corridors", SVYAZ_PASSWORD="not it", SVYAZ_CODE="1"
    )
    assert wrong.returncode == 7 and "not signed in" in wrong.stderr

    code = totp.now()
    result = console(
        "--call",
        "registry.list_review_items",
        "--args",
        json.dumps(["$me"]),
        SVYAZ_PASSWORD=PASSWORD,
        SVYAZ_CODE=code,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []

    # the registry refuses the operator what only notifications may do
    refused = console(
        "--call",
        "registry.get_contact",
        "--args",
        json.dumps(["00000000-0000-4000-8000-000000000000", "curiosity"]),
        SVYAZ_PASSWORD=PASSWORD,
        SVYAZ_CODE=next_code(totp),
    )
    assert refused.returncode == 1
    assert "'operator' may not call get_contact" in refused.stderr
