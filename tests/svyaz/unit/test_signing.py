import base64
import hashlib
import json
import os
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from svyaz import ed25519, keys, signing
from svyaz.signing import InvalidSignature, Route, Stamp


def _stamp(wrapper: dict[str, Any]) -> Stamp:
    return signing.read_stamp(json.dumps(wrapper))[0]


def _resign(wrapper: dict[str, Any], key: Ed25519PrivateKey) -> None:
    """Sign the wrapper's (possibly changed) stamp and body with `key`."""
    signature = key.sign(_stamp(wrapper).text(wrapper["body"]))
    wrapper["sig"] = base64.urlsafe_b64encode(signature).decode()


def _private(identity: str) -> Ed25519PrivateKey:
    return signing._state.private[identity][0]


def test_a_signed_message_round_trips_and_names_its_signer() -> None:
    body = {"event_type": "x.y.v1", "event_id": "e1", "data": {"n": 1}}
    decoded = signing.decode(signing.encode(body))
    assert decoded == body
    assert decoded.signer == "gateway"
    assert decoded.stamp.route == "x.y.v1"  # an event is stamped with its type


def test_the_stamp_covers_what_the_publish_does() -> None:
    route = Route("registry.erase", reply_to="rq-1", correlation_id="c-1")
    with signing.publishing(route):
        decoded = signing.decode(signing.encode({"args": [1], "kwargs": {}}))
    stamp = decoded.stamp
    assert (stamp.route, stamp.reply_to, stamp.correlation_id) == (
        "registry.erase",
        "rq-1",
        "c-1",
    )
    assert stamp.nonce and decoded == {"args": [1], "kwargs": {}}


def test_a_message_published_without_a_route_is_stamped_for_nowhere() -> None:
    decoded = signing.decode(signing.encode({"args": [], "kwargs": {}}))
    assert decoded.stamp.route == ""


def test_each_message_gets_its_own_nonce() -> None:
    nonces = {signing.decode(signing.encode({"n": 1})).stamp.nonce for _ in range(50)}
    assert len(nonces) == 50


def test_a_process_signs_as_another_only_with_its_key() -> None:
    with signing.signing_as("stipends"):
        assert signing.decode(signing.encode({"n": 1})).signer == "stipends"


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda w: w.update(body=w["body"][::-1]), "bad signature"),
        (lambda w: w.update(signer="registry"), "unknown signer or key"),
        (lambda w: w.update(signer="intruder"), "unknown signer or key"),
        (lambda w: w.update(ts=str(float(w["ts"]) + 3600)), "bad signature"),
        (lambda w: w.update(type="other.thing.v1"), "bad signature"),
        (lambda w: w.update(route="registry.erase"), "bad signature"),
        (lambda w: w.update(reply_to="someone-else"), "bad signature"),
        (lambda w: w.update(correlation_id="another"), "bad signature"),
        (lambda w: w.update(nonce="fresh-nonce"), "bad signature"),
        (lambda w: w.update(sig=base64.urlsafe_b64encode(b"0" * 64).decode()), "bad"),
        (lambda w: w.pop("sig"), "not a signed svyaz message"),
        (lambda w: w.update(v=2), "unknown signature version 2"),  # HMAC era
        (lambda w: w.update(v=1), "unknown signature version 1"),  # unsealed era
    ],
)
def test_any_change_after_signing_is_refused(tamper: Any, reason: str) -> None:
    wrapper = json.loads(
        signing.encode({"event_type": "x.y.v1", "event_id": "e1", "n": 1})
    )
    tamper(wrapper)
    with pytest.raises(InvalidSignature, match=reason):
        signing.decode(json.dumps(wrapper))


def test_a_message_signed_with_another_services_key_is_refused() -> None:
    """notifications' key cannot sign as stipends: the signature is checked with
    the public key of the identity the message names."""
    wrapper = json.loads(signing.encode({"n": 1}))
    wrapper["signer"] = "stipends"
    wrapper["kid"] = keys.key_id(_private("stipends").public_key())
    _resign(wrapper, _private("notifications"))
    with pytest.raises(InvalidSignature, match="bad signature from 'stipends'"):
        signing.decode(json.dumps(wrapper))


def test_a_key_nobody_published_is_refused() -> None:
    wrapper = json.loads(signing.encode({"n": 1}))
    stranger = Ed25519PrivateKey.generate()
    wrapper["kid"] = keys.key_id(stranger.public_key())
    _resign(wrapper, stranger)
    with pytest.raises(InvalidSignature, match="unknown signer or key"):
        signing.decode(json.dumps(wrapper))


def test_a_body_that_lies_about_its_type_is_refused() -> None:
    """Signed and sealed correctly, but the sealed envelope names another type."""
    wrapper = json.loads(signing.encode({"event_type": "a.b.v1", "event_id": "1"}))
    stamp = _stamp(wrapper)
    nonce = os.urandom(12)
    plain = json.dumps({"event_type": "c.d.v1", "event_id": "1"}).encode()
    sealed = signing._state.sealer.encrypt(nonce, plain, stamp.context())
    wrapper["body"] = base64.urlsafe_b64encode(nonce + sealed).decode()
    _resign(wrapper, _private("gateway"))
    with pytest.raises(InvalidSignature, match="does not match the body"):
        signing.decode(json.dumps(wrapper))


def test_an_envelope_written_as_json_is_sealed_as_it_is() -> None:
    """The relay hands over the outbox's stored text (`envelope::text`: PostgreSQL's
    spacing and key order, letters unescaped): the receiver reads the same envelope."""
    envelope = {"event_type": "a.b.v1", "event_id": "e-7", "data": {"name": "Ольга"}}
    stored = '{"data": {"name": "Ольга"}, "event_id": "e-7", "event_type": "a.b.v1"}'
    with signing.publishing(Route("a.b.v1", signer="registry")):
        decoded = signing.decode(signing.encode_event(stored, "a.b.v1", "e-7"))
    assert decoded == envelope
    assert (decoded.signer, decoded.stamp.kind, decoded.stamp.ident) == (
        "registry",
        "a.b.v1",
        "e-7",
    )


@pytest.mark.parametrize("kind, ident", [("c.d.v1", "e-7"), ("a.b.v1", "e-8")])
def test_an_envelope_stamped_with_another_type_or_id_is_refused(
    kind: str, ident: str
) -> None:
    stored = json.dumps({"event_type": "a.b.v1", "event_id": "e-7", "data": {}})
    with pytest.raises(InvalidSignature, match="does not match the body"):
        signing.decode(signing.encode_event(stored, kind, ident))


def test_a_timestamp_from_the_future_is_refused() -> None:
    wrapper = json.loads(signing.encode({"n": 1}))
    wrapper["ts"] = "4102444800.000000"  # 2100
    _resign(wrapper, _private("gateway"))
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
    """A validly signed stamp whose sealed body was made for another stamp."""
    first = json.loads(signing.encode({"n": 1}))
    second = json.loads(signing.encode({"n": 2}))
    first["body"] = second["body"]
    _resign(first, _private("gateway"))
    with pytest.raises(InvalidSignature, match="does not open"):
        signing.decode(json.dumps(first))


def test_a_rotated_key_and_its_predecessor_are_both_accepted(tmp_path: Any) -> None:
    """Rotation: the .pub file holds the old and the new key while both are valid."""
    keys.ensure(tmp_path, ["alpha"])
    old = keys.load_private(tmp_path / "private" / "alpha.key")
    new_id = keys.rotate(tmp_path, "alpha")
    new = keys.load_private(tmp_path / "private" / "alpha.key")
    ring = keys.load_public_dir(tmp_path / "public")
    assert {keys.key_id(k) for k in ring["alpha"]} == {
        keys.key_id(old.public_key()),
        new_id,
    }
    assert keys.key_id(new.public_key()) == new_id
    assert keys.ensure(tmp_path, ["alpha"]) == []  # ensure never replaces a key


def test_production_refuses_a_private_key_others_can_read(tmp_path: Any) -> None:
    keys.ensure(tmp_path, ["alpha"])
    path = tmp_path / "private" / "alpha.key"
    path.chmod(0o644)
    with pytest.raises(signing.settings.ConfigurationError, match="chmod 600"):
        keys.load_private(path, strict=True)
    keys.load_private(path)  # development does not care


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("BUS_SEALING_KEY", "dev-bus-sealing-key-for-development-only", "development"),
        ("BUS_SEALING_KEY", "short-but-real", "shorter than"),
        ("BUS_PRIVATE_KEY", "/nonexistent/key", "cannot read"),
        ("BUS_PUBLIC_KEYS", "/nonexistent", "not a directory"),
    ],
)
def test_production_refuses_development_or_missing_bus_keys(
    tmp_path: Any, setting: str, value: str, message: str
) -> None:
    keys.ensure(tmp_path, ["alpha"])
    config = {
        "SVYAZ_ENV": "production",
        **signing.development_config(tmp_path, "alpha"),
        "BUS_SEALING_KEY": "x" * 40,
        setting: value,
    }
    with pytest.raises(signing.settings.ConfigurationError, match=message):
        signing.configure_from_config(config, "alpha")


def test_a_tool_given_another_process_s_key_refuses_to_start() -> None:
    """svyaz-finance started with the gateway's key: its own identity's public key
    does not match, so it stops instead of signing as someone it is not."""
    from tests.helpers import KEYS

    config = {
        **signing.development_config(KEYS, "finance-cli"),
        "BUS_PRIVATE_KEY": str(KEYS / "private" / "gateway.key"),
        "BUS_SEALING_KEY": "another-sealing-key-so-the-state-is-not-reused",
    }
    with pytest.raises(signing.settings.ConfigurationError, match="finance-cli"):
        signing.configure_from_config(config, "finance-cli")


@pytest.mark.parametrize(
    "extra", [{}, {"trace": "t-1"}, {"idem": "k-1"}, {"trace": "t", "idem": 'ü"\\'}]
)
def test_the_signed_bytes_are_the_stamps_json_list_and_the_body_hash(
    extra: dict[str, str],
) -> None:
    """`Stamp.text` writes its list's JSON once per stamp: the bytes must stay
    exactly those every process signs and checks (a change breaks the bus)."""
    stamp = Stamp(
        "registry", "kid", 1.5, "n", "a.b.v1", "id", "r\u2028", "", "c", **extra
    )
    traced = [stamp.trace] if stamp.trace else []
    if stamp.idem:
        traced = [stamp.trace, "idem", stamp.idem]
    for sealed in ("", "sealed-body"):
        fields = [f"svyaz-bus-v{signing.VERSION}", "registry", "kid", "1.500000"]
        fields += ["n", "a.b.v1", "id", "r\u2028", "", "c", *traced]
        fields.append(hashlib.sha256(sealed.encode()).hexdigest())
        expected = json.dumps(fields, separators=(",", ":")).encode()
        assert stamp.text(sealed) == expected
    assert stamp.context() == stamp.text("")


def test_libsodium_and_openssl_agree_on_every_signature() -> None:
    """A consumer checks signatures through libsodium when PyNaCl is installed
    (`svyaz.ed25519.verified`): it must take exactly what OpenSSL's check takes."""
    pytest.importorskip("nacl")
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    public = key.public_key()
    data = b'["svyaz-bus-v3","registry"]'
    good = key.sign(data)
    cases = [
        (good, data, True),
        (good, data + b" ", False),
        (bytes([good[0] ^ 1]) + good[1:], data, False),
        (good[:-1], data, False),
        (good + b"\x00", data, False),
        (b"", data, False),
        (other.sign(data), data, False),
        (b"\x00" * 64, data, False),
        (good[:32] + b"\xff" * 32, data, False),  # S not reduced mod L
    ]
    for signature, signed, expected in cases:
        assert ed25519.verified_openssl(public, signature, signed) is expected
        assert ed25519.verified(public, signature, signed) is expected
    assert ed25519.VerifyKey is not None  # the check above went through libsodium


def test_libsodium_signs_the_bytes_openssl_signs() -> None:
    """The encoder signs through libsodium when PyNaCl is installed
    (`svyaz.ed25519.sign`): Ed25519 is deterministic, so every signature must be
    OpenSSL's, byte for byte."""
    pytest.importorskip("nacl")
    assert ed25519.SigningKey is not None
    for _ in range(20):
        key = Ed25519PrivateKey.generate()
        for data in (b"", b"x", os.urandom(300)):
            assert ed25519.sign(key, data) == key.sign(data)


def test_processes_ensuring_one_folder_at_once_make_each_key_once(
    tmp_path: Any,
) -> None:
    """Test jobs start side by side on a fresh clone, each ensuring the test keys:
    they take turns, so none fails on a key another is writing, and each identity
    has one key and one public line."""
    import subprocess
    import sys

    names = [f"job{n}" for n in range(20)]
    script = (
        "import sys; from svyaz import keys; "
        f"print(','.join(keys.ensure(sys.argv[1], {names!r})))"
    )
    jobs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(10)
    ]
    outputs = [job.communicate(timeout=120) for job in jobs]
    assert all(job.returncode == 0 for job in jobs), [err for _, err in outputs]
    made = [name for out, _ in outputs for name in out.strip().split(",") if name]
    assert sorted(made) == sorted(names)  # each made once, by one of them
    for name in names:
        lines = (tmp_path / "public" / f"{name}.pub").read_text().splitlines()
        assert len(lines) == 1, lines
