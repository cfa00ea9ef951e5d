"""A web session acts with the registry's assertion of its person, renewed against
the account as it is now: a suspended communicator's open session ends at the next
renewal (a few minutes at most), and at once when the suspension is made in the
console."""

from typing import Any

import pytest
from nameko.testing.services import replace_dependencies
from sqlalchemy import create_engine, text

from registry.service import RegistryService
from tests.gateway.conftest import start_gateway
from tests.gateway.integration.test_api import PASSWORD, Client, staff
from tests.registry.integration.conftest import ADMIN_A, FakeConnect, Registry


@pytest.fixture
def stack(
    as_gateway: None, database: Any, service_config: Any, container_factory: Any
) -> Any:
    gateway, gateway_db = start_gateway(database, service_config, container_factory)
    url = database("registry")
    registry = container_factory(
        RegistryService, service_config("registry", DB_URI=url)
    )
    replace_dependencies(registry, stripe=FakeConnect())
    registry.start()
    system = Registry(registry, url, None)
    system.url = gateway
    engine = create_engine(gateway_db)
    yield system, engine
    system.engine.dispose()
    engine.dispose()


def sessions_of(engine: Any, ident: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM sessions WHERE actor_id = :i"), {"i": ident}
            ).scalar_one()
        )


def test_a_suspended_communicator_is_signed_out_at_the_next_renewal(
    stack: Any,
) -> None:
    system, engine = stack
    ident = system.active(email="lida@example.org", password=PASSWORD)
    member = Client(system.url)
    assert member.sign_in("lida@example.org").status_code == 200
    assert member("GET", "/api/v1/me").status_code == 200
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT assertion FROM sessions")).scalar_one()
    assert stored.startswith("svyaz-actor.v1.")  # the registry's, kept for calls

    # suspended behind the gateway's back (another replica, the operator's console)
    system.call("suspend", ADMIN_A, ident, "under review")
    assert member("GET", "/api/v1/me").status_code == 200  # until the renewal
    with engine.begin() as conn:  # the assertion's few minutes have passed
        conn.execute(text("UPDATE sessions SET assertion_expires_at = now()"))
    refused = member("GET", "/api/v1/me")
    assert refused.status_code == 401, refused.text
    assert sessions_of(engine, ident) == 0


def test_a_session_is_renewed_while_the_account_may_act(stack: Any) -> None:
    system, engine = stack
    system.active(email="olya@example.org", password=PASSWORD)
    member = Client(system.url)
    member.sign_in("olya@example.org")
    with engine.begin() as conn:
        conn.execute(text("UPDATE sessions SET assertion_expires_at = now()"))
        before = conn.execute(text("SELECT assertion FROM sessions")).scalar_one()
    assert member("GET", "/api/v1/me").status_code == 200
    with engine.connect() as conn:
        after, expires = conn.execute(
            text("SELECT assertion, assertion_expires_at > now() FROM sessions")
        ).one()
    assert after != before and expires


def test_a_suspension_in_the_console_signs_the_person_out_at_once(stack: Any) -> None:
    system, engine = stack
    ident = system.active(email="vera@example.org", password=PASSWORD)
    member = Client(system.url)
    member.sign_in("vera@example.org")
    admin = staff(system, ["program_admin"])
    decided = admin(
        "POST",
        f"/api/v1/communicators/{ident}/decisions",
        {"step": "suspend", "reason": "under review"},
    )
    assert decided.status_code == 200, decided.text
    assert sessions_of(engine, ident) == 0
    assert member("GET", "/api/v1/me").status_code == 401


def test_staff_are_invited_disabled_and_reset_through_the_api(stack: Any) -> None:
    system, engine = stack
    first, second = staff(system, ["program_admin"]), staff(system, ["program_admin"])
    member = staff(system, ["finance"])
    member_id = member.actor["id"]

    invited = first(
        "POST", "/api/v1/staff", {"email": "new.one@example.org", "roles": ["finance"]}
    )
    assert invited.status_code == 201, invited.text
    assert "token" not in invited.text  # the link goes to the invitee alone
    listed = {s["id"]: s for s in first("GET", "/api/v1/staff").json()}
    assert listed[invited.json()["id"]]["state"] == "invited"
    assert listed[member_id]["state"] == "active"
    wrong = first("POST", "/api/v1/staff", {"email": "x@example.org", "roles": []})
    assert wrong.status_code == 400
    assert (
        member("POST", "/api/v1/staff", {"email": "y@example.org"}).status_code == 403
    )

    # disabling ends the member's sessions at once
    assert member("GET", "/api/v1/me").status_code in (200, 403)
    disabled = first("POST", f"/api/v1/staff/{member_id}/disabling")
    assert disabled.status_code == 200, disabled.text
    assert sessions_of(engine, member_id) == 0
    assert member("GET", "/api/v1/corridors").status_code == 401
    assert first("POST", f"/api/v1/staff/{member_id}/enabling").status_code == 200

    # a lost authenticator: one admin asks, another approves
    asked = first(
        "POST",
        f"/api/v1/staff/{member_id}/second-factor-resets",
        {"reason": "phone lost"},
    )
    assert asked.status_code == 201, asked.text
    reset = asked.json()["id"]
    same = first("POST", f"/api/v1/second-factor-resets/{reset}/approval")
    assert same.status_code == 403 and "not the one who asked" in same.text
    approved = second("POST", f"/api/v1/second-factor-resets/{reset}/approval")
    assert approved.status_code == 200, approved.text
    again = Client(system.url)
    assert again.sign_in(member.email).json()["status"] == "enroll"
