"""One provider interface and its implementations.

A provider is told about one payout at a time (an `Order`: our ids, the amount, the
idempotency key of this attempt) and the destination the registry gave at call time;
it answers with an `Outcome`. It never touches the database: the worker records the
outcome in its own transaction. Only our reference (`payout:<id>`) goes to the
provider as metadata, never a name or an account number.

- `StripeConnect`: `POST /v1/transfers` to the communicator's connected account; a
  created transfer has moved the money to that account, so `status()` (the poller)
  confirms it as paid unless it has been reversed.
- `BankFile`: the payout goes into the programme bank's next file (CSV, or ISO 20022
  pain.001: `bankfiles`); it is paid when the bank's statement says so.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal, Protocol

import stripe

if TYPE_CHECKING:
    from stripe.params.v2.money_management import OutboundPaymentCreateParamsTo

from stipends.payouts.statements import ProviderRow, pull_connect_period
from svyaz import banking, money

Status = Literal["sent", "paid", "retry", "failed", "pending"]


@dataclass(frozen=True)
class Order:
    payout_id: uuid.UUID
    run_id: uuid.UUID
    stipend_id: uuid.UUID
    communicator_id: uuid.UUID
    amount_minor: int
    currency: str
    provider: str
    attempt: int
    idempotency_key: str
    provider_ref: str | None = None
    calling_since: datetime | None = None
    fingerprint: str | None = None  # the destination stipends knows of

    @property
    def reference(self) -> str:
        return f"payout:{self.payout_id}"

    @property
    def group(self) -> str:
        return f"run:{self.run_id}"


@dataclass(frozen=True)
class Conversion:
    """What the provider says a paid payout moved, from its own data: the amount it
    debited in the payout's currency (an FX fee included), the amount the payee's
    account was credited in its own currency, and the rate applied (units of that
    currency per unit of the payout's)."""

    sent_minor: int
    received_minor: int
    received_currency: str
    rate: Decimal


@dataclass(frozen=True)
class Outcome:
    """What the provider said. `retry`: nothing known to have happened, or not known
    at all (a lost answer): call again with the same key, after `retry_after`."""

    status: Status
    ref: str | None = None
    fee_minor: int = 0
    reason: str | None = None  # a FAILURE_REASONS code when failed
    retry_after: float | None = None
    rate_limited: bool = False
    detail: str = ""
    conversion: Conversion | None = None  # a paid payout's figures, when known


class Provider(Protocol):
    name: str

    def send(self, order: Order, destination: dict[str, Any]) -> Outcome: ...

    def status(self, order: Order) -> Outcome: ...

    def find(self, order: Order, destination: dict[str, Any]) -> Outcome | None: ...


# -- rate limiting -------------------------------------------------------------------
class TokenBucket:
    """At most `rate` calls a second on average, bursts up to `burst`. `hold(s)`
    stops everyone for s seconds (after a 429)."""

    def __init__(
        self,
        rate: float = 20.0,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(1.0, rate))
        self.tokens = self.burst
        self.clock, self.sleep = clock, sleep
        self.updated = clock()
        self.held_until = 0.0
        self.lock = threading.Lock()

    def _refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait_time(self) -> float:
        """Take a token if one is there (0.0), else how long until one is."""
        with self.lock:
            now = self.clock()
            if now < self.held_until:
                return self.held_until - now
            self._refill(now)
            if self.tokens >= 1.0 - 1e-9:  # a float short of a token is a token
                self.tokens = max(0.0, self.tokens - 1.0)
                return 0.0
            return (1.0 - self.tokens) / self.rate

    def take(self) -> None:
        while (wait := self.wait_time()) > 0:
            self.sleep(wait)

    def hold(self, seconds: float) -> None:
        with self.lock:
            self.held_until = max(self.held_until, self.clock() + seconds)
            self.tokens = 0.0


def backoff(retries: int, base: float = 1.0, cap: float = 300.0) -> float:
    """Exponential backoff with full jitter in its upper half."""
    top = min(cap, base * 2 ** max(0, retries))
    return top / 2 + random.uniform(0, top / 2)


# -- Stripe Connect --------------------------------------------------------------------
DESTINATION_CODES = frozenset(
    {
        "account_invalid",
        "insufficient_capabilities_for_transfer",
        "resource_missing",
        "account_closed",
    }
)


class StripeConnect:
    name = "stripe_connect"

    def __init__(self, client: stripe.StripeClient) -> None:
        self.client = client

    @classmethod
    def from_config(
        cls, api_key: str, api_base: str, timeout: float = 30.0
    ) -> StripeConnect:
        client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base, "connect": api_base, "files": api_base},
            max_network_retries=0,  # retries are ours: same key, from the database
            http_client=stripe.RequestsClient(timeout=timeout),
        )
        return cls(client)

    def send(self, order: Order, destination: dict[str, Any]) -> Outcome:
        account = destination.get("account")
        if not isinstance(account, str) or not account.startswith("acct_"):
            return Outcome(
                "failed", reason="destination_not_ready", detail="no account"
            )
        try:
            transfer = self.client.v1.transfers.create(
                {
                    "amount": order.amount_minor,
                    "currency": order.currency.lower(),
                    "destination": account,
                    "transfer_group": order.group,
                    "metadata": {"payout_reference": order.reference},
                },
                {"idempotency_key": order.idempotency_key},
            )
        except stripe.StripeError as error:
            return self._error(error)
        return Outcome("sent", ref=transfer.id)

    def _error(self, error: stripe.StripeError) -> Outcome:
        detail = f"{type(error).__name__} {error.http_status}: {error.code or ''}"
        if isinstance(error, stripe.RateLimitError) or error.http_status == 429:
            retry_after = None
            headers = error.headers or {}
            if headers.get("Retry-After"):
                try:
                    retry_after = float(headers["Retry-After"])
                except ValueError:
                    retry_after = None
            return Outcome(
                "retry", retry_after=retry_after, rate_limited=True, detail=detail
            )
        if isinstance(error, stripe.APIConnectionError):
            return Outcome("retry", detail=detail)  # the answer is lost: same key
        status = error.http_status or 0
        if status >= 500 or status in (401, 409):  # ours to fix, or a key in use
            return Outcome("retry", detail=detail)
        if error.code in DESTINATION_CODES:
            return Outcome("failed", reason="destination_rejected", detail=detail)
        return Outcome("failed", reason="provider_refused", detail=detail)

    def status(self, order: Order) -> Outcome:
        if not order.provider_ref:
            return Outcome("pending")
        try:
            transfer = self.client.v1.transfers.retrieve(order.provider_ref)
        except stripe.StripeError as error:
            return self._error(error)
        if transfer.reversed or transfer.amount_reversed >= transfer.amount:
            return Outcome("failed", ref=transfer.id, reason="returned")
        try:
            fee = self.fee_of(transfer)
        except stripe.StripeError as error:
            return self._error(error)
        return Outcome("paid", ref=transfer.id, fee_minor=fee)

    def fee(self, order: Order) -> Outcome:
        """The fee Stripe charged for our transfer (`paid` with `fee_minor`), for a
        payout confirmed without it; a retry when Stripe cannot be asked."""
        if not order.provider_ref:
            return Outcome("pending")
        try:
            transfer = self.client.v1.transfers.retrieve(order.provider_ref)
            return Outcome("paid", ref=transfer.id, fee_minor=self.fee_of(transfer))
        except stripe.StripeError as error:
            return self._error(error)

    def fee_of(self, transfer: Any) -> int:
        """Stripe's fee on the transfer, from its balance transaction (`fee`, in
        the transaction's currency: counted when it is the transfer's)."""
        ref = transfer.balance_transaction
        if not ref:
            return 0
        txn = (
            ref
            if not isinstance(ref, str)
            else self.client.v1.balance_transactions.retrieve(ref)
        )
        if str(txn.currency).lower() != str(transfer.currency).lower():
            return 0
        return int(txn.fee or 0)

    def find(self, order: Order, destination: dict[str, Any]) -> Outcome | None:
        """Our transfer, looked up by its reference (after the key has expired)."""
        params: Any = {"transfer_group": order.group, "limit": 100}
        if isinstance(destination.get("account"), str):
            params["destination"] = destination["account"]
        try:
            for transfer in self.client.v1.transfers.list(params).auto_paging_iter():
                metadata: Any = transfer.metadata.to_dict() if transfer.metadata else {}
                if metadata.get("payout_reference") == order.reference:
                    return Outcome("sent", ref=transfer.id)
        except stripe.StripeError as error:
            return self._lookup_failed(error)
        return None

    def _lookup_failed(self, error: stripe.StripeError) -> Outcome:
        """Not knowing is not "not found": a retry, never a new payment on it."""
        known = StripeConnect._error(self, error)
        return Outcome(
            "retry",
            retry_after=known.retry_after,
            rate_limited=known.rate_limited,
            detail=f"lookup: {known.detail}",
        )

    def pull(self, start: datetime, end: datetime) -> Iterator[Any]:
        """The period's transfers and reversals as reconciliation rows."""
        return pull_connect_period(self.client, start, end)


# -- Stripe Global Payouts ------------------------------------------------------------
def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _v2_reason(reason: str | None, returned: bool) -> str:
    """An outbound payment's failure or return reason as a FAILURE_REASONS code."""
    if returned:
        return "returned"
    if reason and reason.startswith("payout_method_"):
        return "destination_rejected"
    return "provider_refused"


# What the payee's bank statement says of a Global Payouts payment: a neutral word,
# never the programme's name (Stripe would take the platform account's setting)
NEUTRAL_DESCRIPTOR = "PAYMENT"


class StripeGlobal(StripeConnect):
    """Stripe Global Payouts: an outbound payment (v2) from the platform's financial
    account to the recipient's payout method. `processing` is sent, `posted` is
    paid; `failed`, `returned` and `canceled` are failed with the reason mapped.
    The payment names nothing of the programme: a neutral statement descriptor, and
    no notification from Stripe to the recipient.
    There are no snapshot webhooks for v2 here: the poller asks `status()`. The
    errors are mapped as for Connect (the same SDK error classes)."""

    name = "stripe_global"

    def __init__(self, client: stripe.StripeClient, financial_account: str) -> None:
        super().__init__(client)
        self.financial_account = financial_account

    @classmethod
    def from_config(  # type: ignore[override]
        cls,
        api_key: str,
        api_base: str,
        financial_account: str,
        timeout: float = 30.0,
    ) -> StripeGlobal:
        connect = StripeConnect.from_config(api_key, api_base, timeout)
        return cls(connect.client, financial_account)

    def send(self, order: Order, destination: dict[str, Any]) -> Outcome:
        recipient = destination.get("recipient")
        method = destination.get("payout_method")
        if not isinstance(recipient, str) or not isinstance(method, str):
            return Outcome(
                "failed", reason="destination_not_ready", detail="no payout method"
            )
        currency = order.currency.lower()
        # the payout method's currency (a local one is converted); Stripe takes
        # it from the method when it has one
        to: OutboundPaymentCreateParamsTo = {
            "recipient": recipient,
            "payout_method": method,
        }
        if destination.get("currency"):
            to["currency"] = str(destination["currency"]).lower()
        try:
            payment = self.client.v2.money_management.outbound_payments.create(
                {
                    "from": {
                        "financial_account": self.financial_account,
                        "currency": currency,
                    },
                    "to": to,
                    "amount": {"value": order.amount_minor, "currency": currency},
                    "metadata": {"payout_reference": order.reference},
                    "statement_descriptor": NEUTRAL_DESCRIPTOR,
                    # no mail from Stripe naming the platform: notifications tells
                    # the payee, discreetly, in their own language
                    "recipient_notification": {"setting": "none"},
                },
                {"idempotency_key": order.idempotency_key},
            )
        except stripe.StripeError as error:
            return self._error(error)
        return self._outcome(payment, sent=True)

    def _error(self, error: stripe.StripeError) -> Outcome:
        if isinstance(error, stripe.InvalidPayoutMethodError) or (
            error.code or ""
        ).startswith("payout_method_"):
            detail = f"{type(error).__name__} {error.http_status}: {error.code or ''}"
            return Outcome("failed", reason="destination_rejected", detail=detail)
        return super()._error(error)

    def _outcome(self, payment: Any, sent: bool = False) -> Outcome:
        status = payment.status
        if status == "posted":
            return Outcome("paid", ref=payment.id, conversion=conversion_of(payment))
        if status == "processing":
            return Outcome("sent" if sent else "pending", ref=payment.id)
        details = payment.status_details
        reason = None
        if status == "failed" and details and details.failed:
            reason = details.failed.reason
        if status == "returned" and details and details.returned:
            reason = details.returned.reason
        return Outcome(
            "failed",
            ref=payment.id,
            reason=_v2_reason(reason, status == "returned"),
            detail=f"outbound payment {status}: {reason or ''}",
        )

    def fee(self, order: Order) -> Outcome:
        """An outbound payment's cost comes with its status (`from.debited`)."""
        return Outcome("paid", ref=order.provider_ref)

    def status(self, order: Order) -> Outcome:
        if not order.provider_ref:
            return Outcome("pending")
        try:
            payment = self.client.v2.money_management.outbound_payments.retrieve(
                order.provider_ref
            )
        except stripe.StripeError as error:
            return self._error(error)
        return self._outcome(payment)

    def find(self, order: Order, destination: dict[str, Any]) -> Outcome | None:
        """Our outbound payment, looked up by its reference (after the key expired)."""
        params: Any = {"limit": 100}
        if isinstance(destination.get("recipient"), str):
            params["recipient"] = destination["recipient"]
        if order.calling_since is not None:
            params["created"] = {"gte": _rfc3339(order.calling_since - _DAY)}
        try:
            payments = self.client.v2.money_management.outbound_payments.list(params)
            for payment in payments.auto_paging_iter():
                metadata: Any = payment.metadata.to_dict() if payment.metadata else {}
                if metadata.get("payout_reference") == order.reference:
                    return Outcome("sent", ref=payment.id)
        except stripe.StripeError as error:
            return self._lookup_failed(error)
        return None

    def pull(self, start: datetime, end: datetime) -> Iterator[Any]:
        """The period's outbound payments as reconciliation rows (statuses mapped:
        processing is pending, canceled and failed stand, returned is returned)."""
        params: Any = {
            "limit": 100,
            "created": {"gte": _rfc3339(start), "lt": _rfc3339(end)},
        }
        statuses = {"processing": "pending"}
        for payment in self.client.v2.money_management.outbound_payments.list(
            params
        ).auto_paging_iter():
            metadata: Any = payment.metadata.to_dict() if payment.metadata else {}
            yield ProviderRow(
                provider_ref=payment.id,
                kind="payment",
                amount_minor=int(payment.amount.value),
                currency=str(payment.amount.currency).upper(),
                reference=metadata.get("payout_reference"),
                status=statuses.get(payment.status, payment.status),
                created=datetime.fromisoformat(payment.created.replace("Z", "+00:00")),
            )


_DAY = timedelta(days=1)


def conversion_of(payment: Any) -> Conversion | None:
    """An outbound payment's figures: `from.debited` (in the payout's currency),
    `to.credited` (in the payout method's), and the rate of the conversion of
    `amount` (credited / amount, in major units); None when Stripe gave neither."""
    debited = getattr(payment.from_, "debited", None) if payment.from_ else None
    credited = getattr(payment.to, "credited", None) if payment.to else None
    if debited is None or credited is None:
        return None
    amount = payment.amount
    rate = money.major(int(credited.value), str(credited.currency)) / money.major(
        int(amount.value), str(amount.currency)
    )
    return Conversion(
        sent_minor=int(debited.value),
        received_minor=int(credited.value),
        received_currency=str(credited.currency).upper(),
        rate=rate.quantize(Decimal("1e-12")),
    )


# -- bank file -------------------------------------------------------------------------
@dataclass
class BankFile:
    """The payout joins the bank file; the statement settles it."""

    name: str = "bank_file"
    debtor: dict[str, str] = field(default_factory=dict)

    def send(self, order: Order, destination: dict[str, Any]) -> Outcome:
        if not destination.get("iban") or not destination.get("holder"):
            return Outcome("failed", reason="destination_not_ready", detail="no IBAN")
        try:  # details saved before the registry checked them by country
            banking.iban(destination["iban"])
            banking.bic(destination.get("bic") or "")
        except banking.AccountRefused as refused:
            return Outcome(
                "failed", reason="destination_not_ready", detail=refused.message
            )
        return Outcome("sent", ref=order.reference)

    def status(self, order: Order) -> Outcome:
        return Outcome("pending")  # only the bank statement says

    def find(self, order: Order, destination: dict[str, Any]) -> Outcome | None:
        return None
