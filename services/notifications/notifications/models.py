"""Notifications tables.

No contact (email, chat id) is ever stored: it is asked of the registry at send time.
Deliveries to communicators keep no message body and no parameters: the log says which
template went to which pseudonymous id, on which channel, when, and why it failed.
The inbox holds the details a communicator reads after signing in; erasure deletes it.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from svyaz.actors import ADMIN, COMMUNICATOR, COORDINATOR, FINANCE
from svyaz.tallies import Tally

STAFF_ROLES = (ADMIN, FINANCE)  # the staff whose work notifications reminds them of

PENDING, SENT, PARKED = "pending", "sent", "parked"
DISCARDED = "discarded"  # a parked delivery an admin gave up on, with a reason


def staff_audience(role: str) -> str:
    return f"staff:{role}"


# a club's coordinator with a staff account, told when a member shares a strategy
MENTOR_AUDIENCE = staff_audience(COORDINATOR)


def is_staff(audience: str) -> bool:
    return audience.startswith("staff:")


class Base(DeclarativeBase):
    pass


# what a parked delivery's error says, as a kind (the text names no address: see
# channels.py; the kind is what an admin needs to decide)
ERROR_KINDS = (
    ("no email address", "no_address"),
    ("no telegram chat", "no_address"),
    ("recipient refused", "recipient_refused"),
    ("is not configured", "channel_not_configured"),
    ("registry:", "registry_unavailable"),
    ("smtp:", "channel_failed"),
    ("telegram:", "channel_failed"),
)


def error_kind_of(last_error: str | None) -> str:
    for words, kind in ERROR_KINDS:
        if words in (last_error or ""):
            return kind
    return "other"


# deliveries counted by channel and state as they change, for the metrics (0010)
DELIVERY_TALLY = Tally("deliveries", ("channel", "status"))


class Delivery(Base):
    """One notification to one recipient on one channel for one event."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    recipient_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    channel: Mapped[str] = mapped_column(String(20))
    template: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    audience: Mapped[str] = mapped_column(String(40), default=COMMUNICATOR)
    due_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    discreet: Mapped[bool] = mapped_column(Boolean, default=True)
    # the template's parameters, for staff who turned discreet mode off; cleared
    # once the delivery is over. Always NULL for communicators.
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (
        UniqueConstraint("event_id", "recipient_id", "channel"),
        Index("deliveries_due", "due_at", postgresql_where=text("status = 'pending'")),
        Index("deliveries_recipient", "recipient_id"),
    )

    @property
    def error_kind(self) -> str:
        return error_kind_of(self.last_error)

    def mark_sent(self, at: datetime) -> None:
        self.status = SENT
        self.sent_at = at
        self.last_error = None
        self.payload = None
        self.updated_at = at

    def mark_failed(
        self, reason: str, at: datetime, retry_in: timedelta | None
    ) -> None:
        """Retry after `retry_in`, or park (None) with the reason for staff."""
        self.last_error = reason[:500]
        self.updated_at = at
        if retry_in is None:
            self.status = PARKED
            self.payload = None
        else:
            self.due_at = at + retry_in


class InboxMessage(Base):
    """A message in a person's in-app inbox, shown by the gateway after sign-in."""

    __tablename__ = "inbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    recipient_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    template: Mapped[str] = mapped_column(String(60))
    params: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("event_id", "recipient_id"),
        Index("inbox_messages_recipient", "recipient_id", "id"),
    )


class Preference(Base):
    """How one person wants to be told: language, channels, quiet hours."""

    __tablename__ = "preferences"

    recipient_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True
    )
    audience: Mapped[str] = mapped_column(String(40))
    language: Mapped[str | None] = mapped_column(String(8))
    channels: Mapped[list[str]] = mapped_column(ARRAY(String(20)))
    timezone: Mapped[str | None] = mapped_column(String(64))
    quiet_start: Mapped[time | None] = mapped_column(Time)
    quiet_end: Mapped[time | None] = mapped_column(Time)
    discreet: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    @property
    def effective_discreet(self) -> bool:
        """Communicators are always discreet; staff unless they turned it off."""
        return self.discreet or not is_staff(self.audience)


class PendingItem(Base):
    """Work for staff, folded from events: the staff digest counts the waiting ones.
    `as_of` is the time of the event that set `state` (waiting or done): an older
    event arriving late changes nothing, so the item ends as the last event said."""

    __tablename__ = "pending_items"
    __table_args__ = (
        Index(
            "pending_items_waiting", "kind", postgresql_where=text("state = 'waiting'")
        ),
    )

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    item_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    communicator_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    since: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    state: Mapped[str] = mapped_column(String(10), server_default="waiting")
    as_of: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    # an approval's proposer (a staff account id, as stipend.proposed.v1 says),
    # who may not approve it; null for other work, and when the event did not say
    proposed_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class ActiveCommunicator(Base):
    """Who is active now (from the registry's events): whom a reminder can concern.
    An id only; erasure removes it."""

    __tablename__ = "active_communicators"

    communicator_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True
    )


class ReportingCycle(Base):
    """A cycle taking reports, from cycle.opened.v1: its reminder falls due a lead
    time before the deadline and goes once."""

    __tablename__ = "reporting_cycles"

    cycle_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    period: Mapped[str] = mapped_column(String(7))
    deadline: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    remind_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CycleReport(Base):
    """Who has submitted a report in a cycle: they get no reminder."""

    __tablename__ = "cycle_reports"

    cycle_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    communicator_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, index=True
    )


class FinanceRun(Base):
    """A released payout run, from stipends' events: its reconciliation falls due a
    while after the release, and finance hears once if it is late."""

    __tablename__ = "finance_runs"

    run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    reconciled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    alerted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StipendNotice(Base):
    """What a communicator has been told about one stipend of theirs, from stipends'
    events: its last state (`as_of` the time of the event that set it, so a late
    older event changes nothing) and whether they were told it is approved and not
    corrected since (`announced`). An approval undone (rejected, or back to awaiting
    approval when the payout details changed) after it was announced is followed by
    a correction; an approval that arrives after the event that undid it is not
    announced at all. Ids and an amount only; erasure removes it."""

    __tablename__ = "stipend_notices"

    stipend_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    communicator_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    state: Mapped[str] = mapped_column(String(10))  # proposed | approved | rejected
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    announced: Mapped[bool] = mapped_column(Boolean, default=False)
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
