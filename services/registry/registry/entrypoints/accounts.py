"""The registry's entrypoints: signing in, second factors, password resets and staff
accounts' life cycle."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marshmallow import ValidationError

from registry.entrypoints.base import Entrypoints, ident, load
from registry.exceptions import InvalidRequest, RegistryError
from registry.logic import accounts, resets, staff
from registry.logic.actors import Actor
from registry.schemas import (
    SignInSchema,
    StaffAccountSchema,
    StaffHandleSchema,
    StaffInvitationSchema,
    StaffOutSchema,
)
from svyaz.commands import command
from svyaz.keys import FINANCE_CLI, GATEWAY, NOTIFICATIONS, OPERATOR, STIPENDS
from svyaz.rpc import rpc


class AccountsEntrypoints(Entrypoints):
    # -- signing in -----------------------------------------------------------------
    @rpc(callers={GATEWAY, FINANCE_CLI, OPERATOR}, expected_exceptions=RegistryError)
    def sign_in(
        self,
        email: str,
        password: str,
        code: str | None = None,
        step_up: bool = False,
    ) -> dict[str, Any]:
        """{"status": ok|second_factor|enroll|invalid, "actor": ..., ...}; the gateway
        gives every failure the same neutral answer. `step_up`: the gateway's
        throttling bucket of this account is full; only the right password with a
        valid code passes (accounts.sign_in)."""
        try:
            data = SignInSchema().load(
                {"email": email, "password": password, "code": code}
            )
        except ValidationError:
            return {"status": "invalid", "actor": None, "enrollment_uri": None}
        with self.db.transaction() as session:
            result = accounts.sign_in(
                session,
                self.keys,
                data["email"],
                data["password"],
                data["code"],
                step_up=step_up is True,
            )
        actor = result.assertion  # ok and enroll: with the signed assertion
        if actor is None and result.actor is not None and result.status != "invalid":
            actor = {"id": str(result.actor.id), "roles": sorted(result.actor.roles)}
        answer = {
            "status": result.status,
            "actor": actor,
            "enrollment_uri": result.enrollment_uri,
        }
        if result.handle:  # a CLI greets staff by name (a display name, not sealed)
            answer["handle"] = result.handle
        if result.language:  # the consoles speak it until a preference is chosen
            answer["language"] = result.language
        return answer

    @rpc(callers={GATEWAY, FINANCE_CLI, OPERATOR}, expected_exceptions=RegistryError)
    def confirm_second_factor(self, actor: Any, code: str) -> dict[str, Any]:
        """{"confirmed", "actor"}: the first code of a new authenticator; the
        answer's actor carries the full assertion of the same sign-in."""
        who = Actor.load(actor, enrolling=True)
        with self.db.transaction() as session:
            signed = accounts.confirm_second_factor(session, self.keys, who, str(code))
        return {"confirmed": signed is not None, "actor": signed}

    @rpc(callers={GATEWAY, FINANCE_CLI, OPERATOR}, expected_exceptions=RegistryError)
    def renew_assertion(self, assertion: Any) -> dict[str, Any]:
        """A new assertion for a current sign-in, against the account as it is now
        (roles, disabled, the communicator's status); refused when it may no longer
        act. The gateway renews before each assertion runs out."""
        with self.db.transaction() as session:
            return accounts.renew(session, str(assertion))

    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    @command
    def request_password_reset(self, email: str) -> dict[str, str]:
        """Always the same answer, whether or not the email has an account."""
        if isinstance(email, str) and 3 <= len(email) <= 254:
            with self.db.transaction() as session:
                resets.request_reset(
                    session, self.keys, email.strip(), datetime.now(UTC)
                )
        return {"status": "requested"}

    @rpc(callers={NOTIFICATIONS}, expected_exceptions=RegistryError)
    def issue_password_reset(self, reset_id: str) -> dict[str, Any]:
        """A new one-time token and the address, for the notifications service."""
        with self.db.transaction() as session:
            issued = resets.issue_reset(
                session,
                self.keys,
                ident(reset_id, "reset_id"),
                self.caller,
                datetime.now(UTC),
            )
        return {
            **issued,
            "account_id": str(issued["account_id"]),
            "expires_at": issued["expires_at"].isoformat(),
        }

    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    @command
    def reset_password(self, token: str, password: str) -> dict[str, str]:
        if not isinstance(token, str) or not isinstance(password, str):
            raise InvalidRequest("token and password are text", "invalid_input")
        with self.db.transaction() as session:
            account_id = resets.reset_password(
                session, token, password, datetime.now(UTC)
            )
        return {"account_id": str(account_id)}

    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=RegistryError)
    def offer_second_factor(self, actor: Any) -> dict[str, str]:
        """A communicator turns TOTP on: the secret to scan, confirmed by
        `confirm_second_factor` with a code from the app."""
        who = Actor.load(actor)
        with self.db.transaction() as session:
            uri = accounts.offer_second_factor(session, self.keys, who)
        return {"enrollment_uri": uri}

    @rpc(callers={GATEWAY, STIPENDS}, expected_exceptions=RegistryError)
    def verify_second_factor(self, actor: Any, code: str) -> dict[str, bool]:
        """Is this a current code of the actor's authenticator (for the gateway)?"""
        who = Actor.load(actor)
        with self.db.transaction() as session:
            verified = accounts.verify_second_factor(
                session, self.keys, who, str(code), datetime.now(UTC)
            )
        return {"verified": verified}

    @rpc(callers={OPERATOR}, expected_exceptions=RegistryError)
    @command
    def create_staff_account(self, actor: Any, account: Any) -> dict[str, Any]:
        who = Actor.load(actor)
        data = load(StaffAccountSchema(), account)
        with self.db.transaction() as session:
            row = accounts.create_staff_account(
                session,
                self.keys,
                who,
                data["email"],
                data["roles"],
                data["password"],
                data["handle"],
            )
            return {"id": str(row.id), "roles": sorted(row.role_set)}

    # -- staff accounts' life cycle ----------------------------------------------------
    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    def list_staff(self, actor: Any) -> list[dict[str, Any]]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            return StaffOutSchema(many=True).dump(staff.list_staff(session, who))

    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    def staff_names(self, actor: Any) -> dict[str, str]:
        """{account id: name} of the staff accounts that have a name: admins and
        finance."""
        who = Actor.load(actor)
        with self.db.transaction() as session:
            return staff.staff_names(session, who)

    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    @command
    def invite_staff(self, actor: Any, invitation: Any) -> dict[str, Any]:
        """A staff account with no password, and a one-time link (72 h) mailed to
        the invitee, who sets their own password and authenticator."""
        who = Actor.load(actor)
        data = load(StaffInvitationSchema(), invitation)
        with self.db.transaction() as session:
            row = staff.invite(
                session,
                self.keys,
                who,
                data["email"],
                data["roles"],
                datetime.now(UTC),
                data["handle"],
                data["language"],
            )
            return {"id": str(row.id), "roles": sorted(row.role_set)}

    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    @command
    def rename_staff(self, actor: Any, account_id: str, handle: str) -> dict[str, Any]:
        """The name admins see a staff account by."""
        who = Actor.load(actor)
        data = load(StaffHandleSchema(), {"account_id": account_id, "handle": handle})
        with self.db.transaction() as session:
            row = staff.rename(session, who, data["account_id"], data["handle"])
            return {"id": str(row.id), "handle": row.handle}

    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    @command
    def disable_staff(self, actor: Any, account_id: str) -> dict[str, Any]:
        """Signing in and renewals stop at once for this account."""
        return self._set_disabled(actor, account_id, True)

    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    @command
    def enable_staff(self, actor: Any, account_id: str) -> dict[str, Any]:
        return self._set_disabled(actor, account_id, False)

    def _set_disabled(self, actor: Any, account_id: str, disabled: bool) -> Any:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            row = staff.set_disabled(session, who, ident(account_id), disabled)
            return {"id": str(row.id), "disabled": disabled}

    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    @command
    def request_second_factor_reset(
        self, actor: Any, account_id: str, reason: str
    ) -> dict[str, Any]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            reset = staff.request_second_factor_reset(
                session, who, ident(account_id), str(reason or ""), datetime.now(UTC)
            )
            return {"id": str(reset.id), "account_id": str(reset.account_id)}

    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    @command
    def approve_second_factor_reset(self, actor: Any, reset_id: str) -> dict[str, Any]:
        """The second admin: the person enrolls a new authenticator at their next
        sign-in."""
        who = Actor.load(actor)
        with self.db.transaction() as session:
            row = staff.approve_second_factor_reset(
                session, who, ident(reset_id, "reset_id"), datetime.now(UTC)
            )
            return {"id": str(row.id), "second_factor": "reset"}
