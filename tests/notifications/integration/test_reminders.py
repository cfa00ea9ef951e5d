"""'A report is due soon': a lead time before a cycle's deadline, once, to each active
communicator who has not reported in it; nobody suspended, nobody who reported."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.helpers import wait_until
from tests.notifications.integration.conftest import actor


def delivered(notifications: Any, event_type: str, producer: str, **data: Any) -> None:
    body = notifications.publish(event_type, producer, **data)
    wait_until(lambda: notifications.processed(body["event_id"]), event_type)


def test_a_reminder_goes_once_to_those_who_have_not_reported(
    notifications: Any,
) -> None:
    (late, late_mail), (done, done_mail), (away, away_mail) = (
        notifications.communicator("en") for _ in range(3)
    )
    for ident in (late, done, away):
        delivered(notifications, "communicator.activated.v1", "registry",
                  communicator_id=ident, pseudonym="x", club_id=None)  # fmt: skip
    delivered(
        notifications, "communicator.suspended.v1", "registry", communicator_id=away
    )
    cycle = str(uuid.uuid4())
    soon = datetime.now(UTC) + timedelta(days=1)  # within the 72 h lead
    delivered(notifications, "cycle.opened.v1", "stipends", cycle_id=cycle,
              programme_id=str(uuid.uuid4()), period="2026-11",
              deadline=soon.isoformat())  # fmt: skip
    delivered(notifications, "report.submitted.v1", "stipends",
              report_id=str(uuid.uuid4()), communicator_id=done, cycle_id=cycle,
              late=False)  # fmt: skip
    before = {
        a: len(notifications.smtp.to(a)) for a in (late_mail, done_mail, away_mail)
    }

    notifications.call("send_reminders")
    notifications.call("send_reminders")  # once per cycle

    wait_until(
        lambda: len(notifications.smtp.to(late_mail)) == before[late_mail] + 1,
        "the reminder",
    )
    assert len(notifications.smtp.to(done_mail)) == before[done_mail]
    assert len(notifications.smtp.to(away_mail)) == before[away_mail]
    mail = notifications.smtp.to(late_mail)[-1]
    assert mail.subject == "New message"  # discreet: the details are in the inbox
    (message, *_) = notifications.call("list_inbox", actor(late))
    assert message["subject"] == "A report is due soon"
    # the deadline's moment, as the reader's language writes it (English here)
    written = f"{soon:%b} {soon.day}, {soon.year}, {soon:%H:%M} UTC"
    assert f"due by {written}" in message["body"], message["body"]


def test_no_reminder_far_from_the_deadline_or_after_the_close(
    notifications: Any,
) -> None:
    ident, address = notifications.communicator("ru")
    delivered(notifications, "communicator.activated.v1", "registry",
              communicator_id=ident, pseudonym="y", club_id=None)  # fmt: skip
    far, closed = str(uuid.uuid4()), str(uuid.uuid4())
    for cycle, days in ((far, 20), (closed, 1)):
        deadline = datetime.now(UTC) + timedelta(days=days)
        delivered(notifications, "cycle.opened.v1", "stipends", cycle_id=cycle,
                  programme_id=str(uuid.uuid4()), period="2026-12",
                  deadline=deadline.isoformat())  # fmt: skip
    delivered(notifications, "cycle.closed.v1", "stipends", cycle_id=closed,
              programme_id=str(uuid.uuid4()))  # fmt: skip
    before = len(notifications.smtp.to(address))
    notifications.call("send_reminders")
    assert len(notifications.smtp.to(address)) == before
    rows = notifications.sql("SELECT cycle_id::text, reminded_at FROM reporting_cycles")
    assert [tuple(r) for r in rows] == [(far, None)]


@pytest.mark.parametrize(
    ("decision", "said"),
    [
        ("accepted", "Ваш отчёт о деятельности за октябрь 2026 рассмотрен и принят."),
        ("rejected", "Ваш отчёт о деятельности за октябрь 2026 рассмотрен и не"),
        ("changes_requested", "Ваш отчёт о работе за октябрь 2026 рассмотрен, в него"),
    ],
)
def test_a_reviewed_report_is_named_by_its_cycles_month(
    notifications: Any, decision: str, said: str
) -> None:
    """Someone with two cycles open (last month's not closed yet) is told which
    month's report was decided."""
    ident, _ = notifications.communicator("ru")
    cycle = str(uuid.uuid4())
    deadline = (datetime.now(UTC) + timedelta(days=20)).isoformat()
    delivered(notifications, "cycle.opened.v1", "stipends", cycle_id=cycle,
              programme_id=str(uuid.uuid4()), period="2026-10",
              deadline=deadline)  # fmt: skip
    delivered(notifications, "report.reviewed.v1", "stipends",
              report_id=str(uuid.uuid4()), communicator_id=ident, cycle_id=cycle,
              decision=decision)  # fmt: skip
    wait_until(lambda: notifications.call("list_inbox", actor(ident)), "the message")
    (message,) = notifications.call("list_inbox", actor(ident))
    assert said in message["body"]
