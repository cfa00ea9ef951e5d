import json
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from registry.events import COMMUNICATOR_APPLIED
from svyaz import envelope as envelope_module
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


def _mostly(valid: list[object], invalid: list[object]) -> st.SearchStrategy[object]:
    """A field's value: one the schema takes, three times in four."""
    return st.one_of(
        st.sampled_from(valid),
        st.sampled_from(valid),
        st.sampled_from(valid),
        st.sampled_from(invalid),
    )


FIELDS = {
    "event_id": _mostly(
        [
            "6f1c1c3e-1d2b-4b8e-9f00-1234567890ab",
            "6F1C1C3E1D2B4B8E9F001234567890AB",
            "{6f1c1c3e-1d2b-4b8e-9f00-1234567890ab}",
            "urn:uuid:6f1c1c3e-1d2b-4b8e-9f00-1234567890ab",
        ],
        ["6f1c1c3e-1d2b-4b8e-9f00-1234567890a", "", None, 7, ["x"]],
    ),
    "event_type": _mostly(
        ["registry.communicator_applied.v1", "a.b.v1\n"],
        ["a.b", "A.b.v1", "", None, 1],
    ),
    "occurred_at": _mostly(
        [
            "2026-12-08T03:31:00.123456+00:00",
            "2026-12-08T06:31:00+03:00",
            "2026-12-08T03:31:00Z",
            "2026-12-08T03:31:00",
            "2026-12-08",
            "20261208T033100+0000",
        ],
        ["yesterday", "", None, 1765164660],
    ),
    "producer": st.one_of(
        st.text(min_size=1, max_size=64),
        st.text(min_size=1, max_size=64),
        st.sampled_from(["", "p" * 65, None, 3]),
    ),
    "correlation_id": st.one_of(
        st.text(min_size=1, max_size=128),
        st.text(min_size=1, max_size=128),
        st.sampled_from(["", "c" * 129, None, {"id": 1}]),
    ),
    "data": _mostly([{}, {"n": 1, "d": {"x": [1]}}], [[], "{}", None]),
}


@settings(max_examples=1000, deadline=None)
@given(
    st.fixed_dictionaries(FIELDS, optional={"added_later": st.integers()}),
    st.sets(st.sampled_from(sorted(FIELDS)), max_size=2),
    st.booleans(),
)
def test_the_envelope_read_by_hand_is_what_the_schema_reads(
    body: dict[str, object], missing: set[str], drop: bool
) -> None:
    """Every event a consumer takes is read by `_well_formed` first: wherever it
    answers, its answer must be the schema's (the schema reads the rest, and says
    what is wrong)."""
    if drop:
        body = {k: v for k, v in body.items() if k not in missing}
    by_hand = envelope_module._well_formed(body)
    try:
        by_schema = EnvelopeSchema().load(body)
    except ValidationError:
        assert by_hand is None
        return
    if by_hand is not None:
        assert by_hand == by_schema
        for key, value in by_hand.items():
            assert type(value) is type(by_schema[key])
        assert (
            by_hand["occurred_at"].utcoffset() == by_schema["occurred_at"].utcoffset()
        )


def test_an_envelope_as_the_producers_write_it_is_read_by_hand() -> None:
    """The hand-read path is the one events take (a path no event takes would make
    the property above hold for nothing)."""
    envelope = COMMUNICATOR_APPLIED.build(
        "c:1", communicator_id="6f1c1c3e-1d2b-4b8e-9f00-1234567890ab", pseudonym="o"
    ).envelope("c")
    assert envelope_module._well_formed(json.loads(json.dumps(envelope))) is not None


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
