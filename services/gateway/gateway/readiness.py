"""The gateway's readiness (`GET /readyz`): its database, the broker, and a
consumer on the RPC queue of every service it calls. The answer is kept for a
couple of seconds: the route is open to everyone, and each check opens a broker
connection."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from svyaz import health, topology

CALLED = ("registry", "stipends", "notifications")
CACHE_SECONDS = 2.0
_lock = threading.Lock()
_last: tuple[float, list[str]] = (0.0, [])


def failing(config: Any, database_ready: Callable[[], bool]) -> list[str]:
    """The names of the checks that fail now (or a moment ago): [] when ready."""
    global _last
    now = time.monotonic()
    with _lock:
        at, answer = _last
        if now - at < CACHE_SECONDS:
            return list(answer)
    checks = health.readiness(
        config, [topology.rpc_queue_name(s) for s in CALLED], database=False
    )
    names: list[str] = []
    if not database_ready():
        names.append("database")
    if not checks.pop("broker"):
        names.append("broker")
    if not all(checks.values()):
        names.append("services")
    with _lock:
        _last = (time.monotonic(), names)
    return names
