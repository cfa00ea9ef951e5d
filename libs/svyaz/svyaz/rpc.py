"""The RPC entrypoint, fixing nameko's defaults for a system that must not lose or
half-handle a request.

- `rpc(callers={...})` declares which signers may call a method; everything else is
  refused before the method runs, and so is a method with no declaration (default
  deny). A request is taken only as it was signed: on the routing key (method), reply
  address and correlation id its signature covers, within `BUS_RPC_MAX_AGE` seconds,
  and with a nonce no request of its signer used in that window (`svyaz.nonces`).
  The worker learns the verified signer as its caller. A reply the broker cannot take
  (it is restarting) puts the request back instead of killing the service.
- The reply is signed as the container that answers (`svyaz.rpc_proxy` takes only
  such replies).
"""

from __future__ import annotations

import logging
import time
from functools import partial
from typing import Any

import eventlet
import nameko.rpc
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY,
    AMQP_URI_CONFIG_KEY,
    DEFAULT_SERIALIZER,
    LOGIN_METHOD_CONFIG_KEY,
    SERIALIZER_CONFIG_KEY,
)
from nameko.exceptions import ContainerBeingKilled, MalformedRequest
from nameko.rpc import get_rpc_exchange

from svyaz import commands, metrics, signing
from svyaz import config as settings
from svyaz.consuming import BROKER_AWAY, QueueConsumer, delivery_count
from svyaz.context import (
    CALLER,
    CORRELATION_ID,
    IDEMPOTENCY_KEY,
    NONCE,
    caller,
    safe_id,
)
from svyaz.db import make_cooperative, make_engine
from svyaz.dependencies import Database
from svyaz.errors import Forbidden, ServiceError
from svyaz.nonces import NonceStore, Replayed

log = logging.getLogger(__name__)


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
            signer=signing.identity_of(self.container),
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
