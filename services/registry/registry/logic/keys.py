"""Master key rotation: every data key is re-wrapped under the current master key;
no field is re-encrypted."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.logic.actors import Actor
from registry.logic.vetting import ADMIN
from registry.models import Communicator
from svyaz.crypto import KeyRing


def stale_count(session: Session, keys: KeyRing) -> int:
    prefix = f"{keys.current}."
    return len(
        session.scalars(
            select(Communicator.id).where(
                Communicator.wrapped_key.is_not(None),
                ~Communicator.wrapped_key.startswith(prefix, autoescape=True),
            )
        ).all()
    )


def rewrap(session: Session, keys: KeyRing, actor: Actor, batch: int = 500) -> int:
    """Re-wrap up to `batch` data keys still under an old master key; how many."""
    actor.require(ADMIN)
    prefix = f"{keys.current}."
    rows = session.scalars(
        select(Communicator)
        .where(
            Communicator.wrapped_key.is_not(None),
            ~Communicator.wrapped_key.startswith(prefix, autoescape=True),
        )
        .limit(batch)
        .with_for_update(skip_locked=True)
    ).all()
    for communicator in rows:
        assert communicator.wrapped_key is not None
        communicator.wrapped_key = keys.rewrap(
            communicator.wrapped_key, str(communicator.id)
        )
    return len(rows)
