"""Schemas of programmes and their work: cycles, reports, stipends, programmes,
approvals and a record's activity trail."""

from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from gateway.schemas.base import (
    AUDIENCES,
    CURRENCY,
    CYCLE_STATUSES,
    ID,
    ITEMS,
    NAME,
    NARRATIVE,
    OBSERVED_CHANGES,
    PROGRESS,
    PSEUDONYM,
    REASON,
    REPORT_CHANNELS,
    REPORT_STATUSES,
    REPORT_STATUSES_BY_OUTCOME,
    STIPEND_STATUSES,
    TIER_NAMES,
    TOPIC,
    TOPICS,
    WORD,
    choice,
    many,
    reason_list,
    stamp,
    text,
    uid,
)
from svyaz import money as svyaz_money


# -- reports and stipends (the stipends service checks every field in depth) --------
class CycleSchema(Schema):
    id = uid()
    programme_id = uid()
    period = text(WORD)
    deadline = stamp()
    status = choice(CYCLE_STATUSES)
    closed_at = stamp(allow_none=True)
    locked_at = stamp(allow_none=True)


class ListedCycleSchema(CycleSchema):
    """A cycle in a list; staff also read what is left to pay in it."""

    left_to_pay = fields.Integer(
        metadata={
            "description": "staff only: the cycle's approved stipends in no payout "
            "run yet, what building a run would take (0 while the cycle is open); "
            "absent for communicators"
        }
    )
    awaiting_approval = fields.Integer(
        metadata={
            "description": "staff only: the cycle's stipends proposed and not yet "
            "approved (0 while the cycle is open); absent for communicators"
        }
    )


class ReportRequestSchema(Schema):
    """An activity report. The narrative is for outcomes, never for the identities
    of people inside Russia: phone numbers, emails, @handles and links are removed
    before it is stored, and the answer says what was removed."""

    # the stipends service's own rules, so that one answer names every refused field
    conversations = fields.Integer(
        required=True, validate=validate.Range(min=0, max=10_000)
    )
    audiences = many(choice(AUDIENCES), ITEMS, 1, required=True)
    channels = many(choice(REPORT_CHANNELS), ITEMS, 1, required=True)
    topics = many(text(TOPIC, 1), TOPICS)
    hours = fields.Integer(required=True, validate=validate.Range(min=0, max=744))
    observed_change = choice(OBSERVED_CHANGES, required=True)
    narrative = text(NARRATIVE)
    # while the author has a shared strategy: how the cycle went against it (needed
    # to submit) and a few words on it
    strategy_progress = choice(PROGRESS, allow_none=True)
    strategy_note = text(REASON)


class ReportSchema(Schema):
    id = uid()
    cycle_id = uid()
    communicator_id = uid()
    pseudonym = text(
        PSEUDONYM,
        allow_none=True,
        metadata={"description": "the author's, for admins (null to the author)"},
    )
    conversations = fields.Integer()
    audiences = fields.List(choice(AUDIENCES))
    channels = fields.List(choice(REPORT_CHANNELS))
    topics = fields.List(text(TOPIC))
    hours = fields.Integer()
    observed_change = choice(OBSERVED_CHANGES)
    narrative = text(NARRATIVE)
    redactions = fields.List(text(WORD))
    status = choice(REPORT_STATUSES_BY_OUTCOME)
    late = fields.Boolean()
    submitted_at = stamp(allow_none=True)
    review_comment = text(REASON, allow_none=True)
    strategy_version_id = uid(allow_none=True)
    strategy_progress = choice(PROGRESS, allow_none=True)
    strategy_note = text(REASON, allow_none=True)


class SavedReportSchema(Schema):
    report = fields.Nested(ReportSchema)
    redacted = fields.List(text(WORD))
    notice = text(REASON, allow_none=True)


class ReportQuerySchema(Schema):
    status = choice(REPORT_STATUSES_BY_OUTCOME)


class ReviewRequestSchema(Schema):
    decision = choice(("accepted", "rejected", "changes_requested"), required=True)
    comment = text(REASON)


def shared_destination() -> Any:
    """Who else is paid to the payee's account: a stipend's, a proposal's and a
    stipends page row's (staff only; the payee's own view has none)."""
    return fields.List(
        text(NAME),
        metadata={
            "description": "staff only: the pseudonyms of other communicators paid "
            "to the same destination (bank or Stripe account); check the possible "
            "duplicates before approving"
        },
    )


class StipendSchema(Schema):
    id = uid()
    programme_id = uid()
    cycle_id = uid()
    communicator_id = uid()
    amount_minor = fields.Integer()
    currency = text(CURRENCY)
    reasons = reason_list()
    status = choice(STIPEND_STATUSES)
    proposed_by = text(WORD)
    approvals_needed = fields.Integer()
    approvals_given = fields.Integer()
    rejection_reason = text(REASON, allow_none=True)
    version = fields.Integer()
    digest = text(ID)
    approvals = fields.List(fields.Dict())
    committed = fields.Boolean(
        metadata={
            "description": "in a payout run: it can no longer be rejected (finance "
            "cancels its payout, if not paid)"
        }
    )
    slot = fields.Integer()
    remaining_budget_minor = fields.Integer()
    shared_destination_with = shared_destination()


class ApproveRequestSchema(Schema):
    """`digest`: the one the approver was shown (GET the stipend); a change of
    payee, destination or amount since then makes it stale and the approval fails."""

    digest = text(ID, required=True)


class RejectRequestSchema(Schema):
    reason = text(REASON, required=True)


# -- programmes, cycles and stipends for program admins (console-programmes) ---------
# The stipends service checks each value in depth; these state its limits so a
# client learns them from the OpenAPI document.
PROGRAMME_NAME = 120
MAX_MINOR = 10**12  # a budget or a funding, in minor units
MAX_STIPEND_MINOR = 10**9  # a tier amount or a stipend, in minor units
# as the Idempotency-Key header (svyaz.idempotency): one rule for a key, wherever sent
IDEMPOTENCY_KEY = r"^[A-Za-z0-9_-]{8,64}$"
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


def some_tier(value: dict[str, Any]) -> None:
    if not value:
        raise ValidationError("the amount of at least one tier")


def known_currency(value: str) -> None:
    if value not in svyaz_money.known():
        raise ValidationError("an ISO 4217 currency code, such as EUR")


def not_blank(value: str) -> None:
    if value != value.strip() or not value.strip():
        raise ValidationError("letters, not only spaces, at both ends")


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

    name = fields.String(
        required=True,
        validate=[validate.Length(min=3, max=PROGRAMME_NAME), not_blank],
    )
    currency = fields.String(
        required=True,
        validate=[
            validate.Length(min=3, max=3),
            validate.Regexp(r"^[A-Z]{3}$"),
            known_currency,
        ],
        metadata={"description": "ISO 4217 code, e.g. EUR"},
    )
    tier_amounts = tier_amounts(
        required=True,
        validate=some_tier,
        metadata={
            "description": "at least one tier's monthly amount, in minor units of "
            "the programme's currency (cents: 20000 is EUR 200.00; yen: 500 is "
            "JPY 500), as every `_minor` amount"
        },
    )
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
    client read): a stale version is 409 `programme_changed` (another change of
    these fields since; a funding is not one). The currency never changes; the
    budget only by funding."""

    # a field named here that is not one of these (`currency`, `budget_minor`)
    error_messages = {
        "unknown": "Not a field this changes: a programme's currency is fixed once "
        "created, and its budget changes by funding (POST "
        "/api/v1/programmes/{programme_id}/funding) or reversing one."
    }

    version = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    name = fields.String(
        validate=[validate.Length(min=3, max=PROGRAMME_NAME), not_blank]
    )
    tier_amounts = tier_amounts(
        metadata={
            "description": "the tiers named change, in minor units (cents); a "
            "tier left out keeps its amount"
        }
    )
    min_accepted_reports = fields.Integer(
        strict=True, validate=validate.Range(min=0, max=31)
    )
    min_conversations = fields.Integer(
        strict=True, validate=validate.Range(min=0, max=10_000)
    )
    training_required = fields.Boolean()
    approval_bands = bands()


FUNDING_BLOCKERS = ("reversed_already", "funding_in_use")


class FundingSchema(Schema):
    """One funding of a programme (an entry of the ledger): what it added, when and
    by whom; whether it was reversed (when, by whom, why); and what refuses its
    reversal now (`blocked_by`: `reversed_already`, or `funding_in_use` when part of
    the budget it added is reserved or paid; null when it can be reversed)."""

    entry_id = fields.Integer()
    amount_minor = fields.Integer()
    posted_at = stamp()
    actor_id = uid(allow_none=True)
    reversed = fields.Boolean()
    reversed_at = stamp(allow_none=True)
    reversed_by = uid(allow_none=True)
    reversal_reason = text(REASON, allow_none=True)
    blocked_by = choice(FUNDING_BLOCKERS, allow_none=True)


class ProgrammeSchema(Schema):
    """A programme and its money in minor units: `budget_minor` funded so far,
    `reserved_minor` approved and not yet paid, `spent_minor` paid,
    `available_minor` free for new approvals; `fundings`, newest first (up to 200)."""

    id = uid()
    name = text(NAME)
    currency = text(CURRENCY)
    budget_minor = fields.Integer()
    reserved_minor = fields.Integer()
    spent_minor = fields.Integer()
    available_minor = fields.Integer()
    tier_amounts = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "each tier's monthly amount, in minor units"},
    )
    min_accepted_reports = fields.Integer()
    min_conversations = fields.Integer()
    training_required = fields.Boolean()
    approval_bands = fields.List(fields.Nested(BandSchema))
    version = fields.Integer(
        metadata={
            "description": "the version of the programme's name, tiers, rules and "
            "bands: what a change names (`PATCH`); a funding or its reversal does "
            "not change it"
        }
    )
    fundings = fields.List(fields.Nested(FundingSchema))


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
        validate=[
            validate.Length(min=8, max=64),
            validate.Regexp(
                IDEMPOTENCY_KEY, error="8 to 64 letters, digits, - or _ (a uuid)"
            ),
        ],
        metadata={
            "description": "as the Idempotency-Key header: 8 to 64 letters, "
            "digits, - or _"
        },
    )


class FundingReversalRequestSchema(Schema):
    """Why the funding is reversed (it was booked by mistake): kept in the ledger
    with the reversal."""

    reason = text(REASON, min_length=3, required=True)


def aware_moment(value: str) -> None:
    """An ISO 8601 date and time with its offset (sent on as the text it is)."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            "a date and time with its offset, such as 2026-11-30T18:00:00+00:00"
        ) from None
    if moment.tzinfo is None:
        raise ValidationError("give the offset too, such as +00:00 for UTC")


class CycleRequestSchema(Schema):
    """A reporting cycle: `period` YYYY-MM, one per programme; `deadline` with its
    time zone (ISO 8601), after which reports are late: not before the period's
    first day (`deadline_before_period`), not more than a year after it
    (`deadline_too_late`: a cycle closes only once its deadline has passed), and
    not already passed unless `accept_past_deadline` says so."""

    period = fields.String(
        required=True,
        validate=[validate.Length(min=7, max=7), validate.Regexp(PERIOD)],
    )
    deadline = fields.String(
        required=True,
        validate=[validate.Length(max=WORD), aware_moment],
        metadata={"format": "date-time", "description": "ISO 8601 with its offset"},
    )
    accept_past_deadline = fields.Boolean(
        load_default=False,
        metadata={
            "description": "true to open a cycle whose deadline has already passed "
            "(a period recorded afterwards: every report counts as late and nobody "
            "is reminded); without it, such a deadline is refused"
        },
    )

    @validates_schema
    def deadline_ahead(self, data: dict[str, Any], **kwargs: Any) -> None:
        """The console asks before opening a cycle whose deadline has passed; the
        API asks for `accept_past_deadline`."""
        passed = datetime.fromisoformat(data["deadline"]) <= datetime.now(UTC)
        if passed and not data["accept_past_deadline"]:
            raise ValidationError(
                "this deadline has passed: every report would count as late and "
                "nobody would be reminded; give a later one, or send "
                "accept_past_deadline true if this is meant",
                "deadline",
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
    reasons = reason_list()
    not_eligible_because = reason_list()
    shared_destination_with = shared_destination()


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
    reasons = reason_list()
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
    reasons = reason_list()
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
    shared_destination_with = shared_destination()


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
    pseudonym = text(
        PSEUDONYM,
        allow_none=True,
        metadata={"description": "the payee's pseudonym (null once they are erased)"},
    )


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
