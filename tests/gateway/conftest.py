"""A gateway and a registry (and, where a test asks, stipends), in this process, on
the test's vhost and databases."""

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from nameko.testing.services import replace_dependencies
from nameko.web.server import WebServer

from gateway.api_refusals import COMMON, REFUSES, STATE_CODE
from gateway.exceptions import PROBLEM
from gateway.http import HttpEntrypoint
from gateway.service import GatewayService
from insights.service import InsightsService
from notifications.service import NotificationsService
from registry.service import RegistryService
from stipends.service import StipendsService
from svyaz import signing
from tests.helpers import UNTHROTTLED, run_entrypoint
from tests.notifications.integration.conftest import SmtpSink
from tests.registry.integration.conftest import (
    ADMIN_A,
    FakeConnect,
    Registry,
    actor_for,
)
from tests.stipends.integration.conftest import Db


@pytest.fixture(autouse=True)
def refusals_declared(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every refusal an /api operation answers with in a test is one the OpenAPI
    document names for it, with its status: a common code (gateway.api_refusals
    COMMON, and the `<thing>_<state>` codes) or one of the operation's own
    (REFUSES). A code met here and named
    nowhere fails the test that met it."""
    met: list[tuple[str, int, str]] = []
    handle = HttpEntrypoint.handle_request

    def recording(self: HttpEntrypoint, request: Any) -> Any:
        response = handle(self, request)
        if self.url.startswith("/api/") and response.mimetype == PROBLEM:
            code = json.loads(response.get_data()).get("code") or ""
            met.append((f"{self.method} {self.url}", response.status_code, code))
        return response

    monkeypatch.setattr(HttpEntrypoint, "handle_request", recording)
    yield
    undeclared = {
        (operation, status, code)
        for operation, status, code in met
        if COMMON.get(code, (None,))[0] != status
        and REFUSES.get(operation, {}).get(code) != status
        and not (status == 409 and STATE_CODE.match(code))
    }
    assert not undeclared, (
        "refusals the OpenAPI document does not name (add them to "
        f"gateway/api_refusals.py): {sorted(undeclared)}"
    )


@pytest.fixture
def as_gateway() -> Iterator[None]:
    """This test process signs as the gateway, as the real gateway process does."""
    with signing.signing_as("gateway"):
        yield


def start_gateway(
    database: Any,
    service_config: Any,
    container_factory: Any,
    db_url: str | None = None,
    **settings: Any,
) -> tuple[str, str]:
    """A running gateway on a port of its own: (its URL, its database's URL).
    `db_url`: another replica on the database of one started before; `settings`:
    config (throttling far above what a test does, unless a test sets it).

    The gateway binds port 0 and the test reads the port it got: a port found free
    and bound a moment later was once taken meanwhile by another job's connection
    ("Address already in use")."""
    db_url = db_url or database("gateway")
    container = container_factory(
        GatewayService,
        service_config(
            "gateway",
            WEB_SERVER_ADDRESS="127.0.0.1:0",
            RPC_TIMEOUT=5,
            DB_URI=db_url,
            COOKIE_SECURE=False,
            **{**UNTHROTTLED, **settings},
        ),
    )
    container.start()
    (server,) = (e for e in container.subextensions if isinstance(e, WebServer))
    port = server._sock.getsockname()[1]  # nameko keeps the listening socket there
    return f"http://127.0.0.1:{port}", db_url


@pytest.fixture
def gateway_url(database: Any, service_config: Any, container_factory: Any) -> str:
    return start_gateway(database, service_config, container_factory)[0]


@pytest.fixture
def system(
    as_gateway: None,
    database: Any,
    service_config: Any,
    container_factory: Any,
    gateway_url: str,
) -> Iterator[Registry]:
    url = database("registry")
    registry = container_factory(
        RegistryService, service_config("registry", DB_URI=url)
    )
    connect = FakeConnect()
    replace_dependencies(registry, stripe=connect)
    registry.start()
    wrapper = Registry(registry, url, connect)
    wrapper.url = gateway_url
    yield wrapper
    wrapper.engine.dispose()


class Stipends(Db):
    """The stipends service beside the registry, on the same bus."""

    def __init__(self, url: str, container: Any):
        super().__init__(url)
        self.container = container

    def call(self, method: str, *args: Any) -> Any:
        return run_entrypoint(self.container, method, *args)


@pytest.fixture
def stipends(
    system: Registry, database: Any, service_config: Any, container_factory: Any
) -> Iterator[Stipends]:
    url = database("stipends")
    container = container_factory(
        StipendsService, service_config("stipends", DB_URI=url)
    )
    container.start()
    handle = Stipends(url, container)
    yield handle
    handle.engine.dispose()


def paid_professional(system: Registry, training: str, data: dict[str, Any]) -> str:
    """Active, trained, professional and payout-ready (Stripe Connect, in Germany)."""
    ident = system.active(**data)
    system.call("record_training_completion", ADMIN_A, training, ident)
    system.call("set_tier", ADMIN_A, ident, "professional", "trained and active")
    system.call("start_payout_setup", actor_for(ident))
    account = system.connect.accounts[ident]
    system.call("stripe_account_updated", account, True, caller="gateway")
    return ident


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def notifications(
    system: Registry,
    database: Any,
    service_config: Any,
    container_factory: Any,
    smtp: SmtpSink,
) -> Iterator[Db]:
    """The notifications service beside the real registry, mailing a loopback SMTP
    sink."""
    url = database("notifications")
    container = container_factory(
        NotificationsService,
        service_config(
            "notifications",
            DB_URI=url,
            SMTP_PORT=smtp.port,
            SMTP_TIMEOUT=2,
            SENDER_INTERVAL=0.2,
            REGISTRY_TIMEOUT=5,
        ),
    )
    container.start()
    handle = Db(url)
    yield handle
    handle.engine.dispose()


@pytest.fixture
def insights(
    system: Registry, database: Any, service_config: Any, container_factory: Any
) -> Iterator[Db]:
    """The insights service beside the others: the impact views' figures."""
    url = database("insights")
    container = container_factory(
        InsightsService, service_config("insights", DB_URI=url)
    )
    container.start()
    handle = Db(url)
    yield handle
    handle.engine.dispose()


def ready_payee(system: Registry, stipends: Stipends, data: dict[str, Any]) -> str:
    """A trained, professional, payout-ready communicator whom stipends knows."""
    from tests.helpers import wait_until

    training = system.call(
        "create_training", ADMIN_A, {"title": "Listening", "held_on": "2026-10-01"}
    )["id"]
    ident = paid_professional(system, training, data)
    wait_until(
        lambda: stipends.sql(
            "SELECT 1 FROM communicators WHERE id = :i AND payout_ready", i=ident
        ),
        "stipends to know the communicator",
    )
    return ident


def funded_programme(
    stipends: Stipends, budget_minor: int, amount_minor: int, name: str = "Programme"
) -> str:
    """A programme paying `amount_minor` to professionals, funded with its budget."""
    programme = stipends.call(
        "create_programme",
        ADMIN_A,
        {
            "name": name,
            "currency": "EUR",
            "budget_minor": budget_minor,
            "tier_amounts": {"professional": amount_minor, "volunteer": 0},
            "min_accepted_reports": 1,
            "min_conversations": 1,
        },
    )["id"]
    stipends.call("fund_programme", ADMIN_A, programme, budget_minor, str(uuid.uuid4()))
    return str(programme)
