"""Staff hear what waits for them: a digest of applications, reports and approvals
waiting, folded from the events, sent once per period; discreet unless a staff member
turned that off for themselves, in the language they chose."""

import uuid
from typing import Any

import pytest

from notifications.logic import digests
from svyaz.errors import InvalidInput
from tests.helpers import wait_until
from tests.notifications.integration.conftest import RegistryStandIn, actor


def staff_member(role: str = "program_admin") -> tuple[str, str]:
    ident = str(uuid.uuid4())
    address = f"staff.{ident[:8]}@example.org"
    RegistryStandIn.staff.setdefault(role, []).append(
        {"account_id": ident, "email": address}
    )
    return ident, address


def waiting_work(notifications: Any) -> None:
    """Two applications (one decided since), a report, a stipend proposal, two
    shared strategies (one commented on by a mentor since)."""
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    events = [
        ("communicator.applied.v1", "registry",
         {"communicator_id": first, "pseudonym": "a"}),
        ("communicator.applied.v1", "registry",
         {"communicator_id": second, "pseudonym": "b"}),
        ("communicator.rejected.v1", "registry", {"communicator_id": second}),
        ("report.submitted.v1", "stipends",
         {"report_id": str(uuid.uuid4()), "communicator_id": first,
          "cycle_id": str(uuid.uuid4()), "late": False}),
        ("stipend.proposed.v1", "stipends",
         {"stipend_id": str(uuid.uuid4()), "communicator_id": first,
          "cycle_id": str(uuid.uuid4()), "amount_minor": 100, "currency": "EUR"}),
        # two strategies shared, one since commented by a mentor, one answered by
        # its author only: one waits
        ("strategy.shared.v1", "stipends",
         {"strategy_id": first, "communicator_id": first, "version": 1}),
        ("strategy.shared.v1", "stipends",
         {"strategy_id": second, "communicator_id": second, "version": 2}),
        ("strategy.commented.v1", "stipends",
         {"strategy_id": first, "communicator_id": first, "version": 1,
          "comment_id": str(uuid.uuid4()), "by_mentor": True}),
        ("strategy.commented.v1", "stipends",
         {"strategy_id": second, "communicator_id": second, "version": 2,
          "comment_id": str(uuid.uuid4()), "by_mentor": False}),
    ]  # fmt: skip
    for event_type, producer, data in events:
        body = notifications.publish(event_type, producer, **data)
        wait_until(lambda b=body: notifications.processed(b["event_id"]), event_type)


def digest(notifications: Any) -> None:
    notifications.call("send_digests")


def test_the_digest_counts_waiting_work_and_goes_once_per_period(
    notifications: Any,
) -> None:
    waiting_work(notifications)
    discreet_id, discreet_address = staff_member()
    open_id, open_address = staff_member()
    finance_id, finance_address = staff_member("finance")
    notifications.call(
        "set_preferences",
        actor(open_id, "program_admin"),
        {"discreet": False, "language": "en"},
    )

    digest(notifications)
    digest(notifications)  # the same period: nothing more

    full = notifications.mail_to(open_address)
    assert full.subject == "Work waiting for the programme's admins"
    assert full.sender == "Svyaz <notifications@svyaz.invalid>"
    assert "Applications waiting for review: 1" in full.body
    assert "Reports waiting for review: 1" in full.body
    # the proposal's event named no proposer: it is counted for every admin
    assert "Stipends waiting for approval that you did not propose: 1" in full.body
    assert "Strategies waiting for a mentor's comment: 1" in full.body

    neutral = notifications.mail_to(discreet_address)
    assert neutral.subject == "Новое сообщение"  # staff default: discreet, Russian
    assert neutral.sender == "Account <no-reply@account.invalid>"
    assert "Заявок" not in neutral.body

    (inbox,) = notifications.call("list_inbox", actor(discreet_id, "program_admin"))
    assert "Заявки, ожидающие рассмотрения: 1" in inbox["body"]
    assert len(notifications.smtp.to(open_address)) == 1
    assert len(notifications.smtp.to(discreet_address)) == 1
    assert notifications.smtp.to(finance_address) == []
    rows = notifications.sql(
        "SELECT payload FROM deliveries WHERE recipient_id = :r AND channel = 'email'",
        r=open_id,
    )
    assert [r.payload for r in rows] == [None]  # cleared once sent


def test_russian_for_staff_who_chose_it(notifications: Any) -> None:
    waiting_work(notifications)
    ident, address = staff_member()
    notifications.call(
        "set_preferences",
        actor(ident, "program_admin"),
        {"discreet": False, "language": "ru"},
    )
    digest(notifications)
    mail = notifications.mail_to(address)
    assert mail.subject == "Работа для администраторов программы"
    assert "Отчёты, ожидающие рассмотрения: 1" in mail.body
    assert "Стипендии, ожидающие одобрения, которые предложили не вы: 1" in mail.body


def test_no_digest_when_nothing_waits(notifications: Any) -> None:
    _, address = staff_member()
    digest(notifications)
    assert notifications.sql("SELECT count(*) FROM deliveries")[0][0] == 0
    assert notifications.smtp.to(address) == []


def test_staff_can_turn_discreet_mode_back_on(notifications: Any) -> None:
    ident, _ = staff_member()
    who = actor(ident, "program_admin")
    assert (
        notifications.call("set_preferences", who, {"discreet": False})["discreet"]
        is False
    )
    assert (
        notifications.call("set_preferences", who, {"discreet": True})["discreet"]
        is True
    )
    with pytest.raises(InvalidInput):
        notifications.call("set_preferences", actor([], ident), {})


def test_one_digest_per_role_and_period() -> None:
    assert digests.digest_event_id("program_admin", 7) == digests.digest_event_id(
        "program_admin", 7
    )
    assert digests.digest_event_id("program_admin", 7) != digests.digest_event_id(
        "program_admin", 8
    )


def test_a_closed_cycle_sends_the_digest_at_once_and_only_once(
    notifications: Any,
) -> None:
    waiting_work(notifications)
    ident, address = staff_member()
    notifications.call(
        "set_preferences",
        actor(ident, "program_admin"),
        {"discreet": False, "language": "en"},
    )
    closed = {"cycle_id": str(uuid.uuid4()), "programme_id": str(uuid.uuid4())}
    copies = [  # the same news twice: a producer retry under another event id
        notifications.publish("cycle.closed.v1", "stipends", **closed) for _ in range(2)
    ]
    mail = notifications.mail_to(address)
    assert "Stipends waiting for approval that you did not propose: 1" in mail.body
    for body in copies:
        wait_until(lambda b=body: notifications.processed(b["event_id"]), "a copy")
    assert len(notifications.smtp.to(address)) == 1


def test_a_closed_cycle_heard_before_its_proposals_still_sends_the_digest(
    notifications: Any,
) -> None:
    """The proposals' own events come on another queue: heard first, the closing
    counts the stipends it proposed as waiting, instead of finding nothing waiting
    and saying nothing (seen by an outside reading: no digest after a close)."""
    ident, address = staff_member()
    notifications.call(
        "set_preferences",
        actor(ident, "program_admin"),
        {"discreet": False, "language": "en"},
    )
    empty = {"cycle_id": str(uuid.uuid4()), "programme_id": str(uuid.uuid4())}
    quiet = notifications.publish("cycle.closed.v1", "stipends", **empty, proposed=0)
    wait_until(lambda: notifications.processed(quiet["event_id"]), "the empty close")
    assert notifications.smtp.to(address) == []  # nothing waits: no digest
    closed = {"cycle_id": str(uuid.uuid4()), "programme_id": str(uuid.uuid4())}
    notifications.publish("cycle.closed.v1", "stipends", **closed, proposed=3)
    mail = notifications.mail_to(address)
    assert "Stipends waiting for approval that you did not propose: 3" in mail.body


def test_each_admin_is_told_of_the_approvals_they_may_give(
    notifications: Any,
) -> None:
    """An admin who closed a cycle proposed its stipends and may approve none of
    them: their digest does not count them (an outside reading: the proposer was
    told "3 waiting" that were not theirs to approve); the other admins' does.
    Nor is an admin counted the approval of their own stipend."""
    closer, closer_address = staff_member()
    other, other_address = staff_member()
    for ident in (closer, other):
        notifications.call(
            "set_preferences",
            actor(ident, "program_admin"),
            {"discreet": False, "language": "en"},
        )

    def proposed(communicator: str) -> None:
        body = notifications.publish(
            "stipend.proposed.v1",
            "stipends",
            stipend_id=str(uuid.uuid4()),
            communicator_id=communicator,
            cycle_id=str(uuid.uuid4()),
            amount_minor=100,
            currency="EUR",
            proposed_by=closer,
        )
        wait_until(lambda: notifications.processed(body["event_id"]), "a proposal")

    for _ in range(3):
        proposed(str(uuid.uuid4()))
    notifications.publish(
        "cycle.closed.v1",
        "stipends",
        cycle_id=str(uuid.uuid4()),
        programme_id=str(uuid.uuid4()),
        proposed=3,
        closed_by=closer,
    )
    told = notifications.mail_to(other_address)
    assert "Stipends waiting for approval that you did not propose: 3" in told.body

    # a fourth, of the other admin's own stipend: not theirs to approve either
    proposed(other)
    digest(notifications)
    assert wait_until(
        lambda: len(notifications.smtp.to(other_address)) == 2, "the daily digest"
    )
    daily = notifications.smtp.to(other_address)[-1]
    assert "Stipends waiting for approval that you did not propose: 3" in daily.body
    # nothing else waits, and none of the four is the closer's to approve
    assert notifications.sql(
        "SELECT count(*) FROM deliveries WHERE recipient_id = :r", r=closer
    ) == [(0,)]
    assert notifications.smtp.to(closer_address) == []


def test_work_ends_as_its_last_event_says_whatever_order_the_events_arrive_in(
    notifications: Any,
) -> None:
    """Arrival and completion come on different queues: a late "applied" after
    "activated" leaves nothing waiting, and a report sent back and submitted again
    waits again (found by the chaos run: done work shown as waiting)."""
    from tests.helpers import publish_event
    from tests.notifications.integration.conftest import envelope

    def send(event_type: str, producer: str, at: str, **data: Any) -> None:
        body = {**envelope(event_type, producer, **data), "occurred_at": at}
        publish_event(notifications.amqp_uri, body)
        wait_until(lambda: notifications.processed(body["event_id"]), event_type)

    who, report = str(uuid.uuid4()), str(uuid.uuid4())
    send(
        "communicator.activated.v1",
        "registry",
        "2026-11-24T10:00:02+00:00",
        communicator_id=who,
    )
    send("communicator.applied.v1", "registry", "2026-11-24T10:00:01+00:00",
         communicator_id=who, pseudonym="late")  # fmt: skip
    submitted = {"report_id": report, "communicator_id": who,
                 "cycle_id": str(uuid.uuid4()), "late": False}  # fmt: skip
    send("report.submitted.v1", "stipends", "2026-11-24T11:00:00+00:00", **submitted)
    send(
        "report.reviewed.v1",
        "stipends",
        "2026-11-24T11:05:00+00:00",
        report_id=report,
        communicator_id=who,
        decision="changes_requested",
    )
    send("report.submitted.v1", "stipends", "2026-11-24T11:10:00+00:00", **submitted)
    states = {
        (r[0], str(r[1])): r[2]
        for r in notifications.sql("SELECT kind, item_id, state FROM pending_items")
    }
    assert states[("application", who)] == "done"
    assert states[("report", report)] == "waiting"


def test_work_done_long_ago_is_forgotten_and_nothing_else(notifications: Any) -> None:
    insert = (
        "INSERT INTO pending_items (kind, item_id, communicator_id, state, as_of)"
        " VALUES (:kind, :item, :who, :state, now() - make_interval(days => :days))"
    )
    kept = []
    for state, days in (("done", 91), ("done", 5), ("waiting", 400)):
        item = uuid.uuid4()
        notifications.sql(
            insert, kind="report", item=item, who=uuid.uuid4(), state=state, days=days
        )
        if (state, days) != ("done", 91):
            kept.append(item)

    def items() -> list[uuid.UUID]:
        return sorted(
            r.item_id for r in notifications.sql("SELECT * FROM pending_items")
        )

    wait_until(lambda: items() == sorted(kept), "the old tombstone forgotten")


def test_a_club_coordinator_is_told_when_a_member_shares_a_strategy(
    notifications: Any,
) -> None:
    """The member's club coordinator, as the registry names them (a communicator
    or a staff account), hears that a strategy waits in the mentors' console; a
    member with no coordinator tells no one but the admins' digest."""
    member, loner, other = (str(uuid.uuid4()) for _ in range(3))
    coordinator, coordinator_address = notifications.communicator("en")
    staff_id, staff_address = staff_member("club_coordinator")
    RegistryStandIn.mentors[member] = [{"id": coordinator, "kind": "communicator"}]
    RegistryStandIn.mentors[other] = [{"id": staff_id, "kind": "staff"}]
    for who in (member, loner, other):
        body = notifications.publish(
            "strategy.shared.v1",
            "stipends",
            strategy_id=str(uuid.uuid4()),
            communicator_id=who,
            version=1,
        )
        wait_until(lambda b=body: notifications.processed(b["event_id"]), who)

    # discreet by default, both: the mail says only that there is a message, the
    # words are in the console's inbox
    for ident, address, role in (
        (coordinator, coordinator_address, "communicator"),
        (staff_id, staff_address, "club_coordinator"),
    ):
        neutral = notifications.mail_to(address)
        assert "strategy" not in (neutral.subject + neutral.body).lower()
        (said,) = notifications.call("list_inbox", actor(ident, role))
        assert said["subject"] in (
            "A strategy waits for your comment",
            "Стратегия ждёт вашего комментария",
        )
        assert member not in said["body"] and other not in said["body"]
    (said,) = notifications.call(
        "list_inbox", actor(coordinator, "communicator"), {"language": "en"}
    )
    assert said["subject"] == "A strategy waits for your comment"
    assert '"Mentoring"' in said["body"]
    rows = notifications.sql(
        "SELECT DISTINCT recipient_id::text FROM deliveries "
        "WHERE template = 'strategy_shared'"
    )
    assert {r[0] for r in rows} == {coordinator, staff_id}


def test_a_members_answers_are_told_to_their_coordinator(notifications: Any) -> None:
    """An author's answer on their strategy or to feedback on a report tells their
    club's coordinator; a mentor's word tells the author."""
    member = str(uuid.uuid4())
    coordinator, _ = notifications.communicator("en")
    author, _ = notifications.communicator("en")
    RegistryStandIn.mentors[member] = [{"id": coordinator, "kind": "communicator"}]
    RegistryStandIn.mentors[author] = [{"id": coordinator, "kind": "communicator"}]
    published = [
        ("strategy.commented.v1",
         {"strategy_id": str(uuid.uuid4()), "communicator_id": member, "version": 1,
          "comment_id": str(uuid.uuid4()), "by_mentor": False}),
        ("report.feedback_given.v1",
         {"report_id": str(uuid.uuid4()), "communicator_id": member,
          "feedback_id": str(uuid.uuid4()), "by_mentor": False}),
        # a mentor's word, once without the field (an event from before it)
        ("report.feedback_given.v1",
         {"report_id": str(uuid.uuid4()), "communicator_id": author,
          "feedback_id": str(uuid.uuid4())}),
    ]  # fmt: skip
    for event_type, data in published:
        body = notifications.publish(event_type, "stipends", **data)
        wait_until(lambda b=body: notifications.processed(b["event_id"]), event_type)
    said = notifications.call(
        "list_inbox", actor(coordinator, "communicator"), {"language": "en"}
    )
    assert sorted(m["subject"] for m in said) == [
        "A member answered on their strategy",
        "A member answered your feedback on a report",
    ]
    for message in said:
        assert member not in message["body"] and '"Mentoring"' in message["body"]
    (told,) = notifications.call(
        "list_inbox", actor(author, "communicator"), {"language": "en"}
    )
    assert told["subject"] == "Your mentor left feedback on a report"


def test_an_answer_is_told_to_the_admins_who_wrote_on_the_thread(
    notifications: Any,
) -> None:
    """A member in no club has no coordinator: their answer is told to the
    programme admins the event names (those who wrote on the thread), each once,
    and to the coordinator as well when there is one."""
    alone, in_club = str(uuid.uuid4()), str(uuid.uuid4())
    admin, _ = staff_member()
    coordinator, _ = notifications.communicator("en")
    RegistryStandIn.mentors[alone] = []
    RegistryStandIn.mentors[in_club] = [{"id": coordinator, "kind": "communicator"}]
    published = [
        ("strategy.commented.v1",
         {"strategy_id": str(uuid.uuid4()), "communicator_id": alone, "version": 1,
          "comment_id": str(uuid.uuid4()), "by_mentor": False,
          "admin_mentors": [admin, admin]}),
        ("report.feedback_given.v1",
         {"report_id": str(uuid.uuid4()), "communicator_id": in_club,
          "feedback_id": str(uuid.uuid4()), "by_mentor": False,
          "admin_mentors": [admin, coordinator]}),
    ]  # fmt: skip
    for event_type, data in published:
        body = notifications.publish(event_type, "stipends", **data)
        wait_until(lambda b=body: notifications.processed(b["event_id"]), event_type)
    to_admin = notifications.call(
        "list_inbox", actor(admin, "program_admin"), {"language": "en"}
    )
    assert sorted(m["subject"] for m in to_admin) == [
        "A member answered on their strategy",
        "A member answered your feedback on a report",
    ]
    (to_coordinator,) = notifications.call(
        "list_inbox", actor(coordinator, "communicator"), {"language": "en"}
    )  # once, though the event named them too
    assert to_coordinator["subject"] == "A member answered your feedback on a report"
    rows = notifications.sql(
        "SELECT DISTINCT template, recipient_id::text FROM deliveries "
        "WHERE template IN ('strategy_answer', 'report_answer') "
        "AND recipient_id IN (:a, :c) ORDER BY template, recipient_id",
        a=admin,
        c=coordinator,
    )
    assert sorted(tuple(r) for r in rows) == sorted(
        [("report_answer", admin), ("report_answer", coordinator),
         ("strategy_answer", admin)]
    )  # fmt: skip
