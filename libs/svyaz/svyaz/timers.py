"""The one scheduled timer every service uses: nameko's timer, its interval read from
the service's config at setup, so an operator (or a test) sets how often a job runs
without a code change, and no service hand-rolls a "last time I ran" check.

    @timer("SESSION_PURGE_INTERVAL", 60.0)
    def purge_sessions(self) -> None: ...

A value that is not a positive number stops the service at start-up, naming the
setting.
"""

from __future__ import annotations

from typing import Any

from nameko.timer import Timer


class ConfiguredTimer(Timer):
    """nameko's timer, its interval read from the config (`key`) at setup."""

    def __init__(self, key: str, default: float, **kwargs: Any):
        self.key, self.default = key, default
        super().__init__(interval=default, **kwargs)

    def setup(self) -> None:
        raw = self.container.config.get(self.key, self.default)
        try:
            interval = float(raw)
        except (TypeError, ValueError):
            interval = 0.0
        if not interval > 0:
            raise ValueError(f"{self.key} must be a number of seconds above 0: {raw!r}")
        self.interval = interval


timer = ConfiguredTimer.decorator
