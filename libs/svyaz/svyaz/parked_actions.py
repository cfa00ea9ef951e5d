"""The audit of retries and discards of parked work (a bus message in a
dead-letter queue, or one of notifications' deliveries), in each service's own database
(`parked_actions`): written before the action, finished after.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, String, Text, func, select
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, Session, mapped_column

from svyaz.actors import Actor
from svyaz.db import PlatformBase

RETRY, DISCARD = "retry", "discard"
BUS_MESSAGE, DELIVERY = "bus_message", "delivery"
# outcomes of an audited action
STARTED, RETRIED, DISCARDED = "started", "retried", "discarded"
NOT_FOUND, REFUSED = "not_found", "refused"


class ParkedAction(PlatformBase):
    """Who retried or discarded what parked work, when, why, and what came of it.
    Insert-only but for its outcome: written before the action, finished after."""

    __tablename__ = "parked_actions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    actor_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    actor_roles: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(20))  # bus_message | delivery
    subject_id: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(20))  # retry | discard
    reason: Mapped[str] = mapped_column(Text)
    queue: Mapped[str | None] = mapped_column(String(255))
    route: Mapped[str | None] = mapped_column(String(255))
    outcome: Mapped[str] = mapped_column(String(20), default=STARTED)
    detail: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def start_action(
    session: Session,
    who: Actor,
    subject: str,
    subject_id: str,
    action: str,
    reason: str,
) -> ParkedAction:
    row = ParkedAction(
        actor_id=who.id,
        actor_roles=",".join(sorted(who.roles)),
        subject=subject,
        subject_id=subject_id[:200],
        action=action,
        reason=reason,
        outcome=STARTED,
    )
    session.add(row)
    session.flush()
    return row


def finish_action(
    row: ParkedAction,
    outcome: str,
    now: datetime,
    detail: str | None = None,
    queue: str | None = None,
    route: str | None = None,
) -> None:
    row.outcome, row.detail, row.finished_at = outcome, detail, now
    row.queue = queue if queue is not None else row.queue
    row.route = route if route is not None else row.route


def actions(session: Session, limit: int) -> list[ParkedAction]:
    return list(
        session.scalars(
            select(ParkedAction).order_by(ParkedAction.id.desc()).limit(limit)
        )
    )
