"""Insights DependencyProviders: the suppression threshold and the erasure digests'
key, read once."""

from __future__ import annotations

from typing import Any

from nameko.extensions import DependencyProvider

from svyaz import config as settings

DEFAULT_MIN_CELL = 5
MIN_ERASURE_KEY = 32  # characters of ERASURE_DIGEST_KEY in production


class MinCell(DependencyProvider):
    """`INSIGHTS_MIN_CELL`: the smallest count a view shows (at least 2)."""

    def setup(self) -> None:
        value = int(self.container.config.get("INSIGHTS_MIN_CELL", DEFAULT_MIN_CELL))
        if value < 2:
            raise ValueError("INSIGHTS_MIN_CELL must be at least 2")
        self.value = value

    def get_dependency(self, worker_ctx: Any) -> int:
        return self.value


class ErasureKey(DependencyProvider):
    """`ERASURE_DIGEST_KEY`: the key of the digests that stand for an erased
    person's id for the inbox's window (`logic.facts.erase`). Kept out of the
    database, so that a copy of the database alone cannot tell whose digest a row
    is by trying the ids other services keep. In production: not the development
    default, and at least MIN_ERASURE_KEY characters."""

    def setup(self) -> None:
        config = self.container.config
        value = settings.secret(config, "ERASURE_DIGEST_KEY")
        if settings.is_production(config) and len(value) < MIN_ERASURE_KEY:
            raise settings.ConfigurationError(
                f"ERASURE_DIGEST_KEY is shorter than {MIN_ERASURE_KEY} characters; "
                "set a long random secret"
            )
        self.value = value.encode()

    def get_dependency(self, worker_ctx: Any) -> bytes:
        return self.value
