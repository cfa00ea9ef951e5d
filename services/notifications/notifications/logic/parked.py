"""Deliveries parked after their last attempt: listed for staff, retried or
discarded by a program admin with a reason, each action audited in
`parked_actions`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.exceptions import DeliveryNotFound
from notifications.logic.courier import Courier
from notifications.models import DISCARDED, PARKED, PENDING, Delivery
from svyaz import parked_actions
from svyaz.actors import Actor

LIMIT_MAX = 500  # rows a list of parked deliveries shows at most


def parked(session: Session, limit: int) -> list[Delivery]:
    """The latest parked deliveries, `limit` of them (1 to LIMIT_MAX)."""
    limit = max(1, min(limit, LIMIT_MAX))
    return list(
        session.scalars(
            select(Delivery)
            .where(Delivery.status == PARKED)
            .order_by(Delivery.updated_at.desc())
            .limit(limit)
        )
    )


def _parked_delivery(session: Session, delivery_id: int) -> Delivery:
    delivery = session.get(Delivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.status != PARKED:
        raise DeliveryNotFound(
            f"no parked delivery {delivery_id} (it may have been retried or "
            "discarded already)",
            "delivery_not_found",
        )
    return delivery


def retry_parked(
    session: Session, who: Actor, delivery_id: int, reason: str, now: datetime
) -> Delivery:
    """Send a parked delivery again (from a fresh count of attempts), audited."""
    delivery = _parked_delivery(session, delivery_id)
    delivery.status, delivery.attempts, delivery.due_at = PENDING, 0, now
    delivery.updated_at = now
    _audit(
        session,
        who,
        delivery,
        parked_actions.RETRY,
        reason,
        parked_actions.RETRIED,
        now,
    )
    return delivery


def retry_and_send(
    courier: Courier,
    who: Actor,
    delivery_id: int,
    reason: str,
    after_commit: Callable[[Callable[[], Any]], None] | None = None,
) -> dict[str, Any]:
    """`retry_parked`, committed, then the delivery sent at once (`after_commit`:
    how the caller runs work once its transaction is committed, when the
    transaction is wider than this function's, as an idempotent command's is)."""
    with courier.transaction() as session:
        delivery = retry_parked(session, who, delivery_id, reason, datetime.now(UTC))
        result = {"id": delivery.id, "status": delivery.status}

    def send() -> None:
        courier.deliver([result["id"]])

    if after_commit is None:
        send()
    else:
        after_commit(send)
    return result


def discard_parked(
    session: Session, who: Actor, delivery_id: int, reason: str, now: datetime
) -> Delivery:
    """Give a parked delivery up for good, audited; it leaves the parked list."""
    delivery = _parked_delivery(session, delivery_id)
    delivery.status, delivery.updated_at, delivery.payload = DISCARDED, now, None
    _audit(
        session,
        who,
        delivery,
        parked_actions.DISCARD,
        reason,
        parked_actions.DISCARDED,
        now,
    )
    return delivery


def _audit(
    session: Session,
    who: Actor,
    delivery: Delivery,
    action: str,
    reason: str,
    outcome: str,
    now: datetime,
) -> None:
    row = parked_actions.start_action(
        session, who, parked_actions.DELIVERY, str(delivery.id), action, reason
    )
    parked_actions.finish_action(
        row,
        outcome,
        now,
        delivery.error_kind,
        delivery.channel,
        delivery.template,
    )
