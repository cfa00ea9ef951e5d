"""marshmallow schemas: RPC input/output and the registry events stipends consumes
(each loaded with unknown=EXCLUDE, so a field added later does not break us). The
payout RPCs' input is `stipends.payouts.schemas`."""

from marshmallow import EXCLUDE, INCLUDE, Schema, fields, validate

from stipends.logic.activity import KINDS as ACTIVITY_KINDS
from svyaz import money as svyaz_money
from svyaz.vocabulary import (
    OBSERVED_CHANGES,
    REPORT_AUDIENCES,
    REPORT_CHANNELS,
    STRATEGY_APPROACHES,
    STRATEGY_PROGRESS,
)


class Incoming(Schema):
    class Meta:
        unknown = EXCLUDE


class CommunicatorAppliedIn(Incoming):
    """registry's communicator.applied.v1 as stipends reads it."""

    communicator_id = fields.UUID(required=True)
    pseudonym = fields.String(required=True)


class CommunicatorActivatedIn(Incoming):
    communicator_id = fields.UUID(required=True)
    pseudonym = fields.String(required=True)
    club_id = fields.UUID(required=True, allow_none=True)


class CommunicatorClubChangedIn(Incoming):
    """communicator.club_changed.v1: an admin moved them (`club_id` None: no club)."""

    communicator_id = fields.UUID(required=True)
    club_id = fields.UUID(required=True, allow_none=True)


class CommunicatorIdIn(Incoming):
    """communicator.suspended/reinstated/offboarded/erased.v1."""

    communicator_id = fields.UUID(required=True)


class CommunicatorTierChangedIn(Incoming):
    communicator_id = fields.UUID(required=True)
    tier = fields.String(required=True)
    training_completed = fields.Boolean(required=True)


class TrainingCompletedIn(Incoming):
    """training.completed.v1: the person completed a training (the programme's
    `training_required` asks for one)."""

    training_id = fields.UUID(required=True)
    communicator_id = fields.UUID(required=True)


class CommunicatorPayoutReadyIn(Incoming):
    communicator_id = fields.UUID(required=True)
    provider = fields.String(required=True)
    destination_fingerprint = fields.String(required=True)


class CommunicatorSchema(Schema):
    id = fields.UUID()
    pseudonym = fields.String(allow_none=True)
    status = fields.String()
    tier = fields.String()
    payout_ready = fields.Boolean()


# -- programmes and cycles ---------------------------------------------------------
PERIOD = r"^20[0-9]{2}-(0[1-9]|1[0-2])$"
CURRENCY = r"^[A-Z]{3}$"
TIERS = ("volunteer", "professional")
AUDIENCES = REPORT_AUDIENCES  # a report's codes: svyaz.vocabulary
CHANNELS = REPORT_CHANNELS
CHANGES = OBSERVED_CHANGES


class BandSchema(Schema):
    up_to_minor = fields.Integer(
        required=True, allow_none=True, validate=validate.Range(min=1)
    )
    approvers = fields.Integer(required=True, validate=validate.Range(min=1, max=5))


PROGRAMME_NAME = validate.And(
    validate.Length(min=3, max=120),
    validate.Regexp(r"^\S(?:.*\S)?$", error="letters, not only spaces, at both ends"),
)
CURRENCIES = validate.OneOf(
    svyaz_money.known(), error="an ISO 4217 currency code, such as EUR"
)


class ProgrammeSchema(Schema):
    name = fields.String(required=True, validate=PROGRAMME_NAME)
    currency = fields.String(
        required=True, validate=[validate.Regexp(CURRENCY), CURRENCIES]
    )
    budget_minor = fields.Integer(
        load_default=0, validate=validate.Range(min=0, max=10**12)
    )
    tier_amounts = fields.Dict(
        required=True,
        keys=fields.String(validate=validate.OneOf(TIERS)),
        values=fields.Integer(validate=validate.Range(min=0, max=10**9)),
        validate=validate.Length(min=1, error="the amount of at least one tier"),
    )
    min_accepted_reports = fields.Integer(
        load_default=1, validate=validate.Range(min=0, max=31)
    )
    min_conversations = fields.Integer(
        load_default=0, validate=validate.Range(min=0, max=10_000)
    )
    training_required = fields.Boolean(load_default=True)
    approval_bands = fields.List(
        fields.Nested(BandSchema), load_default=None, allow_none=True
    )


class FundingOutSchema(Schema):
    """One funding entry of a programme, and whether (and why) it was reversed."""

    entry_id = fields.Integer()
    amount_minor = fields.Integer()
    posted_at = fields.AwareDateTime()
    actor_id = fields.UUID(allow_none=True)
    reversed = fields.Boolean()
    reversed_at = fields.AwareDateTime(allow_none=True)
    reversed_by = fields.UUID(allow_none=True)
    reversal_reason = fields.String(allow_none=True)
    # what refuses a reversal now: reversed_already, funding_in_use; None if nothing
    blocked_by = fields.String(allow_none=True)


class ProgrammeOutSchema(Schema):
    id = fields.UUID()
    name = fields.String()
    currency = fields.String()
    budget_minor = fields.Integer()  # funded so far
    reserved_minor = fields.Integer()  # approved, not yet paid
    spent_minor = fields.Integer()  # paid
    available_minor = fields.Integer()  # budget - reserved - spent
    tier_amounts = fields.Dict()
    min_accepted_reports = fields.Integer()
    min_conversations = fields.Integer()
    training_required = fields.Boolean()
    approval_bands = fields.List(fields.Dict())
    version = fields.Integer()
    fundings = fields.List(fields.Nested(FundingOutSchema))  # newest first


class ProgrammeChangesSchema(Schema):
    """What update_programme may change, each optional, with the version the admin
    saw. Other keys pass through to the logic, which refuses them by name."""

    class Meta:
        unknown = INCLUDE

    version = fields.Integer(required=True, validate=validate.Range(min=1))
    name = fields.String(validate=PROGRAMME_NAME)
    tier_amounts = fields.Dict(
        keys=fields.String(validate=validate.OneOf(TIERS)),
        values=fields.Integer(validate=validate.Range(min=0, max=10**9)),
    )
    min_accepted_reports = fields.Integer(validate=validate.Range(min=0, max=31))
    min_conversations = fields.Integer(validate=validate.Range(min=0, max=10_000))
    training_required = fields.Boolean()
    approval_bands = fields.List(
        fields.Nested(BandSchema), validate=validate.Length(min=1, max=10)
    )


IDEMPOTENCY_KEY = r"^[A-Za-z0-9_.:-]{8,64}$"


class FundingSchema(Schema):
    programme_id = fields.UUID(required=True)
    amount_minor = fields.Integer(
        required=True, validate=validate.Range(min=1, max=10**12)
    )
    idempotency_key = fields.String(
        required=True,
        validate=validate.Regexp(
            IDEMPOTENCY_KEY,
            error="8 to 64 letters, digits or _.:- (a uuid, chosen once per funding)",
        ),
    )


class CycleSchema(Schema):
    programme_id = fields.UUID(required=True)
    period = fields.String(required=True, validate=validate.Regexp(PERIOD))
    deadline = fields.AwareDateTime(required=True)


class CycleOutSchema(Schema):
    id = fields.UUID()
    programme_id = fields.UUID()
    period = fields.String()
    deadline = fields.AwareDateTime()
    status = fields.String()
    closed_at = fields.AwareDateTime(allow_none=True)
    locked_at = fields.AwareDateTime(allow_none=True)


class CycleProgressOutSchema(Schema):
    cycle = fields.Nested(CycleOutSchema)
    deadline = fields.AwareDateTime()
    deadline_passed = fields.Boolean()
    reports_by_status = fields.Dict(keys=fields.String(), values=fields.Integer())
    reports_total = fields.Integer()
    communicators_with_report = fields.Integer()
    communicators_submitted = fields.Integer()
    late_reports = fields.Integer()
    active_communicators = fields.Integer()


class BlockerOutSchema(Schema):
    code = fields.String()
    message = fields.String()


class ProposalOutSchema(Schema):
    communicator_id = fields.UUID()
    pseudonym = fields.String(allow_none=True)
    tier = fields.String()
    eligible = fields.Boolean()
    amount_minor = fields.Integer()
    approvals_needed = fields.Integer()
    reasons = fields.List(fields.String())
    not_eligible_because = fields.List(fields.String())
    shared_destination_with = fields.List(fields.String())


class ClosePreviewOutSchema(Schema):
    cycle = fields.Nested(CycleOutSchema)
    can_close = fields.Boolean()
    blockers = fields.List(fields.Nested(BlockerOutSchema))
    entitlements = fields.List(fields.Nested(ProposalOutSchema))
    eligible_count = fields.Integer()
    not_eligible_count = fields.Integer()
    proposed_minor = fields.Integer()
    currency = fields.String()
    available_minor = fields.Integer()


# -- reports -----------------------------------------------------------------------
class ReportContentSchema(Schema):
    conversations = fields.Integer(
        required=True, validate=validate.Range(min=0, max=10_000)
    )
    audiences = fields.List(
        fields.String(validate=validate.OneOf(AUDIENCES)),
        required=True,
        validate=validate.Length(min=1, max=len(AUDIENCES)),
    )
    channels = fields.List(
        fields.String(validate=validate.OneOf(CHANNELS)),
        required=True,
        validate=validate.Length(min=1, max=len(CHANNELS)),
    )
    topics = fields.List(
        fields.String(validate=validate.Length(min=1, max=80)),
        load_default=list,
        validate=validate.Length(max=10),
    )
    hours = fields.Integer(required=True, validate=validate.Range(min=0, max=744))
    observed_change = fields.String(required=True, validate=validate.OneOf(CHANGES))
    narrative = fields.String(load_default="", validate=validate.Length(max=5000))
    # how the cycle went against the author's strategy (kept only when they have
    # shared one; needed then to submit)
    strategy_progress = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(STRATEGY_PROGRESS),
    )
    strategy_note = fields.String(load_default="", validate=validate.Length(max=2000))


class ReportOutSchema(Schema):
    id = fields.UUID()
    cycle_id = fields.UUID()
    communicator_id = fields.UUID()
    conversations = fields.Integer()
    audiences = fields.List(fields.String())
    channels = fields.List(fields.String())
    topics = fields.List(fields.String())
    hours = fields.Integer()
    observed_change = fields.String()
    narrative = fields.String()
    redactions = fields.List(fields.String())
    status = fields.String()
    late = fields.Boolean()
    submitted_at = fields.AwareDateTime(allow_none=True)
    review_comment = fields.String(allow_none=True)
    strategy_version_id = fields.UUID(allow_none=True)
    strategy_progress = fields.String(allow_none=True)
    strategy_note = fields.String(allow_none=True)


# -- communication strategies and feedback -------------------------------------------
def _words(choices: tuple[str, ...], min_items: int) -> fields.List:
    return fields.List(
        fields.String(validate=validate.OneOf(choices)),
        required=True,
        validate=validate.Length(min=min_items, max=len(choices)),
    )


class StrategyContentSchema(Schema):
    """Who a communicator aims to reach, as kinds of audiences (never people), how,
    about what, and the change they expect over how many months."""

    audiences = _words(AUDIENCES, 1)
    channels = _words(CHANNELS, 1)
    topics = fields.List(
        fields.String(validate=validate.Length(min=1, max=80)),
        load_default=list,
        validate=validate.Length(max=10),
    )
    approaches = _words(STRATEGY_APPROACHES, 1)
    expected_change = fields.String(
        required=True, validate=validate.Length(min=1, max=1000)
    )
    horizon_months = fields.Integer(
        required=True, validate=validate.Range(min=1, max=36)
    )
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class MessageOutSchema(Schema):
    id = fields.UUID()
    by_mentor = fields.Boolean()
    mentor_role = fields.String(allow_none=True)
    author_id = fields.UUID()
    body = fields.String()
    created_at = fields.AwareDateTime()


class StrategyVersionOutSchema(Schema):
    id = fields.UUID()
    number = fields.Integer()
    status = fields.String()
    audiences = fields.List(fields.String())
    channels = fields.List(fields.String())
    topics = fields.List(fields.String())
    approaches = fields.List(fields.String())
    expected_change = fields.String()
    horizon_months = fields.Integer()
    note = fields.String()
    redactions = fields.List(fields.String())
    created_at = fields.AwareDateTime()
    shared_at = fields.AwareDateTime(allow_none=True)
    comments = fields.List(fields.Nested(MessageOutSchema))


class StrategyOutSchema(Schema):
    id = fields.UUID()
    waiting_for_mentor = fields.Boolean()
    versions = fields.List(fields.Nested(StrategyVersionOutSchema))


class StrategyViewOutSchema(Schema):
    communicator_id = fields.UUID()
    pseudonym = fields.String(allow_none=True)
    tier = fields.String()
    mentor = fields.Boolean()
    strategy = fields.Nested(StrategyOutSchema, allow_none=True)


class MenteeOutSchema(Schema):
    communicator_id = fields.UUID()
    pseudonym = fields.String(allow_none=True)
    version = fields.Integer()
    shared_at = fields.AwareDateTime()
    waiting_for_mentor = fields.Boolean()


class ReportThreadOutSchema(Schema):
    report = fields.Nested(ReportOutSchema)
    period = fields.String()
    strategy_version = fields.Integer(allow_none=True)
    feedback = fields.List(fields.Nested(MessageOutSchema))


class ReportThreadsOutSchema(Schema):
    communicator_id = fields.UUID()
    pseudonym = fields.String(allow_none=True)
    mentor = fields.Boolean()
    reports = fields.List(fields.Nested(ReportThreadOutSchema))


class MessageRequestSchema(Schema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ReviewSchema(Schema):
    report_id = fields.UUID(required=True)
    decision = fields.String(
        required=True,
        validate=validate.OneOf(("accepted", "rejected", "changes_requested")),
    )
    comment = fields.String(load_default="", validate=validate.Length(max=2000))


# -- entitlements, stipends, approvals -----------------------------------------------
class EntitlementOutSchema(Schema):
    communicator_id = fields.UUID()
    eligible = fields.Boolean()
    amount_minor = fields.Integer()
    reasons = fields.List(fields.String())
    stipend_id = fields.UUID(allow_none=True)


class ApprovalOutSchema(Schema):
    approver_id = fields.UUID()
    slot = fields.Integer()
    approved_at = fields.AwareDateTime()
    voided_at = fields.AwareDateTime(allow_none=True)
    void_reason = fields.String(allow_none=True)


class StipendOutSchema(Schema):
    id = fields.UUID()
    programme_id = fields.UUID()
    cycle_id = fields.UUID()
    communicator_id = fields.UUID()
    amount_minor = fields.Integer()
    currency = fields.String()
    reasons = fields.List(fields.String())
    status = fields.String()
    proposed_by = fields.UUID()
    approvals_needed = fields.Integer()
    approvals_given = fields.Integer()
    rejection_reason = fields.String(allow_none=True)
    version = fields.Integer()


class ApproveSchema(Schema):
    stipend_id = fields.UUID(required=True)
    digest = fields.String(required=True, validate=validate.Length(equal=64))


class RejectSchema(Schema):
    stipend_id = fields.UUID(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class AmendSchema(Schema):
    stipend_id = fields.UUID(required=True)
    amount_minor = fields.Integer(
        required=True, validate=validate.Range(min=1, max=10**9)
    )
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class AccountRequestSchema(Schema):
    account = fields.String(
        required=True,
        # kind:owner, and :CUR on a per-currency account (provider_clearing:x:EUR)
        validate=validate.Regexp(r"^[a-z_]+:[A-Za-z0-9_-]{1,100}(:[A-Z]{3})?$"),
    )
    offset = fields.Integer(
        strict=True, load_default=0, validate=validate.Range(min=0, max=10**9)
    )
    limit = fields.Integer(
        strict=True,
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1, max=1000),
    )


class ReverseFundingSchema(Schema):
    entry_id = fields.Integer(required=True, validate=validate.Range(min=1))
    programme_id = fields.UUID(load_default=None, allow_none=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


STIPEND_STATUSES = ("proposed", "approved", "rejected")
MAX_PAGE = 200
MAX_BATCH = 500


class StipendsPageSchema(Schema):
    cycle_id = fields.UUID(required=True)
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10**6))
    limit = fields.Integer(
        load_default=50, validate=validate.Range(min=1, max=MAX_PAGE)
    )
    status = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(STIPEND_STATUSES),
    )


class PageApprovalOutSchema(Schema):
    approver_id = fields.UUID()
    slot = fields.Integer()
    approved_at = fields.AwareDateTime()
    voided_at = fields.AwareDateTime(allow_none=True)


class StipendsPageOutSchema(Schema):
    items = fields.Method("dump_items")
    total = fields.Integer()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())

    def dump_items(self, page: dict) -> list[dict]:
        return [
            {
                **StipendOutSchema().dump(item["stipend"]),
                "pseudonym": item["pseudonym"],
                "digest": item["digest"],
                "approvals": PageApprovalOutSchema().dump(item["approvals"], many=True),
                "mine": item["mine"],
                "shared_destination_with": item["shared_destination_with"],
            }
            for item in page["items"]
        ]


class ApproveManySchema(Schema):
    approvals = fields.List(
        fields.Nested(ApproveSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_BATCH),
    )


class ApprovalOutcomeOutSchema(Schema):
    stipend_id = fields.UUID()
    outcome = fields.String()  # approved | refused
    slot = fields.Integer(allow_none=True)
    code = fields.String(allow_none=True)
    message = fields.String(allow_none=True)
    pseudonym = fields.String(allow_none=True)


class ActivityRequestSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(ACTIVITY_KINDS))
    record_id = fields.UUID(required=True)
