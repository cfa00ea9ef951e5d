"""Who is acting is what the registry signed, never what a caller says."""

import base64
import dataclasses
import json
import time
import uuid
from typing import Any

import pytest

from svyaz import assertions, signing
from svyaz.actors import Actor
from svyaz.errors import Forbidden, InvalidInput
from tests.helpers import actor


def _forge(claims: assertions.Claims, signer: str) -> str:
    """An assertion signed with `signer`'s key (a stolen one) instead of the
    registry's."""
    key_id, _ = signing.sign_detached(signer, b"")
    payload = claims.as_json(key_id)
    _, signature = signing.sign_detached(
        signer, assertions.PREFIX.encode() + b"." + payload
    )
    encode = assertions._b64
    return f"{assertions.PREFIX}.{encode(payload)}.{encode(signature)}"


def test_an_assertion_the_registry_signed_makes_the_actor() -> None:
    signed = actor(["program_admin", "finance"])
    who = Actor.load(signed)
    assert str(who.id) == signed["id"]
    assert who.roles == {"program_admin", "finance"}
    assert who.session_id and who.totp_at is not None
    assert Actor.load(signed["assertion"]).id == who.id  # bare or in its dict


@pytest.mark.parametrize(
    "invented",
    [
        {"id": str(uuid.uuid4()), "roles": ["program_admin"]},
        {"id": str(uuid.uuid4()), "roles": ["program_admin"], "assertion": None},
        {"id": str(uuid.uuid4()), "roles": ["finance"], "assertion": "svyaz-actor.v1"},
        "program_admin",
        None,
        42,
        ["program_admin"],
    ],
)
def test_an_invented_actor_of_any_shape_is_refused(invented: Any) -> None:
    with pytest.raises(InvalidInput, match="sign in again"):
        Actor.load(invented)


def test_the_dicts_own_id_and_roles_are_ignored() -> None:
    """Only the assertion counts: a dict that claims more than it proves gets
    what it proves."""
    signed = actor(["communicator"])
    who = Actor.load({**signed, "id": str(uuid.uuid4()), "roles": ["program_admin"]})
    assert who.roles == {"communicator"} and str(who.id) == signed["id"]


def test_an_expired_assertion_is_refused() -> None:
    signed = actor(["program_admin"], ttl=-1)
    with pytest.raises(InvalidInput, match="expired"):
        Actor.load(signed)


def _tamper(token: str, change: dict[str, Any]) -> str:
    prefix, payload, signature = token.rsplit(".", 2)
    data = json.loads(base64.urlsafe_b64decode(payload + "=="))
    data.update(change)
    raw = json.dumps(data).encode()
    return f"{prefix}.{base64.urlsafe_b64encode(raw).decode().rstrip('=')}.{signature}"


@pytest.mark.parametrize(
    "change",
    [
        {"roles": ["program_admin", "finance"]},
        {"sub": str(uuid.uuid4())},
        {"exp": time.time() + 10**6},
        {"stage": "full", "roles": ["program_admin"]},
    ],
)
def test_a_tampered_assertion_is_refused(change: dict[str, Any]) -> None:
    token = actor(["communicator"])["assertion"]
    with pytest.raises(InvalidInput, match="not the registry's"):
        Actor.load(_tamper(token, change))


@pytest.mark.parametrize("thief", ["gateway", "operator", "stipends", "finance-cli"])
def test_an_assertion_signed_with_any_other_key_is_refused(thief: str) -> None:
    """Whoever holds a service's or a tool's key still cannot mint a person."""
    claims = assertions.new_claims(uuid.uuid4(), frozenset({"program_admin"}))
    with pytest.raises(InvalidInput, match="not the registry's"):
        Actor.load(_forge(claims, thief))


def test_a_staff_member_still_enrolling_acts_nowhere() -> None:
    enrolling = actor(["program_admin"], stage="enroll")
    with pytest.raises(Forbidden, match="authenticator"):
        Actor.load(enrolling)
    who = Actor.load(enrolling, enrolling=True)  # only to finish enrolment
    assert who.roles == frozenset() and who.stage == "enroll"


def test_an_assertion_names_when_and_how_the_person_signed_in() -> None:
    claims = assertions.new_claims(uuid.uuid4(), frozenset({"finance"}), totp_at=5.0)
    verified = assertions.verify(assertions.mint(claims))
    assert verified == dataclasses.replace(claims)
    assert verified.exp - verified.iat == assertions.TTL


def test_a_tokens_signature_is_checked_once_and_its_expiry_every_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = actor(["finance"], ttl=60)["assertion"]
    checks: list[bytes] = []
    real = signing.verify_detached

    def counting(who: str, key_id: str, data: bytes, signature: bytes) -> bool:
        checks.append(data)
        return real(who, key_id, data, signature)

    monkeypatch.setattr(signing, "verify_detached", counting)
    first = assertions.verify(token)
    assert assertions.verify(token) == first and len(checks) == 1
    with pytest.raises(assertions.InvalidAssertion, match="expired"):
        assertions.verify(token, now=first.exp + 1)
