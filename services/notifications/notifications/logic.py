"""Notification use cases: plain functions over a session and plain values."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.models import Delivery


def open_delivery(
    session: Session,
    event_id: uuid.UUID,
    recipient_id: uuid.UUID,
    channel: str,
    template: str,
) -> Delivery | None:
    """The delivery to attempt now, or None when it was already sent."""
    delivery = session.scalar(
        select(Delivery)
        .where(
            Delivery.event_id == event_id,
            Delivery.recipient_id == recipient_id,
            Delivery.channel == channel,
        )
        .with_for_update()
    )
    if delivery is None:
        delivery = Delivery(
            event_id=event_id,
            recipient_id=recipient_id,
            channel=channel,
            template=template,
            status="pending",
            attempts=0,
        )
        session.add(delivery)
    if delivery.status == "sent":
        return None
    delivery.attempts += 1
    session.flush()
    return delivery


def delivered(session: Session, delivery_id: int) -> None:
    delivery = session.get(Delivery, delivery_id)
    assert delivery is not None
    delivery.mark_sent(datetime.now(UTC))
