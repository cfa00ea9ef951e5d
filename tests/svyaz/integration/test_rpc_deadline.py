"""A call to another service waits at most RPC_TIMEOUT seconds (nameko's own proxy
waits for ever), and its reply comes under a routing key naming the caller, against
the real RabbitMQ and nameko containers."""

import time
from collections.abc import Callable
from typing import Any

import eventlet
from nameko.testing.services import entrypoint_hook

from svyaz import signing
from svyaz.keys import OPERATOR
from svyaz.rpc import rpc
from svyaz.rpc_proxy import ClusterRpcProxy, ReplyListener, RpcProxy, RpcTimeout

RELEASE = eventlet.event.Event()


class SlowService:
    name = "slow"

    @rpc(callers={"caller", OPERATOR})
    def answer(self, wait: bool) -> str:
        if wait:
            RELEASE.wait(timeout=10)  # until the test lets it go (10 s at most)
        return "answered"


class CallerService:
    name = "caller"

    slow = RpcProxy("slow")

    @rpc(callers={"gateway"})
    def ask(self, wait: bool) -> str:
        try:
            return str(self.slow.answer(wait))
        except RpcTimeout as exc:
            return f"gave up: {exc}"


def test_a_call_that_gets_no_answer_gives_up_after_the_timeout_and_the_next_works(
    service_config: Callable[..., dict[str, Any]],
    container_factory: Any,
    database: Callable[[str], str],
) -> None:
    global RELEASE
    RELEASE = eventlet.event.Event()
    # a database for the RPC consumer's nonces
    config = service_config("stipends", RPC_TIMEOUT="1", DB_URI=database("stipends"))
    slow = container_factory(SlowService, config)
    caller = container_factory(CallerService, config)
    slow.start()
    caller.start()

    started = time.monotonic()
    with entrypoint_hook(caller, "ask") as ask:
        said = ask(True)
    waited = time.monotonic() - started
    assert said == "gave up: slow.answer did not answer in 1 s"
    assert 1.0 <= waited < 5.0, waited
    listeners = [ext for ext in caller.extensions if isinstance(ext, ReplyListener)]
    assert listeners
    assert all(not found._reply_events for found in listeners)  # forgotten

    RELEASE.send(True)  # the late answer arrives and is dropped
    with entrypoint_hook(caller, "ask") as ask:
        assert ask(False) == "answered"


def test_replies_come_under_a_key_that_names_the_caller(
    service_config: Callable[..., dict[str, Any]],
    container_factory: Any,
    database: Callable[[str], str],
) -> None:
    """The key a caller's requests name in `reply_to`, and its reply queue is bound
    under, is `reply-<its identity>-<uuid>` (the broker lets only that identity's
    user bind it: tests/e2e/test_least_privilege.py); the answers arrive by it, to
    a service's proxy and to a standalone one (a CLI's)."""
    config = service_config("stipends", DB_URI=database("stipends"))
    slow = container_factory(SlowService, config)
    caller = container_factory(CallerService, config)
    slow.start()
    caller.start()
    with entrypoint_hook(caller, "ask") as ask:
        assert ask(False) == "answered"
    (listener,) = [e for e in caller.extensions if isinstance(e, ReplyListener)]
    identity = signing.identity_of(caller)
    assert listener.routing_key.startswith(f"reply-{identity}-")
    assert listener.queue.routing_key == listener.routing_key

    with ClusterRpcProxy({**config, "BUS_IDENTITY": OPERATOR}, timeout=30) as cli:
        assert cli.slow.answer(False) == "answered"
        assert cli._reply_listener.routing_key.startswith(f"reply-{OPERATOR}-")
