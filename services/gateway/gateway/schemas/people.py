"""Schemas of people: applying, the session, communicators, staff, clubs and
trainings, the access log and the dedup review items."""

from collections.abc import Callable
from typing import Any

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)

from gateway.schemas.base import (
    ACCOUNT_TEXT,
    ACTIVITY_ACTIONS,
    CITY,
    CLUB_MODES,
    CODE,
    COMMUNICATOR_STATUSES,
    COMPLETION_REFUSALS,
    COUNTRY,
    EMAIL,
    HANDLE,
    ID,
    LANGUAGES,
    LEGAL_NAME,
    MEMBER_STATUSES,
    MOTIVATION,
    NAME,
    NAME_ON_ACCOUNT,
    PASSWORD,
    PASSWORD_MIN,
    PAYOUT_SETUP,
    PHONE,
    PROVIDERS,
    PSEUDONYM,
    REASON,
    ROLES,
    SECRET,
    STAFF_ROLES,
    TIERS,
    TOKEN,
    VOUCH_ANSWERS,
    VOUCH_STATES,
    WORD,
    choice,
    formatted,
    many,
    matching,
    pseudonym_field,
    stamp,
    text,
    uid,
)
from svyaz import banking
from svyaz.countries import iso_country
from svyaz.days import plausible_day
from svyaz.vocabulary import SPOKEN


class ApplicationRequestSchema(Schema):
    """POST /api/v1/applications: the registry's own rules for each field (it
    checks them again), so that every refused field is named in one answer and
    unknown fields are refused before anything travels. Text is taken without the
    spaces around it, as the registry takes it."""

    @pre_load
    def _strip(self, data: Any, **_: object) -> Any:
        if isinstance(data, dict):
            return {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
        return data

    pseudonym = pseudonym_field(required=True)
    legal_name = text(LEGAL_NAME, 2, required=True)
    email = fields.Email(required=True, validate=validate.Length(max=EMAIL))
    # optional: without one, POST /api/v1/password-resets with the same email sets
    # the first (said in the OpenAPI document)
    password = text(
        PASSWORD,
        PASSWORD_MIN,
        load_only=True,
        metadata={
            "description": "optional: the sign-in to follow the application; "
            "without one, a password reset with the same email sets the first"
        },
    )
    phone = matching(
        r"^\+?[0-9][0-9 ()-]{6,22}$",
        "a phone number such as +995 555 12 34 56",
        PHONE,
        allow_none=True,
    )
    messenger = text(64, allow_none=True)
    country = matching(
        r"^[A-Z]{2}$",
        "a two-letter country code in capitals, such as DE",
        COUNTRY,
        required=True,
    )
    city = text(CITY, 1, required=True)
    languages = many(choice(SPOKEN), 10, 1)
    language = choice(LANGUAGES)
    club_id = matching(  # sent on as text
        r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$",
        "not a valid id",
        ID,
        allow_none=True,
        metadata={
            "format": "uuid",
            "description": "optional: the club you ask to join, its id as its "
            "coordinator gives it (400 unknown_club when there is none); you "
            "belong to it once accepted, and admins may change it",
        },
    )
    motivation = text(MOTIVATION)
    referral = pseudonym_field(allow_none=True)
    consent_version = text(20, 1, required=True)
    consent = fields.Boolean(
        required=True,
        validate=validate.Equal(True, error="consent to the consent text is required"),
    )


class ApplicationAcceptedSchema(Schema):
    status = choice(("received",))


class NamedCountrySchema(Schema):
    country = text(COUNTRY, metadata={"description": "ISO 3166-1 alpha-2"})
    name = text(NAME, metadata={"description": "in the reader's language"})


class NamedLanguageSchema(Schema):
    code = choice(SPOKEN)
    name = text(NAME, metadata={"description": "in the reader's language"})


class ApplicationFormSchema(Schema):
    """GET /api/v1/application-form: what an application is made of."""

    consent_version = text(20, metadata={"description": "send it as consent_version"})
    consent_text = text(
        10_000,
        metadata={
            "description": "what `consent: true` agrees to, in the reader's language"
        },
    )
    countries = fields.List(
        fields.Nested(NamedCountrySchema),
        metadata={
            "description": "the countries where Svyaz can pay people: `country` must "
            "be one of them (else 400 unknown_country)"
        },
    )
    languages = fields.List(
        fields.Nested(NamedLanguageSchema),
        metadata={"description": "what `languages` takes"},
    )
    contact = formatted(
        "email",
        metadata={
            "description": "where to write with a question, e.g. when the country "
            "you live in is not among `countries` yet"
        },
    )


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
    status = choice(
        ("none", "pending", "ready"),
        metadata={
            "description": "where the set-up stands: `ready` means payments can be "
            "made (the bank details or the Stripe account are complete; the link "
            "or the form is then only to change them), `pending` that the provider "
            "is still checking"
        },
    )


class PayoutSetupStatusSchema(Schema):
    """Where the payout set-up stands, asked of the provider just now."""

    status = choice(
        ("none", "pending", "ready"),
        metadata={
            "description": "`ready`: payments can be made; `pending`: the provider "
            "is still checking, or the hosted page was not finished; `none`: not "
            "started"
        },
    )


def _account(check: Callable[[str], str]) -> Callable[[str], None]:
    """A field checked as svyaz.banking checks it (the registry checks again)."""

    def run(value: str) -> None:
        try:
            check(value)
        except banking.AccountRefused as refused:
            raise ValidationError(refused.message) from None

    return run


class BankDetailsRequestSchema(Schema):
    """POST /api/v1/me/bank-details, when the payout set-up's next step is
    `bank_details`. The IBAN is checked by its country's length and structure and
    its check digits, the BIC by its shape and country; spaces and lower case are
    fine. A refusal says what to fix and never repeats the value."""

    holder = text(NAME_ON_ACCOUNT, min_length=2, required=True)
    iban = fields.String(
        required=True,
        validate=[validate.Length(max=ACCOUNT_TEXT), _account(banking.iban)],
        metadata={"example": "GE29 NB00 0000 0101 9049 17"},
    )
    bic = fields.String(
        required=True,
        validate=[validate.Length(max=ACCOUNT_TEXT), _account(banking.bic)],
        metadata={
            "example": "NBGEGE22",
            "description": "the BIC of the bank that holds the account: of the "
            "IBAN's country",
        },
    )

    @validates_schema(skip_on_field_errors=True)
    def _one_country(self, data: dict[str, Any], **_: Any) -> None:
        try:
            banking.account(data["iban"], data["bic"])
        except banking.AccountRefused as refused:
            raise ValidationError(refused.message, refused.field) from None


class BankDetailsSavedSchema(Schema):
    status = choice(("ready",))


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


class DecisionResultSchema(CommunicatorSummarySchema):
    """A vetting step's answer: the person as they are now; after an approval,
    also where the activation stands."""

    approvals_given = fields.Integer(
        metadata={"description": "after `approve`: the admins who approved so far"}
    )
    approvals_needed = fields.Integer(
        metadata={
            "description": "after `approve`: how many it needs (fewer with a vouch); "
            "the status is `active` once they are given"
        }
    )


class OwnStatusSchema(CommunicatorSummarySchema):
    """A communicator's own status, with where their payout set-up stands."""

    payout_setup = choice(
        PAYOUT_SETUP,
        metadata={"description": "none, pending (onboarding not finished) or ready"},
    )
    vouch_requests = fields.Integer(
        metadata={
            "description": "vouch requests waiting for this member's answer "
            "(GET /api/v1/me/vouches)"
        }
    )


class VouchRequestOutSchema(Schema):
    """A request to vouch for an applicant, as the member named sees it: the
    pseudonym the applicant chose and, while the request waits, the city they gave
    (never a name or a contact). It can be answered once, until `expires_at`."""

    id = uid()
    applicant = text(PSEUDONYM)
    city = text(NAME, allow_none=True)
    state = choice(VOUCH_STATES)
    requested_at = stamp()
    expires_at = stamp()
    decided_at = stamp(allow_none=True)
    can_answer = fields.Boolean()


class VouchAnswerRequestSchema(Schema):
    """`answer`: confirm (you know this person and stand for them) or decline."""

    answer = choice(VOUCH_ANSWERS, required=True)


class VouchAnsweredSchema(Schema):
    id = uid()
    state = choice(VOUCH_STATES)


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
    reason = text(1000, 3, required=True)  # as the registry keeps it


# the name admins see a staff account by: 2 to 40 characters, no email address
HANDLE_PATTERN = r"^[^\x00-\x1f\x7f<>@]+$"
HANDLE_ERROR = "2 to 40 letters, digits, spaces or punctuation; no email address"


class StaffInvitationRequestSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=EMAIL))
    roles = many(choice(STAFF_ROLES), len(STAFF_ROLES), 1, required=True)
    # the name admins will see them by: a first name or a nickname, 2 to 40
    # characters, no email address (it is not sealed, as the email is)
    handle = matching(HANDLE_PATTERN, HANDLE_ERROR, HANDLE, 2, load_default=None)
    language = choice(
        LANGUAGES,
        metadata={
            "description": "the language of the invitation mail and of their "
            "password-reset mails (Russian when not given)"
        },
    )


class StaffRenameRequestSchema(Schema):
    handle = matching(HANDLE_PATTERN, HANDLE_ERROR, HANDLE, 2, required=True)


class StaffRenamedSchema(Schema):
    id = uid()
    handle = text(HANDLE)


class SecondFactorResetRequestSchema(Schema):
    reason = text(REASON, 3, required=True)


class StaffMemberSchema(Schema):
    id = uid()
    handle = text(HANDLE, allow_none=True)
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


class ResetRequestSchema(Schema):
    """The same answer for every email: nobody learns who has an account."""

    email = text(EMAIL, required=True)


class NewPasswordSchema(Schema):
    """`token`: from the emailed link; `password`: 12 to 200 characters."""

    token = text(TOKEN, required=True)
    password = text(PASSWORD, PASSWORD_MIN, required=True)


# -- clubs, trainings, staff and oversight (program admins; console-oversight) -----
COMPLETIONS = 500  # ids in one bulk recording of training completions
COUNTRY_CODE = validate.Regexp(r"^[A-Z]{2}$", error="two capital letters (ISO 3166)")


class ClubRequestSchema(Schema):
    """A new club. Name a coordinator afterwards (PUT …/coordinator) from the
    staff accounts that hold the club_coordinator role."""

    name = text(80, 2, required=True)
    country = fields.String(
        required=True,
        validate=[validate.Length(min=COUNTRY, max=COUNTRY), COUNTRY_CODE, iso_country],
    )
    city = text(80, allow_none=True, load_default=None)
    mode = choice(CLUB_MODES, required=True)


class ClubChangesRequestSchema(Schema):
    """Any of a club's fields to change (at least one)."""

    name = text(80, 2)
    country = fields.String(
        validate=[validate.Length(min=COUNTRY, max=COUNTRY), COUNTRY_CODE, iso_country]
    )
    city = text(80, allow_none=True)
    mode = choice(CLUB_MODES)


class AdminClubSchema(Schema):
    """A club as admins see it: with its coordinator's staff account id."""

    id = uid()
    name = text(NAME)
    country = fields.String(
        validate=[validate.Length(min=COUNTRY, max=COUNTRY), COUNTRY_CODE, iso_country]
    )
    city = text(NAME, allow_none=True)
    mode = fields.String(validate=validate.OneOf(CLUB_MODES))
    coordinator_id = uid(allow_none=True)


class TierRequestSchema(Schema):
    tier = choice(TIERS, required=True)
    reason = text(1000, 3, required=True)  # as the registry keeps it


class MembershipRequestSchema(Schema):
    """A club from GET /api/v1/clubs, or null to take the person out of any club."""

    club_id = fields.UUID(required=True, allow_none=True)


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
    held_on = fields.Date(
        required=True,
        validate=plausible_day,
        metadata={"description": "from 2000-01-01 to two years ahead"},
    )
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


REVERSED_DATES = "the last day comes before the first: swap them"


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

    @validates_schema(skip_on_field_errors=True)
    def _days_in_order(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise ValidationError(REVERSED_DATES, "until")


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
