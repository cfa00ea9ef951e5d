"""A container's event handlers declare their queues over one connection while it
starts (svyaz.single_handler.Declarations), closed once it has started: one each
cost the broker a connection per handler (23 for the notifications service)."""

from typing import Any

import pytest

from svyaz import single_handler
from svyaz.dependencies import Database
from svyaz.envelope import ReceivedEvent
from svyaz.handlers import event_handler
from tests.helpers import publish_event, wait_until
from tests.svyaz.integration import probe

QUEUES = {
    "probe.on_thing_happened",
    "probe.on_thing_happened.dlq",
    "probe.on_thing_batched",
    "probe.on_thing_batched.dlq",
}


class TwoHandlers:
    """The probe with a single handler and a batched one."""

    name = "probe"
    db = Database()

    @event_handler("probe", "thing.happened.v1")
    def on_thing_happened(self, event: ReceivedEvent) -> None:
        probe.handle(self.db, event)

    @event_handler("probe", "thing.happened.v1", batch=50, linger=0.05)
    def on_thing_batched(self, event: ReceivedEvent) -> None:
        probe.handle(self.db, event)


def test_a_containers_handlers_declare_over_one_connection_closed_once_started(
    probe_config: dict[str, Any],
    container_factory: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    used: dict[str, Any] = {}
    real = single_handler.maybe_declare

    def noting(entity: Any, channel: Any) -> Any:
        used[entity.name] = channel.connection.client  # the kombu Connection
        return real(entity, channel)

    monkeypatch.setattr(single_handler, "maybe_declare", noting)
    container = container_factory(TwoHandlers, probe_config)

    container.start()

    assert set(used) == QUEUES  # both handlers: each its queue and its DLQ
    (connection,) = {id(c): c for c in used.values()}.values()
    assert not connection.connected  # closed: the container keeps none for this
    # and the handlers consume from what was declared
    envelope = probe.THING_HAPPENED.build("thing:1", n=7).envelope("corr-test")
    publish_event(probe_config["AMQP_URI"], envelope)
    wait_until(lambda: probe.CALLS[7] == 2, "both handlers took the event")
