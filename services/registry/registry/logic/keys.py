"""Master key rotation: every data key is re-wrapped under the current master key;
no field is re-encrypted. Data keys are the communicators' and those sealing the
Stripe account ids that erasure still has to close."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.logic.actors import Actor
from registry.logic.vetting import ADMIN
from registry.models import Communicator, StripeClosure
from svyaz.crypto import KeyRing

KEYED: tuple[Any, ...] = (Communicator, StripeClosure)


def _stale(model: Any, keys: KeyRing) -> Any:
    prefix = f"{keys.current}."
    return (
        model.wrapped_key.is_not(None),
        ~model.wrapped_key.startswith(prefix, autoescape=True),
    )


def _record_id(row: Any) -> str:
    return row.record_id() if isinstance(row, StripeClosure) else str(row.id)


def stale_count(session: Session, keys: KeyRing) -> int:
    return sum(
        session.scalar(
            select(func.count()).select_from(model).where(*_stale(model, keys))
        )
        or 0
        for model in KEYED
    )


def rewrap(session: Session, keys: KeyRing, actor: Actor, batch: int = 500) -> int:
    """Re-wrap up to `batch` data keys still under an old master key; how many."""
    actor.require(ADMIN)
    done = 0
    for model in KEYED:
        rows = session.scalars(
            select(model)
            .where(*_stale(model, keys))
            .limit(batch - done)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            row.wrapped_key = keys.rewrap(row.wrapped_key, _record_id(row))
        done += len(rows)
        if done >= batch:
            break
    return done
