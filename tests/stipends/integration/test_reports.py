"""Reports: drafts, submission, edits until the deadline, late marking, review; the
narrative is redacted before storage; every refusal changes nothing."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from stipends.exceptions import (
    CommunicatorNotFound,
    CycleNotFound,
    InvalidRequest,
    InvalidTransition,
    NotAllowed,
    ReportNotFound,
)
from stipends.logic import activity, cycles, programmes, reports
from tests.helpers import actor
from tests.stipends.integration.conftest import (
    ADMIN_A,
    FINANCE,
    Db,
    add_communicator,
    communicator_actor,
    logic_actor,
    programme_data,
    report_content,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
DEADLINE = datetime(2026, 11, 30, 23, 59, tzinfo=UTC)


def cycle(db: Db) -> uuid.UUID:
    admin = logic_actor(ADMIN_A)
    with db.session() as session, session.begin():
        programme = programmes.create_programme(session, admin, programme_data())
        return cycles.open_cycle(session, admin, programme.id, "2026-11", DEADLINE).id


def draft(db: Db, who: uuid.UUID, cycle_id: uuid.UUID, **content) -> uuid.UUID:
    with db.session() as session, session.begin():
        saved = reports.save_draft(
            session, communicator_actor(who), cycle_id, report_content(**content)
        )
        return saved.report.id


def submit(db: Db, who: uuid.UUID, report_id: uuid.UUID, now=NOW):
    with db.session() as session, session.begin():
        return reports.submit_report(session, communicator_actor(who), report_id, now)


def review(db: Db, report_id: uuid.UUID, decision: str, comment: str = "", who=None):
    with db.session() as session, session.begin():
        return reports.review_report(
            session, logic_actor(who or ADMIN_A), report_id, decision, comment, NOW
        )


def row(db: Db, report_id: uuid.UUID):
    return db.sql("SELECT * FROM activity_reports WHERE id = :i", i=report_id)[0]


def test_the_narrative_is_redacted_before_storage_and_the_author_told(db: Db) -> None:
    who, cycle_id = add_communicator(db), cycle(db)
    with db.session() as session, session.begin():
        saved = reports.save_draft(
            session,
            communicator_actor(who),
            cycle_id,
            report_content(
                narrative="Сосед (8 (916) 1234567, @sosed_msk) теперь смотрит t.me/x",
                topics=["write to a@b.ru"],
            ),
        )
    assert saved.redacted == ["email", "handle", "link", "phone"]
    stored = row(db, saved.report.id)
    assert "916" not in stored.narrative and "sosed_msk" not in stored.narrative
    assert stored.topics == ["write to [email removed]"]
    assert stored.redactions == ["email", "handle", "link", "phone"]
    assert stored.status == "draft" and not db.events("report.submitted.v1")


def test_submission_before_the_deadline_is_on_time_and_announced(db: Db) -> None:
    who, cycle_id = add_communicator(db), cycle(db)
    report_id = draft(db, who, cycle_id)
    submit(db, who, report_id)
    assert (row(db, report_id).status, row(db, report_id).late) == ("submitted", False)
    (event,) = db.events("report.submitted.v1")
    # with the report's figures for the insights read model: counts and codes, the
    # topics (free text) as how many there are, never the narrative
    assert event["data"] == {
        "report_id": str(report_id),
        "communicator_id": str(who),
        "cycle_id": str(cycle_id),
        "late": False,
        "conversations": 8,
        "hours": 6,
        "audiences": ["family", "friends"],
        "channels": ["messenger", "phone"],
        "topics_count": 2,
        "observed_change": "some",
    }
    assert "prices" not in str(event) and "Mother" not in str(event)


def test_a_report_submitted_after_the_deadline_is_marked_late(db: Db) -> None:
    who, cycle_id = add_communicator(db), cycle(db)
    report_id = draft(db, who, cycle_id)
    submit(db, who, report_id, now=DEADLINE + timedelta(minutes=1))
    assert row(db, report_id).late is True
    assert db.events("report.submitted.v1")[0]["data"]["late"] is True


def test_a_submitted_report_can_be_edited_until_the_deadline_only(db: Db) -> None:
    who, cycle_id = add_communicator(db), cycle(db)
    report_id = draft(db, who, cycle_id)
    submit(db, who, report_id)
    with db.session() as session, session.begin():
        reports.edit_report(
            session,
            communicator_actor(who),
            report_id,
            report_content(conversations=11),
            NOW,
        )
    assert row(db, report_id).conversations == 11
    assert len(db.events("report.submitted.v1")) == 2  # resubmitted
    # the reviewer's trail says it changed after it was sent
    with db.session() as session:
        trail = activity.report_activity(session, report_id)
    by_action = {line["action"]: line for line in trail}  # (the test's clock is fixed)
    assert set(by_action) == {"drafted", "submitted", "changed"}
    assert by_action["changed"]["detail"] == "changed after it was sent"
    assert by_action["changed"]["at"] == NOW.isoformat()
    with db.session() as session, session.begin():
        with pytest.raises(InvalidTransition) as err:
            reports.edit_report(
                session,
                communicator_actor(who),
                report_id,
                report_content(conversations=40),
                DEADLINE + timedelta(seconds=1),
            )
    assert err.value.code == "deadline_passed"
    assert row(db, report_id).conversations == 11


def test_review_accept_reject_and_changes_requested(db: Db) -> None:
    who, cycle_id = add_communicator(db), cycle(db)
    accepted, rejected, back = (draft(db, who, cycle_id) for _ in range(3))
    for report_id in (accepted, rejected, back):
        submit(db, who, report_id)
    review(db, accepted, "accepted")
    review(db, rejected, "rejected", "Nothing in it is about conversations.")
    review(db, back, "changes_requested", "How many people were there?")
    assert row(db, accepted).status == "accepted"
    assert row(db, rejected).review_comment == "Nothing in it is about conversations."
    assert row(db, back).status == "changes_requested"
    assert [e["data"]["decision"] for e in db.events("report.reviewed.v1")] == [
        "accepted",
        "rejected",
        "changes_requested",
    ]
    # the review carries the report's figures too (insights counts accepted work),
    # never the reviewer's comment
    reviewed = db.events("report.reviewed.v1")
    assert {e["data"]["conversations"] for e in reviewed} == {8}
    assert {e["data"]["topics_count"] for e in reviewed} == {2}
    assert "Nothing in it" not in str(reviewed)
    # changes requested: the author edits and submits again
    with db.session() as session, session.begin():
        reports.edit_report(
            session, communicator_actor(who), back, report_content(hours=9), NOW
        )
    submit(db, who, back)
    assert row(db, back).status == "submitted" and row(db, back).hours == 9
    # a reviewed report is final
    with db.session() as session, session.begin():
        with pytest.raises(InvalidTransition):
            reports.edit_report(
                session, communicator_actor(who), accepted, report_content(), NOW
            )


@pytest.mark.parametrize(
    ("decision", "comment", "code"),
    [
        ("rejected", "", "comment_required"),
        ("changes_requested", "  ", "comment_required"),
        ("approved", "fine", "invalid_decision"),
    ],
)
def test_a_review_without_a_reason_or_with_an_unknown_decision_is_refused(
    db: Db, decision: str, comment: str, code: str
) -> None:
    who, cycle_id = add_communicator(db), cycle(db)
    report_id = draft(db, who, cycle_id)
    submit(db, who, report_id)
    with pytest.raises(InvalidRequest) as err:
        review(db, report_id, decision, comment)
    assert err.value.code == code
    assert row(db, report_id).status == "submitted"
    assert db.events("report.reviewed.v1") == []


def test_wrong_roles_and_other_peoples_reports_are_refused(db: Db) -> None:
    who, other, cycle_id = add_communicator(db), add_communicator(db), cycle(db)
    report_id = draft(db, who, cycle_id)
    with pytest.raises(ReportNotFound):  # someone else's report is not confirmed
        submit(db, other, report_id)
    submit(db, who, report_id)
    with pytest.raises(NotAllowed) as err:
        review(db, report_id, "accepted", who=FINANCE)
    assert err.value.code == "role_required"
    with pytest.raises(NotAllowed):
        review(db, report_id, "accepted", who=actor(["communicator"], str(who)))
    with db.session() as session, session.begin():
        with pytest.raises(NotAllowed):
            reports.save_draft(
                session, logic_actor(ADMIN_A), cycle_id, report_content()
            )
    assert row(db, report_id).status == "submitted"


def test_a_communicator_who_is_not_active_cannot_report(db: Db) -> None:
    who, cycle_id = add_communicator(db, status="suspended"), cycle(db)
    with db.session() as session, session.begin():
        with pytest.raises(NotAllowed) as err:
            reports.save_draft(
                session, communicator_actor(who), cycle_id, report_content()
            )
    assert err.value.code == "not_active"
    assert db.sql("SELECT count(*) FROM activity_reports")[0][0] == 0


def test_a_draft_names_first_a_missing_author_then_a_missing_cycle(db: Db) -> None:
    # the author, the cycle and the strategy are read in one query: refused in the
    # order they were checked one by one
    who, cycle_id = add_communicator(db), cycle(db)
    cases = (
        (uuid.uuid4(), uuid.uuid4(), CommunicatorNotFound),
        (uuid.uuid4(), cycle_id, CommunicatorNotFound),
        (who, uuid.uuid4(), CycleNotFound),
    )
    for author, target, refusal in cases:
        with db.session() as session, session.begin():
            with pytest.raises(refusal):
                reports.save_draft(
                    session, communicator_actor(author), target, report_content()
                )
    assert db.sql("SELECT count(*) FROM activity_reports")[0][0] == 0


def test_no_report_changes_once_the_cycle_is_closed_or_locked(db: Db) -> None:
    who, cycle_id = add_communicator(db), cycle(db)
    report_id = draft(db, who, cycle_id)
    for status in ("closed", "locked"):
        db.sql("UPDATE cycles SET status = :s WHERE id = :i", s=status, i=cycle_id)
        with pytest.raises(InvalidTransition) as err:
            submit(db, who, report_id)
        assert err.value.code == f"cycle_{status}"
        with pytest.raises(InvalidTransition) as err:
            draft(db, who, cycle_id)
        assert err.value.code == f"cycle_{status}"
    assert row(db, report_id).status == "draft"
    assert db.sql("SELECT count(*) FROM activity_reports")[0][0] == 1


def test_what_a_report_lost_is_what_its_latest_version_lost(db: Db) -> None:
    """A phone removed and then written out of the text: the report no longer
    says it lost one; a mark kept from an earlier save still counts."""
    who, cycle_id = add_communicator(db), cycle(db)
    report_id = draft(
        db, who, cycle_id, narrative="Call +7 916 123-45-67 and ivan@example.org"
    )
    assert row(db, report_id).redactions == ["email", "phone"]
    kept = row(db, report_id).narrative  # the marks, as the form shows them again
    for text, lost in ((kept, ["email", "phone"]), ("Plain words now.", [])):
        with db.session() as session, session.begin():
            reports.edit_report(
                session,
                communicator_actor(who),
                report_id,
                report_content(narrative=text),
                NOW,
            )
        assert row(db, report_id).redactions == lost
