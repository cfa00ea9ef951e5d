"""The idempotent consumer: each (handler, event_id) takes effect once.

A handler calls `claim(session, event)` inside the same transaction as its effect. The
row in `processed_events` commits with the effect or not at all, so a redelivered event
finds its row and the handler returns without doing anything a second time.

`UNSAFE_INBOX_DEDUP: false` in a service's config turns the check off (the row is still
written, but `claim` always says "take effect"): only for the chaos run's variant that
shows what the inbox guards. A service started that way says so in its log.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import DateTime, String, bindparam, func
from sqlalchemy.dialects.postgresql import UUID, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from svyaz import batch as batching
from svyaz import config as settings
from svyaz.db import PlatformBase
from svyaz.envelope import ReceivedEvent

log = logging.getLogger(__name__)


class _State:
    dedup = True


def configure(config: Mapping[str, object]) -> None:
    """Read `UNSAFE_INBOX_DEDUP` (default on) from a service's config."""
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


def _claim_in(running: batching.Batch, session: Session, event: ReceivedEvent) -> bool:
    if running.claimed is None:
        rows = [_params(each) for each in running.events]
        statement = (
            insert(ProcessedEvent.__table__)
            .values(rows)
            .on_conflict_do_nothing()
            .returning(ProcessedEvent.__table__.c.event_id)
        )
        running.claimed = set(session.execute(statement).scalars())
    if event.event_id in running.claimed:
        running.claimed.discard(event.event_id)
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
