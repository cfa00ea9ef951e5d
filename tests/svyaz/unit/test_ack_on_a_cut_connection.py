"""An ack or a requeue on a connection that has just been cut does not kill the
service (nameko's queue consumer lets the socket's OSError escape, and the container
dies with it), and an RPC reply that arrived is still handed to its caller."""

from types import SimpleNamespace

import eventlet
import pytest

from svyaz import signing
from svyaz.consuming import QueueConsumer
from svyaz.rpc_proxy import ReplyListener


class Message:
    def __init__(self, error: Exception | None = None) -> None:
        self.channel = SimpleNamespace(connection=object())  # nameko checks it is set
        self.properties = {"correlation_id": "call-1"}
        self.error = error
        self.acked = self.requeued = 0

    def ack(self) -> None:
        if self.error:
            raise self.error
        self.acked += 1

    def requeue(self) -> None:
        if self.error:
            raise self.error
        self.requeued += 1


@pytest.mark.parametrize(
    "error", [ConnectionResetError(104, "reset"), BrokenPipeError(32, "pipe")]
)
def test_an_ack_or_requeue_on_a_cut_connection_is_logged_not_raised(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    consumer = QueueConsumer()
    consumer.ack_message(Message(error))
    consumer.requeue_message(Message(error))
    said = [r.getMessage() for r in caplog.records]
    assert any(s.startswith("ack not sent, the connection is gone") for s in said)
    assert any(s.startswith("requeue not sent, the connection is gone") for s in said)


def test_on_a_live_connection_acks_and_requeues_go_through() -> None:
    consumer = QueueConsumer()
    message = Message()
    consumer.ack_message(message)
    consumer.requeue_message(message)
    assert (message.acked, message.requeued) == (1, 1)


def test_any_other_error_still_escapes() -> None:
    with pytest.raises(KeyError):
        QueueConsumer().ack_message(Message(KeyError("bug")))


def test_a_reply_whose_ack_fails_still_reaches_its_caller() -> None:
    listener = ReplyListener()
    listener.queue_consumer = QueueConsumer()  # type: ignore[assignment]
    waiting = listener.expect("call-1", "registry")
    with (
        signing.signing_as("registry"),
        signing.publishing(signing.Route("rq", correlation_id="call-1")),
    ):
        reply = signing.decode(signing.encode({"result": 7, "error": None}))
    listener.handle_message(reply, Message(ConnectionResetError()))
    with eventlet.Timeout(1):
        assert waiting.wait() == {"result": 7, "error": None}
