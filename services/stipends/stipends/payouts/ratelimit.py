"""The provider's rate limit, shared by every process of the service.

`TokenBucket` (providers.py) limits one process; two replicas of stipends would each
allow the full rate. `SharedTokenBucket` keeps the limit in one PostgreSQL row per key
with the generic cell rate algorithm: the row holds the theoretical arrival time
(`tat`) of the next call. A process reserves `batch` consecutive slots in one UPDATE
(the row moves on by batch/rate) and hands them to its callers in order, each
sleeping until its own slot (at most `burst` calls early): one short transaction per
`batch` calls, not per call. Slots are reserved in the order processes arrive,
whichever process they are in; a slot left unused for more than one interval is
dropped rather than spent late (so a process that was idle cannot burst on old
slots), and at most `batch` slots go unused when a process stops. A 429 `hold`s
everyone: no slot before then, and the slots a process holds are dropped. Give a
burst at least the number of callers that share the bucket, so each can wait for
its slot while the others are busy recording theirs.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import text

from stipends import metrics

# one statement each, creating the row on first use (no separate "ensure" to race);
# the answer: seconds from now to the first slot reserved
TAKE = text(
    "INSERT INTO payout_rate_limits AS r (key, tat) "
    "VALUES (:key, clock_timestamp() + make_interval(secs => :span)) "
    "ON CONFLICT (key) DO UPDATE "
    "SET tat = greatest(r.tat, clock_timestamp()) + make_interval(secs => :span) "
    "RETURNING extract(epoch FROM r.tat - clock_timestamp()) - :span"
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
        batch: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.transaction = transaction
        self.key = key
        self.interval = 1.0 / float(rate)
        self.tolerance = (max(1.0, float(burst or rate)) - 1.0) * self.interval
        # a tenth of a second's worth of slots at a time
        self.batch = max(1, int(batch if batch is not None else rate / 10))
        self.sleep = sleep
        self.clock = clock
        self._lock = threading.Lock()
        self._slots: deque[float] = deque()  # reserved slots, on `clock`, in order

    def _reserve(self) -> None:
        span = self.batch * self.interval
        with self.transaction() as session:
            first = session.execute(TAKE, {"key": self.key, "span": span}).scalar_one()
        start = self.clock() + float(first)
        self._slots.extend(start + i * self.interval for i in range(self.batch))

    def _next_slot(self) -> float:
        with self._lock:
            now = self.clock()
            while self._slots and self._slots[0] < now - self.interval:
                self._slots.popleft()  # unused in its time: not spent late
            if not self._slots:
                self._reserve()
            return self._slots.popleft()

    def wait_time(self) -> float:
        """Take the next slot (reserving more if none is left); how long until it
        comes (0.0: now)."""
        return max(0.0, self._next_slot() - self.tolerance - self.clock())

    def take(self) -> None:
        wait = self.wait_time()
        if wait > 0:
            metrics.rate_limit_wait(self.key, wait)
            self.sleep(wait)

    def hold(self, seconds: float) -> None:
        with self._lock:
            self._slots.clear()
            with self.transaction() as session:
                session.execute(
                    HOLD, {"key": self.key, "seconds": float(seconds) + self.tolerance}
                )
