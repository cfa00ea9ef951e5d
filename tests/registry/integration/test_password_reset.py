"""Password reset by an emailed one-time link: the same answer for every email, an
event with the reset's id only, the token made for the notifications service alone
and kept only as a hash, single use, expiry, and a rate limit."""

from typing import Any

import pytest

from svyaz.errors import Forbidden, InvalidInput, NotFound
from tests.registry.integration.conftest import ADMIN_A, Registry, application

PASSWORD = "correct horse battery staple"
NEW = "a brand new passphrase here"


def request(registry: Registry, email: str) -> Any:
    return registry.call("request_password_reset", email, caller="gateway")


def issue(registry: Registry, reset_id: str, caller: str = "notifications") -> Any:
    return registry.call("issue_password_reset", reset_id, caller=caller)


def resets(registry: Registry) -> list[str]:
    return [
        e["data"]["reset_id"]
        for e in registry.events("account.password_reset_requested.v1")
    ]


def test_a_reset_link_sets_a_new_password_once(registry: Registry) -> None:
    data = application(password=PASSWORD, email="vera.reset@example.org")
    ident = registry.applicant(**data)
    assert request(registry, "vera.reset@example.org") == {"status": "requested"}
    assert request(registry, "nobody@example.org") == {"status": "requested"}
    (reset_id,) = resets(registry)  # only the real account got one
    (event,) = registry.events("account.password_reset_requested.v1")
    assert set(event["data"]) == {"reset_id"} and "vera" not in str(event)

    with pytest.raises(Forbidden):
        issue(registry, reset_id, caller="gateway")
    issued = issue(registry, reset_id)
    assert issued["email"] == "vera.reset@example.org"
    assert issued["account_id"] == ident
    token = issued["token"]
    stored = registry.sql("SELECT token_hash FROM password_resets")[0][0]
    assert stored and token not in stored  # only a hash is kept

    with pytest.raises(InvalidInput):  # too short: nothing changes
        registry.call("reset_password", token, "short", caller="gateway")
    with pytest.raises(InvalidInput) as long:  # longer than a sign-in takes
        registry.call("reset_password", token, "x" * 201, caller="gateway")
    assert long.value.fields == {"password": ["12 to 200 characters"]}
    done = registry.call("reset_password", token, NEW, caller="gateway")
    assert done == {"account_id": ident}
    signed_in = registry.call(
        "sign_in", "vera.reset@example.org", NEW, None, caller="gateway"
    )
    assert signed_in["status"] == "ok"
    with pytest.raises(InvalidInput) as again:  # single use
        registry.call(
            "reset_password", token, "yet another passphrase", caller="gateway"
        )
    assert again.value.code == "reset_invalid"
    with pytest.raises(NotFound):  # a used reset gives no new link
        issue(registry, reset_id)


def test_a_resent_link_replaces_the_last_and_links_expire(registry: Registry) -> None:
    registry.applicant(**application(password=PASSWORD, email="ira@example.org"))
    request(registry, "ira@example.org")
    (reset_id,) = resets(registry)
    first = issue(registry, reset_id)["token"]
    second = issue(registry, reset_id)["token"]
    with pytest.raises(InvalidInput):
        registry.call("reset_password", first, NEW, caller="gateway")
    registry.sql("UPDATE password_resets SET expires_at = now() - interval '1 second'")
    with pytest.raises(InvalidInput):
        registry.call("reset_password", second, NEW, caller="gateway")


def test_requests_are_limited_per_hour_without_saying_so(registry: Registry) -> None:
    registry.applicant(**application(password=PASSWORD, email="oleg@example.org"))
    answers = [request(registry, "oleg@example.org") for _ in range(5)]
    assert answers == [{"status": "requested"}] * 5
    assert len(resets(registry)) == 3
    # only the gateway may ask at all (tests/contracts/test_rpc_callers.py)


def test_an_applicant_without_a_password_sets_their_first_by_the_reset_link(
    registry: Registry,
) -> None:
    """The API takes an application without a password: "forgot your password"
    with the same email is then how they get in. Not for someone turned down."""
    ident = registry.applicant(email="nopw@example.org")  # no password given
    assert not registry.sql("SELECT 1 FROM accounts WHERE id = :i", i=ident)
    refused = registry.call("sign_in", "nopw@example.org", NEW, None, caller="gateway")
    assert refused["status"] == "invalid"
    assert request(registry, "nopw@example.org") == {"status": "requested"}
    (reset_id,) = resets(registry)
    issued = issue(registry, reset_id)
    assert (issued["email"], issued["account_id"]) == ("nopw@example.org", ident)
    # until the link is used there is no password to sign in with
    still = registry.call("sign_in", "nopw@example.org", "", None, caller="gateway")
    assert still["status"] == "invalid"
    registry.call("reset_password", issued["token"], NEW, caller="gateway")
    signed_in = registry.call(
        "sign_in", "nopw@example.org", NEW, None, caller="gateway"
    )
    assert signed_in["status"] == "ok" and signed_in["actor"]["id"] == ident

    turned_down = registry.applicant(email="rejected.nopw@example.org")
    registry.call("start_review", ADMIN_A, turned_down, "complete application")
    registry.call("reject", ADMIN_A, turned_down, "not known to anyone")
    assert request(registry, "rejected.nopw@example.org") == {"status": "requested"}
    assert len(resets(registry)) == 1  # the same answer, and nothing made
    assert not registry.sql("SELECT 1 FROM accounts WHERE id = :i", i=turned_down)


def test_a_coordinator_named_before_their_first_password_signs_in_as_one(
    registry: Registry,
) -> None:
    """A club may name a member its coordinator before they have a login (they
    applied through the API without a password): the login their reset link makes
    holds the role, as a login made before the naming would have been given it."""
    ident = registry.active(email="coord.nopw@example.org", pseudonym="coord_nopw")
    registry.call(
        "create_club",
        ADMIN_A,
        {"name": "Named early", "country": "GE", "mode": "online"}
        | {"coordinator": "coord_nopw"},
    )
    assert not registry.sql("SELECT 1 FROM accounts WHERE id = :i", i=ident)
    assert request(registry, "coord.nopw@example.org") == {"status": "requested"}
    (reset_id,) = resets(registry)
    registry.call("reset_password", issue(registry, reset_id)["token"], NEW)
    signed_in = registry.call(
        "sign_in", "coord.nopw@example.org", NEW, None, caller="gateway"
    )
    # a coordinator sees members' pseudonyms: the role asks for an authenticator
    assert signed_in["status"] == "enroll"
    assert set(signed_in["actor"]["roles"]) == {"communicator", "club_coordinator"}
