"""Stipends use cases: plain functions over a session and plain values."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Text, case, or_, select, update
from sqlalchemy.orm import Session

from stipends.exceptions import CommunicatorNotFound
from stipends.logic import approvals, strategies
from stipends.models import ActivityReport, Approval, Communicator, Stipend
from stipends.payouts.models import (
    Payout,
    PayoutAudit,
    PayoutReceipt,
    ReconciliationItem,
)

# what each registry lifecycle event sets on the read model
STATUS_AFTER = {
    "communicator.activated.v1": "active",
    "communicator.suspended.v1": "suspended",
    "communicator.reinstated.v1": "active",
    "communicator.offboarded.v1": "offboarded",
}


def record_applicant(
    session: Session, communicator_id: uuid.UUID, pseudonym: str
) -> None:
    if session.get(Communicator, communicator_id) is None:
        session.add(
            Communicator(id=communicator_id, pseudonym=pseudonym, status="applied")
        )


def _known(session: Session, communicator_id: uuid.UUID) -> Communicator:
    """The read-model row, created if the registry's events arrive out of order."""
    communicator = session.get(Communicator, communicator_id, with_for_update=True)
    if communicator is None:
        communicator = Communicator(id=communicator_id, status="applied")
        session.add(communicator)
    return communicator


def _club(communicator: Communicator, club_id: uuid.UUID | None, at: datetime) -> None:
    """The club, unless a later event set it already (events of different types
    arrive in any order: a club change may come before the activation)."""
    if communicator.club_at is None or communicator.club_at <= at:
        communicator.club_id, communicator.club_at = club_id, at


def registry_changed(
    session: Session,
    event_type: str,
    data: dict[str, Any],
    occurred_at: datetime | None = None,
) -> Communicator:
    """Fold one registry lifecycle event (that happened at `occurred_at`; now, if
    not given) into the communicator read model."""
    at = occurred_at or datetime.now(UTC)
    communicator = _known(session, data["communicator_id"])
    if communicator.erased:
        return communicator
    if event_type in STATUS_AFTER:
        communicator.status = STATUS_AFTER[event_type]
    if event_type == "communicator.activated.v1":
        communicator.pseudonym = data["pseudonym"]
        _club(communicator, data["club_id"], at)
    elif event_type == "communicator.club_changed.v1":
        _club(communicator, data["club_id"], at)
    elif event_type == "communicator.tier_changed.v1":
        communicator.tier = data["tier"]
        # a completion is never taken back: an older event's `false` (sent before
        # the completion was recorded, delivered after it) does not undo it
        communicator.training_completed = (
            communicator.training_completed or data["training_completed"]
        )
    elif event_type == "training.completed.v1":
        communicator.training_completed = True
    elif event_type == "communicator.payout_ready.v1":
        changed = communicator.payout_ready and (
            communicator.payout_provider != data["provider"]
            or communicator.destination_fingerprint != data["destination_fingerprint"]
        )
        communicator.payout_provider = data["provider"]
        communicator.destination_fingerprint = data["destination_fingerprint"]
        communicator.payout_ready = True
        if changed:
            session.flush()
            approvals.payee_changed(session, communicator, "payout destination changed")
    elif event_type == "communicator.erased.v1":
        # the id stays for the financial record; the pseudonym goes, and so does
        # the keyed hash of where they were paid (an IBAN or Stripe account could
        # be matched against it), on the read model and on their payouts
        communicator.pseudonym = None
        communicator.club_id = None
        communicator.erased = True
        communicator.destination_fingerprint = None
        communicator.payout_ready = False
        session.execute(
            update(Payout)
            .where(
                Payout.communicator_id == communicator.id,
                Payout.destination_fingerprint.is_not(None),
            )
            .values(destination_fingerprint=None)
        )
        # their words go too; the counts stay with the financial record they justify
        session.execute(
            update(ActivityReport)
            .where(ActivityReport.communicator_id == communicator.id)
            .values(narrative="", topics=[], review_comment=None, strategy_note=None)
        )
        strategies.erase_words(session, communicator.id)
        erase_staff_notes(session, communicator.id)
    return communicator


ERASED = "[erased]"  # what a staff note about an erased person reads afterwards


def erase_staff_notes(session: Session, communicator_id: uuid.UUID) -> None:
    """Staff-written notes on the person's financial record become `[erased]`:
    a stipend's rejection, a voided approval, an operator's action on their
    payout, their receipt answer and its resolution, a reconciliation item's
    resolution for their payout, the words of an amendment of their stipend's
    amount. Staff are told not to write personal data there,
    but a note may still describe the person; the record itself (who acted, when,
    what, the amounts) stays. The ledger's memos stay: the journal is insert-only
    (docs/security.md)."""
    theirs = select(Payout.id).where(Payout.communicator_id == communicator_id)
    stipends = select(Stipend.id).where(Stipend.communicator_id == communicator_id)
    for statement in (
        update(Stipend)
        .where(Stipend.communicator_id == communicator_id)
        .where(Stipend.rejection_reason.is_not(None))
        .values(rejection_reason=ERASED),
        update(Approval)
        .where(Approval.stipend_id.in_(stipends))
        .where(Approval.void_reason.is_not(None))
        .values(void_reason=ERASED),
        update(PayoutAudit)
        .where(PayoutAudit.payout_id.in_(theirs))
        .values(reason=ERASED),
        update(PayoutReceipt)
        .where(PayoutReceipt.communicator_id == communicator_id)
        .values(
            note="",
            resolution_note=case(
                (PayoutReceipt.resolution_note.is_(None), None), else_=ERASED
            ),
        ),
        update(ReconciliationItem)
        .where(
            or_(
                ReconciliationItem.payout_id.in_(theirs),
                ReconciliationItem.linked_payout_id.in_(theirs),
            )
        )
        .where(ReconciliationItem.resolution.is_not(None))
        .values(resolution=ERASED),
    ):
        session.execute(statement, execution_options={"synchronize_session": False})
    amended = session.execute(
        select(Stipend.id, Stipend.reasons)
        .where(Stipend.communicator_id == communicator_id)
        .where(Stipend.reasons.cast(Text).contains(approvals.AMENDED))
    ).all()
    for stipend_id, reasons in amended:
        # a Core UPDATE: the stipend's version (an admin's open page) is not bumped
        session.execute(
            update(Stipend)
            .where(Stipend.id == stipend_id)
            .values(
                reasons=[approvals.amendment_words_erased(r, ERASED) for r in reasons]
            ),
            execution_options={"synchronize_session": False},
        )


def get_communicator(session: Session, communicator_id: uuid.UUID) -> Communicator:
    communicator = session.get(Communicator, communicator_id)
    if communicator is None:
        raise CommunicatorNotFound("no such communicator")
    return communicator
