"""A running registry container on its own database and vhost, and helpers to drive
it as the gateway (staff and communicators) and the other services would."""

import itertools
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from nameko.testing.services import replace_dependencies
from sqlalchemy import create_engine, text

from registry.exceptions import StripeClosureFailed
from registry.service import RegistryService
from svyaz.context import CALLER
from tests.helpers import actor, run_entrypoint

ADMIN_A = actor(["program_admin"])
ADMIN_B = actor(["program_admin"])
FINANCE = actor(["finance"])
CONSENT = "2026-11"
_counter = itertools.count(1)


def application(**changes: Any) -> dict[str, Any]:
    n = next(_counter)
    return {
        "pseudonym": f"swift_{n}_{uuid.uuid4().hex[:4]}",
        "legal_name": "Ирина Петрова",
        "email": f"irina.{n}.{uuid.uuid4().hex[:6]}@example.org",
        "phone": None,
        "country": "GE",
        "city": "Tbilisi",
        "languages": ["ru", "ka"],
        "language": "ru",
        "motivation": "Talk to my parents in Samara every week.",
        "consent_version": CONSENT,
        "consent": True,
        **changes,
    }


def actor_for(communicator_id: str, role: str = "communicator") -> dict[str, Any]:
    return actor([role], communicator_id)


class FakeConnect:
    """Stands in for Stripe Connect (outside the service) where the sandbox is not
    the subject of the test."""

    def __init__(self) -> None:
        self.accounts: dict[str, str] = {}
        self.closed: list[str] = []  # deleted accounts and closed recipients
        self.closing_fails = False
        self.onboarded: set[str] = set()

    def create_account(self, communicator_id: uuid.UUID, country: str) -> str:
        return self.accounts.setdefault(
            str(communicator_id), f"acct_{uuid.uuid4().hex[:16]}"
        )

    def onboarding_link(self, account_id: str) -> str:
        return f"https://connect.example.invalid/setup/{account_id}"

    def transfers_active(self, account_id: str) -> bool:
        """Onboarding finished on "Stripe's page": the test puts the account in
        `onboarded`."""
        return account_id in self.onboarded

    def delete_account(self, account_id: str) -> None:
        if self.closing_fails:
            raise StripeClosureFailed("Stripe is away", "stripe_closure_failed")
        self.closed.append(account_id)

    close_recipient = delete_account


class Registry:
    def __init__(self, container: Any, db_url: str, connect: FakeConnect | None):
        self.container = container
        self.engine = create_engine(db_url)
        self.connect = connect

    def call(self, method: str, *args: Any, caller: str | None = None) -> Any:
        context = {CALLER: caller} if caller else {}
        return run_entrypoint(self.container, method, *args, context_data=context)

    def sql(self, query: str, **params: Any) -> list[Any]:
        with self.engine.begin() as conn:
            result = conn.execute(text(query), params)
            return list(result) if result.returns_rows else []

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        rows = self.sql("SELECT envelope FROM outbox ORDER BY id")
        envelopes = [row[0] for row in rows]
        return [e for e in envelopes if event_type in (None, e["event_type"])]

    # a few journeys, through the public RPCs only ---------------------------------
    def applicant(self, **changes: Any) -> str:
        data = application(**changes)
        assert self.call("apply", data) == {"status": "received"}
        (row,) = self.sql(
            "SELECT id FROM communicators WHERE pseudonym = :p", p=data["pseudonym"]
        )
        return str(row[0])

    def active(self, **changes: Any) -> str:
        ident = self.applicant(**changes)
        self.call("start_review", ADMIN_A, ident, "complete application")
        self.call("approve", ADMIN_A, ident, "known to the club")
        self.call("approve", ADMIN_B, ident, "interviewed by video")
        return ident


@pytest.fixture
def registry_settings() -> dict[str, Any]:
    """Settings of the `registry` fixture's service beyond the tests' own
    (a test parametrizes this name to change them)."""
    return {}


@pytest.fixture
def registry(
    database: Any,
    service_config: Any,
    container_factory: Any,
    registry_settings: dict[str, Any],
) -> Iterator[Registry]:
    url = database("registry")
    container = container_factory(
        RegistryService, service_config("registry", DB_URI=url, **registry_settings)
    )
    connect = FakeConnect()
    replace_dependencies(container, stripe=connect)
    container.start()
    wrapper = Registry(container, url, connect)
    yield wrapper
    wrapper.engine.dispose()
