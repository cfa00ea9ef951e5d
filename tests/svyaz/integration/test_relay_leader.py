"""One relay at a time per database (a transaction-scoped advisory lock): a second
relay does not wait behind the first, and takes over at once when it dies."""

import time
from typing import Any

import kombu
from sqlalchemy import text
from sqlalchemy.orm import Session

from svyaz import signing
from svyaz.outbox import RELAY_LOCK, Relay
from tests.helpers import take
from tests.svyaz.integration import probe


def test_a_second_relay_stands_aside_and_takes_over_when_the_first_dies(
    probe_engine: Any, rabbit_config: dict[str, Any]
) -> None:
    amqp_uri = rabbit_config["AMQP_URI"]
    with kombu.Connection(amqp_uri) as conn:
        kombu.Queue(
            "leader-witness",
            kombu.Exchange("probe.events", type="topic"),
            routing_key="thing.happened.v1",
        )(conn.channel()).declare()
    total = 12
    with Session(probe_engine) as session, session.begin():
        for n in range(total):
            probe.emit(session, n, aggregate=f"thing:{n % 2}")

    first = Session(probe_engine)  # a relay in the middle of its batch
    second = Relay(probe_engine, amqp_uri, batch_size=50)
    try:
        assert first.execute(
            text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": RELAY_LOCK}
        ).scalar()
        started = time.monotonic()
        report = second.publish_pending()
        assert report.busy and report.sent == 0 and report.held == 0
        assert time.monotonic() - started < 1.0  # it did not wait for the lock
        assert second.drain() == 0 and second.busy

        first.close()  # the first relay's process dies: its lock goes with it
        assert second.drain() == total
        assert not second.busy
    finally:
        first.close()
        second.close()

    received = [
        signing.decode(take(amqp_uri, "leader-witness").body)["data"]["n"]
        for _ in range(total)
    ]
    assert sorted(received) == list(range(total))  # each exactly once
    with probe_engine.connect() as conn:
        unsent = conn.execute(
            text("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
        ).scalar()
    assert unsent == 0
