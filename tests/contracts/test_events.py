"""Event contracts. Every event version has a JSON sample in samples/ (the agreed
shape, documented in docs/events.md). The producer's schema dumps exactly the sample's
data; every consumer's schema loads it, and ignores a field added later."""

import importlib.util
import json
from pathlib import Path

import pytest
from marshmallow import Schema

import insights.schemas
import notifications.schemas
import registry.schemas
import stipends.schemas
from insights.events import PUBLISHED as INSIGHTS
from notifications.events import PUBLISHED as NOTIFICATIONS
from registry.events import PUBLISHED as REGISTRY
from stipends.events import PUBLISHED as STIPENDS
from svyaz.envelope import EnvelopeSchema, ReceivedEvent
from tests.conftest import ROOT

SAMPLES = Path(__file__).parent / "samples"
SAMPLED = sorted(p.name.removesuffix(".json") for p in SAMPLES.glob("*.json"))
PRODUCED = {
    spec.event_type: spec for spec in REGISTRY + STIPENDS + NOTIFICATIONS + INSIGHTS
}

# Each consumer's schema for each event it handles. A new handler adds its schema here.
CONSUMERS: dict[str, list[type[Schema]]] = {
    "communicator.applied.v1": [
        stipends.schemas.CommunicatorAppliedIn,
        notifications.schemas.CommunicatorAppliedIn,
    ],
    "communicator.activated.v1": [
        stipends.schemas.CommunicatorActivatedIn,
        notifications.schemas.CommunicatorIdIn,
        insights.schemas.CommunicatorActivatedIn,
    ],
    "communicator.suspended.v1": [
        stipends.schemas.CommunicatorIdIn,
        notifications.schemas.CommunicatorIdIn,
    ],
    "communicator.reinstated.v1": [
        stipends.schemas.CommunicatorIdIn,
        notifications.schemas.CommunicatorIdIn,
    ],
    "communicator.offboarded.v1": [
        stipends.schemas.CommunicatorIdIn,
        notifications.schemas.CommunicatorIdIn,
    ],
    "communicator.tier_changed.v1": [
        stipends.schemas.CommunicatorTierChangedIn,
        insights.schemas.CommunicatorTierChangedIn,
    ],
    "communicator.payout_ready.v1": [stipends.schemas.CommunicatorPayoutReadyIn],
    "communicator.erased.v1": [
        registry.schemas.ErasedEventSchema,
        stipends.schemas.CommunicatorIdIn,
        notifications.schemas.CommunicatorIdIn,
        insights.schemas.CommunicatorErasedIn,
    ],
    "communicator.rejected.v1": [notifications.schemas.CommunicatorIdIn],
    "communicator.payout_setup_needed.v1": [
        notifications.schemas.CommunicatorPayoutSetupNeededIn
    ],
    "report.submitted.v1": [
        notifications.schemas.ReportSubmittedIn,
        insights.schemas.ReportSubmittedIn,
    ],
    "report.reviewed.v1": [
        notifications.schemas.ReportReviewedIn,
        insights.schemas.ReportReviewedIn,
    ],
    "report.feedback_given.v1": [notifications.schemas.ReportFeedbackGivenIn],
    "strategy.shared.v1": [notifications.schemas.StrategySharedIn],
    "strategy.commented.v1": [notifications.schemas.StrategyCommentedIn],
    "stipend.proposed.v1": [notifications.schemas.StipendIn],
    "stipend.approved.v1": [
        notifications.schemas.StipendIn,
        insights.schemas.StipendApprovedIn,
    ],
    "stipend.rejected.v1": [notifications.schemas.StipendRejectedIn],
    "cycle.closed.v1": [notifications.schemas.CycleClosedIn],
    "cycle.opened.v1": [
        notifications.schemas.CycleOpenedIn,
        insights.schemas.CycleOpenedIn,
    ],
    "payout_run.built.v1": [notifications.schemas.RunBuiltIn],
    "payout_run.released.v1": [notifications.schemas.RunReleasedIn],
    "reconciliation.completed.v1": [
        notifications.schemas.ReconciliationCompletedIn,
        insights.schemas.ReconciliationCompletedIn,
    ],
    "account.password_reset_requested.v1": [
        notifications.schemas.PasswordResetRequestedIn
    ],
    "vouch.requested.v1": [notifications.schemas.VouchRequestedIn],
    "payout.paid.v1": [notifications.schemas.PayoutIn, insights.schemas.PayoutIn],
    "payout.receipt_resolved.v1": [notifications.schemas.ReceiptResolvedIn],
    "training.completed.v1": [
        stipends.schemas.TrainingCompletedIn,
        insights.schemas.TrainingCompletedIn,
    ],
    "communicator.club_changed.v1": [
        stipends.schemas.CommunicatorClubChangedIn,
        insights.schemas.CommunicatorClubChangedIn,
    ],
    "reconciliation.started.v1": [insights.schemas.ReconciliationStartedIn],
    "reconciliation.difference_resolved.v1": [insights.schemas.DifferenceResolvedIn],
    "programme.budget_changed.v1": [insights.schemas.ProgrammeBudgetChangedIn],
    "payout.failed.v1": [
        notifications.schemas.PayoutFailedIn,
        insights.schemas.PayoutFailedIn,
    ],
}


def sample(event_type: str) -> dict:
    return json.loads((SAMPLES / f"{event_type}.json").read_text())


def handlers() -> list[tuple[str, str, str, str]]:
    spec = importlib.util.spec_from_file_location(
        "generate", ROOT / "infra" / "rabbitmq" / "generate.py"
    )
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    return generate.collect()[0]


@pytest.mark.parametrize("event_type", SAMPLED)
def test_every_sample_is_a_well_formed_envelope(event_type: str) -> None:
    body = sample(event_type)
    assert EnvelopeSchema().load(body)["event_type"] == event_type


@pytest.mark.parametrize("event_type", sorted(PRODUCED))
def test_the_producer_dumps_the_sample(event_type: str) -> None:
    assert event_type in SAMPLED, f"add tests/contracts/samples/{event_type}.json"
    expected = sample(event_type)
    spec = PRODUCED[event_type]
    assert spec.producer == expected["producer"]
    assert spec.build("aggregate:1", **expected["data"]).data == expected["data"]


@pytest.mark.parametrize(
    ("event_type", "schema"),
    [(t, s) for t, schemas in CONSUMERS.items() for s in schemas],
    ids=lambda v: v if isinstance(v, str) else f"{v.__module__}.{v.__name__}",
)
def test_every_consumer_loads_the_sample(event_type: str, schema: type[Schema]) -> None:
    event = ReceivedEvent.load(sample(event_type), consumer="contract")
    assert schema().load(event.data)
    # an added optional field keeps the version: consumers must ignore it
    assert schema().load({**event.data, "added_in_a_later_release": True})


def test_every_handled_event_has_a_sample_and_its_consumers_listed() -> None:
    found = handlers()
    consumed = {event_type for _, _, _, event_type in found}
    assert consumed <= set(SAMPLED)
    assert consumed == set(CONSUMERS), "list each consumer's schema in CONSUMERS"
    for event_type in consumed:
        handling = [h for h in found if h[3] == event_type]
        assert len(CONSUMERS[event_type]) == len(handling), event_type


# Events a service handles that no service here publishes: none today. An event from
# outside Svyaz (a partner's system, say) would be listed here with where it comes from.
EXTERNAL: dict[str, str] = {}


def test_every_consumed_event_has_a_producer() -> None:
    consumed = {event_type for _, _, _, event_type in handlers()}
    orphans = consumed - set(PRODUCED) - set(EXTERNAL)
    assert not orphans, f"handled, never published (publish it or drop it): {orphans}"


def test_every_published_event_has_a_consumer() -> None:
    consumed = {event_type for _, _, _, event_type in handlers()}
    unheard = set(PRODUCED) - consumed
    assert not unheard, f"published, nobody handles it: {unheard}"


def test_every_sample_is_of_an_event_that_exists() -> None:
    assert set(SAMPLED) <= set(PRODUCED) | set(EXTERNAL)
