"""marshmallow schemas for the registry's RPC input and output."""

from __future__ import annotations

from typing import Any

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates,
    validates_schema,
)

from registry import pseudonyms
from registry.logic import passwords
from svyaz.countries import iso_country
from svyaz.days import plausible_day
from svyaz.vocabulary import SPOKEN

LANGUAGES = ("ru", "en")
PSEUDONYM = pseudonyms.PATTERN
PSEUDONYM_ERROR = pseudonyms.MESSAGE
PASSWORD_LENGTH = validate.Length(
    min=passwords.MIN_LENGTH, max=passwords.MAX_LENGTH, error=passwords.LENGTH_RULE
)
PROVIDERS = ("stripe_connect", "stripe_global", "bank_file")
STATUSES = ("applied", "in_review", "active", "rejected", "suspended", "offboarded")


class StripStrings(Schema):
    @pre_load
    def _strip(self, data: Any, **_: object) -> Any:
        if isinstance(data, dict):
            return {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
        return data


class ApplicationSchema(StripStrings):
    pseudonym = fields.String(
        required=True, validate=validate.Regexp(PSEUDONYM, error=PSEUDONYM_ERROR)
    )
    legal_name = fields.String(required=True, validate=validate.Length(min=2, max=120))
    email = fields.Email(required=True, validate=validate.Length(max=254))
    phone = fields.String(
        load_default=None,
        validate=validate.Regexp(
            r"^\+?[0-9][0-9 ()-]{6,22}$",
            error="a phone number such as +995 555 12 34 56",
        ),
    )
    messenger = fields.String(load_default=None, validate=validate.Length(max=64))
    country = fields.String(
        required=True,
        validate=validate.Regexp(
            r"^[A-Z]{2}$", error="a two-letter country code in capitals, such as DE"
        ),
    )
    city = fields.String(required=True, validate=validate.Length(min=1, max=80))
    languages = fields.List(
        fields.String(
            validate=validate.OneOf(
                SPOKEN, error="a language from the list (ISO 639-1, such as ru)"
            )
        ),
        load_default=lambda: ["ru"],
        validate=validate.Length(min=1, max=10),
    )
    language = fields.String(load_default="ru", validate=validate.OneOf(LANGUAGES))
    club_id = fields.UUID(load_default=None)
    motivation = fields.String(load_default="", validate=validate.Length(max=4000))
    # one alphabet, as every member's pseudonym is: a mixed one can be no one's, so
    # it is refused (with nothing said about members), not silently dropped
    referral = fields.String(
        load_default=None,
        validate=validate.Regexp(
            pseudonyms.SINGLE_SCRIPT_PATTERN, error=PSEUDONYM_ERROR
        ),
    )
    consent_version = fields.String(
        required=True, validate=validate.Length(min=1, max=20)
    )
    consent = fields.Boolean(required=True)
    password = fields.String(
        load_default=None,
        load_only=True,
        validate=PASSWORD_LENGTH,
    )

    @validates("consent")
    def _consent_given(self, value: bool, **_: object) -> None:
        if value is not True:
            raise ValidationError("consent to the consent text is required")


class ApplicationReceivedSchema(Schema):
    status = fields.Constant("received")


class ActorSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    id = fields.UUID(required=True)
    roles = fields.List(fields.String(), required=True)


class DecisionSchema(StripStrings):
    communicator_id = fields.UUID(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=3, max=1000))


class ErasedEventSchema(Schema):
    """communicator.erased.v1 as the registry's own handler reads it."""

    class Meta:
        unknown = EXCLUDE

    communicator_id = fields.UUID(required=True)


class ContactRequestSchema(Schema):
    communicator_id = fields.UUID(required=True)
    purpose = fields.String(required=True, validate=validate.Length(min=3, max=200))


class StaffContactRequestSchema(Schema):
    role = fields.String(required=True, validate=validate.Length(min=3, max=40))
    purpose = fields.String(required=True, validate=validate.Length(min=3, max=200))


class ContactSchema(Schema):
    communicator_id = fields.UUID(required=True)
    email = fields.String(required=True)
    language = fields.String(required=True)
    signs_in = fields.Boolean()  # has a password set


CONTACTS_AT_ONCE = 100  # ids in one get_contacts call
CONTACT_AUDIENCES = ("communicator", "staff")


class ContactsRequestSchema(Schema):
    ids = fields.List(
        fields.UUID(),
        required=True,
        validate=validate.Length(min=1, max=CONTACTS_AT_ONCE),
    )
    purpose = fields.String(required=True, validate=validate.Length(min=3, max=200))
    audience = fields.String(
        load_default="communicator", validate=validate.OneOf(CONTACT_AUDIENCES)
    )


class ContactsItemSchema(Schema):
    """One contact of a `get_contacts` answer: a communicator's profile language,
    or a staff member's default (the language they were invited in)."""

    id = fields.UUID(required=True)
    email = fields.String(required=True)
    language = fields.String(allow_none=True)
    default_language = fields.String(allow_none=True)
    signs_in = fields.Boolean()  # a communicator's: has a password set


class CommunicatorSummarySchema(Schema):
    id = fields.UUID()
    pseudonym = fields.String()
    status = fields.String()
    tier = fields.String()
    club_id = fields.UUID(allow_none=True)


class SearchSchema(StripStrings):
    pseudonym = fields.String(validate=validate.Length(min=2, max=30))
    email = fields.Email()
    status = fields.String(validate=validate.OneOf(STATUSES))
    limit = fields.Integer(validate=validate.Range(min=1, max=101))
    offset = fields.Integer(validate=validate.Range(min=0, max=100_000))


class ReviewResolutionSchema(StripStrings):
    item_id = fields.UUID(required=True)
    outcome = fields.String(
        required=True, validate=validate.OneOf(("same_person", "distinct"))
    )
    note = fields.String(required=True, validate=validate.Length(min=3, max=1000))


class ClubSchema(StripStrings):
    name = fields.String(required=True, validate=validate.Length(min=2, max=80))
    country = fields.String(required=True, validate=iso_country)
    city = fields.String(load_default=None, validate=validate.Length(max=80))
    mode = fields.String(required=True, validate=validate.OneOf(("online", "offline")))
    coordinator = fields.String(load_default=None)  # a pseudonym


class ClubOutSchema(Schema):
    id = fields.UUID()
    name = fields.String()
    country = fields.String()
    city = fields.String(allow_none=True)
    mode = fields.String()
    coordinator_id = fields.UUID(allow_none=True)  # the gateway keeps it to itself


class ClubMemberSchema(Schema):
    id = fields.UUID()
    pseudonym = fields.String()
    status = fields.String()


class ClubChangesSchema(StripStrings):
    """Any of a club's fields to change; at least one."""

    name = fields.String(validate=validate.Length(min=2, max=80))
    country = fields.String(validate=iso_country)
    city = fields.String(allow_none=True, validate=validate.Length(max=80))
    mode = fields.String(validate=validate.OneOf(("online", "offline")))

    @validates_schema
    def _something(self, data: dict[str, Any], **_: object) -> None:
        if not data:
            raise ValidationError(
                "give at least one of name, country, city, mode", "changes"
            )


class CoordinatorSchema(Schema):
    club_id = fields.UUID(required=True)
    account_id = fields.UUID(required=True)


class MembershipSchema(Schema):
    """A communicator's club: a club's id, or None for no club."""

    communicator_id = fields.UUID(required=True)
    club_id = fields.UUID(required=True, allow_none=True)


class CompletionsSchema(Schema):
    training_id = fields.UUID(required=True)
    communicator_ids = fields.List(
        fields.String(validate=validate.Length(max=64)),
        required=True,
        validate=validate.Length(
            min=1, max=500, error="send 1 to 500 communicator ids at a time"
        ),
    )


class TrainingOutSchema(Schema):
    id = fields.UUID()
    title = fields.String()
    held_on = fields.Date()
    club_id = fields.UUID(allow_none=True)
    completions = fields.Integer()


class TrainingSchema(StripStrings):
    title = fields.String(required=True, validate=validate.Length(min=2, max=120))
    held_on = fields.Date(required=True, validate=plausible_day)
    club_id = fields.UUID(load_default=None)


class TierSchema(StripStrings):
    communicator_id = fields.UUID(required=True)
    tier = fields.String(
        required=True, validate=validate.OneOf(("volunteer", "professional"))
    )
    reason = fields.String(required=True, validate=validate.Length(min=3, max=1000))


class CorridorSchema(StripStrings):
    country = fields.String(required=True, validate=iso_country)
    provider = fields.String(required=True, validate=validate.OneOf(PROVIDERS))


class BankDetailsSchema(StripStrings):
    holder = fields.String(required=True, validate=validate.Length(min=2, max=120))
    # only bounded here: logic.payouts checks them by country (svyaz.banking) and
    # says what is wrong with a code the consoles translate
    iban = fields.String(required=True, validate=validate.Length(min=1, max=50))
    bic = fields.String(required=True, validate=validate.Length(min=1, max=20))
    bank_name = fields.String(load_default=None, validate=validate.Length(max=120))


class AccountUpdatedSchema(Schema):
    account_id = fields.String(
        required=True, validate=validate.Regexp(r"^acct_[A-Za-z0-9]+$")
    )
    transfers_active = fields.Boolean(required=True)


class SignInSchema(StripStrings):
    email = fields.Email(required=True)
    password = fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(max=passwords.MAX_LENGTH),
    )
    code = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9]{6}$"))


HANDLE = validate.And(
    validate.Length(min=2, max=40),
    validate.Regexp(
        r"^[^\x00-\x1f\x7f<>@]+$",
        error="letters, digits, spaces and punctuation; no email address",
    ),
)


class StaffInvitationSchema(StripStrings):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    handle = fields.String(load_default=None, validate=HANDLE)
    language = fields.String(load_default="ru", validate=validate.OneOf(LANGUAGES))
    roles = fields.List(
        fields.String(validate=validate.Length(max=30)),
        required=True,
        validate=validate.Length(min=1, max=3),
    )


class StaffOutSchema(Schema):
    id = fields.String()
    handle = fields.String(allow_none=True)
    roles = fields.List(fields.String())
    state = fields.String()  # invited | enrolling | active | disabled
    last_sign_in_at = fields.DateTime(allow_none=True)
    second_factor_reset = fields.Dict(allow_none=True)


class StaffAccountSchema(StripStrings):
    email = fields.Email(required=True)
    handle = fields.String(load_default=None, validate=HANDLE)
    roles = fields.List(fields.String(), required=True)
    password = fields.String(required=True, load_only=True, validate=PASSWORD_LENGTH)


class StaffHandleSchema(StripStrings):
    account_id = fields.UUID(required=True)
    handle = fields.String(required=True, validate=HANDLE)


class AccessLogFiltersSchema(Schema):
    communicator_id = fields.UUID(load_default=None)
    reader_id = fields.UUID(load_default=None)
    since = fields.AwareDateTime(load_default=None)
    until = fields.AwareDateTime(load_default=None)


class AccessLogQuerySchema(Schema):
    offset = fields.Integer(
        load_default=0, validate=validate.Range(min=0, max=10_000_000)
    )
    limit = fields.Integer(
        load_default=50,
        validate=validate.Range(min=1, max=200, error="1 to 200 rows at a time"),
    )
    filters = fields.Nested(AccessLogFiltersSchema, load_default=dict, allow_none=False)


class AccessLogItemSchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    reader_id = fields.String(allow_none=True)
    reader_roles = fields.List(fields.String(), allow_none=True)
    reader_service = fields.String(allow_none=True)
    subject = fields.String()  # communicator | staff
    communicator_id = fields.UUID(allow_none=True)
    pseudonym = fields.String(allow_none=True)
    staff_account_id = fields.UUID(allow_none=True)
    field = fields.String()
    purpose = fields.String()


class AccessLogPageSchema(Schema):
    items = fields.List(fields.Nested(AccessLogItemSchema))
    total = fields.Integer()


class ActivitySchema(Schema):
    at = fields.DateTime()
    actor_id = fields.UUID(allow_none=True)
    action = fields.String()
    detail = fields.Dict(keys=fields.String(), values=fields.String())


class VouchAnswerSchema(Schema):
    vouch_id = fields.UUID(required=True)
    answer = fields.String(
        required=True,
        validate=validate.OneOf(("confirm", "decline"), error="confirm or decline"),
    )


class VouchRequestSchema(Schema):
    """A vouch request as the member named sees it: never a name or contact."""

    id = fields.UUID()
    applicant = fields.String()
    city = fields.String(allow_none=True)
    state = fields.String()
    requested_at = fields.DateTime()
    expires_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    can_answer = fields.Boolean()
