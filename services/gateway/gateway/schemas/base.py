"""What every schema of the HTTP API is made of: the limits (the longest value the
gateway lets through), the field helpers (text, choice, many, formatted, uid,
stamp), the vocabularies a client meets, and the pseudonym rule. Each vocabulary is
defined once here, whatever subject uses it."""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from marshmallow import Schema, fields, validate

from svyaz import vocabulary
from svyaz.actors import COMMUNICATOR, STAFF_ROLES
from svyaz.vocabulary import STRATEGY_APPROACHES, STRATEGY_PROGRESS

# The longest value the gateway lets through, in characters (the console forms use
# the same table: pages.FORM_LIMITS).
PSEUDONYM = 30
NAME = 200  # a person's or a club's name, a city, a messenger handle
HANDLE = 40  # the name admins see a staff account by (the registry checks it)
NAME_ON_ACCOUNT = 120  # an account holder's name, as the registry takes it
LEGAL_NAME = 120  # an applicant's legal name, as the registry takes it
CITY = 80  # the city an applicant lives in, as the registry takes it
ACCOUNT_TEXT = 50  # an IBAN or BIC as typed, spaces and all
EMAIL = 254  # RFC 5321
PASSWORD = 200  # the registry's rule: 12 to 200 characters (longer is no one's)
PASSWORD_MIN = 12
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


class Lines(fields.String):
    """A string whose line breaks are one character each: a CR LF (what a browser,
    and many clients, send for a break) arrives as LF, so the API counts a text's
    length as the consoles do, and the services store one kind of break."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        found = super()._deserialize(value, attr, data, **kwargs)
        return found.replace("\r\n", "\n") if found is not None else found


# how a `Reason` is worded while an answer is dumped (`spoken`); None: as it is
_WORDING: ContextVar[Callable[[str], str] | None] = ContextVar("wording", default=None)


@contextmanager
def spoken(word: Callable[[str], str]) -> Iterator[None]:
    """Inside the block, every `Reason` an answer holds is dumped through `word`
    (the reader's language: gateway.i18n.entitlement_reason)."""
    token = _WORDING.set(word)
    try:
        yield
    finally:
        _WORDING.reset(token)


class Reason(Lines):
    """A service's sentence of why a stipend is due or not, in the reader's
    language when the answer is dumped inside `spoken`."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        said = super()._serialize(value, attr, obj, **kwargs)
        word = _WORDING.get()
        return word(said) if word is not None and isinstance(said, str) else said


def reason_list() -> Any:
    """Why a stipend is (not) due, sentence by sentence, in the reader's language
    (the session's, or the one Accept-Language or ?lang asks for)."""
    return fields.List(
        Reason(validate=validate.Length(max=REASON)),
        metadata={
            "description": "why, one sentence each, in the reader's language "
            "(the session's, or the one Accept-Language or ?lang= asks for)"
        },
    )


def text(max_length: int, min_length: int | None = None, **kwargs: Any) -> Any:
    """A string of at most `max_length` characters, a line break counted as one
    (`Lines`)."""
    return Lines(validate=validate.Length(min=min_length, max=max_length), **kwargs)


def matching(
    regex: str,
    error: str,
    max_length: int,
    min_length: int | None = None,
    **kwargs: Any,
) -> Any:
    """A string of at most `max_length` characters that matches `regex` (both
    stated in the OpenAPI document), or `error`."""
    return fields.String(
        validate=[
            validate.Length(min=min_length, max=max_length),
            validate.Regexp(regex, error=error),
        ],
        **kwargs,
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
ROLES = (*STAFF_ROLES, COMMUNICATOR)
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
# A report's statuses, in the order a report goes through them (the cycle's
# progress counts them so); the reports themselves list them as
# REPORT_STATUSES_BY_OUTCOME. The same five codes, in two orders, both in the
# OpenAPI document.
REPORT_STATUSES = ("draft", "submitted", "changes_requested", "accepted", "rejected")
REPORT_STATUSES_BY_OUTCOME = (
    "draft",
    "submitted",
    "accepted",
    "rejected",
    "changes_requested",
)
# a report's codes (svyaz.vocabulary, shared with stipends and insights)
AUDIENCES = vocabulary.REPORT_AUDIENCES
REPORT_CHANNELS = vocabulary.REPORT_CHANNELS
OBSERVED_CHANGES = vocabulary.OBSERVED_CHANGES
# a communication strategy's approaches and how a cycle went against it
# (svyaz.vocabulary, shared with stipends); its versions' states
APPROACHES = STRATEGY_APPROACHES
PROGRESS = STRATEGY_PROGRESS
STRATEGY_STATES = ("draft", "shared")
EXPECTED_CHANGE = 1000  # a strategy's expected change, in characters
HORIZON_MONTHS = 36  # the longest horizon a strategy names
STIPEND_STATUSES = ("proposed", "approved", "rejected")
RUN_STATUSES = vocabulary.PAYOUT_RUN_STATUSES  # svyaz.vocabulary, as stipends
PAYOUT_STATUSES = vocabulary.PAYOUT_STATUSES
CONTACT_CHANNELS = ("email", "inbox", "telegram")
LANGUAGES = ("ru", "en")
TIER_NAMES = TIERS  # the same vocabulary, by the name the programme schemas use
STAFF_STATES = ("invited", "enrolling", "active", "disabled")
MEMBER_STATUSES = ("active", "suspended")
VOUCH_STATES = ("pending", "confirmed", "declined", "expired")
VOUCH_ANSWERS = ("confirm", "decline")

# reconciliation
PROVIDER_NAMES = PROVIDERS  # the same, by the name reconciliation uses
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
    "already_reconciled",
)

# finance: bank files, statements, the ledger, payouts' trails, receipts
# (console-finance; amounts are integers of minor units, in the currency's exponent)
BANK_FILE_FORMATS = ("pain.001", "csv")
STATEMENT_PROBLEMS = ("unknown_reference", "currency_mismatch", "amount_mismatch")
ACCOUNT_KINDS = vocabulary.LEDGER_ACCOUNT_KINDS  # svyaz.vocabulary, as stipends
# where a reconciliation's write-off posts its difference (stipends' ledger)
WRITE_OFF_ACCOUNTS = ("unexplained_differences", "bank_fees", "fx_differences")
ENTRY_KINDS = (
    "funding",
    "reservation",
    "commitment",
    "payout_sent",
    "payout_settled",
    "write_off",
    "funding_reversal",
    "reservation_reversal",
    "commitment_reversal",
    "payout_sent_reversal",
    "payout_settled_reversal",
    "write_off_reversal",
    "provider_fee",  # a fee read from the provider after a webhook's confirmation
    "provider_fee_reversal",
    "account_moved",  # migration 0013: an account's balance to its per-currency one
)
RECEIPT_PROBLEM_STATUSES = vocabulary.RECEIPT_PROBLEM_STATUSES  # as stipends
RECEIPT_RESOLUTIONS = vocabulary.RECEIPT_RESOLUTIONS

# clubs, trainings, staff and oversight (program admins; console-oversight)
COMPLETION_REFUSALS = (
    "invalid_id",
    "unknown_communicator",
    "not_member",
    "not_active",
)
PARKED_SERVICES = ("registry", "stipends", "notifications", "insights")
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


# the plain answer of a step that returns nothing else
class DoneSchema(Schema):
    status = text(WORD)
