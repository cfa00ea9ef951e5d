"""An `AMQP_URI` naming several nodes, `;`-separated (a RabbitMQ cluster's, see
docs/cluster.md), is taken node after node by everything that connects: nameko's
consumers, the outbox relay, the readiness check. Here the first node named is down
(a port nothing listens on) and the second is this machine's broker: an event still
goes from the outbox through the relay to the handler. tests/chaos/test_cluster.py
kills real nodes of a real cluster."""

import socket
import urllib.parse
from typing import Any

from nameko.testing.services import entrypoint_hook
from sqlalchemy import text

from svyaz import health
from tests.helpers import wait_until
from tests.svyaz.integration import probe


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then let go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def down_first(uri: str) -> str:
    """`uri` with a node that refuses connections named before it."""
    parts = urllib.parse.urlsplit(uri)
    userinfo = parts.netloc.rpartition("@")[0]
    dead = parts._replace(netloc=f"{userinfo}@127.0.0.1:{closed_port()}")
    return f"{urllib.parse.urlunsplit(dead)};{uri}"


def test_everything_connects_past_a_node_that_is_down(
    probe_config: dict[str, Any],
    probe_engine: Any,
    container_factory: Any,
    rabbit_config: dict[str, Any],
) -> None:
    uri = down_first(rabbit_config["AMQP_URI"])
    dead = uri.split(";")[0]
    assert not health.broker_ready(dead)
    assert health.broker_ready(uri)

    container = container_factory(probe.ProbeService, {**probe_config, "AMQP_URI": uri})
    container.start()  # its consumer and its relay, both on the failover URI
    with entrypoint_hook(container, "emit") as emit:
        emit(41)
    wait_until(
        lambda: (
            [
                r.n
                for r in probe_engine.connect().execute(
                    text("SELECT n FROM probe_effects")
                )
            ]
            == [41]
        ),
        "the event handled through the second node",
    )
