"""Clubs, trainings and the professional tier."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy.exc import DBAPIError

from registry import events
from svyaz.envelope import ReceivedEvent
from svyaz.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.helpers import ROOT, actor
from tests.registry.integration.conftest import (
    ADMIN_A,
    FINANCE,
    Registry,
    actor_for,
    application,
)


def pseudonym(registry: Registry, ident: str) -> str:
    return registry.sql("SELECT pseudonym FROM communicators WHERE id = :i", i=ident)[
        0
    ][0]


def test_a_coordinator_sees_the_pseudonyms_of_their_own_club_only(
    registry: Registry,
) -> None:
    coordinator = registry.active()
    club = registry.call(
        "create_club",
        ADMIN_A,
        {
            "name": "Tbilisi Tuesdays",
            "country": "GE",
            "city": "Tbilisi",
            "mode": "offline",
            "coordinator": pseudonym(registry, coordinator),
        },
    )
    other = registry.call(
        "create_club",
        ADMIN_A,
        {"name": "Online Evenings", "country": "DE", "mode": "online"},
    )
    member = registry.active(club_id=club["id"])
    registry.applicant(club_id=club["id"])  # not yet a member: still applying

    as_coordinator = actor_for(coordinator, "club_coordinator")
    assert registry.call("club_members", as_coordinator, club["id"]) == [
        pseudonym(registry, member)
    ]
    with pytest.raises(Forbidden):
        registry.call("club_members", as_coordinator, other["id"])
    with pytest.raises(Forbidden):
        registry.call("club_members", actor_for(member), club["id"])
    assert {c["name"] for c in registry.call("list_clubs")} == {
        "Tbilisi Tuesdays",
        "Online Evenings",
    }


def test_clubs_are_created_by_admins_with_checked_fields(registry: Registry) -> None:
    with pytest.raises(Forbidden):
        registry.call(
            "create_club",
            FINANCE,
            {"name": "X club", "country": "GE", "mode": "online"},
        )
    with pytest.raises(InvalidInput) as err:
        registry.call(
            "create_club",
            ADMIN_A,
            {"name": "X club", "country": "GE", "mode": "by pigeon"},
        )
    assert "mode" in err.value.fields
    with pytest.raises(InvalidInput) as err:
        registry.call(
            "create_club",
            ADMIN_A,
            {
                "name": "X club",
                "country": "GE",
                "mode": "online",
                "coordinator": "ghost_user",
            },
        )
    assert err.value.fields == {
        "coordinator": ["no active communicator has this pseudonym"]
    }
    assert registry.sql("SELECT count(*) FROM clubs")[0][0] == 0


def test_the_professional_tier_needs_a_training_and_an_admin(
    registry: Registry,
) -> None:
    ident = registry.active()
    with pytest.raises(Conflict) as err:
        registry.call("set_tier", ADMIN_A, ident, "professional", "great work")
    assert err.value.code == "training_required"

    training = registry.call(
        "create_training",
        ADMIN_A,
        {"title": "Talking to relatives about the war", "held_on": "2026-11-01"},
    )
    with pytest.raises(Forbidden):
        registry.call(
            "record_training_completion", actor_for(ident), training["id"], ident
        )
    registry.call("record_training_completion", ADMIN_A, training["id"], ident)
    with pytest.raises(Forbidden):
        registry.call("set_tier", actor_for(ident), ident, "professional", "me!")
    result = registry.call("set_tier", ADMIN_A, ident, "professional", "great work")
    assert result["tier"] == "professional"
    (event,) = registry.events("communicator.tier_changed.v1")
    assert event["data"] == {
        "communicator_id": ident,
        "tier": "professional",
        "training_completed": True,
    }


def test_an_applicant_cannot_become_professional(registry: Registry) -> None:
    ident = registry.applicant()
    training = registry.call(
        "create_training", ADMIN_A, {"title": "Basics", "held_on": "2026-10-01"}
    )
    with pytest.raises(Conflict) as early:  # nor record a training yet
        registry.call("record_training_completion", ADMIN_A, training["id"], ident)
    assert early.value.code == "not_active"
    with pytest.raises(Conflict) as err:
        registry.call("set_tier", ADMIN_A, ident, "professional", "eager")
    assert err.value.code == "not_active"


# -- editing clubs and choosing their coordinators ----------------------------------
PASSWORD = "a long enough passphrase"


def staff(registry: Registry, roles: list[str]) -> str:
    account = registry.call(
        "create_staff_account",
        ADMIN_A,
        {
            "email": f"staff.{uuid.uuid4().hex[:8]}@example.org",
            "roles": roles,
            "password": PASSWORD,
        },
    )
    return str(account["id"])


def club(registry: Registry, name: str = "Yerevan Readers") -> dict[str, Any]:
    return dict(
        registry.call(
            "create_club",
            ADMIN_A,
            {"name": name, "country": "AM", "city": "Yerevan", "mode": "offline"},
        )
    )


def test_an_admin_edits_a_club(registry: Registry) -> None:
    made = club(registry)
    club(registry, "Taken Name")
    changed = registry.call(
        "update_club", ADMIN_A, made["id"], {"mode": "online", "city": None}
    )
    assert changed == {**made, "mode": "online", "city": None}
    changed = registry.call(
        "update_club", ADMIN_A, made["id"], {"name": "Yerevan Online", "country": "DE"}
    )
    assert (changed["name"], changed["country"]) == ("Yerevan Online", "DE")
    listed = {c["id"]: c for c in registry.call("list_clubs")}
    assert listed[made["id"]] == changed

    with pytest.raises(InvalidInput) as err:
        registry.call("update_club", ADMIN_A, made["id"], {"name": "Taken Name"})
    assert err.value.code == "club_name_taken"
    with pytest.raises(InvalidInput) as err:
        registry.call("update_club", ADMIN_A, made["id"], {"mode": "by pigeon"})
    assert "mode" in err.value.fields
    with pytest.raises(InvalidInput) as err:
        registry.call("update_club", ADMIN_A, made["id"], {})
    assert "changes" in err.value.fields
    with pytest.raises(InvalidInput):  # unknown fields are refused, not ignored
        registry.call("update_club", ADMIN_A, made["id"], {"coordinator_id": "x"})
    with pytest.raises(NotFound) as err:
        registry.call("update_club", ADMIN_A, str(uuid.uuid4()), {"mode": "online"})
    assert err.value.code == "club_not_found"
    with pytest.raises(Forbidden):
        registry.call("update_club", FINANCE, made["id"], {"mode": "offline"})
    assert registry.sql("SELECT name, mode FROM clubs WHERE id = :i", i=made["id"]) == [
        ("Yerevan Online", "online")
    ]


def test_a_coordinator_is_an_active_staff_account_with_the_role(
    registry: Registry,
) -> None:
    made = club(registry)
    coordinator = staff(registry, ["club_coordinator"])
    result = registry.call("set_club_coordinator", ADMIN_A, made["id"], coordinator)
    assert result["coordinator_id"] == coordinator
    (listed,) = [c for c in registry.call("list_clubs") if c["id"] == made["id"]]
    assert listed["coordinator_id"] == coordinator
    # the coordinator now sees the club's members
    assert (
        registry.call(
            "club_members", actor(["club_coordinator"], coordinator), made["id"]
        )
        == []
    )

    finance = staff(registry, ["finance"])
    disabled = staff(registry, ["club_coordinator"])
    registry.call("disable_staff", ADMIN_A, disabled)
    invited = registry.call(
        "invite_staff",
        ADMIN_A,
        {"email": "invitee@example.org", "roles": ["club_coordinator"]},
    )["id"]
    member = registry.active(password=PASSWORD)  # a communicator's own account
    for account, code in (
        (finance, "coordinator_role_missing"),
        (disabled, "coordinator_disabled"),
        (invited, "coordinator_not_active"),
        (member, "coordinator_not_staff"),
    ):
        with pytest.raises(InvalidInput) as err:
            registry.call("set_club_coordinator", ADMIN_A, made["id"], account)
        assert err.value.code == code
        assert list(err.value.fields) == ["account_id"]
    with pytest.raises(NotFound) as err:
        registry.call("set_club_coordinator", ADMIN_A, made["id"], str(uuid.uuid4()))
    assert err.value.code == "staff_not_found"
    with pytest.raises(Forbidden):
        registry.call(
            "set_club_coordinator",
            actor(["club_coordinator"], coordinator),
            made["id"],
            coordinator,
        )
    assert registry.sql(
        "SELECT coordinator_id::text FROM clubs WHERE id = :i", i=made["id"]
    ) == [(coordinator,)]

    removed = registry.call("remove_club_coordinator", ADMIN_A, made["id"])
    assert removed["coordinator_id"] is None
    with pytest.raises(Forbidden):
        registry.call(
            "club_members", actor(["club_coordinator"], coordinator), made["id"]
        )
    # a staff account keeps the role it was invited with
    assert registry.sql("SELECT roles FROM accounts WHERE id = :i", i=coordinator) == [
        ("club_coordinator",)
    ]


def test_a_communicator_coordinator_replaced_loses_the_role(
    registry: Registry,
) -> None:
    old = registry.active(password=PASSWORD)
    made = registry.call(
        "create_club",
        ADMIN_A,
        {
            "name": "Almaty Mornings",
            "country": "KZ",
            "mode": "offline",
            "coordinator": pseudonym(registry, old).upper(),  # any case finds them
        },
    )
    assert made["coordinator_id"] == old
    roles = "SELECT roles FROM accounts WHERE id = :i"
    assert registry.sql(roles, i=old) == [("club_coordinator,communicator",)]
    registry.call(
        "set_club_coordinator",
        ADMIN_A,
        made["id"],
        staff(registry, ["club_coordinator"]),
    )
    assert registry.sql(roles, i=old) == [("communicator",)]


# -- trainings: completions in bulk --------------------------------------------------
def test_an_admin_records_completions_in_bulk(registry: Registry) -> None:
    training = registry.call(
        "create_training", ADMIN_A, {"title": "Listening", "held_on": "2026-11-02"}
    )
    first, second, applying = (
        registry.active(),
        registry.active(),
        registry.applicant(),
    )
    registry.call("record_training_completion", ADMIN_A, training["id"], first)
    with pytest.raises(Conflict) as early:  # not taking part yet: refused alone too
        registry.call("record_training_completion", ADMIN_A, training["id"], applying)
    assert early.value.code == "not_active"
    erased = registry.active()
    registry.call("erase", ADMIN_A, erased, "asked to be forgotten")
    unknown = str(uuid.uuid4())
    result = registry.call(
        "record_training_completions",
        ADMIN_A,
        training["id"],
        [first, second, second, unknown, erased, applying, "not-an-id"],
    )
    assert result["recorded"] == 1 and result["already"] == 1
    assert [(r["communicator_id"], r["code"]) for r in result["refused"]] == [
        ("not-an-id", "invalid_id"),
        (unknown, "unknown_communicator"),
        (erased, "unknown_communicator"),
        (applying, "not_active"),
    ]
    assert all(r["message"] for r in result["refused"])
    assert sorted(
        r[0]
        for r in registry.sql("SELECT communicator_id::text FROM training_completions")
    ) == sorted([first, second])
    # each completion newly recorded is announced once (insights counts them)
    announced = [
        (e["data"]["training_id"], e["data"]["communicator_id"])
        for e in registry.events("training.completed.v1")
    ]
    assert sorted(announced) == sorted(
        [(training["id"], first), (training["id"], second)]
    )
    (listed,) = registry.call("list_trainings", ADMIN_A)
    assert listed == {
        "id": training["id"],
        "title": "Listening",
        "held_on": "2026-11-02",
        "club_id": None,
        "completions": 2,
    }


def test_bulk_completions_are_bounded(registry: Registry) -> None:
    training = registry.call(
        "create_training", ADMIN_A, {"title": "Limits", "held_on": "2026-11-03"}
    )
    for ids in ([], [str(uuid.uuid4()) for _ in range(501)]):
        with pytest.raises(InvalidInput) as err:
            registry.call("record_training_completions", ADMIN_A, training["id"], ids)
        assert "communicator_ids" in err.value.fields
    with pytest.raises(NotFound) as err:
        registry.call(
            "record_training_completions",
            ADMIN_A,
            str(uuid.uuid4()),
            [str(uuid.uuid4())],
        )
    assert err.value.code == "training_not_found"
    many = [str(uuid.uuid4()) for _ in range(500)]
    result = registry.call("record_training_completions", ADMIN_A, training["id"], many)
    assert (result["recorded"], len(result["refused"])) == (0, 500)


def test_a_training_is_completed_only_once_it_is_held(registry: Registry) -> None:
    """A seminar may be planned ahead, but nobody has completed it yet (it would
    open the professional tier); a day no record can have is refused."""
    member = registry.active()
    ahead = (datetime.now(UTC).date() + timedelta(days=10)).isoformat()
    planned = registry.call(
        "create_training", ADMIN_A, {"title": "Next month", "held_on": ahead}
    )
    with pytest.raises(Conflict) as early:
        registry.call("record_training_completions", ADMIN_A, planned["id"], [member])
    assert early.value.code == "training_not_held"
    assert registry.sql("SELECT count(*) FROM training_completions") == [(0,)]
    for typo in ("1900-01-01", "2206-01-01"):
        with pytest.raises(InvalidInput) as wrong:
            registry.call(
                "create_training", ADMIN_A, {"title": "Typo", "held_on": typo}
            )
        assert set(wrong.value.fields) == {"held_on"}


def test_a_coordinator_records_completions_of_their_own_members_only(
    registry: Registry,
) -> None:
    made = club(registry)
    other = club(registry, "Elsewhere")
    coordinator = staff(registry, ["club_coordinator"])
    registry.call("set_club_coordinator", ADMIN_A, made["id"], coordinator)
    as_coordinator = actor(["club_coordinator"], coordinator)
    ours = registry.call(
        "create_training",
        ADMIN_A,
        {"title": "Club seminar", "held_on": "2026-11-04", "club_id": made["id"]},
    )
    theirs = registry.call(
        "create_training",
        ADMIN_A,
        {"title": "Their seminar", "held_on": "2026-11-05", "club_id": other["id"]},
    )
    everyone = registry.call(
        "create_training", ADMIN_A, {"title": "For all", "held_on": "2026-11-06"}
    )
    member = registry.active(club_id=made["id"])
    applicant = registry.applicant(club_id=made["id"])
    outsider = registry.active(club_id=other["id"])
    unknown = str(uuid.uuid4())

    result = registry.call(
        "record_training_completions",
        as_coordinator,
        ours["id"],
        [member, applicant, outsider, unknown],
    )
    assert (result["recorded"], result["already"]) == (1, 0)
    refused = {r["communicator_id"]: r for r in result["refused"]}
    assert {k: r["code"] for k, r in refused.items()} == {
        applicant: "not_member",
        outsider: "not_member",
        unknown: "not_member",
    }
    # an unknown id and someone else's member get the very same answer
    assert len({r["message"] for r in refused.values()}) == 1

    with pytest.raises(Forbidden) as err:
        registry.call(
            "record_training_completions", as_coordinator, theirs["id"], [member]
        )
    assert err.value.code == "not_coordinator"
    # a training held for everyone: their own members, and only theirs
    for_all = registry.call(
        "record_training_completions",
        as_coordinator,
        everyone["id"],
        [member, outsider, unknown],
    )
    assert (for_all["recorded"], for_all["already"]) == (1, 0)
    assert {r["communicator_id"]: r["code"] for r in for_all["refused"]} == {
        outsider: "not_member",
        unknown: "not_member",
    }
    # a coordinator of no club records nobody's, even for everyone's training
    clubless = staff(registry, ["club_coordinator"])
    with pytest.raises(Forbidden) as err:
        registry.call(
            "record_training_completions",
            actor(["club_coordinator"], clubless),
            everyone["id"],
            [member],
        )
    assert err.value.code == "not_coordinator"
    with pytest.raises(Forbidden):
        registry.call(
            "record_training_completions", actor_for(member), ours["id"], [member]
        )
    counts = {t["id"]: t for t in registry.call("list_trainings", ADMIN_A)}
    assert counts[ours["id"]]["completions"] == 1
    assert counts[ours["id"]]["club_id"] == made["id"]
    assert counts[theirs["id"]]["completions"] == 0


def test_the_form_learns_who_completed_a_training_as_far_as_the_asker_may_know(
    registry: Registry,
) -> None:
    """training_completed_by: those of the ids who completed it. A coordinator
    hears only of their own clubs' members: someone else's who completed it reads
    as not completed, as an unknown id does."""
    made = club(registry)
    other = club(registry, "Elsewhere")
    coordinator = staff(registry, ["club_coordinator"])
    registry.call("set_club_coordinator", ADMIN_A, made["id"], coordinator)
    as_coordinator = actor(["club_coordinator"], coordinator)
    everyone = registry.call(
        "create_training", ADMIN_A, {"title": "For all", "held_on": "2026-11-06"}
    )
    member, waiting = (registry.active(club_id=made["id"]) for _ in range(2))
    outsider = registry.active(club_id=other["id"])
    registry.call(
        "record_training_completions", ADMIN_A, everyone["id"], [member, outsider]
    )
    asked = [member, waiting, outsider, str(uuid.uuid4()), "not-an-id"]
    assert registry.call(
        "training_completed_by", ADMIN_A, everyone["id"], asked
    ) == sorted([member, outsider])
    assert registry.call(
        "training_completed_by", as_coordinator, everyone["id"], asked
    ) == [member]
    with pytest.raises(Forbidden):
        registry.call("training_completed_by", actor_for(member), everyone["id"], asked)
    with pytest.raises(InvalidInput):
        registry.call("training_completed_by", ADMIN_A, everyone["id"], [member] * 501)


def test_a_coordinator_lists_their_members_with_ids_and_their_clubs_trainings(
    registry: Registry,
) -> None:
    """What the coordinator's completion form needs: members' ids (no personal
    field) and the trainings of their own club and those held for everyone,
    nothing of another club."""
    coordinator = registry.active()
    club = registry.call(
        "create_club",
        ADMIN_A,
        {
            "name": "Batumi Mondays",
            "country": "GE",
            "mode": "offline",
            "coordinator": pseudonym(registry, coordinator),
        },
    )
    other = registry.call(
        "create_club", ADMIN_A, {"name": "Far Away", "country": "DE", "mode": "online"}
    )
    member = registry.active(club_id=club["id"])
    registry.active(club_id=other["id"])
    own_training = registry.call(
        "create_training",
        ADMIN_A,
        {"title": "Own club", "held_on": "2026-11-03", "club_id": club["id"]},
    )
    registry.call(
        "create_training",
        ADMIN_A,
        {"title": "Other club", "held_on": "2026-11-04", "club_id": other["id"]},
    )
    registry.call(
        "create_training", ADMIN_A, {"title": "Everyone", "held_on": "2026-11-05"}
    )
    as_coordinator = actor_for(coordinator, "club_coordinator")
    assert registry.call("list_club_members", as_coordinator, club["id"]) == [
        {"id": member, "pseudonym": pseudonym(registry, member), "status": "active"}
    ]
    with pytest.raises(Forbidden):
        registry.call("list_club_members", as_coordinator, other["id"])
    with pytest.raises(NotFound):
        registry.call("list_club_members", ADMIN_A, str(uuid.uuid4()))
    # their club's and those held for everyone (newest first), not another club's
    assert [t["title"] for t in registry.call("list_trainings", as_coordinator)] == [
        "Everyone",
        "Own club",
    ]
    assert own_training["id"] in {
        t["id"] for t in registry.call("list_trainings", as_coordinator)
    }
    assert len(registry.call("list_trainings", ADMIN_A)) == 3
    with pytest.raises(Forbidden):
        registry.call("list_trainings", actor_for(member))


def test_activation_names_the_club_s_country_never_the_person_s(
    registry: Registry,
) -> None:
    """communicator.activated.v1 carries the club's country (shared by all its
    members) for the insights figures; the applicant's own country stays sealed."""
    club = registry.call(
        "create_club",
        ADMIN_A,
        {"name": "Tbilisi evenings", "country": "GE", "mode": "offline"},
    )
    member = registry.active(club_id=club["id"], country="AM")
    loner = registry.active(country="AM")
    by_person = {
        e["data"]["communicator_id"]: e["data"]
        for e in registry.events("communicator.activated.v1")
    }
    assert by_person[member]["club_country"] == "GE"
    assert by_person[loner]["club_country"] is None
    assert all("country" not in data for data in by_person.values())


def test_an_admin_puts_a_communicator_into_a_club_moves_them_and_takes_them_out(
    registry: Registry,
) -> None:
    """The coordinator's member list follows; each change is in the person's trail
    and, once they are active, announced (the club's country, never theirs)."""
    first = club(registry)
    second = club(registry, "Berlin Online")
    member = registry.active(country="DE")
    applicant = registry.applicant()

    moved = registry.call("set_communicator_club", ADMIN_A, member, first["id"])
    assert moved["club_id"] == first["id"]
    assert registry.call("club_members", ADMIN_A, first["id"]) == [
        pseudonym(registry, member)
    ]
    registry.call("set_communicator_club", ADMIN_A, member, first["id"])  # no change
    registry.call("set_communicator_club", ADMIN_A, member, second["id"])
    assert registry.call("club_members", ADMIN_A, first["id"]) == []
    registry.call("set_communicator_club", ADMIN_A, member, None)
    assert registry.call("club_members", ADMIN_A, second["id"]) == []

    announced = [
        e["data"]
        for e in registry.events("communicator.club_changed.v1")
        if e["data"]["communicator_id"] == member
    ]
    assert announced == [
        {"communicator_id": member, "club_id": first["id"], "club_country": "AM"},
        {"communicator_id": member, "club_id": second["id"], "club_country": "AM"},
        {"communicator_id": member, "club_id": None, "club_country": None},
    ]
    trail = [
        entry
        for entry in registry.call("get_communicator_activity", ADMIN_A, member)
        if entry["action"] == "club_changed"
    ]
    assert [entry["detail"]["club_id"] for entry in trail] == [
        first["id"],
        second["id"],
        None,
    ]
    assert {entry["actor_id"] for entry in trail} == {ADMIN_A["id"]}
    with pytest.raises(DBAPIError):  # the trail is insert-only
        registry.sql("DELETE FROM club_changes")

    # an applicant's club is announced by their activation, not before
    registry.call("set_communicator_club", ADMIN_A, applicant, second["id"])
    assert (
        registry.call("get_application", ADMIN_A, applicant)["club_id"]
        == (second["id"])
    )
    assert not [
        e
        for e in registry.events("communicator.club_changed.v1")
        if e["data"]["communicator_id"] == applicant
    ]

    # a club asked for in the application is on the trail, by the applicant
    asked = registry.applicant(club_id=first["id"])
    (entry,) = [
        e
        for e in registry.call("get_communicator_activity", ADMIN_A, asked)
        if e["action"] == "club_changed"
    ]
    assert (entry["detail"]["club_id"], entry["actor_id"]) == (first["id"], asked)


def test_club_membership_is_refused_clearly_and_changes_nothing(
    registry: Registry,
) -> None:
    made = club(registry)
    member = registry.active()
    with pytest.raises(Forbidden):
        registry.call("set_communicator_club", FINANCE, member, made["id"])
    with pytest.raises(Forbidden):
        registry.call("set_communicator_club", actor_for(member), member, made["id"])
    with pytest.raises(NotFound):
        registry.call("set_communicator_club", ADMIN_A, member, str(uuid.uuid4()))
    with pytest.raises(NotFound):
        registry.call("set_communicator_club", ADMIN_A, str(uuid.uuid4()), made["id"])
    with pytest.raises(InvalidInput):
        registry.call("set_communicator_club", ADMIN_A, member, "not-an-id")
    registry.call("offboard", ADMIN_A, member, "left the programme")
    with pytest.raises(Conflict) as refused:
        registry.call("set_communicator_club", ADMIN_A, member, made["id"])
    assert refused.value.code == "not_in_programme"
    assert registry.sql("SELECT count(*) FROM club_changes")[0][0] == 0
    assert not registry.events("communicator.club_changed.v1")


def test_migration_0016_announces_the_completions_recorded_before_it(
    registry: Registry,
) -> None:
    """Each completion of a person not erased, once more as training.completed.v1
    (stipends did not listen before), at the completion's own time, in an
    envelope a consumer takes."""
    trained, erased = registry.active(), registry.active()
    made = registry.call(
        "create_training", ADMIN_A, {"title": "Listening", "held_on": "2026-11-01"}
    )
    registry.call("record_training_completions", ADMIN_A, made["id"], [trained, erased])
    registry.call("erase", ADMIN_A, erased, "asked to be forgotten")
    before = {e["event_id"] for e in registry.events("training.completed.v1")}
    assert len(before) == 2  # as recorded

    alembic = AlembicConfig(str(ROOT / "services" / "registry" / "alembic.ini"))
    alembic.set_main_option(
        "sqlalchemy.url", registry.engine.url.render_as_string(hide_password=False)
    )
    command.downgrade(alembic, "0015")
    command.upgrade(alembic, "head")

    again = [
        e
        for e in registry.events("training.completed.v1")
        if e["event_id"] not in before
    ]
    assert [e["data"] for e in again] == [
        {"training_id": made["id"], "communicator_id": trained}
    ]
    (at,) = registry.sql(
        "SELECT at FROM training_completions WHERE communicator_id = :i", i=trained
    )[0]
    # as a consumer takes it (the relay sends the stored envelope as it is)
    received = ReceivedEvent.load(again[0], "stipends.on_training_completed")
    assert received.occurred_at == at and received.producer == "registry"
    assert events.TRAINING_COMPLETED.load(received.data)


def test_a_club_is_in_a_country_and_an_applicant_speaks_listed_languages(
    registry: Registry,
) -> None:
    """Two letters are not yet a country (ZZ is a placeholder), nor a language:
    refused by field, nothing kept."""
    with pytest.raises(InvalidInput) as err:
        registry.call(
            "create_club",
            ADMIN_A,
            {"name": "Nowhere", "country": "ZZ", "mode": "online"},
        )
    assert set(err.value.fields) == {"country"}
    with pytest.raises(InvalidInput) as err:
        registry.call("apply", application(languages=["ru", "xx"]))
    assert set(err.value.fields) == {"languages"}
    assert registry.sql("SELECT count(*) FROM clubs") == [(0,)]
    assert registry.sql("SELECT count(*) FROM communicators") == [(0,)]


def test_a_members_mentor_is_their_clubs_coordinator(registry: Registry) -> None:
    """What notifications asks when a member shares a strategy: ids and kinds
    only; nobody for a member with no club, a club with no coordinator, or a
    disabled coordinator."""
    coordinator = registry.active()
    theirs = registry.call(
        "create_club",
        ADMIN_A,
        {
            "name": "Batumi Evenings",
            "country": "GE",
            "city": "Batumi",
            "mode": "offline",
            "coordinator": pseudonym(registry, coordinator),
        },
    )
    member = registry.active(club_id=theirs["id"])
    loner = registry.active()

    def mentors(ident: str) -> list[dict[str, str]]:
        return list(registry.call("get_mentors", ident, caller="notifications"))

    assert mentors(member) == [{"id": coordinator, "kind": "communicator"}]
    assert mentors(loner) == []
    staffed = club(registry, "Yerevan Mentors")
    newcomer = registry.active(club_id=staffed["id"])
    assert mentors(newcomer) == []  # no coordinator yet
    account = staff(registry, ["club_coordinator"])
    registry.call("set_club_coordinator", ADMIN_A, staffed["id"], account)
    assert mentors(newcomer) == [{"id": account, "kind": "staff"}]
    registry.call("disable_staff", ADMIN_A, account)
    assert mentors(newcomer) == []
    with pytest.raises(InvalidInput):
        mentors("not-an-id")
