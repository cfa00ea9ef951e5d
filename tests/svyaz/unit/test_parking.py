"""What the listing of parked messages says, from headers and stamp alone."""

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from svyaz import signing
from svyaz.consuming import (
    ATTEMPTS_HEADER,
    PARKED_AT_HEADER,
    QUEUE_HEADER,
    REASON_HEADER,
    TIMES_PARKED_HEADER,
)
from svyaz.parked_messages import (
    BROKER_HEADERS,
    WHY_NOT_REPLAYED,
    WHY_NOT_RPC,
    WHY_NOT_UNSIGNED,
    describe,
    message_id,
    retry_headers,
)
from svyaz.rpc import REPLAYED_COPY

SECRET = "Petrova Olga, +7 900 000-00-00"


def event_body() -> str:
    envelope = {
        "event_id": str(uuid.uuid4()),
        "event_type": "thing.happened.v1",
        "occurred_at": datetime.now(UTC).isoformat(),
        "producer": "stipends",
        "correlation_id": SECRET,
        "data": {"note": SECRET},
    }
    with (
        signing.signing_as("stipends"),
        signing.publishing(signing.Route("thing.happened.v1")),
    ):
        return signing.encode(envelope)


def rpc_body() -> str:
    route = signing.Route("registry.apply", "rpc.reply-x", "corr-1")
    with signing.signing_as("gateway"), signing.publishing(route):
        return signing.encode({"args": [{"name": SECRET}], "kwargs": {}})


def park_headers(queue: str, reason: str, **more: Any) -> dict[str, Any]:
    return {
        REASON_HEADER: reason,
        QUEUE_HEADER: queue,
        ATTEMPTS_HEADER: 5,
        PARKED_AT_HEADER: "2026-12-08T10:00:00+00:00",
        TIMES_PARKED_HEADER: 2,
        "x-delivery-count": 31,  # the dead-letter queue's, not the handler's
        **more,
    }


def test_a_parked_event_is_described_and_retryable() -> None:
    body = event_body()
    item = describe(body, {}, park_headers("stipends.on_thing", "boom"), "x.dlq")
    assert item.id == signing.read_stamp(body)[0].nonce == message_id(body, {})
    assert (item.queue, item.kind, item.route) == (
        "stipends.on_thing",
        "event",
        "thing.happened.v1",
    )
    assert item.signer == "stipends"
    assert item.event_id == signing.decode(body)["event_id"]
    assert (item.attempts, item.times_parked) == (5, 2)
    assert item.parked_at == datetime(2026, 12, 8, 10, tzinfo=UTC)
    assert (item.retryable, item.why_not) == (True, None)


def test_nothing_of_the_body_is_in_the_description() -> None:
    body = event_body()
    item = describe(body, {}, park_headers("stipends.on_thing", "boom"), "x.dlq")
    shown = repr(item)
    assert SECRET not in shown
    assert json.loads(body)["body"][:32] not in shown
    assert SECRET in json.dumps(signing.decode(body))  # it is there, sealed


def test_an_rpc_request_and_a_replayed_copy_cannot_be_retried() -> None:
    body = rpc_body()
    item = describe(body, {}, park_headers("rpc-registry", "expired"), "rpc.dlq")
    assert (item.kind, item.route) == ("rpc_request", "registry.apply")
    assert (item.retryable, item.why_not) == (False, WHY_NOT_RPC)
    copy = describe(body, {}, park_headers("rpc-registry", REPLAYED_COPY), "r.dlq")
    assert (copy.retryable, copy.why_not) == (False, WHY_NOT_REPLAYED)
    # a copy parked before the reason said it was harmless says so now
    old = "refused: replayed: its nonce was already used"
    assert describe(body, {}, park_headers("rpc-registry", old), "r").reason == (
        REPLAYED_COPY
    )
    assert SECRET not in repr(item)


def test_the_brokers_own_dead_lettering_is_described_from_x_death() -> None:
    body = rpc_body()
    death = {
        "queue": "rpc-registry",
        "reason": "expired",
        "count": 1,
        "time": datetime(2026, 12, 8, 9, tzinfo=UTC),
    }
    item = describe(body, {}, {"x-death": [death]}, "rpc-registry.dlq")
    assert item.queue == "rpc-registry"
    assert item.reason.startswith("expired: nobody took it")
    assert item.parked_at == datetime(2026, 12, 8, 9, tzinfo=UTC)
    assert item.retryable is False


def test_a_message_that_is_not_signed_gets_a_stable_id_and_no_retry() -> None:
    item = describe(b"not json", {}, {REASON_HEADER: "refused: x"}, "a.b.dlq")
    assert item.id == message_id(b"not json", {}) and item.id.startswith("sha256:")
    assert item.queue == "a.b"
    assert (item.retryable, item.why_not) == (False, WHY_NOT_UNSIGNED)
    assert message_id(b"x", {"message_id": "m-1"}) == "m-1"


def test_a_retry_drops_the_brokers_delivery_annotations_only() -> None:
    headers = park_headers("q", "boom", **{"x-death": [{}], "nameko.x": "y"})
    kept = retry_headers(headers)
    assert not set(kept) & BROKER_HEADERS
    assert kept["nameko.x"] == "y" and kept[REASON_HEADER] == "boom"
