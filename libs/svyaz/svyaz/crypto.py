"""Field encryption for personal data: envelope encryption and blind indexes.

- Each person has a random 256-bit data key. Their fields are encrypted with AES-GCM
  under it, with the record id and field name as associated data, so a ciphertext
  cannot be moved to another row or column.
- The data key is stored wrapped (AES-GCM) by a master key from the environment. Every
  wrapped key starts with the master key id; rotation re-wraps data keys under a new
  master key without touching the field ciphertexts.
- Destroying the wrapped data key (crypto-shredding) makes every field unreadable.
- Blind indexes are keyed HMAC-SHA256 of a normalised value: equal values match without
  decrypting anything, and the index reveals nothing without the index key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from svyaz.config import ConfigurationError

FIELD_VERSION = "f1"


class DecryptionError(Exception):
    """A ciphertext could not be opened (wrong key, altered, or shredded)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def decode_key(text: str, name: str) -> bytes:
    """A 32-byte key given as urlsafe base64."""
    try:
        key = _unb64(text.strip())
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ConfigurationError(f"{name} must be urlsafe base64 of 32 bytes")
    return key


def parse_master_keys(text: str) -> dict[str, bytes]:
    """`kid=<base64 32 bytes>,kid=...` into {kid: key}."""
    keys: dict[str, bytes] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        kid, _, value = item.partition("=")
        if not kid.strip():
            raise ConfigurationError("MASTER_KEYS entries must look like kid=<key>")
        keys[kid.strip()] = decode_key(value, f"MASTER_KEYS[{kid.strip()}]")
    if not keys:
        raise ConfigurationError("MASTER_KEYS holds no key")
    return keys


@dataclass(frozen=True)
class KeyRing:
    master_keys: dict[str, bytes]
    current: str
    index_key: bytes

    def __post_init__(self) -> None:
        if self.current not in self.master_keys:
            raise ConfigurationError(
                f"MASTER_KEY_ID {self.current!r} is not among MASTER_KEYS"
            )

    def new_data_key(self) -> bytes:
        return AESGCM.generate_key(bit_length=256)

    def wrap(self, data_key: bytes, record_id: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.master_keys[self.current]).encrypt(
            nonce, data_key, f"dek:{record_id}".encode()
        )
        return f"{self.current}.{_b64(nonce)}.{_b64(sealed)}"

    def unwrap(self, wrapped: str, record_id: str) -> bytes:
        try:
            kid, nonce, sealed = wrapped.split(".")
            key = self.master_keys[kid]
            return AESGCM(key).decrypt(
                _unb64(nonce), _unb64(sealed), f"dek:{record_id}".encode()
            )
        except Exception as exc:  # noqa: BLE001 - any failure is the same to callers
            raise DecryptionError("data key cannot be unwrapped") from exc

    def rewrap(self, wrapped: str, record_id: str) -> str:
        return self.wrap(self.unwrap(wrapped, record_id), record_id)

    @staticmethod
    def wrapped_key_id(wrapped: str) -> str:
        return wrapped.split(".", 1)[0]

    def blind_index(self, kind: str, value: str) -> str:
        normalised = " ".join(value.strip().lower().split())
        return hmac.new(
            self.index_key, f"{kind}:{normalised}".encode(), hashlib.sha256
        ).hexdigest()


def encrypt_field(data_key: bytes, plaintext: str, record_id: str, name: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(data_key).encrypt(
        nonce, plaintext.encode(), f"{record_id}:{name}".encode()
    )
    return f"{FIELD_VERSION}.{_b64(nonce)}.{_b64(sealed)}"


def decrypt_field(data_key: bytes, ciphertext: str, record_id: str, name: str) -> str:
    try:
        version, nonce, sealed = ciphertext.split(".")
        if version != FIELD_VERSION:
            raise ValueError(version)
        return (
            AESGCM(data_key)
            .decrypt(_unb64(nonce), _unb64(sealed), f"{record_id}:{name}".encode())
            .decode()
        )
    except Exception as exc:  # noqa: BLE001
        raise DecryptionError(f"field {name} cannot be decrypted") from exc


def generate_key() -> str:
    """A new master or index key, printed by `make keys` for production set-up."""
    return _b64(os.urandom(32))
