"""A minimal service on the platform, for testing the platform's guarantees.

It uses a stipends database (migrated by Alembic) plus one table of its own,
`probe_effects`, where its handler records what it did.
"""

import uuid
from collections import defaultdict
from typing import Any

from marshmallow import Schema, fields
from sqlalchemy import create_engine, text

from svyaz import inbox, outbox
from svyaz.consuming import Unprocessable
from svyaz.dependencies import Database, OutboxRelay
from svyaz.envelope import EventSpec, ReceivedEvent
from svyaz.handlers import event_handler
from svyaz.rpc import rpc


class ThingHappenedV1(Schema):
    n = fields.Integer(required=True)


THING_HAPPENED = EventSpec("probe", "thing.happened.v1", ThingHappenedV1)
ORPHAN = EventSpec("probe", "orphan.happened.v1", ThingHappenedV1)

CALLS: dict[int, int] = defaultdict(int)  # n -> handler invocations
FAILURES: dict[int, int] = {}  # n -> how many more times to raise
UNPROCESSABLE: set[int] = set()
HOLD: dict[int, Any] = {}  # n -> an eventlet Event the handler waits on
CUT: set[int] = set()  # n whose transaction loses its connection (once)
DONE: dict[int, int] = defaultdict(int)  # n -> handlings past their transaction


def reset() -> None:
    CALLS.clear()
    FAILURES.clear()
    UNPROCESSABLE.clear()
    HOLD.clear()
    CUT.clear()
    DONE.clear()


def create_effects_table(db_url: str) -> None:
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE probe_effects"
                " (id serial PRIMARY KEY, event_id uuid, n int,"
                " tx bigint DEFAULT txid_current())"
            )
        )
    engine.dispose()


def emit(
    session: Any, n: int, aggregate: str = "thing:1", spec: EventSpec = THING_HAPPENED
) -> uuid.UUID:
    return outbox.add(session, spec.build(aggregate, n=n))


class ProbeService:
    name = "probe"

    db = Database()
    outbox = OutboxRelay()

    @rpc
    def emit(self, n: int, aggregate: str = "thing:1") -> str:
        with self.db.transaction() as session:
            return str(emit(session, n, aggregate))

    @event_handler("probe", "thing.happened.v1")
    def on_thing_happened(self, event: ReceivedEvent) -> None:
        handle(self.db, event)


class BatchProbeService:
    """The same handler, batched: up to 50 events in one transaction."""

    name = "probe"  # the probe's bus identity; its own queue by the method's name

    db = Database()

    @event_handler("probe", "thing.happened.v1", batch=50, linger=0.05)
    def on_thing_batched(self, event: ReceivedEvent) -> None:
        handle(self.db, event)


def handle(db: Any, event: ReceivedEvent) -> None:
    n = int(event.data["n"])
    CALLS[n] += 1
    if n in UNPROCESSABLE:
        raise Unprocessable(f"probe cannot handle n={n}")
    if FAILURES.get(n, 0) > 0:
        FAILURES[n] -= 1
        raise RuntimeError(f"probe failure for n={n}")
    with db.transaction() as session:
        if inbox.claim(session, event):
            session.execute(
                text("INSERT INTO probe_effects (event_id, n) VALUES (:e, :n)"),
                {"e": event.event_id, "n": n},
            )
        if n in CUT:  # the server ends this backend, as the chaos run's pg fault
            CUT.discard(n)
            session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
    DONE[n] += 1  # (a batched handler's transaction commits after the batch's last)
    if n in HOLD:  # a crash test: the batch's first inserts are done, not committed
        HOLD[n].wait()
