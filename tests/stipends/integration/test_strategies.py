"""Communication strategies and mentor feedback, through the logic functions on a
real database: versions (a shared one never changes, the database refuses it too),
who may see and write what, reports that refer to a strategy version, the feedback
thread of a report, and erasure of the words."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import DBAPIError

from stipends.exceptions import (
    CommunicatorNotFound,
    InvalidRequest,
    InvalidTransition,
    NotAllowed,
    ReportNotFound,
)
from stipends.logic import (
    cycles,
    programmes,
    readmodel,
    report_feedback,
    reports,
    strategies,
)
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
DEADLINE = NOW + timedelta(days=10)
NOTE = "Start with my aunt's worries about prices, then the news"


def content(**changes):
    return {
        "audiences": ["family", "colleagues"],
        "channels": ["video", "messenger"],
        "topics": ["prices"],
        "approaches": ["listening", "shared_values"],
        "expected_change": "They ask me questions instead of repeating TV lines",
        "horizon_months": 6,
        "note": NOTE,
        **changes,
    }


def in_club(db: Db, who: uuid.UUID, club: uuid.UUID) -> None:
    db.sql("UPDATE communicators SET club_id = :c WHERE id = :i", c=club, i=who)


def coordinator(club: uuid.UUID | None = None):
    """A coordinator and the clubs the registry says they coordinate."""
    return logic_actor(actor(["club_coordinator"])), (
        frozenset({club}) if club else frozenset()
    )


def save(db: Db, who: uuid.UUID, **changes):
    with db.session() as session, session.begin():
        return strategies.save_strategy(
            session, communicator_actor(who), content(**changes)
        )


def share(db: Db, who: uuid.UUID):
    with db.session() as session, session.begin():
        return strategies.share_strategy(session, communicator_actor(who), NOW)


def view(db: Db, who, target: uuid.UUID, clubs=frozenset()):
    with db.session() as session, session.begin():
        return strategies.strategy_view(session, who, target, clubs)


def comment(db: Db, who, target: uuid.UUID, body: str, clubs=frozenset()):
    with db.session() as session, session.begin():
        return strategies.comment_on_strategy(session, who, target, body, clubs)[0]


def cycle(db: Db) -> uuid.UUID:
    admin = logic_actor(ADMIN_A)
    with db.session() as session, session.begin():
        programme = programmes.create_programme(session, admin, programme_data())
        return cycles.open_cycle(session, admin, programme.id, "2026-11", DEADLINE).id


def test_versions_a_draft_changes_a_shared_version_never(db: Db) -> None:
    who = add_communicator(db)
    first = save(db, who).version
    again = save(db, who, horizon_months=9).version
    assert again.id == first.id and again.number == 1  # the draft, edited
    shared = share(db, who)
    assert shared.status == "shared" and shared.shared_at == NOW
    with pytest.raises(InvalidTransition) as refused:
        share(db, who)
    assert refused.value.code == "strategy_no_draft"

    revision = save(db, who, horizon_months=3, note="Fewer facts, more listening")
    assert revision.version.number == 2 and revision.version.status == "draft"
    rows = db.sql(
        "SELECT number, status, horizon_months, note FROM strategy_versions "
        "WHERE strategy_id = :s ORDER BY number",
        s=revision.version.strategy_id,
    )
    assert [tuple(r) for r in rows] == [
        (1, "shared", 9, NOTE),
        (2, "draft", 3, "Fewer facts, more listening"),
    ]
    # the database refuses to change a shared version, whoever asks
    with pytest.raises(DBAPIError, match="never changes"):
        db.sql(
            "UPDATE strategy_versions SET horizon_months = 1 WHERE id = :i",
            i=first.id,
        )
    with pytest.raises(DBAPIError, match="is kept"):
        db.sql("DELETE FROM strategy_versions WHERE id = :i", i=first.id)
    shared_two = share(db, who)
    seen = view(db, communicator_actor(who), who)["strategy"]
    assert [v["number"] for v in seen["versions"]] == [2, 1]  # newest first
    assert shared_two.number == 2


def test_the_free_text_is_redacted_and_the_author_told(db: Db) -> None:
    who = add_communicator(db)
    saved = save(db, who, note="Call her at +7 916 123-45-67 or write a@b.ru")
    assert saved.redacted == ["email", "phone"]
    assert "916" not in saved.version.note and "a@b.ru" not in saved.version.note


@pytest.mark.parametrize(
    ("status", "tier", "code"),
    [
        ("active", "volunteer", "strategy_professional_only"),
        ("suspended", "professional", "not_active"),
    ],
)
def test_only_an_active_professional_keeps_a_strategy(
    db: Db, status: str, tier: str, code: str
) -> None:
    who = add_communicator(db, status=status, tier=tier)
    with pytest.raises(NotAllowed) as refused:
        save(db, who)
    assert refused.value.code == code
    assert not db.sql("SELECT 1 FROM strategies WHERE communicator_id = :i", i=who)


def test_who_sees_a_strategy(db: Db) -> None:
    club, other_club = uuid.uuid4(), uuid.uuid4()
    who, peer = add_communicator(db), add_communicator(db)
    in_club(db, who, club)
    in_club(db, peer, club)
    save(db, who)
    mentor, clubs = coordinator(club)
    stranger, their_clubs = coordinator(other_club)
    # a mentor never sees an unshared draft
    assert view(db, mentor, who, clubs)["strategy"] is None
    share(db, who)
    save(db, who, note="a second thought, not shared yet")

    seen = view(db, mentor, who, clubs)
    assert seen["mentor"] is True
    assert [v["number"] for v in seen["strategy"]["versions"]] == [1]
    assert view(db, logic_actor(ADMIN_A), who)["strategy"] is not None
    own = view(db, communicator_actor(who), who)
    assert own["mentor"] is False
    assert [v["status"] for v in own["strategy"]["versions"]] == ["draft", "shared"]

    for outsider, outsider_clubs in (
        (stranger, their_clubs),  # a coordinator of another club
        (communicator_actor(peer), frozenset()),  # a member of the same club
    ):
        with pytest.raises(CommunicatorNotFound):
            view(db, outsider, who, outsider_clubs)
    with pytest.raises(NotAllowed):
        view(db, logic_actor(FINANCE), who)
    with pytest.raises(NotAllowed):
        with db.session() as session, session.begin():
            strategies.strategies_to_mentor(session, logic_actor(FINANCE), frozenset())


def test_a_mentor_comments_the_author_revises_the_list_follows(db: Db) -> None:
    club = uuid.uuid4()
    who, elsewhere = add_communicator(db), add_communicator(db)
    in_club(db, who, club)
    in_club(db, elsewhere, uuid.uuid4())
    mentor, clubs = coordinator(club)
    save(db, who)
    with pytest.raises(InvalidTransition):  # nothing shared: nothing to discuss
        comment(db, mentor, who, "Looks good", clubs)
    share(db, who)
    save(db, elsewhere)
    share(db, elsewhere)

    def waiting(who_asks, asks_clubs):
        with db.session() as session, session.begin():
            return [
                (m["communicator_id"], m["version"])
                for m in strategies.strategies_to_mentor(
                    session, who_asks, asks_clubs, waiting_only=True
                )
            ]

    assert waiting(mentor, clubs) == [(who, 1)]  # their club only
    assert set(waiting(logic_actor(ADMIN_A), frozenset())) == {
        (who, 1),
        (elsewhere, 1),
    }
    said = comment(db, mentor, who, "Six months is ambitious: try three", clubs)
    assert said.by_mentor and said.version_number == 1
    assert said.mentor_role == "club_coordinator"  # the reader is told who wrote
    assert waiting(mentor, clubs) == []
    answer = comment(db, communicator_actor(who), who, "Agreed, revising")
    assert not answer.by_mentor and answer.mentor_role is None
    with pytest.raises(CommunicatorNotFound):
        comment(db, communicator_actor(elsewhere), who, "hello")

    save(db, who, horizon_months=3)
    share(db, who)
    assert waiting(mentor, clubs) == [(who, 2)]  # the revision waits again
    seen = view(db, communicator_actor(who), who)["strategy"]
    by_number = {v["number"]: v for v in seen["versions"]}
    assert [(c["body"], c["mentor_role"]) for c in by_number[1]["comments"]] == [
        ("Six months is ambitious: try three", "club_coordinator"),
        ("Agreed, revising", None),
    ]
    assert by_number[2]["comments"] == [] and seen["waiting_for_mentor"]

    # each share and each word of the discussion is announced, ids only: the
    # mentors' digest counts what waits, the author hears of a mentor's comment
    strategy_id = str(said.strategy_id)
    shared = [e["data"] for e in db.events("strategy.shared.v1")]
    assert [(d["communicator_id"], d["version"]) for d in shared] == [
        (str(who), 1),
        (str(elsewhere), 1),
        (str(who), 2),
    ]
    assert [
        (d["strategy_id"], d["communicator_id"], d["version"], d["by_mentor"])
        for d in (e["data"] for e in db.events("strategy.commented.v1"))
    ] == [(strategy_id, str(who), 1, True), (strategy_id, str(who), 1, False)]
    for event in db.events("strategy.commented.v1") + db.events("strategy.shared.v1"):
        assert "body" not in event["data"] and "note" not in event["data"]


def test_a_report_refers_to_the_shared_strategy_and_says_how_it_went(db: Db) -> None:
    who, volunteer = add_communicator(db), add_communicator(db, tier="volunteer")
    cycle_id = cycle(db)
    # before any strategy is shared, reports work as ever; saying how the cycle
    # went against a strategy one has not shared is refused, not dropped unread
    with db.session() as session, session.begin():
        with pytest.raises(InvalidRequest) as refused:
            reports.save_draft(
                session,
                communicator_actor(volunteer),
                cycle_id,
                report_content(strategy_progress="on_track", strategy_note="so-so"),
            )
        assert refused.value.code == "no_shared_strategy"
        assert set(refused.value.fields) == {"strategy_progress", "strategy_note"}
    assert db.sql("SELECT count(*) FROM activity_reports") == [(0,)]
    with db.session() as session, session.begin():
        plain = reports.save_draft(
            session, communicator_actor(volunteer), cycle_id, report_content()
        ).report
        assert plain.strategy_version_id is None and plain.strategy_progress is None
        reports.submit_report(session, communicator_actor(volunteer), plain.id, NOW)
    save(db, who)
    shared = share(db, who)
    with db.session() as session, session.begin():
        report = reports.save_draft(
            session, communicator_actor(who), cycle_id, report_content()
        ).report
        assert report.strategy_version_id == shared.id
        report_id = report.id
    with pytest.raises(InvalidRequest) as refused:
        with db.session() as session, session.begin():
            reports.submit_report(session, communicator_actor(who), report_id, NOW)
    assert refused.value.fields == {"strategy_progress": ["required"]}
    with db.session() as session, session.begin():
        reports.edit_report(
            session,
            communicator_actor(who),
            report_id,
            report_content(
                strategy_progress="partly", strategy_note="Mother, yes; uncle, no"
            ),
            NOW,
        )
        done = reports.submit_report(session, communicator_actor(who), report_id, NOW)
        assert done.status == "submitted" and done.strategy_progress == "partly"
        assert done.strategy_note == "Mother, yes; uncle, no"


def submitted_report(db: Db, who: uuid.UUID) -> uuid.UUID:
    cycle_id = cycle(db)
    with db.session() as session, session.begin():
        report = reports.save_draft(
            session, communicator_actor(who), cycle_id, report_content()
        ).report
        reports.submit_report(session, communicator_actor(who), report.id, NOW)
        return report.id


def feedback(db: Db, who, report_id: uuid.UUID, body: str, clubs=frozenset()):
    with db.session() as session, session.begin():
        return report_feedback.give_report_feedback(
            session, who, report_id, body, clubs
        )[0]


def threads(db: Db, who, target: uuid.UUID, clubs=frozenset()):
    with db.session() as session, session.begin():
        return report_feedback.report_threads(session, who, target, clubs)


def test_feedback_on_a_report_only_its_author_and_mentors_see(db: Db) -> None:
    club = uuid.uuid4()
    who, peer = add_communicator(db), add_communicator(db)
    in_club(db, who, club)
    in_club(db, peer, club)
    report_id = submitted_report(db, who)
    mentor, clubs = coordinator(club)
    author = communicator_actor(who)

    with pytest.raises(InvalidTransition) as refused:
        feedback(db, author, report_id, "Any thoughts?")
    assert refused.value.code == "feedback_not_opened"
    given = feedback(db, mentor, report_id, "Try asking before telling", clubs)
    assert given.by_mentor and given.mentor_role == "club_coordinator"
    answer = feedback(db, author, report_id, "I will, thank you")
    assert not answer.by_mentor and answer.mentor_role is None

    # the mentor's word and the author's answer, each told (ids only)
    mentors_word, authors_answer = db.events("report.feedback_given.v1")
    assert mentors_word["data"] == {
        "report_id": str(report_id),
        "communicator_id": str(who),
        "feedback_id": str(given.id),
        "by_mentor": True,
        "admin_mentors": [],
    }
    assert authors_answer["data"] == {
        "report_id": str(report_id),
        "communicator_id": str(who),
        "feedback_id": str(answer.id),
        "by_mentor": False,
        "admin_mentors": [],  # a coordinator wrote: the registry names them
    }
    for event in (mentors_word, authors_answer):  # no text on the bus
        assert "asking" not in json.dumps(event) and "thank" not in json.dumps(event)

    for reader, reader_clubs in ((author, frozenset()), (mentor, clubs)):
        (thread,) = threads(db, reader, who, reader_clubs)["reports"]
        assert [(m["body"], m["mentor_role"]) for m in thread["feedback"]] == [
            ("Try asking before telling", "club_coordinator"),
            ("I will, thank you", None),
        ]
    stranger, their_clubs = coordinator(uuid.uuid4())
    for outsider, outsider_clubs in (
        (communicator_actor(peer), frozenset()),
        (stranger, their_clubs),
    ):
        with pytest.raises(CommunicatorNotFound):
            threads(db, outsider, who, outsider_clubs)
        with pytest.raises(ReportNotFound):
            feedback(db, outsider, report_id, "me too", outsider_clubs)
    with pytest.raises(NotAllowed):
        threads(db, logic_actor(FINANCE), who)
    assert len(db.sql("SELECT 1 FROM report_feedback")) == 2


def test_erasure_blanks_strategies_comments_and_feedback(db: Db) -> None:
    club = uuid.uuid4()
    who = add_communicator(db)
    in_club(db, who, club)
    mentor, clubs = coordinator(club)
    save(db, who)
    share(db, who)
    save(db, who, note="draft words")
    comment(db, mentor, who, "Mentor words about her aunt", clubs)
    cycle_id = cycle(db)
    with db.session() as session, session.begin():
        report = reports.save_draft(
            session,
            communicator_actor(who),
            cycle_id,
            report_content(strategy_progress="on_track", strategy_note="Aunt calls"),
        ).report
        reports.submit_report(session, communicator_actor(who), report.id, NOW)
    feedback(db, mentor, report.id, "Your aunt sounds ready", clubs)
    feedback(db, communicator_actor(who), report.id, "She is")
    other = add_communicator(db)
    save(db, other)  # someone else's words stay

    with db.session() as session, session.begin():
        readmodel.registry_changed(
            session, "communicator.erased.v1", {"communicator_id": who}
        )

    words = db.sql(
        "SELECT v.note, v.expected_change, v.topics FROM strategy_versions v "
        "JOIN strategies s ON s.id = v.strategy_id WHERE s.communicator_id = :i",
        i=who,
    )
    assert len(words) == 2 and all(tuple(w) == ("", "", []) for w in words)
    assert db.sql("SELECT body FROM strategy_comments") == [("",)]
    assert [r[0] for r in db.sql("SELECT body FROM report_feedback")] == ["", ""]
    assert db.sql(
        "SELECT strategy_note, strategy_progress FROM activity_reports WHERE id = :i",
        i=report.id,
    ) == [(None, "on_track")]
    kept = db.sql(
        "SELECT v.note FROM strategy_versions v JOIN strategies s "
        "ON s.id = v.strategy_id WHERE s.communicator_id = :i",
        i=other,
    )
    assert kept == [(NOTE,)]
    with pytest.raises(CommunicatorNotFound):  # and nobody reads them any more
        view(db, logic_actor(ADMIN_A), who)


def test_a_mentor_s_words_carry_the_role_they_were_written_in(db: Db) -> None:
    """A programme admin writes as an admin; someone who coordinates the member's
    club writes as their coordinator, even if also an admin; an admin who
    coordinates another club writes as an admin."""
    club = uuid.uuid4()
    who = add_communicator(db)
    in_club(db, who, club)
    report_id = submitted_report(db, who)
    save(db, who)
    share(db, who)
    both = logic_actor(actor(["program_admin", "club_coordinator"]))
    for writer, clubs, role in (
        (logic_actor(ADMIN_A), frozenset(), "program_admin"),
        (both, frozenset({club}), "club_coordinator"),
        (both, frozenset({uuid.uuid4()}), "program_admin"),
    ):
        assert comment(db, writer, who, "On the plan", clubs).mentor_role == role
        assert feedback(db, writer, report_id, "On it", clubs).mentor_role == role


def test_an_answer_names_the_admins_who_wrote_on_the_thread(db: Db) -> None:
    """A member in no club has no coordinator to hear of their answer: the
    programme admins who wrote on the thread do, so the event names them (ids
    only, each once); a mentor's own word names nobody."""
    who = add_communicator(db)  # in no club
    report_id = submitted_report(db, who)
    save(db, who)
    share(db, who)
    admin, other_admin = logic_actor(ADMIN_A), logic_actor(actor(["program_admin"]))
    author = communicator_actor(who)
    comment(db, admin, who, "On the plan")
    comment(db, other_admin, who, "And on the audience")
    comment(db, admin, who, "One more thing")
    comment(db, author, who, "Thank you both")
    feedback(db, admin, report_id, "A good month")
    feedback(db, author, report_id, "Thank you")

    both = sorted(str(a.id) for a in (admin, other_admin))
    commented = [e["data"] for e in db.events("strategy.commented.v1")]
    assert [(d["by_mentor"], d["admin_mentors"]) for d in commented] == [
        (True, []),
        (True, []),
        (True, []),
        (False, both),
    ]
    given = [e["data"] for e in db.events("report.feedback_given.v1")]
    assert [(d["by_mentor"], d["admin_mentors"]) for d in given] == [
        (True, []),
        (False, [str(admin.id)]),  # the report's thread, not the strategy's
    ]
