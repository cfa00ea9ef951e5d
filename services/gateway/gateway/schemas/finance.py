"""Schemas of money: payout runs and payouts, a communicator's own stipends and
receipts, reconciliation, bank files and statements, the ledger, and the payees'
receipt problems."""

from marshmallow import Schema, fields, validate

from gateway.schemas.base import (
    ACCOUNT_KINDS,
    BANK_FILE_FORMATS,
    BATCH,
    CODE,
    CONTENT,
    CURRENCY,
    DISCREPANCY_KINDS,
    ENTRY_KINDS,
    ID,
    NAME,
    PAYOUT_STATUSES,
    PROVIDER_NAMES,
    PROVIDERS,
    REASON,
    RECEIPT_PROBLEM_STATUSES,
    RECEIPT_RESOLUTIONS,
    RECONCILIATION_ITEM_STATES,
    RUN_STATUSES,
    STATEMENT_PROBLEMS,
    STIPEND_STATUSES,
    WORD,
    WRITE_OFF_ACCOUNTS,
    choice,
    formatted,
    many,
    stamp,
    text,
    uid,
)


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
    created_at = stamp(allow_none=True)
    payouts_by_status = fields.Dict(keys=fields.String(), values=fields.Integer())
    excluded = fields.List(fields.Raw())


CODE_NEEDED = "the code from your authenticator app is needed"


class ReleaseRequestSchema(Schema):
    """`code`: a current code of the releaser's authenticator (a fresh second
    factor); `totals_digest`: the totals the releaser saw and confirms."""

    totals_digest = text(ID, required=True)
    # missing, null, empty or blank: one refusal naming the field, in one wording
    # (a blank code once went on to stipends and came back as another code)
    code = fields.String(
        required=True,
        validate=[
            validate.Length(max=CODE),
            validate.Predicate("strip", error=CODE_NEEDED),
        ],
        error_messages={"required": CODE_NEEDED, "null": CODE_NEEDED},
        metadata={"description": "the current code of your authenticator app"},
    )


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


# -- reconciliation -----------------------------------------------------------------


class ClearingFigureSchema(Schema):
    """For one currency: what the provider's rows say left for our transfers, the
    ledger's clearing figure for the period (sends net of their reversals, plus the
    write-offs), and the difference (provider - ledger) the sign-off waits on."""

    currency = text(CURRENCY)
    provider_minor = fields.Integer()
    clearing_minor = fields.Integer()
    difference_minor = fields.Integer()


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
    whole_period = fields.Boolean(
        metadata={
            "description": "run once its period had ended, so it holds every "
            "payment booked in it; only such a reconciliation is signed off (409 "
            "period_not_over while the period runs, run_before_period_end after: "
            "run the period again and sign that off)"
        }
    )
    replaced_by = uid(
        allow_none=True,
        metadata={
            "description": "for a superseded one: the newer run of its period, "
            "the one to work on and sign off"
        },
    )
    signed_off_by = uid(allow_none=True)
    signed_off_at = stamp(allow_none=True)
    sign_off_note = text(500, allow_none=True)
    figures = fields.List(fields.Nested(ClearingFigureSchema), load_default=list)


class ReconciliationItemSchema(Schema):
    """One difference in the work queue (amounts in minor units)."""

    id = fields.Integer()
    kind = choice(DISCREPANCY_KINDS)
    payout_id = uid(allow_none=True)
    run_id = uid(allow_none=True)
    provider_ref = text(
        NAME,
        allow_none=True,
        metadata={
            "description": "The provider's id of the row (a Stripe transfer or "
            "reversal); a bank statement's line as `line:<n>` and the reference "
            "the bank wrote on it after a space (`line:7 RENT DEC`), n counting the "
            "header as line 1"
        },
    )
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
    CSV) come as `content`, the file's text. The period is [period_start,
    period_end), at most 92 days, begun (400 `period_not_begun` otherwise). Running
    a period again replaces the open reconciliation it overlaps, with its decisions;
    a period overlapping a signed-off one, or two open ones, is 409
    `reconciliation_overlaps`."""

    provider = choice(PROVIDER_NAMES, required=True)
    period_start = fields.Date(
        required=True, metadata={"description": "the first day; today or earlier"}
    )
    period_end = fields.Date(
        required=True,
        metadata={
            "description": "the day after the last; a period is one day to 92 days long"
        },
    )
    source = choice(("api", "itemized_csv", "bank_statement"), load_default="api")
    content = text(
        CONTENT,
        load_default=None,
        metadata={
            "description": "The file's text, for itemized_csv and bank_statement. "
            "Stripe's itemized report as Stripe writes it: a header row naming at "
            "least balance_transaction_id, currency, gross, reporting_category and "
            "source_id (created_utc and transfer_metadata[payout_reference] are "
            "read when present); its transfer and transfer_reversal lines are "
            "read, amounts in major units (a transfer's gross is negative, money "
            "out; a reversal's positive). One bad line refuses the whole file and "
            "the error names it: an amount that is not a number, has more "
            "decimals than its currency or the other sign, a currency that is not "
            "three letters, a time not written YYYY-MM-DD HH:MM:SS (UTC) or that "
            "no calendar has, a transfer named twice. Nothing is recorded then."
        },
    )


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
    write_off_to = choice(
        WRITE_OFF_ACCOUNTS,
        load_default="unexplained_differences",
        metadata={"description": "for `write_off`: the ledger account it posts to"},
    )


class SignOffRequestSchema(Schema):
    note = text(500, min_length=1, required=True)


class ReconciliationsQuerySchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


# -- a communicator's own payments: whether a paid payout arrived (console-me) -------
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


# -- finance: bank files, statements, the ledger, payouts' trails, receipts ----------
# (console-finance; amounts are integers of minor units, in the currency's exponent)
LEDGER_ACCOUNT = 140  # "<kind>:<uuid or provider>[:<currency>]"
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


class LedgerAccountSchema(Schema):
    """A ledger account: its code, kind, whom it is about (a programme's name, a
    communicator's pseudonym or a provider's code) and currency."""

    account = text(WORD)
    kind = choice(ACCOUNT_KINDS)
    owner = text(REASON, allow_none=True)
    currency = text(CURRENCY)


class TrialBalanceAccountSchema(LedgerAccountSchema):
    debit_minor = fields.Integer()
    credit_minor = fields.Integer()
    balance_minor = fields.Integer()


class TrialBalanceTotalSchema(Schema):
    currency = text(CURRENCY)
    debit_minor = fields.Integer()
    credit_minor = fields.Integer()


class ProviderClearingSchema(ClearingFigureSchema):
    """Per provider and currency, its latest reconciliation's period with the
    provider's figure against the ledger's clearing figure (what sign-off checks)."""

    currency = text(
        CURRENCY,
        allow_none=True,
        metadata={
            "description": "null: the period had no payment of ours and no row of "
            "the provider's (the figures are then 0)"
        },
    )
    provider = choice(PROVIDER_NAMES)
    # not_reconciled: a provider no reconciliation has covered yet whose clearing
    # account holds money; no period, no provider's figure, the ledger's balance
    reconciliation_id = uid(allow_none=True)
    period_start = formatted("date", allow_none=True)
    period_end = formatted("date", allow_none=True)
    status = choice(("open", "signed_off", "not_reconciled"))
    provider_minor = fields.Integer(allow_none=True)
    difference_minor = fields.Integer(allow_none=True)


class TrialBalanceSchema(Schema):
    """Every account's debits, credits and balance; per currency the debits and
    credits must agree (`balanced`)."""

    accounts = fields.List(fields.Nested(TrialBalanceAccountSchema))
    totals = fields.List(fields.Nested(TrialBalanceTotalSchema))
    balanced = fields.Boolean()
    clearing = fields.List(fields.Nested(ProviderClearingSchema), load_default=list)


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


class AccountStatementSchema(LedgerAccountSchema):
    """A page of an account's lines (`offset`, of `total_lines`), each with the
    running balance; `balance_minor` is the whole account's."""

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
