"""Registry use cases: plain functions over a session and plain values."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from registry import events
from registry.exceptions import (
    CommunicatorNotFound,
    ContactNotAllowed,
    InvalidApplication,
)
from registry.models import Communicator, PiiAccess
from svyaz import outbox
from svyaz.crypto import KeyRing, decrypt_field, encrypt_field

log = logging.getLogger(__name__)

CONTACT_READERS = frozenset({"notifications"})


@dataclass(frozen=True)
class Contact:
    communicator_id: uuid.UUID
    email: str
    language: str


def apply(session: Session, keys: KeyRing, application: dict[str, Any]) -> None:
    """Record an application; a known email gets the same answer and changes nothing.

    Returns nothing on purpose: the caller learns neither the id nor whether the
    email was already registered.
    """
    email_index = keys.blind_index("email", application["email"])
    taken = session.scalar(
        select(Communicator.id).where(Communicator.email_index == email_index)
    )
    if taken is not None:
        log.info("application for an already registered email; nothing recorded")
        return
    if session.scalar(
        select(Communicator.id).where(
            Communicator.pseudonym == application["pseudonym"]
        )
    ):
        raise InvalidApplication(
            "pseudonym taken",
            "pseudonym_taken",
            {"pseudonym": ["this pseudonym is taken; choose another"]},
        )
    communicator_id = uuid.uuid4()
    data_key = keys.new_data_key()
    record = str(communicator_id)
    communicator = Communicator(
        id=communicator_id,
        pseudonym=application["pseudonym"],
        status="applied",
        language=application["language"],
        wrapped_key=keys.wrap(data_key, record),
        email_ct=encrypt_field(data_key, application["email"], record, "email"),
        email_index=email_index,
        country_ct=encrypt_field(data_key, application["country"], record, "country"),
    )
    try:
        with session.begin_nested():
            session.add(communicator)
    except IntegrityError:  # a concurrent application took the email or pseudonym
        if session.scalar(
            select(Communicator.id).where(Communicator.email_index == email_index)
        ):
            return
        raise InvalidApplication(
            "pseudonym taken",
            "pseudonym_taken",
            {"pseudonym": ["this pseudonym is taken; choose another"]},
        ) from None
    outbox.add(
        session,
        events.COMMUNICATOR_APPLIED.build(
            f"communicator:{communicator_id}",
            communicator_id=communicator_id,
            pseudonym=communicator.pseudonym,
        ),
    )


def get_contact(
    session: Session,
    keys: KeyRing,
    communicator_id: uuid.UUID,
    caller: str | None,
    purpose: str,
) -> Contact:
    """Decrypt a communicator's email for notifications, and log the read."""
    if caller not in CONTACT_READERS:
        raise ContactNotAllowed("only the notifications service may read contacts")
    communicator = session.get(Communicator, communicator_id)
    if communicator is None or communicator.wrapped_key is None:
        raise CommunicatorNotFound("no such communicator")
    record = str(communicator.id)
    data_key = keys.unwrap(communicator.wrapped_key, record)
    assert communicator.email_ct is not None
    email = decrypt_field(data_key, communicator.email_ct, record, "email")
    session.add(
        PiiAccess(
            communicator_id=communicator.id,
            accessor=caller,
            field="email",
            purpose=purpose[:200],
        )
    )
    return Contact(communicator.id, email, communicator.language)
