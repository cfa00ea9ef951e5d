"""Gateway use cases: web sessions. Plain functions over a session and plain values."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from gateway.models import WebSession

IDLE = timedelta(minutes=30)
# a session's last_seen is written at most this often: every API call reads its
# session, and a write on each would make every call wait on a commit. last_seen may
# then lag the last request by up to this much, so an idle session ends at most this
# much sooner than IDLE, never later
TOUCH_EVERY = timedelta(seconds=60)
ABSOLUTE = timedelta(hours=12)
ENROLL = timedelta(minutes=10)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Opened:
    token: str  # goes in the cookie; only its hash is stored
    session: WebSession


def open_session(
    session: Session,
    actor_id: uuid.UUID,
    roles: list[str],
    stage: str,
    language: str,
    now: datetime | None = None,
    signed: dict[str, Any] | None = None,
) -> Opened:
    """A new session; `signed` is the registry's actor with its assertion."""
    now = now or datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    row = WebSession(
        token_hash=_hash(token),
        actor_id=actor_id,
        roles=",".join(sorted(roles)),
        stage=stage,
        csrf_token=secrets.token_urlsafe(32),
        language=language,
        last_seen=now,
        expires_at=now + (ENROLL if stage != "full" else ABSOLUTE),
    )
    if signed is not None:
        store_assertion(row, signed)
    session.add(row)
    return Opened(token, row)


RENEW_BEFORE = timedelta(seconds=60)  # renew an assertion this long before it ends


def store_assertion(row: WebSession, signed: dict[str, Any]) -> None:
    """Keep the registry's (re)signed actor: its assertion, expiry and current roles."""
    row.assertion = str(signed["assertion"])
    row.assertion_expires_at = datetime.fromtimestamp(float(signed["expires_at"]), UTC)
    if row.stage == "full":
        row.roles = ",".join(sorted(signed["roles"]))


def needs_renewal(row: WebSession, now: datetime | None = None) -> bool:
    now = now or datetime.now(UTC)
    return row.assertion_expires_at is None or (
        row.assertion_expires_at - RENEW_BEFORE <= now
    )


def current(
    session: Session, token: str | None, now: datetime | None = None
) -> WebSession | None:
    """The live session for a cookie, touched; None when absent, idle or expired."""
    if not token:
        return None
    now = now or datetime.now(UTC)
    row = session.get(WebSession, _hash(token))
    if row is None:
        return None
    if row.expires_at <= now or row.last_seen + IDLE <= now:
        session.delete(row)
        return None
    if now - row.last_seen >= TOUCH_EVERY:  # within it: no write, no commit to wait on
        row.last_seen = now
    return row


def close(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(WebSession).where(WebSession.token_hash == _hash(token)))


def promote(
    session: Session,
    row: WebSession,
    signed: dict[str, Any],
    now: datetime | None = None,
) -> Opened:
    """An enrolling session becomes a full one under a new token (no fixation),
    with the full assertion the registry signed once the authenticator was set up."""
    now = now or datetime.now(UTC)
    session.delete(row)
    return open_session(
        session, row.actor_id, signed["roles"], "full", row.language, now, signed
    )


def csrf_ok(row: WebSession, submitted: str | None) -> bool:
    # bytes: compare_digest refuses non-ASCII text with a TypeError (a 500)
    return bool(submitted) and hmac.compare_digest(
        row.csrf_token.encode(), (submitted or "").encode()
    )


def speak(session: Session, actor_id: uuid.UUID, language: str) -> None:
    """Every open session of a person speaks `language` from their next page (they
    chose it for their messages: their pages follow)."""
    session.execute(
        update(WebSession)
        .where(WebSession.actor_id == actor_id)
        .values(language=language)
    )


def close_all_for(session: Session, actor_id: uuid.UUID) -> int:
    result = session.execute(delete(WebSession).where(WebSession.actor_id == actor_id))
    return int(getattr(result, "rowcount", 0) or 0)


def expired(session: Session, now: datetime | None = None) -> int:
    """Delete every session that ran out; how many (one statement)."""
    now = now or datetime.now(UTC)
    result = session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)
