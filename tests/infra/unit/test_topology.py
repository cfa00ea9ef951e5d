"""infra/rabbitmq/definitions.json is what the code declares (regenerate with
`make topology`), and every event a service publishes has a queue to go to."""

import importlib.util
import json

from notifications.events import PUBLISHED as NOTIFICATIONS_EVENTS
from registry.events import PUBLISHED as REGISTRY_EVENTS
from stipends.events import PUBLISHED as STIPENDS_EVENTS
from tests.conftest import ROOT


def generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "generate", ROOT / "infra" / "rabbitmq" / "generate.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_definitions_file_matches_the_code() -> None:
    committed = json.loads((ROOT / "infra/rabbitmq/definitions.json").read_text())
    assert committed == json.loads(json.dumps(generator().definitions())), (
        "run `make topology` and commit infra/rabbitmq/definitions.json"
    )


def test_every_handler_queue_is_a_quorum_queue_with_a_dead_letter_queue() -> None:
    definitions = generator().definitions()
    queues = {q["name"]: q for q in definitions["queues"]}
    handlers = [
        n for n in queues if not n.startswith("rpc-") and not n.endswith(".dlq")
    ]
    assert handlers, "no handler queues found"
    for name in handlers:
        args = queues[name]["arguments"]
        assert args["x-queue-type"] == "quorum"
        assert args["x-delivery-limit"] > 0
        assert args["x-dead-letter-exchange"] == "svyaz.dlx"
        assert f"{name}.dlq" in queues


def test_every_published_event_has_a_bound_queue() -> None:
    bindings = generator().definitions()["bindings"]
    routed = {(b["source"], b["routing_key"]) for b in bindings}
    for spec in REGISTRY_EVENTS + STIPENDS_EVENTS + NOTIFICATIONS_EVENTS:
        assert (f"{spec.producer}.events", spec.event_type) in routed, spec
