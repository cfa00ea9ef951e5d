"""Quiet hours defer, SMTP outages are retried then parked for staff, erasure leaves
nothing, no contact is ever stored, and staff hear what waits for them."""

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from notifications.logic import courier, deliveries, recipients
from notifications.models import Delivery
from svyaz.errors import Forbidden, InvalidInput, NotFound
from tests.helpers import wait_until
from tests.notifications.integration.conftest import (
    MAX_ATTEMPTS,
    RegistryStandIn,
    actor,
)

TBILISI = ZoneInfo("Asia/Tbilisi")


def reject(notifications: Any, ident: str) -> dict[str, Any]:
    return notifications.publish(
        "communicator.rejected.v1", "registry", communicator_id=ident
    )


def delivery(notifications: Any, event_id: str, channel: str = "email") -> Any:
    rows = notifications.sql(
        "SELECT * FROM deliveries WHERE event_id = :e AND channel = :c",
        e=event_id,
        c=channel,
    )
    return rows[0] if rows else None


def test_quiet_hours_defer_mail_to_their_end(notifications: Any) -> None:
    ident, address = notifications.communicator("en")
    local = datetime.now(TBILISI)
    start = (local - timedelta(minutes=5)).time().replace(microsecond=0)
    end = (local + timedelta(seconds=3)).time().replace(microsecond=0)
    prefs = notifications.call(
        "set_preferences",
        actor(ident),
        {
            "timezone": "Asia/Tbilisi",
            "quiet_start": start.isoformat(),
            "quiet_end": end.isoformat(),
        },
    )
    assert prefs["timezone"] == "Asia/Tbilisi"
    body = reject(notifications, ident)

    row = wait_until(lambda: delivery(notifications, body["event_id"]), "delivery")
    assert row.status == "pending"
    expected_end = datetime.combine(
        (local + timedelta(seconds=3)).date(), end, tzinfo=TBILISI
    ).astimezone(UTC)
    assert row.due_at == expected_end
    # the inbox is silent and is written at once
    assert len(notifications.call("list_inbox", actor(ident))) == 1
    assert notifications.smtp.to(address) == []

    notifications.mail_to(address, timeout=15)
    assert datetime.now(UTC) >= expected_end
    # the send is recorded just after the mail leaves (no transaction is open during
    # the send)
    wait_until(
        lambda: delivery(notifications, body["event_id"]).status == "sent",
        "the send to be recorded",
    )


def test_outside_quiet_hours_mail_goes_at_once(notifications: Any) -> None:
    ident, address = notifications.communicator("en")
    local = datetime.now(TBILISI)
    notifications.call(
        "set_preferences",
        actor(ident),
        {
            "timezone": "Asia/Tbilisi",
            "quiet_start": (local + timedelta(hours=1)).time().isoformat(),
            "quiet_end": (local + timedelta(hours=2)).time().isoformat(),
        },
    )
    reject(notifications, ident)
    notifications.mail_to(address, timeout=5)


def test_an_smtp_outage_is_retried_then_parked_and_shown_to_staff(
    notifications: Any,
) -> None:
    ident, address = notifications.communicator("en")
    notifications.smtp.stop()
    body = reject(notifications, ident)

    parked = wait_until(
        lambda: (
            (row := delivery(notifications, body["event_id"]))
            and row.status == "parked"
            and row
        ),
        "the delivery to be parked",
        timeout=30,
    )
    assert parked.attempts == MAX_ATTEMPTS
    assert parked.last_error == "smtp: ConnectionRefusedError"
    assert parked.payload is None

    staff = actor(str(uuid.uuid4()), "finance")
    listed = notifications.call("list_parked", staff)
    assert [(p["event_id"], p["channel"], p["attempts"]) for p in listed] == [
        (body["event_id"], "email", MAX_ATTEMPTS)
    ]
    assert listed[0]["last_error"] == "smtp: ConnectionRefusedError"
    assert listed[0]["error_kind"] == "channel_failed"
    assert listed[0]["template"] == "application_rejected"
    assert listed[0]["purpose"] == "notification:application_rejected"
    assert listed[0]["parked_at"] == listed[0]["updated_at"] is not None
    assert address not in str(listed)
    with pytest.raises(Forbidden):
        notifications.call("list_parked", actor(ident))

    # the mail server is back: a program admin retries it, with a reason, and it
    # goes once; finance sees parked deliveries but does not act on them
    notifications.smtp.start()
    admin = actor(str(uuid.uuid4()), "program_admin")
    for who in (actor(ident), staff):
        with pytest.raises(Forbidden):
            notifications.call("retry_parked", who, listed[0]["id"], "server back")
    with pytest.raises(InvalidInput):
        notifications.call("retry_parked", admin, listed[0]["id"], "  ")
    notifications.call("retry_parked", admin, listed[0]["id"], "mail server back")
    notifications.mail_to(address)
    assert notifications.call("list_parked", staff) == []
    assert len(notifications.smtp.to(address)) == 1
    with pytest.raises(NotFound, match="no parked delivery"):
        notifications.call("retry_parked", admin, listed[0]["id"], "once more")

    [action] = notifications.call("list_parked_actions", admin)
    assert action["subject"] == "delivery"
    assert action["subject_id"] == str(listed[0]["id"])
    assert (action["action"], action["outcome"]) == ("retry", "retried")
    assert action["actor_id"] == admin["id"]
    assert action["reason"] == "mail server back"
    assert (action["queue"], action["route"]) == ("email", "application_rejected")
    assert action["detail"] == "channel_failed"
    assert action["at"] is not None


def test_a_parked_delivery_is_discarded_with_a_reason_and_never_sent(
    notifications: Any,
) -> None:
    ident, address = notifications.communicator("en")
    notifications.smtp.stop()
    body = reject(notifications, ident)
    parked = wait_until(
        lambda: (
            (row := delivery(notifications, body["event_id"]))
            and row.status == "parked"
            and row
        ),
        "the delivery to be parked",
        timeout=30,
    )
    notifications.smtp.start()
    admin = actor(str(uuid.uuid4()), "program_admin")
    done = notifications.call(
        "discard_parked", admin, parked.id, "the person asked by phone"
    )
    assert done == {"id": parked.id, "status": "discarded"}
    assert notifications.call("list_parked", admin) == []
    with pytest.raises(NotFound):
        notifications.call("retry_parked", admin, parked.id, "changed my mind")
    notifications.call("send_due")
    assert notifications.smtp.to(address) == []
    assert delivery(notifications, body["event_id"]).status == "discarded"
    [action] = notifications.call("list_parked_actions", admin)
    assert (action["action"], action["outcome"], action["reason"]) == (
        "discard",
        "discarded",
        "the person asked by phone",
    )


def test_a_temporary_refusal_is_retried_with_backoff_and_sent_once(
    notifications: Any,
) -> None:
    ident, address = notifications.communicator("ru")
    notifications.smtp.refuse_next = 2  # 451 twice, then accepted
    started = time.monotonic()
    body = reject(notifications, ident)
    notifications.mail_to(address)
    row = delivery(notifications, body["event_id"])
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)
    assert time.monotonic() - started >= 0.2 + 0.4  # the backoff was waited
    assert len(notifications.smtp.to(address)) == 1


def test_erasure_removes_everything_held_about_the_person(notifications: Any) -> None:
    ident, address = notifications.communicator("en")
    other, other_address = notifications.communicator("en")
    for who in (ident, other):
        notifications.publish(
            "communicator.applied.v1", "registry", communicator_id=who, pseudonym="x"
        )
    notifications.mail_to(address)
    notifications.mail_to(other_address)
    notifications.call("set_preferences", actor(ident), {"timezone": "Europe/Berlin"})
    assert notifications.call("list_inbox", actor(ident))

    erased = notifications.publish(
        "communicator.erased.v1", "registry", communicator_id=ident
    )
    wait_until(lambda: notifications.processed(erased["event_id"]), "the erasure")

    assert notifications.call("list_inbox", actor(ident)) == []
    for table, column in (
        ("deliveries", "recipient_id"),
        ("inbox_messages", "recipient_id"),
        ("preferences", "recipient_id"),
        ("pending_items", "communicator_id"),
    ):
        rows = notifications.sql(
            f"SELECT count(*) FROM {table} WHERE {column} = :i",  # noqa: S608
            i=ident,
        )
        assert rows[0][0] == 0, table
    # the other person's record stays
    assert len(notifications.call("list_inbox", actor(other))) == 1


def test_no_contact_and_no_body_is_stored(notifications: Any) -> None:
    ident, address = notifications.communicator("en")
    notifications.publish(
        "stipend.approved.v1",
        "stipends",
        communicator_id=ident,
        stipend_id=str(uuid.uuid4()),
        cycle_id=str(uuid.uuid4()),
        amount_minor=45600,
        currency="EUR",
    )
    mail = notifications.mail_to(address)
    tables = [
        r[0]
        for r in notifications.sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        )
    ]
    for table in tables:
        for (row,) in notifications.sql(f"SELECT t::text FROM {table} t"):  # noqa: S608
            assert address not in row, table
            assert mail.body.strip() not in row, table
    log = notifications.sql(
        "SELECT template, payload FROM deliveries WHERE recipient_id = :i", i=ident
    )
    assert {(r.template, r.payload) for r in log} == {("stipend_approved", None)}
    assert notifications.sql(
        "SELECT count(*) FROM deliveries WHERE payload IS NOT NULL"
    ) == [(0,)]


def test_bad_preferences_are_refused_and_change_nothing(notifications: Any) -> None:
    ident, _ = notifications.communicator("en")
    before = notifications.call("get_preferences", actor(ident))
    assert before["discreet"] is True and before["channels"] == ["email", "inbox"]
    # what a form may offer: no bot token here, so no Telegram
    assert sorted(before["available_channels"]) == ["email", "inbox"]
    refused = [
        {"discreet": False},  # communicators stay discreet
        {"timezone": "Mars/Olympus"},
        {"channels": ["email", "inbox", "telegram"]},  # no bot token: disabled
        {"channels": ["email"]},  # the inbox cannot be turned off
        {"quiet_start": "22:00"},  # without an end
        {"language": "de"},
        {"colour": "red"},
    ]
    for changes in refused:
        with pytest.raises(InvalidInput):
            notifications.call("set_preferences", actor(ident), changes)
    assert notifications.call("get_preferences", actor(ident)) == before


def test_the_inbox_only_choice_sends_no_mail(notifications: Any) -> None:
    ident, address = notifications.communicator("en")
    notifications.call("set_preferences", actor(ident), {"channels": ["inbox"]})
    body = reject(notifications, ident)
    wait_until(lambda: notifications.processed(body["event_id"]), "the event")
    assert len(notifications.call("list_inbox", actor(ident))) == 1
    assert delivery(notifications, body["event_id"]) is None
    assert notifications.smtp.to(address) == []


def test_a_recipient_unknown_to_the_registry_leaves_no_trace(
    notifications: Any,
) -> None:
    ident, address = notifications.communicator("en")
    del RegistryStandIn.contacts[ident]  # erased in the registry meanwhile
    body = reject(notifications, ident)
    wait_until(lambda: notifications.processed(body["event_id"]), "the event")
    wait_until(
        lambda: delivery(notifications, body["event_id"]) is None, "the delivery gone"
    )
    assert notifications.smtp.to(address) == []
    assert notifications.call("list_inbox", actor(ident)) == []
    assert delivery(notifications, body["event_id"], "inbox") is None
    assert notifications.sql("SELECT count(*) FROM preferences")[0][0] == 0


def pending_mail(notifications: Any, ident: str, now: datetime) -> int:
    """A pending mail to `ident`, due in an hour (not for the running sender)."""
    with Session(notifications.engine) as setup, setup.begin():
        (delivery_id,) = setup.execute(
            Delivery.__table__.insert()
            .values(
                event_id=uuid.uuid4(),
                recipient_id=uuid.UUID(ident),
                channel="email",
                template="application_rejected",
                status="pending",
                attempts=0,
                due_at=now + timedelta(hours=1),
            )
            .returning(Delivery.id)
        ).one()
    return int(delivery_id)


def test_two_senders_never_hold_the_same_delivery(notifications: Any) -> None:
    ident, address = notifications.communicator("en")
    notifications.call("set_preferences", actor(ident), {"channels": ["inbox"]})
    now = datetime.now(UTC)
    pending_mail(notifications, ident, now)
    later = now + timedelta(hours=2)
    with Session(notifications.engine) as first, first.begin():
        (ident_due,) = deliveries.due(first, later)
        held = deliveries.claim(first, ident_due, later)
        assert held is not None
        with Session(notifications.engine) as second, second.begin():
            assert deliveries.due(second, later) == [ident_due]
            assert deliveries.claim(second, ident_due, later) is None  # skipped, locked
        held.mark_sent(later)
    with Session(notifications.engine) as third, third.begin():
        assert deliveries.claim(third, ident_due, later) is None  # sent: nothing to do
    assert notifications.smtp.to(address) == []


class Contacts:
    def contact(self, recipient: Any, purpose: str) -> recipients.Contact:
        return recipients.Contact(email="someone@example.org", language="en")


@dataclass
class Outbox:
    """An email channel that keeps what it was given."""

    name: str = "email"
    enabled: bool = True
    immediate: bool = False
    sent: list[str] = field(default_factory=list)

    def send(
        self, address: Any, message: Any, *, discreet: bool, message_id: str
    ) -> None:
        self.sent.append(message_id)


def test_a_sender_that_dies_between_send_and_record_sends_again_after_the_lease(
    notifications: Any,
) -> None:
    """Sending happens with no transaction open, on a leased row: a sender that dies
    after the send leaves the row to the next one once the lease runs out (the same
    Message-ID: at least once), and the first sender's late record changes nothing."""
    ident, _ = notifications.communicator("en")
    now = datetime.now(UTC)
    delivery_id = pending_mail(notifications, ident, now)
    channel, policy = Outbox(), deliveries.RetryPolicy(3, 1.0, 10.0)
    later = now + timedelta(hours=2)
    with Session(notifications.engine) as first, first.begin():
        job = deliveries.take(first, delivery_id, later)
    assert job is not None and job.attempt == 1
    with Session(notifications.engine) as other, other.begin():
        assert deliveries.due(other, later) == []  # leased: no other sender sees it
        assert deliveries.take(other, delivery_id, later) is None
    assert courier.send(job, Contacts(), {"email": channel}).status == "sent"
    # ...and the sender dies before it records; after the lease, the next one
    after = later + deliveries.SEND_LEASE + timedelta(seconds=1)
    with Session(notifications.engine) as second, second.begin():
        again = deliveries.take(second, delivery_id, after)
    assert again is not None and again.attempt == 2
    tried = courier.send(again, Contacts(), {"email": channel})
    with Session(notifications.engine) as second, second.begin():
        assert deliveries.record(second, again, tried, after, policy) == "sent"
    with Session(notifications.engine) as late, late.begin():
        assert deliveries.record(late, job, tried, after, policy) is None  # stale
    assert len(channel.sent) == 2 and len(set(channel.sent)) == 1
    row = delivery(notifications, str(again.event_id))
    assert (row.status, row.attempts) == ("sent", 2)


def test_notify_writes_the_deliveries_and_sends_nothing(notifications: Any) -> None:
    """A mail leaves only after the event's transaction commits: `notify` (inside it)
    writes the row and returns it due; the channel is not touched. Sending inside the
    transaction sent a mail twice whenever the commit failed after the send."""
    ident, _ = notifications.communicator("en")
    channel = Outbox()
    with Session(notifications.engine) as session, session.begin():
        due = deliveries.notify(
            session,
            uuid.uuid4(),
            [recipients.Recipient(uuid.UUID(ident))],
            "application_rejected",
            {},
            {"email": channel},
            datetime.now(UTC),
        )
    assert len(due) == 1
    assert channel.sent == []
    (row,) = notifications.sql(
        "SELECT status, attempts FROM deliveries WHERE id = :i", i=due[0]
    )
    assert (row.status, row.attempts) == ("pending", 0)
