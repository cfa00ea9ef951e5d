"""Clubs, trainings and the professional tier."""

import pytest

from svyaz.errors import Conflict, Forbidden, InvalidInput
from tests.registry.integration.conftest import ADMIN_A, FINANCE, Registry, actor_for


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
    registry.call("record_training_completion", ADMIN_A, training["id"], ident)
    with pytest.raises(Conflict) as err:
        registry.call("set_tier", ADMIN_A, ident, "professional", "eager")
    assert err.value.code == "not_active"
