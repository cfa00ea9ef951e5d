"""Where the sandbox keeps things: localstripe's store, saved to this instance's file.

localstripe pickles its store to one fixed path (/tmp/localstripe.pickle), so two
sandboxes would overwrite each other; `use_state_file` points the save and the load
at the file given on the command line, written atomically. Writing it is write-behind
and off the request path: while requests change things, a forked child pickles its
copy of the store (copy-on-write: the server does not wait for it) at most once
every FLUSH_SECONDS, or, for a large store, at most once every 1/SHARE times what
the last write took (so writing never takes more than SHARE of the time, however many
objects there are); and at shutdown, in the process. Pickling the whole store in the
server at every change made a long run (10,000 transfers) slower with every transfer.
A SIGKILL loses at most the last interval of changes (0.5 s for a small store, a few
seconds for a very large one), as a crashed process would. Objects of the sandbox's
own (accounts, transfers...) live in the same store, so one file holds everything;
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
_writer: tuple[int, float] | None = None  # a child writing the file: pid, started
_cost = 0.0  # seconds the last write took
FLUSH_SECONDS = 0.5
SHARE = 0.05


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


def _interval() -> float:
    return max(FLUSH_SECONDS, _cost / SHARE)


def flush() -> None:
    """Write the state file now, in this process, if anything changed (start-up,
    shutdown): after any write in progress, so the last one is this one."""
    global _dirty, _last_flush, _scheduled, _cost
    _scheduled = False
    _wait_for_writer(block=True)
    if _dirty:
        _dirty = False
        _last_flush = time.monotonic()
        _dump(store)
        _cost = time.monotonic() - _last_flush


def _wait_for_writer(block: bool) -> bool:
    """Whether no child is writing (any that finished is reaped). A failed write
    leaves the changes to be written again."""
    global _writer, _cost, _dirty
    if _writer is None:
        return True
    pid, started = _writer
    done, status = os.waitpid(pid, 0 if block else os.WNOHANG)
    if done == 0:
        return False
    _writer = None
    _cost = time.monotonic() - started
    if status != 0:
        _dirty = True
    return True


def _write_behind() -> None:
    """Fork a child that writes the file from its copy of the store."""
    global _dirty, _last_flush, _scheduled, _writer
    _scheduled = False
    if not _wait_for_writer(block=False):
        _schedule(0.01)  # still writing: look again shortly
        return
    if not _dirty:
        return
    wait = _last_flush + _interval() - time.monotonic()
    if wait > 0:
        _schedule(wait)
        return
    _dirty = False
    _last_flush = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: write, and leave without running the server's exits
        code = 1
        try:
            _dump(store)
            code = 0
        finally:
            os._exit(code)
    _writer = (pid, _last_flush)
    _schedule(0.01)  # reap it, and write again if things changed meanwhile


def _schedule(wait: float) -> None:
    global _scheduled
    if _scheduled:
        return
    _scheduled = True
    asyncio.get_running_loop().call_later(wait, _write_behind)


def save() -> None:
    """After a changing request: write behind, once the interval since the last
    write is up (localstripe would rewrite the whole file for every object it
    stores)."""
    if not _dirty or _scheduled:
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        flush()  # no loop (start-up, shutdown): now
        return
    _schedule(max(0.0, _last_flush + _interval() - time.monotonic()))


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
    # Stripe's fee on a transfer (the platform's balance transaction) and on a
    # connected account's payout: {"fixed": minor units, "percent": number}
    transfer_fee: dict[str, Any] | None = None
    payout_fee: dict[str, Any] | None = None
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
