"""Ed25519 signatures on the bus's hot path: through libsodium (PyNaCl) when it is
installed, through OpenSSL (`cryptography`) otherwise.

Every message a process publishes is signed and every message it takes is checked
(`svyaz.signing`): libsodium does both in a third to two thirds of OpenSSL's CPU here.
Keys stay `cryptography`'s objects everywhere else (loading, key ids, rotation); the
libsodium twin of each key is made once and remembered by the key object.
"""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidSignature as BadEd25519
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)


def _libsodium() -> tuple[Any, Any, Any]:
    """libsodium's Ed25519 signer, check and check's failure, when PyNaCl is
    installed; (None, None, ...) otherwise: then OpenSSL's, through cryptography."""
    try:
        from nacl.exceptions import BadSignatureError
        from nacl.signing import SigningKey, VerifyKey
    except ImportError:  # pragma: no cover - depends on the environment
        return None, None, BadEd25519
    return SigningKey, VerifyKey, BadSignatureError


SigningKey, VerifyKey, _BadSignature = _libsodium()

_checkers: dict[int, tuple[Ed25519PublicKey, Any]] = {}  # id(public key) -> libsodium's
_signers: dict[int, tuple[Ed25519PrivateKey, Any]] = {}  # id(key) -> libsodium's


def verified(public: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    """Is `signature` `public`'s Ed25519 signature of `data`? Through libsodium when
    it is installed: a third of the CPU of OpenSSL's (60 against 130-200 us a
    message here). libsodium refuses what OpenSSL refuses (it is the stricter of
    the two: non-canonical and small-order encodings too); a unit test runs both on
    the same cases."""
    if VerifyKey is None:
        return verified_openssl(public, signature, data)
    entry = _checkers.get(id(public))
    if entry is None or entry[0] is not public:
        raw = public.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        entry = _checkers[id(public)] = (public, VerifyKey(raw))
    try:
        entry[1].verify(data, signature)
    except (_BadSignature, ValueError, TypeError):
        return False
    return True


def sign(private: Ed25519PrivateKey, data: bytes) -> bytes:
    """`private`'s Ed25519 signature of `data`: through libsodium when it is
    installed (29 against 45 us here). Ed25519 signatures are deterministic, so the
    bytes are OpenSSL's own (a unit test holds them equal)."""
    if SigningKey is None:
        return private.sign(data)
    entry = _signers.get(id(private))
    if entry is None or entry[0] is not private:
        seed = private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        entry = _signers[id(private)] = (private, SigningKey(seed))
    return bytes(entry[1].sign(data).signature)


def verified_openssl(public: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    """The same check through OpenSSL alone."""
    try:
        public.verify(signature, data)
    except BadEd25519:
        return False
    return True
