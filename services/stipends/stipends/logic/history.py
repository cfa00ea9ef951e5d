"""A communicator's own stipends and payments, newest cycle first: what their home
page shows (amounts and states, never who approved), with each payout's id and the
communicator's answer about its receipt, so the page can offer to confirm it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stipends.logic.actors import COMMUNICATOR, Actor
from stipends.logic.payouts.receipts import receipt_view
from stipends.models import Cycle, Stipend
from stipends.payouts.models import Payout, PayoutReceipt


def own_history(session: Session, actor: Actor) -> list[dict[str, Any]]:
    actor.require(COMMUNICATOR)
    rows = session.execute(
        select(Stipend, Cycle.period)
        .join(Cycle, Cycle.id == Stipend.cycle_id)
        .where(Stipend.communicator_id == actor.id)
        .order_by(Cycle.period.desc(), Stipend.created_at.desc())
    ).all()
    payouts: dict[Any, Payout] = {}
    for payout in session.scalars(
        select(Payout)
        .where(Payout.communicator_id == actor.id)
        .order_by(Payout.created_at)
    ):
        payouts[payout.stipend_id] = payout  # the latest run's payout wins
    receipts = {
        receipt.payout_id: receipt
        for receipt in session.scalars(
            select(PayoutReceipt).where(PayoutReceipt.communicator_id == actor.id)
        )
    }
    history = []
    for stipend, period in rows:
        payout = payouts.get(stipend.id)
        history.append(
            {
                "stipend_id": str(stipend.id),
                "period": period,
                "amount_minor": stipend.amount_minor,
                "currency": stipend.currency,
                "status": stipend.status,
                "payout_id": str(payout.id) if payout else None,
                "payout_status": payout.status if payout else None,
                "failure_code": payout.failure_code if payout else None,
                # the communicator's answer about receipt (None until they answer);
                # a paid payout can be answered while no problem is resolved
                "receipt": receipt_view(receipts.get(payout.id)) if payout else None,
                "can_confirm_receipt": bool(
                    payout
                    and payout.status == "paid"
                    and getattr(receipts.get(payout.id), "problem_status", None)
                    != "resolved"
                ),
            }
        )
    return history
