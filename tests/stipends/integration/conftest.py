"""A stipends database (Alembic head) for logic tests, and a running stipends
container for the RPC and event path."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from tests.helpers import actor

ADMIN_A = actor(["program_admin"])
ADMIN_B = actor(["program_admin"])
ADMIN_C = actor(["program_admin"])
FINANCE = actor(["finance"])
# A reconciliation period [yesterday, the day after tomorrow) as of collection: a
# run that crosses midnight UTC still finds the payouts it made inside it.
TODAY = datetime.now(UTC).date()
PERIOD = (TODAY - timedelta(days=1), TODAY + timedelta(days=2))
# the moment PERIOD ends: logic tests reconcile it as of then (only a reconciliation
# run once its period has ended is signed off)
ENDED = datetime.combine(PERIOD[1], time(), UTC)
# a time of Stripe's itemized report inside PERIOD, after the tests' payouts are
# made (a report's row dated outside its period, or before its payout, is refused)
REPORT_TIME = (datetime.now(UTC) + timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M:%S")


class Db:
    def __init__(self, url: str):
        self.url = url
        self.engine = create_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self.sessions()

    def sql(self, query: str, **params: Any) -> list[Any]:
        with self.engine.begin() as conn:
            result = conn.execute(text(query), params)
            return list(result) if result.returns_rows else []

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        envelopes = [r[0] for r in self.sql("SELECT envelope FROM outbox ORDER BY id")]
        return [e for e in envelopes if event_type in (None, e["event_type"])]


@pytest.fixture
def db(database: Any) -> Iterator[Db]:
    handle = Db(database("stipends"))
    yield handle
    handle.engine.dispose()


# -- building blocks for logic tests (through the logic functions) -------------------
def logic_actor(data: dict[str, Any]) -> Any:
    from stipends.logic.actors import Actor

    return Actor.load(data)


def communicator_actor(ident: uuid.UUID) -> Any:
    return logic_actor(actor(["communicator"], str(ident)))


def add_communicator(
    db: Db,
    *,
    status: str = "active",
    tier: str = "professional",
    training: bool = True,
    payout_ready: bool = True,
    fingerprint: str | None = None,
) -> uuid.UUID:
    from stipends.models import Communicator

    ident = uuid.uuid4()
    with db.session() as session, session.begin():
        session.add(
            Communicator(
                id=ident,
                pseudonym=f"finch_{ident.hex[:6]}",
                status=status,
                tier=tier,
                training_completed=training,
                payout_ready=payout_ready,
                payout_provider="stripe_connect" if payout_ready else None,
                destination_fingerprint=(fingerprint or ident.hex * 2)
                if payout_ready
                else None,
            )
        )
    return ident


def programme_data(**changes: Any) -> dict[str, Any]:
    return {
        "name": f"Communicators {uuid.uuid4().hex[:8]}",
        "currency": "EUR",
        "budget_minor": 100_000,
        "tier_amounts": {"professional": 30_000, "volunteer": 0},
        "min_accepted_reports": 1,
        "min_conversations": 5,
        "training_required": True,
        "approval_bands": None,
        **changes,
    }


def report_content(**changes: Any) -> dict[str, Any]:
    return {
        "conversations": 8,
        "audiences": ["family", "friends"],
        "channels": ["phone", "messenger"],
        "topics": ["prices", "mobilisation"],
        "hours": 6,
        "observed_change": "some",
        "narrative": "Mother asked about prices herself this time.",
        **changes,
    }
