"""What the RPC consumer refuses before a method runs, with a fake nonce store."""

from types import SimpleNamespace
from typing import Any

from svyaz import signing
from svyaz.errors import NotFound
from svyaz.rpc import REPLAYED, RpcConsumer


class Nonces:
    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()

    def fresh(self, signer: str, nonce: str, ts: float) -> bool:
        key = (signer, nonce)
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


def consumer() -> RpcConsumer:
    found = RpcConsumer()
    found.max_age = 45.0
    found.nonces = Nonces()  # type: ignore[assignment]
    return found


def request(method: str = "registry.list_corridors") -> tuple[Any, Any]:
    route = signing.Route(method, "reply-q", "corr-1")
    with signing.publishing(route):
        body = signing.decode(signing.encode({"args": [], "kwargs": {}}))

    def message(redelivered: bool) -> Any:
        return SimpleNamespace(
            delivery_info={"routing_key": method, "redelivered": redelivered},
            properties={"reply_to": "reply-q", "correlation_id": "corr-1"},
        )

    return body, message


PROVIDER = SimpleNamespace(method_name="list_corridors", callers={"gateway"})


def test_a_copy_published_again_is_refused_as_a_replay() -> None:
    rpc_consumer = consumer()
    body, message = request()
    assert rpc_consumer.refusal(PROVIDER, body, message(False)) is None
    assert rpc_consumer.refusal(PROVIDER, body, message(False)) == REPLAYED


def test_the_brokers_own_redelivery_is_the_same_request_not_a_replay() -> None:
    """A consumer died before its ack: the broker delivers the request again with
    the redelivered flag, which no publisher can set. RPC stays at least once."""
    rpc_consumer = consumer()
    body, message = request()
    assert rpc_consumer.refusal(PROVIDER, body, message(False)) is None
    assert rpc_consumer.refusal(PROVIDER, body, message(True)) is None


def test_an_undeclared_caller_is_refused_even_when_redelivered() -> None:
    rpc_consumer = consumer()
    body, message = request()
    provider = SimpleNamespace(method_name="list_corridors", callers={"stipends"})
    assert "'gateway' may not call list_corridors" in str(
        rpc_consumer.refusal(provider, body, message(True))
    )


def test_an_error_raised_without_a_code_gets_one_in_the_codes_style() -> None:
    """A client reads `communicator_not_found`, like every other code, never a
    class name (CommunicatorNotFound) that says how the service is written."""

    class CommunicatorNotFound(NotFound):
        pass

    error = CommunicatorNotFound("no such communicator")
    assert error.code == "communicator_not_found"
    assert error.wire().code == "communicator_not_found"
    assert NotFound("gone", "run_not_found").code == "run_not_found"
