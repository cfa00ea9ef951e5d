"""Signing in: argon2id passwords, TOTP as the second factor (mandatory for admins
and finance, offered to communicators), a lock after repeated failures, and one
neutral answer for every failure, so nobody learns whether an email has an account.

The lock hurts the guesser, not the owner: after MAX_FAILURES bad passwords or
codes, for LOCKOUT, a password alone is refused (the same neutral answer, right
password or not), but the right password *with* a valid code of the account's
confirmed authenticator passes and lifts it (`Account.passes_lock`). The gateway
asks for the same step-up (`step_up`) when its per-account throttling bucket is
full. Someone without an authenticator waits the lock out or sets a new password
by the emailed link, which lifts it.

Failures are counted in the database, so `sign_in` returns a result instead of
raising: the caller commits the count, then answers.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from registry.exceptions import (
    InvalidRequest,
    NotAllowed,
    StaffNotFound,
)
from registry.logic import passwords
from registry.logic.access import record_read
from registry.logic.actors import ROLES, Actor
from registry.logic.vetting import ADMIN
from registry.models import Account, Communicator
from svyaz import assertions
from svyaz.crypto import KeyRing, decrypt_field, encrypt_field

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
ISSUER = "Account"  # what an authenticator app shows: neutral, like the emails


@dataclass(frozen=True)
class SignIn:
    status: str  # ok | second_factor | enroll | invalid
    actor: Actor | None = None
    enrollment_uri: str | None = None
    assertion: dict[str, Any] | None = None  # ok and enroll: see assertion_for
    handle: str | None = None  # ok, staff: the name colleagues know them by
    # ok: the language they speak (a staff member's, invited in; a communicator's,
    # applied in): the consoles' until they choose one in their preferences
    language: str | None = None


def check_password_policy(password: str) -> None:
    """A new password: of a length within the rule, and not easy to guess
    (`passwords.is_weak`); a sign-in checks neither."""
    message = None
    if not passwords.MIN_LENGTH <= len(password) <= passwords.MAX_LENGTH:
        message = passwords.LENGTH_RULE
    elif passwords.is_weak(password):
        message = passwords.WEAK_RULE
    if message:
        raise InvalidRequest(message, "weak_password", {"password": [message]})


def login_is(keys: KeyRing, email: str) -> Any:
    """The account of `email`, under any configured blind-index key."""
    return Account.login_index.in_(keys.blind_indexes("login", email))


def account_key(keys: KeyRing, account: Account) -> bytes:
    if account.wrapped_key is None:
        account.wrapped_key = keys.wrap(keys.new_data_key(), f"account:{account.id}")
    return keys.unwrap(account.wrapped_key, f"account:{account.id}")


def create_communicator_account(
    session: Session,
    keys: KeyRing,
    communicator_id: uuid.UUID,
    email: str,
    password: str,
) -> None:
    """A login for an applicant; silently none when the email already has one.
    The password is hashed either way: an answer that came faster for a known email
    would tell a stranger who is a communicator."""
    check_password_policy(password)
    password_hash = passwords.current().hash(password)
    index = keys.blind_index("login", email)
    if session.scalar(select(Account.id).where(login_is(keys, email))):
        return
    session.add(
        Account(
            id=communicator_id,
            kind="communicator",
            roles="communicator",
            login_index=index,
            password_hash=password_hash,
        )
    )


def free_handle(
    session: Session, handle: str, account_id: uuid.UUID | None = None
) -> None:
    """Refuse a handle another staff account has (in any letter case): two
    colleagues shown under one name could not be told apart."""
    taken = session.scalar(
        select(Account.id).where(
            Account.kind == "staff",
            func.lower(Account.handle) == handle.lower(),
            Account.id != account_id if account_id else true(),
        )
    )
    if taken is not None:
        raise InvalidRequest(
            "another staff member has this name; add an initial or a team",
            "handle_taken",
            {"handle": ["another staff member has this name"]},
        )


def new_staff_account(
    session: Session,
    keys: KeyRing,
    email: str,
    roles: list[str],
    password_hash: str | None,
    handle: str | None = None,
) -> Account:
    """A staff account (its email sealed under its own key) once its roles are
    staff roles and the email has no account yet; None as the password hash: an
    invitation, the invitee chooses it. `handle`: the name admins see it by."""
    refusals: list[InvalidRequest] = []  # every one at once, not one per try
    if not roles or not set(roles) <= ROLES - {"communicator"}:
        refusals.append(
            InvalidRequest(
                "unknown staff role",
                "invalid_roles",
                {"roles": ["choose among club_coordinator, program_admin, finance"]},
            )
        )
    index = keys.blind_index("login", email)
    if session.scalar(select(Account.id).where(login_is(keys, email))):
        refusals.append(
            InvalidRequest(
                "this email already has an account",
                "email_taken",
                {"email": ["this email already has an account"]},
            )
        )
    if handle is not None:
        try:
            free_handle(session, handle)
        except InvalidRequest as exc:
            refusals.append(exc)
    if len(refusals) == 1:
        raise refusals[0]
    if refusals:
        raise InvalidRequest(
            "; ".join(r.message for r in refusals),
            "invalid_input",
            {name: said for r in refusals for name, said in (r.fields or {}).items()},
        )
    account = Account(
        id=uuid.uuid4(),
        kind="staff",
        roles=",".join(sorted(roles)),
        login_index=index,
        password_hash=password_hash,
        handle=handle,
    )
    account.email_ct = encrypt_field(
        account_key(keys, account), email, f"account:{account.id}", "email"
    )
    session.add(account)
    return account


def create_staff_account(
    session: Session,
    keys: KeyRing,
    actor: Actor,
    email: str,
    roles: list[str],
    password: str,
    handle: str | None = None,
) -> Account:
    actor.require(ADMIN)
    check_password_policy(password)
    return new_staff_account(
        session, keys, email, roles, passwords.current().hash(password), handle
    )


def _fail(account: Account, now: datetime) -> SignIn:
    account.failed_attempts += 1
    if account.failed_attempts >= MAX_FAILURES:
        account.locked_until, account.failed_attempts = now + LOCKOUT, 0
    return SignIn("invalid")


def sign_in(
    session: Session,
    keys: KeyRing,
    email: str,
    password: str,
    code: str | None,
    now: datetime | None = None,
    step_up: bool = False,
) -> SignIn:
    """`step_up`: the gateway's throttling bucket of this account is full; only
    the right password with a valid code passes, as while the account is locked."""
    now = now or datetime.now(UTC)
    hashing = passwords.current()
    account = session.scalar(
        select(Account).where(login_is(keys, email)).with_for_update()
    )
    if (
        account is None
        or account.password_hash is None
        or not may_act(session, account)
    ):
        hashing.spend_as_verify(password)  # so time tells nothing either
        return SignIn("invalid")
    if not hashing.verify(account.password_hash, password):
        return _fail(account, now)
    if hashing.needs_rehash(account.password_hash):  # the configured cost changed
        account.password_hash = hashing.hash(password)
    if (step_up or account.locked(now)) and not account.passes_lock(code):
        return SignIn("invalid")  # the password alone does not pass a lock
    actor = Actor(account.id, account.role_set)
    if account.needs_second_factor():
        if not account.totp_confirmed:
            secret = pyotp.random_base32()
            account.totp_ct = encrypt_field(
                account_key(keys, account), secret, f"account:{account.id}", "totp"
            )
            uri = pyotp.TOTP(secret).provisioning_uri(
                name=str(account.id)[:8], issuer_name=ISSUER
            )
            return SignIn(
                "enroll",
                actor,
                uri,
                assertion_for(account, "enroll"),
                language=_spoken(session, account),
            )
        if not code:
            return SignIn("second_factor", actor)
        if not _accept_code(keys, account, code, now):
            return _fail(account, now)
        totp_at: float | None = now.timestamp()
    else:
        totp_at = None
    account.failed_attempts, account.locked_until = 0, None
    account.last_sign_in_at = now
    return SignIn(
        "ok",
        actor,
        None,
        assertion_for(account, assertions.FULL, totp_at=totp_at),
        account.handle if account.kind == "staff" else None,
        _spoken(session, account),
    )


def _spoken(session: Session, account: Account) -> str | None:
    """The language a person speaks here: a staff member's, invited in; a
    communicator's, applied in."""
    if account.kind == "staff":
        return account.language
    return session.scalar(
        select(Communicator.language).where(Communicator.id == account.id)
    )


ENDED_STATUSES = frozenset({"suspended", "offboarded"})


def may_act(session: Session, account: Account) -> bool:
    """An account signs in and keeps its assertions only while it is enabled and,
    for a communicator, while their status allows it (not suspended or offboarded;
    an erased person has no account at all)."""
    if account.disabled:
        return False
    if account.kind != "communicator":
        return True
    status = session.scalar(
        select(Communicator.status).where(Communicator.id == account.id)
    )
    return status is not None and status not in ENDED_STATUSES


def assertion_for(
    account: Account,
    stage: str,
    *,
    totp_at: float | None = None,
    sid: str | None = None,
    auth_at: float | None = None,
) -> dict[str, Any]:
    """The actor as the registry vouches for it: id, roles, and the signed
    assertion every service builds its Actor from (svyaz.assertions)."""
    claims = assertions.new_claims(
        account.id,
        account.role_set,
        stage=stage,
        totp_at=totp_at,
        sid=sid,
        auth_at=auth_at,
    )
    return {
        "id": str(account.id),
        "roles": sorted(account.role_set),
        "assertion": assertions.mint(claims),
        "expires_at": claims.exp,
    }


def renew(session: Session, token: str, now: float | None = None) -> dict[str, Any]:
    """A new assertion for the same sign-in, against the account as it is now: its
    current roles; refused once the account is disabled, the communicator
    suspended, offboarded or erased, the second factor newly required, or the
    sign-in older than `assertions.MAX_SESSION`."""
    try:
        claims = assertions.verify(token, now, allow_expired=True)
    except assertions.InvalidAssertion as exc:
        raise InvalidRequest(
            f"not a sign-in to renew: {exc}", "invalid_actor"
        ) from None
    moment = datetime.now(UTC).timestamp() if now is None else now
    if moment - claims.auth_at > assertions.MAX_SESSION:
        raise NotAllowed("the sign-in is too old: sign in again", "sign_in_expired")
    account = session.get(Account, claims.sub)
    if account is None or not may_act(session, account):
        raise NotAllowed("this account may no longer act", "access_ended")
    if claims.stage == assertions.FULL and account.needs_second_factor():
        if claims.totp_at is None:
            raise NotAllowed("sign in again with your code", "second_factor_required")
    return assertion_for(
        account,
        claims.stage,
        totp_at=claims.totp_at,
        sid=claims.sid,
        auth_at=claims.auth_at,
    )


def _totp(keys: KeyRing, account: Account) -> pyotp.TOTP:
    assert account.totp_ct is not None
    return pyotp.TOTP(
        decrypt_field(
            account_key(keys, account), account.totp_ct, f"account:{account.id}", "totp"
        )
    )


def _accept_code(keys: KeyRing, account: Account, code: str, now: datetime) -> bool:
    """A code of this 30-second step or a neighbour (clocks drift), and of a step
    later than the last one accepted: a code seen once cannot be replayed."""
    totp = _totp(keys, account)
    for offset in (-1, 0, 1):
        moment = now + timedelta(seconds=offset * totp.interval)
        step = totp.timecode(moment)
        if secrets.compare_digest(totp.at(moment).encode(), code.encode()):
            if account.totp_last_step is not None and step <= account.totp_last_step:
                return False
            account.totp_last_step = step
            return True
    return False


def confirm_second_factor(
    session: Session, keys: KeyRing, actor: Actor, code: str
) -> dict[str, Any] | None:
    """Turn on TOTP after enrollment: the first code proves the app holds the
    secret. The gateway calls this only for a person who has just given their
    password. The answer is the full assertion of the same sign-in (None when the
    code is not right)."""
    account = session.get(Account, actor.id, with_for_update=True)
    if account is None or account.totp_ct is None:
        raise NotAllowed("start by signing in", "no_enrollment")
    now = datetime.now(UTC)
    if not _accept_code(keys, account, code, now):
        return None
    account.totp_confirmed = True
    # the sign-in this enrolment completes is the account's first full one
    account.failed_attempts, account.locked_until = 0, None
    account.last_sign_in_at = now
    return assertion_for(
        account, assertions.FULL, totp_at=now.timestamp(), sid=actor.session_id or None
    )


def verify_second_factor(
    session: Session, keys: KeyRing, actor: Actor, code: str, now: datetime
) -> bool:
    """A fresh code from someone already signed in, for a step that needs one now
    (releasing a payout run). Failures count towards the lock like sign-ins, but a
    lock does not stop it: the person signed in with their second factor, and a
    stranger's bad passwords must not keep finance from releasing a run (the
    gateway throttles these codes per person)."""
    account = session.get(Account, actor.id, with_for_update=True)
    if account is None or not account.totp_confirmed or account.totp_ct is None:
        raise NotAllowed("no second factor is set up", "no_second_factor")
    if account.disabled:
        return False
    if not _accept_code(keys, account, code, now):
        _fail(account, now)
        return False
    account.failed_attempts = 0
    return True


def offer_second_factor(session: Session, keys: KeyRing, actor: Actor) -> str:
    """A communicator turns TOTP on: a fresh secret to scan, confirmed by a code."""
    account = session.get(Account, actor.id, with_for_update=True)
    if account is None:
        raise NotAllowed("no account", "no_account")
    if account.totp_confirmed:  # a session alone must not swap the authenticator
        raise NotAllowed("a second factor is on already", "second_factor_on")
    secret = pyotp.random_base32()
    account.totp_ct = encrypt_field(
        account_key(keys, account), secret, f"account:{account.id}", "totp"
    )
    account.totp_confirmed = False
    return pyotp.TOTP(secret).provisioning_uri(
        name=str(account.id)[:8], issuer_name=ISSUER
    )


def delete_account(session: Session, account_id: uuid.UUID) -> None:
    account = session.get(Account, account_id)
    if account is not None:
        session.delete(account)


STAFF_CONTACT_READERS = frozenset({"notifications"})


def staff_ids(session: Session, role: str, caller: str | None) -> list[uuid.UUID]:
    """The ids of enabled staff holding `role`: who a staff message is for, without
    opening anybody's email."""
    if caller not in STAFF_CONTACT_READERS:
        raise NotAllowed(
            "only the notifications service may list staff", "contact_not_allowed"
        )
    return [
        account.id
        for account in session.scalars(
            select(Account)
            .where(Account.kind == "staff", Account.disabled.is_(False))
            .order_by(Account.created_at, Account.id)
        )
        if role in account.role_set and account.email_ct is not None
    ]


def staff_contact(
    session: Session,
    keys: KeyRing,
    account_id: uuid.UUID,
    caller: str | None,
    purpose: str,
) -> tuple[str, str]:
    """One staff member's email, for the notifications service alone (logged), and
    the language they were invited in (their messages' until they choose one)."""
    if caller not in STAFF_CONTACT_READERS:
        raise NotAllowed(
            "only the notifications service may read contacts", "contact_not_allowed"
        )
    account = session.get(Account, account_id)
    if (
        account is None
        or account.kind != "staff"
        or account.disabled
        or account.email_ct is None
    ):
        raise StaffNotFound("no such staff member", "staff_not_found")
    return read_staff_email(session, keys, account, caller, purpose), account.language


def read_staff_email(
    session: Session, keys: KeyRing, account: Account, caller: str, purpose: str
) -> str:
    """A staff account's email, decrypted, and the read recorded (who, why)."""
    assert account.email_ct is not None
    email = decrypt_field(
        account_key(keys, account), account.email_ct, f"account:{account.id}", "email"
    )
    record_read(session, keys, account.id, caller, "staff_email", purpose)
    return email


def staff_contacts(
    session: Session,
    keys: KeyRing,
    account_ids: list[uuid.UUID],
    caller: str | None,
    purpose: str,
) -> list[tuple[uuid.UUID, str, str]]:
    """`staff_contact` for several staff members at once (one statement to find
    them), each read logged; the unknown, disabled and non-staff are left out."""
    if caller not in STAFF_CONTACT_READERS:
        raise NotAllowed(
            "only the notifications service may read contacts", "contact_not_allowed"
        )
    found = session.scalars(
        select(Account).where(
            Account.id.in_(set(account_ids)),
            Account.kind == "staff",
            Account.disabled.is_(False),
            Account.email_ct.is_not(None),
        )
    )
    out = []
    for account in found:
        out.append(
            (
                account.id,
                read_staff_email(session, keys, account, caller, purpose),
                account.language,
            )
        )
    return out
