"""marshmallow schemas for the HTTP API's bodies."""

from marshmallow import Schema, fields, validate


class ApplicationRequestSchema(Schema):
    """POST /api/v1/applications. The registry checks every field in depth; here
    only the shape, so that unknown fields are refused before anything travels."""

    pseudonym = fields.String(required=True)
    legal_name = fields.String(required=True)
    email = fields.String(required=True)
    password = fields.String(load_only=True)  # optional: a login to follow it
    phone = fields.String(allow_none=True)
    messenger = fields.String(allow_none=True)
    country = fields.String(required=True)
    city = fields.String(required=True)
    languages = fields.List(fields.String())
    language = fields.String()
    club_id = fields.String(allow_none=True)
    motivation = fields.String()
    referral = fields.String(allow_none=True)
    consent_version = fields.String(required=True)
    consent = fields.Boolean(required=True)


class ApplicationAcceptedSchema(Schema):
    status = fields.String()


class SignInRequestSchema(Schema):
    """POST /api/v1/session."""

    email = fields.String(required=True)
    password = fields.String(required=True)
    code = fields.String(allow_none=True)


class SecondFactorRequestSchema(Schema):
    code = fields.String(required=True)


class ActorSchema(Schema):
    id = fields.String()
    roles = fields.List(fields.String())


class SessionSchema(Schema):
    """A session: `ok` (signed in) or `enroll` (a second factor to set up first).
    Send `csrf_token` back as the X-CSRF-Token header on every POST, PUT and DELETE."""

    status = fields.String(validate=validate.OneOf(("ok", "enroll")))
    actor = fields.Nested(ActorSchema)
    csrf_token = fields.String()
    totp_secret = fields.String(allow_none=True)


class PayoutSetupSchema(Schema):
    """Stripe Connect: the hosted onboarding link; otherwise the next step
    (`bank_details` or `contact_programme`)."""

    provider = fields.String()
    onboarding_url = fields.String()
    next = fields.String()


class ErasureRequestSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=500))


class CommunicatorQuerySchema(Schema):
    """GET /api/v1/communicators: by pseudonym prefix or status, a page at a time.
    (No email in URLs: search by email with POST /api/v1/communicators/search.)"""

    pseudonym = fields.String(validate=validate.Length(min=2, max=30))
    status = fields.String()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class EmailSearchSchema(Schema):
    email = fields.String(required=True)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class CommunicatorSummarySchema(Schema):
    """What lists and a communicator's own status show: no personal field."""

    id = fields.String()
    pseudonym = fields.String()
    status = fields.String()
    tier = fields.String()
    club_id = fields.String(allow_none=True)


class OwnStatusSchema(CommunicatorSummarySchema):
    """A communicator's own status, with where their payout set-up stands."""

    payout_setup = fields.String(
        metadata={"description": "none, pending (onboarding not finished) or ready"}
    )


class CommunicatorPageSchema(Schema):
    items = fields.List(fields.Nested(CommunicatorSummarySchema))
    page = fields.Integer()
    per_page = fields.Integer()
    next_page = fields.Integer(allow_none=True)


class DecisionRequestSchema(Schema):
    step = fields.String(
        required=True,
        validate=validate.OneOf(
            ("start_review", "approve", "reject", "suspend", "reinstate", "offboard")
        ),
    )
    reason = fields.String(required=True)


class ResolutionRequestSchema(Schema):
    outcome = fields.String(
        required=True, validate=validate.OneOf(("same_person", "distinct"))
    )
    note = fields.String(required=True)


class ClubSchema(Schema):
    id = fields.String()
    name = fields.String()
    country = fields.String()
    city = fields.String(allow_none=True)
    mode = fields.String()


class ClubMembersSchema(Schema):
    pseudonyms = fields.List(fields.String())


class CorridorSchema(Schema):
    country = fields.String()
    provider = fields.String()


class CorridorRequestSchema(Schema):
    provider = fields.String(required=True)


class DoneSchema(Schema):
    status = fields.String()


# -- reports and stipends (the stipends service checks every field in depth) --------
class CycleSchema(Schema):
    id = fields.String()
    programme_id = fields.String()
    period = fields.String()
    deadline = fields.String()
    status = fields.String()
    closed_at = fields.String(allow_none=True)
    locked_at = fields.String(allow_none=True)


class ReportRequestSchema(Schema):
    """An activity report. The narrative is for outcomes, never for the identities
    of people inside Russia: phone numbers, emails, @handles and links are removed
    before it is stored, and the answer says what was removed."""

    conversations = fields.Integer(required=True)
    audiences = fields.List(fields.String(), required=True)
    channels = fields.List(fields.String(), required=True)
    topics = fields.List(fields.String())
    hours = fields.Integer(required=True)
    observed_change = fields.String(required=True)
    narrative = fields.String()


class ReportSchema(Schema):
    id = fields.String()
    cycle_id = fields.String()
    communicator_id = fields.String()
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
    submitted_at = fields.String(allow_none=True)
    review_comment = fields.String(allow_none=True)


class SavedReportSchema(Schema):
    report = fields.Nested(ReportSchema)
    redacted = fields.List(fields.String())
    notice = fields.String(allow_none=True)


class ReportQuerySchema(Schema):
    status = fields.String()


class ReviewRequestSchema(Schema):
    decision = fields.String(
        required=True,
        validate=validate.OneOf(("accepted", "rejected", "changes_requested")),
    )
    comment = fields.String()


class StipendSchema(Schema):
    id = fields.String()
    programme_id = fields.String()
    cycle_id = fields.String()
    communicator_id = fields.String()
    amount_minor = fields.Integer()
    currency = fields.String()
    reasons = fields.List(fields.String())
    status = fields.String()
    proposed_by = fields.String()
    approvals_needed = fields.Integer()
    approvals_given = fields.Integer()
    rejection_reason = fields.String(allow_none=True)
    version = fields.Integer()
    digest = fields.String()
    approvals = fields.List(fields.Dict())
    slot = fields.Integer()
    remaining_budget_minor = fields.Integer()


class ApproveRequestSchema(Schema):
    """`digest`: the one the approver was shown (GET the stipend); a change of
    payee, destination or amount since then makes it stale and the approval fails."""

    digest = fields.String(required=True)


class RejectRequestSchema(Schema):
    reason = fields.String(required=True)


# -- the inbox and preferences (the notifications service checks them in depth) ----
class InboxQuerySchema(Schema):
    unread_only = fields.Boolean()


class InboxMessageSchema(Schema):
    id = fields.Integer()
    subject = fields.String()
    body = fields.String()
    created_at = fields.String()
    read = fields.Boolean()


class PreferencesSchema(Schema):
    """How to be told: channels, language, quiet hours in one's own time zone;
    `discreet` can be turned off by staff only (communicators always get neutral
    messages with the details behind sign-in)."""

    language = fields.String(allow_none=True)
    channels = fields.List(fields.String())
    timezone = fields.String(allow_none=True)
    quiet_start = fields.String(allow_none=True)
    quiet_end = fields.String(allow_none=True)
    discreet = fields.Boolean()


class ParkedDeliverySchema(Schema):
    id = fields.Integer()
    event_id = fields.String()
    recipient_id = fields.String()
    channel = fields.String()
    template = fields.String()
    attempts = fields.Integer()
    last_error = fields.String()
    updated_at = fields.String()


# -- payout runs (finance) ---------------------------------------------------------
class PayoutRunSchema(Schema):
    """A run with its control totals (count and sum per currency and provider); the
    releaser confirms them by sending back `totals_digest`."""

    id = fields.String()
    cycle_id = fields.String()
    programme_id = fields.String()
    status = fields.String()
    totals = fields.Raw()
    totals_digest = fields.String()
    created_by = fields.String()
    released_by = fields.String(allow_none=True)
    released_at = fields.String(allow_none=True)
    payouts_by_status = fields.Dict(keys=fields.String(), values=fields.Integer())
    excluded = fields.List(fields.Raw())


class ReleaseRequestSchema(Schema):
    """`code`: a current code of the releaser's authenticator (a fresh second
    factor); `totals_digest`: the totals the releaser saw and confirms."""

    totals_digest = fields.String(required=True)
    code = fields.String(required=True)


class PayoutSchema(Schema):
    id = fields.String()
    run_id = fields.String()
    stipend_id = fields.String()
    communicator_id = fields.String()
    amount_minor = fields.Integer()
    currency = fields.String()
    provider = fields.String()
    status = fields.String()
    attempt = fields.Integer()
    idempotency_key = fields.String()
    provider_ref = fields.String(allow_none=True)
    fee_minor = fields.Integer(allow_none=True)
    failure_code = fields.String(allow_none=True)
    retries = fields.Integer()
    deadline_at = fields.String(allow_none=True)


class PayoutActionRequestSchema(Schema):
    action = fields.String(
        required=True,
        validate=validate.OneOf(
            ("retry", "cancel", "mark_paid_offline", "mark_failed")
        ),
    )
    reason = fields.String(required=True)


class OwnStipendSchema(Schema):
    """One line of a communicator's history: a stipend and its payment's state."""

    stipend_id = fields.String()
    period = fields.String()
    amount_minor = fields.Integer()
    currency = fields.String()
    status = fields.String()
    payout_status = fields.String(allow_none=True)
    failure_code = fields.String(allow_none=True)


class ResetRequestSchema(Schema):
    """The same answer for every email: nobody learns who has an account."""

    email = fields.String(required=True)


class NewPasswordSchema(Schema):
    """`token`: from the emailed link; `password`: at least 12 characters."""

    token = fields.String(required=True)
    password = fields.String(required=True)


# -- reconciliation -----------------------------------------------------------------
PROVIDER_NAMES = ("stripe_connect", "stripe_global", "bank_file")
RECONCILIATION_ITEM_STATES = ("open", "linked", "written_off", "repaid")
DISCREPANCY_KINDS = (
    "missing_at_provider",
    "unexpected_at_provider",
    "amount_mismatch",
    "currency_mismatch",
    "duplicate",
    "status_mismatch",
    "reversed",
    "balance_mismatch",
)


class ReconciliationSchema(Schema):
    """A provider's period [period_start, period_end) against our payouts and the
    ledger: counts, the differences by kind and state, and the sign-off."""

    id = fields.String()
    provider = fields.String()
    period_start = fields.String()
    period_end = fields.String()
    source = fields.String()
    status = fields.String()
    provider_rows = fields.Integer()
    matched = fields.Integer()
    discrepancies = fields.Integer()
    open_items = fields.Integer()
    by_kind = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(keys=fields.String(), values=fields.Integer()),
    )
    created_by = fields.String()
    created_at = fields.String(allow_none=True)
    signed_off_by = fields.String(allow_none=True)
    signed_off_at = fields.String(allow_none=True)
    sign_off_note = fields.String(allow_none=True)


class ReconciliationItemSchema(Schema):
    """One difference in the work queue (amounts in minor units)."""

    id = fields.Integer()
    kind = fields.String()
    payout_id = fields.String(allow_none=True)
    run_id = fields.String(allow_none=True)
    provider_ref = fields.String(allow_none=True)
    ours_minor = fields.Integer(allow_none=True)
    theirs_minor = fields.Integer(allow_none=True)
    ours_currency = fields.String(allow_none=True)
    theirs_currency = fields.String(allow_none=True)
    state = fields.String()
    resolution = fields.String(allow_none=True)
    linked_payout_id = fields.String(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    resolved_at = fields.String(allow_none=True)


class ReconcileRequestSchema(Schema):
    """`source`: `api` pulls from the provider; `itemized_csv` (Stripe's
    balance_change_from_activity.itemized report) and `bank_statement` (the bank's
    CSV) come as `content`, the file's text."""

    provider = fields.String(required=True, validate=validate.OneOf(PROVIDER_NAMES))
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    source = fields.String(
        load_default="api",
        validate=validate.OneOf(("api", "itemized_csv", "bank_statement")),
    )
    content = fields.String(load_default=None, validate=validate.Length(max=64 << 20))


class ReconciliationItemsQuerySchema(Schema):
    state = fields.String(validate=validate.OneOf(RECONCILIATION_ITEM_STATES))
    kind = fields.String(validate=validate.OneOf(DISCREPANCY_KINDS))
    after = fields.Integer(load_default=0, validate=validate.Range(min=0))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class ResolveItemsRequestSchema(Schema):
    """One action, one reason, for 1 to 1,000 items; `payout_id` for `link`."""

    item_ids = fields.List(
        fields.Integer(strict=True),
        required=True,
        validate=validate.Length(min=1, max=1000),
    )
    action = fields.String(
        required=True, validate=validate.OneOf(("link", "write_off", "repay"))
    )
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    payout_id = fields.UUID(load_default=None)


class SignOffRequestSchema(Schema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ReconciliationsQuerySchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))
