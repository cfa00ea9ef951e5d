"""Erasure on request: crypto-shredding. The data key is destroyed with every
ciphertext and blind index; the row keeps only the pseudonymous id and the dates the
law requires, so financial records that name the id still resolve. Every vouch
naming the person (who they asked, or who asked them) goes too."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from registry import events
from registry.exceptions import NotAllowed
from registry.logic import accounts, vouches
from registry.logic.actors import Actor
from registry.logic.vetting import ADMIN, get
from registry.models import PayoutAccount, VettingDecision
from svyaz import outbox


def erase(
    session: Session, actor: Actor, communicator_id: uuid.UUID, reason: str
) -> None:
    if not (
        actor.is_(ADMIN) or (actor.is_("communicator") and actor.id == communicator_id)
    ):
        raise NotAllowed(
            "only the person themself or an admin can ask for erasure", "not_allowed"
        )
    communicator = get(session, communicator_id, lock=True)
    account = session.get(PayoutAccount, communicator.id, with_for_update=True)
    if account is not None:
        session.delete(account)
    session.add(
        VettingDecision(
            communicator_id=communicator.id,
            actor_id=actor.id,
            from_status=communicator.status,
            to_status=communicator.status,
            reason="erased on request" if actor.id == communicator.id else reason,
        )
    )
    communicator.shred(datetime.now(UTC))
    vouches.forget(session, communicator.id)
    accounts.delete_account(session, communicator.id)
    outbox.add(
        session,
        events.COMMUNICATOR_ERASED.build(
            events.aggregate(communicator.id), communicator_id=communicator.id
        ),
    )
