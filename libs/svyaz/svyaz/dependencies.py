"""nameko DependencyProviders every service uses: the database and the outbox relay."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import eventlet
from eventlet.queue import Empty, LightQueue
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.extensions import DependencyProvider
from sqlalchemy.orm import Session, sessionmaker

from svyaz import batch as batching
from svyaz import config as settings
from svyaz import signing
from svyaz.context import NONCE, caller, correlation_id, idempotency_key
from svyaz.db import (
    committed,
    guard_owner_role,
    make_cooperative,
    make_engine,
    refuse_owner_role,
)
from svyaz.db import statements as db_statements
from svyaz.nonces import Pending
from svyaz.outbox import OUTBOX_PENDING, Relay

log = logging.getLogger(__name__)
BUSY_RETRY = 0.05  # seconds: a relay that found another at work tries again


class DatabaseHandle:
    """What a worker gets: `with self.db.transaction() as session: ...`."""

    def __init__(self, provider: Database, worker_ctx: Any):
        self._provider = provider
        self._worker_ctx = worker_ctx
        self._command: Session | None = None  # an idempotent command's transaction
        self._after: list[Callable[[], Any]] = []

    @property
    def container(self) -> Any:
        return getattr(self._provider, "container", None)

    @property
    def idempotency_key(self) -> str | None:
        """The key of the command this worker serves, as its caller signed it."""
        return idempotency_key(self._worker_ctx)

    @property
    def signer(self) -> str | None:
        return caller(self._worker_ctx)

    @property
    def pending_nonce(self) -> Pending | None:
        """The nonce of the signed request this worker serves, when the RPC
        consumer left it for the command to take (svyaz.commands)."""
        text = self._worker_ctx.context_data.get(NONCE)
        signer = self.signer
        return Pending.parse(signer, str(text)) if text and signer else None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        if self._command is not None:  # inside a command: a savepoint of its own
            with self._command.begin_nested():
                yield self._command
            return
        running = batching.current()
        if running is not None:
            yield self._join(running)
            return
        session = self._provider.sessionmaker()
        session.info["correlation_id"] = correlation_id(self._worker_ctx)
        with committed(session):
            yield session
        if session.info.get(OUTBOX_PENDING):
            self._provider.committed_events()

    @contextmanager
    def statements(self) -> Iterator[Session]:
        """A session whose every statement commits on its own: for a read, or
        writes each complete in one statement (a session's touch), without the
        two round trips of a BEGIN and a COMMIT. Inside a command or a batch it
        is their transaction, as `transaction()` is."""
        if self._command is not None or batching.current() is not None:
            with self.transaction() as session:
                yield session
            return
        with db_statements(self._provider.engine) as connection:
            session = Session(bind=connection, expire_on_commit=False)
            session.info["correlation_id"] = correlation_id(self._worker_ctx)
            with committed(session):
                yield session

    @contextmanager
    def command_transaction(self) -> Iterator[Session]:
        """One transaction for a whole command (svyaz.commands): every
        `transaction()` the method opens inside it joins it as a savepoint, and
        what waits for the commit (`after_commit`) runs after it."""
        session = self._provider.sessionmaker()
        session.info["correlation_id"] = correlation_id(self._worker_ctx)
        self._command, self._after = session, []
        try:
            with committed(session):
                yield session
        finally:
            self._command, after = None, self._after
            self._after = []
        if session.info.get(OUTBOX_PENDING):
            self._provider.committed_events()
        for hook in after:
            hook()

    def forget_after_commit(self) -> None:
        """What the command's work asked to run after its commit, dropped: that
        work was rolled back (to a savepoint) and only the nonce commits."""
        self._after = []

    def after_commit(self, hook: Callable[[], Any]) -> None:
        """`hook()` once what the worker wrote is committed: at once outside a
        command, after the command's one commit inside it (a rolled-back command
        never runs it)."""
        if self._command is None:
            hook()
        else:
            self._after.append(hook)

    def _join(self, running: batching.Batch) -> Session:
        """A batch's handlers share one session: it commits (or rolls back) when
        the whole batch has been handled, not when a handler's block ends."""
        if running.session is None:
            running.session = self._provider.sessionmaker()
            running.owner = self._provider
        elif running.owner is not self._provider:
            raise RuntimeError("a batched handler uses one database")
        session: Session = running.session
        event = running.current
        session.info["correlation_id"] = (
            event.correlation_id if event else correlation_id(self._worker_ctx)
        )
        return session


class Database(DependencyProvider):
    """A session per transaction, committed or rolled back (no pre-ping: see
    `svyaz.db.make_engine`)."""

    def __init__(self, url_key: str = "DB_URI"):
        self.url_key = url_key

    def setup(self) -> None:
        make_cooperative()
        url = settings.require(self.container.config, self.url_key)
        checked = not settings.is_production(self.container.config)
        if not checked:
            checked = refuse_owner_role(url)
        self.engine = make_engine(
            url, pool_size=self.container.max_workers + 2, max_overflow=4
        )
        if not checked:  # the database did not answer: its first connection
            guard_owner_role(self.engine)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self.on_commit: list[Callable[[], None]] = []

    def committed_events(self) -> None:
        for hook in self.on_commit:
            hook()

    def stop(self) -> None:
        self.engine.dispose()

    def kill(self) -> None:
        self.engine.dispose()

    def get_dependency(self, worker_ctx: Any) -> DatabaseHandle:
        return DatabaseHandle(self, worker_ctx)


class Caller(DependencyProvider):
    """The verified identity that signed the RPC request being served, or None."""

    def get_dependency(self, worker_ctx: Any) -> str | None:
        return caller(worker_ctx)


class OutboxRelay(DependencyProvider):
    """Runs the outbox relay beside the service's entrypoints.

    Woken at once by every commit that wrote an event, and every
    `OUTBOX_POLL_INTERVAL` seconds anyway, so rows left by a crash or by another
    process are published too. One relay at a time works on a database (an
    advisory lock, see `svyaz.outbox`); one that finds another at work tries again
    after `BUSY_RETRY` seconds, so an event a replica commits waits at most that
    long behind another replica's batch. `OUTBOX_RELAY_ENABLED: false` leaves the
    rows for another process (tests use it to stand for a crash between commit and
    publish).
    """

    def setup(self) -> None:
        config = self.container.config
        make_cooperative()
        signing.configure_from_config(config, self.container.service_name)
        self.enabled = str(config.get("OUTBOX_RELAY_ENABLED", True)).lower() not in (
            "false",
            "0",
            "no",
        )
        self.poll_interval = float(config.get("OUTBOX_POLL_INTERVAL", 1.0))
        self.retention_days = int(config.get("OUTBOX_RETENTION_DAYS", 30))
        self.engine = make_engine(
            settings.require(config, "DB_URI"), pool_size=2, max_overflow=0
        )
        self.relay = Relay(
            self.engine,
            config[AMQP_URI_CONFIG_KEY],
            batch_size=int(config.get("OUTBOX_BATCH_SIZE", 500)),
        )
        self._wakeup: LightQueue = LightQueue(maxsize=1)
        self._running = False
        self._gt: Any = None

    def wake(self) -> None:
        if self._wakeup.qsize() == 0:
            try:
                self._wakeup.put_nowait(True)
            except eventlet.queue.Full:
                pass

    def start(self) -> None:
        # every extension's setup() has run by now, the Database's included
        for dependency in self.container.dependencies:
            if isinstance(dependency, Database):
                dependency.on_commit.append(self.wake)
        if self.enabled:
            self._running = True
            self._gt = self.container.spawn_managed_thread(
                self._run, identifier="outbox_relay"
            )

    def _run(self) -> None:
        failures = 0
        last_purge = 0.0
        while self._running:
            if failures:
                wait = min(self.poll_interval * 2**failures, 30.0)
            elif self.relay.busy:  # another replica's relay is at work: soon again
                wait = min(self.poll_interval, BUSY_RETRY)
            else:
                wait = self.poll_interval
            try:
                self._wakeup.get(timeout=wait)
            except Empty:
                pass
            if not self._running:
                break
            try:
                self.relay.drain()
                failures = 0
                now = eventlet.hubs.get_hub().clock()
                if now - last_purge > 3600:
                    self.relay.purge_sent(self.retention_days)
                    last_purge = now
            except Exception as exc:  # noqa: BLE001 - the relay must keep running
                failures += 1
                log.error("outbox relay failed (%s): %s", failures, type(exc).__name__)

    def _halt(self) -> None:
        self._running = False
        self.wake()
        if self._gt is not None:
            self._gt.wait()
            self._gt = None
        self.relay.close()
        self.engine.dispose()

    def stop(self) -> None:
        self._halt()

    def kill(self) -> None:
        self._running = False
        if self._gt is not None:
            self._gt.kill()
            self._gt = None
        self.relay.close()

    def get_dependency(self, worker_ctx: Any) -> Callable[[], None]:
        return self.wake
