"""The entrypoint of an event handler that takes up to `batch` events in one
transaction (`@event_handler(source, event_type, batch=N)`, see `svyaz.handlers`).
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import amqp.exceptions
import eventlet
import eventlet.event
import kombu
from greenlet import GreenletExit
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY,
    AMQP_URI_CONFIG_KEY,
    DEFAULT_HEARTBEAT,
    HEARTBEAT_CONFIG_KEY,
    LOGIN_METHOD_CONFIG_KEY,
)
from nameko.exceptions import ContainerBeingKilled

from svyaz import batch as batching
from svyaz import config as settings
from svyaz import metrics, signing
from svyaz.consuming import (
    BROKER_AWAY,
    Parking,
    delivery_count,
    reason_for,
    retry_delay,
    settle,
)
from svyaz.context import CORRELATION_ID
from svyaz.db import ServiceStopping
from svyaz.envelope import ReceivedEvent
from svyaz.single_handler import EventHandler

log = logging.getLogger(__name__)

# seconds a take waits for its batch to fill after its first message: while events
# come in batches (a batch of about 55 at 1,100 events/s), and while they come one
# at a time. 10 ms for both until 2026-12-05 (a fixed 50 ms took our consumer's CPU
# per event in bench/event_hop.py from 0.66-0.72 to 0.56-0.57 ms; the adaptive wait
# measured 0.62-0.65 ms, docs/benchmarks.md)
LINGER = 0.05
QUICK = 0.002
# seconds of the wait for a first message before the heartbeat is looked at; a stop
# does not wait for it to end (`stop`)
IDLE_WAIT = 1.0


class BatchEventHandler(EventHandler):
    """`@event_handler(source, event_type, batch=100)`: up to `batch` messages in
    one transaction.

    Its own connection and channel (prefetch = `batch`) and one batch at a time on
    them, so that every unacknowledged delivery on the channel belongs to the batch
    in hand and one multiple ack after the commit is exact. It waits for the first
    message, then for more: at most `linger` seconds while events come in batches
    (the last take held more than one), `QUICK` while they come one at a time (so
    that a lone event is not held back for a batch that is not coming); checks and
    parks each message as the single handler does (signature, envelope, producer),
    and hands the method the batch: every `db.transaction()` the method opens joins
    one session, and `inbox.claim` reads one multi-row claim of the whole batch.
    After the commit: one multiple ack.

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
        linger: float = LINGER,
        **kwargs: Any,
    ):
        self.batch_size = batch
        self.linger = linger
        self._filling = False  # the last take held more than one message
        self._running = False
        self._idle = False  # waiting for a first message, none in hand
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
        """The batch in hand is finished (committed and acked, or rolled back);
        a consumer waiting for a first message stops waiting at once, instead of
        at the end of its `IDLE_WAIT` (a service with batch handlers stopped in a
        second). Nothing is in hand then: a message arriving in that moment is
        unacknowledged and comes again to the next consumer."""
        self._running = False
        self._stopping = True
        if self._gt is not None:
            if self._idle:
                self._gt.kill()
            try:
                self._gt.wait()
            except GreenletExit:
                pass
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
                if not self._running:  # a stop ended the wait: nothing lost
                    return
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
        # py-amqp's connection under kombu's: waited on directly (see `_wait_for`)
        raw = connection.connection
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
                self._wait_for(raw, arrived)
                if arrived:
                    self._handle(self._take(arrived))

    def _take(self, arrived: list[Any]) -> list[Any]:
        """What has arrived, as the next batch; a take of more than one turns the
        long wait on for the next one, a take of one turns it off."""
        taken, arrived[:] = list(arrived), []
        self._filling = len(taken) > 1
        return taken

    def _wait_for(self, raw: Any, arrived: list[Any]) -> None:
        """The first message (or `IDLE_WAIT` of nothing), then up to `linger` more
        seconds for the batch to fill (`QUICK` after a take of one message).

        On py-amqp's connection, the one the consumer was made on, not through
        kombu's: when an ack written to a cut socket has marked the connection
        failed, kombu's `drain_events` quietly opens a new connection and waits
        there, where nothing consumes, for ever (seen in the cluster chaos run:
        both replicas' consumers of a queue stopped, with no error). A failed
        connection raises here instead, and `_consume` makes a new consumer."""
        if not raw.connected:
            raise amqp.exceptions.RecoverableConnectionError(
                "the consumer's connection has failed"
            )
        self._idle = self._running
        try:
            raw.drain_events(timeout=IDLE_WAIT)
        except TimeoutError:
            raw.heartbeat_tick(rate=2)
            return
        finally:
            self._idle = False
        window = self.linger if self._filling else min(self.linger, QUICK)
        deadline = time.monotonic() + window
        while len(arrived) < self.batch_size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                raw.drain_events(timeout=remaining)
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
            exc_info = self._run([e for e, _ in fresh])
            if exc_info is None:
                self.ack_all([m for _, m in fresh], [m for _, m in taken])
                for _ in fresh:
                    metrics.message(self.queue.name, "handled")
            elif isinstance(exc_info[1], ServiceStopping):  # all of them, back
                for _, message in fresh + again:
                    self.requeue_message(message)
                return
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
                {"stopping": self.stopping},
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
        given_back = False
        for event, message in loaded:
            if given_back:  # stopping with the database away: the rest go back too
                self.requeue_message(message)
                continue
            exc_info = self._run([event])
            if exc_info is not None and isinstance(exc_info[1], ServiceStopping):
                given_back = True
            if exc_info is None:
                self.ack_message(message)
                metrics.message(self.queue.name, "handled")
            elif isinstance(exc_info[1], ContainerBeingKilled | ServiceStopping):
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
