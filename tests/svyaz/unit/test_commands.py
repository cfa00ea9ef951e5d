"""svyaz.commands without servers: the caller's keys, the request's hash, and the key
in the signed stamp (covered by the signature, taken from nowhere else)."""

import hashlib
import json

import pytest

from svyaz import commands, idempotency, signing
from tests.helpers import actor, configure_bus


@pytest.fixture(autouse=True)
def bus() -> None:
    configure_bus()


def test_a_bound_key_gives_each_method_call_its_own_key_and_the_same_again() -> None:
    with idempotency.keyed("form-key-1234"):
        first = [
            idempotency.key_for("registry", "approve"),
            idempotency.key_for("registry", "approve"),
            idempotency.key_for("stipends", "fund_programme"),
        ]
    with idempotency.keyed("form-key-1234"):  # the same form, sent again
        again = [
            idempotency.key_for("registry", "approve"),
            idempotency.key_for("registry", "approve"),
            idempotency.key_for("stipends", "fund_programme"),
        ]
    assert first == again
    assert len(set(first)) == 3
    assert first[0] == "form-key-1234.registry.approve.0"
    assert idempotency.key_for("registry", "approve") is None  # nothing bound now


def test_keyed_restores_what_was_bound_before() -> None:
    with idempotency.keyed("outer-key-1"):
        with idempotency.keyed(None):
            assert idempotency.key_for("registry", "apply") is None
        assert idempotency.current_key() == "outer-key-1"


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("0b8e7c9e-4f7e-4b5e-9d1c-2a6f0f4f3a11", True),
        ("abcdefgh", True),
        ("short", False),
        ("x" * 65, False),
        ("has space in it", False),
        ("dot.is.reserved", False),  # the derived keys' separator
        (None, False),
        (12345678, False),
    ],
)
def test_what_a_key_may_be(value: object, valid: bool) -> None:
    assert idempotency.valid_key(value) is valid


def test_the_hash_is_of_the_request_not_of_who_asks_or_their_renewed_assertion() -> (
    None
):
    key = b"k" * 32
    one = commands.request_hash("approve", {"actor": {"a": 1}, "reason": "ok"}, key)
    renewed = commands.request_hash("approve", {"actor": {"a": 2}, "reason": "ok"}, key)
    other = commands.request_hash("approve", {"actor": {"a": 1}, "reason": "no"}, key)
    method = commands.request_hash("reject", {"actor": {"a": 1}, "reason": "ok"}, key)
    assert one == renewed
    assert len({one, other, method}) == 3


def test_the_digest_is_keyed_so_a_guess_cannot_be_checked_without_the_key() -> None:
    asked = {"email": "someone@example.org"}
    plain = hashlib.sha256(
        json.dumps(["request_password_reset", asked], sort_keys=True).encode()
    ).hexdigest()
    ours = commands.request_hash("request_password_reset", asked, b"a" * 32)
    theirs = commands.request_hash("request_password_reset", asked, b"b" * 32)
    assert ours != plain
    assert ours != theirs


def test_the_account_is_the_assertions() -> None:
    person = actor(["program_admin"])
    assert commands.account_of(person) == person["id"]
    assert commands.account_of(None) == ""
    assert commands.account_of({"id": person["id"], "roles": ["x"]}) is None


def _signed(idem: str, trace: str = "") -> str:
    route = signing.Route("registry.approve", "reply", "corr-1", trace=trace, idem=idem)
    with signing.publishing(route):
        return signing.encode({"args": [], "kwargs": {}})


def test_the_key_travels_in_the_stamp_and_the_signature_covers_it() -> None:
    raw = _signed("k-12345678.registry.approve.0", trace="trace-123")
    assert signing.decode(raw).stamp.idem == "k-12345678.registry.approve.0"
    wrapper = json.loads(raw)
    wrapper["idem"] = "another-key.registry.approve.0"
    with pytest.raises(signing.InvalidSignature):
        signing.decode(json.dumps(wrapper))
    del wrapper["idem"]
    with pytest.raises(signing.InvalidSignature):
        signing.decode(json.dumps(wrapper))


def test_a_trace_cannot_be_read_as_a_key_nor_a_key_as_a_trace() -> None:
    raw = json.loads(_signed("", trace="k-12345678"))
    raw["idem"], raw["trace"] = raw.pop("trace"), ""
    with pytest.raises(signing.InvalidSignature):
        signing.decode(json.dumps(raw))
    keyed = json.loads(_signed("k-12345678"))
    keyed["trace"] = keyed.pop("idem")
    with pytest.raises(signing.InvalidSignature):
        signing.decode(json.dumps(keyed))


def test_a_message_without_a_key_signs_as_before() -> None:
    raw = json.loads(_signed(""))
    assert "idem" not in raw
    assert signing.decode(json.dumps(raw)).stamp.idem == ""


def test_each_service_has_its_own_digest_key_from_its_private_key() -> None:
    registry = signing.digest_key("registry")
    assert len(registry) == 32
    assert registry == signing.digest_key("registry")
    assert registry != signing.digest_key("stipends")
