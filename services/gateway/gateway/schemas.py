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
CURRENCY = 3  # ISO 4217
SECRET = 64  # an authenticator's key (base32)
MESSAGE_BODY = 20000  # a message of one's inbox, rendered from a short template


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


def formatted(kind: str, **kwargs: Any) -> Any:
    """A string in an answer written in a standard format (uuid, date, date-time,
    uri), said in the OpenAPI document; the services write it, so it is not
    parsed again here."""
    metadata = {"format": kind, **kwargs.pop("metadata", {})}
    return fields.String(metadata=metadata, **kwargs)


def uid(**kwargs: Any) -> Any:
    return formatted("uuid", **kwargs)


def stamp(**kwargs: Any) -> Any:
    """A moment, ISO 8601 with its offset (UTC)."""
    return formatted("date-time", **kwargs)


# The vocabularies a client meets, as the services define them (each service checks
# its own in depth; the OpenAPI document lists them as enums).
ROLES = ("program_admin", "finance", "club_coordinator", "communicator")
COMMUNICATOR_STATUSES = (
    "applied",
    "in_review",
    "active",
    "rejected",
    "suspended",
    "offboarded",
)
TIERS = ("volunteer", "professional")
PROVIDERS = ("stripe_connect", "stripe_global", "bank_file")
PAYOUT_SETUP = ("none", "pending", "ready")
CLUB_MODES = ("online", "offline")
CYCLE_STATUSES = ("open", "closed", "locked")
REPORT_STATUSES = ("draft", "submitted", "accepted", "rejected", "changes_requested")
AUDIENCES = ("family", "friends", "colleagues", "online_community")
REPORT_CHANNELS = (
    "in_person",
    "phone",
    "video",
    "messenger",
    "social_media",
    "email",
    "letter",
    "other",
)
OBSERVED_CHANGES = ("none", "some", "clear")
STIPEND_STATUSES = ("proposed", "approved", "rejected")
RUN_STATUSES = ("draft", "released", "cancelled")
PAYOUT_STATUSES = (
    "planned",
    "queued",
    "calling",
    "sent",
    "paid",
    "failed",
    "cancelled",
)
CONTACT_CHANNELS = ("email", "inbox", "telegram")
LANGUAGES = ("ru", "en")


# One alphabet per pseudonym, Latin or Cyrillic (the registry's rule, in
# registry/pseudonyms.py: a mix of look-alike letters is refused)
LATIN = "A-Za-z"
CYRILLIC = "\u0400-\u045f\u0490\u0491"
PSEUDONYM_PATTERN = (
    rf"^(?:[{LATIN}0-9][{LATIN}0-9_.-]{{2,29}}"
    rf"|[{CYRILLIC}0-9][{CYRILLIC}0-9_.-]{{2,29}})$"
)
PSEUDONYM_RULE = (
    "3 to 30 letters, digits, '.', '_' or '-', starting with a letter or digit; "
    "letters of one alphabet, Latin or Cyrillic (a mix of the two can look like "
    "someone else's: type it in one alphabet only)"
)


def pseudonym_field(**kwargs: Any) -> Any:
    return fields.String(
        validate=[
            validate.Length(max=PSEUDONYM),
            validate.Regexp(PSEUDONYM_PATTERN, error=PSEUDONYM_RULE),
        ],
        metadata={"description": PSEUDONYM_RULE},
        **kwargs,
    )


class ApplicationRequestSchema(Schema):
    """POST /api/v1/applications. The registry checks every field in depth; here
    only the shape, so that unknown fields are refused before anything travels."""

    pseudonym = pseudonym_field(required=True)
    legal_name = text(NAME, required=True)
    email = text(EMAIL, required=True)
    password = text(PASSWORD, load_only=True)  # optional: a login to follow it
    phone = text(PHONE, allow_none=True)
    messenger = text(NAME, allow_none=True)
    country = text(COUNTRY, required=True)
    city = text(NAME, required=True)
    languages = many(text(2), ITEMS)
    language = choice(LANGUAGES)
    club_id = text(ID, allow_none=True)
    motivation = text(MOTIVATION)
    referral = pseudonym_field(allow_none=True)
    consent_version = text(WORD, required=True)
    consent = fields.Boolean(required=True)


class ApplicationAcceptedSchema(Schema):
    status = choice(("received",))


class SignInRequestSchema(Schema):
    """POST /api/v1/session."""

    email = text(EMAIL, required=True)
    password = text(PASSWORD, required=True)
    code = text(CODE, allow_none=True)


class SecondFactorRequestSchema(Schema):
    code = text(CODE, required=True)


class ActorSchema(Schema):
    id = uid()
    roles = fields.List(choice(ROLES))


class SessionSchema(Schema):
    """A session: `ok` (signed in) or `enroll` (a second factor to set up first).
    Send `csrf_token` back as the X-CSRF-Token header on every POST, PUT and DELETE."""

    status = choice(("ok", "enroll"))
    actor = fields.Nested(ActorSchema)
    csrf_token = text(TOKEN)
    totp_secret = text(SECRET, allow_none=True)


class PayoutSetupSchema(Schema):
    """Stripe Connect: the hosted onboarding link; otherwise the next step
    (`bank_details` or `contact_programme`)."""

    provider = choice(PROVIDERS)
    onboarding_url = formatted("uri")
    next = choice(("bank_details", "contact_programme"))


class ErasureRequestSchema(Schema):
    reason = text(500, min_length=3, required=True)


class CommunicatorQuerySchema(Schema):
    """GET /api/v1/communicators: by pseudonym prefix or status, a page at a time.
    (No email in URLs: search by email with POST /api/v1/communicators/search.)"""

    pseudonym = text(PSEUDONYM, min_length=2)
    status = choice(COMMUNICATOR_STATUSES)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class EmailSearchSchema(Schema):
    email = text(EMAIL, required=True)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class CommunicatorSummarySchema(Schema):
    """What lists and a communicator's own status show: no personal field."""

    id = uid()
    pseudonym = text(PSEUDONYM)
    status = choice(COMMUNICATOR_STATUSES)
    tier = choice(TIERS)
    club_id = uid(allow_none=True)


class OwnStatusSchema(CommunicatorSummarySchema):
    """A communicator's own status, with where their payout set-up stands."""

    payout_setup = choice(
        PAYOUT_SETUP,
        metadata={"description": "none, pending (onboarding not finished) or ready"},
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
    id = uid()
    roles = fields.List(fields.String(validate=validate.OneOf(STAFF_ROLES)))
    state = fields.String(
        validate=validate.OneOf(("invited", "enrolling", "active", "disabled"))
    )
    last_sign_in_at = stamp(allow_none=True)
    second_factor_reset = fields.Dict(allow_none=True)


class ResolutionRequestSchema(Schema):
    outcome = choice(("same_person", "distinct"), required=True)
    note = text(REASON, required=True)


class ClubSchema(Schema):
    id = uid()
    name = text(NAME)
    country = text(COUNTRY)
    city = text(NAME, allow_none=True)
    mode = choice(CLUB_MODES)


class ClubMembersSchema(Schema):
    pseudonyms = fields.List(text(PSEUDONYM))


class CorridorSchema(Schema):
    country = text(COUNTRY)
    provider = choice(PROVIDERS)


class CorridorRequestSchema(Schema):
    provider = choice(PROVIDERS, required=True)


class DoneSchema(Schema):
    status = text(WORD)


# -- reports and stipends (the stipends service checks every field in depth) --------
class CycleSchema(Schema):
    id = uid()
    programme_id = uid()
    period = text(WORD)
    deadline = stamp()
    status = choice(CYCLE_STATUSES)
    closed_at = stamp(allow_none=True)
    locked_at = stamp(allow_none=True)


class ReportRequestSchema(Schema):
    """An activity report. The narrative is for outcomes, never for the identities
    of people inside Russia: phone numbers, emails, @handles and links are removed
    before it is stored, and the answer says what was removed."""

    conversations = fields.Integer(required=True)
    audiences = many(choice(AUDIENCES), ITEMS, required=True)
    channels = many(choice(REPORT_CHANNELS), ITEMS, required=True)
    topics = many(text(TOPIC), TOPICS)
    hours = fields.Integer(required=True)
    observed_change = choice(OBSERVED_CHANGES, required=True)
    narrative = text(NARRATIVE)


class ReportSchema(Schema):
    id = uid()
    cycle_id = uid()
    communicator_id = uid()
    conversations = fields.Integer()
    audiences = fields.List(choice(AUDIENCES))
    channels = fields.List(choice(REPORT_CHANNELS))
    topics = fields.List(text(TOPIC))
    hours = fields.Integer()
    observed_change = choice(OBSERVED_CHANGES)
    narrative = text(NARRATIVE)
    redactions = fields.List(text(WORD))
    status = choice(REPORT_STATUSES)
    late = fields.Boolean()
    submitted_at = stamp(allow_none=True)
    review_comment = text(REASON, allow_none=True)


class SavedReportSchema(Schema):
    report = fields.Nested(ReportSchema)
    redacted = fields.List(text(WORD))
    notice = text(REASON, allow_none=True)


class ReportQuerySchema(Schema):
    status = choice(REPORT_STATUSES)


class ReviewRequestSchema(Schema):
    decision = choice(("accepted", "rejected", "changes_requested"), required=True)
    comment = text(REASON)


class StipendSchema(Schema):
    id = uid()
    programme_id = uid()
    cycle_id = uid()
    communicator_id = uid()
    amount_minor = fields.Integer()
    currency = text(CURRENCY)
    reasons = fields.List(text(REASON))
    status = choice(STIPEND_STATUSES)
    proposed_by = text(WORD)
    approvals_needed = fields.Integer()
    approvals_given = fields.Integer()
    rejection_reason = text(REASON, allow_none=True)
    version = fields.Integer()
    digest = text(ID)
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
    subject = text(NAME)
    body = text(MESSAGE_BODY)
    created_at = stamp()
    read = fields.Boolean()


class PreferencesSchema(Schema):
    """How to be told: channels, language, quiet hours in one's own time zone;
    `discreet` can be turned off by staff only (communicators always get neutral
    messages with the details behind sign-in)."""

    language = choice(LANGUAGES, allow_none=True)
    channels = many(choice(CONTACT_CHANNELS), ITEMS)
    timezone = text(WORD, allow_none=True)
    quiet_start = text(WORD, allow_none=True)
    quiet_end = text(WORD, allow_none=True)
    discreet = fields.Boolean()


class ParkedDeliverySchema(Schema):
    id = fields.Integer()
    event_id = uid()
    recipient_id = uid()
    channel = choice(CONTACT_CHANNELS)
    template = text(WORD)
    attempts = fields.Integer()
    last_error = text(REASON)
    updated_at = stamp()


# -- payout runs (finance) ---------------------------------------------------------
class PayoutRunSchema(Schema):
    """A run with its control totals (count and sum per currency and provider); the
    releaser confirms them by sending back `totals_digest`."""

    id = uid()
    cycle_id = uid()
    programme_id = uid()
    status = choice(RUN_STATUSES)
    totals = fields.Raw()
    totals_digest = text(ID)
    created_by = uid()
    released_by = uid(allow_none=True)
    released_at = stamp(allow_none=True)
    payouts_by_status = fields.Dict(keys=fields.String(), values=fields.Integer())
    excluded = fields.List(fields.Raw())


class ReleaseRequestSchema(Schema):
    """`code`: a current code of the releaser's authenticator (a fresh second
    factor); `totals_digest`: the totals the releaser saw and confirms."""

    totals_digest = text(ID, required=True)
    code = text(CODE, required=True)


class PayoutSchema(Schema):
    id = uid()
    run_id = uid()
    stipend_id = uid()
    communicator_id = uid()
    amount_minor = fields.Integer()
    currency = text(CURRENCY)
    provider = choice(PROVIDERS)
    status = choice(PAYOUT_STATUSES)
    attempt = fields.Integer()
    idempotency_key = text(NAME)
    provider_ref = text(NAME, allow_none=True)
    fee_minor = fields.Integer(allow_none=True)
    failure_code = text(WORD, allow_none=True)
    retries = fields.Integer()
    deadline_at = stamp(allow_none=True)


class PayoutActionRequestSchema(Schema):
    action = choice(
        ("retry", "cancel", "mark_paid_offline", "mark_failed"), required=True
    )
    reason = text(REASON, required=True)


class OwnStipendSchema(Schema):
    """One line of a communicator's history: a stipend and its payment's state."""

    stipend_id = uid()
    period = text(WORD)
    amount_minor = fields.Integer()
    currency = text(CURRENCY)
    status = choice(STIPEND_STATUSES)
    payout_id = uid(
        allow_none=True,
        metadata={"description": "the latest payout of it, once a run pays it"},
    )
    payout_status = choice(PAYOUT_STATUSES, allow_none=True)
    failure_code = text(WORD, allow_none=True)
    receipt = fields.Nested(
        "OwnReceiptSchema",
        allow_none=True,
        metadata={"description": "one's answer about the payout; null until given"},
    )
    can_confirm_receipt = fields.Boolean(
        metadata={
            "description": "the payout is paid and finance has not resolved an "
            "answer about it: POST /api/v1/me/payouts/{payout_id}/receipt"
        }
    )


class ResetRequestSchema(Schema):
    """The same answer for every email: nobody learns who has an account."""

    email = text(EMAIL, required=True)


class NewPasswordSchema(Schema):
    """`token`: from the emailed link; `password`: at least 12 characters."""

    token = text(TOKEN, required=True)
    password = text(PASSWORD, required=True)


# -- reconciliation -----------------------------------------------------------------
PROVIDER_NAMES = PROVIDERS
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

    id = uid()
    provider = choice(PROVIDER_NAMES)
    period_start = formatted("date")
    period_end = formatted("date")
    source = choice(("api", "itemized_csv", "bank_statement"))
    status = choice(("open", "signed_off", "superseded"))
    provider_rows = fields.Integer()
    matched = fields.Integer()
    discrepancies = fields.Integer()
    open_items = fields.Integer()
    by_kind = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(keys=fields.String(), values=fields.Integer()),
    )
    created_by = uid()
    created_at = stamp(allow_none=True)
    signed_off_by = uid(allow_none=True)
    signed_off_at = stamp(allow_none=True)
    sign_off_note = text(500, allow_none=True)


class ReconciliationItemSchema(Schema):
    """One difference in the work queue (amounts in minor units)."""

    id = fields.Integer()
    kind = choice(DISCREPANCY_KINDS)
    payout_id = uid(allow_none=True)
    run_id = uid(allow_none=True)
    provider_ref = text(NAME, allow_none=True)
    ours_minor = fields.Integer(allow_none=True)
    theirs_minor = fields.Integer(allow_none=True)
    ours_currency = text(CURRENCY, allow_none=True)
    theirs_currency = text(CURRENCY, allow_none=True)
    state = choice(RECONCILIATION_ITEM_STATES)
    resolution = text(REASON, allow_none=True)
    linked_payout_id = uid(allow_none=True)
    resolved_by = uid(allow_none=True)
    resolved_at = stamp(allow_none=True)


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


# -- programmes, cycles and stipends for program admins (console-programmes) ---------
# The stipends service checks each value in depth; these state its limits so a
# client learns them from the OpenAPI document.
PROGRAMME_NAME = 120
MAX_MINOR = 10**12  # a budget or a funding, in minor units
MAX_STIPEND_MINOR = 10**9  # a tier amount or a stipend, in minor units
TIER_NAMES = ("volunteer", "professional")
CYCLE_STATUSES = ("open", "closed", "locked")
STIPEND_STATUSES = ("proposed", "approved", "rejected")
REPORT_STATUSES = ("draft", "submitted", "changes_requested", "accepted", "rejected")
IDEMPOTENCY_KEY = r"^[A-Za-z0-9_.:-]{8,64}$"
PERIOD = r"^20[0-9]{2}-(0[1-9]|1[0-2])$"
MAX_PAGE = 200
MAX_APPROVALS = 500


class TierAmountsSchema(Schema):
    """The stipend per cycle of each tier, in minor units."""

    volunteer = fields.Integer(
        strict=True, validate=validate.Range(min=0, max=MAX_STIPEND_MINOR)
    )
    professional = fields.Integer(
        strict=True, validate=validate.Range(min=0, max=MAX_STIPEND_MINOR)
    )


def tier_amounts(**kwargs: Any) -> Any:
    return fields.Nested(TierAmountsSchema, **kwargs)


class BandSchema(Schema):
    """Stipends up to `up_to_minor` (inclusive) need `approvers` people; exactly one
    band is open-ended (`up_to_minor: null`), and a larger amount never needs
    fewer."""

    up_to_minor = fields.Integer(
        strict=True,
        required=True,
        allow_none=True,
        validate=validate.Range(min=1, max=MAX_STIPEND_MINOR),
    )
    approvers = fields.Integer(
        strict=True, required=True, validate=validate.Range(min=1, max=5)
    )


def bands(**kwargs: Any) -> Any:
    return many(fields.Nested(BandSchema), 10, min_items=1, **kwargs)


class ProgrammeRequestSchema(Schema):
    """A new programme. Amounts in minor units of `currency` (ISO 4217, fixed once
    created); the budget grows by funding (POST …/funding)."""

    name = text(PROGRAMME_NAME, min_length=3, required=True)
    currency = fields.String(
        required=True,
        validate=[validate.Length(min=3, max=3), validate.Regexp(r"^[A-Z]{3}$")],
        metadata={"description": "ISO 4217 code, e.g. EUR"},
    )
    tier_amounts = tier_amounts(required=True)
    min_accepted_reports = fields.Integer(
        strict=True, load_default=1, validate=validate.Range(min=0, max=31)
    )
    min_conversations = fields.Integer(
        strict=True, load_default=0, validate=validate.Range(min=0, max=10_000)
    )
    training_required = fields.Boolean(load_default=True)
    approval_bands = bands(
        load_default=None,
        allow_none=True,
        metadata={"description": "null: up to 300.00 one approver, above it two"},
    )


class ProgrammeChangesRequestSchema(Schema):
    """What may change, each optional, as of `version` (the programme's version the
    client read): a stale version is 409 `programme_changed`. The currency never
    changes; the budget only by funding."""

    version = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    name = text(PROGRAMME_NAME, min_length=3)
    tier_amounts = tier_amounts()
    min_accepted_reports = fields.Integer(
        strict=True, validate=validate.Range(min=0, max=31)
    )
    min_conversations = fields.Integer(
        strict=True, validate=validate.Range(min=0, max=10_000)
    )
    training_required = fields.Boolean()
    approval_bands = bands()


class ProgrammeSchema(Schema):
    """A programme and its money in minor units: `budget_minor` funded so far,
    `reserved_minor` approved and not yet paid, `spent_minor` paid,
    `available_minor` free for new approvals."""

    id = uid()
    name = text(NAME)
    currency = text(CURRENCY)
    budget_minor = fields.Integer()
    reserved_minor = fields.Integer()
    spent_minor = fields.Integer()
    available_minor = fields.Integer()
    tier_amounts = fields.Dict(keys=fields.String(), values=fields.Integer())
    min_accepted_reports = fields.Integer()
    min_conversations = fields.Integer()
    training_required = fields.Boolean()
    approval_bands = fields.List(fields.Nested(BandSchema))
    version = fields.Integer()


class FundingRequestSchema(Schema):
    """Add `amount_minor` to the budget once per idempotency key: a uuid the client
    chooses for this one funding, sent in the `Idempotency-Key` header or as
    `idempotency_key` here (the header wins). The same key again funds nothing and
    answers the same; the same key for another amount or programme is 409
    `idempotency_key_reused`."""

    amount_minor = fields.Integer(
        strict=True, required=True, validate=validate.Range(min=1, max=MAX_MINOR)
    )
    idempotency_key = fields.String(
        load_default=None,
        validate=[validate.Length(min=8, max=64), validate.Regexp(IDEMPOTENCY_KEY)],
    )


class CycleRequestSchema(Schema):
    """A reporting cycle: `period` YYYY-MM, one per programme; `deadline` with its
    time zone (ISO 8601), after which reports are late."""

    period = fields.String(
        required=True,
        validate=[validate.Length(min=7, max=7), validate.Regexp(PERIOD)],
    )
    deadline = text(
        WORD,
        required=True,
        metadata={"format": "date-time", "description": "ISO 8601 with its offset"},
    )


class CycleProgressSchema(Schema):
    cycle = fields.Nested(CycleSchema)
    deadline = stamp()
    deadline_passed = fields.Boolean()
    reports_by_status = fields.Dict(
        keys=choice(REPORT_STATUSES), values=fields.Integer()
    )
    reports_total = fields.Integer()
    communicators_with_report = fields.Integer()
    communicators_submitted = fields.Integer()
    late_reports = fields.Integer()
    active_communicators = fields.Integer()


class BlockerSchema(Schema):
    code = text(
        WORD,
        metadata={"description": "e.g. deadline_not_passed, reports_awaiting_review"},
    )
    message = text(REASON)


class ProposalSchema(Schema):
    communicator_id = uid()
    pseudonym = text(NAME, allow_none=True)
    tier = choice(TIER_NAMES)
    eligible = fields.Boolean()
    amount_minor = fields.Integer()
    approvals_needed = fields.Integer()
    reasons = fields.List(text(REASON))
    not_eligible_because = fields.List(text(REASON))


class ClosePreviewSchema(Schema):
    """What closing the cycle now would propose; nothing is written."""

    cycle = fields.Nested(CycleSchema)
    can_close = fields.Boolean()
    blockers = fields.List(fields.Nested(BlockerSchema))
    entitlements = fields.List(fields.Nested(ProposalSchema))
    eligible_count = fields.Integer()
    not_eligible_count = fields.Integer()
    proposed_minor = fields.Integer()
    currency = text(CURRENCY)
    available_minor = fields.Integer()


class EntitlementSchema(Schema):
    communicator_id = uid()
    eligible = fields.Boolean()
    amount_minor = fields.Integer()
    reasons = fields.List(text(REASON))
    stipend_id = uid(allow_none=True)


class ClosedCycleSchema(Schema):
    cycle = fields.Nested(CycleSchema)
    entitlements = fields.List(fields.Nested(EntitlementSchema))


class StipendsQuerySchema(Schema):
    status = choice(STIPEND_STATUSES)
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10**6))
    limit = fields.Integer(
        load_default=50, validate=validate.Range(min=1, max=MAX_PAGE)
    )


class PageApprovalSchema(Schema):
    approver_id = uid()
    slot = fields.Integer()
    approved_at = stamp()
    voided_at = stamp(allow_none=True)


class StipendRowSchema(Schema):
    id = uid()
    programme_id = uid()
    cycle_id = uid()
    communicator_id = uid()
    pseudonym = text(NAME, allow_none=True)
    amount_minor = fields.Integer()
    currency = text(CURRENCY)
    reasons = fields.List(text(REASON))
    status = choice(STIPEND_STATUSES)
    proposed_by = uid()
    approvals_needed = fields.Integer()
    approvals_given = fields.Integer()
    rejection_reason = text(REASON, allow_none=True)
    version = fields.Integer()
    digest = text(
        ID,
        allow_none=True,
        metadata={"description": "what an approval binds to (proposed stipends)"},
    )
    approvals = fields.List(fields.Nested(PageApprovalSchema))
    mine = fields.Boolean(metadata={"description": "you hold a standing approval"})


class StipendsPageSchema(Schema):
    """One page of a cycle's stipends; `total` (of the filter) and `counts` (by
    status) over the whole cycle."""

    items = fields.List(fields.Nested(StipendRowSchema))
    total = fields.Integer()
    counts = fields.Dict(keys=choice(STIPEND_STATUSES), values=fields.Integer())


class ApprovalItemSchema(Schema):
    stipend_id = fields.UUID(required=True)
    digest = text(ID, min_length=64, required=True)


class ApproveManyRequestSchema(Schema):
    """1 to 500 approvals, each bound to the digest the approver was shown and each
    checked on its own (segregation of duties, the budget, a stale digest)."""

    approvals = many(
        fields.Nested(ApprovalItemSchema), MAX_APPROVALS, min_items=1, required=True
    )


class ApprovalOutcomeSchema(Schema):
    stipend_id = uid()
    outcome = choice(("approved", "refused"))
    slot = fields.Integer(allow_none=True)
    code = text(
        WORD,
        allow_none=True,
        metadata={
            "description": "why refused: own_proposal, second_slot, "
            "payee_changed, over_budget, …"
        },
    )
    message = text(REASON, allow_none=True)


class AmendRequestSchema(Schema):
    """A new amount (minor units) for a proposed stipend, with the reason; its
    approvals so far are voided."""

    amount_minor = fields.Integer(
        strict=True,
        required=True,
        validate=validate.Range(min=1, max=MAX_STIPEND_MINOR),
    )
    reason = text(REASON, min_length=1, required=True)


class ActivityLineSchema(Schema):
    at = stamp(allow_none=True)
    actor_id = uid(allow_none=True)
    action = text(WORD)
    detail = text(REASON)


# -- a communicator's own payments: whether a paid payout arrived (console-me) -------
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
RECEIPT_NOTE = 500


class ReceiptRequestSchema(Schema):
    """`received`: true, it arrived; false, it did not (finance's queue gets it).
    `note`: what the payee sees, for finance (never bank details)."""

    received = fields.Boolean(required=True)
    note = text(RECEIPT_NOTE, load_default="")


class OwnReceiptSchema(Schema):
    """The payee's answer about a paid payout, and where finance stands with it."""

    payout_id = uid()
    received = fields.Boolean()
    note = text(RECEIPT_NOTE)
    answered_at = stamp()
    problem_status = choice(RECEIPT_PROBLEM_STATUSES, allow_none=True)
    resolution = choice(RECEIPT_RESOLUTIONS, allow_none=True)
    resolved_at = stamp(allow_none=True)


# -- clubs, trainings, staff and oversight (program admins; console-oversight) -----
CLUB_MODES = ("online", "offline")
STAFF_STATES = ("invited", "enrolling", "active", "disabled")
MEMBER_STATUSES = ("active", "suspended")
COMPLETIONS = 500  # ids in one bulk recording of training completions
COMPLETION_REFUSALS = ("invalid_id", "unknown_communicator", "not_member")
PARKED_SERVICES = ("registry", "stipends", "notifications")
PARKED_KINDS = ("event", "rpc_request", "unknown")
PARKED_SUBJECTS = ("bus_message", "delivery")
PARKED_ACTIONS = ("retry", "discard")
PARKED_REASONS = (
    "replayed_copy",
    "refused",
    "malformed",
    "failed",
    "broker_expired",
    "broker_delivery_limit",
    "broker_rejected",
    "broker_maxlen",
    "broker_other",
    "unknown",
)
PARKED_WHY_NOT = ("replayed_copy", "rpc_request", "unsigned", "other")
PARKED_OUTCOMES = ("started", "retried", "discarded", "not_found", "refused", "failed")
DELIVERY_ERRORS = (
    "no_address",
    "recipient_refused",
    "channel_not_configured",
    "registry_unavailable",
    "channel_failed",
    "other",
)
ACTIVITY_ACTIONS = (
    "applied",
    "activation_approved",
    "review_item_opened",
    "review_item_resolved",
    "status_changed",
    "tier_changed",
    "erased",
    "training_completed",
    "payout_setup_state",
)
COUNTRY_CODE = validate.Regexp(r"^[A-Z]{2}$", error="two capital letters (ISO 3166)")


class ClubRequestSchema(Schema):
    """A new club. Name a coordinator afterwards (PUT …/coordinator) from the
    staff accounts that hold the club_coordinator role."""

    name = text(80, 2, required=True)
    country = fields.String(
        required=True,
        validate=[validate.Length(min=COUNTRY, max=COUNTRY), COUNTRY_CODE],
    )
    city = text(80, allow_none=True, load_default=None)
    mode = choice(CLUB_MODES, required=True)


class ClubChangesRequestSchema(Schema):
    """Any of a club's fields to change (at least one)."""

    name = text(80, 2)
    country = fields.String(
        validate=[validate.Length(min=COUNTRY, max=COUNTRY), COUNTRY_CODE]
    )
    city = text(80, allow_none=True)
    mode = choice(CLUB_MODES)


class AdminClubSchema(Schema):
    """A club as admins see it: with its coordinator's staff account id."""

    id = uid()
    name = text(NAME)
    country = fields.String(
        validate=[validate.Length(min=COUNTRY, max=COUNTRY), COUNTRY_CODE]
    )
    city = text(NAME, allow_none=True)
    mode = fields.String(validate=validate.OneOf(CLUB_MODES))
    coordinator_id = uid(allow_none=True)


class CoordinatorRequestSchema(Schema):
    """A staff account that is enabled, has accepted its invitation and holds the
    club_coordinator role (GET /api/v1/staff lists them)."""

    account_id = fields.UUID(required=True)


class ClubMemberSchema(Schema):
    id = uid()
    pseudonym = text(NAME)
    status = fields.String(validate=validate.OneOf(MEMBER_STATUSES))


class ClubMemberListSchema(Schema):
    """A club's members: `pseudonyms` as before, and `members` with their ids (for
    recording training completions); never a personal field."""

    pseudonyms = fields.List(text(NAME))
    members = fields.List(fields.Nested(ClubMemberSchema))


class TrainingRequestSchema(Schema):
    """A training seminar, for one club (`club_id`) or for everyone (null)."""

    title = text(120, 2, required=True)
    held_on = fields.Date(required=True)
    club_id = fields.UUID(load_default=None, allow_none=True)


class TrainingSchema(Schema):
    id = uid()
    title = text(NAME)
    held_on = fields.String(metadata={"format": "date"})
    club_id = uid(allow_none=True)
    completions = fields.Integer()


class NewTrainingSchema(Schema):
    id = uid()
    title = text(NAME)


class CompletionsRequestSchema(Schema):
    """Communicators who completed the training: admins may name anyone on record,
    a coordinator only members of the training's own club."""

    communicator_ids = many(text(ID), COMPLETIONS, 1, required=True)


class CompletionRefusalSchema(Schema):
    communicator_id = uid()
    code = fields.String(validate=validate.OneOf(COMPLETION_REFUSALS))
    message = text(REASON)


class CompletionsSchema(Schema):
    """`recorded`: new completions; `already`: recorded before; `refused`: each id
    that could not be recorded, with why."""

    recorded = fields.Integer()
    already = fields.Integer()
    refused = fields.List(fields.Nested(CompletionRefusalSchema))


class StaffInvitedSchema(Schema):
    id = uid()
    roles = fields.List(fields.String(validate=validate.OneOf(STAFF_ROLES)))


class StaffSwitchedSchema(Schema):
    id = uid()
    disabled = fields.Boolean()


class FactorResetSchema(Schema):
    """A second-factor reset waiting for a second admin's approval."""

    id = uid()
    account_id = uid()


class FactorResetApprovedSchema(Schema):
    id = uid(metadata={"description": "the staff account's id"})
    second_factor = fields.String(validate=validate.OneOf(("reset",)))


class ReviewItemSchema(Schema):
    """An open dedup review item: the two applicants by pseudonym."""

    id = uid()
    kind = fields.String(
        validate=validate.OneOf(("email", "phone", "payout_destination"))
    )
    communicator = text(NAME, allow_none=True)
    other = text(NAME, allow_none=True)
    status = text(WORD)


class ResolvedItemSchema(Schema):
    id = uid()
    status = text(WORD)


class ActivityEntrySchema(Schema):
    """One step of a communicator record's trail. `actor_id`: a staff account, the
    communicator themself, or null for the system; `detail` holds codes, ids and
    titles only, never free text."""

    at = fields.String(metadata={"format": "date-time"})
    actor_id = uid(allow_none=True)
    action = fields.String(validate=validate.OneOf(ACTIVITY_ACTIONS))
    detail = fields.Dict(keys=text(REASON), values=text(REASON))


class AccessLogQuerySchema(Schema):
    """Filters of the access log: whose record (a communicator's exact pseudonym),
    who read it (a staff account's id), and the days [since, until]."""

    pseudonym = text(PSEUDONYM, 2)
    reader_id = fields.UUID()
    since = fields.Date()
    until = fields.Date()
    offset = fields.Integer(
        load_default=0, validate=validate.Range(min=0, max=10_000_000)
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class AccessLogItemSchema(Schema):
    """One read of personal data: who (a staff account and role, or a service),
    whose (a pseudonym, or a staff account for a staff email), which field, why.
    Never the value."""

    id = fields.Integer()
    at = fields.String(metadata={"format": "date-time"})
    reader_id = uid(allow_none=True)
    reader_roles = fields.List(text(WORD), allow_none=True)
    reader_service = text(WORD, allow_none=True)
    subject = fields.String(validate=validate.OneOf(("communicator", "staff")))
    communicator_id = uid(allow_none=True)
    pseudonym = text(NAME, allow_none=True)
    staff_account_id = uid(allow_none=True)
    field = text(WORD)
    purpose = text(REASON)


class AccessLogPageSchema(Schema):
    items = fields.List(fields.Nested(AccessLogItemSchema))
    total = fields.Integer()
    offset = fields.Integer()
    limit = fields.Integer()


class AccessLogCheckSchema(Schema):
    """The access log's hash chain walked from its first row: `intact` when no row
    was changed, removed or cut from its end; `problems` names each row that was."""

    intact = fields.Boolean()
    rows = fields.Integer()
    problems = fields.List(text(REASON))


class ParkedReasonSchema(Schema):
    """Why: saved with the action in the service's audit (parked_actions)."""

    reason = text(500, 3, required=True)


class ParkedDeliveryOutSchema(Schema):
    """A notification that could not be delivered: the channel, the message
    (template), how often it was tried, the kind of error. Never an address."""

    id = fields.Integer()
    event_id = uid()
    recipient_id = uid()
    channel = fields.String(validate=validate.OneOf(("email", "inbox", "telegram")))
    template = text(WORD)
    purpose = text(REASON)
    attempts = fields.Integer()
    last_error = text(REASON)
    error_kind = fields.String(validate=validate.OneOf(DELIVERY_ERRORS))
    updated_at = fields.String(metadata={"format": "date-time"})


class DeliveryActedSchema(Schema):
    id = fields.Integer()
    status = fields.String(validate=validate.OneOf(("pending", "discarded")))


class QueueDepthSchema(Schema):
    queue = text(NAME)
    dead_letter_queue = text(NAME)
    depth = fields.Integer()


class ParkedMessageSchema(Schema):
    """A parked bus message: where from, why, when, how often, whether a retry can
    work (`why_not` says why not). Nothing of its body."""

    id = uid()
    queue = text(NAME)
    dead_letter_queue = text(NAME)
    kind = fields.String(validate=validate.OneOf(PARKED_KINDS))
    route = text(NAME)
    event_id = uid(allow_none=True)
    signer = text(WORD, allow_none=True)
    signed_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    reason = text(REASON)
    parked_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    attempts = fields.Integer()
    times_parked = fields.Integer()
    retryable = fields.Boolean()
    why_not = text(REASON, allow_none=True)
    reason_kind = fields.String(
        validate=validate.OneOf(PARKED_REASONS),
        metadata={"description": "why it was parked, as a code"},
    )
    why_not_kind = fields.String(
        allow_none=True,
        validate=validate.OneOf(PARKED_WHY_NOT),
        metadata={"description": "why it cannot be retried, as a code"},
    )


class ServiceParkedSchema(Schema):
    """One service's dead-letter queues; `available` false when it did not answer."""

    service = fields.String(validate=validate.OneOf(PARKED_SERVICES))
    available = fields.Boolean()
    queues = fields.List(fields.Nested(QueueDepthSchema))
    messages = fields.List(fields.Nested(ParkedMessageSchema))


class MessageActedSchema(Schema):
    service = fields.String(validate=validate.OneOf(PARKED_SERVICES))
    message = fields.Nested(ParkedMessageSchema)
    outcome = fields.String(validate=validate.OneOf(("retried", "discarded")))


class ParkedActionSchema(Schema):
    """One audited retry or discard, in the service that holds the work."""

    service = fields.String(validate=validate.OneOf(PARKED_SERVICES))
    id = fields.Integer()
    at = fields.String(metadata={"format": "date-time"})
    actor_id = uid()
    actor_roles = text(WORD)
    subject = fields.String(validate=validate.OneOf(PARKED_SUBJECTS))
    subject_id = uid()
    action = fields.String(validate=validate.OneOf(PARKED_ACTIONS))
    reason = text(REASON)
    queue = text(NAME, allow_none=True)
    route = text(NAME, allow_none=True)
    outcome = fields.String(validate=validate.OneOf(PARKED_OUTCOMES))
    detail = text(REASON, allow_none=True)
    finished_at = fields.String(allow_none=True, metadata={"format": "date-time"})


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
    filename = text(NAME)
    media_type = choice(("application/xml", "text/csv"))
    content = text(CONTENT)


class BankStatementRequestSchema(Schema):
    """The bank's statement as CSV text: reference, amount (major units), currency,
    status (booked or returned), fee (optional)."""

    content = text(CONTENT, min_length=1, required=True)


class StatementProblemSchema(Schema):
    reference = text(NAME)
    problem = choice(STATEMENT_PROBLEMS)


class StatementImportSchema(Schema):
    """What the import did: payouts paid (booked lines), failed (returned lines),
    already settled (unchanged), and the lines it could not match."""

    paid = fields.Integer()
    returned = fields.Integer()
    unchanged = fields.Integer()
    problems = fields.List(fields.Nested(StatementProblemSchema))


class TrialBalanceAccountSchema(Schema):
    account = text(WORD)
    kind = choice(ACCOUNT_KINDS)
    owner = text(REASON, allow_none=True)
    currency = text(CURRENCY)
    debit_minor = fields.Integer()
    credit_minor = fields.Integer()
    balance_minor = fields.Integer()


class TrialBalanceTotalSchema(Schema):
    currency = text(CURRENCY)
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
    memo = text(REASON)
    posted_at = stamp()
    reverses = fields.Integer(allow_none=True)
    stipend_id = uid(allow_none=True)
    amount_minor = fields.Integer(metadata={"description": "a debit is positive"})
    balance_minor = fields.Integer(metadata={"description": "after this line"})


class AccountStatementSchema(Schema):
    """A page of an account's lines (`offset`, of `total_lines`), each with the
    running balance; `balance_minor` is the whole account's."""

    account = text(WORD)
    kind = choice(ACCOUNT_KINDS)
    owner = text(REASON, allow_none=True)
    currency = text(CURRENCY)
    balance_minor = fields.Integer()
    offset = fields.Integer()
    total_lines = fields.Integer()
    lines = fields.List(fields.Nested(StatementLineSchema))


class ReceiptProblemSchema(Schema):
    """A payee's "the money did not arrive" for a paid payout, and finance's
    resolution."""

    id = uid()
    payout_id = uid()
    run_id = uid()
    stipend_id = uid()
    communicator_id = uid()
    pseudonym = text(NAME, allow_none=True)
    amount_minor = fields.Integer()
    currency = text(CURRENCY)
    provider = choice(PROVIDER_NAMES)
    provider_ref = text(NAME, allow_none=True)
    payout_status = choice(PAYOUT_STATUSES)
    received = fields.Boolean()
    note = text(REASON)
    answered_at = stamp()
    status = choice(RECEIPT_PROBLEM_STATUSES, allow_none=True)
    opened_at = stamp(allow_none=True)
    resolution = choice(RECEIPT_RESOLUTIONS, allow_none=True)
    resolution_note = text(REASON, allow_none=True)
    resolved_by = uid(allow_none=True)
    resolved_at = stamp(allow_none=True)


class ReceiptProblemsQuerySchema(Schema):
    status = choice(RECEIPT_PROBLEM_STATUSES, load_default="open")


class ResolveReceiptRequestSchema(Schema):
    resolution = choice(RECEIPT_RESOLUTIONS, required=True)
    note = text(500, min_length=1, required=True)


class AuditLineSchema(Schema):
    """One line of a payout's trail: `action` is finance's action, a run's step
    (`run_…`), a ledger step, the payee's answer, or `provider_event:<type>`;
    `actor_id` is empty for what the system or the provider did."""

    at = stamp()
    actor_id = uid(allow_none=True)
    action = text(WORD)
    reason = text(REASON)


class PayoutDetailSchema(PayoutSchema):
    """A payout with its audit trail (oldest first) and the payee's answer."""

    status = choice(PAYOUT_STATUSES)
    provider = choice(PROVIDER_NAMES)
    created_at = stamp()
    receipt = fields.Nested(ReceiptProblemSchema, allow_none=True)
    audit = fields.List(fields.Nested(AuditLineSchema))
