"""Payout parts without a database: the token bucket, backoff, how Stripe errors are
classified, the bank file (CSV; pain.001 in test_pain001.py), statement parsing,
control totals."""

import csv
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import stripe

from stipends.logic.payouts.runs import control_totals, digest
from stipends.payouts.bankfiles import (
    FileLine,
    bank_csv,
    major,
    parse_statement,
    to_minor,
)
from stipends.payouts.models import Payout
from stipends.payouts.providers import (
    BankFile,
    Order,
    StripeConnect,
    StripeGlobal,
    TokenBucket,
    _v2_reason,
    backoff,
)
from stipends.payouts.ratelimit import SharedTokenBucket
from tests.helpers import FakeClock


def test_the_token_bucket_keeps_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(20.0, clock=clock, sleep=clock.sleep)
    for _ in range(120):
        bucket.take()
    # 20 in the first burst, then 100 more at 20/s: 5 seconds
    assert clock.t == pytest.approx(5.0)


def test_a_hold_stops_every_caller_after_a_429() -> None:
    clock = FakeClock()
    bucket = TokenBucket(20.0, clock=clock, sleep=clock.sleep)
    bucket.hold(2.0)
    bucket.take()
    assert clock.t >= 2.0
    with pytest.raises(ValueError):
        TokenBucket(0)


def test_backoff_grows_and_is_capped() -> None:
    for retries in range(12):
        wait = backoff(retries, base=1.0, cap=300.0)
        top = min(300.0, 2.0**retries)
        assert top / 2 <= wait <= top


def order(**changes: Any) -> Order:
    data: dict[str, Any] = {
        "payout_id": uuid.uuid4(),
        "run_id": uuid.uuid4(),
        "stipend_id": uuid.uuid4(),
        "communicator_id": uuid.uuid4(),
        "amount_minor": 30_000,
        "currency": "EUR",
        "provider": "stripe_connect",
        "attempt": 1,
        "idempotency_key": "payout:x:1",
    }
    data.update(changes)
    return Order(**data)


def error(cls: type, status: int, code: str | None = None, **kw: Any) -> Any:
    return cls("message", http_status=status, code=code, **kw)


@pytest.mark.parametrize(
    ("exc", "status", "reason", "rate_limited"),
    [
        (error(stripe.RateLimitError, 429, "rate_limit"), "retry", None, True),
        (stripe.APIConnectionError("lost"), "retry", None, False),
        (error(stripe.APIError, 500), "retry", None, False),
        (error(stripe.IdempotencyError, 409), "retry", None, False),
        (
            error(
                stripe.InvalidRequestError,
                400,
                "insufficient_capabilities_for_transfer",
                param="destination",
            ),
            "failed",
            "destination_rejected",
            False,
        ),
        (
            error(stripe.InvalidRequestError, 400, "amount_too_small", param="amount"),
            "failed",
            "provider_refused",
            False,
        ),
    ],
)
def test_stripe_errors_are_classified(
    exc: Any, status: str, reason: str | None, rate_limited: bool
) -> None:
    outcome = StripeConnect(stripe.StripeClient("sk_test_x"))._error(exc)
    assert (outcome.status, outcome.reason, outcome.rate_limited) == (
        status,
        reason,
        rate_limited,
    )


def test_no_stripe_account_fails_before_any_call() -> None:
    provider = StripeConnect(stripe.StripeClient("sk_test_x", base_addresses={}))
    outcome = provider.send(order(), {"provider": "stripe_connect"})
    assert (outcome.status, outcome.reason) == ("failed", "destination_not_ready")
    assert BankFile().send(order(), {"iban": ""}).status == "failed"
    assert BankFile().send(order(), {"iban": "DE89", "holder": "A"}).status == "failed"
    valid = {"iban": "DE89370400440532013000", "bic": "COBADEFFXXX", "holder": "A"}
    assert BankFile().send(order(), valid).status == "sent"


def test_the_order_reference_and_key() -> None:
    payout = Payout(id=uuid.uuid4())
    assert payout.reference == f"payout:{payout.id}"
    assert payout.key_for(3) == f"payout:{payout.id}:3"


LINES = [
    FileLine(
        "payout:a",
        30_000,
        "EUR",
        {"holder": "Anna, B & Co", "iban": "DE89370400440532013000", "bic": "X"},
    ),
    FileLine("payout:b", 1_005, "PLN", {"holder": "Jan", "iban": "PL61", "bic": "Y"}),
]


def test_the_bank_csv_has_major_units_and_quotes() -> None:
    text = bank_csv(LINES)
    assert text.splitlines() == [
        "reference,amount,currency,holder,iban,bic",
        'payout:a,300.00,EUR,"Anna, B & Co",DE89370400440532013000,X',
        "payout:b,10.05,PLN,Jan,PL61,Y",
    ]


def test_a_payees_name_cannot_plant_a_formula_in_finances_spreadsheet() -> None:
    planted = FileLine(
        "payout:c",
        1_200,
        "EUR",
        {"holder": '=HYPERLINK("http://x.invalid","Pay")', "iban": "-2+3", "bic": "@Z"},
    )
    (_, row) = bank_csv([planted]).splitlines()
    cells = next(csv.reader([row]))
    assert cells == [
        "payout:c",
        "12.00",  # a number stays a number
        "EUR",
        '\'=HYPERLINK("http://x.invalid","Pay")',
        "'-2+3",
        "'@Z",
    ]


def test_statements_parse_and_bad_lines_are_refused() -> None:
    lines = parse_statement(
        "reference,amount,currency,status,fee\n"
        "payout:a,300.00,eur,booked,0.35\n"
        "payout:b,10.5,PLN,Returned,\n"
    )
    assert [(x.amount_minor, x.currency, x.status, x.fee_minor) for x in lines] == [
        (30_000, "EUR", "booked", 35),
        (1_050, "PLN", "returned", 0),
    ]
    for bad in ("1,2", "payout:a,3.001,EUR,booked", "payout:a,3,EUR,pending"):
        with pytest.raises(ValueError):
            parse_statement("reference,amount,currency,status\n" + bad + "\n")
    # every wrong value of a line is named, with what it should be
    with pytest.raises(ValueError) as wrong:
        parse_statement(
            "reference,amount,currency,status,fee\npayout:a,3,EURO,paid,\n"
            "payout:b,abc,EUR,booked,x\n"
        )
    assert str(wrong.value) == (
        "statement line 2: status 'paid' is not booked or returned; "
        "currency 'EURO' is not a three-letter code"
    )
    with pytest.raises(ValueError) as amounts:
        parse_statement(
            "reference,amount,currency,status,fee\npayout:b,abc,EUR,booked,x\n"
        )
    assert str(amounts.value).startswith("statement line 2: amount 'abc'")
    assert "; fee 'x'" in str(amounts.value)
    with pytest.raises(ValueError) as columns:  # a missing column, named
        parse_statement("reference,amount,currency\npayout:a,3,EUR\n")
    assert str(columns.value).startswith("the statement has no column status")
    assert (to_minor("-1.5", "EUR"), major(-150, "EUR"), major(5, "EUR")) == (
        -150,
        "-1.50",
        "0.05",
    )


def test_control_totals_and_their_digest() -> None:
    def payout(currency: str, provider: str, amount: int) -> Payout:
        return Payout(
            id=uuid.uuid4(), currency=currency, provider=provider, amount_minor=amount
        )

    rows = [
        payout("EUR", "stripe_connect", 100),
        payout("EUR", "stripe_connect", 50),
        payout("PLN", "bank_file", 7),
    ]
    totals = control_totals(rows)
    assert totals == [
        {"currency": "EUR", "provider": "stripe_connect", "count": 2, "sum_minor": 150},
        {"currency": "PLN", "provider": "bank_file", "count": 1, "sum_minor": 7},
    ]
    ids = [r.id for r in rows]
    assert digest(totals, ids) == digest(totals, list(reversed(ids)))
    assert digest(totals, ids) != digest(totals, ids[:2])


def test_a_failed_lookup_is_never_taken_for_not_found() -> None:
    """After the key expired the worker looks its transfer up first; if the lookup
    itself fails, the answer is 'try again', never 'send a new transfer'."""

    class Transfers:
        def list(self, params: Any) -> Any:
            raise stripe.APIError("upstream down", http_status=500)

    class Client:
        class v1:  # noqa: N801 - the SDK's spelling
            transfers = Transfers()

    provider = StripeConnect(Client())  # type: ignore[arg-type]
    outcome = provider.find(order(), {"account": "acct_1"})
    assert outcome is not None and outcome.status == "retry"
    assert outcome.detail.startswith("lookup:")


@pytest.mark.parametrize(
    "exc,status,reason,rate_limited",
    [
        (
            stripe.InvalidPayoutMethodError(
                "no method", http_status=400, code="payout_method_does_not_exist"
            ),
            "failed",
            "destination_rejected",
            False,
        ),
        (stripe.RateLimitError("slow down", http_status=429), "retry", None, True),
        (stripe.APIConnectionError("lost"), "retry", None, False),
        (stripe.APIError("boom", http_status=500), "retry", None, False),
        (
            stripe.InvalidRequestError("no", None, http_status=400, code="x"),
            "failed",
            "provider_refused",
            False,
        ),
    ],
)
def test_global_payouts_errors_are_classified(
    exc: Any, status: str, reason: str | None, rate_limited: bool
) -> None:
    provider = StripeGlobal(stripe.StripeClient("sk_test_x"), "fa_1")
    outcome = provider._error(exc)
    assert (outcome.status, outcome.reason, outcome.rate_limited) == (
        status,
        reason,
        rate_limited,
    )


def test_global_payouts_need_a_recipient_and_a_payout_method() -> None:
    provider = StripeGlobal(stripe.StripeClient("sk_test_x", base_addresses={}), "fa")
    for destination in ({}, {"recipient": "acct_1"}, {"payout_method": "bankacct_1"}):
        outcome = provider.send(order(), destination)
        assert (outcome.status, outcome.reason) == ("failed", "destination_not_ready")


@pytest.mark.parametrize(
    "reason,returned,told",
    [
        ("payout_method_declined", False, "destination_rejected"),
        ("review_rejected", False, "provider_refused"),
        (None, False, "provider_refused"),
        ("payout_method_closed", True, "returned"),
    ],
)
def test_outbound_payment_reasons_become_what_the_communicator_is_told(
    reason: str | None, returned: bool, told: str
) -> None:
    assert _v2_reason(reason, returned) == told


class RateRow:
    """The shared rate limit's row (payout_rate_limits) on a fake clock: what the
    TAKE and HOLD statements do to `tat`, and how many transactions asked."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock, self.tat, self.transactions = clock, 0.0, 0

    @contextmanager
    def transaction(self) -> Iterator["RateRow"]:
        self.transactions += 1
        yield self

    def execute(self, statement: Any, params: dict[str, Any]) -> "RateRow":
        now = self.clock()
        if "seconds" in params:  # HOLD
            self.tat = max(self.tat, now + params["seconds"])
            self.answer = 0.0
        else:  # TAKE: `span` seconds of slots; the answer: the first one's wait
            first = max(self.tat, now)
            self.tat = first + params["span"]
            self.answer = first - now
        return self

    def scalar_one(self) -> float:
        return self.answer


def test_the_shared_bucket_reserves_slots_a_tenth_of_a_second_at_a_time() -> None:
    clock = FakeClock()
    row = RateRow(clock)
    bucket = SharedTokenBucket(
        row.transaction, "payouts", 100.0, burst=1, sleep=clock.sleep, clock=clock
    )
    for _ in range(100):
        bucket.take()
    assert row.transactions == 10  # one per 10 slots, not one per call
    assert clock.t == pytest.approx(0.99)  # and still 100 calls a second


def test_the_shared_bucket_spends_no_old_slot_and_a_hold_drops_them() -> None:
    clock = FakeClock()
    row = RateRow(clock)
    bucket = SharedTokenBucket(
        row.transaction, "payouts", 100.0, burst=1, sleep=clock.sleep, clock=clock
    )
    bucket.take()
    clock.t += 5.0  # idle: the nine slots left are long past
    bucket.take()
    assert row.transactions == 2  # reserved afresh rather than spent in a burst
    bucket.hold(2.0)
    began = clock.t
    bucket.take()
    assert clock.t - began >= 2.0  # the slots held before the 429 are gone
