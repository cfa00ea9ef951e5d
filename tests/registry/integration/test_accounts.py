"""Signing in: passwords (argon2id), TOTP for staff and on request for communicators,
lockout, and one neutral answer for every failure."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
from sqlalchemy.orm import Session

from registry.exceptions import NotAllowed
from registry.logic import accounts, passwords
from registry.logic.actors import Actor
from svyaz.errors import Forbidden, InvalidInput
from tests.helpers import next_code
from tests.registry.integration.conftest import ADMIN_A, FINANCE, Registry

PASSWORD = "correct horse battery staple"


def sign_in(
    registry: Registry, email: str, password: str, code: str | None = None
) -> dict[str, Any]:
    return registry.call("sign_in", email, password, code, caller="gateway")


def test_a_communicator_signs_in_with_the_password_chosen_when_applying(
    registry: Registry,
) -> None:
    ident = registry.applicant(email="vera@example.org", password=PASSWORD)
    result = sign_in(registry, "Vera@Example.org", PASSWORD)
    assert result["status"] == "ok"
    assert {k: result["actor"][k] for k in ("id", "roles")} == {
        "id": ident,
        "roles": ["communicator"],
    }
    # the registry's signed assertion: every service builds the actor from it
    who = Actor.load(result["actor"])
    assert str(who.id) == ident and who.roles == {"communicator"}
    assert who.totp_at is None  # no second factor was asked of this communicator
    (row,) = registry.sql("SELECT password_hash, login_index FROM accounts")
    assert row.password_hash.startswith("$argon2id$")
    assert PASSWORD not in row.password_hash and "vera" not in row.login_index


def test_a_password_stored_at_another_cost_is_hashed_again_at_sign_in(
    registry: Registry,
) -> None:
    """The cost is the registry's setting (here the tests' light one): raising it
    in production upgrades each password at its owner's next sign-in."""
    registry.applicant(email="vera@example.org", password=PASSWORD)
    (made,) = registry.sql("SELECT password_hash FROM accounts")
    assert made.password_hash.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    older = passwords.Passwords(time_cost=2, memory_kib=2048, parallelism=1)
    registry.sql("UPDATE accounts SET password_hash = :hash", hash=older.hash(PASSWORD))

    assert sign_in(registry, "vera@example.org", "wrong password!!")["status"] == (
        "invalid"
    )
    (kept,) = registry.sql("SELECT password_hash FROM accounts")
    assert kept.password_hash.startswith("$argon2id$v=19$m=2048,t=2,p=1$")
    assert sign_in(registry, "vera@example.org", PASSWORD)["status"] == "ok"
    (again,) = registry.sql("SELECT password_hash FROM accounts")
    assert again.password_hash.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert sign_in(registry, "vera@example.org", PASSWORD)["status"] == "ok"


def test_every_failure_gets_the_same_answer(registry: Registry) -> None:
    registry.applicant(email="vera@example.org", password=PASSWORD)
    answers = [
        sign_in(registry, "vera@example.org", "wrong password!!"),
        sign_in(registry, "nobody@example.org", PASSWORD),
        sign_in(registry, "not an email", PASSWORD),
    ]
    assert answers == [{"status": "invalid", "actor": None, "enrollment_uri": None}] * 3


def test_five_failures_lock_the_account_for_a_while(registry: Registry) -> None:
    registry.applicant(email="vera@example.org", password=PASSWORD)
    for _ in range(accounts.MAX_FAILURES):
        assert (
            sign_in(registry, "vera@example.org", "guess guess guess")["status"]
            == "invalid"
        )
    # locked: even the right password is refused, with the same neutral answer
    assert sign_in(registry, "vera@example.org", PASSWORD)["status"] == "invalid"
    registry.sql("UPDATE accounts SET locked_until = now() - interval '1 second'")
    assert sign_in(registry, "vera@example.org", PASSWORD)["status"] == "ok"


def staff_with_authenticator(
    registry: Registry, email: str
) -> tuple[pyotp.TOTP, dict[str, Any]]:
    """A finance account that enrolled its authenticator (this step's code used),
    and the full sign-in the enrollment gave."""
    registry.call(
        "create_staff_account",
        ADMIN_A,
        {"email": email, "roles": ["finance"], "password": PASSWORD},
    )
    first = sign_in(registry, email, PASSWORD)
    totp = pyotp.TOTP(pyotp.parse_uri(first["enrollment_uri"]).secret)
    confirmed = registry.call(
        "confirm_second_factor", first["actor"], totp.now(), caller="gateway"
    )
    assert confirmed["confirmed"]
    return totp, confirmed["actor"]


def test_a_lock_refuses_a_password_alone_but_not_the_owners_code(
    registry: Registry,
) -> None:
    """A stranger's bad guesses lock the account: the right password alone is then
    refused (the same neutral answer), the right password with a current code of
    the account's authenticator gets the owner in and lifts the lock."""
    totp, _ = staff_with_authenticator(registry, "finance.lead@example.org")
    for _ in range(accounts.MAX_FAILURES):
        guess = sign_in(registry, "finance.lead@example.org", "guess guess guess")
        assert guess["status"] == "invalid"
    assert registry.sql("SELECT locked_until FROM accounts")[0].locked_until
    assert sign_in(registry, "finance.lead@example.org", PASSWORD)["status"] == (
        "invalid"  # not even "second_factor": a lock says nothing of the password
    )
    wrong = next(c for c in ("123456", "654321") if not totp.verify(c, valid_window=1))
    assert (
        sign_in(registry, "finance.lead@example.org", "guess guess guess", wrong)[
            "status"
        ]
        == "invalid"
    )
    owner = sign_in(registry, "finance.lead@example.org", PASSWORD, next_code(totp))
    assert owner["status"] == "ok" and owner["actor"]["roles"] == ["finance"]
    (row,) = registry.sql("SELECT locked_until, failed_attempts FROM accounts")
    assert row.locked_until is None and row.failed_attempts == 0


def test_a_step_up_asks_for_the_code_as_a_lock_does(registry: Registry) -> None:
    """The gateway's bucket of the account is full (step_up): a password alone
    fails, right or not, for a communicator without an authenticator too."""
    registry.applicant(email="vera@example.org", password=PASSWORD)
    stepped = registry.call(
        "sign_in", "vera@example.org", PASSWORD, None, True, caller="gateway"
    )
    assert stepped["status"] == "invalid"
    stepped = registry.call(
        "sign_in", "vera@example.org", PASSWORD, "123456", True, caller="gateway"
    )
    assert stepped["status"] == "invalid"  # no authenticator: nothing passes
    assert sign_in(registry, "vera@example.org", PASSWORD)["status"] == "ok"


def test_a_lock_does_not_stop_a_release_code(registry: Registry) -> None:
    """A release checks a fresh code of someone signed in with their second
    factor: a stranger's bad passwords do not keep finance from it."""
    email = "finance.lead@example.org"
    totp, owner = staff_with_authenticator(registry, email)
    for _ in range(accounts.MAX_FAILURES):
        sign_in(registry, email, "guess guess guess")
    assert registry.sql("SELECT locked_until FROM accounts")[0].locked_until
    verified = registry.call(
        "verify_second_factor", owner, next_code(totp), caller="gateway"
    )
    assert verified == {"verified": True}


def test_staff_must_enroll_and_then_give_a_code(registry: Registry) -> None:
    staff = registry.call(
        "create_staff_account",
        ADMIN_A,
        {
            "email": "finance.lead@example.org",
            "roles": ["finance"],
            "password": PASSWORD,
        },
    )
    first = sign_in(registry, "finance.lead@example.org", PASSWORD)
    assert first["status"] == "enroll" and first["actor"]["id"] == staff["id"]
    secret = pyotp.parse_uri(first["enrollment_uri"]).secret
    assert "Svyaz" not in first["enrollment_uri"]  # neutral in the authenticator app
    assert registry.call(
        "confirm_second_factor", first["actor"], "000000", caller="gateway"
    ) == {"confirmed": False, "actor": None}
    # enrolling, the staff member acts nowhere: no roles in the assertion
    with pytest.raises(NotAllowed):
        registry.call("list_review_items", first["actor"])
    enrolled_with = pyotp.TOTP(secret).now()
    confirmed = registry.call(
        "confirm_second_factor", first["actor"], enrolled_with, caller="gateway"
    )
    assert confirmed["confirmed"]
    who = Actor.load(confirmed["actor"])  # the full assertion of the same sign-in
    assert who.roles == {"finance"} and who.totp_at is not None

    assert sign_in(registry, "finance.lead@example.org", PASSWORD)["status"] == (
        "second_factor"
    )
    totp = pyotp.TOTP(secret)
    wrong = next(c for c in ("123456", "654321") if not totp.verify(c, valid_window=1))
    assert (
        sign_in(registry, "finance.lead@example.org", PASSWORD, wrong)["status"]
        == "invalid"
    )
    # the very code confirmed above (not "now()", which may be the next step's by now)
    replayed = sign_in(registry, "finance.lead@example.org", PASSWORD, enrolled_with)
    assert replayed["status"] == "invalid"  # the code confirmed above: good once
    fresh = next_code(totp)
    ok = sign_in(registry, "finance.lead@example.org", PASSWORD, fresh)
    assert ok["status"] == "ok" and ok["actor"]["roles"] == ["finance"]
    again = sign_in(registry, "finance.lead@example.org", PASSWORD, fresh)
    assert again["status"] == "invalid"  # and that one too
    (row,) = registry.sql("SELECT totp_ct, email_ct FROM accounts")
    assert secret not in row.totp_ct and "finance.lead" not in row.email_ct


def test_only_admins_create_staff_accounts(
    registry: Registry,
) -> None:
    with pytest.raises(Forbidden):
        registry.call(
            "create_staff_account",
            FINANCE,
            {
                "email": "x@example.org",
                "roles": ["program_admin"],
                "password": PASSWORD,
            },
        )
    with pytest.raises(InvalidInput) as err:
        registry.call(
            "create_staff_account",
            ADMIN_A,
            {"email": "x@example.org", "roles": ["program_admin"], "password": "short"},
        )
    assert "password" in err.value.fields
    # who may call sign_in at all is the bus's rule: tests/svyaz/integration/test_trust


def test_erasure_removes_the_login(registry: Registry) -> None:
    ident = registry.applicant(email="vera@example.org", password=PASSWORD)
    registry.call("erase", ADMIN_A, ident, "requested by letter")
    assert registry.sql("SELECT count(*) FROM accounts")[0][0] == 0
    assert sign_in(registry, "vera@example.org", PASSWORD)["status"] == "invalid"


def test_a_lock_expires_by_the_clock(registry: Registry) -> None:
    registry.applicant(email="vera@example.org", password=PASSWORD)
    now = datetime.now(UTC)
    with Session(registry.engine) as session, session.begin():
        for _ in range(accounts.MAX_FAILURES):
            accounts.sign_in(
                session,
                _keys(registry),
                "vera@example.org",
                "bad bad bad!",
                None,
                now,
            )
        assert (
            accounts.sign_in(
                session, _keys(registry), "vera@example.org", PASSWORD, None, now
            ).status
            == "invalid"
        )
        later = now + accounts.LOCKOUT + timedelta(seconds=1)
        assert (
            accounts.sign_in(
                session, _keys(registry), "vera@example.org", PASSWORD, None, later
            ).status
            == "ok"
        )


def _keys(registry: Registry) -> Any:
    from registry.dependencies import Vault

    (vault,) = [d for d in registry.container.dependencies if isinstance(d, Vault)]
    return vault.keys


def test_a_sign_in_is_renewed_against_the_account_as_it_is_now(
    registry: Registry,
) -> None:
    ident = registry.active(email="nina@example.org", password=PASSWORD)
    first = sign_in(registry, "nina@example.org", PASSWORD)["actor"]
    renewed = registry.call("renew_assertion", first["assertion"], caller="gateway")
    again = Actor.load(renewed)
    assert str(again.id) == ident
    assert again.session_id == Actor.load(first).session_id  # the same sign-in
    assert renewed["expires_at"] >= first["expires_at"]

    # suspended: no renewal, and no new sign-in either
    registry.call("suspend", ADMIN_A, ident, "under review")
    with pytest.raises(NotAllowed, match="may no longer act"):
        registry.call("renew_assertion", renewed["assertion"], caller="gateway")
    assert sign_in(registry, "nina@example.org", PASSWORD)["status"] == "invalid"

    registry.call("reinstate", ADMIN_A, ident, "cleared")
    assert sign_in(registry, "nina@example.org", PASSWORD)["status"] == "ok"


def test_a_disabled_staff_account_is_not_renewed(registry: Registry) -> None:
    staff = registry.call(
        "create_staff_account",
        ADMIN_A,
        {"email": "ops.lead@example.org", "roles": ["finance"], "password": PASSWORD},
    )
    first = sign_in(registry, "ops.lead@example.org", PASSWORD)
    secret = pyotp.parse_uri(first["enrollment_uri"]).secret
    confirmed = registry.call(
        "confirm_second_factor", first["actor"], pyotp.TOTP(secret).now()
    )
    assertion = confirmed["actor"]["assertion"]
    assert registry.call("renew_assertion", assertion)["roles"] == ["finance"]
    registry.sql("UPDATE accounts SET disabled = true WHERE id = :i", i=staff["id"])
    with pytest.raises(NotAllowed, match="may no longer act"):
        registry.call("renew_assertion", assertion)


def test_only_the_registrys_own_assertions_are_renewed(registry: Registry) -> None:
    from svyaz import assertions
    from tests.svyaz.unit.test_assertions import _forge

    forged = _forge(
        assertions.new_claims(uuid.uuid4(), frozenset({"program_admin"})), "gateway"
    )
    with pytest.raises(InvalidInput, match="not the registry's"):
        registry.call("renew_assertion", forged)
