"""The entrypoint of an event handler that takes one event per worker, fixing
nameko's messaging defaults for a system that must not lose or half-handle a message.

nameko's own event handler declares a classic queue and acks-and-drops a message whose
handler raises. Here `EventHandler` consumes a durable quorum queue (delivery limit,
dead-letter exchange), hands the method a validated `ReceivedEvent`, acks only after
the handler returns, requeues with backoff when it raises, and after
`MAX_ATTEMPTS` (or at once for `Unprocessable`) parks the message in the queue's DLQ
with the reason in its headers. The consumer keeps serving throughout.

An event is taken only when its envelope's producer signed it and it is the producer
the handler declares. An event is never refused for its age: it may wait in its
durable queue for hours; the inbox stops its replay.

Services declare it with `svyaz.handlers.event_handler`; `svyaz.batch_handler` takes
events in batches.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import eventlet
import kombu
from eventlet.semaphore import Semaphore
from kombu.common import maybe_declare
from marshmallow import ValidationError
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.exceptions import ContainerBeingKilled
from nameko.extensions import Entrypoint, SharedExtension

from svyaz import inbox, metrics, signing, topology
from svyaz.consuming import (
    QueueConsumer,
    Unprocessable,
    delivery_count,
    reason_for,
    retry_delay,
)
from svyaz.context import CORRELATION_ID
from svyaz.db import ServiceStopping
from svyaz.envelope import ReceivedEvent

log = logging.getLogger(__name__)


def _as_tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, list | tuple) else (value,)


class Declarations(SharedExtension):
    """The one connection a container's event handlers declare their queues over
    while it starts (one each cost the broker a connection per handler: 23 for the
    notifications service), closed once the container has started."""

    def __init__(self) -> None:
        self._lock = Semaphore()
        self._connection: kombu.Connection | None = None
        self._channel: Any = None

    def declare(self, *entities: Any) -> None:
        with self._lock:
            try:
                if self._connection is None:
                    self._connection = kombu.Connection(
                        self.container.config[AMQP_URI_CONFIG_KEY]
                    )
                    self._channel = self._connection.channel()
                for entity in entities:
                    maybe_declare(entity, self._channel)
            except Exception:
                self._close()  # the next handler tries on a new connection
                raise

    def _close(self) -> None:
        if self._connection is not None:
            connection, self._connection, self._channel = self._connection, None, None
            try:
                connection.release()
            except Exception:  # noqa: BLE001 - already gone: nothing to release
                log.debug("the declaring connection was gone already")

    def start(self) -> None:  # every handler's setup has declared by now
        self._close()

    def stop(self) -> None:
        self._close()

    def kill(self) -> None:
        self._close()


class EventHandler(Entrypoint):
    """`@event_handler("registry", "communicator.applied.v1")` on a service method."""

    queue_consumer = QueueConsumer()
    declarations = Declarations()

    def __init__(self, source_service: str, event_type: str, **kwargs: Any):
        self.source_service = source_service
        self.event_type = event_type
        # a stop during a database outage gives the message back (no traceback)
        kwargs["expected_exceptions"] = (
            ServiceStopping,
            *_as_tuple(kwargs.get("expected_exceptions", ())),
        )
        self._stopping = False
        super().__init__(**kwargs)

    def stopping(self) -> bool:
        """Whether the container has asked this entrypoint to stop: a worker
        waiting for the database gives its message back (`svyaz.db.retrying`)."""
        return self._stopping

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
        self.declarations.declare(self.queue, topology.parking_queue(self.queue.name))
        inbox.configure(self.container.config)

    def stop(self) -> None:
        self._stopping = True
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
                {"stopping": self.stopping},
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
        if isinstance(exc, ServiceStopping):  # for a replica, or the next start
            self.queue_consumer.requeue_message(message)
            return result, exc_info
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
