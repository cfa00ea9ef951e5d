"""Master key rotation: every data key is re-wrapped under the current master key;
no field is re-encrypted.

Three kinds of rows hold a data key wrapped under the master key: communicators (their
personal fields, payout destinations) and accounts (a staff member's email, anyone's
TOTP secret); so do the Stripe account ids that erasure still has to close. All are
re-wrapped; the count of what is still under an old key covers them
all, so 0 means the old master key can be removed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.logic.actors import Actor
from registry.logic.vetting import ADMIN
from registry.models import Account, Communicator, StripeClosure
from svyaz.crypto import KeyRing

# each table holding wrapped data keys, with the record id its wrapping is bound to
WRAPPED: tuple[tuple[Any, Callable[[Any], str]], ...] = (
    (Communicator, lambda row: str(row.id)),
    (Account, lambda row: f"account:{row.id}"),
    (StripeClosure, lambda row: row.record_id()),
)


def _stale(model: Any, keys: KeyRing) -> tuple[Any, Any]:
    return (
        model.wrapped_key.is_not(None),
        ~model.wrapped_key.startswith(f"{keys.current}.", autoescape=True),
    )


def stale_count(session: Session, keys: KeyRing) -> int:
    """How many data keys are still wrapped under another master key than the
    current one, in every table that holds them."""
    return sum(
        session.scalar(
            select(func.count()).select_from(model).where(*_stale(model, keys))
        )
        or 0
        for model, _ in WRAPPED
    )


def rewrap(session: Session, keys: KeyRing, actor: Actor, batch: int = 500) -> int:
    """Re-wrap up to `batch` data keys still under an old master key; how many."""
    actor.require(ADMIN)
    done = 0
    for model, record_id in WRAPPED:
        if done >= batch:
            break
        rows = session.scalars(
            select(model)
            .where(*_stale(model, keys))
            .limit(batch - done)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            row.wrapped_key = keys.rewrap(row.wrapped_key, record_id(row))
        done += len(rows)
    return done
