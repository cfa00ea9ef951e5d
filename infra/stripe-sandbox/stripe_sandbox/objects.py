"""The sandbox's Stripe objects, kept in localstripe's store (and so in the state file).

Each object records the account whose books it belongs to in `_account` (None: the
platform); `Stripe-Account` requests see only that account's objects. `_export`
renders exactly the fields Stripe's API returns for the object; tests hold these
to Stripe's OpenAPI schemas (tests/contracts/test_stripe_objects.py).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from localstripe.resources import StripeObject

from . import state
from .errors import not_found
from .webhooks import deliverer

API_VERSION = "2020-08-27"

T = TypeVar("T", bound="Resource")


class Resource(StripeObject):
    object = "resource"
    _fields: tuple[str, ...] = ()
    _name = "object"

    def __init__(self, account: str | None) -> None:
        self._account = account
        super().__init__()  # stores the object under "<object>:<id>"

    def _export(self, expand: Any = None) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "object": self.object}
        for name in self._fields:
            out[name] = copy.deepcopy(getattr(self, name))
        return out

    @classmethod
    def get(cls: type[T], id: str, account: str | None, param: str = "id") -> T:
        obj = state.store.get(f"{cls.object}:{id}")
        if not isinstance(obj, cls) or obj._account != account:
            raise not_found(cls._name, id, param)
        return obj

    @classmethod
    def all(
        cls: type[T], account: str | None = None, *, any_account: bool = False
    ) -> Iterator[T]:
        """Newest first (the store keeps insertion order)."""
        for value in reversed(list(state.store.values())):
            if isinstance(value, cls) and (any_account or value._account == account):
                yield value


def now() -> int:
    return int(time.time())


class Account(Resource):
    object = "account"
    _id_prefix = "acct_"
    _name = "account"
    _fields = (
        "business_profile",
        "business_type",
        "capabilities",
        "charges_enabled",
        "country",
        "created",
        "default_currency",
        "details_submitted",
        "email",
        "metadata",
        "payouts_enabled",
        "requirements",
        "type",
    )
    DUE = [
        "business_type",
        "external_account",
        "tos_acceptance.date",
        "tos_acceptance.ip",
    ]

    def __init__(
        self,
        type: str,
        country: str,
        email: str | None,
        business_type: str | None,
        metadata: dict[str, str],
        requested: list[str],
    ) -> None:
        super().__init__(None)
        self.type, self.country, self.email = type, country, email
        self.business_type = business_type
        self.business_profile = None
        self.metadata = metadata
        self.default_currency = CURRENCIES.get(country, "eur")
        self.capabilities = {name: "inactive" for name in requested}
        self.charges_enabled = self.payouts_enabled = self.details_submitted = False
        self._bank_account: str | None = None
        self._deleted = False
        self._set_requirements(done=False)

    def _set_requirements(self, done: bool) -> None:
        due = [] if done else list(self.DUE)
        self.requirements = {
            "current_deadline": None,
            "currently_due": due,
            "disabled_reason": None if done else "requirements.past_due",
            "errors": [],
            "eventually_due": list(due),
            "past_due": list(due),
            "pending_verification": [],
        }

    def complete_onboarding(self, transfers: str = "active") -> dict[str, Any]:
        """What a finished hosted onboarding does; returns the previous attributes."""
        before = self._export()
        self.details_submitted = True
        self.business_type = self.business_type or "individual"
        for name in self.capabilities:
            self.capabilities[name] = transfers if name == "transfers" else "active"
        active = transfers == "active"
        self.payouts_enabled = active
        self.charges_enabled = active and "card_payments" in self.capabilities
        self._set_requirements(done=active)
        if active:
            self.requirements["disabled_reason"] = None
        else:
            self.requirements["currently_due"] = []
            self.requirements["past_due"] = []
            self.requirements["pending_verification"] = [
                "individual.verification.document"
            ]
            self.requirements["disabled_reason"] = "requirements.pending_verification"
        self._bank_account = self._bank_account or state.new_id("ba_")
        after = self._export()
        return {k: v for k, v in before.items() if after.get(k) != v}


CURRENCIES = {
    "US": "usd",
    "GB": "gbp",
    "CH": "chf",
    "CA": "cad",
    "AU": "aud",
    "JP": "jpy",
    "SE": "sek",
    "NO": "nok",
    "DK": "dkk",
    "PL": "pln",
    "CZ": "czk",
    "RU": "rub",
}


class BalanceTxn(Resource):
    object = "balance_transaction"
    _id_prefix = "txn_"
    _name = "balance transaction"
    _fields = (
        "amount",
        "available_on",
        "created",
        "currency",
        "description",
        "exchange_rate",
        "fee",
        "fee_details",
        "net",
        "reporting_category",
        "source",
        "status",
        "type",
    )

    def __init__(
        self,
        account: str | None,
        amount: int,
        currency: str,
        type: str,
        source: str,
        reporting_category: str,
        description: str | None = None,
        fee: int = 0,
        fee_description: str = "Stripe processing fees",
    ) -> None:
        super().__init__(account)
        self.amount, self.currency, self.type = amount, currency, type
        self.source, self.reporting_category = source, reporting_category
        self.description = description
        self.available_on = self.created
        self.exchange_rate = None
        # as Stripe's: net = amount - fee, the fee itemised in fee_details
        self.fee, self.net = fee, amount - fee
        self.fee_details: list[dict[str, Any]] = (
            [
                {
                    "amount": fee,
                    "application": None,
                    "currency": currency,
                    "description": fee_description,
                    "type": "stripe_fee",
                }
            ]
            if fee
            else []
        )
        self.status = "available"
        self._payout: str | None = None


def balance_of(account: str | None, currency: str) -> int:
    return sum(
        txn.net
        for txn in BalanceTxn.all(account)
        if txn.currency == currency and txn.status == "available"
    )


def fee_of(setting: dict[str, Any] | None, amount: int) -> int:
    """A fee as the sandbox is configured to charge one (`transfer_fee`,
    `payout_fee`): fixed minor units plus a percentage, rounded half up."""
    if not setting:
        return 0
    fixed = int(setting.get("fixed", 0))
    percent = Decimal(str(setting.get("percent", 0)))
    share = (Decimal(abs(amount)) * percent / 100).quantize(
        Decimal(1), rounding=ROUND_HALF_UP
    )
    return fixed + int(share)


class Transfer(Resource):
    object = "transfer"
    _id_prefix = "tr_"
    _name = "transfer"
    _fields = (
        "amount",
        "amount_reversed",
        "balance_transaction",
        "created",
        "currency",
        "description",
        "destination",
        "destination_payment",
        "livemode",
        "metadata",
        "reversed",
        "source_transaction",
        "source_type",
        "transfer_group",
    )

    def __init__(
        self,
        amount: int,
        currency: str,
        destination: str,
        description: str | None,
        metadata: dict[str, str],
        transfer_group: str | None,
    ) -> None:
        super().__init__(None)
        self.amount, self.currency, self.destination = amount, currency, destination
        self.description, self.metadata = description, metadata
        self.transfer_group = transfer_group
        self.amount_reversed, self.reversed = 0, False
        self.source_transaction, self.source_type = None, "card"
        self.destination_payment = state.new_id("py_")
        self._reversals: list[str] = []  # ids, oldest first (no scan of the store)
        self.balance_transaction = BalanceTxn(
            None,
            -amount,
            currency,
            "transfer",
            self.id,
            "transfer",
            description,
            fee=fee_of(state.settings.transfer_fee, amount),
            fee_description="Connect transfer fee",
        ).id
        BalanceTxn(
            destination, amount, currency, "payment", self.destination_payment, "charge"
        )

    def reversals(self) -> list[TransferReversal]:
        """Newest first, as the store lists them. A transfer from a state file of
        before the index has none: it finds them by scanning, once."""
        ids = getattr(self, "_reversals", None)
        if ids is None:
            ids = [
                r.id
                for r in reversed(list(TransferReversal.all()))
                if r.transfer == self.id
            ]
            self._reversals = ids
        found = (state.store.get(f"transfer_reversal:{id}") for id in reversed(ids))
        return [r for r in found if isinstance(r, TransferReversal)]

    def _export(self, expand: Any = None) -> dict[str, Any]:
        out = super()._export()
        reversals = [r._export() for r in self.reversals()]
        out["reversals"] = {
            "object": "list",
            "data": reversals,
            "has_more": False,
            "url": f"/v1/transfers/{self.id}/reversals",
        }
        return out


class TransferReversal(Resource):
    object = "transfer_reversal"
    _id_prefix = "trr_"
    _name = "transfer reversal"
    _fields = (
        "amount",
        "balance_transaction",
        "created",
        "currency",
        "destination_payment_refund",
        "metadata",
        "source_refund",
        "transfer",
    )

    def __init__(
        self, transfer: Transfer, amount: int, metadata: dict[str, str]
    ) -> None:
        transfer.reversals()  # its index, built first if the transfer predates it
        super().__init__(None)
        self.amount, self.currency, self.transfer = (
            amount,
            transfer.currency,
            transfer.id,
        )
        self.metadata, self.source_refund = metadata, None
        self.destination_payment_refund = state.new_id("pyr_")
        self.balance_transaction = BalanceTxn(
            None,
            amount,
            transfer.currency,
            "transfer_refund",
            self.id,
            "transfer_reversal",
        ).id
        BalanceTxn(
            transfer.destination,
            -amount,
            transfer.currency,
            "payment_refund",
            self.destination_payment_refund,
            "refund",
        )
        transfer._reversals.append(self.id)
        transfer.amount_reversed += amount
        transfer.reversed = transfer.amount_reversed >= transfer.amount


class Payout(Resource):
    object = "payout"
    _id_prefix = "po_"
    _name = "payout"
    _fields = (
        "amount",
        "arrival_date",
        "automatic",
        "balance_transaction",
        "created",
        "currency",
        "description",
        "destination",
        "failure_balance_transaction",
        "failure_code",
        "failure_message",
        "livemode",
        "metadata",
        "method",
        "original_payout",
        "reversed_by",
        "source_type",
        "statement_descriptor",
        "status",
        "type",
    )

    def __init__(
        self,
        account: str | None,
        amount: int,
        currency: str,
        destination: str,
        description: str | None,
        metadata: dict[str, str],
        method: str,
        statement_descriptor: str | None,
    ) -> None:
        super().__init__(account)
        self.amount, self.currency, self.destination = amount, currency, destination
        self.description, self.metadata, self.method = description, metadata, method
        self.statement_descriptor = statement_descriptor
        self.arrival_date = self.created + (0 if method == "instant" else 2 * 86400)
        self.automatic, self.source_type, self.type = False, "card", "bank_account"
        self.status = "pending"
        self.failure_balance_transaction: str | None = None
        self.failure_code: str | None = None
        self.failure_message: str | None = None
        self.original_payout = self.reversed_by = None
        # the payout sweeps the account's unswept funds in its currency
        for txn in BalanceTxn.all(account):
            if txn.currency == currency and txn._payout is None:
                txn._payout = self.id
        txn = BalanceTxn(
            account,
            -amount,
            currency,
            "payout",
            self.id,
            "payout",
            fee=fee_of(state.settings.payout_fee, amount),
            fee_description="Payout fee",
        )
        txn._payout = self.id
        self.balance_transaction = txn.id

    def settle(self, outcome: str, failure_code: str | None = None) -> None:
        if outcome == "paid":
            self.status = "paid"
            return
        refund_type = "payout_failure" if outcome == "failed" else "payout_cancel"
        txn = BalanceTxn(
            self._account,
            self.amount,
            self.currency,
            refund_type,
            self.id,
            "payout_reversal",
        )
        txn._payout = self.id
        self.failure_balance_transaction = txn.id
        self.status = outcome
        if outcome == "failed":
            code = failure_code or "could_not_process"
            self.failure_code = code
            self.failure_message = FAILURES.get(
                code, "The bank could not process this payout."
            )


FAILURES = {
    "account_closed": "The bank account has been closed.",
    "no_account": "The bank account details on file are probably incorrect.",
    "insufficient_funds": "Insufficient funds to cover the payout.",
    "could_not_process": "The bank could not process this payout.",
}


class Event(Resource):
    object = "event"
    _id_prefix = "evt_"
    _name = "event"
    _fields = (
        "api_version",
        "created",
        "data",
        "livemode",
        "pending_webhooks",
        "request",
        "type",
    )

    def __init__(
        self,
        type: str,
        obj: dict[str, Any],
        account: str | None,
        previous: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(account)
        self.type, self.api_version = type, API_VERSION
        self.data: dict[str, Any] = {"object": obj}
        if previous is not None:
            self.data["previous_attributes"] = previous
        self.pending_webhooks = 1 if deliverer.url else 0
        info = state.current_request.get()
        self.request = {
            "id": info.id if info else None,
            "idempotency_key": info.idempotency_key if info else None,
        }

    def _export(self, expand: Any = None) -> dict[str, Any]:
        out = super()._export()
        if self._account:
            out["account"] = self._account
        return out


def emit(
    type: str,
    obj: Resource,
    previous: dict[str, Any] | None = None,
    account: str | None = None,
) -> Event:
    """Record an event and hand it to the webhook deliverer. `account` defaults to
    the object's own account: events of connected accounts carry `account`."""
    event = Event(type, obj._export(), account or obj._account, previous)
    deliverer.publish(event._export())
    return event
