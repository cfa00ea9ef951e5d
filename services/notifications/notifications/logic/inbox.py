"""The in-app inbox: what a person reads after signing in, in their language."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications.exceptions import MessageNotFound
from notifications.logic.preferences import language_for
from notifications.models import InboxMessage
from notifications.templates import render


def inbox(
    session: Session, recipient_id: uuid.UUID, unread_only: bool, limit: int
) -> list[InboxMessage]:
    query = select(InboxMessage).where(InboxMessage.recipient_id == recipient_id)
    if unread_only:
        query = query.where(InboxMessage.read_at.is_(None))
    return list(session.scalars(query.order_by(InboxMessage.id.desc()).limit(limit)))


def read_inbox(
    session: Session,
    recipient_id: uuid.UUID,
    language: str | None,
    unread_only: bool,
    limit: int,
) -> list[dict[str, Any]]:
    """The latest messages, rendered in the language asked for (else the person's
    own): subject, body, when, and whether read."""
    chosen = language_for(session, recipient_id, language)
    out = []
    for row in inbox(session, recipient_id, unread_only, limit):
        message = render(row.template, chosen, **row.params)
        out.append(
            {
                "id": row.id,
                "subject": message.subject,
                "body": message.body,
                "created_at": row.created_at,
                "read": row.read_at is not None,
            }
        )
    return out


def mark_read(
    session: Session, recipient_id: uuid.UUID, message_id: int, now: datetime
) -> InboxMessage:
    message = session.get(InboxMessage, message_id, with_for_update=True)
    if message is None or message.recipient_id != recipient_id:
        raise MessageNotFound("no such message", "message_not_found")
    if message.read_at is None:
        message.read_at = now
    return message
