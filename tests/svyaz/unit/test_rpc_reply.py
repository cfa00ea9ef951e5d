"""A reply the broker cannot take puts the request back; it does not kill the
service (nameko's own RpcConsumer lets the error kill the container)."""

from types import SimpleNamespace
from typing import Any

import eventlet
import kombu.exceptions
import nameko.rpc
import pytest
from nameko.constants import AMQP_URI_CONFIG_KEY

from svyaz.rpc import RpcConsumer


class QueueConsumer:
    def __init__(self) -> None:
        self.acked: list[Any] = []
        self.requeued: list[Any] = []

    def ack_message(self, message: Any) -> None:
        self.acked.append(message)

    def requeue_message(self, message: Any) -> None:
        self.requeued.append(message)


def consumer() -> RpcConsumer:
    rpc_consumer = RpcConsumer()
    rpc_consumer.container = SimpleNamespace(  # type: ignore[assignment]
        config={AMQP_URI_CONFIG_KEY: "amqp://guest:guest@127.0.0.1:1/"},
        service_name="registry",
    )
    rpc_consumer.queue_consumer = QueueConsumer()  # type: ignore[assignment]
    return rpc_consumer


MESSAGE = SimpleNamespace(
    properties={"content_type": "application/json", "reply_to": "rpc.reply-x"}
)


def test_a_reply_the_broker_cannot_take_requeues_the_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broker_away(self: Any, result: Any, exc_info: Any) -> Any:
        raise kombu.exceptions.OperationalError("[Errno 111] ECONNREFUSED")

    monkeypatch.setattr(nameko.rpc.Responder, "send_response", broker_away)
    rpc_consumer = consumer()
    order: list[Any] = []
    monkeypatch.setattr(eventlet, "sleep", lambda seconds: order.append(seconds))
    requeue = rpc_consumer.queue_consumer.requeue_message
    rpc_consumer.queue_consumer.requeue_message = lambda m: (  # type: ignore[method-assign]
        order.append("requeued"),
        requeue(m),
    )

    assert rpc_consumer.handle_result(MESSAGE, {"ok": 1}, None) == ({"ok": 1}, None)
    assert rpc_consumer.queue_consumer.requeued == [MESSAGE]
    assert rpc_consumer.queue_consumer.acked == []
    # a pause first: a broker that keeps refusing replies does not get a hot loop
    assert order == [RpcConsumer.requeue_pause, "requeued"]
    assert RpcConsumer.requeue_pause >= 0.5


def test_a_sent_reply_acks_the_request(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[Any] = []

    def send(self: Any, result: Any, exc_info: Any) -> Any:
        sent.append(result)
        return result, exc_info

    monkeypatch.setattr(nameko.rpc.Responder, "send_response", send)
    rpc_consumer = consumer()

    rpc_consumer.handle_result(MESSAGE, {"ok": 1}, None)
    assert sent == [{"ok": 1}]
    assert rpc_consumer.queue_consumer.acked == [MESSAGE]
    assert rpc_consumer.queue_consumer.requeued == []


def test_any_other_failure_to_reply_is_still_fatal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(self: Any, result: Any, exc_info: Any) -> Any:
        raise KeyError("reply_to")

    monkeypatch.setattr(nameko.rpc.Responder, "send_response", broken)
    with pytest.raises(KeyError):
        consumer().handle_result(MESSAGE, {"ok": 1}, None)
