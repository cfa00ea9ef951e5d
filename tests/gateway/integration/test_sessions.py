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
