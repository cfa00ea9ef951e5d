"""Notifications with fewer trips (issue 22): a batch of events makes one contact
call for its mails and one statement records their outcomes, and a lost
connection still never sends a mail twice."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import kombu
import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from notifications.logic import courier, deliveries, recipients
from svyaz import signing
from tests.helpers import wait_until
from tests.notifications.integration.conftest import RegistryStandIn, envelope
from tests.notifications.integration.test_reliability import Outbox, pending_mail

POLICY = deliveries.RetryPolicy(3, 30.0, 60.0)


def publish_many(amqp_uri: str, bodies: list[dict[str, Any]]) -> None:
    """Publish on one connection, as a relay does: the consumer finds them queued."""
    exchange = kombu.Exchange("registry.events", type="topic", durable=True)
    with (
        kombu.Connection(amqp_uri, transport_options={"confirm_publish": True}) as c,
        signing.signing_as("registry"),
    ):
        producer = c.Producer()
        for body in bodies:
            with signing.publishing(signing.Route(body["event_type"])):
                producer.publish(
                    body,
                    exchange=exchange,
                    routing_key=body["event_type"],
                    serializer=signing.NAME,
                    declare=[exchange],
                )


def test_a_batch_of_events_asks_the_registry_for_its_contacts_together(
    notifications: Any,
) -> None:
    people = [notifications.communicator("en") for _ in range(30)]
    bodies = [
        envelope("communicator.rejected.v1", "registry", communicator_id=ident)
        for ident, _ in people
    ]
    publish_many(notifications.amqp_uri, bodies)
    for _, address in people:
        notifications.mail_to(address, timeout=30)
    wait_until(
        lambda: all(notifications.processed(b["event_id"]) for b in bodies), "events"
    )
    assert all(len(notifications.smtp.to(address)) == 1 for _, address in people)
    # one get_contacts call per batch, not one contact call per mail
    assert sum(RegistryStandIn.batches) == len(people)
    assert len(RegistryStandIn.batches) < len(people)
    assert max(RegistryStandIn.batches) > 1
    sent = notifications.sql(
        "SELECT count(*) FROM deliveries WHERE channel = 'email' AND status = 'sent'"
    )[0][0]
    assert sent == len(people)


def taken(notifications: Any, idents: list[str], now: datetime) -> list[Any]:
    ids = [pending_mail(notifications, ident, now) for ident in idents]
    later = now + timedelta(hours=2)
    with Session(notifications.engine) as session, session.begin():
        jobs = deliveries.take_all(session, ids, later)
    assert [job.delivery_id for job in jobs] == ids
    return jobs


def test_one_statement_records_a_batch_and_only_what_is_still_the_senders(
    notifications: Any,
) -> None:
    idents = [notifications.communicator("en")[0] for _ in range(4)]
    now = datetime.now(UTC)
    sent, retried, parked, stale = taken(notifications, idents, now)
    later = now + timedelta(hours=2)
    # `stale`: its lease ran out and another sender took it meanwhile
    with Session(notifications.engine) as other, other.begin():
        (again,) = deliveries.take_all(
            other, [stale.delivery_id], later + deliveries.SEND_LEASE * 2
        )
    assert again.attempt == 2
    outcomes = [
        (sent, deliveries.Attempt("sent", language="en")),
        (retried, deliveries.Attempt("failed", "451 try later")),
        (parked, deliveries.Attempt("failed", "550 no such user", permanent=True)),
        (stale, deliveries.Attempt("sent", language="en")),
    ]
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(notifications.engine, "before_cursor_execute", count)
    try:
        with Session(notifications.engine) as session, session.begin():
            done = deliveries.record_all(session, outcomes, later, POLICY)
    finally:
        event.remove(notifications.engine, "before_cursor_execute", count)
    assert done == {
        sent.delivery_id: "sent",
        retried.delivery_id: "pending",
        parked.delivery_id: "parked",
        stale.delivery_id: None,
    }
    # one UPDATE for the four, one upsert of the language learnt (for `sent` only)
    assert len(statements) == 2, statements
    rows = {
        r.id: r
        for r in notifications.sql(
            "SELECT id, status, attempts, due_at, last_error, sent_at FROM deliveries"
        )
    }
    assert rows[sent.delivery_id].sent_at is not None
    assert rows[retried.delivery_id].due_at == later + timedelta(seconds=30)
    assert rows[retried.delivery_id].last_error == "451 try later"
    assert rows[parked.delivery_id].last_error == "550 no such user"
    assert (rows[stale.delivery_id].status, rows[stale.delivery_id].attempts) == (
        "pending",
        2,
    )
    languages = notifications.sql(
        "SELECT recipient_id::text, language FROM preferences"
    )
    assert [tuple(r) for r in languages] == [(idents[0], "en")]
    # recorded again (a retry after a lost answer): the sent and parked rows are no
    # longer the sender's; the retry waiting in its attempt gets the same values
    snapshot = notifications.sql("SELECT * FROM deliveries ORDER BY id")
    with Session(notifications.engine) as session, session.begin():
        again_done = deliveries.record_all(session, outcomes, later, POLICY)
    assert again_done == {
        sent.delivery_id: None,
        retried.delivery_id: "pending",
        parked.delivery_id: None,
        stale.delivery_id: None,
    }
    assert notifications.sql("SELECT * FROM deliveries ORDER BY id") == snapshot


def test_a_language_already_remembered_is_not_written_again(
    notifications: Any,
) -> None:
    ident = notifications.communicator("en")[0]
    now = datetime.now(UTC)
    (first,) = taken(notifications, [ident], now)
    later = now + timedelta(hours=2)
    with Session(notifications.engine) as session, session.begin():
        deliveries.record_all(
            session, [(first, deliveries.Attempt("sent", language="en"))], later, POLICY
        )
    (second,) = taken(notifications, [ident], now)
    assert second.language == "en"  # remembered, read with the lease
    writes: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "preferences" in statement and "INSERT" in statement.upper():
            writes.append(statement)

    event.listen(notifications.engine, "before_cursor_execute", seen)
    try:
        with Session(notifications.engine) as session, session.begin():
            deliveries.record_all(
                session,
                [(second, deliveries.Attempt("sent", language="en"))],
                later,
                POLICY,
            )
    finally:
        event.remove(notifications.engine, "before_cursor_execute", seen)
    assert writes == []


class Book:
    """A contact book that answers in batches and counts its calls."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def contact(self, recipient: Any, purpose: str) -> recipients.Contact:
        raise AssertionError("asked one at a time")

    def contacts(self, wanted: Any, purpose: str) -> dict[uuid.UUID, Any]:
        self.calls.append(len(wanted))
        return {r.id: recipients.Contact(email=f"{r.id}@example.org") for r in wanted}


def test_a_connection_lost_after_the_record_committed_sends_nothing_twice(
    notifications: Any,
) -> None:
    """The batch's outcomes commit, then the answer is lost (the connection drops):
    the courier records again on a new connection, the guard finds the rows no
    longer pending in that attempt, and nothing is sent again, neither now nor by
    the scheduled sender after the lease."""
    notifications.container.stop()  # its scheduled sender would race this one
    idents = [notifications.communicator("en")[0] for _ in range(3)]
    due = datetime.now(UTC) - timedelta(hours=2)  # pending_mail: due an hour later
    ids = [pending_mail(notifications, ident, due) for ident in idents]
    lost = {"left": 1}

    @contextmanager
    def transaction() -> Iterator[Session]:
        with Session(notifications.engine) as session:
            with session.begin():
                yield session
            if lost["left"]:  # committed, and then the answer never came
                lost["left"] -= 1
                raise OperationalError("COMMIT", {}, Exception("connection lost"))

    channel, book = Outbox(), Book()
    sender = courier.Courier(transaction, book, {"email": channel}, POLICY)
    with pytest.raises(OperationalError):  # the timer that called it logs it
        sender.deliver(ids)
    assert lost["left"] == 0  # the loss happened (at the lease), and no mail went
    assert channel.sent == [] and book.calls == []
    # the lease committed before its answer was lost: the rows wait for the lease
    with Session(notifications.engine) as session:
        assert deliveries.due(session, datetime.now(UTC)) == []
        after = datetime.now(UTC) + deliveries.SEND_LEASE + timedelta(seconds=1)
        assert sorted(deliveries.due(session, after)) == sorted(ids)
    # now the loss comes after the outcomes' commit
    with Session(notifications.engine) as session, session.begin():
        jobs = deliveries.take_all(session, ids, after)
    lost["left"] = 1
    sender.send(jobs)
    assert lost["left"] == 0
    assert book.calls == [3]  # one contact call for the three mails
    assert len(channel.sent) == 3
    rows = notifications.sql("SELECT status, attempts FROM deliveries ORDER BY id")
    assert [tuple(r) for r in rows] == [("sent", 2)] * 3
    with Session(notifications.engine) as session:  # nothing left for any sender
        assert deliveries.due(session, after + timedelta(days=1)) == []
    assert len(channel.sent) == 3
