"""Database plumbing shared by every service: engines, the platform tables' base.

Each service has its own database, its own declarative `Base` for its own tables, and a
copy of the platform tables (`outbox`, `processed_events`) declared on `PlatformBase`
and created by each service's first migration through `svyaz.migrations`.
"""

from __future__ import annotations

import itertools
import logging
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import eventlet.patcher
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import NullPool

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


# the server is going away, starting, or is a standby that takes no writes (a
# failover in progress): admin_shutdown, crash_shutdown, cannot_connect_now,
# read_only_sql_transaction; and every connection_exception (class 08)
_UNAVAILABLE_CODES = frozenset({"57P01", "57P02", "57P03", "25006"})


def unavailable(exc: BaseException) -> bool:
    """Did this fail because the database cannot be reached or written just now
    (a restart, a failover, a pooler waiting for its server), not because of what
    the statement did? Work that is safe to repeat may wait for it to come back."""
    if is_disconnect(exc) or isinstance(exc, (DisconnectionError, PoolTimeout)):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    code = getattr(exc.orig, "pgcode", None)
    if code is None:  # no answer from a server at all: it could not be reached
        return isinstance(exc, OperationalError)
    return code in _UNAVAILABLE_CODES or code.startswith("08")


OUTAGE_PATIENCE = 60.0  # seconds `retrying` waits for the database to come back


OWNED_TABLES = """
    SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
      AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
"""


def _owner_refused(user: str) -> Exception:
    from svyaz.config import ConfigurationError

    return ConfigurationError(
        f"DB_URI connects as {user}, which owns the service's tables: connect "
        "as the service's runtime role (svyaz_<service>_app), which the "
        "migrations grant its rows (docs/operations.md, Least privilege)"
    )


def refuse_owner_role(url: str) -> bool:
    """Refuse (ConfigurationError) a service that would connect as the role that
    owns its tables: it must connect as its runtime role, which owns nothing
    (`svyaz.migrations.grant_runtime_role`), or a stolen password could alter its
    tables and disable the ledger's triggers. Checked at start-up, in production;
    a database that cannot be reached then is not waited for (the service waits
    for it as in any outage): False, and the caller checks the first connection
    its engine opens instead (`guard_owner_role`)."""
    import psycopg2

    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            user = conn.execute(text("SELECT current_user")).scalar_one()
            owned = conn.execute(text(OWNED_TABLES)).scalar_one()
    except (DBAPIError, psycopg2.Error) as exc:
        log.warning(
            "the database cannot be reached at start-up (%s): whether DB_URI's "
            "role owns its tables is checked when it answers",
            type(getattr(exc, "orig", None) or exc).__name__,
        )
        return False
    finally:
        engine.dispose()
    if owned:
        raise _owner_refused(user)
    return True


def guard_owner_role(engine: Engine) -> None:
    """`refuse_owner_role` for a database that did not answer at start-up: made
    on each connection `engine` opens, before anything of the service's runs on
    it, until one passes. A connection as the owner is closed and refused
    (ConfigurationError, logged): the service does no work with it."""
    passed = False

    def check(dbapi_connection: Any, record: Any) -> None:
        nonlocal passed
        if passed:
            return
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"SELECT current_user, ({OWNED_TABLES})")
            user, owned = cursor.fetchone()
        finally:
            cursor.close()
            dbapi_connection.rollback()
        if owned:
            dbapi_connection.close()
            refused = _owner_refused(user)
            log.error("%s", refused)
            raise refused
        passed = True
        log.info("the database answers: DB_URI's role owns none of its tables")

    event.listen(engine, "connect", check)


class ServiceStopping(Exception):
    """The service is stopping while its database is unavailable: the work is given
    back (an event handler's message goes back on its queue, neither parked nor
    counted as a failure), not waited for."""


def _never() -> bool:
    return False


def retrying(
    work: Callable[[], T],
    patience: float = OUTAGE_PATIENCE,
    sleep: Callable[[float], Any] = eventlet.sleep,
    clock: Callable[[], float] = time.monotonic,
    stopping: Callable[[], bool] = _never,
) -> T:
    """`work()`, again when the database could not be reached or its connection
    died under it (`unavailable`): at once the first time, then with backoff (up
    to 2 s, so work resumes soon after it is back) until `patience` seconds have
    passed, then the error is raised. For work that is safe to do again, as an
    event handler is (its inbox row commits with its effect, or neither does).

    An event handler's message waits here, unacknowledged, through a restart or a
    failover: put back on its queue instead, each try would count towards the
    delivery limit that parks poison messages, and an outage of a few seconds
    would park every event in flight.

    When `stopping()` says the service is stopping, the wait ends at once with
    `ServiceStopping` (a stop would otherwise wait out `patience` for each held
    handler): the message goes back on its queue for a replica or the next start."""
    began = clock()
    for attempt in itertools.count(1):
        try:
            return work()
        except (DBAPIError, DisconnectionError, PoolTimeout) as exc:
            waited = clock() - began
            if not unavailable(exc) or waited >= patience:
                raise
            cause = type(getattr(exc, "orig", None) or exc).__name__
            if attempt == 1:
                log.warning("the database is unavailable (%s); trying again", cause)
                continue
            if stopping():
                raise ServiceStopping(
                    f"the database is unavailable ({cause}) and the service is "
                    "stopping: the work is given back"
                ) from exc
            pause = min(0.25 * 2 ** (attempt - 2), 2.0, max(patience - waited, 0.0))
            if attempt == 2 or attempt % 10 == 0:
                log.warning(
                    "the database is still unavailable (%s) after %.1f s; waiting "
                    "up to %.0f s for it",
                    cause,
                    waited,
                    patience,
                )
            sleep(pause)
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


@contextmanager
def statements(engine: Engine) -> Iterator[Connection]:
    """A pooled connection on which every statement commits on its own, for a read
    or a write that is whole in one statement: one round trip where a transaction
    costs three (BEGIN, the statement, COMMIT). psycopg2's autocommit is switched on
    for the block and off again before the connection goes back to the pool
    (SQLAlchemy's AUTOCOMMIT isolation level would cost a SET on each return)."""
    with engine.connect() as connection:
        raw: Any = connection.connection.dbapi_connection  # psycopg2's connection
        raw.autocommit = True
        try:
            yield connection
        finally:
            if not raw.closed:
                raw.autocommit = False
