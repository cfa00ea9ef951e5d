"""marshmallow schemas for the HTTP API's bodies.

Every text field and list a request can carry has a maximum length, so that an
oversized value is refused here and never travels on the bus; the limits appear in
the OpenAPI document as maxLength and maxItems. The services behind check each field
in depth (and often more tightly)."""

from collections.abc import Sequence
from typing import Any

from marshmallow import Schema, fields, validate

# The longest value the gateway lets through, in characters (the console forms use
# the same table: pages.FORM_LIMITS).
PSEUDONYM = 30
NAME = 200  # a person's or a club's name, a city, a messenger handle
EMAIL = 254  # RFC 5321
PASSWORD = 1024  # argon2's input; the registry sets its own, tighter rule
PHONE = 32
COUNTRY = 2
WORD = 64  # a code word, a language, a time zone, a consent version, a status
ID = 64  # a uuid, a digest (sha-256 in hex)
CODE = 16  # an authenticator's code
TOKEN = 256  # an emailed one-time token
REASON = 2000  # reasons, notes, comments
MOTIVATION = 4000
TOPIC = 80
NARRATIVE = 5000
CONTENT = 32 * 1024 * 1024  # a pasted or uploaded statement
ITEMS = 20  # entries in a list of words (languages, channels, audiences)
TOPICS = 10
BATCH = 1000  # ids in one batch


def text(max_length: int, min_length: int | None = None, **kwargs: Any) -> Any:
    """A string of at most `max_length` characters."""
    return fields.String(
        validate=validate.Length(min=min_length, max=max_length), **kwargs
    )


def choice(choices: Sequence[str], **kwargs: Any) -> Any:
    """One of `choices` (its length bounded too, so every string states one)."""
    return fields.String(
        validate=[
            validate.Length(max=max(len(c) for c in choices)),
            validate.OneOf(choices),
        ],
        **kwargs,
    )


def many(
    item: fields.Field, max_items: int, min_items: int | None = None, **kwargs: Any
) -> Any:
    """A list of at most `max_items` items."""
    return fields.List(
        item, validate=validate.Length(min=min_items, max=max_items), **kwargs
    )


class ApplicationRequestSchema(Schema):
    """POST /api/v1/applications. The registry checks every field in depth; here
    only the shape, so that unknown fields are refused before anything travels."""

    pseudonym = text(PSEUDONYM, required=True)
    legal_name = text(NAME, required=True)
    email = text(EMAIL, required=True)
    password = text(PASSWORD, load_only=True)  # optional: a login to follow it
    phone = text(PHONE, allow_none=True)
    messenger = text(NAME, allow_none=True)
    country = text(COUNTRY, required=True)
    city = text(NAME, required=True)
    languages = many(text(WORD), ITEMS)
    language = text(WORD)
    club_id = text(ID, allow_none=True)
    motivation = text(MOTIVATION)
    referral = text(PSEUDONYM, allow_none=True)
    consent_version = text(WORD, required=True)
    consent = fields.Boolean(required=True)


class ApplicationAcceptedSchema(Schema):
    status = fields.String()


class SignInRequestSchema(Schema):
    """POST /api/v1/session."""

    email = text(EMAIL, required=True)
    password = text(PASSWORD, required=True)
    code = text(CODE, allow_none=True)


class SecondFactorRequestSchema(Schema):
    code = text(CODE, required=True)


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
    reason = text(500, min_length=3, required=True)


class CommunicatorQuerySchema(Schema):
    """GET /api/v1/communicators: by pseudonym prefix or status, a page at a time.
    (No email in URLs: search by email with POST /api/v1/communicators/search.)"""

    pseudonym = text(PSEUDONYM, min_length=2)
    status = text(WORD)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class EmailSearchSchema(Schema):
    email = text(EMAIL, required=True)
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
    step = choice(
        ("start_review", "approve", "reject", "suspend", "reinstate", "offboard"),
        required=True,
    )
    reason = text(REASON, required=True)


STAFF_ROLES = ("program_admin", "finance", "club_coordinator")


class StaffInvitationRequestSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=EMAIL))
    roles = many(choice(STAFF_ROLES), len(STAFF_ROLES), 1, required=True)


class SecondFactorResetRequestSchema(Schema):
    reason = text(REASON, 3, required=True)


class StaffMemberSchema(Schema):
    id = fields.String()
    roles = fields.List(fields.String(validate=validate.OneOf(STAFF_ROLES)))
    state = fields.String(
        validate=validate.OneOf(("invited", "enrolling", "active", "disabled"))
    )
    last_sign_in_at = fields.String(allow_none=True)
    second_factor_reset = fields.Dict(allow_none=True)


class ResolutionRequestSchema(Schema):
    outcome = choice(("same_person", "distinct"), required=True)
    note = text(REASON, required=True)


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
    provider = text(WORD, required=True)


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
    audiences = many(text(WORD), ITEMS, required=True)
    channels = many(text(WORD), ITEMS, required=True)
    topics = many(text(TOPIC), TOPICS)
    hours = fields.Integer(required=True)
    observed_change = text(WORD, required=True)
    narrative = text(NARRATIVE)


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
    status = text(WORD)


class ReviewRequestSchema(Schema):
    decision = choice(("accepted", "rejected", "changes_requested"), required=True)
    comment = text(REASON)


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

    digest = text(ID, required=True)


class RejectRequestSchema(Schema):
    reason = text(REASON, required=True)


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

    language = text(WORD, allow_none=True)
    channels = many(text(WORD), ITEMS)
    timezone = text(WORD, allow_none=True)
    quiet_start = text(WORD, allow_none=True)
    quiet_end = text(WORD, allow_none=True)
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

    totals_digest = text(ID, required=True)
    code = text(CODE, required=True)


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
    action = choice(
        ("retry", "cancel", "mark_paid_offline", "mark_failed"), required=True
    )
    reason = text(REASON, required=True)


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

    email = text(EMAIL, required=True)


class NewPasswordSchema(Schema):
    """`token`: from the emailed link; `password`: at least 12 characters."""

    token = text(TOKEN, required=True)
    password = text(PASSWORD, required=True)


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

    provider = choice(PROVIDER_NAMES, required=True)
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    source = choice(("api", "itemized_csv", "bank_statement"), load_default="api")
    content = text(CONTENT, load_default=None)


class ReconciliationItemsQuerySchema(Schema):
    state = choice(RECONCILIATION_ITEM_STATES)
    kind = choice(DISCREPANCY_KINDS)
    after = fields.Integer(load_default=0, validate=validate.Range(min=0))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class ResolveItemsRequestSchema(Schema):
    """One action, one reason, for 1 to 1,000 items; `payout_id` for `link`."""

    item_ids = many(fields.Integer(strict=True), BATCH, min_items=1, required=True)
    action = choice(("link", "write_off", "repay"), required=True)
    reason = text(500, min_length=1, required=True)
    payout_id = fields.UUID(load_default=None)


class SignOffRequestSchema(Schema):
    note = text(500, min_length=1, required=True)


class ReconciliationsQuerySchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


# -- finance: bank files, statements, the ledger, payouts' trails, receipts ----------
# (console-finance; amounts are integers of minor units, in the currency's exponent)
PAYOUT_STATUSES = (
    "planned",
    "queued",
    "calling",
    "sent",
    "paid",
    "failed",
    "cancelled",
)
BANK_FILE_FORMATS = ("pain.001", "csv")
STATEMENT_PROBLEMS = ("unknown_reference", "currency_mismatch", "amount_mismatch")
ACCOUNT_KINDS = (
    "programme_funds",
    "programme_budget",
    "reservations",
    "stipends_payable",
    "provider_clearing",
    "fees",
)
ENTRY_KINDS = (
    "funding",
    "reservation",
    "commitment",
    "payout_sent",
    "payout_settled",
    "funding_reversal",
    "reservation_reversal",
    "commitment_reversal",
    "payout_sent_reversal",
    "payout_settled_reversal",
)
RECEIPT_PROBLEM_STATUSES = ("open", "resolved", "withdrawn")
RECEIPT_RESOLUTIONS = (
    "received_after_all",
    "paid_confirmed_by_provider",
    "payout_returned",
    "other",
)
LEDGER_ACCOUNT = 140  # "<kind>:<uuid or provider>"
STATEMENT_PAGE = 1000


class BankFileQuerySchema(Schema):
    """`pain.001`: an ISO 20022 pain.001.001.09 credit transfer file for the bank;
    `csv`: the same payments as a table."""

    format = choice(BANK_FILE_FORMATS, load_default="pain.001")


class BankFileSchema(Schema):
    """A run's bank file: its sent bank-transfer payouts with the payees' account
    details, read from the registry now (never stored). Keep it safe."""

    format = choice(BANK_FILE_FORMATS)
    filename = fields.String()
    media_type = choice(("application/xml", "text/csv"))
    content = fields.String()


class BankStatementRequestSchema(Schema):
    """The bank's statement as CSV text: reference, amount (major units), currency,
    status (booked or returned), fee (optional)."""

    content = text(CONTENT, min_length=1, required=True)


class StatementProblemSchema(Schema):
    reference = fields.String()
    problem = choice(STATEMENT_PROBLEMS)


class StatementImportSchema(Schema):
    """What the import did: payouts paid (booked lines), failed (returned lines),
    already settled (unchanged), and the lines it could not match."""

    paid = fields.Integer()
    returned = fields.Integer()
    unchanged = fields.Integer()
    problems = fields.List(fields.Nested(StatementProblemSchema))


class TrialBalanceAccountSchema(Schema):
    account = fields.String()
    kind = choice(ACCOUNT_KINDS)
    owner = fields.String(allow_none=True)
    currency = fields.String()
    debit_minor = fields.Integer()
    credit_minor = fields.Integer()
    balance_minor = fields.Integer()


class TrialBalanceTotalSchema(Schema):
    currency = fields.String()
    debit_minor = fields.Integer()
    credit_minor = fields.Integer()


class TrialBalanceSchema(Schema):
    """Every account's debits, credits and balance; per currency the debits and
    credits must agree (`balanced`)."""

    accounts = fields.List(fields.Nested(TrialBalanceAccountSchema))
    totals = fields.List(fields.Nested(TrialBalanceTotalSchema))
    balanced = fields.Boolean()


class AccountStatementQuerySchema(Schema):
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10**9))
    limit = fields.Integer(
        load_default=100, validate=validate.Range(min=1, max=STATEMENT_PAGE)
    )


class StatementLineSchema(Schema):
    entry_id = fields.Integer()
    kind = choice(ENTRY_KINDS)
    memo = fields.String()
    posted_at = fields.String()
    reverses = fields.Integer(allow_none=True)
    stipend_id = fields.String(allow_none=True)
    amount_minor = fields.Integer(metadata={"description": "a debit is positive"})
    balance_minor = fields.Integer(metadata={"description": "after this line"})


class AccountStatementSchema(Schema):
    """A page of an account's lines (`offset`, of `total_lines`), each with the
    running balance; `balance_minor` is the whole account's."""

    account = fields.String()
    kind = choice(ACCOUNT_KINDS)
    owner = fields.String(allow_none=True)
    currency = fields.String()
    balance_minor = fields.Integer()
    offset = fields.Integer()
    total_lines = fields.Integer()
    lines = fields.List(fields.Nested(StatementLineSchema))


class ReceiptProblemSchema(Schema):
    """A payee's "the money did not arrive" for a paid payout, and finance's
    resolution."""

    id = fields.String()
    payout_id = fields.String()
    run_id = fields.String()
    stipend_id = fields.String()
    communicator_id = fields.String()
    pseudonym = fields.String(allow_none=True)
    amount_minor = fields.Integer()
    currency = fields.String()
    provider = choice(PROVIDER_NAMES)
    provider_ref = fields.String(allow_none=True)
    payout_status = choice(PAYOUT_STATUSES)
    received = fields.Boolean()
    note = fields.String()
    answered_at = fields.String()
    status = choice(RECEIPT_PROBLEM_STATUSES, allow_none=True)
    opened_at = fields.String(allow_none=True)
    resolution = choice(RECEIPT_RESOLUTIONS, allow_none=True)
    resolution_note = fields.String(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    resolved_at = fields.String(allow_none=True)


class ReceiptProblemsQuerySchema(Schema):
    status = choice(RECEIPT_PROBLEM_STATUSES, load_default="open")


class ResolveReceiptRequestSchema(Schema):
    resolution = choice(RECEIPT_RESOLUTIONS, required=True)
    note = text(500, min_length=1, required=True)


class AuditLineSchema(Schema):
    """One line of a payout's trail: `action` is finance's action, a run's step
    (`run_…`), a ledger step, the payee's answer, or `provider_event:<type>`;
    `actor_id` is empty for what the system or the provider did."""

    at = fields.String()
    actor_id = fields.String(allow_none=True)
    action = fields.String()
    reason = fields.String()


class PayoutDetailSchema(PayoutSchema):
    """A payout with its audit trail (oldest first) and the payee's answer."""

    status = choice(PAYOUT_STATUSES)
    provider = choice(PROVIDER_NAMES)
    created_at = fields.String()
    receipt = fields.Nested(ReceiptProblemSchema, allow_none=True)
    audit = fields.List(fields.Nested(AuditLineSchema))
