"""Oversight of parked bus messages: list, retry and discard what a service's
dead-letter queues hold, every action audited in the service's own database.

A service gains it by inheriting `ParkedMessagesEntrypoints` (nameko finds entrypoints
and dependencies on base classes):

    class RegistryService(ParkedMessagesEntrypoints):
        ...

Its dead-letter queues are those of its own queues (see `svyaz.topology`): one
`<service>.<handler>.dlq` per event handler and `rpc-<service>.dlq`.

How a dead-letter queue is read, and why this way: each message is taken with
`basic.get` and held unacknowledged on a channel of our own; the channel is closed
when the reading is done, and the broker puts back every message it held, in the
order it had them. Nothing is rejected or nacked: RabbitMQ 4 counts an explicit
requeue against a quorum queue's delivery limit (20 by default there, and our
dead-letter queues set none and have no dead-letter exchange: a message past it would
be dropped), while a return on a closed channel is not counted. On 3.10 (the version
we run) a quorum queue counts both in `x-delivery-count` but has no default limit;
this module never reads that counter as "times parked". The management API's `get`
is the same `basic.get` with a requeue, needs the management plugin and a password
the services do not hold, so it is not used. While one reading holds the messages, a
second one running at the same moment sees fewer of them: a listing is a snapshot,
and a retry or discard of a message another reading holds answers `NotFound` and can
be repeated.

What the listing says of a message comes from its headers and its signed stamp
(`svyaz.signing.read_stamp`), never from its body: the body is sealed and stays so.
A retry republishes the body and the publisher's headers unchanged (the stamp, its
signature and nonce with them) to the queue the message came from, then removes it
from the dead-letter queue. An event handler takes an event up to `INBOX_KEEP_DAYS`
old (svyaz.inbox) and its inbox makes a second copy of an event already handled do
nothing; an older one is parked again as too old. An RPC request is never
retried: its caller gave up long ago (after `RPC_TIMEOUT`), the consumer refuses a
request older than `BUS_RPC_MAX_AGE` anyway, and a replayed copy is one whose first
copy was carried out and answered.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import amqp.exceptions
import kombu
from marshmallow import Schema, fields, validate
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.extensions import DependencyProvider
from sqlalchemy import BigInteger, DateTime, Engine, String, Text, func, select
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from svyaz import arguments, signing, topology
from svyaz import config as settings
from svyaz.actors import ADMIN, Actor
from svyaz.consuming import (
    ATTEMPTS_HEADER,
    PARKED_AT_HEADER,
    QUEUE_HEADER,
    REASON_HEADER,
    TIMES_PARKED_HEADER,
)
from svyaz.db import PlatformBase, committed, make_cooperative, make_engine
from svyaz.errors import Conflict, InvalidInput, NotFound, ServiceError
from svyaz.keys import GATEWAY
from svyaz.rpc import REPLAYED_COPY, Rpc, rpc
from svyaz.single_handler import EventHandler

log = logging.getLogger(__name__)

# what the broker adds on its own; a retried message goes back without them, or
# its consumer would count the dead-letter queue's deliveries as its own attempts
BROKER_HEADERS = frozenset(
    {
        "x-delivery-count",
        "x-death",
        "x-first-death-exchange",
        "x-first-death-queue",
        "x-first-death-reason",
        "x-last-death-exchange",
        "x-last-death-queue",
        "x-last-death-reason",
    }
)

_OLD_REPLAYED = "refused: replayed: its nonce was already used"  # before REPLAYED_COPY

WHY_NOT_REPLAYED = (
    "a replayed copy: its first copy was carried out and answered, so there is "
    "nothing to do again; discard it"
)
WHY_NOT_RPC = (
    "an RPC request: its caller gave up waiting long ago, and the service refuses a "
    f"request signed more than BUS_RPC_MAX_AGE ({45} s by default) before; the "
    "person should do it again"
)
WHY_NOT_UNSIGNED = "not a signed svyaz message: it would be refused again; discard it"
WHY_NOT_UNKNOWN_QUEUE = "the queue it came from is not one of this service's"

# the broker's own reasons for dead-lettering (x-death), in words
BROKER_REASONS = {
    "expired": "expired: nobody took it within the queue's time limit",
    "delivery_limit": "delivery limit: its consumer failed on it too many times",
    "rejected": "rejected by its consumer",
    "maxlen": "the queue was full",
}

RETRY, DISCARD = "retry", "discard"
BUS_MESSAGE, DELIVERY = "bus_message", "delivery"
# outcomes of an audited action
STARTED, RETRIED, DISCARDED = "started", "retried", "discarded"
NOT_FOUND, REFUSED = "not_found", "refused"

MAX_LIMIT = 500
SCAN_LIMIT = 10_000  # messages looked at per queue when finding one by id


# -- what a parked message is ----------------------------------------------------------
@dataclass(frozen=True)
class ParkedMessage:
    """A parked message as an operator sees it: where it came from, why it was
    parked, when, how often, whether it can be retried. Nothing of its body."""

    id: str
    queue: str
    dead_letter_queue: str
    kind: str  # event | rpc_request | unknown
    route: str  # the event type, or the RPC method `service.method`
    event_id: str | None
    signer: str | None
    signed_at: datetime | None
    reason: str
    parked_at: datetime | None
    attempts: int
    times_parked: int
    retryable: bool
    why_not: str | None


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        found = datetime.fromisoformat(_text(value))
    except ValueError:
        return None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def _first_death(headers: dict[str, Any]) -> dict[str, Any]:
    deaths = headers.get("x-death") or []
    return dict(deaths[0]) if deaths and isinstance(deaths[0], dict) else {}


def message_id(body: bytes | str, properties: dict[str, Any]) -> str:
    """A stable id: the signed stamp's nonce, else the AMQP message_id, else a hash
    of the bytes (a message that is not a signed svyaz message)."""
    try:
        return signing.read_stamp(body)[0].nonce
    except signing.InvalidSignature:
        pass
    if properties.get("message_id"):
        return _text(properties["message_id"])
    raw = body if isinstance(body, bytes) else body.encode()
    return "sha256:" + hashlib.sha256(raw).hexdigest()[:32]


def describe(
    body: bytes | str,
    properties: dict[str, Any],
    headers: dict[str, Any],
    dead_letter_queue: str,
) -> ParkedMessage:
    """What the listing says of one parked message (headers and stamp only)."""
    death = _first_death(headers)
    origin = _text(headers.get(QUEUE_HEADER)) or _text(death.get("queue"))
    origin = origin or dead_letter_queue.removesuffix(".dlq")
    try:
        stamp: signing.Stamp | None = signing.read_stamp(body)[0]
    except signing.InvalidSignature:
        stamp = None
    reason = _text(headers.get(REASON_HEADER))
    if not reason and death:
        broker = _text(death.get("reason"))
        reason = BROKER_REASONS.get(broker, f"dead-lettered by the broker: {broker}")
    if reason == _OLD_REPLAYED:
        reason = REPLAYED_COPY
    rpc = origin.startswith(f"{topology.rpc_queue_name('')}")
    if rpc:
        kind = "rpc_request"
    elif stamp is not None and stamp.ident:
        kind = "event"
    else:
        kind = "unknown"
    if reason == REPLAYED_COPY:
        why_not: str | None = WHY_NOT_REPLAYED
    elif rpc:
        why_not = WHY_NOT_RPC
    elif stamp is None or kind != "event":
        why_not = WHY_NOT_UNSIGNED
    else:
        why_not = None
    return ParkedMessage(
        id=message_id(body, properties),
        queue=origin,
        dead_letter_queue=dead_letter_queue,
        kind=kind,
        route=stamp.route if stamp else "",
        event_id=stamp.ident or None if stamp else None,
        signer=stamp.signer if stamp else None,
        signed_at=datetime.fromtimestamp(stamp.ts, UTC) if stamp else None,
        reason=reason or "no reason recorded",
        parked_at=_when(headers.get(PARKED_AT_HEADER)) or _when(death.get("time")),
        attempts=_int(headers.get(ATTEMPTS_HEADER), _int(death.get("count"), 1)),
        times_parked=_int(headers.get(TIMES_PARKED_HEADER), 1),
        retryable=why_not is None,
        why_not=why_not,
    )


def retry_headers(headers: dict[str, Any]) -> dict[str, Any]:
    """The publisher's headers (the parking reason kept, for the record), without
    the broker's own delivery annotations."""
    return {k: v for k, v in headers.items() if k not in BROKER_HEADERS}


# -- the broker ------------------------------------------------------------------------
class NotRetryable(Conflict):
    """This parked message cannot be retried (see its `why_not`)."""


class ParkedMessageNotFound(NotFound):
    """No parked message with this id."""


@dataclass(frozen=True)
class QueueDepth:
    queue: str
    dead_letter_queue: str
    depth: int


class DeadLetters:
    """The dead-letter queues of one service's queues, on one broker. Plain
    object: no nameko; each call opens and closes its own connection."""

    def __init__(self, amqp_uri: str, queues: list[str]):
        self.amqp_uri = amqp_uri
        self.queues = sorted(set(queues))  # the queues whose parked messages these are

    @contextmanager
    def _channel(self) -> Iterator[Any]:
        with kombu.Connection(self.amqp_uri, connect_timeout=10) as connection:
            channel = connection.channel()
            try:
                yield channel
            finally:
                # every message taken and not acked goes back, in its order, and
                # uncounted against a delivery limit (see the module's docstring)
                try:
                    channel.close()
                except (OSError, amqp.exceptions.AMQPError):
                    pass

    def _held(self, channel: Any, queue: str, limit: int) -> Iterator[Any]:
        """The parked messages of `queue`, each taken and held unacked."""
        parking = topology.parking_queue(queue)
        parking.bind(channel).declare()  # as Parking does: idempotent
        for _ in range(limit):
            message = channel.basic_get(parking.name, no_ack=False)
            if message is None:
                return
            yield message

    @staticmethod
    def _facts(message: Any, dead_letter_queue: str) -> ParkedMessage:
        properties = dict(message.properties or {})
        headers = dict(properties.get("application_headers") or {})
        return describe(message.body, properties, headers, dead_letter_queue)

    def depths(self) -> list[QueueDepth]:
        out = []
        with self._channel() as channel:
            for queue in self.queues:
                parking = topology.parking_queue(queue)
                parking.bind(channel).declare()
                count = channel.queue_declare(queue=parking.name, passive=True)[1]
                out.append(QueueDepth(queue, parking.name, int(count or 0)))
        return out

    def list(self, limit: int) -> list[ParkedMessage]:
        """Up to `limit` parked messages, queue by queue, oldest first; all of them
        stay parked."""
        found: list[ParkedMessage] = []
        with self._channel() as channel:
            for queue in self.queues:
                left = limit - len(found)
                if left <= 0:
                    break
                dlq = topology.parking_queue(queue).name
                found += [self._facts(m, dlq) for m in self._held(channel, queue, left)]
        return found

    def act(self, ident: str, action: str) -> ParkedMessage:
        """Retry or discard the parked message `ident`; its facts. A retry
        republishes it to its queue first and removes it from the dead-letter
        queue only once the broker has confirmed it: a crash in between leaves
        it in both (a second retry, or the inbox, makes that safe)."""
        with self._channel() as channel:
            for queue in self.queues:
                dlq = topology.parking_queue(queue).name
                for message in self._held(channel, queue, SCAN_LIMIT):
                    properties = dict(message.properties or {})
                    if message_id(message.body, properties) != ident:
                        continue
                    facts = self._facts(message, dlq)
                    if action == RETRY:
                        self._retry(message, facts)
                    channel.basic_ack(message.delivery_tag)
                    return facts
        raise ParkedMessageNotFound(
            f"no parked message {ident!r} in this service's dead-letter queues "
            "(it may have been retried or discarded already)",
            "parked_message_not_found",
        )

    def _retry(self, message: Any, facts: ParkedMessage) -> None:
        if not facts.retryable:
            raise NotRetryable(f"cannot retry: {facts.why_not}", "not_retryable")
        if facts.queue not in self.queues:
            raise NotRetryable(
                f"cannot retry: {WHY_NOT_UNKNOWN_QUEUE}", "not_retryable"
            )
        try:
            signing.decode(message.body)  # refused again? then say so now
        except signing.InvalidSignature as exc:
            raise NotRetryable(
                f"cannot retry: its signature is not accepted ({exc})", "not_retryable"
            ) from None
        properties = dict(message.properties or {})
        headers = dict(properties.get("application_headers") or {})
        with kombu.Connection(
            self.amqp_uri, transport_options={"confirm_publish": True}
        ) as connection:
            try:  # the queue it came from, as it is: never created here
                connection.channel().queue_declare(queue=facts.queue, passive=True)
            except amqp.exceptions.NotFound:
                raise NotRetryable(
                    f"cannot retry: the queue {facts.queue!r} no longer exists",
                    "not_retryable",
                ) from None
            connection.Producer().publish(
                message.body,
                exchange="",  # the default exchange: to that one queue only
                routing_key=facts.queue,
                content_type=properties.get("content_type"),
                content_encoding=properties.get("content_encoding"),
                headers=retry_headers(headers),
                delivery_mode=2,
                message_id=properties.get("message_id"),
                retry=True,
                retry_policy={"max_retries": 3, "interval_start": 0.2},
            )


# -- the audit -------------------------------------------------------------------------
class ParkedAction(PlatformBase):
    """Who retried or discarded what parked work, when, why, and what came of it.
    Insert-only but for its outcome: written before the action, finished after."""

    __tablename__ = "parked_actions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    actor_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    actor_roles: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(20))  # bus_message | delivery
    subject_id: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(20))  # retry | discard
    reason: Mapped[str] = mapped_column(Text)
    queue: Mapped[str | None] = mapped_column(String(255))
    route: Mapped[str | None] = mapped_column(String(255))
    outcome: Mapped[str] = mapped_column(String(20), default=STARTED)
    detail: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def start_action(
    session: Session,
    who: Actor,
    subject: str,
    subject_id: str,
    action: str,
    reason: str,
) -> ParkedAction:
    row = ParkedAction(
        actor_id=who.id,
        actor_roles=",".join(sorted(who.roles)),
        subject=subject,
        subject_id=subject_id[:200],
        action=action,
        reason=reason,
        outcome=STARTED,
    )
    session.add(row)
    session.flush()
    return row


def finish_action(
    row: ParkedAction,
    outcome: str,
    now: datetime,
    detail: str | None = None,
    queue: str | None = None,
    route: str | None = None,
) -> None:
    row.outcome, row.detail, row.finished_at = outcome, detail, now
    row.queue = queue if queue is not None else row.queue
    row.route = route if route is not None else row.route


def actions(session: Session, limit: int) -> list[ParkedAction]:
    return list(
        session.scalars(
            select(ParkedAction).order_by(ParkedAction.id.desc()).limit(limit)
        )
    )


# -- schemas ---------------------------------------------------------------------------
class LimitSchema(Schema):
    limit = fields.Integer(
        load_default=100, strict=True, validate=validate.Range(min=1, max=MAX_LIMIT)
    )


class ParkedActionInSchema(Schema):
    message_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    reason = fields.String(required=True, validate=validate.Length(min=3, max=500))


class ReasonSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=500))


class ParkedMessageSchema(Schema):
    id = fields.String()
    queue = fields.String()
    dead_letter_queue = fields.String()
    kind = fields.String()
    route = fields.String()
    event_id = fields.String(allow_none=True)
    signer = fields.String(allow_none=True)
    signed_at = fields.AwareDateTime(allow_none=True)
    reason = fields.String()
    parked_at = fields.AwareDateTime(allow_none=True)
    attempts = fields.Integer()
    times_parked = fields.Integer()
    retryable = fields.Boolean()
    why_not = fields.String(allow_none=True)


class QueueDepthSchema(Schema):
    queue = fields.String()
    dead_letter_queue = fields.String()
    depth = fields.Integer()


class ParkedMessagesSchema(Schema):
    queues = fields.List(fields.Nested(QueueDepthSchema))
    messages = fields.List(fields.Nested(ParkedMessageSchema))


class ParkedActionSchema(Schema):
    id = fields.Integer()
    at = fields.AwareDateTime()
    actor_id = fields.UUID()
    actor_roles = fields.String()
    subject = fields.String()
    subject_id = fields.String()
    action = fields.String()
    reason = fields.String()
    queue = fields.String(allow_none=True)
    route = fields.String(allow_none=True)
    outcome = fields.String()
    detail = fields.String(allow_none=True)
    finished_at = fields.AwareDateTime(allow_none=True)


load = arguments.loader(InvalidInput)


# -- nameko ----------------------------------------------------------------------------
class ParkedMessages(DependencyProvider):
    """Gives a worker `DeadLetters` for its service's queues and a transaction on
    the service's database for the audit (a small engine of its own)."""

    def setup(self) -> None:
        config = self.container.config
        queues = []
        for entrypoint in self.container.entrypoints:
            if isinstance(entrypoint, EventHandler):
                queues.append(
                    topology.handler_queue_name(
                        self.container.service_name, entrypoint.method_name
                    )
                )
            elif isinstance(entrypoint, Rpc):
                queues.append(topology.rpc_queue_name(self.container.service_name))
        self.amqp_uri = config[AMQP_URI_CONFIG_KEY]
        self.queues = sorted(set(queues))
        make_cooperative()
        self.engine: Engine = make_engine(
            settings.require(config, "DB_URI"), pool_size=1, max_overflow=2
        )
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    def stop(self) -> None:
        self.engine.dispose()

    def kill(self) -> None:
        self.engine.dispose()

    def get_dependency(self, worker_ctx: Any) -> ParkedWork:
        return ParkedWork(DeadLetters(self.amqp_uri, self.queues), self.sessionmaker)


class ParkedWork:
    """What a worker gets: the dead letters, and audited actions on them."""

    def __init__(self, letters: DeadLetters, make_session: Callable[[], Session]):
        self.letters = letters
        self._make_session = make_session

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with committed(self._make_session()) as session:
            yield session

    def act(self, who: Actor, ident: str, action: str, reason: str) -> ParkedMessage:
        """Audit first (a database that is down stops the action), act, then
        record the outcome, a refusal's and a miss's too."""
        with self.transaction() as session:
            row = start_action(session, who, BUS_MESSAGE, ident, action, reason)
        try:
            facts = self.letters.act(ident, action)
        except ServiceError as exc:
            outcome = NOT_FOUND if isinstance(exc, NotFound) else REFUSED
            self._finish(row, outcome, exc.message)
            raise
        except Exception as exc:
            self._finish(row, "failed", type(exc).__name__)
            raise
        done = RETRIED if action == RETRY else DISCARDED
        self._finish(row, done, None, facts.queue, facts.route)
        log.warning(
            "parked message %s on %s %s by %s", ident, facts.queue, done, who.label
        )
        return facts

    def _finish(
        self,
        row: ParkedAction,
        outcome: str,
        detail: str | None,
        queue: str | None = None,
        route: str | None = None,
    ) -> None:
        with self.transaction() as session:
            stored = session.get(ParkedAction, row.id, with_for_update=True)
            assert stored is not None
            finish_action(stored, outcome, datetime.now(UTC), detail, queue, route)


PARKED_ERRORS = (ServiceError,)


def _stripped(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _admin(actor: Any) -> Actor:
    who = Actor.load(actor)
    who.require(ADMIN)
    return who


def _rpc(**kwargs: Any) -> Any:
    return rpc(callers={GATEWAY}, expected_exceptions=PARKED_ERRORS, **kwargs)


class ParkedMessagesEntrypoints:
    """The RPCs every service offers on its parked bus messages (program admins,
    through the gateway's console)."""

    parked_messages = ParkedMessages()

    @_rpc()
    def list_parked_messages(self, actor: Any, limit: Any = 100) -> dict[str, Any]:
        _admin(actor)
        size = load(LimitSchema(), {"limit": limit})["limit"]
        work: ParkedWork = self.parked_messages
        out = {
            "queues": [asdict(d) for d in work.letters.depths()],
            "messages": [asdict(m) for m in work.letters.list(size)],
        }
        return dict(ParkedMessagesSchema().dump(out))

    @_rpc()
    def retry_parked_message(
        self, actor: Any, message_id: Any, reason: Any
    ) -> dict[str, Any]:
        return self._act_on_parked(actor, message_id, reason, RETRY)

    @_rpc()
    def discard_parked_message(
        self, actor: Any, message_id: Any, reason: Any
    ) -> dict[str, Any]:
        return self._act_on_parked(actor, message_id, reason, DISCARD)

    @_rpc()
    def list_parked_actions(self, actor: Any, limit: Any = 100) -> list[Any]:
        _admin(actor)
        size = load(LimitSchema(), {"limit": limit})["limit"]
        work: ParkedWork = self.parked_messages
        with work.transaction() as session:
            return list(ParkedActionSchema(many=True).dump(actions(session, size)))

    def _act_on_parked(
        self, actor: Any, message_id: Any, reason: Any, action: str
    ) -> dict[str, Any]:
        who = _admin(actor)
        data = load(
            ParkedActionInSchema(),
            {"message_id": message_id, "reason": _stripped(reason)},
        )
        work: ParkedWork = self.parked_messages
        facts = work.act(who, data["message_id"], action, data["reason"])
        done = RETRIED if action == RETRY else DISCARDED
        return {"message": ParkedMessageSchema().dump(asdict(facts)), "outcome": done}
