"""A payout's outcomes, recorded inside a transaction with its row locked: sent,
paid or failed, each with its ledger entries and, for paid and failed, its event in
the outbox. The payout worker's phases, webhooks, operator actions, the bank
statement and reconciliation all move payouts through these three."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from stipends import events
from stipends.logic import ledger, payments
from stipends.payouts.models import Payout
from stipends.payouts.providers import Conversion
from svyaz import outbox


def _emit(session: Session, spec: Any, payout: Payout, **extra: Any) -> None:
    outbox.add(
        session,
        spec.build(
            events.aggregate(payout.id),
            payout_id=payout.id,
            stipend_id=payout.stipend_id,
            communicator_id=payout.communicator_id,
            run_id=payout.run_id,
            amount_minor=payout.amount_minor,
            currency=payout.currency,
            provider=payout.provider,
            **extra,
        ),
    )


def mark_sent(
    session: Session, payout: Payout, ref: str | None, deadline: datetime
) -> None:
    payments.record_sent(session, payout.stipend_id)
    payout.move_to("sent")
    payout.provider_ref = ref
    payout.deadline_at = deadline
    payout.next_attempt_at = None
    payout.last_error = None


def mark_paid(
    session: Session,
    payout: Payout,
    fee_minor: int = 0,
    conversion: Conversion | None = None,
    *,
    fee_pending: bool = False,
) -> None:
    """The payout is paid. The provider's fee (its data: Stripe's balance
    transaction, the bank statement's fee column) is booked with the settlement;
    when the provider converted the money (a Global Payout to a payout method in a
    local currency), what it debited, what the payee got and the rate are kept on
    the payout, and what it debited beyond our amount goes to FX differences.
    `fee_pending`: the confirmation came without the fee (a webhook's transfer):
    the worker reads it from the provider and books it (`book_fee`)."""
    if payments.committed(session, payout.stipend_id) and not ledger.open_entry(
        session, payout.stipend_id, "payout_sent"
    ):
        payments.record_sent(session, payout.stipend_id)
    fx_minor = 0
    if conversion is not None:
        fx_minor = conversion.sent_minor - payout.amount_minor
        payout.sent_minor = conversion.sent_minor
        payout.received_minor = conversion.received_minor
        payout.received_currency = conversion.received_currency
        payout.exchange_rate = conversion.rate
    payments.record_settled(session, payout.stipend_id, fee_minor, fx_minor)
    payout.move_to("paid")
    payout.fee_minor = fee_minor
    payout.fee_pending = fee_pending
    payout.deadline_at = None
    payout.next_attempt_at = None
    _emit(session, events.PAYOUT_PAID, payout)


def book_fee(session: Session, payout: Payout, fee_minor: int) -> None:
    """The fee the provider charged for a payout confirmed without it, once read
    from the provider's data: Dr fees, Cr funds (`provider_fee`); nothing if the
    payout has come back meanwhile or its fee is booked already."""
    if not payout.fee_pending:
        return
    payout.fee_pending = False
    if payout.status != "paid" or fee_minor <= 0:
        return
    payments.record_fee(session, payout.stipend_id, fee_minor)
    payout.fee_minor = fee_minor


def mark_failed(session: Session, payout: Payout, reason: str, detail: str) -> None:
    """The payout failed: whatever was sent is reversed in the ledger (a settled
    payout that came back first has its settlement reversed). The stipend stays
    committed for payment until finance retries or cancels."""
    settled = ledger.open_entry(session, payout.stipend_id, "payout_settled")
    if settled is not None:
        ledger.reverse(session, settled, "payout returned after settlement")
    if ledger.open_entry(session, payout.stipend_id, "payout_sent") is not None:
        payments.record_failed(session, payout.stipend_id)
    payout.move_to("failed")
    payout.failure_code = reason
    payout.last_error = detail[:500] or None
    payout.deadline_at = None
    payout.next_attempt_at = None
    _emit(session, events.PAYOUT_FAILED, payout, reason=reason)
