import json
from types import SimpleNamespace

import pytest
from marshmallow import ValidationError

from registry.events import COMMUNICATOR_APPLIED
from svyaz.envelope import EnvelopeSchema, EventSpec, ReceivedEvent
from svyaz.outbox import in_order


def test_an_event_wraps_in_the_one_envelope() -> None:
    event = COMMUNICATOR_APPLIED.build(
        "communicator:1",
        communicator_id="6f1c1c3e-1d2b-4b8e-9f00-1234567890ab",
        pseudonym="owl",
    )
    envelope = event.envelope("corr-1")
    assert set(envelope) == {
        "event_id",
        "event_type",
        "occurred_at",
        "producer",
        "correlation_id",
        "data",
    }
    assert envelope["producer"] == "registry"
    assert envelope["occurred_at"].endswith("+00:00")
    received = ReceivedEvent.load(envelope, consumer="c.m")
    assert received.data == event.data and received.consumer == "c.m"


def test_the_envelope_is_what_its_schema_dumps() -> None:
    """`Event.envelope` writes the envelope out by hand (a hot path): it must stay
    exactly what `EnvelopeSchema` dumps, a copy of the payload included."""
    event = COMMUNICATOR_APPLIED.build(
        "communicator:1",
        communicator_id="6f1c1c3e-1d2b-4b8e-9f00-1234567890ab",
        pseudonym="owl",
    )
    envelope = event.envelope("corr-1")
    expected = EnvelopeSchema().dump(
        {
            "event_id": event.event_id,
            "event_type": event.event_type,
            "occurred_at": event.occurred_at,
            "producer": event.producer,
            "correlation_id": "corr-1",
            "data": event.data,
        }
    )
    assert envelope == expected
    assert json.dumps(envelope) == json.dumps(expected)  # the same order, too
    assert envelope["data"] is not event.data


def test_a_payload_must_match_its_schema() -> None:
    with pytest.raises(ValidationError):
        COMMUNICATOR_APPLIED.build("communicator:1", pseudonym="owl")


@pytest.mark.parametrize(
    "name", ["Communicator.applied.v1", "applied.v1", "communicator.applied", "a.b.v0"]
)
def test_event_names_follow_the_convention(name: str) -> None:
    with pytest.raises(ValidationError):
        EventSpec("x", name, COMMUNICATOR_APPLIED.schema)


def test_unknown_envelope_fields_are_ignored_and_missing_ones_refused() -> None:
    envelope = COMMUNICATOR_APPLIED.build(
        "c:1", communicator_id="6f1c1c3e-1d2b-4b8e-9f00-1234567890ab", pseudonym="o"
    ).envelope("c")
    ReceivedEvent.load({**envelope, "added_later": 1}, consumer="x")
    del envelope["producer"]
    with pytest.raises(ValidationError):
        ReceivedEvent.load(envelope, consumer="x")


def row(ident: int) -> SimpleNamespace:
    return SimpleNamespace(id=ident)


def test_rows_wait_behind_an_older_unsent_row_of_their_aggregate() -> None:
    batch = [row(2), row(3), row(5)]
    unsent = [("a", 1), ("a", 2), ("b", 3), ("a", 5)]  # row 1 is someone else's
    assert [r.id for r in in_order(batch, unsent)] == [3]


def test_a_whole_aggregate_in_the_batch_goes_in_order() -> None:
    batch = [row(1), row(2), row(4)]
    unsent = [("a", 1), ("b", 2), ("a", 4)]
    assert [r.id for r in in_order(batch, unsent)] == [1, 2, 4]


def test_a_relay_batch_goes_to_the_socket_in_one_write() -> None:
    """`outbox._one_write` on py-amqp's connection: the frames written inside the
    block reach the transport as one write, in order; a block that raises writes
    nothing (its rows stay unsent); the transport's own writer is put back."""
    from types import SimpleNamespace

    import pytest

    from svyaz.outbox import _one_write

    writes: list[bytes] = []
    transport = SimpleNamespace(_write=writes.append)
    connection = SimpleNamespace(transport=transport)
    buffer = bytearray(b"a")
    with _one_write(connection):
        transport._write(buffer)
        buffer[:] = b"b"  # py-amqp reuses its buffer between frames
        transport._write(buffer)
    assert writes == [b"ab"]
    assert transport._write == writes.append

    with pytest.raises(RuntimeError), _one_write(connection):
        transport._write(b"c")
        raise RuntimeError("the publish failed")
    assert writes == [b"ab"] and transport._write == writes.append
