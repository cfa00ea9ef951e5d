"""Signed and sealed messages on the bus, through nameko's serializer hooks.

Every message between services (events, RPC requests and replies) is encoded by the
`svyaz-signed` kombu serializer: a JSON wrapper holding the signer's identity, a
timestamp, the event type and id when the body is an envelope, the body sealed with
AES-256-GCM (so what crosses RabbitMQ, its management UI, a firehose trace or a parked
queue shows no personal value: an RPC such as `apply` or `get_contact` carries them by
design), and an HMAC-SHA256 over all of them under the signer's key. The sealing key is
derived from the signer's key (HKDF), so every holder of the key ring, and no one else,
can open what a service sent. The decoder refuses a message whose signer is unknown,
whose signature is wrong, whose body does not open, or whose timestamp lies in the
future, by raising `InvalidSignature`; the consumer then parks it with that reason.

Keys come from the `BUS_SIGNING_KEYS` setting (`identity=secret,...`); a process signs
as `BUS_IDENTITY` (its service name by default). `configure()` must run before the first
message; the platform's entrypoints and providers call `configure_from_config` in setup.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from kombu.utils.json import dumps as json_dumps
from kombu.utils.json import loads as json_loads

from svyaz import config as settings

NAME = "svyaz-signed"
CONTENT_TYPE = "application/x-svyaz-signed"
VERSION = 2  # 2: the body sealed (1 was signed only)
MAX_CLOCK_SKEW = 300.0  # seconds a timestamp may lie ahead of our clock


class InvalidSignature(Exception):
    """The message is not signed by a known key, or was altered after signing."""


class Signed(dict):  # type: ignore[type-arg]
    """A decoded dict body that remembers who signed it."""

    signer: str = ""


class SignedList(list):  # type: ignore[type-arg]
    signer: str = ""


class _State:
    identity: str | None = None
    keyring: dict[str, bytes] = {}


_state = _State()


def configure(identity: str, keyring: Mapping[str, bytes]) -> None:
    if identity not in keyring:
        raise settings.ConfigurationError(
            f"BUS_SIGNING_KEYS has no key for this process's identity {identity!r}"
        )
    _state.identity = identity
    _state.keyring = dict(keyring)


def configure_from_config(config: Mapping[str, Any], default_identity: str) -> None:
    """Configure once per process: a process runs one service and signs as it.

    A second container in the same process (tests run several) keeps the identity
    already configured, as long as it brings the same keys.
    """
    keyring = settings.parse_keyring(
        settings.secret(config, "BUS_SIGNING_KEYS"), "BUS_SIGNING_KEYS"
    )
    if _state.identity is not None and _state.keyring == keyring:
        return
    configure(str(config.get("BUS_IDENTITY") or default_identity), keyring)


def identity() -> str | None:
    return _state.identity


def _mac(key: bytes, signer: str, ts: float, kind: str, ident: str, body: str) -> str:
    digest = hashlib.sha256(body.encode()).hexdigest()
    text = f"v{VERSION}\n{signer}\n{ts:.6f}\n{kind}\n{ident}\n{digest}"
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


_sealing_keys: dict[bytes, AESGCM] = {}


def _sealer(key: bytes) -> AESGCM:
    """The AES-256-GCM key derived from a signer's key (cached)."""
    found = _sealing_keys.get(key)
    if found is None:
        derived = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=None,
            info=b"svyaz bus body sealing v2",
        ).derive(key)
        found = _sealing_keys[key] = AESGCM(derived)
    return found


def _context(signer: str, ts: float, kind: str, ident: str) -> bytes:
    return f"{signer}\n{ts:.6f}\n{kind}\n{ident}".encode()


def seal(key: bytes, signer: str, ts: float, kind: str, ident: str, body: str) -> str:
    """The body, encrypted and bound to who sent it, when, and what it says it is."""
    nonce = os.urandom(12)
    sealed = _sealer(key).encrypt(
        nonce, body.encode(), _context(signer, ts, kind, ident)
    )
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(key: bytes, signer: str, ts: float, kind: str, ident: str, text: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(text.encode())
        return (
            _sealer(key)
            .decrypt(raw[:12], raw[12:], _context(signer, ts, kind, ident))
            .decode()
        )
    except (ValueError, InvalidTag):
        raise InvalidSignature(f"the body from {signer!r} does not open") from None


def _kind_and_id(obj: Any) -> tuple[str, str]:
    if isinstance(obj, dict) and "event_type" in obj and "event_id" in obj:
        return str(obj["event_type"]), str(obj["event_id"])
    return "message", ""


def encode(obj: Any) -> str:
    """kombu encoder: wrap and sign."""
    if _state.identity is None:
        raise settings.ConfigurationError(
            "svyaz.signing is not configured: call configure_from_config first"
        )
    ts = time.time()
    kind, ident = _kind_and_id(obj)
    key = _state.keyring[_state.identity]
    body = seal(key, _state.identity, ts, kind, ident, json_dumps(obj))
    return json.dumps(
        {
            "v": VERSION,
            "signer": _state.identity,
            "ts": f"{ts:.6f}",
            "type": kind,
            "id": ident,
            "body": body,
            "sig": _mac(key, _state.identity, ts, kind, ident, body),
        }
    )


def decode(raw: str | bytes) -> Any:
    """kombu decoder: verify and unwrap; raises InvalidSignature."""
    try:
        wrapper = json.loads(raw)
        signer = str(wrapper["signer"])
        ts = float(wrapper["ts"])
        kind, ident = str(wrapper["type"]), str(wrapper["id"])
        body, sig = str(wrapper["body"]), str(wrapper["sig"])
        if wrapper.get("v") != VERSION:
            raise InvalidSignature(f"unknown signature version {wrapper.get('v')!r}")
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidSignature(f"not a signed svyaz message ({exc})") from None
    key = _state.keyring.get(signer)
    if key is None:
        raise InvalidSignature(f"unknown signer {signer!r}")
    expected = _mac(key, signer, ts, kind, ident, body)
    if not hmac.compare_digest(expected, sig):
        raise InvalidSignature(f"bad signature from {signer!r}")
    if ts > time.time() + MAX_CLOCK_SKEW:
        raise InvalidSignature("timestamp lies in the future")
    obj = json_loads(unseal(key, signer, ts, kind, ident, body))
    if (kind, ident) != _kind_and_id(obj):
        raise InvalidSignature("signed type or id does not match the body")
    if isinstance(obj, dict):
        obj = Signed(obj)
        obj.signer = signer
    elif isinstance(obj, list):
        obj = SignedList(obj)
        obj.signer = signer
    return obj


def nameko_config() -> dict[str, Any]:
    """The SERIALIZER settings every service's config.yml carries (see tests)."""
    return {
        "serializer": NAME,
        "ACCEPT": [NAME],
        "SERIALIZERS": {
            NAME: {
                "encoder": "svyaz.signing.encode",
                "decoder": "svyaz.signing.decode",
                "content_type": CONTENT_TYPE,
                "content_encoding": "utf-8",
            }
        },
    }


def register() -> None:
    """Register the serializer with kombu (nameko does this from config too)."""
    import kombu.serialization

    kombu.serialization.register(
        NAME,
        encoder=encode,
        decoder=decode,
        content_type=CONTENT_TYPE,
        content_encoding="utf-8",
    )
