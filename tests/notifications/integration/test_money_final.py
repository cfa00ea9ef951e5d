"""Money is told as final or corrected (issue 23): an approval undone after it was
announced is followed by a correction, one undone before is never announced, and
the person's inbox ends saying what is true. Events on the real broker, signed as
stipends' relay signs them, in both orders."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from notifications.templates import render
from tests.helpers import publish_event, wait_until
from tests.notifications.integration.conftest import actor, envelope

CYCLE = str(uuid.uuid4())
AMOUNT = {"amount_minor": 30000, "currency": "EUR"}
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def stipend_event(
    notifications: Any, kind: str, ident: str, stipend: str, at: datetime
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "communicator_id": ident,
        "stipend_id": stipend,
        "cycle_id": CYCLE,
    }
    if kind != "rejected":
        data.update(AMOUNT)
    body = envelope(f"stipend.{kind}.v1", "stipends", **data)
    body["occurred_at"] = at.isoformat()
    publish_event(notifications.amqp_uri, body)
    wait_until(lambda: notifications.processed(body["event_id"]), f"{kind} handled")
    return body


def inbox(notifications: Any, ident: str) -> list[tuple[str, str]]:
    messages = notifications.call("list_inbox", actor(ident, "communicator"))
    ordered = sorted(messages, key=lambda m: (m["created_at"], m["id"]))
    return [(m["subject"], m["body"]) for m in ordered]


def told(template: str) -> tuple[str, str]:
    message = render(template, "en", **AMOUNT)
    return message.subject, message.body


def mails(notifications: Any, address: str, count: int) -> None:
    """`count` mails to `address`, and no more once every delivery is recorded."""
    wait_until(lambda: len(notifications.smtp.to(address)) >= count, "mails")
    wait_until(
        lambda: (
            not notifications.sql("SELECT 1 FROM deliveries WHERE status = 'pending'")
        ),
        "every delivery recorded",
    )
    assert len(notifications.smtp.to(address)) == count


def test_an_approval_rejected_after_it_was_announced_is_corrected(
    notifications: Any,
) -> None:
    ident, address = notifications.communicator("en")
    stipend = str(uuid.uuid4())
    stipend_event(notifications, "approved", ident, stipend, T0)
    mails(notifications, address, 1)
    stipend_event(notifications, "rejected", ident, stipend, T0 + timedelta(hours=1))
    mails(notifications, address, 2)  # the correction, discreet as every mail
    assert inbox(notifications, ident) == [
        told("stipend_approved"),
        told("stipend_withdrawn"),
    ]
    assert "will not be paid" in inbox(notifications, ident)[-1][0]


def test_an_approval_that_arrives_after_its_rejection_is_never_announced(
    notifications: Any,
) -> None:
    """The queues are separate: the rejection can be handled first. The approval
    it undid then tells nobody anything: no mail says money is coming."""
    ident, address = notifications.communicator("en")
    stipend = str(uuid.uuid4())
    stipend_event(notifications, "rejected", ident, stipend, T0 + timedelta(hours=1))
    stipend_event(notifications, "approved", ident, stipend, T0)
    mails(notifications, address, 0)
    assert inbox(notifications, ident) == []
    (row,) = notifications.sql(
        "SELECT state, announced FROM stipend_notices WHERE stipend_id = :s",
        s=stipend,
    )
    assert tuple(row) == ("rejected", False)


def test_an_approval_voided_by_new_payment_details_is_put_on_hold_then_told_again(
    notifications: Any,
) -> None:
    """Stipends sends an approved stipend back to awaiting approval when the payee's
    payout details change (stipend.proposed.v1): the person hears it is on hold,
    and hears again when it is approved again."""
    ident, address = notifications.communicator("en")
    stipend = str(uuid.uuid4())
    stipend_event(notifications, "proposed", ident, stipend, T0 - timedelta(hours=1))
    mails(notifications, address, 0)  # awaiting approval: nothing to tell yet
    stipend_event(notifications, "approved", ident, stipend, T0)
    mails(notifications, address, 1)
    stipend_event(notifications, "proposed", ident, stipend, T0 + timedelta(hours=1))
    mails(notifications, address, 2)
    assert inbox(notifications, ident)[-1] == told("stipend_on_hold")
    stipend_event(notifications, "approved", ident, stipend, T0 + timedelta(hours=2))
    mails(notifications, address, 3)
    assert inbox(notifications, ident) == [
        told("stipend_approved"),
        told("stipend_on_hold"),
        told("stipend_approved"),
    ]


def test_a_late_copy_of_an_older_approval_changes_nothing(notifications: Any) -> None:
    ident, address = notifications.communicator("ru")
    stipend = str(uuid.uuid4())
    stipend_event(notifications, "approved", ident, stipend, T0)
    stipend_event(notifications, "proposed", ident, stipend, T0 + timedelta(hours=1))
    stipend_event(notifications, "rejected", ident, stipend, T0 + timedelta(hours=2))
    mails(notifications, address, 2)  # approved, on hold; the rejection: nothing new
    stipend_event(notifications, "approved", ident, stipend, T0 - timedelta(hours=1))
    mails(notifications, address, 2)
    subjects = [subject for subject, _ in inbox(notifications, ident)]
    assert subjects == [
        render("stipend_approved", "ru", **AMOUNT).subject,
        render("stipend_on_hold", "ru", **AMOUNT).subject,
    ]


def test_erasure_forgets_what_a_person_was_told_about_their_stipends(
    notifications: Any,
) -> None:
    ident, address = notifications.communicator("en")
    stipend_event(notifications, "approved", ident, str(uuid.uuid4()), T0)
    mails(notifications, address, 1)
    body = notifications.publish(
        "communicator.erased.v1", "registry", communicator_id=ident
    )
    wait_until(lambda: notifications.processed(body["event_id"]), "erasure")
    assert notifications.sql("SELECT * FROM stipend_notices") == []
