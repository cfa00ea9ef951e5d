"""The provider's rate limit, shared by every process of the service.

`TokenBucket` (providers.py) limits one process; two replicas of stipends would each
allow the full rate. `SharedTokenBucket` keeps the limit in one PostgreSQL row per key
with the generic cell rate algorithm: the row holds the theoretical arrival time
(`tat`) of the next call; each `take` moves it on by 1/rate in one UPDATE and sleeps
until its own slot (at most `burst` calls early). A 429 `hold`s everyone: no slot
before then. One short statement a call; the slots are reserved in the order callers
arrive, whichever process they are in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import text

from stipends import metrics

# one statement each, creating the row on first use (no separate "ensure" to race)
TAKE = text(
    "INSERT INTO payout_rate_limits AS r (key, tat) "
    "VALUES (:key, clock_timestamp() + make_interval(secs => :interval)) "
    "ON CONFLICT (key) DO UPDATE "
    "SET tat = greatest(r.tat, clock_timestamp()) + make_interval(secs => :interval) "
    "RETURNING extract(epoch FROM r.tat - clock_timestamp()) - :interval - :tolerance"
)
HOLD = text(
    "INSERT INTO payout_rate_limits AS r (key, tat) "
    "VALUES (:key, clock_timestamp() + make_interval(secs => :seconds)) "
    "ON CONFLICT (key) DO UPDATE "
    "SET tat = greatest(r.tat, clock_timestamp() + make_interval(secs => :seconds))"
)


class SharedTokenBucket:
    def __init__(
        self,
        transaction: Callable[[], AbstractContextManager[Any]],
        key: str,
        rate: float,
        burst: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.transaction = transaction
        self.key = key
        self.interval = 1.0 / float(rate)
        self.tolerance = (max(1.0, float(burst or rate)) - 1.0) * self.interval
        self.sleep = sleep

    def wait_time(self) -> float:
        """Reserve the next slot; how long until it comes (0.0: now)."""
        with self.transaction() as session:
            wait = session.execute(
                TAKE,
                {
                    "key": self.key,
                    "interval": self.interval,
                    "tolerance": self.tolerance,
                },
            ).scalar_one()
        return max(0.0, float(wait))

    def take(self) -> None:
        wait = self.wait_time()
        if wait > 0:
            metrics.rate_limit_wait(self.key, wait)
            self.sleep(wait)

    def hold(self, seconds: float) -> None:
        with self.transaction() as session:
            session.execute(
                HOLD, {"key": self.key, "seconds": float(seconds) + self.tolerance}
            )
