"""Events the stipends service publishes. Payloads carry ids and amounts only, never
personal data; the agreed shapes are the samples in tests/contracts/samples and
docs/events.md."""

from typing import Any

from marshmallow import Schema, fields, validate

from svyaz.envelope import Event, EventSpec
from svyaz.vocabulary import (
    OBSERVED_CHANGES,
    PAYOUT_FAILURE_REASONS,
    RECEIPT_RESOLUTIONS,
)

PRODUCER = "stipends"


class ReportFactsV1(Schema):
    """The report's figures, added (optional) for the insights read model: counts and
    codes from fixed lists only. Topics are free text, so only how many there are."""

    conversations = fields.Integer(validate=validate.Range(min=0))
    hours = fields.Integer(validate=validate.Range(min=0))
    audiences = fields.List(fields.String())
    channels = fields.List(fields.String())
    topics_count = fields.Integer(validate=validate.Range(min=0))
    observed_change = fields.String(validate=validate.OneOf(OBSERVED_CHANGES))


def report_facts(report: Any) -> dict[str, Any]:
    """The figures of an ActivityReport for ReportFactsV1 (no free text)."""
    return {
        "conversations": report.conversations,
        "hours": report.hours,
        "audiences": sorted(report.audiences or []),
        "channels": sorted(report.channels or []),
        "topics_count": len(report.topics or []),
        "observed_change": report.observed_change,
    }


class ReportSubmittedV1(ReportFactsV1):
    report_id = fields.UUID(required=True)
    communicator_id = fields.UUID(required=True)
    cycle_id = fields.UUID(required=True)
    late = fields.Boolean(required=True)


class ReportReviewedV1(ReportFactsV1):
    report_id = fields.UUID(required=True)
    communicator_id = fields.UUID(required=True)
    cycle_id = fields.UUID(required=True)
    decision = fields.String(
        required=True,
        validate=validate.OneOf(("accepted", "rejected", "changes_requested")),
    )


class ReportFeedbackGivenV1(Schema):
    """Someone wrote on a report's feedback thread: a mentor (`by_mentor`), or the
    report's author answering. Ids only, the text stays in stipends."""

    report_id = fields.UUID(required=True)
    communicator_id = fields.UUID(required=True)  # the report's author
    feedback_id = fields.UUID(required=True)
    # added (optional): events from before it are all a mentor's
    by_mentor = fields.Boolean(load_default=True)
    # added (optional): on the author's answer, the programme admins who wrote on
    # this thread as mentors, told of it beside the club's coordinator
    admin_mentors = fields.List(fields.UUID(), load_default=list)


class StrategySharedV1(Schema):
    """A communicator shared a version of their strategy with their mentors: ids
    and the version's number only, the text stays in stipends."""

    strategy_id = fields.UUID(required=True)
    communicator_id = fields.UUID(required=True)
    version = fields.Integer(required=True, validate=validate.Range(min=1))


class StrategyCommentedV1(Schema):
    """Someone wrote on a shared strategy: a mentor (`by_mentor`), or its author
    answering. Ids only."""

    strategy_id = fields.UUID(required=True)
    communicator_id = fields.UUID(required=True)  # the strategy's author
    comment_id = fields.UUID(required=True)
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    by_mentor = fields.Boolean(required=True)
    # added (optional): as in ReportFeedbackGivenV1, the strategy's thread's
    admin_mentors = fields.List(fields.UUID(), load_default=list)


class CycleOpenedV1(Schema):
    cycle_id = fields.UUID(required=True)
    programme_id = fields.UUID(required=True)
    period = fields.String(required=True)
    deadline = fields.String(required=True)  # ISO 8601 with its offset


class CycleClosedV1(Schema):
    cycle_id = fields.UUID(required=True)
    programme_id = fields.UUID(required=True)
    # the stipends the closing proposed (their own events come on another queue,
    # and may be heard after this one): a count, nothing of whom
    proposed = fields.Integer(load_default=0, validate=validate.Range(min=0))
    # the staff account that closed it, so proposed them (added 2026-12-07,
    # optional): an admin does not approve their own proposals
    closed_by = fields.UUID(load_default=None, allow_none=True)


class ProgrammeBudgetChangedV1(Schema):
    """A programme's budget after a funding or its reversal: the new total, so a
    consumer that sees them out of order keeps the latest by `occurred_at`."""

    programme_id = fields.UUID(required=True)
    currency = fields.String(required=True, validate=validate.Length(equal=3))
    budget_minor = fields.Integer(required=True, validate=validate.Range(min=0))


class StipendAmountV1(Schema):
    """stipend.proposed.v1 and stipend.approved.v1."""

    stipend_id = fields.UUID(required=True)
    communicator_id = fields.UUID(required=True)
    cycle_id = fields.UUID(required=True)
    amount_minor = fields.Integer(required=True, validate=validate.Range(min=1))
    currency = fields.String(required=True, validate=validate.Length(equal=3))


class StipendProposedV1(StipendAmountV1):
    """stipend.proposed.v1: and the staff account that proposed it (added
    2026-12-07, optional), who may not approve it: the admins' digest counts for
    each admin the approvals they can give."""

    proposed_by = fields.UUID(load_default=None, allow_none=True)


class StipendRejectedV1(Schema):
    stipend_id = fields.UUID(required=True)
    communicator_id = fields.UUID(required=True)
    cycle_id = fields.UUID(required=True)


def _spec(name: str, schema: type[Schema]) -> EventSpec:
    return EventSpec(PRODUCER, name, schema)


REPORT_SUBMITTED = _spec("report.submitted.v1", ReportSubmittedV1)
REPORT_REVIEWED = _spec("report.reviewed.v1", ReportReviewedV1)
REPORT_FEEDBACK_GIVEN = _spec("report.feedback_given.v1", ReportFeedbackGivenV1)
STRATEGY_SHARED = _spec("strategy.shared.v1", StrategySharedV1)
STRATEGY_COMMENTED = _spec("strategy.commented.v1", StrategyCommentedV1)
CYCLE_OPENED = _spec("cycle.opened.v1", CycleOpenedV1)
CYCLE_CLOSED = _spec("cycle.closed.v1", CycleClosedV1)
PROGRAMME_BUDGET_CHANGED = _spec(
    "programme.budget_changed.v1", ProgrammeBudgetChangedV1
)
STIPEND_PROPOSED = _spec("stipend.proposed.v1", StipendProposedV1)
STIPEND_APPROVED = _spec("stipend.approved.v1", StipendAmountV1)
STIPEND_REJECTED = _spec("stipend.rejected.v1", StipendRejectedV1)

PUBLISHED: tuple[EventSpec, ...] = (
    REPORT_SUBMITTED,
    REPORT_REVIEWED,
    REPORT_FEEDBACK_GIVEN,
    STRATEGY_SHARED,
    STRATEGY_COMMENTED,
    CYCLE_OPENED,
    CYCLE_CLOSED,
    PROGRAMME_BUDGET_CHANGED,
    STIPEND_PROPOSED,
    STIPEND_APPROVED,
    STIPEND_REJECTED,
)


def report_aggregate(report_id: object) -> str:
    return f"report:{report_id}"


def cycle_aggregate(cycle_id: object) -> str:
    return f"cycle:{cycle_id}"


def strategy_aggregate(strategy_id: object) -> str:
    return f"strategy:{strategy_id}"


def stipend_aggregate(stipend_id: object) -> str:
    return f"stipend:{stipend_id}"


def stipend_amount(spec: EventSpec, stipend: Any) -> Event:
    """stipend.proposed.v1 (with who proposed it) or stipend.approved.v1 of a
    Stipend."""
    proposer = {"proposed_by": stipend.proposed_by} if spec is STIPEND_PROPOSED else {}
    return spec.build(
        stipend_aggregate(stipend.id),
        stipend_id=stipend.id,
        communicator_id=stipend.communicator_id,
        cycle_id=stipend.cycle_id,
        amount_minor=stipend.amount_minor,
        currency=stipend.currency,
        **proposer,
    )


# -- payouts: ids, amounts and codes only, never a name, an account number or a Stripe
# destination. payout.failed.v1 carries a `reason` code the communicator can act on
# (svyaz.vocabulary); the notifications service words it.
FAILURE_REASONS = PAYOUT_FAILURE_REASONS  # the one list (svyaz.vocabulary)


class PayoutV1(Schema):
    payout_id = fields.UUID(required=True)
    stipend_id = fields.UUID(required=True)
    communicator_id = fields.UUID(required=True)
    run_id = fields.UUID(required=True)
    amount_minor = fields.Integer(required=True, validate=validate.Range(min=1))
    currency = fields.String(required=True, validate=validate.Length(equal=3))
    provider = fields.String(required=True)


class PayoutFailedV1(PayoutV1):
    reason = fields.String(required=True, validate=validate.OneOf(FAILURE_REASONS))


class RunBuiltV1(Schema):
    run_id = fields.UUID(required=True)
    cycle_id = fields.UUID(required=True)
    payouts = fields.Integer(required=True, validate=validate.Range(min=1))


class RunReleasedV1(Schema):
    run_id = fields.UUID(required=True)
    released_at = fields.String(required=True)  # ISO 8601 with its offset


class ReconciliationCompletedV1(Schema):
    run_id = fields.UUID(required=True)
    matched = fields.Integer(required=True, validate=validate.Range(min=0))
    discrepancies = fields.Integer(required=True, validate=validate.Range(min=0))
    # added (optional): the differences counted by kind, for the insights read model
    by_kind = fields.Dict(
        keys=fields.String(), values=fields.Integer(validate=validate.Range(min=0))
    )
    # added (optional): against which provider, and for a period's reconciliation
    # its first and last day (finance's message names them)
    provider = fields.String(validate=validate.Length(max=40))
    first_day = fields.String(validate=validate.Regexp(r"^\d{4}-\d{2}-\d{2}$"))
    last_day = fields.String(validate=validate.Regexp(r"^\d{4}-\d{2}-\d{2}$"))


class ReconciliationStartedV1(Schema):
    """A provider's period reconciled: the differences found, counted by kind (for
    the insights read model: how many open and for how long). A reconciliation it
    replaced (`superseded_id`) no longer counts."""

    reconciliation_id = fields.UUID(required=True)
    provider = fields.String(required=True)
    by_kind = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(validate=validate.Range(min=0)),
        required=True,
    )
    superseded_id = fields.UUID(required=True, allow_none=True)


class DifferenceResolvedV1(Schema):
    """One difference of a reconciliation resolved (linked, written off, re-paid)."""

    reconciliation_id = fields.UUID(required=True)
    item_id = fields.Integer(required=True, validate=validate.Range(min=1))
    kind = fields.String(required=True)
    action = fields.String(required=True)


class ReceiptResolvedV1(Schema):
    """A payee said a paid payout did not arrive, and finance resolved it: the
    payee is told how (a code; finance's note stays in stipends)."""

    payout_id = fields.UUID(required=True)
    communicator_id = fields.UUID(required=True)
    resolution = fields.String(
        required=True, validate=validate.OneOf(RECEIPT_RESOLUTIONS)
    )


PAYOUT_PAID = EventSpec(PRODUCER, "payout.paid.v1", PayoutV1)
PAYOUT_FAILED = EventSpec(PRODUCER, "payout.failed.v1", PayoutFailedV1)

# No payout.sent.v1: the communicator hears once, when the money arrives or when
# something is wrong (tests/contracts: every consumed event has a producer).
# for finance: a run waiting for release, a released run to reconcile, the outcome
RUN_BUILT = EventSpec(PRODUCER, "payout_run.built.v1", RunBuiltV1)
RUN_RELEASED = EventSpec(PRODUCER, "payout_run.released.v1", RunReleasedV1)
RECONCILIATION_COMPLETED = EventSpec(
    PRODUCER, "reconciliation.completed.v1", ReconciliationCompletedV1
)
RECONCILIATION_STARTED = EventSpec(
    PRODUCER, "reconciliation.started.v1", ReconciliationStartedV1
)
DIFFERENCE_RESOLVED = EventSpec(
    PRODUCER, "reconciliation.difference_resolved.v1", DifferenceResolvedV1
)
# for the payee who said a payment did not arrive: what finance found
RECEIPT_RESOLVED = EventSpec(PRODUCER, "payout.receipt_resolved.v1", ReceiptResolvedV1)
PAYOUT_EVENTS = (
    PAYOUT_PAID,
    PAYOUT_FAILED,
    RECEIPT_RESOLVED,
    RUN_BUILT,
    RUN_RELEASED,
    RECONCILIATION_COMPLETED,
    RECONCILIATION_STARTED,
    DIFFERENCE_RESOLVED,
)


def aggregate(payout_id: object) -> str:
    return f"payout:{payout_id}"


def run_aggregate(run_id: object) -> str:
    return f"payout_run:{run_id}"


PUBLISHED = PUBLISHED + PAYOUT_EVENTS
