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
import time
import uuid
from datetime import UTC, datetime
from functools import partial
from typing import Any

import amqp.exceptions
import eventlet
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
    DEFAULT_SERIALIZER,
    LOGIN_METHOD_CONFIG_KEY,
    SERIALIZER_CONFIG_KEY,
)
from nameko.exceptions import ContainerBeingKilled, MalformedRequest, UnknownService
from nameko.extensions import Entrypoint
from nameko.rpc import get_rpc_exchange
from nameko.standalone.rpc import SingleThreadedReplyListener

from svyaz import config as settings
from svyaz import inbox, metrics, signing, topology
from svyaz.context import CALLER, CORRELATION_ID, safe_id
from svyaz.db import make_cooperative, make_engine
from svyaz.envelope import ReceivedEvent
from svyaz.errors import Forbidden, ServiceError
from svyaz.logging import redact, shorten
from svyaz.nonces import NonceStore

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


class QueueConsumer(nameko.messaging.QueueConsumer):
    """nameko's queue consumer, made to park what it cannot decode, and to survive
    an ack or a requeue on a connection that has just been cut."""

    def ack_message(self, message: Any) -> None:
        """nameko's lets a reset socket's `OSError` escape, which kills the whole
        container (seen when an RPC reply was acked as the connection was cut). The
        broker takes back what was not acked when a connection goes: the message
        comes again, and the inbox (or a reply's correlation id) makes that safe."""
        try:
            super().ack_message(message)
        except BROKER_AWAY as exc:
            log.warning(
                "ack not sent, the connection is gone (%s): the message comes again",
                type(exc).__name__,
            )

    def requeue_message(self, message: Any) -> None:
        try:
            super().requeue_message(message)
        except BROKER_AWAY as exc:
            log.warning(
                "requeue not sent, the connection is gone (%s): the broker takes "
                "the message back itself",
                type(exc).__name__,
            )

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
        self.queue_consumer.register_provider(self)

    def stop(self) -> None:
        self.queue_consumer.unregister_provider(self)

    def handle_message(self, body: Any, message: Any) -> None:
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
            return
        if (getattr(message, "delivery_info", None) or {}).get("redelivered"):
            # counted by the chaos run
            log.info("redelivered: %s %s", self.queue.name, event.event_id)
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

    def handle_result(
        self, message: Any, worker_ctx: Any, result: Any = None, exc_info: Any = None
    ) -> tuple[Any, Any]:
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            metrics.message(self.queue.name, "handled")
            return result, exc_info
        exc = exc_info[1]
        attempt = delivery_count(message) + 1
        if isinstance(exc, Unprocessable) or attempt >= topology.MAX_ATTEMPTS:
            self.park(message, reason_for(exc), attempt)
        else:
            metrics.message(self.queue.name, "retried", reason_for(exc))
            eventlet.sleep(retry_delay(attempt))
            self.queue_consumer.requeue_message(message)
        return result, exc_info

    def park(self, message: Any, reason: str, attempts: int) -> None:
        self.queue_consumer.parking.park(message, self.queue.name, reason, attempts)
        self.queue_consumer.ack_message(message)


event_handler = EventHandler.decorator


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

    def refusal(self, provider: Any, body: Any, message: Any) -> str | None:
        """Why this request is not taken (see `request_refusal`), or None."""
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
            elif not self.nonces.fresh(stamp.signer, stamp.nonce, stamp.ts) and not (
                (message.delivery_info or {}).get("redelivered")
            ):
                # the broker's own redelivery of a request it did not see acked (a
                # consumer died, a connection was cut) is the same message, not a
                # replay: only the broker sets that flag, never a publisher
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
        super().__init__(**kwargs)

    def handle_message(self, body: Any, message: Any) -> None:
        reason = self.rpc_consumer.refusal(self, body, message)
        if reason == REPLAYED:
            # parked, not answered: the first copy's answer is on its way to the
            # caller (a publisher's retry after a cut connection also sends a copy,
            # and an error reply could reach the caller first)
            consumer = self.rpc_consumer.queue_consumer
            consumer.parking.park(
                message,
                self.rpc_consumer.queue.name,
                REPLAYED_COPY,
                delivery_count(message) + 1,
            )
            consumer.ack_message(message)
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
        # the caller's correlation id is taken only as signed (never from a header)
        context_data.pop(CORRELATION_ID, None)
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
        reply_event = self.reply_listener.expect(correlation_id, self.service_name)
        try:
            self.publisher.publish(
                {"args": args, "kwargs": kwargs},
                exchange=get_rpc_exchange(self.container.config),
                routing_key=f"{self.service_name}.{self.method_name}",
                mandatory=True,
                reply_to=self.reply_listener.routing_key,
                correlation_id=correlation_id,
                extra_headers=self.get_message_headers(self.worker_ctx),
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
    "EventHandler",
    "Parking",
    "Rpc",
    "RpcProxy",
    "RpcTimeout",
    "Unprocessable",
    "event_handler",
    "rpc",
]
