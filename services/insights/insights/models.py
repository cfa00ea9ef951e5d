"""The insights read model: what each event contributed (`facts`), and the state
rebuilt from them that the impact views group and count.

Every row holds opaque ids, codes from fixed lists and numbers; nothing personal, no
free text, no pseudonym. Every table below `facts` can be emptied and rebuilt from
`facts` alone (`python -m insights.rebuild`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Index, Integer, String
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

UNKNOWN = "unknown"  # a dimension not (yet) known: no club, or activation not seen
REPORT_STATES = ("accepted", "rejected", "changes_requested", "submitted")


class Base(DeclarativeBase):
    pass


class Fact(Base):
    """One received event's contribution: its type, when it happened, and the
    whitelisted fields the figures need (see logic.facts.FIELDS)."""

    __tablename__ = "facts"

    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(100))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)

    __table_args__ = (Index("facts_in_order", "occurred_at", "event_id"),)


class Member(Base):
    """A communicator as the figures group them: club, the club's country, tier."""

    __tablename__ = "members"

    communicator_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True
    )
    club_id: Mapped[str] = mapped_column(String(36), default=UNKNOWN)
    country: Mapped[str] = mapped_column(String(7), default=UNKNOWN)
    # when the club was set (activation or a later move): the last one wins, in
    # whatever order they arrive
    club_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    tier: Mapped[str] = mapped_column(String(20), default="volunteer")
    tier_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Cycle(Base):
    __tablename__ = "cycles"

    cycle_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    programme_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    period: Mapped[str] = mapped_column(String(7))


class Programme(Base):
    __tablename__ = "programmes"

    programme_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True
    )
    currency: Mapped[str] = mapped_column(String(3))
    budget_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    budget_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Report(Base):
    """A report's latest figures and state (the last submission or review wins)."""

    __tablename__ = "reports"

    report_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    cycle_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    communicator_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(20))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    conversations: Mapped[int] = mapped_column(Integer, default=0)
    hours: Mapped[int] = mapped_column(Integer, default=0)
    audiences: Mapped[list[str]] = mapped_column(JSONB, default=list)
    channels: Mapped[list[str]] = mapped_column(JSONB, default=list)
    topics_count: Mapped[int] = mapped_column(Integer, default=0)
    observed_change: Mapped[str | None] = mapped_column(String(10))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("reports_by_cycle", "cycle_id", "communicator_id"),)


class Stipend(Base):
    """An approved stipend and what became of its payout."""

    __tablename__ = "stipends"

    stipend_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    cycle_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    communicator_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed_reason: Mapped[str | None] = mapped_column(String(40))


class TrainingCompletion(Base):
    __tablename__ = "training_completions"

    training_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    communicator_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True
    )
    completed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Reconciliation(Base):
    """A run's reconciliation outcome: differences counted by kind."""

    __tablename__ = "reconciliations"

    run_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    matched: Mapped[int] = mapped_column(Integer, default=0)
    discrepancies: Mapped[int] = mapped_column(Integer, default=0)
    by_kind: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict)
    completed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Differences(Base):
    """A reconciliation's differences found, by kind; a superseded one no longer
    counts as open."""

    __tablename__ = "differences"

    reconciliation_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True
    )
    by_kind: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    superseded: Mapped[bool] = mapped_column(Boolean, default=False)


class DifferenceResolved(Base):
    __tablename__ = "differences_resolved"

    reconciliation_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    resolved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Erasure(Base):
    """A communicator erased, for the inbox's window only: the digest of their id and
    the random alias that replaced it in every row here, so that an event about them
    still in flight is detached as it arrives. Purged after the window (nothing older
    can arrive); it is not rebuilt from `facts`, which hold only the alias."""

    __tablename__ = "erasures"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    alias: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    erased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


STATE_TABLES = (
    Member,
    Cycle,
    Programme,
    Report,
    Stipend,
    TrainingCompletion,
    Reconciliation,
    Differences,
    DifferenceResolved,
)
