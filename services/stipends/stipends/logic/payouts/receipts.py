"""Communicators confirm that a paid payout reached them. "Not received" opens a
problem in finance's queue; the communicator may replace their answer until finance
resolves the problem (a "received" then withdraws an open problem). Each answer and
each resolution is in the payout's audit trail, without the notes: a note is free
text and stays on its row. Nothing here publishes an event."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from stipends import events
from stipends.exceptions import (
    ConcurrentChange,
    InvalidRequest,
    InvalidTransition,
    StipendsError,
)
from stipends.logic.actors import COMMUNICATOR, FINANCE, Actor
from stipends.logic.payouts.runs import PayoutNotFound
from stipends.logic.redaction import redact
from stipends.models import Communicator
from stipends.payouts.models import (
    RECEIPT_PROBLEM_STATUSES,
    RECEIPT_RESOLUTIONS,
    Payout,
    PayoutAudit,
    PayoutReceipt,
)
from svyaz import outbox
from svyaz.errors import NotFound

NOTE_MAX = 500


class ReceiptProblemNotFound(StipendsError, NotFound):
    pass


def _flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise ConcurrentChange(
            "this answer changed at the same moment; reload and try again",
            "concurrent_change",
        ) from None


def confirm_receipt(
    session: Session,
    actor: Actor,
    payout_id: uuid.UUID,
    received: bool,
    note: str,
    now: datetime,
) -> PayoutReceipt:
    actor.require(COMMUNICATOR)
    payout = session.get(Payout, payout_id, with_for_update=True)
    if payout is None or payout.communicator_id != actor.id:
        raise PayoutNotFound("no such payment of yours", "payout_not_found")
    if payout.status != "paid":
        raise InvalidTransition(
            f"this payment is {payout.status}, not paid yet: you can confirm it once "
            "it shows as paid",
            "payout_not_paid",
        )
    receipt = session.scalar(
        select(PayoutReceipt)
        .where(PayoutReceipt.payout_id == payout.id)
        .with_for_update()
    )
    if receipt is not None and receipt.problem_status == "resolved":
        raise InvalidTransition(
            "finance has resolved your report about this payment; write to the "
            "programme if something is still wrong",
            "receipt_resolved",
        )
    if receipt is None:
        receipt = PayoutReceipt(
            id=uuid.uuid4(), payout_id=payout.id, communicator_id=actor.id
        )
        session.add(receipt)
    receipt.received = received
    # for finance, never bank details or contacts (as in a report)
    receipt.note = redact(note.strip()).text
    receipt.answered_at = now
    if not received:
        if receipt.problem_status != "open":
            receipt.problem_opened_at = now
        receipt.problem_status = "open"
    elif receipt.problem_status == "open":
        receipt.problem_status = "withdrawn"
    session.add(
        PayoutAudit(
            run_id=payout.run_id,
            payout_id=payout.id,
            actor_id=actor.id,
            action="receipt_confirmed" if received else "receipt_not_received",
            reason="the communicator answered",
        )
    )
    _flush(session)
    return receipt


def _require_one_of(name: str, value: str, choices: tuple[str, ...]) -> None:
    """InvalidRequest (`invalid_<name>`) unless `value` is one of `choices`."""
    if value not in choices:
        raise InvalidRequest(
            f"{name} is one of {', '.join(choices)}",
            f"invalid_{name}",
            {name: [f"one of {choices}"]},
        )


def list_problems(
    session: Session, actor: Actor, status: str, limit: int = 500
) -> list[tuple[PayoutReceipt, Payout, str | None]]:
    """Finance's queue: receipts with a problem in `status`, oldest first, with their
    payout and the payee's pseudonym."""
    actor.require(FINANCE)
    _require_one_of("status", status, RECEIPT_PROBLEM_STATUSES)
    rows = session.execute(
        select(PayoutReceipt, Payout, Communicator.pseudonym)
        .join(Payout, Payout.id == PayoutReceipt.payout_id)
        .outerjoin(Communicator, Communicator.id == PayoutReceipt.communicator_id)
        .where(PayoutReceipt.problem_status == status)
        .order_by(PayoutReceipt.problem_opened_at, PayoutReceipt.id)
        .limit(limit)
    ).all()
    return [(receipt, payout, pseudonym) for receipt, payout, pseudonym in rows]


def resolve_problem(
    session: Session,
    actor: Actor,
    problem_id: uuid.UUID,
    resolution: str,
    note: str,
    now: datetime,
) -> tuple[PayoutReceipt, Payout, str | None]:
    actor.require(FINANCE)
    _require_one_of("resolution", resolution, RECEIPT_RESOLUTIONS)
    if not note.strip():
        raise InvalidRequest(
            "say what was found and done", "note_required", {"note": ["required"]}
        )
    receipt = session.get(PayoutReceipt, problem_id, with_for_update=True)
    if receipt is None or receipt.problem_status is None:
        raise ReceiptProblemNotFound("no such receipt problem", "problem_not_found")
    if receipt.problem_status != "open":
        raise InvalidTransition(
            f"this problem is {receipt.problem_status} already; reload the queue",
            f"problem_{receipt.problem_status}",
        )
    payout = session.get(Payout, receipt.payout_id)
    assert payout is not None
    receipt.problem_status = "resolved"
    receipt.resolution = resolution
    receipt.resolution_note = note.strip()
    receipt.resolved_by = actor.id
    receipt.resolved_at = now
    session.add(
        PayoutAudit(
            run_id=payout.run_id,
            payout_id=payout.id,
            actor_id=actor.id,
            action="receipt_problem_resolved",
            reason=f"{resolution}: {note.strip()}",
        )
    )
    _flush(session)
    outbox.add(  # the payee hears what was found (a code; the note stays here)
        session,
        events.RECEIPT_RESOLVED.build(
            events.aggregate(payout.id),
            payout_id=payout.id,
            communicator_id=receipt.communicator_id,
            resolution=resolution,
        ),
    )
    pseudonym = session.scalar(
        select(Communicator.pseudonym).where(Communicator.id == receipt.communicator_id)
    )
    return receipt, payout, pseudonym


def receipt_view(receipt: PayoutReceipt | None) -> dict[str, Any] | None:
    """The communicator's own view of their answer."""
    if receipt is None:
        return None
    return {
        "received": receipt.received,
        "note": receipt.note,
        "answered_at": receipt.answered_at.isoformat(),
        "problem_status": receipt.problem_status,
        "resolution": receipt.resolution,
        "resolved_at": receipt.resolved_at.isoformat() if receipt.resolved_at else None,
    }


def problem_view(
    receipt: PayoutReceipt, payout: Payout, pseudonym: str | None
) -> dict[str, Any]:
    return {
        "id": str(receipt.id),
        "payout_id": str(payout.id),
        "run_id": str(payout.run_id),
        "stipend_id": str(payout.stipend_id),
        "communicator_id": str(receipt.communicator_id),
        "pseudonym": pseudonym,
        "amount_minor": payout.amount_minor,
        "currency": payout.currency,
        "provider": payout.provider,
        "provider_ref": payout.provider_ref,
        "payout_status": payout.status,
        "received": receipt.received,
        "note": receipt.note,
        "answered_at": receipt.answered_at.isoformat(),
        "status": receipt.problem_status,
        "opened_at": receipt.problem_opened_at.isoformat()
        if receipt.problem_opened_at
        else None,
        "resolution": receipt.resolution,
        "resolution_note": receipt.resolution_note,
        "resolved_by": str(receipt.resolved_by) if receipt.resolved_by else None,
        "resolved_at": receipt.resolved_at.isoformat() if receipt.resolved_at else None,
    }
