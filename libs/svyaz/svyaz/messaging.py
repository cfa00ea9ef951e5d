"""Entrypoints that fix nameko's messaging defaults for a system that must not lose
or half-handle a message.

nameko's own event handler declares a classic queue and acks-and-drops a message whose
handler raises; its queue consumer dies on a message it cannot decode. Here:

- `event_handler(source, event_type)` consumes a durable quorum queue (delivery limit,
  dead-letter exchange), hands the method a validated `ReceivedEvent`, acks only after
  the handler returns, requeues with backoff when it raises, and after
  `MAX_ATTEMPTS` (or at once for `Unprocessable`) parks the message in the queue's DLQ
  with the reason in its headers. The consumer keeps serving throughout.
- A message that cannot be decoded (bad signature, not JSON, wrong content type) is
  parked with the reason and acked instead of killing the consumer.
- `rpc(callers={...})` declares which signers may call a method; everything else is
  refused before the method runs, and so is a method with no declaration (default
  deny). A request is taken only as it was signed: on the routing key (method), reply
  address and correlation id its signature covers, within `BUS_RPC_MAX_AGE` seconds,
  and with a nonce no request of its signer used in that window (`svyaz.nonces`).
  The worker learns the verified signer as its caller. A reply the broker cannot take
  (it is restarting) puts the request back instead of killing the service.
- A reply is taken only when the service that was called signed it, for the request
  that is waiting; an event only when its envelope's producer signed it and it is the
  producer the handler declares. An event is never refused for its age: it may wait
  in its durable queue for hours; the inbox stops its replay.
- `RpcProxy` waits for a reply at most `RPC_TIMEOUT` seconds, then raises
  `RpcTimeout` (nameko's waits for ever).
- An ack or requeue that a just-cut connection loses is logged, not raised (nameko's
  lets the socket's error kill the container): the broker delivers the message again.
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial, wraps
from typing import Any

import amqp.exceptions
import eventlet
import eventlet.event
import kombu
import kombu.exceptions
import nameko.messaging
import nameko.rpc
import nameko.standalone.rpc
from kombu.common import maybe_declare
from marshmallow import ValidationError
from nameko.amqp.publish import UndeliverableMessage
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY,
    AMQP_URI_CONFIG_KEY,
    DEFAULT_HEARTBEAT,
    DEFAULT_SERIALIZER,
    HEARTBEAT_CONFIG_KEY,
    LOGIN_METHOD_CONFIG_KEY,
    SERIALIZER_CONFIG_KEY,
)
from nameko.exceptions import ContainerBeingKilled, MalformedRequest, UnknownService
from nameko.extensions import Entrypoint
from nameko.rpc import get_rpc_exchange
from nameko.standalone.rpc import SingleThreadedReplyListener

from svyaz import batch as batching
from svyaz import commands, inbox, metrics, signing, topology
from svyaz import config as settings
from svyaz.context import (
    CALLER,
    CORRELATION_ID,
    IDEMPOTENCY_KEY,
    NONCE,
    caller,
    safe_id,
)
from svyaz.db import make_cooperative, make_engine, retrying
from svyaz.dependencies import Database
from svyaz.envelope import ReceivedEvent
from svyaz.errors import Forbidden, ServiceError
from svyaz.logging import redact, shorten
from svyaz.nonces import NonceStore, Replayed

log = logging.getLogger(__name__)

REASON_HEADER = "x-svyaz-reason"
QUEUE_HEADER = "x-svyaz-queue"
ATTEMPTS_HEADER = "x-svyaz-attempts"
PARKED_AT_HEADER = "x-svyaz-parked-at"  # UTC ISO-8601, when it was last parked
TIMES_PARKED_HEADER = "x-svyaz-times-parked"  # 1, then 2 when parked after a retry


class Unprocessable(Exception):
    """This message can never succeed (malformed, wrong version): park it at once."""


class Refused(Forbidden):
    """The request is not taken as signed: the caller is not declared for the method,
    or the request was re-routed, replayed, or is older than the window."""


RPC_MAX_AGE = 45.0  # seconds: the callers' RPC timeout (30) and clock skew
REPLAYED = "replayed: its nonce was already used"
# the parking reason of a replayed RPC copy: an operator sees at once it is harmless
REPLAYED_COPY = (
    "replayed copy (harmless): a second copy of an RPC request whose first copy "
    "was carried out and answered; not run again"
)


def identity_of(container: Any) -> str:
    """The bus identity a container signs as: its BUS_IDENTITY, else its name."""
    return str(container.config.get("BUS_IDENTITY") or container.service_name)


def request_refusal(
    stamp: signing.Stamp | None,
    routing_key: str,
    reply_to: str,
    correlation_id: str,
    max_age: float,
    now: float,
) -> str | None:
    """Why an RPC request is not what its signer sent, or None."""
    if stamp is None:
        return "the request is not signed"
    if stamp.route != routing_key:
        return (
            f"signed for {stamp.route or 'no method'!r}, delivered to {routing_key!r}"
        )
    if stamp.reply_to != reply_to or stamp.correlation_id != correlation_id:
        return "its reply address or correlation id is not the one signed"
    if now - stamp.ts > max_age:
        return f"older than {max_age:g} s (signed {now - stamp.ts:.0f} s ago)"
    return None


def reply_refusal(
    stamp: signing.Stamp | None, called: str, correlation_id: str
) -> str | None:
    """Why a reply is not the called service's answer to this request, or None."""
    if stamp is None:
        return "the reply is not signed"
    if stamp.signer != called:
        return f"signed by {stamp.signer!r}, not by the called service {called!r}"
    if stamp.correlation_id != correlation_id:
        return "signed for another request"
    return None


def delivery_count(message: Any) -> int:
    """How many times the broker delivered this message before (quorum queues)."""
    headers = message.headers or {}
    try:
        return int(headers.get("x-delivery-count") or 0)
    except (TypeError, ValueError):
        return 0


def retry_delay(attempt: int) -> float:
    return float(min(0.2 * 2 ** (attempt - 1), 5.0))


def reason_for(exc: BaseException) -> str:
    text, _ = redact(shorten(f"{type(exc).__name__}: {exc}", 500))
    return text


class Parking:
    """Publishes a message, unchanged, to its queue's DLQ with the reason attached."""

    def __init__(self, amqp_uri: str):
        self.amqp_uri = amqp_uri

    def park(self, message: Any, queue_name: str, reason: str, attempts: int) -> None:
        headers = dict(message.headers or {})
        try:
            times = int(headers.get(TIMES_PARKED_HEADER) or 0) + 1
        except (TypeError, ValueError):
            times = 1
        headers.update(
            {
                REASON_HEADER: reason,
                QUEUE_HEADER: queue_name,
                ATTEMPTS_HEADER: attempts,
                PARKED_AT_HEADER: datetime.now(UTC).isoformat(),
                TIMES_PARKED_HEADER: times,
            }
        )
        properties = message.properties or {}
        with kombu.Connection(
            self.amqp_uri, transport_options={"confirm_publish": True}
        ) as connection:
            producer = connection.Producer()
            producer.publish(
                message.body,
                exchange=topology.dead_letter_exchange(),
                routing_key=queue_name,
                content_type=message.content_type,
                content_encoding=message.content_encoding,
                headers=headers,
                delivery_mode=2,
                message_id=properties.get("message_id"),
                declare=[topology.parking_queue(queue_name)],
                retry=True,
                retry_policy={"max_retries": 5, "interval_start": 0.2},
            )
        metrics.message(queue_name, "parked", reason)
        log.warning(
            "parked a message from %s after %s attempt(s): %s",
            queue_name,
            attempts,
            reason,
        )


# what publishing, acking or requeueing raises when the broker is away or the
# connection has just been cut (after nameko's retries)
BROKER_AWAY = (
    kombu.exceptions.OperationalError,
    amqp.exceptions.ConnectionError,
    OSError,
)


_SETTLE_LOST = {
    "ack": "the message comes again",
    "requeue": "the broker takes the message back itself",
}


def settle(action: Callable[[], Any], what: str) -> None:
    """Ack or requeue; on a connection that has just been cut, log it and go on: the
    broker takes back what was not acked when a connection goes."""
    try:
        action()
    except BROKER_AWAY as exc:
        log.warning(
            "%s not sent, the connection is gone (%s): %s",
            what,
            type(exc).__name__,
            _SETTLE_LOST[what],
        )


class QueueConsumer(nameko.messaging.QueueConsumer):
    """nameko's queue consumer, made to park what it cannot decode, and to survive
    an ack or a requeue on a connection that has just been cut."""

    def ack_message(self, message: Any) -> None:
        """nameko's lets a reset socket's `OSError` escape, which kills the whole
        container (seen when an RPC reply was acked as the connection was cut). The
        broker takes back what was not acked when a connection goes: the message
        comes again, and the inbox (or a reply's correlation id) makes that safe."""
        settle(lambda: super(QueueConsumer, self).ack_message(message), "ack")

    def requeue_message(self, message: Any) -> None:
        settle(lambda: super(QueueConsumer, self).requeue_message(message), "requeue")

    def setup(self) -> None:
        settings.refuse_development_settings(self.container.config)
        signing.configure_from_config(
            self.container.config, self.container.service_name
        )
        self.parking = Parking(self.container.config[AMQP_URI_CONFIG_KEY])

    def get_consumers(self, consumer_cls: Any, channel: Any) -> Any:
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            consumer.on_decode_error = partial(self.on_decode_error, provider)
        return consumers

    def on_decode_error(self, provider: Any, message: Any, exc: Exception) -> None:
        # kombu wraps the decoder's own error (InvalidSignature) in a DecodeError
        cause = (
            exc.__cause__ or exc.__context__
            if type(exc).__name__ == "DecodeError"
            else None
        )
        reason = f"refused: {reason_for(cause or exc)}"
        queue_name = provider.queue.name
        if getattr(provider, "park_refused", True):
            self.parking.park(message, queue_name, reason, delivery_count(message) + 1)
        else:
            metrics.message(queue_name, "refused", reason)
            log.error("dropped a refused message on %s: %s", queue_name, reason)
        self.ack_message(message)


class EventHandler(Entrypoint):
    """`@event_handler("registry", "communicator.applied.v1")` on a service method."""

    queue_consumer = QueueConsumer()

    def __init__(self, source_service: str, event_type: str, **kwargs: Any):
        self.source_service = source_service
        self.event_type = event_type
        super().__init__(**kwargs)

    def setup(self) -> None:
        self.declare()
        self.queue_consumer.register_provider(self)

    def declare(self) -> None:
        self.queue = topology.event_queue(
            self.container.service_name,
            self.method_name,
            self.source_service,
            self.event_type,
        )
        with kombu.Connection(self.container.config[AMQP_URI_CONFIG_KEY]) as conn:
            channel = conn.channel()
            for entity in (self.queue, topology.parking_queue(self.queue.name)):
                maybe_declare(entity, channel)
        inbox.configure(self.container.config)

    def stop(self) -> None:
        self.queue_consumer.unregister_provider(self)

    def load(self, body: Any, message: Any) -> ReceivedEvent | None:
        """The event as its producer signed it, or None: parked, with the reason."""
        try:
            event = ReceivedEvent.load(body, consumer=self.queue.name)
            if event.event_type != self.event_type:
                raise Unprocessable(
                    f"event type {event.event_type} arrived at the handler "
                    f"of {self.event_type}"
                )
            stamp = signing.stamp_of(body)
            signer = stamp.signer if stamp else ""
            if not (signer == event.producer == self.source_service):
                raise Unprocessable(
                    f"signed by {signer or 'nobody'!r} for producer "
                    f"{event.producer!r}; {self.event_type} comes from "
                    f"{self.source_service!r} only"
                )
        except (ValidationError, Unprocessable) as exc:
            self.park(message, f"malformed event: {reason_for(exc)}", 1)
            return None
        old = inbox.too_old(event)
        if old is not None:
            self.park(message, old, 1)
            return None
        if (getattr(message, "delivery_info", None) or {}).get("redelivered"):
            # counted by the chaos run
            log.info("redelivered: %s %s", self.queue.name, event.event_id)
        return event

    def handle_message(self, body: Any, message: Any) -> None:
        event = self.load(body, message)
        if event is None:
            return
        context_data = {CORRELATION_ID: event.correlation_id}
        handle_result = partial(self.handle_result, message)
        try:
            self.container.spawn_worker(
                self,
                (event,),
                {},
                context_data=context_data,
                handle_result=handle_result,
            )
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def should_park(self, message: Any, exc: BaseException) -> bool:
        """After a failure: park the message (True), or put it back (False)."""
        attempt = delivery_count(message) + 1
        return isinstance(exc, Unprocessable) or attempt >= topology.MAX_ATTEMPTS

    def handle_result(
        self, message: Any, worker_ctx: Any, result: Any = None, exc_info: Any = None
    ) -> tuple[Any, Any]:
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            metrics.message(self.queue.name, "handled")
            return result, exc_info
        exc = exc_info[1]
        attempt = delivery_count(message) + 1
        if self.should_park(message, exc):
            self.park(message, reason_for(exc), attempt)
        else:
            metrics.message(self.queue.name, "retried", reason_for(exc))
            eventlet.sleep(retry_delay(attempt))
            self.queue_consumer.requeue_message(message)
        return result, exc_info

    def park(self, message: Any, reason: str, attempts: int) -> None:
        self.queue_consumer.parking.park(message, self.queue.name, reason, attempts)
        self.queue_consumer.ack_message(message)


class BatchEventHandler(EventHandler):
    """`@event_handler(source, event_type, batch=100)`: up to `batch` messages in
    one transaction.

    Its own connection and channel (prefetch = `batch`) and one batch at a time on
    them, so that every unacknowledged delivery on the channel belongs to the batch
    in hand and one multiple ack after the commit is exact. It waits for the first
    message, then at most `linger` seconds for more, checks and parks each message
    as the single handler does (signature, envelope, producer), and hands the
    method the batch: every `db.transaction()` the method opens joins one session,
    and `inbox.claim` reads one multi-row claim of the whole batch. After the
    commit: one multiple ack.

    A failure anywhere in the batch rolls the whole transaction back (nothing of
    it took effect) and the same messages are handled again one per transaction,
    each acked, retried or parked on its own: the poison one is retried with
    backoff and parked with its reason, the good ones take effect once. A message
    delivered before (a retry, or one a crash left unacknowledged) is handled on
    its own, never in a batch again.

    For handlers whose whole effect is in their database transaction; work that
    must follow the commit (a mail) is deferred to it (`Batch.defer`: one call for
    the whole batch, after the commit, before the ack). A handler that calls Stripe
    or commits more than once per event stays single.
    """

    queue_consumer = None  # type: ignore[assignment]

    def __init__(
        self,
        source_service: str,
        event_type: str,
        batch: int = 100,
        linger: float = 0.01,
        **kwargs: Any,
    ):
        self.batch_size = batch
        self.linger = linger
        self._running = False
        self._gt: Any = None
        super().__init__(source_service, event_type, **kwargs)

    def setup(self) -> None:
        config = self.container.config
        settings.refuse_development_settings(config)
        signing.configure_from_config(config, self.container.service_name)
        self.declare()
        self.parking = Parking(config[AMQP_URI_CONFIG_KEY])

    def start(self) -> None:
        self._running = True
        self._gt = self.container.spawn_managed_thread(
            self._consume, identifier=f"batch consumer {self.queue.name}"
        )

    def stop(self) -> None:
        self._running = False
        if self._gt is not None:
            self._gt.wait()
            self._gt = None

    def kill(self) -> None:
        self._running = False
        if self._gt is not None:
            self._gt.kill()
            self._gt = None

    # -- the broker side -------------------------------------------------------
    def _new_connection(self) -> kombu.Connection:
        config = self.container.config
        return kombu.Connection(
            config[AMQP_URI_CONFIG_KEY],
            heartbeat=config.get(HEARTBEAT_CONFIG_KEY, DEFAULT_HEARTBEAT),
            ssl=config.get(AMQP_SSL_CONFIG_KEY),
            login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
        )

    def _consume(self) -> None:
        failures = 0
        while self._running:
            try:
                with self._new_connection() as connection:
                    self._serve(connection)
                failures = 0
            except (*BROKER_AWAY, TimeoutError) as exc:
                failures += 1
                log.warning(
                    "batch consumer of %s lost its connection (%s); reconnecting",
                    self.queue.name,
                    type(exc).__name__,
                )
                eventlet.sleep(min(0.5 * failures, 5.0))

    def _serve(self, connection: kombu.Connection) -> None:
        arrived: list[tuple[Any, Any]] = []

        def on_message(body: Any, message: Any) -> None:
            arrived.append((body, message))

        def on_decode_error(message: Any, exc: Exception) -> None:
            cause = exc.__cause__ or exc.__context__
            reason = f"refused: {reason_for(cause or exc)}"
            self.park(message, reason, delivery_count(message) + 1)

        channel = connection.channel()
        consumer = kombu.Consumer(
            channel,
            queues=[self.queue],
            callbacks=[on_message],
            accept=self.container.accept,
            on_decode_error=on_decode_error,
            prefetch_count=self.batch_size,
        )
        with consumer:
            while self._running:
                self._wait_for(connection, arrived)
                if arrived:
                    taken, arrived[:] = list(arrived), []
                    self._handle(taken)

    def _wait_for(self, connection: Any, arrived: list[Any]) -> None:
        """The first message (or a second of nothing), then up to `linger` more
        seconds for the batch to fill."""
        try:
            connection.drain_events(timeout=1.0)
        except TimeoutError:
            connection.heartbeat_check()
            return
        deadline = time.monotonic() + self.linger
        while len(arrived) < self.batch_size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                connection.drain_events(timeout=remaining)
            except TimeoutError:
                return

    def ack_message(self, message: Any) -> None:
        settle(message.ack, "ack")

    def requeue_message(self, message: Any) -> None:
        settle(message.requeue, "requeue")

    def ack_all(self, messages: list[Any], taken: list[Any]) -> None:
        """One multiple ack for the batch: every delivery up to its last tag on
        this channel is the batch's or settled already (one batch at a time, in
        delivery order). When an unsettled one of the same take lies below (one
        delivered before, handled on its own next), each is acked on its own."""
        last = max(messages, key=lambda m: m.delivery_tag)
        batch = {id(m) for m in messages}
        if any(
            id(m) not in batch
            and not m.acknowledged
            and m.delivery_tag < last.delivery_tag
            for m in taken
        ):
            for message in messages:
                self.ack_message(message)
            return
        try:
            last.channel.basic_ack(last.delivery_tag, multiple=True)
        except BROKER_AWAY as exc:
            log.warning(
                "batch ack not sent, the connection is gone (%s): the messages "
                "come again",
                type(exc).__name__,
            )
            return
        for message in messages:
            message._state = "ACK"  # kombu's own mark, so nothing acks it twice

    def park(self, message: Any, reason: str, attempts: int) -> None:
        self.parking.park(message, self.queue.name, reason, attempts)
        self.ack_message(message)

    # -- handling ----------------------------------------------------------------
    def _handle(self, taken: list[tuple[Any, Any]]) -> None:
        loaded = []
        for body, message in taken:
            event = self.load(body, message)  # parks (and acks) what is not genuine
            if event is not None:
                loaded.append((event, message))
        fresh = [(e, m) for e, m in loaded if not self._delivered_before(m)]
        again = [(e, m) for e, m in loaded if self._delivered_before(m)]
        if len(fresh) > 1:
            if self._run([e for e, _ in fresh]) is None:
                self.ack_all([m for _, m in fresh], [m for _, m in taken])
                for _ in fresh:
                    metrics.message(self.queue.name, "handled")
            else:
                again = fresh + again
        else:
            again = fresh + again
        self._one_by_one(again)

    @staticmethod
    def _delivered_before(message: Any) -> bool:
        info = getattr(message, "delivery_info", None) or {}
        return bool(info.get("redelivered")) or delivery_count(message) > 0

    def _run(self, events: list[ReceivedEvent]) -> Any:
        """Run the method on the events (one, or a batch); its exc_info or None."""
        done = eventlet.event.Event()

        def handle_result(
            worker_ctx: Any, result: Any = None, exc_info: Any = None
        ) -> tuple[Any, Any]:
            done.send(exc_info)
            return result, exc_info

        argument: Any = events[0] if len(events) == 1 else batching.Batch(events)
        try:
            self.container.spawn_worker(
                self,
                (argument,),
                {},
                context_data={CORRELATION_ID: events[0].correlation_id},
                handle_result=handle_result,
            )
        except ContainerBeingKilled:
            return sys.exc_info()
        exc_info = done.wait()
        if exc_info is not None and len(events) > 1:
            log.warning(
                "a batch of %s from %s failed (%s); handling them one by one",
                len(events),
                self.queue.name,
                type(exc_info[1]).__name__,
            )
        return exc_info

    def _one_by_one(self, loaded: list[tuple[ReceivedEvent, Any]]) -> None:
        """Each in its own transaction, acked, parked or put back on its own; the
        ones to retry go back after the longest of their backoffs, together."""
        retry: list[Any] = []
        for event, message in loaded:
            exc_info = self._run([event])
            if exc_info is None:
                self.ack_message(message)
                metrics.message(self.queue.name, "handled")
            elif isinstance(exc_info[1], ContainerBeingKilled):
                self.requeue_message(message)
            elif self.should_park(message, exc_info[1]):
                attempt = delivery_count(message) + 1
                self.park(message, reason_for(exc_info[1]), attempt)
            else:
                metrics.message(self.queue.name, "retried", reason_for(exc_info[1]))
                retry.append(message)
        if retry:
            eventlet.sleep(max(retry_delay(delivery_count(m) + 1) for m in retry))
            for message in retry:
                self.requeue_message(message)


BATCH = 100  # events per transaction for a batched handler (its prefetch)


def event_handler(
    source_service: str, event_type: str, batch: int = 0, **kwargs: Any
) -> Any:
    """Declare a method the handler of `event_type` from `source_service`.

    `batch=N` (N > 1) hands it up to N events in one transaction
    (`BatchEventHandler`); the method is still written for one event, and runs
    once per event of the batch."""

    def decorate(method: Any) -> Any:
        @wraps(method)
        def run(self: Any, event: Any) -> Any:
            # a connection that died under it: the handler runs again at once, as
            # a redelivery would run it (its inbox makes that safe)
            if not isinstance(event, batching.Batch):
                return retrying(lambda: method(self, event))
            return retrying(lambda: run_batch(method, self, event))

        if batch <= 1:
            return EventHandler.decorator(source_service, event_type, **kwargs)(run)
        return BatchEventHandler.decorator(
            source_service, event_type, batch=batch, **kwargs
        )(run)

    return decorate


def run_batch(method: Any, service: Any, batch: batching.Batch) -> None:
    """The method on each event of the batch, all in the batch's one transaction,
    committed at the end; rolled back whole if any of them raises."""
    batch.reset()
    with batching.running(batch):
        try:
            for event in batch.events:
                batch.current = event
                method(service, event)
            batch.commit()
        except BaseException:
            batch.close(rollback=True)
            raise
        batch.close(rollback=False)
    batch.run_deferred()  # outside the batch: its transactions are their own


class Responder(nameko.rpc.Responder):
    """nameko's, signing the reply as the container that answers."""

    publisher_cls = signing.SignedPublisher

    def __init__(self, *args: Any, signer: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.signer = signer

    def send_response(self, result: Any, exc_info: Any) -> Any:
        with signing.signing_as(self.signer):
            return super().send_response(result, exc_info)


def rpc_queue_of(consumer: Any) -> str:
    """The RPC queue's name, for counting (a consumer not set up has none)."""
    return str(getattr(consumer.queue, "name", "") or "rpc")


class RpcConsumer(nameko.rpc.RpcConsumer):
    queue_consumer = QueueConsumer()
    requeue_pause = 1.0  # seconds before a request whose reply failed goes back

    def setup(self) -> None:
        super().setup()
        config = self.container.config
        self.max_age = settings.positive(config, "BUS_RPC_MAX_AGE", RPC_MAX_AGE)
        make_cooperative()
        self.nonces = NonceStore(
            make_engine(
                settings.require(config, "DB_URI"), pool_size=2, pool_pre_ping=False
            ),
            self.max_age + signing.MAX_CLOCK_SKEW,
        )

    def stop(self) -> None:
        super().stop()
        self.nonces.engine.dispose()

    def refusal(
        self, provider: Any, body: Any, message: Any, defer: bool = False
    ) -> str | None:
        """Why this request is not taken (see `request_refusal`), or None.
        `defer`: its nonce is not recorded here but left to the command
        (`Rpc.defers_nonce`)."""
        properties = message.properties or {}
        stamp = signing.stamp_of(body)
        reason = request_refusal(
            stamp,
            str((message.delivery_info or {}).get("routing_key") or ""),
            str(properties.get("reply_to") or ""),
            str(properties.get("correlation_id") or ""),
            self.max_age,
            time.time(),
        )
        if reason is None:
            assert stamp is not None
            if provider.callers is None:
                reason = f"{provider.method_name} declares no callers"
            elif stamp.signer not in provider.callers:
                reason = f"{stamp.signer!r} may not call {provider.method_name}"
            elif (
                not defer
                and not self.nonces.fresh(stamp.signer, stamp.nonce, stamp.ts)
                # the broker's own redelivery of a request it did not see acked (a
                # consumer died, a connection was cut) is the same message, not a
                # replay: only the broker sets that flag, never a publisher
                and not (message.delivery_info or {}).get("redelivered")
            ):
                reason = REPLAYED
        if reason is not None and reason != REPLAYED:  # a replayed copy is parked
            metrics.message(rpc_queue_of(self), "refused", "refused")
        if reason is not None:
            log.warning(
                "refused an RPC request to %s from %s: %s",
                provider.method_name,
                stamp.signer if stamp else "nobody",
                reason,
            )
        return reason

    def send_reply(self, message: Any, result: Any, exc_info: Any) -> Any:
        config = self.container.config
        responder = Responder(
            config[AMQP_URI_CONFIG_KEY],
            get_rpc_exchange(config),
            config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER),
            message,
            ssl=config.get(AMQP_SSL_CONFIG_KEY),
            login_method=config.get(LOGIN_METHOD_CONFIG_KEY),
            signer=identity_of(self.container),
        )
        result, exc_info = responder.send_response(result, exc_info)
        self.queue_consumer.ack_message(message)
        metrics.message(rpc_queue_of(self), "handled")
        return result, exc_info

    def handle_result(self, message: Any, result: Any, exc_info: Any) -> Any:
        """nameko's, except when the reply cannot be published because the broker
        is away: nameko lets that kill the whole container (every worker of the
        service with it). Here the request goes back to its queue (the broker has
        already taken it back if its connection went), after a pause so that a
        broker that takes requests but not replies does not get them back in a
        tight loop, and is answered again when it comes; a caller whose reply is
        lost gives up after its `RPC_TIMEOUT`. RPC is at least once either way."""
        try:
            return self.send_reply(message, result, exc_info)
        except BROKER_AWAY as exc:
            log.warning(
                "reply not sent, the broker is away (%s): the request goes back "
                "to its queue",
                type(exc).__name__,
            )
            eventlet.sleep(self.requeue_pause)
            self.queue_consumer.requeue_message(message)
            return result, exc_info


class Rpc(nameko.rpc.Rpc):
    """nameko's RPC entrypoint, taking requests only from its declared callers:
    `@rpc(callers={"gateway"})`. The worker learns who signed the request."""

    rpc_consumer = RpcConsumer()

    def __init__(self, callers: Any = None, **kwargs: Any) -> None:
        self.callers = None if callers is None else frozenset(callers)
        # a key used again for another request is the caller's mistake, said as
        # such (svyaz.commands), never logged as the service's failure
        expected = kwargs.get("expected_exceptions", ())
        if not isinstance(expected, tuple):
            expected = (expected,)
        # a replayed copy found by the command is parked, not a failure either
        kwargs["expected_exceptions"] = (*expected, commands.KeyReused, Replayed)
        super().__init__(**kwargs)

    def defers_nonce(self, body: Any) -> bool:
        """Is the request's nonce left to its method? An idempotent command's with
        its key (svyaz.commands) takes it in the command's own transaction: one
        commit for the request, not two (the nonce's, the command's). A replayed
        copy is then found there, before the command runs, and parked the same."""
        stamp = signing.stamp_of(body)
        if stamp is None or not stamp.idem:
            return False
        service = self.container.service_cls
        return commands.is_command(getattr(service, self.method_name, None)) and (
            isinstance(getattr(service, "db", None), Database)
        )

    def park_replayed(self, message: Any) -> None:
        """Parked, not answered: the first copy's answer is on its way to the
        caller (a publisher's retry after a cut connection also sends a copy, and
        an error reply could reach the caller first)."""
        consumer = self.rpc_consumer.queue_consumer
        consumer.parking.park(
            message,
            self.rpc_consumer.queue.name,
            REPLAYED_COPY,
            delivery_count(message) + 1,
        )
        consumer.ack_message(message)

    def handle_message(self, body: Any, message: Any) -> None:
        defer = self.defers_nonce(body)
        reason = self.rpc_consumer.refusal(self, body, message, defer)
        if reason == REPLAYED:
            self.park_replayed(message)
            return
        if reason is not None:
            raise Refused(f"request refused: {reason}", "request_refused")
        try:
            args = body["args"]
            kwargs = body["kwargs"]
        except (KeyError, TypeError):
            raise MalformedRequest("Message missing `args` or `kwargs`") from None
        self.check_signature(args, kwargs)
        context_data = self.unpack_message_headers(message)
        context_data.pop(CALLER, None)  # only the signature may say who called
        context_data[CALLER] = body.signer
        # the caller's correlation id and a command's idempotency key are taken
        # only as signed (never from a header)
        context_data.pop(CORRELATION_ID, None)
        context_data.pop(IDEMPOTENCY_KEY, None)
        context_data.pop(NONCE, None)  # only this consumer leaves a nonce
        idem = body.stamp.idem if body.stamp else ""
        if idem:
            context_data[IDEMPOTENCY_KEY] = idem
        if defer:
            nonces = self.rpc_consumer.nonces
            context_data[NONCE] = nonces.pending(
                body.stamp.signer,
                body.stamp.nonce,
                body.stamp.ts,
                bool((message.delivery_info or {}).get("redelivered")),
            ).text()
            nonces.purge_when_due()
        trace = safe_id(body.stamp.trace if body.stamp else "")
        if trace:
            context_data[CORRELATION_ID] = trace
        handle_result = partial(self.handle_result, message)
        try:
            self.container.spawn_worker(
                self,
                args,
                kwargs,
                context_data=context_data,
                handle_result=handle_result,
            )
        except ContainerBeingKilled:
            self.rpc_consumer.requeue_message(message)

    def handle_result(
        self, message: Any, worker_ctx: Any, result: Any, exc_info: Any
    ) -> tuple[Any, Any]:
        if exc_info is not None and isinstance(exc_info[1], Replayed):
            log.warning(
                "refused an RPC request to %s from %s: %s",
                self.method_name,
                caller(worker_ctx) or "nobody",
                REPLAYED,
            )
            self.park_replayed(message)
            return result, exc_info
        if exc_info is not None and isinstance(exc_info[1], ServiceError):
            wire = exc_info[1].wire()  # the caller knows kinds, not our classes
            exc_info = (type(wire), wire, exc_info[2])
        return super().handle_result(message, worker_ctx, result, exc_info)


rpc = Rpc.decorator


class ReplyListener(nameko.rpc.ReplyListener):
    queue_consumer = QueueConsumer()
    park_refused = False  # a forged reply is dropped: the caller's wait times out

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._called: dict[str, str] = {}  # correlation id -> the service called

    def expect(self, correlation_id: str, service: str) -> Any:
        self._called[correlation_id] = service
        return self.get_reply_event(correlation_id)

    def handle_message(self, body: Any, message: Any) -> None:
        """A reply is handed to its caller only when the called service signed it
        for this request; anything else is dropped (and logged), and the caller
        goes on waiting for the real one."""
        self.queue_consumer.ack_message(message)
        correlation_id = str((message.properties or {}).get("correlation_id") or "")
        called = self._called.get(correlation_id)
        if called is None:
            return
        reason = reply_refusal(signing.stamp_of(body), called, correlation_id)
        if reason is not None:
            log.warning("dropped a reply meant for %s: %s", called, reason)
            return
        del self._called[correlation_id]
        waiting = self._reply_events.pop(correlation_id, None)
        if waiting is not None:
            waiting.send(body)

    def forget(self, reply_event: Any) -> None:
        """A caller stopped waiting: its reply, if it comes, is dropped."""
        for correlation_id, waiting in list(self._reply_events.items()):
            if waiting is reply_event:
                del self._reply_events[correlation_id]
                self._called.pop(correlation_id, None)


class RpcTimeout(Exception):
    """The service did not answer within `RPC_TIMEOUT` seconds. The request may
    still be carried out (RPC is at least once): try again, or read the state."""


class MethodProxy(nameko.rpc.MethodProxy):
    """nameko's, except that the wait for the reply ends after `timeout` seconds.
    nameko waits for ever: a reply that never comes would hold the worker (a
    payout timer, an event handler) and its message for good."""

    publisher_cls = signing.SignedPublisher

    def __init__(self, *args: Any, timeout: float | None, **options: Any) -> None:
        super().__init__(*args, **options)
        self.timeout = timeout
        self.publisher.signer = identity_of(self.container)

    def _call(self, *args: Any, **kwargs: Any) -> Any:
        """nameko's, except that the reply listener is told which service must
        sign the answer."""
        correlation_id = str(uuid.uuid4())
        headers = self.get_message_headers(self.worker_ctx)
        headers.pop(signing.IDEM_HEADER, None)
        headers.pop(self._get_header_name(NONCE), None)  # this worker's request's
        # the idempotency key this green thread's work is bound to (a console form,
        # an API request, a CLI's invocation: svyaz.commands), one per method called
        key = commands.key_for(self.service_name, self.method_name)
        if key:
            headers[signing.IDEM_HEADER] = key
        reply_event = self.reply_listener.expect(correlation_id, self.service_name)
        try:
            self.publisher.publish(
                {"args": args, "kwargs": kwargs},
                exchange=get_rpc_exchange(self.container.config),
                routing_key=f"{self.service_name}.{self.method_name}",
                mandatory=True,
                reply_to=self.reply_listener.routing_key,
                correlation_id=correlation_id,
                extra_headers=headers,
            )
        except UndeliverableMessage:
            self.reply_listener.forget(reply_event)
            raise UnknownService(self.service_name) from None
        return nameko.rpc.RpcReply(reply_event)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with metrics.rpc_call(self.service_name, self.method_name):
            return self._wait(*args, **kwargs)

    def _wait(self, *args: Any, **kwargs: Any) -> Any:
        reply = self._call(*args, **kwargs)
        if self.timeout is None:  # a standalone proxy: its listener has the timeout
            return reply.result()
        timer = eventlet.Timeout(self.timeout)
        try:
            return reply.result()
        except eventlet.Timeout as exc:
            if exc is not timer:
                raise
            self.reply_listener.forget(reply.reply_event)
            raise RpcTimeout(
                f"{self.service_name}.{self.method_name} did not answer in "
                f"{self.timeout:g} s"
            ) from None
        finally:
            timer.cancel()


class ServiceProxy(nameko.rpc.ServiceProxy):
    def __getattr__(self, name: str) -> MethodProxy:
        return MethodProxy(
            self.worker_ctx,
            self.service_name,
            name,
            self.reply_listener,
            **self.options,
        )


class RpcProxy(nameko.rpc.RpcProxy):
    """A call to another service that waits at most `RPC_TIMEOUT` seconds (30 unless
    the config says otherwise), then raises `RpcTimeout`."""

    rpc_reply_listener = ReplyListener()

    def setup(self) -> None:
        self.timeout = settings.positive(self.container.config, "RPC_TIMEOUT", 30)

    def get_dependency(self, worker_ctx: Any) -> ServiceProxy:
        return ServiceProxy(
            worker_ctx,
            self.target_service,
            self.rpc_reply_listener,
            timeout=self.timeout,
            **self.options,
        )


class ForgedReply(Exception):
    """A standalone caller got an answer that the called service did not sign."""


class StandaloneReplyListener(SingleThreadedReplyListener):
    """The reply listener of a process outside nameko (a CLI): it checks each reply
    as `ReplyListener` does, and fails the call on one that is not genuine (a CLI
    waits for one reply at a time)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._called: dict[str, str] = {}

    def expect(self, correlation_id: str, service: str) -> Any:
        self._called[correlation_id] = service
        return self.get_reply_event(correlation_id)

    def forget(self, reply_event: Any) -> None:
        for correlation_id, waiting in list(self._reply_events.items()):
            if waiting is reply_event:
                del self._reply_events[correlation_id]
                self._called.pop(correlation_id, None)

    def handle_message(self, body: Any, message: Any) -> None:
        self.queue_consumer.ack_message(message)
        correlation_id = str((message.properties or {}).get("correlation_id") or "")
        called = self._called.pop(correlation_id, None)
        waiting = self._reply_events.pop(correlation_id, None)
        if waiting is None or called is None:
            return
        reason = reply_refusal(signing.stamp_of(body), called, correlation_id)
        if reason is not None:
            log.warning("refused a reply meant for %s: %s", called, reason)
            waiting.send_exception(ForgedReply(reason))
            return
        waiting.send(body)


class _Services:
    def __init__(self, worker_ctx: Any, reply_listener: Any) -> None:
        self._worker_ctx = worker_ctx
        self._reply_listener = reply_listener

    def __getattr__(self, name: str) -> ServiceProxy:
        return ServiceProxy(self._worker_ctx, name, self._reply_listener, timeout=None)

    def __getitem__(self, name: str) -> ServiceProxy:
        return getattr(self, name)


class ClusterRpcProxy(nameko.standalone.rpc.StandaloneProxyBase):  # type: ignore[misc]
    """nameko's standalone cluster proxy (for the CLIs and tests), signing requests
    as the process's own identity and taking only genuine replies.

        with ClusterRpcProxy(config, timeout=30) as rpc:
            rpc.stipends.get_payout_run(...)
    """

    def __init__(self, config: Any, timeout: float | None = 30, **kwargs: Any):
        signing.install_publisher()
        super().__init__(
            config,
            timeout=timeout,
            reply_listener_cls=StandaloneReplyListener,
            **kwargs,
        )
        self._proxy = _Services(self._worker_ctx, self._reply_listener)


__all__ = [
    "ClusterRpcProxy",
    "ForgedReply",
    "Refused",
    "BatchEventHandler",
    "EventHandler",
    "Parking",
    "Rpc",
    "RpcProxy",
    "RpcTimeout",
    "Unprocessable",
    "event_handler",
    "rpc",
]
