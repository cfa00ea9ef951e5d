"""Finance's actions on one payout, each with a reason kept in its audit trail:
retry, cancel, mark paid offline, mark failed. Each is allowed only from the states
where it cannot pay twice."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from stipends.exceptions import InvalidRequest, InvalidTransition
from stipends.logic import ledger
from stipends.logic.actors import FINANCE, Actor
from stipends.logic.payouts.outcomes import mark_failed, mark_paid
from stipends.logic.payouts.runs import PayoutNotFound
from stipends.payouts.models import Payout, PayoutAudit

ACTIONS = ("retry", "cancel", "mark_paid_offline", "mark_failed")


def operator_action(
    session: Session,
    actor: Actor,
    payout_id: uuid.UUID,
    action: str,
    reason: str,
    now: datetime,
) -> Payout:
    actor.require(FINANCE)
    if action not in ACTIONS:
        raise InvalidRequest(f"no action {action}", "invalid_action")
    if not reason or not reason.strip():
        raise InvalidRequest(
            "every action needs a reason", "reason_required", {"reason": ["required"]}
        )
    payout = session.get(Payout, payout_id, with_for_update=True)
    if payout is None:
        raise PayoutNotFound(f"no payout {payout_id}", "payout_not_found")
    status = payout.status
    allowed = {
        "retry": ("failed", "calling", "queued"),
        "cancel": ("queued", "failed"),
        "mark_paid_offline": ("queued", "failed", "sent"),
        # not from sent: the provider may still pay it, and a retry would pay twice;
        # a sent payout fails only on the provider's word (a reversal, a return)
        "mark_failed": ("queued",),
    }[action]
    if status not in allowed:
        raise InvalidTransition(
            f"a payout that is {status} cannot be handled with {action}"
            + (
                " (its call is in flight: retry it or wait)"
                if status == "calling"
                else ""
            ),
            f"payout_{status}",
        )
    if action == "retry":
        if status == "failed":
            payout.move_to("queued")  # a new attempt, a new key
            payout.failure_code = None
        payout.next_attempt_at = now  # a calling row: again now, the same key
    elif action == "cancel":
        commitment = ledger.open_entry(session, payout.stipend_id, "commitment")
        if commitment is not None:
            ledger.reverse(
                session, commitment, "payout cancelled: reserved again", actor.id
            )
        payout.move_to("cancelled")
        payout.next_attempt_at = None
    elif action == "mark_paid_offline":
        mark_paid(session, payout)  # sent first in the ledger if it was not
    else:
        mark_failed(session, payout, "marked_failed", "marked failed by finance")
    session.add(
        PayoutAudit(
            run_id=payout.run_id,
            payout_id=payout.id,
            actor_id=actor.id,
            action=action,
            reason=reason.strip(),
        )
    )
    session.flush()
    return payout
