"""The platform's observability parts without servers: the correlation id signed in
an RPC request's stamp (and a stamp without one signing what it always signed), the
reason kinds that become labels, and the correlation id on every JSON log line."""

import json
import logging
from typing import Any

import pytest
from nameko.amqp.publish import Publisher

from svyaz import metrics, signing
from svyaz.context import bind_correlation, safe_id
from svyaz.logging import JsonFormatter, state_change
from svyaz.signing import InvalidSignature, Route


def test_the_trace_is_signed_with_the_request() -> None:
    route = Route("registry.apply", "rq-1", "c-1", trace="11111111-2222-3333-4444")
    with signing.publishing(route):
        wire = signing.encode({"args": [], "kwargs": {}})
    assert signing.decode(wire).stamp.trace == "11111111-2222-3333-4444"
    forged = json.loads(wire)
    forged["trace"] = "99999999-2222-3333-4444"
    with pytest.raises(InvalidSignature):
        signing.decode(json.dumps(forged))
    dropped = json.loads(wire)
    del dropped["trace"]
    with pytest.raises(InvalidSignature):
        signing.decode(json.dumps(dropped))


def test_a_stamp_without_a_trace_signs_the_bytes_it_always_signed() -> None:
    """Messages of processes that carry no trace still verify (and theirs ours)."""
    with signing.publishing(Route("registry.apply", "rq-1", "c-1")):
        wire = json.loads(signing.encode({"args": [], "kwargs": {}}))
    assert "trace" not in wire
    stamp = signing.read_stamp(json.dumps(wire))[0]
    assert json.loads(stamp.text("x")) == [
        f"svyaz-bus-v{signing.VERSION}",
        stamp.signer,
        stamp.key_id,
        f"{stamp.ts:.6f}",
        stamp.nonce,
        "message",
        "",
        "registry.apply",
        "rq-1",
        "c-1",
        "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881",
    ]


def test_the_publisher_signs_the_workers_correlation_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """nameko puts the worker's context in `nameko.*` headers, which nobody signs;
    the publisher copies the correlation id into the signed stamp."""
    sent: list[Any] = []

    def publish(self: Any, payload: Any, **kwargs: Any) -> None:
        sent.append(signing.decode(signing.encode(payload)))

    monkeypatch.setattr(Publisher, "publish", publish)
    publisher = signing.SignedPublisher.__new__(signing.SignedPublisher)
    publisher.publish(
        {"args": [], "kwargs": {}},
        routing_key="registry.apply",
        extra_headers={signing.TRACE_HEADER: "abcdef12-0000"},
    )
    assert sent[0].stamp.trace == "abcdef12-0000"


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("0f8fad5b-d9cb-469f-a165-70867728950e", True),
        ("short", False),
        ("olga@example.org", False),
        ("a" * 65, False),
        ("", False),
    ],
)
def test_only_id_shaped_correlation_ids_are_taken(value: str, kept: bool) -> None:
    assert (safe_id(value) == value) is kept


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("refused: InvalidSignature: bad signature from 'x'", "bad_signature"),
        ("refused: DecodeError: not JSON", "refused"),
        ("malformed event: ValidationError: {'data': ...}", "malformed"),
        ("Unprocessable: version v9", "unprocessable"),
        ("replayed copy (harmless): a second copy", "replayed"),
        ("KeyError: 'signed_by'", "failed"),
        ("OperationalError: olga@example.org timed out", "failed"),
    ],
)
def test_a_reason_becomes_one_of_a_closed_list_of_kinds(reason: str, kind: str) -> None:
    assert metrics.reason_kind(reason) == kind
    assert kind in metrics.REASONS


def test_a_reply_queue_is_one_label_whatever_its_process() -> None:
    assert metrics.queue_label("rpc.reply-gateway-1f2e") == "rpc.reply"
    assert metrics.queue_label("rpc-registry") == "rpc-registry"


def test_a_parked_message_is_counted_by_queue_and_kind_never_by_text() -> None:
    metrics.message("notifications.on_x", "parked", "KeyError: olga@example.org")
    value = metrics.MESSAGES.labels("notifications.on_x", "parked", "failed")
    assert value._value.get() >= 1  # noqa: SLF001
    labels = {s.labels["reason"] for m in metrics.MESSAGES.collect() for s in m.samples}
    assert all(label in metrics.REASONS for label in labels)


def _line(record: logging.LogRecord) -> dict[str, Any]:
    return dict(json.loads(JsonFormatter().format(record)))


def test_every_log_line_carries_the_bound_correlation_id() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("a",), None)
    bind_correlation("0f8fad5b-d9cb-469f-a165-70867728950e")
    try:
        assert _line(record)["correlation_id"] == "0f8fad5b-d9cb-469f-a165-70867728950e"
    finally:
        bind_correlation(None)
    assert "correlation_id" not in _line(record)


def test_a_state_change_is_one_line_of_ids(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("svyaz.test")
    with caplog.at_level(logging.INFO, logger="svyaz.test"):
        state_change(logger, "stipend", "s-1", "approved", by="a-1", run=None)
    (record,) = caplog.records
    assert _line(record)["change"] == {
        "entity": "stipend",
        "id": "s-1",
        "state": "approved",
        "by": "a-1",
    }


def test_processes_started_together_sample_at_phases_of_their_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each sampler first waits between half an interval and one and a half (the
    consumers start meanwhile), then a whole interval between samples: five
    services started at once do not all query the database and the broker in the
    same moment."""
    import eventlet

    class Stop(Exception):
        pass

    def first_waits(count: int) -> list[float]:
        found = []
        for _ in range(count):
            observed = metrics.Observed()
            observed.interval = 4.0
            observed._running = True
            observed.sampler = None
            waits: list[float] = []

            def sleep(seconds: float, waits: list[float] = waits) -> None:
                waits.append(seconds)
                if len(waits) == 3:
                    raise Stop

            monkeypatch.setattr(eventlet, "sleep", sleep)
            with pytest.raises(Stop):
                observed._run()
            assert waits[1:] == [4.0, 4.0]  # then the interval, every time
            found.append(waits[0])
        return found

    firsts = first_waits(50)
    assert all(2.0 <= wait <= 6.0 for wait in firsts)
    assert len({round(wait, 3) for wait in firsts}) > 40  # not one shared phase
