"""Vouching: a vouch counts only once the member named confirms it, in their own
console; pending, declined or expired it counts as none. The applicant is never told
whether the name they gave is a member's."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from svyaz.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.registry.integration.conftest import (
    ADMIN_A,
    ADMIN_B,
    Registry,
    actor_for,
    application,
)


def pseudonym_of(registry: Registry, ident: str) -> str:
    return registry.sql("SELECT pseudonym FROM communicators WHERE id = :i", i=ident)[
        0
    ][0]


def vouched(registry: Registry, **changes: Any) -> tuple[str, str, str]:
    """(voucher, applicant, vouch id): an applicant naming an active member."""
    voucher = registry.active()
    applicant = registry.applicant(
        referral=pseudonym_of(registry, voucher), city="Batumi", **changes
    )
    (request,) = registry.call("list_vouch_requests", actor_for(voucher))
    return voucher, applicant, request["id"]


def in_review(registry: Registry, applicant: str) -> None:
    registry.call("start_review", ADMIN_A, applicant, "complete application")


def test_a_pending_vouch_counts_as_none(registry: Registry) -> None:
    voucher, applicant, _ = vouched(registry)
    view = registry.call("get_application", ADMIN_A, applicant)
    assert view["approvals_needed"] == 2
    assert view["vouch"]["voucher"] == pseudonym_of(registry, voucher)
    assert (view["vouch"]["state"], view["vouch"]["counts"]) == ("pending", False)
    in_review(registry, applicant)
    assert registry.call("approve", ADMIN_A, applicant, "fine")["status"] == "in_review"
    assert registry.call("approve", ADMIN_B, applicant, "fine")["status"] == "active"


def test_a_confirmed_vouch_needs_one_admin(registry: Registry) -> None:
    voucher, applicant, vouch = vouched(registry)
    answered = registry.call("answer_vouch", actor_for(voucher), vouch, "confirm")
    assert answered == {"id": vouch, "state": "confirmed"}
    view = registry.call("get_application", ADMIN_A, applicant)
    assert (view["vouch"]["state"], view["approvals_needed"]) == ("confirmed", 1)
    in_review(registry, applicant)
    assert registry.call("approve", ADMIN_A, applicant, "vouched")["status"] == (
        "active"
    )
    (row,) = registry.sql("SELECT status FROM vouches WHERE id = :i", i=vouch)
    assert row.status == "confirmed"


def test_a_declined_vouch_counts_as_none_and_cannot_be_turned_round(
    registry: Registry,
) -> None:
    voucher, applicant, vouch = vouched(registry)
    registry.call("answer_vouch", actor_for(voucher), vouch, "decline")
    with pytest.raises(Conflict) as err:
        registry.call("answer_vouch", actor_for(voucher), vouch, "confirm")
    assert err.value.code == "vouch_not_pending"
    view = registry.call("get_application", ADMIN_A, applicant)
    assert (view["vouch"]["state"], view["approvals_needed"]) == ("declined", 2)


def test_a_confirmation_after_one_approval_lets_that_admin_finish(
    registry: Registry,
) -> None:
    voucher, applicant, vouch = vouched(registry)
    in_review(registry, applicant)
    assert registry.call("approve", ADMIN_A, applicant, "fine")["status"] == "in_review"
    with pytest.raises(Forbidden) as err:  # still pending: one admin is not enough
        registry.call("approve", ADMIN_A, applicant, "again")
    assert err.value.code == "second_slot"
    registry.call("answer_vouch", actor_for(voucher), vouch, "confirm")
    assert registry.call("approve", ADMIN_A, applicant, "vouch now confirmed")[
        "status"
    ] == ("active")


def test_nobody_but_the_member_named_can_answer(registry: Registry) -> None:
    voucher, applicant, vouch = vouched(registry)
    someone_else = registry.active()
    applicant_with_account = actor_for(applicant)
    for who in (actor_for(someone_else), applicant_with_account):
        for answer in ("confirm", "decline"):
            with pytest.raises(NotFound) as err:
                registry.call("answer_vouch", who, vouch, answer)
            assert err.value.code == "vouch_not_found"
    for who in (ADMIN_A, actor_for(someone_else, "club_coordinator")):
        with pytest.raises(Forbidden):
            registry.call("answer_vouch", who, vouch, "confirm")
    assert registry.call("list_vouch_requests", actor_for(someone_else)) == []
    assert registry.call("list_vouch_requests", applicant_with_account) == []
    assert registry.sql("SELECT status FROM vouches") == [("pending",)]
    assert registry.call("get_application", ADMIN_A, applicant)["approvals_needed"] == 2


def test_a_bad_answer_is_refused_and_changes_nothing(registry: Registry) -> None:
    voucher, _, vouch = vouched(registry)
    for vouch_id, answer in ((vouch, "maybe"), ("not-an-id", "confirm")):
        with pytest.raises(InvalidInput) as err:
            registry.call("answer_vouch", actor_for(voucher), vouch_id, answer)
        assert err.value.code == "invalid_input"
    assert registry.sql("SELECT status FROM vouches") == [("pending",)]


def test_the_member_sees_pseudonym_and_city_only_and_the_read_is_logged(
    registry: Registry,
) -> None:
    voucher, applicant, _ = vouched(registry, phone="+995 555 12 34 56")
    (request,) = registry.call("list_vouch_requests", actor_for(voucher))
    assert request["applicant"] == pseudonym_of(registry, applicant)
    assert (request["city"], request["state"], request["can_answer"]) == (
        "Batumi",
        "pending",
        True,
    )
    assert set(request) == {
        "id",
        "applicant",
        "city",
        "state",
        "requested_at",
        "expires_at",
        "decided_at",
        "can_answer",
    }
    log = registry.sql(
        "SELECT accessor, field, purpose FROM pii_access_log "
        "WHERE communicator_id = :i",
        i=applicant,
    )
    # one read per listing (vouched() listed once already), nothing else opened
    assert [tuple(r) for r in log] == [
        (f"communicator:{voucher}", "city", "vouch request")
    ] * 2
    status = registry.call("get_own_status", actor_for(voucher))
    assert status["vouch_requests"] == 1


def test_an_unknown_or_inactive_pseudonym_gets_the_same_answer_and_no_request(
    registry: Registry,
) -> None:
    suspended = registry.active()
    registry.call("suspend", ADMIN_A, suspended, "complaint")
    applied_only = registry.applicant()
    for referral in (
        "nobody_here",
        pseudonym_of(registry, suspended),
        pseudonym_of(registry, applied_only),
    ):
        answer = registry.call("apply", application(referral=referral))
        assert answer == {"status": "received"}
    assert registry.sql("SELECT count(*) FROM vouches") == [(0,)]
    assert registry.events("vouch.requested.v1") == []


def test_a_referral_in_two_alphabets_is_refused_as_no_pseudonym_can_be(
    registry: Registry,
) -> None:
    """Every pseudonym is in one alphabet: a referral mixing Latin and Cyrillic
    letters can be no one's, so the applicant is asked to type it again (as the API
    asks), not left believing someone was asked. Nothing is kept."""
    registry.active(pseudonym="Ivan_1")
    with pytest.raises(InvalidInput) as refused:
        registry.call("apply", application(referral="Ivаn_1"))  # a Cyrillic "а"
    assert set(refused.value.fields) == {"referral"}
    assert registry.sql("SELECT count(*) FROM communicators") == [(1,)]
    assert registry.sql("SELECT count(*) FROM vouches") == [(0,)]


def test_a_referral_is_found_whatever_its_case_and_the_event_has_ids_only(
    registry: Registry,
) -> None:
    voucher = registry.active(pseudonym="Наставник")
    applicant = registry.applicant(referral="НАСТАВНИК")
    (vouch_id, applicant_id) = registry.sql("SELECT id, applicant_id FROM vouches")[0]
    assert str(applicant_id) == applicant
    (event,) = registry.events("vouch.requested.v1")
    assert event["data"] == {"vouch_id": str(vouch_id), "voucher_id": voucher}


def test_a_stale_request_expires_and_counts_as_none(registry: Registry) -> None:
    voucher, applicant, vouch = vouched(registry)
    registry.sql(
        "UPDATE vouches SET expires_at = :t WHERE id = :i",
        t=datetime.now(UTC) - timedelta(seconds=1),
        i=vouch,
    )
    with pytest.raises(Conflict) as err:
        registry.call("answer_vouch", actor_for(voucher), vouch, "confirm")
    assert err.value.code == "vouch_not_pending"
    (request,) = registry.call("list_vouch_requests", actor_for(voucher))
    assert (request["state"], request["city"], request["can_answer"]) == (
        "expired",
        None,
        False,
    )
    assert registry.call("get_own_status", actor_for(voucher))["vouch_requests"] == 0
    view = registry.call("get_application", ADMIN_A, applicant)
    assert (view["vouch"]["state"], view["approvals_needed"]) == ("expired", 2)


def test_a_confirmed_vouch_stops_counting_when_the_member_is_suspended(
    registry: Registry,
) -> None:
    voucher, applicant, vouch = vouched(registry)
    registry.call("answer_vouch", actor_for(voucher), vouch, "confirm")
    registry.call("suspend", ADMIN_B, voucher, "complaint")
    view = registry.call("get_application", ADMIN_A, applicant)
    assert (view["vouch"]["state"], view["approvals_needed"]) == ("confirmed", 2)


def test_a_member_floods_no_further_than_the_limit(registry: Registry) -> None:
    voucher = registry.active()
    name = pseudonym_of(registry, voucher)
    for _ in range(11):
        registry.applicant(referral=name)
    assert registry.sql("SELECT count(*) FROM vouches") == [(10,)]


def test_rejected_flood_does_not_keep_a_real_applicants_request_out(
    registry: Registry,
) -> None:
    """Ten spam applications naming a member fill their quota only while undecided:
    once admins reject them, a real applicant's request is recorded again."""
    voucher = registry.active()
    name = pseudonym_of(registry, voucher)
    spam = [registry.applicant(referral=name) for _ in range(10)]
    for ident in spam:
        registry.call("reject", ADMIN_A, ident, "spam")
    real = registry.applicant(referral=name, city="Tbilisi")
    (request,) = registry.call("list_vouch_requests", actor_for(voucher))
    assert registry.sql(
        "SELECT applicant_id FROM vouches WHERE id = :i", i=request["id"]
    ) == [(uuid.UUID(real),)]


def test_erasure_takes_the_vouches_naming_the_person(registry: Registry) -> None:
    voucher, applicant, _ = vouched(registry)
    other_voucher, other_applicant, _ = vouched(registry)
    registry.call("erase", actor_for(applicant), applicant, "erase me")
    registry.call("erase", actor_for(other_voucher), other_voucher, "erase me")
    assert registry.sql("SELECT count(*) FROM vouches") == [(0,)]
    assert registry.call("list_vouch_requests", actor_for(voucher)) == []
    view = registry.call("get_application", ADMIN_A, other_applicant)
    assert (view["vouch"], view["approvals_needed"]) == (None, 2)
