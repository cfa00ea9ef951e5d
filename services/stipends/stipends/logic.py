"""Stipends use cases: plain functions over a session and plain values."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from stipends.exceptions import CommunicatorNotFound
from stipends.models import Communicator


def record_applicant(
    session: Session, communicator_id: uuid.UUID, pseudonym: str
) -> None:
    if session.get(Communicator, communicator_id) is None:
        session.add(
            Communicator(id=communicator_id, pseudonym=pseudonym, status="applied")
        )


def get_communicator(session: Session, communicator_id: uuid.UUID) -> Communicator:
    communicator = session.get(Communicator, communicator_id)
    if communicator is None:
        raise CommunicatorNotFound("no such communicator")
    return communicator
