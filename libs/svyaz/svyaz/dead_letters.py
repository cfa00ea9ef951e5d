"""The dead-letter queues of one service's queues on the broker: their depths, the
messages parked in them, and a retry or discard of one (`svyaz.parking` audits and
offers these to program admins).

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

A retry republishes the body and the publisher's headers unchanged (the stamp, its
signature and nonce with them) to the queue the message came from, then removes it
from the dead-letter queue. An event handler takes an event up to `INBOX_KEEP_DAYS`
old (svyaz.inbox) and its inbox makes a second copy of an event already handled do
nothing; an older one is parked again as too old. An RPC request is never
retried (see `svyaz.parked_messages`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import amqp.exceptions
import kombu

from svyaz import signing, topology
from svyaz.errors import Conflict, NotFound
from svyaz.parked_actions import RETRY
from svyaz.parked_messages import (
    WHY_NOT_UNKNOWN_QUEUE,
    ParkedMessage,
    describe,
    message_id,
    retry_headers,
)

SCAN_LIMIT = 10_000  # messages looked at per queue when finding one by id


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
