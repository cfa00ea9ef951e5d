"""Stripe's webhooks, verified and relayed by the gateway: each event applied once
(deduplicated by its id in `provider_events`), a payout only moved forward (calling
→ sent → paid, or → failed), so duplicates and any order end in the same state."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from stipends.exceptions import InvalidRequest
from stipends.logic.payouts.outcomes import mark_failed, mark_paid, mark_sent
from stipends.logic.payouts.phases import Transaction, utcnow
from stipends.payouts.models import Payout, ProviderEvent

TRANSFER_EVENTS = ("transfer.created", "transfer.updated", "transfer.reversed")


def _payout_for(session: Session, obj: dict[str, Any]) -> Payout | None:
    reference = (obj.get("metadata") or {}).get("payout_reference", "")
    if not isinstance(reference, str) or not reference.startswith("payout:"):
        return None
    try:
        payout_id = uuid.UUID(reference.removeprefix("payout:"))
    except ValueError:
        return None
    return session.get(Payout, payout_id, with_for_update=True)


def apply_stripe_event(
    transaction: Transaction,
    event: dict[str, Any],
    sent_deadline: Callable[[], datetime] = utcnow,
) -> str:
    """A verified Stripe event, relayed by the gateway. Applied once per event id;
    a row only moves forward (calling → sent → paid, or → failed), so duplicates
    and any order end in the same state."""
    try:
        event_id = str(event["id"])
        event_type = str(event["type"])
        obj = event["data"]["object"]
        if not event_id.startswith("evt_") or not isinstance(obj, dict):
            raise TypeError
    except (KeyError, TypeError):
        raise InvalidRequest("not a Stripe event", "invalid_event") from None
    with transaction() as session:
        seen = session.execute(
            insert(ProviderEvent)
            .values(event_id=event_id, event_type=event_type, outcome="received")
            .on_conflict_do_nothing()
            .returning(ProviderEvent.event_id)
        ).first()
        if seen is None:
            return "duplicate"
        outcome = "ignored"
        payout = _payout_for(session, obj) if event_type in TRANSFER_EVENTS else None
        if payout is not None and payout.provider_ref not in (None, obj.get("id")):
            outcome = "other_transfer"
        elif payout is not None:
            amount = int(obj.get("amount") or 0)
            reversed_ = bool(obj.get("reversed")) or (
                amount > 0 and int(obj.get("amount_reversed") or 0) >= amount
            )
            if payout.status == "calling":
                mark_sent(session, payout, str(obj["id"]), sent_deadline())
            if reversed_ and payout.status in ("sent", "paid"):
                mark_failed(session, payout, "returned", f"{event_type} {event_id}")
                outcome = "reversed"
            elif not reversed_ and payout.status == "sent":
                # the event's transfer carries no fee: the worker reads it later
                mark_paid(session, payout, fee_pending=True)
                outcome = "paid"
            else:
                outcome = f"no_change:{payout.status}"
        session.execute(
            ProviderEvent.__table__.update()
            .where(ProviderEvent.event_id == event_id)
            .values(outcome=outcome, payout_id=payout.id if payout else None)
        )
        return outcome
