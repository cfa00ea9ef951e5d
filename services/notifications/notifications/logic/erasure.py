"""Erasure: everything kept here about a person goes."""

from __future__ import annotations

import uuid

from sqlalchemy import delete
from sqlalchemy.orm import Session

from notifications.logic.fact import Fact
from notifications.models import (
    ActiveCommunicator,
    CycleReport,
    Delivery,
    InboxMessage,
    PendingItem,
    Preference,
    StipendNotice,
)


def erase(session: Session, recipient_id: uuid.UUID) -> dict[str, int]:
    """Forget a person: inbox, preferences, delivery log, pending work items,
    what they were told about their stipends."""
    counts = {}
    for model, column in (
        (InboxMessage, InboxMessage.recipient_id),
        (Delivery, Delivery.recipient_id),
        (Preference, Preference.recipient_id),
        (PendingItem, PendingItem.communicator_id),
        (ActiveCommunicator, ActiveCommunicator.communicator_id),
        (CycleReport, CycleReport.communicator_id),
        (StipendNotice, StipendNotice.communicator_id),
    ):
        result = session.execute(delete(model).where(column == recipient_id))
        counts[model.__tablename__] = int(result.rowcount)  # type: ignore[attr-defined]
    return counts


def erased(fact: Fact) -> None:
    """An `Act` (courier.Act) for registry's communicator.erased.v1."""
    erase(fact.session, fact.communicator_id)
