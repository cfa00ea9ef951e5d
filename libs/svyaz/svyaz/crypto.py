"""Field encryption for personal data: envelope encryption and blind indexes.

- Each person has a random 256-bit data key. Their fields are encrypted with AES-GCM
  under it, with the record id and field name as associated data, so a ciphertext
  cannot be moved to another row or column.
- The data key is stored wrapped (AES-GCM) by a master key from the environment. Every
  wrapped key starts with the master key id; rotation re-wraps data keys under a new
  master key without touching the field ciphertexts.
- Destroying the wrapped data key (crypto-shredding) makes every field unreadable.
- Blind indexes are keyed HMAC-SHA256 of a normalised value: equal values match without
  decrypting anything, and the index reveals nothing without the index key. Each index
  starts with the id of the key that made it (`<kid>.<hex>`; a bare `<hex>` was made
  before key ids); lookups try every configured index key, so the key can be rotated
  while the registry re-computes old indexes from the decrypted values.
- The access log's chain is HMAC-SHA256 under an access-log key that only the
  configuration holds, never the database (registry.logic.access).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from svyaz import config as settings
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


KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,20}")


def parse_keys(text: str, name: str = "MASTER_KEYS") -> dict[str, bytes]:
    """`kid=<base64 32 bytes>,kid=...` into {kid: key}."""
    keys: dict[str, bytes] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        kid, _, value = item.partition("=")
        kid = kid.strip()
        if not KEY_ID.fullmatch(kid):
            raise ConfigurationError(
                f"{name} entries must look like kid=<key>, the kid made of up to 20 "
                "letters, digits, - or _"
            )
        keys[kid] = decode_key(value, f"{name}[{kid}]")
    if not keys:
        raise ConfigurationError(f"{name} holds no key")
    return keys


def parse_master_keys(text: str) -> dict[str, bytes]:
    return parse_keys(text, "MASTER_KEYS")


def _mac(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class KeyRing:
    """The registry's keys, all from configuration: master keys (wrap data keys),
    blind-index keys and access-log keys, each a set by id with the one in use."""

    master_keys: dict[str, bytes]
    current: str
    index_keys: dict[str, bytes]
    index_current: str
    log_keys: dict[str, bytes] = field(default_factory=dict)
    log_current: str = ""

    def __post_init__(self) -> None:
        for name, keys, current in (
            ("MASTER_KEY_ID", self.master_keys, self.current),
            ("BLIND_INDEX_KEY_ID", self.index_keys, self.index_current),
        ):
            if current not in keys:
                raise ConfigurationError(
                    f"{name} {current!r} is not among {name[:-3]}S"
                )
        if self.log_keys and self.log_current not in self.log_keys:
            raise ConfigurationError(
                f"ACCESS_LOG_KEY_ID {self.log_current!r} is not among ACCESS_LOG_KEYS"
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

    # -- blind indexes -------------------------------------------------------------
    @staticmethod
    def _normalised(kind: str, value: str) -> str:
        return f"{kind}:{' '.join(value.strip().lower().split())}"

    def blind_digest(self, kind: str, value: str) -> str:
        """The bare HMAC under the index key in use: a token that never changes
        once given out (a payout destination's fingerprint)."""
        return _mac(self.index_keys[self.index_current], self._normalised(kind, value))

    def blind_index(self, kind: str, value: str) -> str:
        """The index to store: `<kid>.<hmac>` under the index key in use."""
        return f"{self.index_current}.{self.blind_digest(kind, value)}"

    def blind_indexes(self, kind: str, value: str) -> list[str]:
        """Every form the value's index may have while keys rotate, to look up
        with `IN`: under each configured key, with its id and bare (made before
        key ids). HMACs under different keys never meet by chance."""
        text = self._normalised(kind, value)
        found: list[str] = []
        for kid, key in self.index_keys.items():
            digest = _mac(key, text)
            found += [f"{kid}.{digest}", digest]
        return found

    @property
    def index_prefix(self) -> str:
        """What every index made under the key in use starts with."""
        return f"{self.index_current}."

    # -- the access log's chain ----------------------------------------------------
    def log_mac(self, kid: str, text: str) -> str:
        """HMAC-SHA256 under access-log key `kid` (KeyError when not configured)."""
        return _mac(self.log_keys[kid], text)


def keyring(config: Mapping[str, Any]) -> KeyRing:
    """The registry's key ring from its settings (config.yml)."""
    return KeyRing(
        master_keys=parse_keys(settings.secret(config, "MASTER_KEYS"), "MASTER_KEYS"),
        current=str(settings.require(config, "MASTER_KEY_ID")),
        index_keys=parse_keys(
            settings.secret(config, "BLIND_INDEX_KEYS"), "BLIND_INDEX_KEYS"
        ),
        index_current=str(settings.require(config, "BLIND_INDEX_KEY_ID")),
        log_keys=parse_keys(
            settings.secret(config, "ACCESS_LOG_KEYS"), "ACCESS_LOG_KEYS"
        ),
        log_current=str(settings.require(config, "ACCESS_LOG_KEY_ID")),
    )


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
    """A new master, index or access-log key (`python -m svyaz.crypto new-key`)."""
    return _b64(os.urandom(32))


if __name__ == "__main__":  # python -m svyaz.crypto new-key
    import sys

    if sys.argv[1:] != ["new-key"]:
        sys.exit("usage: python -m svyaz.crypto new-key")
    print(generate_key())
