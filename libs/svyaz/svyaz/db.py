"""Database plumbing shared by every service: engines, the platform tables' base.

Each service has its own database, its own declarative `Base` for its own tables, and a
copy of the platform tables (`outbox`, `processed_events`) declared on `PlatformBase`
and created by each service's first migration through `svyaz.migrations`.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import eventlet.patcher
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase

log = logging.getLogger(__name__)
T = TypeVar("T")

_patched = False


def make_cooperative() -> None:
    """Let psycopg2 yield to other green threads while it waits on the server."""
    global _patched
    if not _patched:
        from psycogreen.eventlet import patch_psycopg

        patch_psycopg()
        _patched = True


def make_engine(url: str, **options: Any) -> Engine:
    """An engine with no pre-ping (a `SELECT 1` round trip on every checkout, 10%
    of a producer's time): a pooled connection is checked instead by looking at
    its socket, with no round trip (`refuse_closed`), and a connection that dies
    during a transaction fails that transaction, which its caller retries
    (`retrying`; an event handler's worker does, a message would come again)."""
    options.setdefault("pool_pre_ping", False)
    options.setdefault("pool_size", 10)
    options.setdefault("max_overflow", 5)
    options.setdefault("pool_recycle", 1800)
    engine = create_engine(url, **options)
    if not options["pool_pre_ping"]:
        event.listen(engine, "checkout", refuse_closed)
    return engine


_select = eventlet.patcher.original("select")
_READABLE = _select.POLLIN | _select.POLLERR | _select.POLLHUP


def refuse_closed(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """At checkout: a pooled connection that is idle has nothing to read; if its
    socket is readable, the server has closed it (a terminated backend sends its
    FATAL message, then EOF), and the pool takes a new one. A `poll` with no
    timeout: no round trip to the server (pre-ping's cost)."""
    if dbapi_connection.closed:
        raise DisconnectionError("the connection is closed")
    poller = _select.poll()
    poller.register(dbapi_connection.fileno(), _READABLE)
    if poller.poll(0):
        raise DisconnectionError("the server closed the connection")


def is_disconnect(exc: BaseException) -> bool:
    """Did this fail because the database connection died (not because of what
    the statement did)? Then the same work may be retried on a new one."""
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def retrying(work: Callable[[], T], attempts: int = 3) -> T:
    """`work()`, again (on a new connection) when a dead database connection
    failed it: for work that is safe to do again, as an event handler is (its
    inbox row commits with its effect, or neither does)."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except DBAPIError as exc:
            if not is_disconnect(exc) or attempt == attempts:
                raise
            log.warning(
                "the database connection died (%s); retrying (%s)",
                type(exc.orig).__name__,
                attempt,
            )
    raise AssertionError("unreachable")


class PlatformBase(DeclarativeBase):
    """Declarative base of the platform tables that live in every service database."""


def copy_in(session: Any, statement: str, lines: Iterable[bytes]) -> None:
    """COPY ... FROM STDIN from `lines` (CSV bytes) on the session's connection.

    psycopg2 cannot COPY under a wait callback (the green one above), so the lines
    are first spooled to a temporary file (their producer may wait on the network and
    let other green threads run), then copied with the callback suspended: reading a
    local file never yields, so no other green thread runs until it is back. Memory
    stays flat: the spool moves to disk past a few megabytes."""
    import psycopg2.extensions

    with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as spool:
        for line in lines:
            spool.write(line)
        spool.seek(0)
        cursor = session.connection().connection.cursor()
        saved = psycopg2.extensions.get_wait_callback()
        psycopg2.extensions.set_wait_callback(None)
        try:
            cursor.copy_expert(statement, spool)
        finally:
            psycopg2.extensions.set_wait_callback(saved)
            cursor.close()


@contextmanager
def committed(session: Any) -> Iterator[Any]:
    """A session as one transaction: committed when the block ends, rolled back
    when it raises, closed either way."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
