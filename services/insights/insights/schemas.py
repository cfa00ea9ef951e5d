"""Input schemas for the insights RPCs, and the payloads of the events it consumes
(loaded with unknown=EXCLUDE: a field added later is ignored)."""

from marshmallow import EXCLUDE, Schema, fields, validate

from insights.logic.figures import DIMENSIONS


class _In(Schema):
    class Meta:
        unknown = EXCLUDE


class CycleQueryIn(_In):
    cycle_id = fields.UUID(required=True)
    dimension = fields.String(
        load_default="country", validate=validate.OneOf(tuple(DIMENSIONS))
    )


class ProgrammeQueryIn(_In):
    programme_id = fields.UUID(required=True)


# -- the events, as insights reads them: only what it keeps (logic.facts.FIELDS)
class CommunicatorActivatedIn(_In):
    communicator_id = fields.UUID(required=True)
    club_id = fields.UUID(required=True, allow_none=True)
    club_country = fields.String(load_default=None, allow_none=True)


class CommunicatorClubChangedIn(CommunicatorActivatedIn):
    """An admin moved them (`club_id` None: into no club)."""


class CommunicatorTierChangedIn(_In):
    communicator_id = fields.UUID(required=True)
    tier = fields.String(required=True)


class CommunicatorErasedIn(_In):
    communicator_id = fields.UUID(required=True)


class TrainingCompletedIn(_In):
    training_id = fields.UUID(required=True)
    communicator_id = fields.UUID(required=True)


class CycleOpenedIn(_In):
    cycle_id = fields.UUID(required=True)
    programme_id = fields.UUID(required=True)
    period = fields.String(required=True, validate=validate.Length(equal=7))


class ProgrammeBudgetChangedIn(_In):
    programme_id = fields.UUID(required=True)
    currency = fields.String(required=True, validate=validate.Length(equal=3))
    budget_minor = fields.Integer(required=True)


class _ReportFactsIn(_In):
    report_id = fields.UUID(required=True)
    communicator_id = fields.UUID(required=True)
    cycle_id = fields.UUID(required=True)
    conversations = fields.Integer(load_default=None)
    hours = fields.Integer(load_default=None)
    audiences = fields.List(fields.String(), load_default=None)
    channels = fields.List(fields.String(), load_default=None)
    topics_count = fields.Integer(load_default=None)
    observed_change = fields.String(load_default=None)


class ReportSubmittedIn(_ReportFactsIn):
    late = fields.Boolean(required=True)


class ReportReviewedIn(_ReportFactsIn):
    decision = fields.String(required=True)


class StipendApprovedIn(_In):
    stipend_id = fields.UUID(required=True)
    communicator_id = fields.UUID(required=True)
    cycle_id = fields.UUID(required=True)
    amount_minor = fields.Integer(required=True)
    currency = fields.String(required=True)


class PayoutIn(_In):
    stipend_id = fields.UUID(required=True)
    communicator_id = fields.UUID(required=True)
    amount_minor = fields.Integer(required=True)
    currency = fields.String(required=True)


class PayoutFailedIn(PayoutIn):
    reason = fields.String(required=True)


class ReconciliationCompletedIn(_In):
    run_id = fields.UUID(required=True)
    matched = fields.Integer(required=True)
    discrepancies = fields.Integer(required=True)
    by_kind = fields.Dict(
        keys=fields.String(), values=fields.Integer(), load_default=None
    )


class ReconciliationStartedIn(_In):
    reconciliation_id = fields.UUID(required=True)
    by_kind = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    superseded_id = fields.UUID(required=True, allow_none=True)


class DifferenceResolvedIn(_In):
    reconciliation_id = fields.UUID(required=True)
    item_id = fields.Integer(required=True)
    kind = fields.String(required=True)


EVENT_SCHEMAS: dict[str, type[Schema]] = {
    "communicator.activated.v1": CommunicatorActivatedIn,
    "communicator.club_changed.v1": CommunicatorClubChangedIn,
    "communicator.tier_changed.v1": CommunicatorTierChangedIn,
    "communicator.erased.v1": CommunicatorErasedIn,
    "training.completed.v1": TrainingCompletedIn,
    "cycle.opened.v1": CycleOpenedIn,
    "programme.budget_changed.v1": ProgrammeBudgetChangedIn,
    "report.submitted.v1": ReportSubmittedIn,
    "report.reviewed.v1": ReportReviewedIn,
    "stipend.approved.v1": StipendApprovedIn,
    "payout.paid.v1": PayoutIn,
    "payout.failed.v1": PayoutFailedIn,
    "reconciliation.completed.v1": ReconciliationCompletedIn,
    "reconciliation.started.v1": ReconciliationStartedIn,
    "reconciliation.difference_resolved.v1": DifferenceResolvedIn,
}
