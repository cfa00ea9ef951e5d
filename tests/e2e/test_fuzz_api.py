"""Schemathesis over the gateway's own OpenAPI document, against the running system:
requests generated from every operation's schema (at least 1,000 in all), each sent
as a person the operation is for (its `x-roles`) or, for the public ones and those
that end a session or erase a person, anonymously. None may be answered with a
server error, and every answer must match the document (its status's schema).
It prints a summary: requests, by status class, failures."""

import uuid
from collections import Counter
from typing import Any

import pyotp
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.journeys import ADMINS, active_communicator
from tests.stack import System

PASSWORD = "correct horse battery staple"
EXAMPLES = 15  # per operation: about 110 operations, so 1,000 requests or more
ANONYMOUS_ONLY = {
    ("DELETE", "/api/v1/session"),  # would end the session the rest uses
    ("POST", "/api/v1/me/erasure"),  # would erase the person the rest uses
}


def signed_in(system: System, email: str) -> dict[str, str]:
    """The headers of an API session: the cookie (Secure, so requests would not send
    it over http by itself) and the CSRF token; staff enroll their authenticator."""
    answer = requests.post(
        f"{system.url}/api/v1/session",
        json={"email": email, "password": PASSWORD},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    body, cookie = answer.json(), answer.cookies["session"]
    headers = {"Cookie": f"session={cookie}", "X-CSRF-Token": body["csrf_token"]}
    if body["status"] == "enroll":
        code = pyotp.TOTP(body["totp_secret"]).now()
        done = requests.post(
            f"{system.url}/api/v1/session/second-factor",
            json={"code": code},
            headers=headers,
            timeout=30,
        )
        assert done.status_code == 200, done.text
        headers["X-CSRF-Token"] = done.json()["csrf_token"]
    return headers


def people(system: System) -> dict[str, dict[str, str]]:
    with system.rpc() as rpc:
        member = active_communicator(system, rpc, password=PASSWORD)
        staff = {}
        for role in ("program_admin", "finance"):
            email = f"fuzz.{role}.{uuid.uuid4().hex[:6]}@example.org"
            rpc.registry.create_staff_account(
                ADMINS[0], {"email": email, "roles": [role], "password": PASSWORD}
            )
            staff[role] = email
    return {
        "communicator": signed_in(system, member["email"]),
        "club_coordinator": signed_in(system, member["email"]),
        **{role: signed_in(system, email) for role, email in staff.items()},
    }


def fuzz(
    system: System,
    operation: Any,
    headers: dict[str, str],
    statuses: Counter[int],
    failures: list[str],
) -> None:
    """EXAMPLES generated requests to one operation, every answer checked."""
    label = f"{operation.method.upper()} {operation.path}"

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy())
    def run(case: Any) -> None:
        response = case.call(base_url=system.url, headers=headers, timeout=30)
        statuses[response.status_code // 100] += 1
        try:
            case.validate_response(
                response, checks=[not_a_server_error, response_schema_conformance]
            )
        except (Exception, BaseExceptionGroup) as failure:  # noqa: BLE001 - reported below
            failures.append(
                f"{label} -> {response.status_code}: "
                f"{str(failure).splitlines()[0][:200]}"
            )

    run()


def test_generated_requests_get_no_server_error_and_match_the_document(
    system: System,
) -> None:
    document = requests.get(f"{system.url}/api/v1/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(document)
    who = people(system)
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        key = (operation.method.upper(), operation.path)
        roles = operation.definition.raw.get("x-roles") or []
        headers = (
            {}
            if key in ANONYMOUS_ONLY or not roles
            else who.get(roles[0], who["communicator"])
        )
        fuzz(system, operation, headers, statuses, failures)
    total = sum(statuses.values())
    print(
        f"schemathesis: {operations} operations, {total} requests, "
        + ", ".join(f"{k}xx {v}" for k, v in sorted(statuses.items()))
        + f", {len(failures)} failures"
    )
    assert total >= 1000
    assert statuses[5] == 0
    assert failures == [], "\n".join(sorted(set(failures))[:30])
