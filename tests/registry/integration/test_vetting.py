"""Every vetting transition and every refusal, against PostgreSQL."""

from typing import Any

import pytest
import sqlalchemy.exc

from svyaz.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.registry.integration.conftest import (
    ADMIN_A,
    ADMIN_B,
    FINANCE,
    Registry,
    actor_for,
)


def status(registry: Registry, ident: str) -> str:
    return registry.sql("SELECT status FROM communicators WHERE id = :i", i=ident)[0][0]


def event_types(registry: Registry, ident: str) -> list[str]:
    return [
        e["event_type"]
        for e in registry.events()
        if e["data"].get("communicator_id") == ident
    ]


def test_an_unvouched_applicant_needs_two_distinct_admins(registry: Registry) -> None:
    ident = registry.applicant(country="DE")
    registry.call("start_review", ADMIN_A, ident, "documents complete")
    assert registry.call("approve", ADMIN_A, ident, "fine")["status"] == "in_review"
    with pytest.raises(Forbidden) as err:
        registry.call("approve", ADMIN_A, ident, "again")
    assert err.value.code == "second_slot"
    assert registry.call("approve", ADMIN_B, ident, "fine too")["status"] == "active"
    assert event_types(registry, ident) == [
        "communicator.applied.v1",
        "communicator.activated.v1",
        "communicator.payout_setup_needed.v1",
    ]
    setup = registry.events("communicator.payout_setup_needed.v1")[-1]
    assert setup["data"]["provider"] == "stripe_connect"  # Germany: Connect
    decisions = registry.sql(
        "SELECT from_status, to_status, reason FROM vetting_decisions "
        "WHERE communicator_id = :i ORDER BY id",
        i=ident,
    )
    assert [tuple(d) for d in decisions] == [
        ("applied", "in_review", "documents complete"),
        ("in_review", "active", "fine too"),
    ]


def test_rejection_suspension_reinstatement_and_offboarding(registry: Registry) -> None:
    early = registry.applicant()
    assert registry.call("reject", ADMIN_A, early, "not eligible")["status"] == (
        "rejected"
    )
    late = registry.applicant()
    registry.call("start_review", ADMIN_A, late, "looking")
    assert registry.call("reject", ADMIN_B, late, "not now")["status"] == "rejected"

    ident = registry.active()
    assert registry.call("suspend", ADMIN_A, ident, "complaint")["status"] == (
        "suspended"
    )
    assert registry.call("reinstate", ADMIN_B, ident, "cleared")["status"] == "active"
    assert registry.call("offboard", ADMIN_A, ident, "moved on")["status"] == (
        "offboarded"
    )
    assert event_types(registry, ident)[-3:] == [
        "communicator.suspended.v1",
        "communicator.reinstated.v1",
        "communicator.offboarded.v1",
    ]
    assert event_types(registry, early)[-1] == "communicator.rejected.v1"


@pytest.mark.parametrize(
    ("setup", "step", "code"),
    [
        ("applied", "approve", "not_in_review"),
        ("applied", "suspend", "invalid_transition"),
        ("applied", "offboard", "invalid_transition"),
        ("active", "reinstate", "not_suspended"),
        ("active", "start_review", "invalid_transition"),
        ("rejected", "start_review", "invalid_transition"),
        ("rejected", "approve", "not_in_review"),
        ("offboarded", "reinstate", "not_suspended"),
        ("offboarded", "suspend", "invalid_transition"),
    ],
)
def test_steps_out_of_order_are_refused_and_change_nothing(
    registry: Registry, setup: str, step: str, code: str
) -> None:
    ident = (
        registry.applicant() if setup in ("applied", "rejected") else registry.active()
    )
    if setup == "rejected":
        registry.call("reject", ADMIN_A, ident, "not now")
    if setup == "offboarded":
        registry.call("offboard", ADMIN_A, ident, "left")
    before = (status(registry, ident), len(registry.events()))
    with pytest.raises(Conflict) as err:
        registry.call(step, ADMIN_B, ident, "try")
    assert err.value.code == code
    assert (status(registry, ident), len(registry.events())) == before


@pytest.mark.parametrize("actor", [FINANCE, {"id": None, "roles": ["communicator"]}])
def test_only_program_admins_vet(registry: Registry, actor: dict[str, Any]) -> None:
    ident = registry.applicant()
    who = actor if actor["id"] else actor_for(ident)  # even the applicant themself
    with pytest.raises(Forbidden):
        registry.call("start_review", who, ident, "let me in")
    assert status(registry, ident) == "applied"


def test_a_reason_is_required_and_unknown_ids_are_not_found(registry: Registry) -> None:
    ident = registry.applicant()
    with pytest.raises(InvalidInput) as err:
        registry.call("start_review", ADMIN_A, ident, "")
    assert "reason" in err.value.fields
    with pytest.raises(NotFound):
        registry.call(
            "start_review", ADMIN_A, "00000000-0000-4000-8000-000000000000", "hmm, who"
        )
    with pytest.raises(InvalidInput):
        registry.call(
            "start_review", {"id": "x", "roles": ["program_admin"]}, ident, "bad actor"
        )


def test_a_dedup_signal_holds_activation_until_an_admin_resolves_it(
    registry: Registry,
) -> None:
    first = registry.applicant(email="same.person@example.org")
    second = registry.applicant(email="Same.Person@example.org")
    registry.call("start_review", ADMIN_A, second, "check")
    with pytest.raises(Conflict) as err:
        registry.call("approve", ADMIN_A, second, "looks fine")
    assert err.value.code == "open_review_items"
    (item,) = registry.call("list_review_items", ADMIN_A)
    assert item["kind"] == "email"
    with pytest.raises(Forbidden):
        registry.call("resolve_review_item", FINANCE, item["id"], "distinct", "nope")
    resolved = registry.call(
        "resolve_review_item",
        ADMIN_B,
        item["id"],
        "distinct",
        "siblings sharing a mailbox",
    )
    assert resolved["status"] == "distinct"
    with pytest.raises(Conflict):
        registry.call(
            "resolve_review_item", ADMIN_B, item["id"], "same_person", "changed my mind"
        )
    registry.call("approve", ADMIN_A, second, "looks fine")
    assert registry.call("approve", ADMIN_B, second, "looks fine")["status"] == "active"
    assert status(registry, first) == "applied"


def test_vetting_decisions_are_insert_only(registry: Registry) -> None:
    ident = registry.applicant()
    registry.call("start_review", ADMIN_A, ident, "documents complete")
    with pytest.raises(sqlalchemy.exc.InternalError, match="insert-only"):
        registry.sql("UPDATE vetting_decisions SET reason = 'rewritten'")
    with pytest.raises(sqlalchemy.exc.InternalError, match="insert-only"):
        registry.sql("DELETE FROM vetting_decisions")
