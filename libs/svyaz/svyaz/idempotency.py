"""A caller's idempotency key, bound to its work (see `svyaz.commands`, the service's
side): a console form's hidden field, an API request's `Idempotency-Key`, a CLI's
invocation. The caller's RPC proxy derives one key per method called
(`<key>.<service>.<method>.<n>`), so one form whose handler calls two commands, or one
command twice, keeps them apart, and the same form sent again derives the same keys.

Apart from the service's side, which needs the database: a CLI imports this and
not SQLAlchemy (a third of its start-up).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

KEY_LENGTH = (8, 64)  # characters of a caller's key (a uuid is 32 or 36)
KEY_CHARACTERS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
)


def valid_key(value: Any) -> bool:
    """Is `value` shaped like a caller's key (8 to 64 letters, digits, - and _)?"""
    low, high = KEY_LENGTH
    return (
        isinstance(value, str)
        and low <= len(value) <= high
        and set(value) <= KEY_CHARACTERS
    )


class _Binding:
    def __init__(self, key: str) -> None:
        self.key = key
        self.calls: dict[str, int] = {}


_local = threading.local()  # green-local under eventlet's monkey patch


@contextmanager
def keyed(key: str | None) -> Iterator[None]:
    """The RPC calls this green thread makes inside the block carry keys derived
    from `key` (None: no key, as before)."""
    previous = getattr(_local, "binding", None)
    _local.binding = _Binding(key) if key else None
    try:
        yield
    finally:
        _local.binding = previous


def bind(key: str | None) -> None:
    """Bind `key` to this thread for good (a CLI's whole invocation)."""
    _local.binding = _Binding(key) if key else None


def current_key() -> str | None:
    """The key bound to this thread's work, if any."""
    binding: _Binding | None = getattr(_local, "binding", None)
    return binding.key if binding else None


def key_for(service: str, method: str) -> str | None:
    """The key of the next call of `service.method` in the bound work, or None."""
    binding: _Binding | None = getattr(_local, "binding", None)
    if binding is None:
        return None
    route = f"{service}.{method}"
    count = binding.calls.get(route, 0)
    binding.calls[route] = count + 1
    return f"{binding.key}.{route}.{count}"
