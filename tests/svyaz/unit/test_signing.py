import json

import pytest

from svyaz import signing
from svyaz.signing import InvalidSignature


def test_a_signed_message_round_trips_and_names_its_signer() -> None:
    body = {"event_type": "x.y.v1", "event_id": "e1", "data": {"n": 1}}
    decoded = signing.decode(signing.encode(body))
    assert decoded == body
    assert decoded.signer == "cli"


def test_rpc_bodies_are_signed_too() -> None:
    decoded = signing.decode(signing.encode({"args": [1], "kwargs": {}}))
    assert decoded == {"args": [1], "kwargs": {}} and decoded.signer == "cli"


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda w: w.update(body=w["body"][::-1]), "bad signature"),
        (lambda w: w.update(signer="registry"), "bad signature"),
        (lambda w: w.update(signer="intruder"), "unknown signer 'intruder'"),
        (lambda w: w.update(ts=str(float(w["ts"]) + 3600)), "bad signature"),
        (lambda w: w.update(type="other.thing.v1"), "bad signature"),
        (lambda w: w.update(sig="0" * 64), "bad signature"),
        (lambda w: w.pop("sig"), "not a signed svyaz message"),
        (lambda w: w.update(v=3), "unknown signature version 3"),
        (lambda w: w.update(v=1), "unknown signature version 1"),  # unsealed era
    ],
)
def test_any_change_after_signing_is_refused(tamper, reason) -> None:
    wrapper = json.loads(
        signing.encode({"event_type": "x.y.v1", "event_id": "e1", "n": 1})
    )
    tamper(wrapper)
    with pytest.raises(InvalidSignature, match=reason):
        signing.decode(json.dumps(wrapper))


def test_a_body_that_lies_about_its_type_is_refused() -> None:
    wrapper = json.loads(signing.encode({"event_type": "a.b.v1", "event_id": "1"}))
    # re-sign a body whose envelope says something else than the signed type field
    key = signing._state.keyring["cli"]
    ts = float(wrapper["ts"])
    plain = json.dumps({"event_type": "c.d.v1", "event_id": "1"})
    body = signing.seal(key, "cli", ts, "a.b.v1", "1", plain)
    wrapper.update(body=body, sig=signing._mac(key, "cli", ts, "a.b.v1", "1", body))
    with pytest.raises(InvalidSignature, match="does not match the body"):
        signing.decode(json.dumps(wrapper))


def test_a_timestamp_from_the_future_is_refused() -> None:
    key = signing._state.keyring["cli"]
    ts = 4102444800.0  # 2100
    body = signing.seal(key, "cli", ts, "message", "", json.dumps({"n": 1}))
    wrapper = {
        "v": 2,
        "signer": "cli",
        "ts": f"{ts:.6f}",
        "type": "message",
        "id": "",
        "body": body,
        "sig": signing._mac(key, "cli", ts, "message", "", body),
    }
    with pytest.raises(InvalidSignature, match="future"):
        signing.decode(json.dumps(wrapper))


def test_not_json_is_refused() -> None:
    with pytest.raises(InvalidSignature, match="not a signed svyaz message"):
        signing.decode(b"\x00\x01 not json")


def test_what_crosses_the_bus_shows_no_personal_value() -> None:
    raw = signing.encode({"args": [{"email": "olga@example.org"}], "kwargs": {}})
    assert "olga" not in raw and "example.org" not in raw
    assert signing.decode(raw)["args"][0]["email"] == "olga@example.org"


def test_a_body_sealed_for_another_message_does_not_open() -> None:
    """Signed correctly, but its sealed body belongs to another moment: refused."""
    key = signing._state.keyring["cli"]
    wrapper = json.loads(signing.encode({"n": 1}))
    ts = float(wrapper["ts"])
    body = signing.seal(key, "cli", ts + 1, "message", "", json.dumps({"n": 2}))
    wrapper.update(body=body, sig=signing._mac(key, "cli", ts, "message", "", body))
    with pytest.raises(InvalidSignature, match="does not open"):
        signing.decode(json.dumps(wrapper))
