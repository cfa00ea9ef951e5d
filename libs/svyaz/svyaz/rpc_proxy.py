"""Calling another service over RPC, from a nameko service (`RpcProxy`) or from a
process outside nameko, a CLI or a test (`ClusterRpcProxy`).

- A request is signed as the caller's bus identity, with the idempotency key its
  green thread is bound to (`svyaz.commands`).
- A reply is taken only when the service that was called signed it, for the request
  that is waiting.
- `RpcProxy` waits for a reply at most `RPC_TIMEOUT` seconds, then raises
  `RpcTimeout` (nameko's waits for ever).
- Replies come back under a routing key that names the caller
  (`svyaz.topology.reply_key`), which only the caller's own broker user may bind:
  a service that was called cannot listen in on the replies others send its caller.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import eventlet
import nameko.rpc
import nameko.standalone.rpc
from kombu import Queue
from nameko.amqp.publish import UndeliverableMessage
from nameko.exceptions import UnknownService
from nameko.rpc import (
    RPC_REPLY_QUEUE_TEMPLATE,
    RPC_REPLY_QUEUE_TTL,
    get_rpc_exchange,
)
from nameko.standalone.rpc import SingleThreadedReplyListener

from svyaz import config as settings
from svyaz import idempotency, metrics, signing, topology
from svyaz.consuming import QueueConsumer
from svyaz.context import NONCE

log = logging.getLogger(__name__)


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


def listen_for_own_replies(listener: Any) -> None:
    """A reply listener's set-up (nameko's, but for the routing key): its queue
    `rpc.reply-<service>-<uuid>`, bound under `reply-<identity>-<uuid>`, the key
    requests name in `reply_to` (`svyaz.topology.reply_key`)."""
    container = listener.container
    tag = str(uuid.uuid4())
    listener.routing_key = topology.reply_key(signing.identity_of(container), tag)
    listener.queue = Queue(
        RPC_REPLY_QUEUE_TEMPLATE.format(container.service_name, tag),
        exchange=get_rpc_exchange(container.config),
        routing_key=listener.routing_key,
        queue_arguments={"x-expires": RPC_REPLY_QUEUE_TTL},
    )
    listener.queue_consumer.register_provider(listener)


class ReplyListener(nameko.rpc.ReplyListener):
    queue_consumer = QueueConsumer()
    park_refused = False  # a forged reply is dropped: the caller's wait times out

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._called: dict[str, str] = {}  # correlation id -> the service called

    def setup(self) -> None:
        listen_for_own_replies(self)

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
        self.publisher.signer = signing.identity_of(self.container)

    def _call(self, *args: Any, **kwargs: Any) -> Any:
        """nameko's, except that the reply listener is told which service must
        sign the answer."""
        correlation_id = str(uuid.uuid4())
        headers = self.get_message_headers(self.worker_ctx)
        headers.pop(signing.IDEM_HEADER, None)
        headers.pop(self._get_header_name(NONCE), None)  # this worker's request's
        # the idempotency key this green thread's work is bound to (a console form,
        # an API request, a CLI's invocation: svyaz.commands), one per method called
        key = idempotency.key_for(self.service_name, self.method_name)
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

    def setup(self) -> None:
        listen_for_own_replies(self)

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
