"""Signed and sealed messages on the bus, through nameko's serializer hooks.

Every message between processes (events, RPC requests and replies) is encoded by the
`svyaz-signed` kombu serializer into a JSON wrapper:

- a **stamp**: who signed (`signer`, and the id of the key), when (`ts`), a random
  `nonce`, what the message is (`type`: the event type, or `message`; `id`: the event
  id), and what it does: the routing key it was published to (`route`: the RPC
  method `service.method`, or the event type), its `reply_to` and `correlation_id`;
- the body, sealed with AES-256-GCM under the bus-wide sealing key, bound to the stamp,
  so the broker, its management UI and parked queues see no personal value;
- an **Ed25519 signature** over the stamp and the sealed body, made with the signer's
  own private key. Every process holds only its own private key and everyone's public
  keys: a process can check every message but sign only as itself.

The stamp's routing facts come from the publisher (`publishing()`, set by
`SignedPublisher` for every nameko publish, and by the outbox relay); the consumers
compare them with the message as delivered (see `svyaz.rpc`, `svyaz.rpc_proxy` and
`svyaz.single_handler`): an RPC request must arrive on the routing key, reply address
and correlation id it was signed for, within `BUS_RPC_MAX_AGE` seconds and with a
nonce not seen before; a reply must come from the service that was called; an event
must be signed by the producer its envelope names. The decoder itself refuses an
unknown signer or key, a bad signature, a body that does not open and a time in the
future, by raising `InvalidSignature`; the consumer then parks the message with that
reason.

Settings (each process's config.yml): `BUS_IDENTITY` (its service name by default),
`BUS_PRIVATE_KEY` (the path of its PEM key), `BUS_PUBLIC_KEYS` (a directory of
`<identity>.pub` files, see `svyaz.keys`) and `BUS_SEALING_KEY`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from kombu.utils.json import dumps as json_dumps
from kombu.utils.json import loads as json_loads
from nameko.amqp.publish import Publisher

from svyaz import config as settings
from svyaz import ed25519, keys

NAME = "svyaz-signed"
CONTENT_TYPE = "application/x-svyaz-signed"
VERSION = 3  # 3: Ed25519 per process, the stamp covers route and reply (2: HMAC)
MAX_CLOCK_SKEW = 30.0  # seconds a timestamp may lie ahead of our clock
MIN_SEALING_KEY = 32  # characters of BUS_SEALING_KEY in production


class InvalidSignature(Exception):
    """The message is not signed by a known key, or was altered after signing."""


@dataclass(frozen=True)
class Route:
    """What a publish does: where it goes, where its answer goes, and who signs."""

    routing_key: str
    reply_to: str = ""
    correlation_id: str = ""
    signer: str | None = None
    trace: str = ""  # the work's correlation id (svyaz.context), RPC requests
    idem: str = ""  # the command's idempotency key (svyaz.commands), RPC requests


@dataclass(frozen=True)
class Stamp:
    """What the signer signed, besides the body."""

    signer: str
    key_id: str
    ts: float
    nonce: str
    kind: str
    ident: str
    route: str
    reply_to: str
    correlation_id: str
    # the correlation id of the work the message belongs to (an RPC request carries
    # the caller's, so that its log lines join the caller's); signed when present,
    # and a stamp without one signs the same bytes as before it existed
    trace: str = ""
    # the idempotency key of an RPC request that is a command (svyaz.commands):
    # signed when present, after the trace's place (kept, empty or not), so that
    # neither can be read as the other
    idem: str = ""
    # the list's JSON without its last item and closing bracket (see `text`)
    _head: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # both sides need the list's JSON (the seal's context and the signed bytes),
        # so it is written when the stamp is made: a `functools.cached_property`
        # took a lock on its first read, a green lock under eventlet (2026-12-08)
        object.__setattr__(self, "_head", self._written())

    def text(self, sealed: str) -> bytes:
        """The signed bytes: an unambiguous JSON list, and the sealed body's hash.

        The list's JSON is written once per stamp (`_head`, the list without its
        last item and closing bracket), not once for the seal and again for the
        signature: a hex digest is its own JSON string, so the bytes are those
        of `json.dumps([...fields, digest], separators=(",", ":"))`."""
        digest = hashlib.sha256(sealed.encode()).hexdigest()
        return f'{self._head},"{digest}"]'.encode()

    def _written(self) -> str:
        traced = [self.trace] if self.trace else []
        if self.idem:
            traced = [self.trace, "idem", self.idem]
        fields = json.dumps(
            [
                f"svyaz-bus-v{VERSION}",
                self.signer,
                self.key_id,
                f"{self.ts:.6f}",
                self.nonce,
                self.kind,
                self.ident,
                self.route,
                self.reply_to,
                self.correlation_id,
                *traced,
            ],
            separators=(",", ":"),
        )
        return fields[:-1]

    def context(self) -> bytes:
        """The sealed body is bound to the whole stamp (AES-GCM's associated data):
        `text("")`, with the empty text's hash known beforehand."""
        return f'{self._head},"{_EMPTY_DIGEST}"]'.encode()


_EMPTY_DIGEST = hashlib.sha256(b"").hexdigest()


class Signed(dict):  # type: ignore[type-arg]
    """A decoded dict body that remembers its verified stamp."""

    stamp: Stamp | None = None

    @property
    def signer(self) -> str:
        return self.stamp.signer if self.stamp else ""


class SignedList(list):  # type: ignore[type-arg]
    stamp: Stamp | None = None

    @property
    def signer(self) -> str:
        return self.stamp.signer if self.stamp else ""


def stamp_of(body: Any) -> Stamp | None:
    return getattr(body, "stamp", None)


class _State:
    identity: str | None = None  # the process's own identity
    private: dict[str, tuple[Ed25519PrivateKey, str]] = {}  # identity -> key, id
    public: dict[tuple[str, str], Ed25519PublicKey] = {}
    sealer: AESGCM | None = None
    source: tuple[str, ...] = ()


_state = _State()
_local = threading.local()  # green-local under eventlet's monkey patch


def _sealer(secret: bytes) -> AESGCM:
    derived = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=b"svyaz bus body sealing v3",
    ).derive(secret)
    return AESGCM(derived)


def configure(
    identity: str,
    private_key: Ed25519PrivateKey,
    public_keys: Mapping[str, Sequence[Ed25519PublicKey]],
    sealing_key: bytes,
) -> None:
    """The process signs as `identity`. More identities may be added with
    `add_identity` (a test process runs several services' containers)."""
    own = keys.key_id(private_key.public_key())
    ring = keys.index(public_keys)
    if (identity, own) not in ring:
        raise settings.ConfigurationError(
            f"BUS_PUBLIC_KEYS has no public key for {identity!r} matching its "
            f"private key (id {own}): nobody could check what it signs"
        )
    install_publisher()
    _state.identity = identity
    _state.private = {identity: (private_key, own)}
    _state.public = ring
    _state.sealer = _sealer(sealing_key)


def add_identity(identity: str, private_key: Ed25519PrivateKey) -> None:
    own = keys.key_id(private_key.public_key())
    if (identity, own) not in _state.public:
        raise settings.ConfigurationError(f"no public key for {identity!r} ({own})")
    _state.private[identity] = (private_key, own)


def _path(config: Mapping[str, Any], key: str) -> str:
    return str(settings.require(config, key))


def configure_from_config(config: Mapping[str, Any], default_identity: str) -> None:
    """Configure from a service's settings, once per process (a second container
    in the same process adds its own identity when its config names its key)."""
    identity = str(config.get("BUS_IDENTITY") or default_identity)
    private_path = _path(config, "BUS_PRIVATE_KEY")
    public_path = _path(config, "BUS_PUBLIC_KEYS")
    sealing = settings.secret(config, "BUS_SEALING_KEY")
    production = settings.is_production(config)
    if production and len(sealing) < MIN_SEALING_KEY:
        raise settings.ConfigurationError(
            f"BUS_SEALING_KEY is shorter than {MIN_SEALING_KEY} characters; "
            "set a long random secret"
        )
    source = (public_path, sealing)
    private = keys.load_private(private_path, strict=production)
    if _state.identity is not None and _state.source == source:
        if identity not in _state.private:
            add_identity(identity, private)
        return
    configure(identity, private, keys.load_public_dir(public_path), sealing.encode())
    _state.source = source


def identity_of(container: Any) -> str:
    """The bus identity a container signs as: its BUS_IDENTITY, else its name."""
    return str(container.config.get("BUS_IDENTITY") or container.service_name)


def development_config(folder: str | Path, identity: str) -> dict[str, str]:
    """The settings that point a process at the development key set in `folder`
    (tests and tools: the services read theirs from config.yml)."""
    root = Path(folder)
    return {
        "BUS_IDENTITY": identity,
        "BUS_PRIVATE_KEY": str(root / keys.PRIVATE_DIR / f"{identity}.key"),
        "BUS_PUBLIC_KEYS": str(root / keys.PUBLIC_DIR),
        "BUS_SEALING_KEY": "dev-bus-sealing-key-for-development-only",
    }


def identity() -> str | None:
    return _state.identity


def digest_key(who: str | None = None) -> bytes:
    """A secret for keyed digests of what a process stores about requests (the
    commands' argument digests), derived from `who`'s private key (this process's
    identity when it holds no key for `who`): only the service can compute it, so
    a digest of an email address or a password in its database cannot be checked
    against guesses by someone who has the database and not the key."""
    name = who if who in _state.private else _state.identity
    if name is None:
        raise settings.ConfigurationError("svyaz.signing is not set up: no identity")
    private, own = _state.private[name]
    derived = _digest_keys.get((name, own))
    if derived is None:
        derived = _digest_keys[(name, own)] = _derive_digest_key(name, private)
    return derived


_digest_keys: dict[tuple[str, str], bytes] = {}


def _derive_digest_key(name: str, private: Ed25519PrivateKey) -> bytes:
    raw = private.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=f"svyaz request digests v1 {name}".encode(),
    ).derive(raw)


def can_sign_as(who: str) -> bool:
    return who in _state.private


@contextmanager
def _bound(name: str, value: Any) -> Iterator[None]:
    """This thread's `name` is `value` inside the block, what it was after."""
    previous = getattr(_local, name, None)
    setattr(_local, name, value)
    try:
        yield
    finally:
        setattr(_local, name, previous)


def publishing(route: Route) -> Any:
    """Messages encoded inside this block are stamped with `route`."""
    return _bound("route", route)


def signing_as(who: str) -> Any:
    """Messages encoded inside this block are signed as `who` (a key this process
    holds; tests and a process that runs several services' containers)."""
    return _bound("signer", who)


def sign_detached(who: str, data: bytes) -> tuple[str, bytes]:
    """(key id, signature) of `data` by `who`, a key this process holds."""
    if who not in _state.private:
        raise settings.ConfigurationError(f"this process holds no key of {who!r}")
    private, key_id = _state.private[who]
    return key_id, private.sign(data)


def verify_detached(who: str, key_id: str, data: bytes, signature: bytes) -> bool:
    """Did `who`'s key `key_id` sign `data`?"""
    public = _state.public.get((who, key_id))
    return public is not None and ed25519.verified_openssl(public, signature, data)


def _kind_and_id(obj: Any) -> tuple[str, str]:
    if isinstance(obj, dict) and "event_type" in obj and "event_id" in obj:
        return str(obj["event_type"]), str(obj["event_id"])
    return "message", ""


def encode(obj: Any) -> str:
    """kombu encoder: stamp, seal and sign."""
    return _sealed_and_signed(json_dumps(obj), *_kind_and_id(obj))


def encode_event(envelope_json: str, event_type: str, event_id: str) -> str:
    """`encode` of an event envelope already written as JSON (the outbox keeps
    it so): its text is sealed as it is, not read and written again. The caller
    names the envelope's type and id, which the stamp carries; the receiver
    refuses the message if they are not the body's."""
    return _sealed_and_signed(envelope_json, event_type, event_id)


def _sealed_and_signed(plain: str, kind: str, ident: str) -> str:
    if _state.identity is None or _state.sealer is None:
        raise settings.ConfigurationError(
            "svyaz.signing is not configured: call configure_from_config first"
        )
    route: Route | None = getattr(_local, "route", None)
    signer = (
        getattr(_local, "signer", None)
        or (route.signer if route else None)
        or _state.identity
    )
    if signer not in _state.private:
        signer = _state.identity
    private, key_id = _state.private[signer]
    randomness = os.urandom(28)  # one call: the stamp's nonce, then the seal's
    stamp = Stamp(
        signer=signer,
        key_id=key_id,
        ts=time.time(),
        nonce=base64.urlsafe_b64encode(randomness[:16]).decode(),
        kind=kind,
        ident=ident,
        # an event without a publisher's route is still an event of its type; any
        # other message without one is stamped for nowhere and refused on arrival
        route=route.routing_key if route else (kind if ident else ""),
        reply_to=route.reply_to if route else "",
        correlation_id=route.correlation_id if route else "",
        trace=route.trace if route else "",
        idem=route.idem if route else "",
    )
    nonce = randomness[16:]
    sealed = base64.urlsafe_b64encode(
        nonce + _state.sealer.encrypt(nonce, plain.encode(), stamp.context())
    ).decode()
    signature = ed25519.sign(private, stamp.text(sealed))
    traced = {"trace": stamp.trace} if stamp.trace else {}
    if stamp.idem:
        traced["idem"] = stamp.idem
    return json.dumps(
        {
            "v": VERSION,
            "signer": stamp.signer,
            "kid": stamp.key_id,
            "ts": f"{stamp.ts:.6f}",
            "nonce": stamp.nonce,
            "type": stamp.kind,
            "id": stamp.ident,
            "route": stamp.route,
            "reply_to": stamp.reply_to,
            "correlation_id": stamp.correlation_id,
            **traced,
            "body": sealed,
            "sig": base64.urlsafe_b64encode(signature).decode(),
        }
    )


def read_stamp(raw: str | bytes) -> tuple[Stamp, str, bytes]:
    """The stamp, sealed body and signature of a wrapper, unverified."""
    try:
        wrapper = json.loads(raw)
        if wrapper.get("v") != VERSION:
            raise InvalidSignature(f"unknown signature version {wrapper.get('v')!r}")
        stamp = Stamp(
            signer=str(wrapper["signer"]),
            key_id=str(wrapper["kid"]),
            ts=float(wrapper["ts"]),
            nonce=str(wrapper["nonce"]),
            kind=str(wrapper["type"]),
            ident=str(wrapper["id"]),
            route=str(wrapper["route"]),
            reply_to=str(wrapper["reply_to"]),
            correlation_id=str(wrapper["correlation_id"]),
            trace=str(wrapper.get("trace") or ""),
            idem=str(wrapper.get("idem") or ""),
        )
        return stamp, str(wrapper["body"]), base64.urlsafe_b64decode(wrapper["sig"])
    except InvalidSignature:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidSignature(
            f"not a signed svyaz message ({type(exc).__name__})"
        ) from None


def decode(raw: str | bytes) -> Any:
    """kombu decoder: verify and open; raises InvalidSignature."""
    stamp, sealed, signature = read_stamp(raw)
    public = _state.public.get((stamp.signer, stamp.key_id))
    if public is None:
        raise InvalidSignature(
            f"unknown signer or key {stamp.signer!r}/{stamp.key_id[:16]!r}"
        )
    if not ed25519.verified(public, signature, stamp.text(sealed)):
        raise InvalidSignature(f"bad signature from {stamp.signer!r}")
    if stamp.ts > time.time() + MAX_CLOCK_SKEW:
        raise InvalidSignature("timestamp lies in the future")
    assert _state.sealer is not None
    try:
        packed = base64.urlsafe_b64decode(sealed.encode())
        plain = _state.sealer.decrypt(packed[:12], packed[12:], stamp.context())
    except (ValueError, InvalidTag):
        raise InvalidSignature(
            f"the body from {stamp.signer!r} does not open"
        ) from None
    obj = json_loads(plain.decode())
    if (stamp.kind, stamp.ident) != _kind_and_id(obj):
        raise InvalidSignature("signed type or id does not match the body")
    if isinstance(obj, dict):
        obj = Signed(obj)
        obj.stamp = stamp
    elif isinstance(obj, list):
        obj = SignedList(obj)
        obj.stamp = stamp
    return obj


TRACE_HEADER = "nameko.correlation_id"  # where nameko puts the worker's context
# where a caller's proxy puts a command's idempotency key for the publisher, which
# moves it into the signed stamp (the receiver reads it from the stamp only)
IDEM_HEADER = "x-svyaz-idempotency-key"


class SignedPublisher(Publisher):  # type: ignore[misc]
    """nameko's publisher, telling the encoder what the publish does (routing key,
    reply address, correlation id) so that the signature covers it."""

    signer: str | None = None

    def publish(self, payload: Any, **kwargs: Any) -> None:
        headers = kwargs.get("extra_headers") or {}
        route = Route(
            routing_key=str(kwargs.get("routing_key") or ""),
            reply_to=str(kwargs.get("reply_to") or ""),
            correlation_id=str(kwargs.get("correlation_id") or ""),
            signer=self.signer,
            trace=str(headers.get(TRACE_HEADER) or ""),
            idem=str(headers.get(IDEM_HEADER) or ""),
        )
        with publishing(route):
            super().publish(payload, **kwargs)


def install_publisher() -> None:
    """Every nameko RPC request and reply publishes through `SignedPublisher`,
    standalone proxies (the CLIs) included."""
    import nameko.rpc

    nameko.rpc.MethodProxy.publisher_cls = SignedPublisher
    nameko.rpc.Responder.publisher_cls = SignedPublisher


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
    install_publisher()
