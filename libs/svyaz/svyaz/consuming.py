"""What every consumer of the bus shares: parking a message, unchanged, in its
queue's dead-letter queue with the reason in its headers, and a queue consumer that
neither dies on what it cannot decode nor on a cut connection.

nameko's queue consumer dies on a message it cannot decode, and lets the socket's
error of an ack or requeue on a just-cut connection kill the container. Here:

- A message that cannot be decoded (bad signature, not JSON, wrong content type) is
  parked with the reason and acked instead of killing the consumer.
- An ack or requeue that a just-cut connection loses is logged, not raised: the
  broker delivers the message again.

The entrypoints built on it: `svyaz.single_handler` and `svyaz.batch_handler`
(events), `svyaz.rpc` (requests), `svyaz.rpc_proxy` (replies).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

import amqp.exceptions
import kombu
import kombu.exceptions
import nameko.messaging
from nameko.constants import AMQP_URI_CONFIG_KEY

from svyaz import config as settings
from svyaz import metrics, signing, topology
from svyaz.logging import redact, shorten

log = logging.getLogger(__name__)

REASON_HEADER = "x-svyaz-reason"
QUEUE_HEADER = "x-svyaz-queue"
ATTEMPTS_HEADER = "x-svyaz-attempts"
PARKED_AT_HEADER = "x-svyaz-parked-at"  # UTC ISO-8601, when it was last parked
TIMES_PARKED_HEADER = "x-svyaz-times-parked"  # 1, then 2 when parked after a retry
# seconds the consumer waits for the broker before it looks again at what it was
# asked (kombu's default is 1 s): a consumer asked to cancel or stop notices within
# this, so a service stops in a fraction of a second instead of about three
STOP_POLL_SECONDS = 0.1


class Unprocessable(Exception):
    """This message can never succeed (malformed, wrong version): park it at once."""


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

    def consume(
        self,
        limit: int | None = None,
        timeout: float | None = None,
        safety_interval: float = STOP_POLL_SECONDS,
        **kwargs: Any,
    ) -> Any:
        return super().consume(limit, timeout, safety_interval, **kwargs)

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
