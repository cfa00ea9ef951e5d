"""Looking people up: search first, never a bulk dump; contacts for notifications
only; every personal field read is logged."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from registry import pseudonyms
from registry.exceptions import CommunicatorNotFound, ContactNotAllowed, InvalidRequest
from registry.logic.access import Sealed
from registry.logic.actors import Actor
from registry.logic.vetting import ADMIN, get
from registry.models import PERSONAL_FIELDS, Account, Communicator
from svyaz.crypto import KeyRing

CONTACT_READERS = frozenset({"notifications"})
SEARCH_LIMIT = 20


@dataclass(frozen=True)
class Contact:
    communicator_id: uuid.UUID
    email: str
    language: str
    # has a password to sign in with (one who applied without has none until a
    # reset link sets it): a neutral mail then need not say how to get one
    signs_in: bool = False


def _signing_in(session: Session, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these communicators have a password set."""
    return set(
        session.scalars(
            select(Account.id).where(
                Account.id.in_(ids), Account.password_hash.is_not(None)
            )
        )
    )


def find(
    session: Session, keys: KeyRing, actor: Actor, criteria: dict[str, Any]
) -> list[Communicator]:
    """Communicators matching a pseudonym prefix, an exact email (by blind index) or
    a status, by pseudonym, a page at a time (`limit`, at most SEARCH_LIMIT, from
    `offset`); at least one criterion is required."""
    actor.require(ADMIN, "finance")
    limit = criteria.get("limit", SEARCH_LIMIT)
    offset = criteria.get("offset", 0)
    if not set(criteria) - {"limit", "offset"}:
        raise InvalidRequest(
            "search by pseudonym, email or status",
            "empty_search",
            {"query": ["give at least one search criterion"]},
        )
    query = select(Communicator).where(Communicator.erased_at.is_(None))
    if "pseudonym" in criteria:
        prefix = criteria["pseudonym"].replace("%", "").replace("_", r"\_")
        key = pseudonyms.key(criteria["pseudonym"]).replace("%", "")
        query = query.where(
            or_(
                Communicator.pseudonym.ilike(f"{prefix}%", escape="\\"),
                Communicator.pseudonym_key.like(
                    key.replace("_", r"\_") + "%", escape="\\"
                ),
            )
        )
    if "email" in criteria:
        query = query.where(
            Communicator.email_index.in_(keys.blind_indexes("email", criteria["email"]))
        )
    if "status" in criteria:
        query = query.where(Communicator.status == criteria["status"])
    return list(
        session.scalars(
            query.order_by(Communicator.pseudonym).limit(limit).offset(offset)
        )
    )


def profile(
    session: Session,
    keys: KeyRing,
    actor: Actor,
    communicator_id: uuid.UUID,
    purpose: str,
) -> dict[str, Any]:
    """Every personal field of one person, for an admin or for the person themself."""
    own = actor.is_("communicator") and actor.id == communicator_id
    if not own:
        actor.require(ADMIN)
    communicator = get(session, communicator_id)
    sealed = Sealed(session, keys, communicator)
    fields = {
        name: sealed.open(name, actor.label, purpose if not own else "own profile")
        for name in PERSONAL_FIELDS
    }
    return {
        "id": communicator.id,
        "pseudonym": communicator.pseudonym,
        "status": communicator.status,
        "tier": communicator.tier,
        "language": communicator.language,
        **fields,
    }


def contact(
    session: Session,
    keys: KeyRing,
    communicator_id: uuid.UUID,
    caller: str | None,
    purpose: str,
) -> Contact:
    """Decrypt a communicator's email for notifications, and log the read."""
    if caller not in CONTACT_READERS:
        raise ContactNotAllowed(
            "only the notifications service may read contacts", "contact_not_allowed"
        )
    communicator = session.get(Communicator, communicator_id)
    if communicator is None or communicator.erased:
        raise CommunicatorNotFound("no such communicator")
    email = Sealed(session, keys, communicator).open("email", caller, purpose)
    signs_in = communicator.id in _signing_in(session, {communicator.id})
    return Contact(communicator.id, email, communicator.language, signs_in)


def contacts(
    session: Session,
    keys: KeyRing,
    communicator_ids: list[uuid.UUID],
    caller: str | None,
    purpose: str,
) -> list[Contact]:
    """`contact` for several communicators at once (one statement to find them),
    each read logged as `contact` logs it; the unknown and the erased are left out."""
    if caller not in CONTACT_READERS:
        raise ContactNotAllowed(
            "only the notifications service may read contacts", "contact_not_allowed"
        )
    found = session.scalars(
        select(Communicator).where(Communicator.id.in_(set(communicator_ids)))
    )
    out = []
    for communicator in found:
        if communicator.erased:
            continue
        email = Sealed(session, keys, communicator).open("email", caller, purpose)
        out.append(Contact(communicator.id, email, communicator.language))
    signing_in = _signing_in(session, {c.communicator_id for c in out})
    return [replace(c, signs_in=c.communicator_id in signing_in) for c in out]


def own_status(session: Session, actor: Actor) -> Communicator:
    """What a communicator's home page shows: no personal field, nothing logged."""
    actor.require("communicator")
    return get(session, actor.id)
