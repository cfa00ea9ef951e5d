"""Insights DependencyProviders: the suppression threshold, read once."""

from __future__ import annotations

from typing import Any

from nameko.extensions import DependencyProvider

DEFAULT_MIN_CELL = 5


class MinCell(DependencyProvider):
    """`INSIGHTS_MIN_CELL`: the smallest count a view shows (at least 2)."""

    def setup(self) -> None:
        value = int(self.container.config.get("INSIGHTS_MIN_CELL", DEFAULT_MIN_CELL))
        if value < 2:
            raise ValueError("INSIGHTS_MIN_CELL must be at least 2")
        self.value = value

    def get_dependency(self, worker_ctx: Any) -> int:
        return self.value
