"""Staff accounts' life cycle: an invitation the invitee completes alone (one-time,
expiring link; their own password and authenticator), disabling and enabling, and a
lost second factor reset by two different admins."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest

from registry.exceptions import NotAllowed
from svyaz.errors import InvalidInput
from tests.helpers import actor, next_code
from tests.registry.integration.conftest import ADMIN_A, ADMIN_B, Registry

PASSWORD = "the invitee's own passphrase"


def sign_in(registry: Registry, email: str, code: str | None = None) -> Any:
    return registry.call("sign_in", email, PASSWORD, code, caller="gateway")


def invited(registry: Registry, email: str, roles: list[str]) -> tuple[str, str]:
    """(account id, the one-time token the invitation mail carries)."""
    account = registry.call("invite_staff", ADMIN_A, {"email": email, "roles": roles})
    assert set(account) == {"id", "roles"}  # the inviter learns no secret
    reset_id = registry.events("account.password_reset_requested.v1")[-1]["data"][
        "reset_id"
    ]
    issued = registry.call("issue_password_reset", reset_id, caller="notifications")
    assert issued["purpose"] == "invitation" and issued["email"] == email
    assert issued["language"] == "ru"  # none chosen
    return account["id"], issued["token"]


def test_an_invitation_is_written_in_the_language_the_admin_chose(
    registry: Registry,
) -> None:
    """The invitation, and the staff member's later reset mails, in English."""
    email = "olga.en@example.org"
    registry.call(
        "invite_staff",
        ADMIN_A,
        {"email": email, "roles": ["finance"], "language": "en"},
    )
    reset_id = registry.events("account.password_reset_requested.v1")[-1]["data"][
        "reset_id"
    ]
    issued = registry.call("issue_password_reset", reset_id, caller="notifications")
    assert (issued["purpose"], issued["language"]) == ("invitation", "en")
    with pytest.raises(InvalidInput):  # a language the mails are not written in
        registry.call(
            "invite_staff",
            ADMIN_A,
            {"email": "x.de@example.org", "roles": ["finance"], "language": "de"},
        )


def enrolled(registry: Registry, email: str) -> pyotp.TOTP:
    first = sign_in(registry, email)
    assert first["status"] == "enroll"
    totp = pyotp.parse_uri(first["enrollment_uri"])
    assert registry.call(
        "confirm_second_factor", first["actor"], totp.now(), caller="gateway"
    )["confirmed"]
    return totp


def state_of(registry: Registry, ident: str) -> str:
    (row,) = [s for s in registry.call("list_staff", ADMIN_A) if s["id"] == ident]
    return str(row["state"])


def test_an_invitee_sets_their_own_password_and_authenticator(
    registry: Registry,
) -> None:
    ident, token = invited(registry, "new.finance@example.org", ["finance"])
    assert state_of(registry, ident) == "invited"
    assert sign_in(registry, "new.finance@example.org")["status"] == "invalid"
    registry.call("reset_password", token, PASSWORD, caller="gateway")
    with pytest.raises(InvalidInput):  # single use
        registry.call("reset_password", token, PASSWORD + "!", caller="gateway")
    assert state_of(registry, ident) == "enrolling"
    enrolled(registry, "new.finance@example.org")
    assert state_of(registry, ident) == "active"
    staff = {s["id"]: s for s in registry.call("list_staff", ADMIN_A)}
    assert staff[ident]["roles"] == ["finance"]
    # enrolling ends the first sign-in with a code: it is the last sign-in
    assert staff[ident]["last_sign_in_at"] is not None


def test_a_club_coordinator_signs_in_with_a_second_factor(
    registry: Registry,
) -> None:
    """A coordinator reads their members' strategies and reports: like every staff
    role, the password alone does not sign them in."""
    _, token = invited(registry, "club.lead@example.org", ["club_coordinator"])
    registry.call("reset_password", token, PASSWORD, caller="gateway")
    totp = enrolled(registry, "club.lead@example.org")
    assert sign_in(registry, "club.lead@example.org")["status"] == "second_factor"
    later = sign_in(registry, "club.lead@example.org", next_code(totp))
    assert later["status"] == "ok"
    assert "club_coordinator" in later["actor"]["roles"]


def test_an_invitation_expires(registry: Registry) -> None:
    _, token = invited(registry, "late@example.org", ["program_admin"])
    registry.sql("UPDATE password_resets SET expires_at = now() - interval '1 s'")
    with pytest.raises(InvalidInput, match="expired"):
        registry.call("reset_password", token, PASSWORD, caller="gateway")


def test_only_admins_invite_and_an_email_has_one_account(registry: Registry) -> None:
    with pytest.raises(NotAllowed):
        registry.call(
            "invite_staff",
            actor(["finance"]),
            {"email": "x@example.org", "roles": ["finance"]},
        )
    invited(registry, "once@example.org", ["finance"])
    with pytest.raises(InvalidInput, match="already has an account"):
        registry.call(
            "invite_staff", ADMIN_A, {"email": "once@example.org", "roles": ["finance"]}
        )
    with pytest.raises(InvalidInput):
        registry.call(
            "invite_staff",
            ADMIN_A,
            {"email": "y@example.org", "roles": ["communicator"]},
        )


def test_a_disabled_account_cannot_sign_in_nor_renew_until_enabled(
    registry: Registry,
) -> None:
    ident, token = invited(registry, "ops@example.org", ["finance"])
    registry.call("reset_password", token, PASSWORD, caller="gateway")
    totp = enrolled(registry, "ops@example.org")
    signed = sign_in(registry, "ops@example.org", next_code(totp))
    assert signed["status"] == "ok"
    registry.call("disable_staff", ADMIN_A, ident)
    assert state_of(registry, ident) == "disabled"
    with pytest.raises(NotAllowed, match="may no longer act"):
        registry.call("renew_assertion", signed["actor"]["assertion"])
    assert sign_in(registry, "ops@example.org", totp.now())["status"] == "invalid"
    registry.call("enable_staff", ADMIN_B, ident)
    assert state_of(registry, ident) == "active"
    assert registry.call("renew_assertion", signed["actor"]["assertion"])


def test_an_admin_never_disables_themselves(registry: Registry) -> None:
    ident, _ = invited(registry, "self@example.org", ["program_admin"])
    me = actor(["program_admin"], ident)
    with pytest.raises(NotAllowed, match="your own account"):
        registry.call("disable_staff", me, ident)


def test_a_lost_second_factor_is_reset_by_two_different_admins(
    registry: Registry,
) -> None:
    ident, token = invited(registry, "lost@example.org", ["program_admin"])
    registry.call("reset_password", token, PASSWORD, caller="gateway")
    enrolled(registry, "lost@example.org")
    reset = registry.call("request_second_factor_reset", ADMIN_A, ident, "phone lost")
    waiting = {s["id"]: s for s in registry.call("list_staff", ADMIN_B)}[ident]
    assert waiting["second_factor_reset"]["id"] == reset["id"]
    with pytest.raises(NotAllowed, match="not the one who asked"):
        registry.call("approve_second_factor_reset", ADMIN_A, reset["id"])
    with pytest.raises(NotAllowed, match="own reset"):
        registry.call(
            "approve_second_factor_reset", actor(["program_admin"], ident), reset["id"]
        )
    assert sign_in(registry, "lost@example.org")["status"] == "second_factor"
    registry.call("approve_second_factor_reset", ADMIN_B, reset["id"])
    # the person enrolls a new authenticator themselves
    assert sign_in(registry, "lost@example.org")["status"] == "enroll"
    with pytest.raises(Exception, match="no such reset"):
        registry.call("approve_second_factor_reset", ADMIN_B, reset["id"])


def test_the_staff_list_shows_roles_and_the_last_full_sign_in(
    registry: Registry,
) -> None:
    ident, token = invited(
        registry, "two.roles@example.org", ["program_admin", "finance"]
    )
    registry.call("reset_password", token, PASSWORD, caller="gateway")
    unsigned = {s["id"]: s for s in registry.call("list_staff", ADMIN_A)}[ident]
    assert unsigned["last_sign_in_at"] is None  # a password set is not a sign-in
    totp = enrolled(registry, "two.roles@example.org")
    before = {s["id"]: s for s in registry.call("list_staff", ADMIN_A)}[ident]
    assert before["roles"] == ["finance", "program_admin"]
    # the first sign-in ends with the authenticator's enrolment: it counts
    first = datetime.fromisoformat(before["last_sign_in_at"])
    assert abs(datetime.now(UTC) - first) < timedelta(minutes=1)
    answer = sign_in(registry, "two.roles@example.org", next_code(totp))
    assert answer["status"] == "ok"
    after = {s["id"]: s for s in registry.call("list_staff", ADMIN_A)}[ident]
    signed_in = datetime.fromisoformat(after["last_sign_in_at"])
    assert abs(datetime.now(UTC) - signed_in) < timedelta(minutes=1)
    assert set(after) == {
        "id",
        "handle",
        "roles",
        "state",
        "last_sign_in_at",
        "second_factor_reset",
    }  # and no email


def test_admins_see_staff_by_a_name_of_their_choosing(registry: Registry) -> None:
    """A handle given at the invitation, changed later, one per staff account in
    any letter case; the email stays sealed."""
    named = registry.call(
        "invite_staff",
        ADMIN_A,
        {
            "email": "anna.f@example.org",
            "roles": ["finance"],
            "handle": " Anna (finance) ",
        },
    )
    unnamed = registry.call(
        "invite_staff", ADMIN_A, {"email": "noname@example.org", "roles": ["finance"]}
    )
    listed = {s["id"]: s["handle"] for s in registry.call("list_staff", ADMIN_A)}
    assert (listed[named["id"]], listed[unnamed["id"]]) == ("Anna (finance)", None)

    with pytest.raises(InvalidInput) as taken:
        registry.call(
            "invite_staff",
            ADMIN_A,
            {
                "email": "anna.g@example.org",
                "roles": ["finance"],
                "handle": "anna (FINANCE)",
            },
        )
    assert taken.value.code == "handle_taken" and "handle" in taken.value.fields
    with pytest.raises(InvalidInput) as both:  # every refused field at once
        registry.call(
            "invite_staff",
            ADMIN_A,
            {
                "email": "noname@example.org",
                "roles": ["finance"],
                "handle": "anna (FINANCE)",
            },
        )
    assert both.value.code == "invalid_input"
    assert set(both.value.fields) == {"email", "handle"}
    for bad in ("a", "x" * 41, "anna@example.org", "<b>Anna</b>"):
        with pytest.raises(InvalidInput):
            registry.call("rename_staff", ADMIN_A, unnamed["id"], bad)
    with pytest.raises(InvalidInput):
        registry.call("rename_staff", ADMIN_A, unnamed["id"], "ANNA (finance)")
    with pytest.raises(NotAllowed):
        registry.call("rename_staff", actor(["finance"]), unnamed["id"], "Boris")
    assert registry.call("rename_staff", ADMIN_A, unnamed["id"], "Boris")["handle"] == (
        "Boris"
    )
    registry.call("rename_staff", ADMIN_A, named["id"], "Anna K.")  # her own again: ok
    registry.call("rename_staff", ADMIN_A, named["id"], "Anna K.")
    listed = {s["id"]: s["handle"] for s in registry.call("list_staff", ADMIN_A)}
    assert (listed[named["id"]], listed[unnamed["id"]]) == ("Anna K.", "Boris")
    # finance reads the names (for trails), not the rest of the list
    names = registry.call("staff_names", actor(["finance"]))
    assert (names[named["id"]], names[unnamed["id"]]) == ("Anna K.", "Boris")
    with pytest.raises(NotAllowed):
        registry.call("list_staff", actor(["finance"]))
    with pytest.raises(NotAllowed):
        registry.call("staff_names", actor(["club_coordinator"]))
    assert not registry.sql("SELECT 1 FROM accounts WHERE handle LIKE '%@%'")
