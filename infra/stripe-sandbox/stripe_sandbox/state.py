"""Where the sandbox keeps things: localstripe's store, saved to this instance's file.

localstripe pickles its store to one fixed path (/tmp/localstripe.pickle), so two
sandboxes would overwrite each other; `use_state_file` points the save and the load
at the file given on the command line, written atomically. Writing it is write-behind:
at most once every FLUSH_SECONDS while requests change things, and at shutdown; the
whole store is pickled each time, so a write per request made a long run (10,000
transfers) slower with every transfer. A SIGKILL loses at most the last
FLUSH_SECONDS of changes, as a crashed process would. Objects of the sandbox's own
(accounts, transfers...) live in the same store, so one file holds everything;
bookkeeping that is not a Stripe object sits under "sandbox:" keys.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import pickle
import secrets
import string
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localstripe import resources

store = resources.store
_path: Path | None = None
_dirty = False
_last_flush = 0.0
_scheduled = False
FLUSH_SECONDS = 0.5


def _mark(self: Any) -> None:
    """localstripe calls this on every change; the write waits for `save`."""
    global _dirty
    _dirty = True


def _dump(self: Any) -> None:
    if _path is None:
        return
    fd, tmp = tempfile.mkstemp(dir=_path.parent, prefix=_path.name, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        pickle.dump(dict(self), f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, _path)


def _load(self: Any) -> None:
    if _path is None or not _path.exists():
        return
    with _path.open("rb") as f:
        saved = pickle.load(f)  # our own file, written by _dump
    dict.clear(self)
    dict.update(self, saved)


def use_state_file(path: Path) -> None:
    global _path
    _path = path.resolve()
    _path.parent.mkdir(parents=True, exist_ok=True)
    resources.Store.dump_to_disk = _mark  # type: ignore[method-assign]
    resources.Store.try_load_from_disk = _load  # type: ignore[method-assign]
    store.try_load_from_disk()


def flush() -> None:
    """Write the state file now if anything changed."""
    global _dirty, _last_flush, _scheduled
    _scheduled = False
    if _dirty:
        _dirty = False
        _last_flush = time.monotonic()
        _dump(store)


def save() -> None:
    """After a changing request: write now if the last write is FLUSH_SECONDS old,
    else once that time is up (localstripe would rewrite the whole file for every
    object it stores)."""
    global _scheduled
    if not _dirty:
        return
    wait = _last_flush + FLUSH_SECONDS - time.monotonic()
    if wait <= 0:
        flush()
        return
    if not _scheduled:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            flush()  # no loop (start-up, shutdown): now
            return
        _scheduled = True
        loop.call_later(wait, flush)


def new_id(prefix: str, n: int = 24) -> str:
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(n))


@dataclass
class Settings:
    """Run-time settings; the control API changes them, a restart resets them."""

    idempotency_ttl: float = 24 * 3600.0
    payout_outcome: str = "paid"  # paid | failed | manual
    payout_after: float = 1.0
    payout_failure_code: str = "account_closed"
    link_ttl: int = 300
    platform_funds: str = "unlimited"  # or "enforced": transfers need the balance
    public_url: str | None = None  # base of account-link URLs; default: Host header
    request_log: str | None = None  # a file: every API request appended as JSON
    extra: dict[str, Any] = field(default_factory=dict)


settings = Settings()


@dataclass
class RequestInfo:
    id: str
    idempotency_key: str | None


current_request: contextvars.ContextVar[RequestInfo | None] = contextvars.ContextVar(
    "current_request", default=None
)
