"""Stipends tables. Money is always an integer of minor units beside its currency."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from stipends.base import Base
from stipends.exceptions import InvalidTransition
from stipends.payouts import models as payout_models  # noqa: F401  (the payout tables)


class Communicator(Base):
    """What stipends knows of a communicator, from the registry's events: the id, the
    pseudonym, and what decides eligibility and payouts. No personal data."""

    __tablename__ = "communicators"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    pseudonym: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="applied")
    tier: Mapped[str] = mapped_column(String(20), default="volunteer")
    training_completed: Mapped[bool] = mapped_column(Boolean, default=False)
    club_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # when the event that set `club_id` happened: an older one, delivered late (the
    # activation after a later club change), does not undo a newer one
    club_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    payout_provider: Mapped[str | None] = mapped_column(String(20))
    payout_ready: Mapped[bool] = mapped_column(Boolean, default=False)
    destination_fingerprint: Mapped[str | None] = mapped_column(String(64))
    erased: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class Programme(Base):
    """A stipend programme: its budget, tier amounts and eligibility rules.

    The budget itself lives in the ledger (the funding entries); `budget_minor` is the
    total funded so far, kept beside it for display and for the entitlement step.
    """

    __tablename__ = "programmes"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    currency: Mapped[str] = mapped_column(String(3))
    budget_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    # {"professional": 30000, "volunteer": 0}
    tier_amounts: Mapped[dict[str, int]] = mapped_column(JSONB)
    min_accepted_reports: Mapped[int] = mapped_column(Integer, default=1)
    min_conversations: Mapped[int] = mapped_column(Integer, default=0)
    training_required: Mapped[bool] = mapped_column(Boolean, default=True)
    # [{"up_to_minor": 30000, "approvers": 1}, {"up_to_minor": null, "approvers": 2}]
    approval_bands: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    created_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    def approvers_needed(self, amount_minor: int) -> int:
        """How many distinct approvers a stipend of this amount needs."""
        for band in sorted(
            self.approval_bands,
            key=lambda b: (b["up_to_minor"] is None, b["up_to_minor"] or 0),
        ):
            if band["up_to_minor"] is None or amount_minor <= band["up_to_minor"]:
                return int(band["approvers"])
        return max(int(b["approvers"]) for b in self.approval_bands)


CYCLE_STEPS = {"open": "closed", "closed": "locked"}
# what a refused step says to do instead
CYCLE_NEXT = {
    "open": ": close it first (after its deadline, every report reviewed)",
    "closed": ": it can only be locked, once every stipend of it is decided",
    "locked": ": a locked cycle is final",
}


class Cycle(Base):
    """A monthly cycle: open (takes reports until the deadline, later ones are marked
    late) → closed (entitlements computed, no more reports) → locked (nothing
    changes any more)."""

    __tablename__ = "cycles"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    programme_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("programmes.id")
    )
    period: Mapped[str] = mapped_column(String(7))  # 2026-11
    deadline: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(10), default="open")
    closed_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    locked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (UniqueConstraint("programme_id", "period"),)

    def move_to(self, to: str) -> None:
        if CYCLE_STEPS.get(self.status) != to:
            raise InvalidTransition(
                f"a cycle that is {self.status} cannot become {to}"
                + CYCLE_NEXT.get(self.status, ""),
                f"cycle_{self.status}",
            )
        self.status = to

    def require_open(self) -> None:
        if self.status != "open":
            raise InvalidTransition(
                f"the cycle is {self.status}: reports can no longer change",
                f"cycle_{self.status}",
            )


class ProgrammeFunding(Base):
    """A funding asked for with a client-chosen idempotency key: the same key again,
    from the same person, funds nothing and answers as the first time did. Keys are
    each person's own (the key is (actor, key), as for every command, docs/
    idempotency.md): someone else's funding under the same key is a new funding."""

    __tablename__ = "programme_fundings"

    actor_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    programme_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("programmes.id")
    )
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    entry_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("journal_entries.id"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


REPORT_STEPS = {
    "draft": {"submitted"},
    "changes_requested": {"submitted"},
    "submitted": {"accepted", "rejected", "changes_requested", "submitted"},
}


class ActivityReport(Base):
    """One communicator's account of their work in a cycle. The narrative is stored
    only after redaction (phone numbers, emails, handles and links removed)."""

    __tablename__ = "activity_reports"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    cycle_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("cycles.id")
    )
    communicator_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("communicators.id")
    )
    conversations: Mapped[int] = mapped_column(Integer)
    audiences: Mapped[list[str]] = mapped_column(JSONB)
    channels: Mapped[list[str]] = mapped_column(JSONB)
    topics: Mapped[list[str]] = mapped_column(JSONB)
    hours: Mapped[int] = mapped_column(Integer)
    observed_change: Mapped[str] = mapped_column(String(10))
    narrative: Mapped[str] = mapped_column(Text, default="")
    redactions: Mapped[list[str]] = mapped_column(JSONB, default=list)
    # the strategy version the report was written against (the author's latest
    # shared one when it was last saved), and how the cycle went against it
    strategy_version_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("strategy_versions.id")
    )
    strategy_progress: Mapped[str | None] = mapped_column(String(20))
    strategy_note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the latest change of a submitted report (before the deadline; it stays
    # submitted): the trail shows it, so a reviewer knows it is not the first version
    changed_after_submission_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True)
    )
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    review_comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("activity_reports_cycle", "cycle_id", "communicator_id"),)

    def move_to(self, to: str) -> None:
        if to not in REPORT_STEPS.get(self.status, set()):
            raise InvalidTransition(
                f"a report that is {self.status} cannot become {to}",
                f"report_{self.status}",
            )
        self.status = to

    @property
    def editable(self) -> bool:
        return self.status in ("draft", "changes_requested", "submitted")


class Entitlement(Base):
    """What the cycle close found for one communicator: eligible or not, and why."""

    __tablename__ = "entitlements"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    cycle_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("cycles.id")
    )
    communicator_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("communicators.id")
    )
    eligible: Mapped[bool] = mapped_column(Boolean)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    reasons: Mapped[list[str]] = mapped_column(JSONB)
    stipend_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))

    __table_args__ = (UniqueConstraint("cycle_id", "communicator_id"),)


STIPEND_OPEN = ("proposed",)


class Stipend(Base):
    """A stipend proposal and its approval state. `version` guards every write: two
    admins filling the same slot at once cannot both succeed."""

    __tablename__ = "stipends"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    programme_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("programmes.id")
    )
    cycle_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("cycles.id")
    )
    communicator_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("communicators.id")
    )
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reasons: Mapped[list[str]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(20), default="proposed")
    proposed_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    approvals_needed: Mapped[int] = mapped_column(Integer)
    approvals_given: Mapped[int] = mapped_column(Integer, default=0)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    rejected_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (UniqueConstraint("cycle_id", "communicator_id"),)

    def require_proposed(self) -> None:
        if self.status != "proposed":
            raise InvalidTransition(
                f"the stipend is {self.status}, not awaiting approval",
                f"stipend_{self.status}",
            )


class StipendAmendment(Base):
    """Who changed a stipend's amount, when, from what to what (insert-only; the
    reason is the sentence appended to the stipend's `reasons`)."""

    __tablename__ = "stipend_amendments"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    stipend_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("stipends.id")
    )
    amended_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    amended_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    amount_before_minor: Mapped[int] = mapped_column(BigInteger)
    amount_after_minor: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("stipend_amendments_by_stipend", "stipend_id"),)


class Approval(Base):
    """One approver in one slot of a stipend, bound to the hash of the payee,
    destination and amount they saw. A voided approval stays, with the reason."""

    __tablename__ = "approvals"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    stipend_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("stipends.id")
    )
    approver_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    slot: Mapped[int] = mapped_column(Integer)
    bound_hash: Mapped[str] = mapped_column(String(64))
    approved_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    voided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    void_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("approvals_by_stipend", "stipend_id"),
        Index(
            "approvals_one_per_slot",
            "stipend_id",
            "slot",
            unique=True,
            postgresql_where=text("voided_at IS NULL"),
        ),
        Index(
            "approvals_one_slot_per_person",
            "stipend_id",
            "approver_id",
            unique=True,
            postgresql_where=text("voided_at IS NULL"),
        ),
    )


class Account(Base):
    """A ledger account: `programme_budget:<programme>`, `reservations:<programme>`,
    `stipends_payable:<communicator>:<currency>`,
    `provider_clearing:<provider>:<currency>`, `fees:...` (docs/ledger.md)."""

    __tablename__ = "ledger_accounts"

    code: Mapped[str] = mapped_column(String(120), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class JournalEntry(Base):
    """One balanced business step. Insert-only (a trigger refuses UPDATE and
    DELETE); a correction is a new entry that `reverses` the old one."""

    __tablename__ = "journal_entries"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(30))
    memo: Mapped[str] = mapped_column(Text)
    stipend_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    programme_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    reverses: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("journal_entries.id"), unique=True
    )
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    posted_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Posting(Base):
    """One leg of an entry: a positive amount is a debit, a negative one a credit.
    The legs of an entry sum to zero per currency (checked by a deferred trigger)."""

    __tablename__ = "postings"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("journal_entries.id"), index=True
    )
    account: Mapped[str] = mapped_column(
        String(120), ForeignKey("ledger_accounts.code"), index=True
    )
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))


STRATEGY_TIER = "professional"  # who keeps a communication strategy


class Strategy(Base):
    """A professional communicator's communication strategy: one per person, its
    content in versions (`StrategyVersion`), discussed with a mentor (the coordinator
    of their club, or a programme admin) in `StrategyComment`s."""

    __tablename__ = "strategies"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    communicator_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("communicators.id"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class StrategyVersion(Base):
    """One version of a strategy: a draft the communicator edits, then shared with
    their mentor, after which it never changes (a revision is a new version). Kinds
    of audiences, never people; the note and the expected change are free text,
    redacted before they are stored and blanked when the communicator is erased."""

    __tablename__ = "strategy_versions"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    strategy_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("strategies.id")
    )
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    audiences: Mapped[list[str]] = mapped_column(JSONB)
    channels: Mapped[list[str]] = mapped_column(JSONB)
    topics: Mapped[list[str]] = mapped_column(JSONB)
    approaches: Mapped[list[str]] = mapped_column(JSONB)
    expected_change: Mapped[str] = mapped_column(Text, default="")
    horizon_months: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    redactions: Mapped[list[str]] = mapped_column(JSONB, default=list)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    shared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("strategy_id", "number"),
        Index(
            "strategy_versions_one_draft",
            "strategy_id",
            unique=True,
            postgresql_where=text("status = 'draft'"),
        ),
    )

    def require_draft(self) -> None:
        if self.status != "draft":
            raise InvalidTransition(
                "a shared version never changes: a revision starts a new version",
                "strategy_version_shared",
            )

    def share(self, now: datetime) -> None:
        self.require_draft()
        self.status = "shared"
        self.shared_at = now


class StrategyComment(Base):
    """A message in the discussion of a strategy, on the version it was written
    about: a mentor's comment or the communicator's answer."""

    __tablename__ = "strategy_comments"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    strategy_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("strategies.id")
    )
    version_number: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    by_mentor: Mapped[bool] = mapped_column(Boolean)
    # the role the mentor wrote in (club_coordinator, program_admin); None for the
    # communicator's own words, and for a mentor's written before 2026-12-07
    mentor_role: Mapped[str | None] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (Index("strategy_comments_by_strategy", "strategy_id"),)


class ReportFeedback(Base):
    """A message in the feedback thread of one report: a mentor's feedback or the
    author's answer. Only the author and the author's mentors see it."""

    __tablename__ = "report_feedback"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    report_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("activity_reports.id")
    )
    author_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    by_mentor: Mapped[bool] = mapped_column(Boolean)
    # the role the mentor wrote in (club_coordinator, program_admin); None for the
    # communicator's own words, and for a mentor's written before 2026-12-07
    mentor_role: Mapped[str | None] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (Index("report_feedback_by_report", "report_id"),)
