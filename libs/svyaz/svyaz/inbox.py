"""The idempotent consumer: each (handler, event_id) takes effect once.

A handler calls `claim(session, event)` inside the same transaction as its effect. The
row in `processed_events` commits with the effect or not at all, so a redelivered event
finds its row and the handler returns without doing anything a second time.

The rows are kept `INBOX_KEEP_DAYS` (30) and then purged (`InboxUpkeep`, every
`INBOX_PURGE_INTERVAL` seconds): an event that occurred longer ago than that is refused
at the door (the handler parks it as too old), since whether it was handled can no
longer be told. Nothing legitimate is that old: the relays publish within seconds,
and a parked copy waits for an operator for days, not months.

`UNSAFE_INBOX_DEDUP: false` in a service's config turns the check off (the row is still
written, but `claim` always says "take effect"): only for the chaos run's variant that
shows what the inbox guards. A service started that way says so in its log.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, String, bindparam, delete, func, select, tuple_
from sqlalchemy.dialects.postgresql import UUID, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from svyaz import batch as batching
from svyaz import config as settings
from svyaz.db import PlatformBase
from svyaz.envelope import ReceivedEvent
from svyaz.timers import timer

log = logging.getLogger(__name__)


KEEP_DAYS = 30.0
PURGE_BATCH = 5000  # rows a purge statement deletes (short transactions)


class _State:
    dedup = True
    keep = timedelta(days=KEEP_DAYS)


def configure(config: Mapping[str, object]) -> None:
    """Read `UNSAFE_INBOX_DEDUP` (default on) and `INBOX_KEEP_DAYS` from a
    service's config."""
    _State.keep = timedelta(
        days=settings.positive(config, "INBOX_KEEP_DAYS", KEEP_DAYS)
    )
    value = settings.unsafe(config, "UNSAFE_INBOX_DEDUP", True)
    _State.dedup = str(value).strip().lower() not in ("false", "0", "no", "off")
    if not _State.dedup:
        log.warning("UNSAFE: inbox deduplication is off; redeliveries take effect")


class ProcessedEvent(PlatformBase):
    __tablename__ = "processed_events"

    consumer: Mapped[str] = mapped_column(String(200), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(100))
    processed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


_CLAIM = (  # built once, on the table (not the ORM entity): a hot path
    insert(ProcessedEvent.__table__)
    .values(
        consumer=bindparam("consumer"),
        event_id=bindparam("event_id"),
        event_type=bindparam("event_type"),
    )
    .on_conflict_do_nothing()
    .returning(ProcessedEvent.__table__.c.event_id)
)


def claim(session: Session, event: ReceivedEvent) -> bool:
    """Record the event as handled; False when this handler has already handled it.

    In a batch (`svyaz.batch`), the first claim records every event of the batch
    in one multi-row statement; each claim then reads its own answer from it (an
    event twice in one batch wins once)."""
    running = batching.current()
    if running is not None and running.session is session and running.holds(event):
        first = _claim_in(running, session, event)
    else:
        first = session.execute(_CLAIM, _params(event)).first() is not None
    if not first:
        _duplicate(event)
    return first or not _State.dedup


def _params(event: ReceivedEvent) -> dict[str, object]:
    return {
        "consumer": event.consumer,
        "event_id": event.event_id,
        "event_type": event.event_type,
    }


# the batch's claim: one fixed statement whatever the batch's size (three arrays,
# not a VALUES list built and compiled per batch), handed to the driver as it is;
# an event twice in the batch is inserted once, and the row it wins is returned
_CLAIM_MANY = (
    "INSERT INTO processed_events (consumer, event_id, event_type)"
    " SELECT * FROM unnest(CAST(%(consumers)s AS varchar[]),"
    " CAST(%(event_ids)s AS uuid[]), CAST(%(event_types)s AS varchar[]))"
    " ON CONFLICT DO NOTHING RETURNING event_id::text"
)


def _claim_in(running: batching.Batch, session: Session, event: ReceivedEvent) -> bool:
    if running.claimed is None:
        events = running.events
        result = session.connection().exec_driver_sql(
            _CLAIM_MANY,
            {
                "consumers": [each.consumer for each in events],
                "event_ids": [str(each.event_id) for each in events],
                "event_types": [each.event_type for each in events],
            },
        )
        running.claimed = {row[0] for row in result}
    key = str(event.event_id)
    if key in running.claimed:
        running.claimed.discard(key)
        return True
    return False


def seen(session: Session, event: ReceivedEvent) -> bool:
    """Has this handler claimed the event already? For a handler whose effect is
    outside the database (a mail) and that claims only once the effect is done."""
    found = session.get(ProcessedEvent, (event.consumer, event.event_id))
    if found is not None:
        _duplicate(event)
    return found is not None and _State.dedup


def _duplicate(event: ReceivedEvent) -> None:
    """Say that a handled event came again (the chaos run counts these lines; an
    event id is not a personal value)."""
    if _State.dedup:
        log.info("duplicate suppressed: %s %s", event.consumer, event.event_id)
    else:
        log.warning("duplicate handled again: %s %s", event.consumer, event.event_id)


def window() -> timedelta:
    """How long the inbox remembers an event (`INBOX_KEEP_DAYS`): nothing older
    is taken."""
    return _State.keep


def too_old(event: ReceivedEvent, now: datetime | None = None) -> str | None:
    """Why an event cannot be taken (it occurred before the inbox's memory
    begins), or None."""
    age = (now or datetime.now(UTC)) - event.occurred_at
    if age <= _State.keep:
        return None
    return (
        f"too old: it occurred {age.days} days ago and the inbox remembers "
        f"{_State.keep.days} days (INBOX_KEEP_DAYS), so whether it was already "
        "handled cannot be told; discard it, and if its effect is missing, redo it "
        "through the consoles"
    )


def purge(session: Session, now: datetime | None = None) -> int:
    """Delete up to PURGE_BATCH rows older than the window (a day's margin beyond
    what `too_old` refuses); the number deleted."""
    table = ProcessedEvent.__table__
    cutoff = (now or datetime.now(UTC)) - _State.keep - timedelta(days=1)
    oldest = (
        select(table.c.consumer, table.c.event_id)
        .where(table.c.processed_at < cutoff)
        .limit(PURGE_BATCH)
    )
    statement = delete(table).where(
        tuple_(table.c.consumer, table.c.event_id).in_(oldest)
    )
    result = session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


class InboxUpkeep:
    """A service's purge of its inbox rows past the window, a batch at a time in
    its own transaction, every `INBOX_PURGE_INTERVAL` seconds (3600). The service
    class inherits it and has a `db` (svyaz.dependencies.Database)."""

    db: Any

    @timer("INBOX_PURGE_INTERVAL", 3600.0)
    def purge_inbox(self) -> None:
        while True:
            with self.db.transaction() as session:
                deleted = purge(session)
            if deleted:
                log.info("inbox purged: %d rows past the window", deleted)
            if deleted < PURGE_BATCH:
                return
