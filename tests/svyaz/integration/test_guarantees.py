"""The platform's delivery guarantees, each proven against real RabbitMQ and
PostgreSQL, and each failing if its mechanism is taken away."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import kombu
from nameko.testing.services import entrypoint_hook
from sqlalchemy import text
from sqlalchemy.orm import Session

from svyaz import inbox, signing, topology
from svyaz.consuming import ATTEMPTS_HEADER, REASON_HEADER
from svyaz.outbox import Relay
from tests.helpers import publish_event, publish_raw, queue_depth, take, wait_until
from tests.svyaz.integration import probe

QUEUE = "probe.on_thing_happened"
DLQ = f"{QUEUE}.dlq"


def effects(engine: Any) -> list[int]:
    with engine.connect() as conn:
        return [
            r.n for r in conn.execute(text("SELECT n FROM probe_effects ORDER BY id"))
        ]


def headers(message: Any) -> dict[str, Any]:
    return dict(message.properties.get("application_headers") or {})


def envelope(n: int, **changes: Any) -> dict[str, Any]:
    body = probe.THING_HAPPENED.build("thing:1", n=n).envelope("corr-test")
    body.update(changes)
    return body


def test_a_failing_handler_is_retried_then_parked_and_the_service_keeps_serving(
    probe_container: Any, probe_engine: Any, rabbit_config: dict[str, Any]
) -> None:
    probe.FAILURES[1] = 1_000
    with entrypoint_hook(probe_container, "emit") as emit:
        emit(1)

    parked = take(rabbit_config["AMQP_URI"], DLQ, timeout=30)
    assert headers(parked)[REASON_HEADER] == "RuntimeError: probe failure for n=1"
    assert headers(parked)[ATTEMPTS_HEADER] == topology.MAX_ATTEMPTS
    assert json.loads(signing.decode(parked.body)["data"]["n"].__str__()) == 1
    assert probe.CALLS[1] == topology.MAX_ATTEMPTS
    assert effects(probe_engine) == []

    with entrypoint_hook(probe_container, "emit") as emit:
        emit(2)
    wait_until(lambda: effects(probe_engine) == [2], "the next event to be handled")


def test_a_transient_failure_is_retried_until_handled_once(
    probe_container: Any, probe_engine: Any, rabbit_config: dict[str, Any]
) -> None:
    probe.FAILURES[3] = 2
    with entrypoint_hook(probe_container, "emit") as emit:
        emit(3)
    wait_until(lambda: effects(probe_engine) == [3], "the retried event")
    assert probe.CALLS[3] == 3
    assert queue_depth(rabbit_config["AMQP_URI"], DLQ) == 0


def test_an_unprocessable_event_is_parked_at_once(
    probe_container: Any, rabbit_config: dict[str, Any]
) -> None:
    probe.UNPROCESSABLE.add(4)
    with entrypoint_hook(probe_container, "emit") as emit:
        emit(4)
    parked = take(rabbit_config["AMQP_URI"], DLQ)
    assert headers(parked)[REASON_HEADER] == "Unprocessable: probe cannot handle n=4"
    assert headers(parked)[ATTEMPTS_HEADER] == 1
    assert probe.CALLS[4] == 1


def test_a_redelivered_event_changes_nothing_the_second_time(
    probe_container: Any, probe_engine: Any, rabbit_config: dict[str, Any]
) -> None:
    body = envelope(5)
    publish_event(rabbit_config["AMQP_URI"], body)
    publish_event(rabbit_config["AMQP_URI"], body)
    # both handled to their commit (the queue's ready count is 0 long before: the
    # deliveries are taken, not yet acked)
    wait_until(lambda: probe.DONE[5] == 2, "both deliveries handled and committed")
    wait_until(lambda: queue_depth(rabbit_config["AMQP_URI"], QUEUE) == 0, "acks")
    assert probe.CALLS[5] == 2
    assert effects(probe_engine) == [5]
    with probe_engine.connect() as conn:
        claimed = conn.execute(
            text("SELECT count(*) FROM processed_events WHERE event_id = :e"),
            {"e": body["event_id"]},
        ).scalar()
    assert claimed == 1


def test_an_event_committed_before_a_crash_is_delivered_once_the_relay_runs(
    probe_config: dict[str, Any], probe_engine: Any, container_factory: Any
) -> None:
    # The producer committed its state change and event, then died before publishing.
    with Session(probe_engine) as session, session.begin():
        event_id = probe.emit(session, 6)
    with probe_engine.connect() as conn:
        sent_at = conn.execute(
            text("SELECT sent_at FROM outbox WHERE event_id = :e"), {"e": event_id}
        ).scalar()
    assert sent_at is None

    container_factory(probe.ProbeService, probe_config).start()  # its relay runs

    wait_until(lambda: effects(probe_engine) == [6], "the recovered event")
    with probe_engine.connect() as conn:
        assert conn.execute(
            text("SELECT sent_at IS NOT NULL FROM outbox WHERE event_id = :e"),
            {"e": event_id},
        ).scalar()


def test_an_event_no_queue_takes_is_reported_not_lost(
    probe_engine: Any, rabbit_config: dict[str, Any]
) -> None:
    amqp_uri = rabbit_config["AMQP_URI"]
    with Session(probe_engine) as session, session.begin():
        event_id = probe.emit(session, 7, spec=probe.ORPHAN)
    relay = Relay(probe_engine, amqp_uri)
    try:
        report = relay.publish_pending()
        assert report.sent == 0
        assert report.failed == [
            (
                str(event_id),
                "unroutable: no queue is bound to probe.events for orphan.happened.v1",
            )
        ]
        with probe_engine.connect() as conn:
            row = conn.execute(
                text("SELECT sent_at, attempts, last_error FROM outbox")
            ).one()
        assert row.sent_at is None and row.attempts == 1
        assert row.last_error.startswith("unroutable")

        # a consumer appears; once the backoff has passed the event goes out
        with kombu.Connection(amqp_uri) as conn:
            kombu.Queue(
                "late-consumer",
                kombu.Exchange("probe.events", type="topic"),
                routing_key="orphan.happened.v1",
            )(conn.channel()).declare()
        with probe_engine.begin() as conn:
            conn.execute(text("UPDATE outbox SET next_attempt_at = now()"))
        assert relay.publish_pending().sent == 1
        message = take(amqp_uri, "late-consumer")
        assert signing.decode(message.body)["event_id"] == str(event_id)
    finally:
        relay.close()


def test_a_message_with_a_bad_signature_is_refused_and_parked(
    probe_container: Any, probe_engine: Any, rabbit_config: dict[str, Any]
) -> None:
    amqp_uri = rabbit_config["AMQP_URI"]
    with signing.signing_as("probe"):
        wrapper = json.loads(signing.encode(envelope(8)))
    wrapper["body"] = wrapper["body"][::-1]  # tampered
    publish_raw(amqp_uri, "probe.events", "thing.happened.v1", json.dumps(wrapper))

    parked = take(amqp_uri, DLQ)
    assert headers(parked)[REASON_HEADER] == (
        "refused: InvalidSignature: bad signature from 'probe'"
    )
    assert json.loads(parked.body) == wrapper  # parked unchanged, for inspection

    unsigned = json.dumps(envelope(81))
    publish_raw(
        amqp_uri,
        "probe.events",
        "thing.happened.v1",
        unsigned,
        content_type="application/json",
    )
    parked = take(amqp_uri, DLQ)
    assert headers(parked)[REASON_HEADER].startswith("refused: ContentDisallowed")

    assert probe.CALLS[8] == 0 and probe.CALLS[81] == 0
    with entrypoint_hook(probe_container, "emit") as emit:
        emit(9)
    wait_until(lambda: effects(probe_engine) == [9], "the consumer to keep serving")


def test_a_malformed_envelope_is_parked_with_its_reason(
    probe_container: Any, rabbit_config: dict[str, Any]
) -> None:
    body = envelope(10)
    del body["occurred_at"]
    publish_event(rabbit_config["AMQP_URI"], body)
    parked = take(rabbit_config["AMQP_URI"], DLQ)
    assert headers(parked)[REASON_HEADER] == (
        "malformed event: ValidationError: {'occurred_at': "
        "['Missing data for required field.']}"
    )
    assert probe.CALLS[10] == 0


def test_relays_share_the_outbox_and_keep_each_aggregates_order(
    probe_engine: Any, rabbit_config: dict[str, Any]
) -> None:
    amqp_uri = rabbit_config["AMQP_URI"]
    with kombu.Connection(amqp_uri) as conn:
        kombu.Queue(
            "order-witness",
            kombu.Exchange("probe.events", type="topic"),
            routing_key="thing.happened.v1",
        )(conn.channel()).declare()
    total = 30
    with Session(probe_engine) as session, session.begin():
        for n in range(total):
            probe.emit(session, n, aggregate=f"thing:{n % 3}")

    relay = Relay(probe_engine, amqp_uri, batch_size=50)
    stalled = Session(probe_engine)  # another relay, stuck holding the first rows
    try:
        stalled.execute(
            text("SELECT id FROM outbox ORDER BY id LIMIT 2 FOR UPDATE")
        ).all()  # n=0 (aggregate 0) and n=1 (aggregate 1)
        first = relay.publish_pending()
        assert first.sent == 10 and first.held == 18  # only aggregate 2 may go
        stalled.rollback()  # the stuck relay dies; its rows are free again
        assert relay.drain() == 20
    finally:
        stalled.close()
        relay.close()

    received = [
        signing.decode(take(amqp_uri, "order-witness").body)["data"]["n"]
        for _ in range(total)
    ]
    assert sorted(received) == list(range(total))  # each exactly once
    assert received[:10] == list(range(2, total, 3))
    for aggregate in range(3):
        sequence = [n for n in received if n % 3 == aggregate]
        assert sequence == sorted(sequence), f"aggregate {aggregate} reordered"


def test_unknown_event_ids_are_distinct(probe_engine: Any) -> None:
    assert envelope(1)["event_id"] != envelope(1)["event_id"]
    assert uuid.UUID(envelope(1)["event_id"]).version == 4


def test_with_the_inbox_check_off_a_redelivered_event_takes_effect_twice(
    probe_config: dict[str, Any],
    probe_engine: Any,
    container_factory: Any,
    rabbit_config: dict[str, Any],
) -> None:
    """The chaos run's unsafe variant turns the check off to show what it guards:
    the same two deliveries as above now leave two effects."""
    from svyaz import inbox

    container = container_factory(
        probe.ProbeService, {**probe_config, "UNSAFE_INBOX_DEDUP": "false"}
    )
    container.start()
    try:
        body = envelope(6)
        publish_event(rabbit_config["AMQP_URI"], body)
        publish_event(rabbit_config["AMQP_URI"], body)
        wait_until(lambda: len(effects(probe_engine)) == 2, "both effects")
        assert effects(probe_engine) == [6, 6]
    finally:
        container.stop()
        inbox.configure({})  # the check back on for the rest of the session


def test_an_event_older_than_the_inbox_remembers_is_parked_not_handled(
    probe_container: Any, probe_engine: Any, rabbit_config: dict[str, Any]
) -> None:
    # the inbox's rows are purged after INBOX_KEEP_DAYS: an older event might have
    # been handled and forgotten, so it is refused with what to do, not taken
    old = (datetime.now(UTC) - timedelta(days=31)).isoformat()
    publish_event(rabbit_config["AMQP_URI"], envelope(7, occurred_at=old))
    parked = take(rabbit_config["AMQP_URI"], DLQ)
    assert headers(parked)[REASON_HEADER].startswith("too old: it occurred 31 days")
    assert "INBOX_KEEP_DAYS" in headers(parked)[REASON_HEADER]
    assert probe.CALLS[7] == 0
    recent = (datetime.now(UTC) - timedelta(days=29)).isoformat()
    publish_event(rabbit_config["AMQP_URI"], envelope(8, occurred_at=recent))
    wait_until(lambda: effects(probe_engine) == [8], "an event inside the window")


def test_the_inbox_forgets_only_what_is_past_its_window(probe_engine: Any) -> None:
    now = datetime.now(UTC)
    ages = {"fresh": 1, "inside": 30, "margin": 30.5, "past": 31.5, "long": 400}
    with Session(probe_engine) as session, session.begin():
        for name, days in ages.items():
            session.execute(
                text("INSERT INTO processed_events VALUES (:c, :e, 'x.v1', :at)"),
                {"c": name, "e": uuid.uuid4(), "at": now - timedelta(days=days)},
            )
    with Session(probe_engine) as session, session.begin():
        assert inbox.purge(session, now) == 2
    with probe_engine.connect() as conn:
        left = {
            r.consumer
            for r in conn.execute(text("SELECT consumer FROM processed_events"))
        }
    assert {"fresh", "inside", "margin"} <= left
    assert not {"past", "long"} & left
