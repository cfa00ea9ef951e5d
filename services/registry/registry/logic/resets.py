"""Password resets by an emailed one-time link (30 minutes, three an hour): the
request answers alike whether or not the email has an account, only the reset's id
goes on the bus, notifications alone read the link, and the token is kept as a
hash. A communicator who applied without a password gets their first login here."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry import events
from registry.exceptions import InvalidRequest, NotAllowed, ResetNotFound
from registry.logic import passwords
from registry.logic.accounts import (
    check_password_policy,
    login_is,
    read_staff_email,
)
from registry.models import Account, Club, Communicator, PasswordReset
from svyaz import outbox
from svyaz.actors import COORDINATOR
from svyaz.crypto import KeyRing

RESET_VALID = timedelta(minutes=30)
RESETS_PER_HOUR = 3
RESET_LINK_READERS = frozenset({"notifications"})


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# who may set a first password by "forgot your password": applicants and members
FIRST_LOGIN_STATUSES = ("applied", "in_review", "active", "suspended")


def _first_login(session: Session, keys: KeyRing, email: str) -> Account | None:
    """A login with no password yet for the communicator who applied with `email`
    without choosing one (the API lets them), so that the reset link sets their
    first password; None when no such person takes part."""
    communicator = session.scalar(
        select(Communicator)
        .where(
            Communicator.email_index.in_(keys.blind_indexes("email", email)),
            Communicator.erased_at.is_(None),
            Communicator.status.in_(FIRST_LOGIN_STATUSES),
        )
        .with_for_update()
    )
    if communicator is None or session.get(Account, communicator.id) is not None:
        return None
    roles = {"communicator"}
    coordinates = select(Club.id).where(Club.coordinator_id == communicator.id)
    if session.scalar(coordinates.limit(1)) is not None:
        roles.add(COORDINATOR)  # a club named them before they had a login
    account = Account(
        id=communicator.id,
        kind="communicator",
        roles=",".join(sorted(roles)),
        login_index=keys.blind_index("login", email),
        password_hash=None,
    )
    session.add(account)
    session.flush()
    return account


def request_reset(
    session: Session, keys: KeyRing, email: str, now: datetime
) -> uuid.UUID | None:
    """A reset for the account of `email`, announced by an event that carries only
    the reset's id; None (and the same answer to the caller) when there is no such
    account, it is disabled, or it asked too often this hour. A communicator who
    applied without a password gets their login here: the link sets its first
    password."""
    account = session.scalar(
        select(Account).where(login_is(keys, email)).with_for_update()
    )
    if account is None:
        account = _first_login(session, keys, email)
    if account is None or account.disabled:
        return None
    recent = session.scalar(
        select(func.count())
        .select_from(PasswordReset)
        .where(
            PasswordReset.account_id == account.id,
            PasswordReset.created_at > now - timedelta(hours=1),
        )
    )
    if (recent or 0) >= RESETS_PER_HOUR:
        return None
    reset = PasswordReset(
        id=uuid.uuid4(),
        account_id=account.id,
        created_at=now,
        expires_at=now + RESET_VALID,
    )
    session.add(reset)
    outbox.add(
        session,
        events.PASSWORD_RESET_REQUESTED.build(
            f"account:{account.id}", reset_id=reset.id
        ),
    )
    return reset.id


def issue_reset(
    session: Session,
    keys: KeyRing,
    reset_id: uuid.UUID,
    caller: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The link's token and where to send it, for the notifications service alone.
    Each call makes a new token (a re-sent mail invalidates the one before)."""
    if caller not in RESET_LINK_READERS:
        raise NotAllowed(
            "only the notifications service sends reset links", "not_allowed"
        )
    reset = session.get(PasswordReset, reset_id, with_for_update=True)
    if reset is None or reset.used_at is not None or reset.expires_at <= now:
        raise ResetNotFound("no such reset, or it has ended", "reset_not_found")
    account = session.get(Account, reset.account_id)
    if account is None or account.disabled:
        raise ResetNotFound("no such reset, or it has ended", "reset_not_found")
    if account.kind == "staff":
        email = read_staff_email(session, keys, account, caller, "password reset")
        language = account.language or "ru"  # chosen at the invitation
    else:
        from registry.logic.directory import contact

        found = contact(session, keys, account.id, caller, "password reset")
        email, language = found.email, found.language
    token = secrets.token_urlsafe(32)
    reset.token_hash = _token_hash(token)
    return {
        "account_id": account.id,
        "email": email,
        "language": language,
        "token": token,
        "expires_at": reset.expires_at,
        "purpose": reset.purpose,
    }


def reset_password(
    session: Session, token: str, password: str, now: datetime
) -> uuid.UUID:
    """Set a new password with a live token; it ends every reset of the account and
    lifts a lockout. Every failure is the same error."""
    reset = session.scalar(
        select(PasswordReset)
        .where(PasswordReset.token_hash == _token_hash(token))
        .with_for_update()
    )
    if reset is None or reset.used_at is not None or reset.expires_at <= now:
        raise InvalidRequest(
            "the link is not valid or has expired; ask for a new one",
            "reset_invalid",
            {"token": ["not valid or expired"]},
        )
    account = session.get(Account, reset.account_id, with_for_update=True)
    if account is None or account.disabled:
        raise InvalidRequest(
            "the link is not valid or has expired; ask for a new one",
            "reset_invalid",
            {"token": ["not valid or expired"]},
        )
    check_password_policy(password)
    account.password_hash = passwords.current().hash(password)
    account.failed_attempts, account.locked_until = 0, None
    for other in session.scalars(
        select(PasswordReset).where(
            PasswordReset.account_id == account.id, PasswordReset.used_at.is_(None)
        )
    ):
        other.used_at = now
    return account.id
