"""Staff accounts' life cycle: invited, enabled and disabled, a lost second factor
reset by two admins. The inviting admin never knows the invitee's password or
authenticator: the invitee sets both through a one-time link.

- `invite`: an account with no password and a one-time link (an "invitation"
  reset, good for 72 hours, single use) mailed by notifications; the invitee sets
  their password on the reset page, then enrolls their authenticator at their first
  sign-in.
- `set_disabled`: a disabled account cannot sign in, and its assertions are not
  renewed (svyaz.assertions), so its sessions end; an admin never disables
  themselves.
- second-factor reset: one admin asks, a different admin approves (neither may be
  the person); the secret is dropped and the person enrolls a new one.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import events
from registry.exceptions import InvalidRequest, NotAllowed, StaffNotFound
from registry.logic.accounts import free_handle, new_staff_account
from registry.logic.actors import Actor
from registry.logic.vetting import ADMIN
from registry.models import Account, PasswordReset, SecondFactorReset
from svyaz import outbox
from svyaz.actors import FINANCE
from svyaz.crypto import KeyRing

INVITATION_VALID = timedelta(hours=72)


def _staff(session: Session, account_id: uuid.UUID, lock: bool = False) -> Account:
    account = session.get(Account, account_id, with_for_update=lock)
    if account is None or account.kind != "staff":
        raise StaffNotFound("no such staff account", "staff_not_found")
    return account


def _open_reset(session: Session, account_id: uuid.UUID) -> SecondFactorReset | None:
    return session.scalar(
        select(SecondFactorReset).where(
            SecondFactorReset.account_id == account_id,
            SecondFactorReset.approved_at.is_(None),
        )
    )


def list_staff(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Every staff account: roles, state, last sign-in and any second-factor
    reset waiting for a second admin. No email: it stays sealed."""
    actor.require(ADMIN)
    waiting = {
        r.account_id: r
        for r in session.scalars(
            select(SecondFactorReset).where(SecondFactorReset.approved_at.is_(None))
        )
    }
    found = []
    for account in session.scalars(
        select(Account).where(Account.kind == "staff").order_by(Account.created_at)
    ):
        reset = waiting.get(account.id)
        if account.disabled:
            state = "disabled"
        elif account.password_hash is None:
            state = "invited"
        elif not account.totp_confirmed:
            state = "enrolling"
        else:
            state = "active"
        found.append(
            {
                "id": str(account.id),
                "handle": account.handle,
                "roles": sorted(account.role_set),
                "state": state,
                "last_sign_in_at": account.last_sign_in_at,
                "second_factor_reset": None
                if reset is None
                else {
                    "id": str(reset.id),
                    "requested_by": str(reset.requested_by),
                    "reason": reset.reason,
                },
            }
        )
    return found


def invite(
    session: Session,
    keys: KeyRing,
    actor: Actor,
    email: str,
    roles: list[str],
    now: datetime,
    handle: str | None = None,
    language: str = "ru",
) -> Account:
    """A staff account with no password yet, and its one-time link on its way, in
    `language` (theirs from then on: their reset mails too)."""
    actor.require(ADMIN)
    account = new_staff_account(session, keys, email, roles, None, handle)
    account.language = language
    session.flush()
    reset = PasswordReset(
        id=uuid.uuid4(),
        account_id=account.id,
        created_at=now,
        expires_at=now + INVITATION_VALID,
        purpose="invitation",
    )
    session.add(reset)
    outbox.add(
        session,
        events.PASSWORD_RESET_REQUESTED.build(
            f"account:{account.id}", reset_id=reset.id
        ),
    )
    return account


def staff_names(session: Session, actor: Actor) -> dict[str, str]:
    """The names of staff accounts that have one, by id: how finance's and admins'
    trails name who acted (roles, state and the rest stay with list_staff)."""
    actor.require(ADMIN, FINANCE)
    return {
        str(ident): handle
        for ident, handle in session.execute(
            select(Account.id, Account.handle).where(
                Account.kind == "staff", Account.handle.is_not(None)
            )
        ).all()
    }


def rename(
    session: Session, actor: Actor, account_id: uuid.UUID, handle: str
) -> Account:
    """The name admins see a staff account by (its email stays sealed)."""
    actor.require(ADMIN)
    account = _staff(session, account_id, lock=True)
    if account.handle != handle:
        free_handle(session, handle, account.id)
        account.handle = handle
    return account


def set_disabled(
    session: Session, actor: Actor, account_id: uuid.UUID, disabled: bool
) -> Account:
    actor.require(ADMIN)
    account = _staff(session, account_id, lock=True)
    if disabled and account.id == actor.id:
        raise NotAllowed(
            "you cannot disable your own account; ask another admin", "own_account"
        )
    account.disabled = disabled
    return account


def request_second_factor_reset(
    session: Session, actor: Actor, account_id: uuid.UUID, reason: str, now: datetime
) -> SecondFactorReset:
    actor.require(ADMIN)
    account = _staff(session, account_id, lock=True)
    if account.id == actor.id:
        raise NotAllowed(
            "another admin asks for your reset, and a third approves it",
            "own_account",
        )
    if not reason.strip():
        raise InvalidRequest("say why", "reason_required", {"reason": ["required"]})
    if _open_reset(session, account.id) is not None:
        raise InvalidRequest(
            "a reset of this account already waits for a second admin",
            "reset_waiting",
        )
    reset = SecondFactorReset(
        id=uuid.uuid4(),
        account_id=account.id,
        requested_by=actor.id,
        reason=reason.strip(),
        requested_at=now,
    )
    session.add(reset)
    return reset


def approve_second_factor_reset(
    session: Session, actor: Actor, reset_id: uuid.UUID, now: datetime
) -> Account:
    """The second admin's approval: the authenticator is forgotten, and the person
    enrolls a new one at their next sign-in."""
    actor.require(ADMIN)
    reset = session.get(SecondFactorReset, reset_id, with_for_update=True)
    if reset is None or reset.approved_at is not None:
        raise StaffNotFound("no such reset waiting", "reset_not_found")
    if actor.id == reset.requested_by:
        raise NotAllowed("a second admin approves: not the one who asked", "same_admin")
    if actor.id == reset.account_id:
        raise NotAllowed("nobody approves their own reset", "own_account")
    account = _staff(session, reset.account_id, lock=True)
    account.totp_ct = None
    account.totp_confirmed = False
    account.totp_last_step = None
    reset.approved_by, reset.approved_at = actor.id, now
    return account
