"""Payout tables. A payout row is driven from the database in phases, each its own
committed transaction:

    planned ──release──▶ queued ──claim──▶ calling ──result──▶ sent ──confirm──▶ paid
                                          │  ▲                 │
         retriable error└──┘ (same key)      └──reversal/failure──▶ failed
                        │
                        └──permanent error──▶ failed

`calling` means the intent is recorded (attempt and idempotency key fixed) and the
provider may or may not have acted: whoever finds such a row after its lease calls
again with the same key, so the provider answers with the same object. `failed` can be
retried by finance (a new attempt, a new key) or cancelled; `sent` can be marked paid
offline. Every operator action is in `payout_audit` with its reason.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from stipends.base import Base
from stipends.exceptions import InvalidTransition
from svyaz import vocabulary
from svyaz.tallies import Tally

RUN_STATUSES = vocabulary.PAYOUT_RUN_STATUSES  # svyaz.vocabulary: the gateway shows
PAYOUT_STATUSES = vocabulary.PAYOUT_STATUSES  # them too
OPEN_STATUSES = ("queued", "calling", "sent")
# payouts counted by state and provider as they change, for the metrics (migration 0015)
PAYOUT_TALLY = Tally("payouts", ("status", "provider"))
# where a payout may go from each state (`Payout.move_to`); the database holds the
# states themselves (CHECK payout_status, since migration 0004)
PAYOUT_STEPS: dict[str, frozenset[str]] = {
    "planned": frozenset({"queued", "cancelled"}),  # released, or its run cancelled
    # claimed; finance marks it paid offline, failed or cancels it
    "queued": frozenset({"calling", "paid", "failed", "cancelled"}),
    # the provider's answer; a call not answered in time is made again as queued
    "calling": frozenset({"sent", "paid", "failed", "queued"}),
    "sent": frozenset({"paid", "failed"}),  # settled, or refused / reversed
    "paid": frozenset({"failed"}),  # the money came back after settlement
    # retried (a new attempt), paid offline or linked, or cancelled by finance
    "failed": frozenset({"queued", "paid", "cancelled"}),
    "cancelled": frozenset(),
}
PROVIDERS = ("stripe_connect", "stripe_global", "bank_file")


class PayoutRun(Base):
    __tablename__ = "payout_runs"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    cycle_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("cycles.id")
    )
    programme_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("programmes.id")
    )
    status: Mapped[str] = mapped_column(String(12), default="draft")
    # [{"currency": "EUR", "provider": "bank_file", "count": 2, "sum_minor": 60000}]
    totals: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    totals_digest: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    released_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    __table_args__ = (
        CheckConstraint(
            "status IN ('draft', 'released', 'cancelled')",
            name="payout_run_status",
        ),
    )


class Payout(Base):
    __tablename__ = "payouts"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    run_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("payout_runs.id")
    )
    stipend_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("stipends.id")
    )
    communicator_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    provider: Mapped[str] = mapped_column(String(20))
    # the destination the approvals bound to, fixed at build: the call pays only there
    destination_fingerprint: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="planned")
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    idempotency_key: Mapped[str | None] = mapped_column(String(80))
    calling_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    provider_ref: Mapped[str | None] = mapped_column(String(80))
    fee_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # the provider's own figures once it confirms (migration 0014): what it debited
    # in `currency` (FX fee included), what the payee's account got and the rate
    sent_minor: Mapped[int | None] = mapped_column(BigInteger)
    received_minor: Mapped[int | None] = mapped_column(BigInteger)
    received_currency: Mapped[str | None] = mapped_column(String(3))
    exchange_rate: Mapped[Decimal | None] = mapped_column(Numeric(24, 12))
    # paid without the provider's fee data (a webhook): the worker books it later
    fee_pending: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deadline_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retries: Mapped[int] = mapped_column(Integer, default=0)
    failure_code: Mapped[str | None] = mapped_column(String(60))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    def move_to(self, to: str) -> None:
        """The payout's next state, if a payout in its state may go there."""
        if to not in PAYOUT_STEPS.get(self.status, frozenset()):
            raise InvalidTransition(
                f"a payout that is {self.status} cannot become {to}",
                f"payout_{self.status}",
            )
        self.status = to

    __table_args__ = (
        CheckConstraint(
            "status IN ('planned', 'queued', 'calling', 'sent', 'paid', 'failed', "
            "'cancelled')",
            name="payout_status",
        ),
        # a stipend is in at most one payout that is not cancelled
        Index(
            "payouts_one_per_stipend",
            "stipend_id",
            unique=True,
            postgresql_where=text("status <> 'cancelled'"),
        ),
        Index("payouts_due", "status", "next_attempt_at"),
        Index("payouts_ref", "provider_ref"),
    )

    @property
    def reference(self) -> str:
        return f"payout:{self.id}"

    def key_for(self, attempt: int) -> str:
        return f"payout:{self.id}:{attempt}"


class PayoutAudit(Base):
    """Who did what to a payout or a run, and why. Insert-only by convention."""

    __tablename__ = "payout_audit"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    run_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    payout_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    action: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class ProviderEvent(Base):
    """A provider event (Stripe webhook) already applied, by its id."""

    __tablename__ = "payout_provider_events"

    event_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(60))
    payout_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    outcome: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


RECONCILIATION_SOURCES = ("api", "itemized_csv", "bank_statement")
RECONCILIATION_STATUSES = ("open", "signed_off", "superseded")
ITEM_STATES = ("open", "linked", "written_off", "repaid")


class Reconciliation(Base):
    """One provider's money movements over a period [period_start, period_end)
    matched against our payouts and the ledger's sends in it. Open until every
    difference is resolved and a second finance person signs it off."""

    __tablename__ = "reconciliations"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # exclusive
    source: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), default="open")
    provider_rows: Mapped[int] = mapped_column(Integer, default=0)
    matched: Mapped[int] = mapped_column(Integer, default=0)
    discrepancies: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    signed_off_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    signed_off_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sign_off_note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        # one live reconciliation per provider and period; a re-run supersedes
        Index(
            "reconciliations_one_live",
            "provider",
            "period_start",
            "period_end",
            unique=True,
            postgresql_where=text("status <> 'superseded'"),
        ),
    )


class ReconciliationRow(Base):
    """A provider's row as pulled or imported (a `ProviderRow`), staged in bulk with
    its reconciliation (no foreign key to check row by row)."""

    __tablename__ = "reconciliation_rows"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    reconciliation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    provider_ref: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(10))  # payment | reversal
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    payout_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    parent_ref: Mapped[str | None] = mapped_column(String(80))
    balance_minor: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12))
    created: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index(
            "reconciliation_rows_ref",
            "reconciliation_id",
            "provider_ref",
            unique=True,
        ),
        Index(
            "reconciliation_rows_payout",
            "payout_id",
            postgresql_where=text("payout_id IS NOT NULL"),
        ),
    )


class ReconciliationItem(Base):
    """One difference, open until finance links, writes off or re-pays it."""

    __tablename__ = "reconciliation_items"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    reconciliation_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("reconciliations.id")
    )
    kind: Mapped[str] = mapped_column(String(30))
    payout_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    run_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    provider_ref: Mapped[str | None] = mapped_column(String(80))
    ours_minor: Mapped[int | None] = mapped_column(BigInteger)
    theirs_minor: Mapped[int | None] = mapped_column(BigInteger)
    ours_currency: Mapped[str | None] = mapped_column(String(3))
    theirs_currency: Mapped[str | None] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(12), default="open")
    resolution: Mapped[str | None] = mapped_column(Text)
    linked_payout_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("reconciliation_items_queue", "reconciliation_id", "state", "id"),
    )


class PayoutRateLimit(Base):
    """A provider's shared rate limit: the theoretical arrival time of the next call
    (see payouts/ratelimit.py)."""

    __tablename__ = "payout_rate_limits"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    tat: Mapped[datetime] = mapped_column(DateTime(timezone=True))


RECEIPT_PROBLEM_STATUSES = vocabulary.RECEIPT_PROBLEM_STATUSES  # svyaz.vocabulary:
RECEIPT_RESOLUTIONS = vocabulary.RECEIPT_RESOLUTIONS  # the gateway words them


class PayoutReceipt(Base):
    """A communicator's answer to "did the money arrive?" for a paid payout, one per
    payout. "Not received" opens a problem in finance's queue (`problem_status`
    open); the answer may be replaced until finance resolves the problem. Its `id`
    is the problem's id."""

    __tablename__ = "payout_receipts"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    payout_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("payouts.id"), unique=True
    )
    communicator_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    received: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    problem_status: Mapped[str | None] = mapped_column(String(12))
    problem_opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution: Mapped[str | None] = mapped_column(String(40))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("payout_receipts_queue", "problem_status", "problem_opened_at"),
    )


class ReconciliationFigure(Base):
    """What the provider's rows of a reconciliation say left for our transfers, per
    currency: payments posted or pending less reversals posted (minor units). The
    sign-off holds the ledger's clearing figure to it (logic/payouts/adjustments.py)."""

    __tablename__ = "reconciliation_figures"

    reconciliation_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("reconciliations.id"), primary_key=True
    )
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    provider_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # the ledger's sends (net) of payouts the rows name whose send was posted
    # outside the period (a bank books days after the file): part of the figure
    outside_minor: Mapped[int] = mapped_column(BigInteger, default=0)


class ReconciliationEntry(Base):
    """A ledger entry a reconciliation's decision posted (a write-off), with the item
    and the difference it brought into the books (+: the provider moved more than
    our sends, -: less)."""

    __tablename__ = "reconciliation_entries"

    entry_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("journal_entries.id"), primary_key=True
    )
    reconciliation_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("reconciliations.id"), index=True
    )
    item_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("reconciliation_items.id")
    )
    currency: Mapped[str] = mapped_column(String(3))
    difference_minor: Mapped[int] = mapped_column(BigInteger)
