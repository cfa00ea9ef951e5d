"""Registry DependencyProviders."""

from __future__ import annotations

from typing import Any

from nameko.extensions import DependencyProvider

from svyaz import config as settings
from svyaz.crypto import KeyRing, decode_key, parse_master_keys


class Vault(DependencyProvider):
    """The key ring that opens personal data: master keys and the blind-index key."""

    def setup(self) -> None:
        config = self.container.config
        self.keys = KeyRing(
            master_keys=parse_master_keys(settings.secret(config, "MASTER_KEYS")),
            current=str(settings.require(config, "MASTER_KEY_ID")),
            index_key=decode_key(
                settings.secret(config, "BLIND_INDEX_KEY"), "BLIND_INDEX_KEY"
            ),
        )

    def get_dependency(self, worker_ctx: Any) -> KeyRing:
        return self.keys
