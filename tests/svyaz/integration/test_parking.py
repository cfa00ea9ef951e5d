"""Parked bus messages, overseen by program admins (svyaz.parking), on real RabbitMQ
(a vhost per test) and PostgreSQL: listed without their bodies and without being
lost or reordered, retried into their queue and handled exactly once, discarded,
an RPC request's retry refused, and every action audited."""

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from svyaz import signing
from svyaz.errors import Conflict, Forbidden, InvalidInput, NotFound
from svyaz.keys import GATEWAY
from svyaz.parking import ParkedMessagesEntrypoints
from svyaz.rpc import REPLAYED_COPY
from svyaz.rpc_proxy import ClusterRpcProxy
from tests.helpers import actor, publish_event, queue_depth, wait_until
from tests.svyaz.integration import probe
from tests.svyaz.integration.test_trust import Wire

QUEUE = "probe.on_thing_happened"
DLQ = f"{QUEUE}.dlq"
RPC_DLQ = "rpc-probe.dlq"
ADMIN = actor(["program_admin"])


class ParkingProbe(probe.ProbeService, ParkedMessagesEntrypoints):
    """The platform's probe service with the parked-message entrypoints, as every
    service has them."""


@pytest.fixture
def service(probe_config: dict[str, Any], container_factory: Any) -> Any:
    container = container_factory(ParkingProbe, probe_config)
    container.start()
    return container


@pytest.fixture
def rpc(probe_config: dict[str, Any], service: Any) -> Iterator[Any]:
    """Signed RPC as the gateway signs it."""
    config = dict(probe_config, BUS_IDENTITY=GATEWAY)
    with ClusterRpcProxy(config, timeout=30) as proxy:
        yield proxy.probe


def effects(engine: Any) -> list[int]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT n FROM probe_effects ORDER BY id"))
        return [r.n for r in rows]


def audit(engine: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT * FROM parked_actions ORDER BY id")))


def unique_n() -> int:
    return uuid.uuid4().int % 1_000_000_000


def park_event(amqp_uri: str, marker: str = "") -> tuple[int, dict[str, Any]]:
    """An event the probe's handler cannot process: parked at once."""
    n = unique_n()
    probe.UNPROCESSABLE.add(n)
    body = probe.THING_HAPPENED.build("thing:1", n=n).envelope(marker or "corr")
    before = queue_depth(amqp_uri, DLQ) if _declared(amqp_uri, DLQ) else 0
    publish_event(amqp_uri, body)
    wait_until(lambda: queue_depth(amqp_uri, DLQ) == before + 1, "it to be parked")
    return n, body


def _declared(amqp_uri: str, queue: str) -> bool:
    try:
        queue_depth(amqp_uri, queue)
    except Exception:  # noqa: BLE001
        return False
    return True


def listed(rpc: Any) -> list[dict[str, Any]]:
    return list(rpc.list_parked_messages(ADMIN)["messages"])


def test_a_parked_event_is_listed_retried_and_handled_exactly_once(
    rpc: Any, probe_engine: Any, rabbit_config: dict[str, Any]
) -> None:
    amqp_uri = rabbit_config["AMQP_URI"]
    n, body = park_event(amqp_uri)

    answer = rpc.list_parked_messages(ADMIN)
    assert {"queue": QUEUE, "dead_letter_queue": DLQ, "depth": 1} in answer["queues"]
    [item] = answer["messages"]
    assert item["queue"] == QUEUE
    assert item["kind"] == "event"
    assert item["route"] == "thing.happened.v1"
    assert item["event_id"] == body["event_id"]
    assert item["signer"] == "probe"
    assert item["reason"] == f"Unprocessable: probe cannot handle n={n}"
    assert item["parked_at"] is not None
    assert (item["attempts"], item["times_parked"]) == (1, 1)
    assert (item["retryable"], item["why_not"]) == (True, None)
    assert probe.CALLS[n] == 1 and effects(probe_engine) == []

    probe.UNPROCESSABLE.discard(n)  # the cause is fixed
    done = rpc.retry_parked_message(ADMIN, item["id"], "handler fixed in 1.4.2")
    assert done["outcome"] == "retried"
    assert done["message"]["id"] == item["id"]
    wait_until(lambda: effects(probe_engine) == [n], "the retried event's effect")
    assert queue_depth(amqp_uri, DLQ) == 0
    assert listed(rpc) == []

    # gone from the parking queue: a second retry finds nothing, and says so
    with pytest.raises(NotFound, match="no parked message"):
        rpc.retry_parked_message(ADMIN, item["id"], "once more")
    assert probe.CALLS[n] == 2 and effects(probe_engine) == [n]

    rows = audit(probe_engine)
    assert [(r.action, r.outcome, r.subject_id) for r in rows] == [
        ("retry", "retried", item["id"]),
        ("retry", "not_found", item["id"]),
    ]
    first = rows[0]
    assert str(first.actor_id) == ADMIN["id"]
    assert first.actor_roles == "program_admin"
    assert first.reason == "handler fixed in 1.4.2"
    assert (first.queue, first.route) == (QUEUE, "thing.happened.v1")
    assert first.at is not None and first.finished_at is not None
    shown = rpc.list_parked_actions(ADMIN, 10)
    assert [(a["action"], a["outcome"]) for a in shown] == [
        ("retry", "not_found"),
        ("retry", "retried"),
    ]
    assert shown[1]["reason"] == "handler fixed in 1.4.2"


def test_a_retried_copy_of_an_event_already_handled_changes_nothing(
    rpc: Any, probe_engine: Any, rabbit_config: dict[str, Any]
) -> None:
    amqp_uri = rabbit_config["AMQP_URI"]
    n, body = park_event(amqp_uri)
    probe.UNPROCESSABLE.discard(n)
    publish_event(amqp_uri, body)  # the producer's copy, handled meanwhile
    wait_until(lambda: effects(probe_engine) == [n], "the event to be handled")

    [item] = listed(rpc)
    rpc.retry_parked_message(ADMIN, item["id"], "the handler is fixed")
    wait_until(lambda: probe.CALLS[n] == 3, "the retried copy to reach the handler")
    wait_until(lambda: probe.DONE[n] == 2, "the retried copy's transaction to end")
    wait_until(lambda: queue_depth(amqp_uri, QUEUE) == 0, "it to be acked")
    assert effects(probe_engine) == [n]  # the inbox took it once


def test_listing_loses_nothing_keeps_the_order_and_a_retry_starts_afresh(
    rpc: Any, probe_engine: Any, rabbit_config: dict[str, Any]
) -> None:
    """Listing 25 times (more than RabbitMQ 4's default delivery limit of 20) keeps
    every message, in order. The dead-letter queue's own delivery count does not
    follow a retried message: its handler gets all its attempts again."""
    amqp_uri = rabbit_config["AMQP_URI"]
    parked = [park_event(amqp_uri)[0] for _ in range(3)]
    first = [m["id"] for m in listed(rpc)]
    assert len(first) == 3
    for _ in range(25):
        assert [m["id"] for m in listed(rpc)] == first
    assert queue_depth(amqp_uri, DLQ) == 3

    n = parked[0]
    probe.UNPROCESSABLE.discard(n)
    probe.FAILURES[n] = 2  # fails twice more, then succeeds: not parked again
    rpc.retry_parked_message(ADMIN, first[0], "transient failure")
    wait_until(lambda: effects(probe_engine) == [n], "the retried event's effect")
    assert probe.CALLS[n] == 1 + 3
    assert [m["id"] for m in listed(rpc)] == first[1:]


def test_a_parked_event_is_discarded_and_never_handled(
    rpc: Any, probe_engine: Any, rabbit_config: dict[str, Any]
) -> None:
    amqp_uri = rabbit_config["AMQP_URI"]
    n, _ = park_event(amqp_uri)
    keep, _ = park_event(amqp_uri)
    ids = [m["id"] for m in listed(rpc)]

    done = rpc.discard_parked_message(ADMIN, ids[0], "  test data, not real  ")
    assert done["outcome"] == "discarded"
    assert [m["id"] for m in listed(rpc)] == [ids[1]]
    assert probe.CALLS[n] == 1 and effects(probe_engine) == []
    [row] = audit(probe_engine)
    assert (row.action, row.outcome, row.reason) == (
        "discard",
        "discarded",
        "test data, not real",
    )
    with pytest.raises(NotFound):
        rpc.discard_parked_message(ADMIN, ids[0], "again")
    assert keep in probe.UNPROCESSABLE


def test_a_replayed_rpc_copy_says_it_is_harmless_and_cannot_be_retried(
    rpc: Any, probe_engine: Any, rabbit_config: dict[str, Any]
) -> None:
    wire = Wire(rabbit_config["AMQP_URI"])
    try:
        body, corr = wire.sign("probe.list_parked_actions", ADMIN)
        assert wire.call("probe.list_parked_actions", body, corr)["error"] is None
        wire.send("probe.list_parked_actions", body, corr)  # the same bytes again
        uri = rabbit_config["AMQP_URI"]
        wait_until(
            lambda: _declared(uri, RPC_DLQ) and queue_depth(uri, RPC_DLQ) == 1,
            "the copy to be parked",
        )
    finally:
        wire.close()

    answer = rpc.list_parked_messages(ADMIN)
    [item] = answer["messages"]
    assert item["queue"] == "rpc-probe"
    assert item["dead_letter_queue"] == RPC_DLQ
    assert item["kind"] == "rpc_request"
    assert item["route"] == "probe.list_parked_actions"
    assert item["reason"] == REPLAYED_COPY
    assert item["retryable"] is False
    assert "replayed copy" in item["why_not"]
    assert item["id"] == signing.read_stamp(body)[0].nonce

    with pytest.raises(Conflict, match="cannot retry: a replayed copy"):
        rpc.retry_parked_message(ADMIN, item["id"], "try it anyway")
    assert queue_depth(rabbit_config["AMQP_URI"], RPC_DLQ) == 1  # still parked
    rpc.discard_parked_message(ADMIN, item["id"], "harmless replayed copy")
    assert queue_depth(rabbit_config["AMQP_URI"], RPC_DLQ) == 0
    assert [(r.action, r.outcome) for r in audit(probe_engine)] == [
        ("retry", "refused"),
        ("discard", "discarded"),
    ]
    assert "replayed copy" in audit(probe_engine)[0].detail


def test_the_listing_never_shows_the_body(
    rpc: Any, rabbit_config: dict[str, Any]
) -> None:
    """The body is sealed and stays so: neither its contents (a value only the
    body holds) nor its sealed text appear in the listing."""
    amqp_uri = rabbit_config["AMQP_URI"]
    marker = f"Ivanova-Anna-{uuid.uuid4().hex}"  # in the envelope only
    n, _ = park_event(amqp_uri, marker=marker)
    answer = rpc.list_parked_messages(ADMIN)
    shown = json.dumps(answer)
    assert marker not in shown
    assert f"cannot handle n={n}" in shown  # the reason, which we do show
    from tests.helpers import _amqp_connection

    conn = _amqp_connection(amqp_uri)
    try:
        channel = conn.channel()
        message = channel.basic_get(DLQ, no_ack=False)
        sealed = json.loads(message.body)["body"]
    finally:
        conn.close()  # not acked: back in the queue
    assert sealed[:40] not in shown and sealed[-40:] not in shown
    assert marker in json.dumps(signing.decode(message.body))  # the test can fail


def test_only_program_admins_act_and_with_a_reason(
    rpc: Any, probe_engine: Any, rabbit_config: dict[str, Any]
) -> None:
    park_event(rabbit_config["AMQP_URI"])
    [item] = listed(rpc)
    finance = actor(["finance"])
    for call in (
        lambda: rpc.list_parked_messages(finance),
        lambda: rpc.retry_parked_message(finance, item["id"], "a good reason"),
        lambda: rpc.discard_parked_message(finance, item["id"], "a good reason"),
        lambda: rpc.list_parked_actions(finance),
    ):
        with pytest.raises(Forbidden):
            call()
    with pytest.raises(InvalidInput):
        rpc.discard_parked_message(ADMIN, item["id"], " x ")
    with pytest.raises(InvalidInput):
        rpc.list_parked_messages(ADMIN, 0)
    with pytest.raises(InvalidInput):  # an invented actor
        rpc.list_parked_messages({"id": ADMIN["id"], "roles": ["program_admin"]})
    assert [m["id"] for m in listed(rpc)] == [item["id"]]
    assert audit(probe_engine) == []
