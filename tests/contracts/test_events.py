"""Event contracts: for every event version there is a JSON sample; the producer's
schema dumps exactly the sample's data and every consumer's schema loads it."""

import importlib.util
import json
from pathlib import Path

import pytest
from marshmallow import Schema

import notifications.schemas
import stipends.schemas
from notifications.events import PUBLISHED as NOTIFICATIONS
from registry.events import PUBLISHED as REGISTRY
from stipends.events import PUBLISHED as STIPENDS
from svyaz.envelope import EnvelopeSchema, ReceivedEvent
from tests.conftest import ROOT

SAMPLES = Path(__file__).parent / "samples"
PRODUCED = {spec.event_type: spec for spec in REGISTRY + STIPENDS + NOTIFICATIONS}
CONSUMERS: dict[str, list[type[Schema]]] = {
    "communicator.applied.v1": [
        stipends.schemas.CommunicatorAppliedIn,
        notifications.schemas.CommunicatorAppliedIn,
    ],
}


def sample(event_type: str) -> dict:
    return json.loads((SAMPLES / f"{event_type}.json").read_text())


@pytest.mark.parametrize("event_type", sorted(PRODUCED))
def test_the_producer_dumps_the_sample(event_type: str) -> None:
    expected = sample(event_type)
    spec = PRODUCED[event_type]
    assert spec.producer == expected["producer"]
    built = spec.build("aggregate:1", **expected["data"])
    assert built.data == expected["data"]
    assert EnvelopeSchema().load(expected)  # the envelope itself is well formed


@pytest.mark.parametrize(
    ("event_type", "schema"),
    [(t, s) for t, schemas in CONSUMERS.items() for s in schemas],
    ids=lambda v: v if isinstance(v, str) else f"{v.__module__}.{v.__name__}",
)
def test_every_consumer_loads_the_sample(event_type: str, schema: type[Schema]) -> None:
    event = ReceivedEvent.load(sample(event_type), consumer="contract")
    assert schema().load(event.data)
    # an added optional field keeps the version: consumers must ignore it
    assert schema().load({**event.data, "added_in_a_later_release": True})


def test_every_consumed_event_is_produced_and_has_consumers_listed() -> None:
    spec = importlib.util.spec_from_file_location(
        "generate", ROOT / "infra" / "rabbitmq" / "generate.py"
    )
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    handlers, _ = generate.collect()
    consumed = {event_type for _, _, _, event_type in handlers}
    assert consumed <= set(PRODUCED)
    assert consumed == set(CONSUMERS), "list each consumer's schema in CONSUMERS"
    for event_type in consumed:
        handling = [h for h in handlers if h[3] == event_type]
        assert len(CONSUMERS[event_type]) == len(handling), event_type
