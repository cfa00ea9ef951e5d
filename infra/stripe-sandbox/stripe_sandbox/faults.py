"""Fault switches for tests, set through POST /_sandbox/faults.

`fail_nth: N, status: 500|429[, times: K]`: the Nth API request from now (and the
K-1 after it; K is 1 unless given) is answered with that status and changes
nothing. `lose_response_nth: N`: the Nth API request is carried
out (and its result kept for its idempotency key), then the connection is closed
without an answer. `slow_nth: N, seconds: S`: the Nth API request waits S seconds
before it is carried out (client timeouts; a second request with the same
idempotency key meanwhile is answered 409). Each switch fires once. Webhook faults
live in webhooks.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import invalid


@dataclass
class Faults:
    seen: int = 0
    fail_at: int | None = None
    fail_status: int = 500
    fail_times: int = 1
    lose_at: int | None = None
    slow_at: int | None = None
    slow_seconds: float = 0.0
    # how many requests each switch has hit so far ("500", "429", ..., "lost", "slow")
    fired: dict[str, int] = field(default_factory=dict)

    def _count(self, what: str) -> None:
        self.fired[what] = self.fired.get(what, 0) + 1

    def set(self, body: dict[str, Any]) -> None:
        fail = body.get("fail_nth")
        lose = body.get("lose_response_nth")
        slow = body.get("slow_nth")
        seconds = body.get("seconds", 1.0)
        status = body.get("status", 500)
        times = body.get("times", 1)
        for name, value in (
            ("fail_nth", fail),
            ("lose_response_nth", lose),
            ("slow_nth", slow),
            ("times", times),
        ):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise invalid(f"{name} must be a positive integer", name)
        if not isinstance(seconds, int | float) or not 0 < seconds <= 120:
            raise invalid("seconds must be more than 0 and at most 120", "seconds")
        if status not in (500, 429, 502, 503):
            raise invalid("status must be 500, 429, 502 or 503", "status")
        if fail is not None:
            self.fail_at, self.fail_status = self.seen + fail, status
            self.fail_times = times
        if lose is not None:
            self.lose_at = self.seen + lose
        if slow is not None:
            self.slow_at, self.slow_seconds = self.seen + slow, float(seconds)

    def clear(self) -> None:
        self.fail_at = self.lose_at = self.slow_at = None

    def slow_now(self) -> float:
        """Seconds the request just counted must wait (0: none)."""
        if self.slow_at == self.seen:
            self.slow_at = None
            self._count("slow")
            return self.slow_seconds
        return 0.0

    def next_request(self) -> tuple[int | None, bool]:
        """Count an API request; say whether to fail it (status) or lose its answer."""
        self.seen += 1
        fail, lose = None, False
        if self.fail_at is not None and self.fail_at <= self.seen:
            fail = self.fail_status
            self._count(str(fail))
            self.fail_times -= 1
            self.fail_at = self.seen + 1 if self.fail_times > 0 else None
        if self.lose_at == self.seen:
            lose, self.lose_at = True, None
            self._count("lost")
        return fail, lose

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests_seen": self.seen,
            "fail_nth": None if self.fail_at is None else self.fail_at - self.seen,
            "status": self.fail_status,
            "times": self.fail_times if self.fail_at is not None else 0,
            "lose_response_nth": None
            if self.lose_at is None
            else self.lose_at - self.seen,
            "fired": dict(self.fired),
        }


faults = Faults()
