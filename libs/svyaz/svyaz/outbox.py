"""The transactional outbox and its relay.

`add(session, event)` writes the event row in the same transaction as the state change
that caused it. The `Relay` publishes committed rows:

- one relay at a time works on a database: each batch's transaction first takes a
  transaction-scoped advisory lock (`pg_try_advisory_xact_lock`); a relay that finds
  it taken returns at once (`RelayReport.busy`) and tries again shortly, instead of
  locking rows the other one's order holds back. The lock goes with the transaction,
  so a relay that dies mid-batch leaves it to the next one at once;
- it locks a batch with `FOR UPDATE SKIP LOCKED` besides (a relay of an older version
  may run beside it during an upgrade), and never uses "highest id sent": sequence
  values commit out of order;
- it keeps per-aggregate order: a row is held back while an older unsent row of the same
  aggregate is not in its batch (locked by another relay, or waiting to be retried);
- it publishes with publisher confirms and `mandatory=True` on one channel and waits for
  the broker's acks for the whole batch at once;
- it marks rows sent only after their confirm, in the transaction that holds the locks;
  a crash before that commit republishes them, and consumers deduplicate by event id;
- a row the broker returns as unroutable (no queue bound) or nacks is not marked sent:
  it records the error, is logged, and is retried with backoff, never silently dropped.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import amqp
import kombu
from amqp import spec
from sqlalchemy import (
    BigInteger,
    DateTime,
    Engine,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, Session, mapped_column

from svyaz import signing, topology
from svyaz.db import PlatformBase
from svyaz.envelope import Event

log = logging.getLogger(__name__)

OUTBOX_PENDING = "svyaz.outbox_pending"
MAX_BACKOFF = 300.0


class OutboxMessage(PlatformBase):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    event_type: Mapped[str] = mapped_column(String(100))
    producer: Mapped[str] = mapped_column(String(64))
    aggregate_id: Mapped[str] = mapped_column(String(200))
    envelope: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("outbox_unsent", "id", postgresql_where=text("sent_at IS NULL")),
        Index(
            "outbox_aggregate_unsent",
            "aggregate_id",
            "id",
            postgresql_where=text("sent_at IS NULL"),
        ),
    )


# the hot path of every producing transaction: a fixed statement handed to the
# driver as it is (no statement built, compiled or looked up per event); it runs
# on the session's connection, in its transaction, and statement listeners see it
_INSERT = (
    "INSERT INTO outbox (event_id, event_type, producer, aggregate_id, envelope)"
    " VALUES (%(event_id)s, %(event_type)s, %(producer)s, %(aggregate_id)s,"
    " %(envelope)s)"
)


def add(session: Session, event: Event) -> uuid.UUID:
    """Record an event to be published once the surrounding transaction commits.

    The row is inserted at once (in the session's transaction), so it takes its
    place in the outbox's order where the state change happened.
    """
    correlation_id = str(session.info.get("correlation_id") or uuid.uuid4())
    session.connection().exec_driver_sql(
        _INSERT,
        {
            "event_id": str(event.event_id),
            "event_type": event.event_type,
            "producer": event.producer,
            "aggregate_id": event.aggregate_id,
            "envelope": json.dumps(event.envelope(correlation_id)),
        },
    )
    session.info[OUTBOX_PENDING] = True
    # every event is a state change someone may ask about later ("was it approved,
    # when, by which request?"): one line with ids only, and the correlation id
    log.info(
        "%s %s (event %s)",
        event.event_type,
        event.aggregate_id,
        event.event_id,
        extra={
            "event_id": str(event.event_id),
            "event_type": event.event_type,
            "correlation_id": correlation_id,
            "change": {"entity": event.aggregate_id, "event": event.event_type},
        },
    )
    return event.event_id


@dataclass
class RelayReport:
    sent: int = 0
    held: int = 0
    busy: bool = False  # another relay holds the database's relay lock
    failed: list[tuple[str, str]] = field(default_factory=list)  # (event_id, error)


RELAY_LOCK = 0x5376_7961_7A00  # advisory lock key: one relay at a time per database
# the relay's statements go to the driver as they are, on a Core connection (no
# ORM session, nothing compiled or looked up): a batch is a handful of them
_LEAD = "SELECT pg_try_advisory_xact_lock(%(key)s)"
_SELECT_BATCH = """
    SELECT id, event_id, event_type, producer, aggregate_id, envelope::text AS envelope,
        attempts
    FROM outbox
    WHERE sent_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= now())
    ORDER BY id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
    """
_UNSENT_OF_AGGREGATES = """
    SELECT aggregate_id, id FROM outbox
    WHERE sent_at IS NULL AND aggregate_id = ANY(%(aggregates)s) AND id <= %(max_id)s
    ORDER BY id
    """
_MARK_SENT = (
    "UPDATE outbox SET sent_at = now(), attempts = attempts + 1, last_error = NULL,"
    " next_attempt_at = NULL WHERE id = ANY(%(ids)s)"
)
_MARK_FAILED = (
    "UPDATE outbox SET attempts = attempts + 1, last_error = %(error)s,"
    " next_attempt_at = now() + make_interval(secs => %(delay)s) WHERE id = %(id)s"
)


# basic.publish's arguments: ticket, exchange, routing key, mandatory, immediate
_PUBLISH_ARGS = "Bssbb"


@contextmanager
def _one_write(connection: Any) -> Iterator[None]:
    """The frames of the publishes made inside the block go to the socket in one
    write when it ends, not in one write (a system call) per message. A block
    that raises sends nothing: its caller closes the connection, and the rows,
    never confirmed, stay unsent. With a transport that does not write through
    `_write` (py-amqp's socket transports do), each frame goes out at once.
    `connection` is py-amqp's, the channel's own (kombu's would open another if
    this one had failed)."""
    transport: Any = getattr(connection, "transport", None)
    write = getattr(transport, "_write", None)
    if write is None:
        yield
        return
    frames: list[bytes] = []
    # py-amqp reuses one buffer for every frame: copy each one
    transport._write = lambda data: frames.append(bytes(data))
    try:
        yield
    finally:
        transport._write = write
    write(b"".join(frames))


def in_order(batch: Sequence[Any], unsent: list[tuple[str, int]]) -> list[Any]:
    """The rows of `batch` that no older unsent row of their aggregate waits before."""
    ids = {row.id for row in batch}
    blocked: set[str] = set()
    eligible: set[int] = set()
    for aggregate_id, row_id in unsent:
        if aggregate_id in blocked:
            continue
        if row_id in ids:
            eligible.add(row_id)
        else:
            blocked.add(aggregate_id)
    return [row for row in batch if row.id in eligible]


class Relay:
    """Publishes committed outbox rows of one database to RabbitMQ."""

    def __init__(
        self,
        engine: Engine,
        amqp_uri: str,
        *,
        batch_size: int = 500,
        confirm_timeout: float = 15.0,
    ):
        self.engine = engine
        self.amqp_uri = amqp_uri
        self.batch_size = batch_size
        self.confirm_timeout = confirm_timeout
        self._connection: kombu.Connection | None = None
        self._channel: Any = None
        self._declared: dict[str, str] = {}  # producer -> its exchange's name
        self.busy = False  # the last batch found another relay at work

    # -- AMQP ------------------------------------------------------------------
    def _ensure_channel(self) -> Any:
        if self._channel is None:
            self._connection = kombu.Connection(self.amqp_uri, heartbeat=0)
            self._connection.ensure_connection(max_retries=3)
            channel = self._connection.connection.channel()
            channel.confirm_select()
            self._channel = channel
            self._declared = {}
            self._next_tag = 1
        return self._channel

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.release()
            except Exception as exc:  # noqa: BLE001 - closing a broken connection
                log.debug("closing the relay's connection: %s", type(exc).__name__)
        self._connection = None
        self._channel = None

    def _declare(self, channel: Any, producer: str) -> str:
        """The name of `producer`'s events exchange, declared once per channel."""
        name = self._declared.get(producer)
        if name is None:
            exchange = topology.events_exchange(producer)
            channel.exchange_declare(
                exchange.name, exchange.type, durable=True, auto_delete=False
            )
            name = self._declared[producer] = str(exchange.name)
        return name

    def _publish(self, rows: Sequence[Any]) -> dict[int, str | None]:
        """Publish rows; return {row id: None if confirmed, else the error}."""
        channel = self._ensure_channel()
        outcome: dict[int, str | None] = {}
        by_tag: dict[int, int] = {}
        by_message_id: dict[str, int] = {}
        returned: dict[int, str] = {}

        def on_ack(tag: int, multiple: bool) -> None:
            for t in [k for k in by_tag if (k <= tag if multiple else k == tag)]:
                row_id = by_tag.pop(t)
                outcome[row_id] = returned.get(row_id)

        def on_nack(tag: int, multiple: bool) -> None:
            for t in [k for k in by_tag if (k <= tag if multiple else k == tag)]:
                outcome[by_tag.pop(t)] = "nacked by the broker"

        def on_return(exc: Any, exchange: str, routing_key: str, msg: Any) -> None:
            row_id = by_message_id.get(str(msg.properties.get("message_id")))
            if row_id is not None:
                returned[row_id] = (
                    f"unroutable: no queue is bound to {exchange} for {routing_key}"
                )

        channel.events["basic_ack"].add(on_ack)
        channel.events["basic_nack"].add(on_nack)
        channel.events["basic_return"].add(on_return)
        try:
            for producer in {row.producer for row in rows}:
                # a declare waits for the broker's answer: before the one write
                self._declare(channel, producer)
            with _one_write(channel.connection):
                self._send(channel, rows, by_tag, by_message_id)
            deadline = time.monotonic() + self.confirm_timeout
            while by_tag:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{len(by_tag)} publisher confirms missing")
                # py-amqp's connection under the channel: kombu's would open a new
                # one if this one failed, and wait there for confirms that cannot
                # come (see `svyaz.batch_handler`); this one raises
                channel.connection.drain_events(timeout=remaining)
        except Exception:
            self.close()
            raise
        finally:
            if self._channel is not None:
                channel.events["basic_ack"].discard(on_ack)
                channel.events["basic_nack"].discard(on_nack)
                channel.events["basic_return"].discard(on_return)
        return outcome

    def _send(
        self,
        channel: Any,
        rows: Sequence[Any],
        by_tag: dict[int, int],
        by_message_id: dict[str, int],
    ) -> None:
        """Sign and publish each row, noting its delivery tag. The envelope is
        sealed as the database writes it out (`envelope::text`): not read into
        objects and written again for every message."""
        for row in rows:
            exchange = self._declare(channel, row.producer)
            route = signing.Route(row.event_type, signer=row.producer)
            with signing.publishing(route):
                body = signing.encode_event(
                    row.envelope, row.event_type, str(row.event_id)
                )
            message = amqp.Message(
                body,
                content_type=signing.CONTENT_TYPE,
                content_encoding="utf-8",
                delivery_mode=2,
                message_id=str(row.event_id),
                application_headers={"event_type": row.event_type},
            )
            # py-amqp's `basic_publish` first reads the socket (a timeout of 0: a
            # settimeout, a recv that finds nothing, an exception) for a
            # connection.blocked notice, once per message: 4% of a consumer's CPU
            # in bench/event_hop (2026-12-08). The batch's confirms are read once
            # it is written, and any notice with them; so the method is sent as
            # it is, mandatory (the fourth argument), not immediate.
            channel.send_method(
                spec.Basic.Publish,
                _PUBLISH_ARGS,
                (0, exchange, row.event_type, True, False),
                message,
            )
            by_tag[self._next_tag] = row.id
            by_message_id[str(row.event_id)] = row.id
            self._next_tag += 1

    # -- the database side -------------------------------------------------------
    def publish_pending(self) -> RelayReport:
        """Publish one batch of committed rows; return what happened."""
        report = RelayReport()
        with self.engine.begin() as conn:
            if not conn.exec_driver_sql(_LEAD, {"key": RELAY_LOCK}).scalar():
                report.busy = True
                return report
            batch = conn.exec_driver_sql(
                _SELECT_BATCH, {"limit": self.batch_size}
            ).all()
            if not batch:
                return report
            aggregates = sorted({row.aggregate_id for row in batch})
            unsent = conn.exec_driver_sql(
                _UNSENT_OF_AGGREGATES,
                {"aggregates": aggregates, "max_id": max(row.id for row in batch)},
            ).all()
            rows = in_order(batch, [(u.aggregate_id, u.id) for u in unsent])
            report.held = len(batch) - len(rows)
            if not rows:
                return report
            outcome = self._publish(rows)
            sent = [row_id for row_id, error in outcome.items() if error is None]
            if sent:
                conn.exec_driver_sql(_MARK_SENT, {"ids": sent})
            for row in rows:
                error = outcome.get(row.id, "no confirm")
                if error is None:
                    continue
                delay = min(2.0**row.attempts, MAX_BACKOFF)
                conn.exec_driver_sql(
                    _MARK_FAILED, {"id": row.id, "error": error, "delay": delay}
                )
                report.failed.append((str(row.event_id), error))
                log.error(
                    "event %s (%s) not published: %s; retrying in %.0fs",
                    row.event_id,
                    row.event_type,
                    error,
                    delay,
                    extra={"event_id": str(row.event_id), "event_type": row.event_type},
                )
            report.sent = len(sent)
        return report

    def drain(self, on_batch: Callable[[RelayReport], None] | None = None) -> int:
        """Publish batches until a batch comes back short, or another relay is at
        work (`busy` says which); return how many were sent."""
        total = 0
        while True:
            report = self.publish_pending()
            self.busy = report.busy
            total += report.sent
            if on_batch is not None:
                on_batch(report)
            seen = report.sent + report.held + len(report.failed)
            if report.sent == 0 or seen < self.batch_size:
                return total

    def purge_sent(self, older_than_days: int) -> int:
        with Session(self.engine) as session, session.begin():
            result = session.execute(
                text(
                    "DELETE FROM outbox WHERE sent_at < now() - make_interval("
                    "days => :days)"
                ),
                {"days": older_than_days},
            )
            return int(getattr(result, "rowcount", 0) or 0)
