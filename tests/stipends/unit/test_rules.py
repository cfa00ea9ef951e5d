"""The rules that need no I/O: approval bands, cycle and report transitions, the
entitlement assessment, actors, the ledger's own balance check."""

import uuid

import pytest

from stipends.exceptions import InvalidRequest, InvalidTransition, NotAllowed
from stipends.logic.actors import Actor
from stipends.logic.entitlement import assess, money
from stipends.logic.programmes import DEFAULT_BANDS, check_bands
from stipends.models import ActivityReport, Communicator, Cycle, Programme
from tests.helpers import actor


def programme(**changes) -> Programme:
    values = {
        "currency": "EUR",
        "tier_amounts": {"professional": 30_000, "volunteer": 0},
        "min_accepted_reports": 2,
        "min_conversations": 5,
        "training_required": True,
        "approval_bands": DEFAULT_BANDS,
        **changes,
    }
    return Programme(**values)


def communicator(**changes) -> Communicator:
    values = {
        "id": uuid.uuid4(),
        "status": "active",
        "tier": "professional",
        "training_completed": True,
        "payout_ready": True,
        "destination_fingerprint": "ab" * 32,
        **changes,
    }
    return Communicator(**values)


def report(conversations: int = 6, status: str = "accepted", late: bool = False):
    return ActivityReport(conversations=conversations, status=status, late=late)


@pytest.mark.parametrize(
    ("amount", "needed"), [(1, 1), (30_000, 1), (30_001, 2), (10**9, 2)]
)
def test_default_bands_one_approver_up_to_300_two_above(amount, needed) -> None:
    assert programme().approvers_needed(amount) == needed


@pytest.mark.parametrize(
    "bands",
    [
        [],
        [{"up_to_minor": 100, "approvers": 1}],  # no open-ended band
        [{"up_to_minor": None, "approvers": 1}, {"up_to_minor": None, "approvers": 2}],
        [{"up_to_minor": 100, "approvers": 3}, {"up_to_minor": None, "approvers": 2}],
        [{"up_to_minor": None, "approvers": 0}],
    ],
)
def test_bad_bands_are_refused(bands) -> None:
    with pytest.raises(InvalidRequest):
        check_bands(bands)


def test_a_cycle_moves_open_closed_locked_only() -> None:
    cycle = Cycle(status="open")
    with pytest.raises(InvalidTransition):
        cycle.move_to("locked")
    cycle.move_to("closed")
    with pytest.raises(InvalidTransition) as err:
        cycle.require_open()
    assert err.value.code == "cycle_closed"
    cycle.move_to("locked")
    with pytest.raises(InvalidTransition):
        cycle.move_to("open")


def test_a_reviewed_report_is_final() -> None:
    for status in ("accepted", "rejected"):
        with pytest.raises(InvalidTransition):
            ActivityReport(status=status).move_to("submitted")
    with pytest.raises(InvalidTransition):
        ActivityReport(status="draft").move_to("accepted")


def test_assess_proposes_the_tier_amount_with_reasons() -> None:
    finding = assess(programme(), communicator(), [report(), report(late=True)])
    assert finding.eligible and finding.amount_minor == 30_000
    assert finding.reasons == [
        "status active",
        "payout destination set up",
        "tier professional: 300.00 EUR",
        "training completed",
        "2 accepted report(s) with at least 5 conversation(s); 2 needed",
        "1 of them submitted late",
    ]


@pytest.mark.parametrize(
    ("who", "reports", "why"),
    [
        ({"status": "suspended"}, None, "status is suspended"),
        ({"payout_ready": False}, None, "no payout destination"),
        ({"tier": "volunteer"}, None, "tier volunteer carries no stipend"),
        ({"training_completed": False}, None, "training not completed"),
        ({}, [report(), report(4)], "1 accepted report(s)"),
        ({}, [report(), report(status="submitted")], "1 accepted report(s)"),
        ({}, [], "0 accepted report(s)"),
    ],
)
def test_assess_says_why_not(who, reports, why) -> None:
    finding = assess(
        programme(),
        communicator(**who),
        [report(), report()] if reports is None else reports,
    )
    assert not finding.eligible and finding.amount_minor == 0
    (reason,) = [r for r in finding.reasons if r.startswith("not eligible")]
    assert why in reason


def test_training_is_not_needed_where_the_programme_does_not_ask() -> None:
    finding = assess(
        programme(training_required=False),
        communicator(training_completed=False),
        [report(), report()],
    )
    assert finding.eligible


def test_money_is_shown_in_major_units() -> None:
    assert money(30_000, "EUR") == "300.00 EUR" and money(5, "USD") == "0.05 USD"


def test_actors_are_checked() -> None:
    admin = Actor.load(actor(["program_admin"]))
    admin.require("program_admin", "finance")
    with pytest.raises(NotAllowed):
        admin.require("communicator")
    for bad in (
        None,
        {},
        {"id": "x", "roles": ["program_admin"]},
        {"id": str(uuid.uuid4()), "roles": ["program_admin"]},  # no assertion
        actor(["root"]),
    ):
        with pytest.raises(InvalidRequest):
            Actor.load(bad)


def test_report_content_is_validated_field_by_field() -> None:
    from marshmallow import ValidationError

    from stipends.schemas import ReportContentSchema

    with pytest.raises(ValidationError) as err:
        ReportContentSchema().load(
            {
                "conversations": -1,
                "audiences": ["neighbours"],
                "channels": [],
                "hours": 800,
                "observed_change": "huge",
                "narrative": "x" * 5001,
            }
        )
    assert set(err.value.messages) == {
        "conversations",
        "audiences",
        "channels",
        "hours",
        "observed_change",
        "narrative",
    }
