"""A service stopped while its database is away (a failover under a rolling
restart): each event handler that is waiting for the database gives its message
back at once (`svyaz.db.ServiceStopping`), instead of holding the stop for up to
`OUTAGE_PATIENCE` (60 s) each; the message is back on its queue, neither handled,
nor parked, nor lost. On the real RabbitMQ and nameko runner."""

import time
from typing import Any

import kombu
import pytest

from svyaz import topology
from svyaz.db import OUTAGE_PATIENCE
from svyaz.dependencies import Database
from svyaz.envelope import ReceivedEvent
from svyaz.handlers import event_handler
from tests.helpers import publish_event, wait_until
from tests.stack import free_port
from tests.svyaz.integration import probe
from tests.svyaz.integration.test_guarantees import envelope


class OneByOne:
    name = "probe"
    db = Database()

    @event_handler("probe", "thing.happened.v1")
    def on_thing_happened(self, event: ReceivedEvent) -> None:
        probe.handle(self.db, event)


class Batched:
    name = "probe"
    db = Database()

    @event_handler("probe", "thing.happened.v1", batch=50, linger=0.05)
    def on_thing_batched(self, event: ReceivedEvent) -> None:
        probe.handle(self.db, event)


def depth(amqp_uri: str, queue: str) -> int:
    with kombu.Connection(amqp_uri) as conn:
        declared = conn.channel().queue_declare(queue, passive=True)
        return int(declared.message_count)


@pytest.mark.parametrize(
    ("service", "method"),
    [(OneByOne, "on_thing_happened"), (Batched, "on_thing_batched")],
)
def test_a_stop_during_an_outage_gives_the_messages_back_at_once(
    service: Any,
    method: str,
    service_config: Any,
    container_factory: Any,
    rabbit_config: dict[str, Any],
) -> None:
    probe.reset()
    # a database that is not there: nothing listens on this port
    away = f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/nowhere"
    container = container_factory(service, service_config("stipends", DB_URI=away))
    container.start()
    queue = topology.event_queue("probe", method, "probe", "thing.happened.v1").name
    amqp = rabbit_config["AMQP_URI"]
    for n in (41, 42):
        publish_event(amqp, envelope(n))
    # taken and waiting: tried, again at once, then again after a pause (a batch
    # fails at its first event, so 42 is not tried on its own)
    wait_until(lambda: probe.CALLS[41] >= 3, "the handler to wait for the database")
    began = time.monotonic()
    container.stop()
    took = time.monotonic() - began
    assert took < OUTAGE_PATIENCE / 4, f"the stop took {took:.1f} s"
    # back on the queue, for a replica or the next start; none parked
    wait_until(lambda: depth(amqp, queue) == 2, "both messages back on the queue")
    assert depth(amqp, topology.parking_queue(queue).name) == 0
