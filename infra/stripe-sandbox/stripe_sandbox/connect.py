"""v1 Connect endpoints: accounts, account links, transfers and reversals, payouts,
balance and balance transactions, events. Registered in routes.registry."""

from __future__ import annotations

import asyncio
import fnmatch
from typing import Any

from . import params as p
from . import state
from .errors import StripeError, invalid, missing, not_found
from .objects import (
    Account,
    BalanceTxn,
    Event,
    Payout,
    Resource,
    Transfer,
    TransferReversal,
    balance_of,
    emit,
    fee_of,
    now,
)
from .routes import Call, api

COMMON = {"expand"}


def no_expand(call: Call) -> None:
    if call.params.get("expand"):
        raise invalid("The sandbox does not expand this resource.", "expand")


def created_filter(value: Any) -> Any:
    """`created=T` or `created[gt|gte|lt|lte]=T`, as Stripe's list endpoints take."""
    if value is None:
        return lambda created: True
    bounds = value if isinstance(value, dict) else {"eq": value}
    tests = {
        "eq": lambda a, b: a == b,
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }
    checks = []
    for name, raw in bounds.items():
        if name not in tests:
            raise invalid(f"Invalid created[{name}]", f"created[{name}]")
        number = p.integer({"created": raw}, "created", minimum=0)
        checks.append((tests[name], number))
    return lambda created: all(test(created, n) for test, n in checks)


def page(call: Call, items: list[Any], url: str) -> dict[str, Any]:
    keep = created_filter(call.params.get("created"))
    items = [item for item in items if keep(item.created)]
    limit = p.integer(call.params, "limit") or 10
    if limit > 100:
        raise invalid("limit must be at most 100", "limit")
    after = call.params.get("starting_after")
    before = call.params.get("ending_before")
    ids = [item.id for item in items]
    if after:
        if after not in ids:
            raise invalid(f"No such object: '{after}'", "starting_after")
        items = items[ids.index(after) + 1 :]
        chosen = items[:limit]
    elif before:
        if before not in ids:
            raise invalid(f"No such object: '{before}'", "ending_before")
        items = items[: ids.index(before)]
        chosen = items[-limit:]
    else:
        chosen = items[:limit]
    return {
        "object": "list",
        "data": [item._export() for item in chosen],
        "has_more": len(items) > len(chosen),
        "url": url,
    }


def platform_only(call: Call) -> None:
    if call.account:
        raise invalid(
            "This request is only for the platform; do not send Stripe-Account.",
            "Stripe-Account",
        )


def connected(id: str, param: str = "destination") -> Account:
    account = state.store.get(f"account:{id}")
    if not isinstance(account, Account):
        raise not_found("account", id, param)
    return account


# --- accounts ---------------------------------------------------------------


@api("POST", "/v1/accounts")
def create_account(call: Call) -> dict[str, Any]:
    platform_only(call)
    params = call.params
    p.only(
        params,
        {
            "type",
            "country",
            "email",
            "business_type",
            "capabilities",
            "metadata",
            "business_profile",
            "tos_acceptance",
            "settings",
        }
        | COMMON,
    )
    no_expand(call)
    kind = p.choice(params, "type", ("custom", "express", "standard"), "standard")
    country = (p.text(params, "country") or "US").upper()
    if len(country) != 2 or not country.isalpha():
        raise invalid(f"Invalid country: {country}", "country")
    business_type = p.choice(
        params,
        "business_type",
        ("company", "government_entity", "individual", "non_profit"),
    )
    email = p.text(params, "email")
    requested = _requested(params.get("capabilities"))
    if kind != "standard" and not requested:
        raise invalid(
            "You must request at least one capability for this account type.",
            "capabilities",
        )
    account = Account(
        str(kind),
        country,
        email,
        business_type,
        p.metadata(params.get("metadata")),
        requested,
    )
    return account._export()


def _requested(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, dict):
        raise invalid("Invalid capabilities: must be an object", "capabilities")
    names = []
    for name, options in value.items():
        if not isinstance(options, dict) or set(options) - {"requested"}:
            raise invalid(f"Invalid capabilities[{name}]", f"capabilities[{name}]")
        if p.boolean(
            options.get("requested", "false"), f"capabilities[{name}][requested]"
        ):
            names.append(name)
    return names


@api("GET", "/v1/accounts/{id}")
def retrieve_account(call: Call) -> dict[str, Any]:
    if call.account and call.account != call.args["id"]:
        raise not_found("account", call.args["id"])
    no_expand(call)
    return Account.get(call.args["id"], None)._export()


@api("GET", "/v1/account")
def retrieve_own_account(call: Call) -> dict[str, Any]:
    if not call.account:
        raise invalid(
            "The sandbox platform has no account object; send Stripe-Account."
        )
    return connected(call.account, "Stripe-Account")._export()


@api("POST", "/v1/accounts/{id}")
def update_account(call: Call) -> dict[str, Any]:
    platform_only(call)
    account = Account.get(call.args["id"], None)
    params = call.params
    p.only(params, {"email", "business_type", "capabilities", "metadata"} | COMMON)
    no_expand(call)
    before = account._export()
    if "email" in params:
        account.email = p.text(params, "email") or None
    if "business_type" in params:
        account.business_type = p.choice(
            params,
            "business_type",
            ("company", "government_entity", "individual", "non_profit"),
        )
    for name in _requested(params.get("capabilities")):
        account.capabilities.setdefault(
            name, "active" if account.details_submitted else "inactive"
        )
    account.metadata = p.metadata(params.get("metadata"), account.metadata)
    after = account._export()
    previous = {k: v for k, v in before.items() if after.get(k) != v}
    emit("account.updated", account, previous, account=account.id)
    return after


@api("DELETE", "/v1/accounts/{id}")
def delete_account(call: Call) -> dict[str, Any]:
    platform_only(call)
    account = Account.get(call.args["id"], None)
    del state.store[f"account:{account.id}"]
    return {"id": account.id, "object": "account", "deleted": True}


@api("GET", "/v1/accounts")
def list_accounts(call: Call) -> dict[str, Any]:
    platform_only(call)
    p.only(
        call.params, {"limit", "starting_after", "ending_before", "created"} | COMMON
    )
    return page(call, list(Account.all(None)), "/v1/accounts")


# --- account links ---------------------------------------------------------


@api("POST", "/v1/account_links")
def create_account_link(call: Call) -> dict[str, Any]:
    platform_only(call)
    params = call.params
    p.only(
        params,
        {
            "account",
            "type",
            "refresh_url",
            "return_url",
            "collect",
            "collection_options",
        }
        | COMMON,
    )
    account_id = p.text(params, "account", required=True)
    assert account_id is not None
    account = Account.get(account_id, None, "account")
    kind = p.choice(params, "type", ("account_onboarding", "account_update"))
    if kind is None:
        raise missing("type")
    refresh_url = p.text(params, "refresh_url", required=True)
    return_url = p.text(params, "return_url", required=True)
    for name, url in (("refresh_url", refresh_url), ("return_url", return_url)):
        if not str(url).startswith(("http://", "https://")):
            raise invalid(f"Not a valid URL: {name}", name, "url_invalid")
    token = state.new_id("", 32)
    created = now()
    state.store[f"sandbox:link:{token}"] = {
        "account": account.id,
        "type": kind,
        "refresh_url": refresh_url,
        "return_url": return_url,
        "expires_at": created + state.settings.link_ttl,
        "used": False,
    }
    return {
        "object": "account_link",
        "created": created,
        "expires_at": created + state.settings.link_ttl,
        "url": f"{call.base_url}/_sandbox/onboarding/{token}",
    }


# --- transfers ---------------------------------------------------------------


@api("POST", "/v1/transfers")
def create_transfer(call: Call) -> dict[str, Any]:
    platform_only(call)
    params = call.params
    p.only(
        params,
        {
            "amount",
            "currency",
            "destination",
            "description",
            "metadata",
            "transfer_group",
            "source_type",
            "source_transaction",
        }
        | COMMON,
    )
    no_expand(call)
    if params.get("source_transaction"):
        raise invalid(
            "The sandbox funds transfers from the balance only.", "source_transaction"
        )
    amount = p.integer(params, "amount", required=True)
    currency = p.currency(params)
    destination = p.text(params, "destination", required=True)
    assert amount is not None and currency is not None and destination is not None
    account = connected(destination)
    if account.capabilities.get("transfers") != "active":
        raise StripeError(
            400,
            "Your destination account needs to have at least one of the following "
            "capabilities enabled: transfers, crypto_transfers, legacy_payments",
            param="destination",
            code="insufficient_capabilities_for_transfer",
        )
    if state.settings.platform_funds == "enforced":
        available = balance_of(None, currency)
        if available < amount + fee_of(state.settings.transfer_fee, amount):
            raise StripeError(
                400,
                "You have insufficient available funds in your Stripe account. "
                f"Your available balance is {available} {currency}.",
                code="balance_insufficient",
            )
    transfer = Transfer(
        amount,
        currency,
        account.id,
        p.text(params, "description"),
        p.metadata(params.get("metadata")),
        p.text(params, "transfer_group"),
    )
    emit("transfer.created", transfer)
    return transfer._export()


@api("GET", "/v1/transfers/{id}")
def retrieve_transfer(call: Call) -> dict[str, Any]:
    platform_only(call)
    no_expand(call)
    return Transfer.get(call.args["id"], None)._export()


@api("POST", "/v1/transfers/{id}")
def update_transfer(call: Call) -> dict[str, Any]:
    platform_only(call)
    transfer = Transfer.get(call.args["id"], None)
    p.only(call.params, {"description", "metadata"} | COMMON)
    before = transfer._export()
    if "description" in call.params:
        transfer.description = p.text(call.params, "description") or None
    transfer.metadata = p.metadata(call.params.get("metadata"), transfer.metadata)
    after = transfer._export()
    emit(
        "transfer.updated", transfer, {k: v for k, v in before.items() if after[k] != v}
    )
    return after


@api("GET", "/v1/transfers")
def list_transfers(call: Call) -> dict[str, Any]:
    platform_only(call)
    p.only(
        call.params,
        {
            "limit",
            "starting_after",
            "ending_before",
            "destination",
            "transfer_group",
            "created",
        }
        | COMMON,
    )
    items = [
        t
        for t in Transfer.all(None)
        if call.params.get("destination") in (None, t.destination)
        and call.params.get("transfer_group") in (None, t.transfer_group)
    ]
    return page(call, items, "/v1/transfers")


@api("POST", "/v1/transfers/{id}/reversals")
def create_reversal(call: Call) -> dict[str, Any]:
    platform_only(call)
    transfer = Transfer.get(call.args["id"], None)
    params = call.params
    p.only(
        params, {"amount", "description", "metadata", "refund_application_fee"} | COMMON
    )
    no_expand(call)
    remaining = transfer.amount - transfer.amount_reversed
    amount = p.integer(params, "amount")
    amount = remaining if amount is None else amount
    if remaining == 0:
        raise invalid(f"Transfer {transfer.id} has already been fully reversed.")
    if amount > remaining:
        raise invalid(
            f"You have requested a reversal of {amount}, but transfer {transfer.id} "
            f"has only {remaining} left to reverse.",
            "amount",
        )
    if balance_of(transfer.destination, transfer.currency) < amount:
        raise StripeError(
            400,
            "The destination account does not have enough available balance to "
            "reverse this transfer.",
            code="balance_insufficient",
        )
    reversal = TransferReversal(transfer, amount, p.metadata(params.get("metadata")))
    emit("transfer.reversed", transfer)
    return reversal._export()


@api("GET", "/v1/transfers/{id}/reversals")
def list_reversals(call: Call) -> dict[str, Any]:
    platform_only(call)
    transfer = Transfer.get(call.args["id"], None)
    return page(call, transfer.reversals(), f"/v1/transfers/{transfer.id}/reversals")


@api("GET", "/v1/transfers/{id}/reversals/{reversal}")
def retrieve_reversal(call: Call) -> dict[str, Any]:
    platform_only(call)
    reversal = TransferReversal.get(call.args["reversal"], None)
    if reversal.transfer != call.args["id"]:
        raise not_found("transfer reversal", call.args["reversal"])
    return reversal._export()


# --- payouts ---------------------------------------------------------------


@api("POST", "/v1/payouts")
def create_payout(call: Call) -> dict[str, Any]:
    params = call.params
    p.only(
        params,
        {
            "amount",
            "currency",
            "description",
            "metadata",
            "method",
            "statement_descriptor",
            "destination",
            "source_type",
        }
        | COMMON,
    )
    no_expand(call)
    amount = p.integer(params, "amount", required=True)
    currency = p.currency(params)
    assert amount is not None and currency is not None
    method = p.choice(params, "method", ("standard", "instant"), "standard")
    descriptor = p.text(params, "statement_descriptor", max_length=22)
    destination = "ba_sandboxplatform"
    if call.account:
        account = connected(call.account, "Stripe-Account")
        if not account.payouts_enabled or account._bank_account is None:
            raise invalid(
                "Payouts are not enabled for this account.", code="payouts_not_allowed"
            )
        destination = account._bank_account
        if params.get("destination") not in (None, destination):
            raise not_found(
                "external account", str(params["destination"]), "destination"
            )
        available = balance_of(call.account, currency)
        if available < amount:
            raise StripeError(
                400,
                "You have insufficient funds in your Stripe account for this "
                f"transaction. Your available balance is {available} {currency}.",
                code="balance_insufficient",
            )
    payout = Payout(
        call.account,
        amount,
        currency,
        destination,
        p.text(params, "description"),
        p.metadata(params.get("metadata")),
        str(method),
        descriptor,
    )
    emit("payout.created", payout)
    schedule_settlement(payout)
    return payout._export()


def schedule_settlement(payout: Payout) -> None:
    outcome = state.settings.payout_outcome
    if outcome == "manual":
        return
    loop = asyncio.get_running_loop()
    loop.call_later(
        state.settings.payout_after,
        settle,
        payout.id,
        payout._account,
        outcome,
        state.settings.payout_failure_code,
    )


def settle(
    payout_id: str, account: str | None, outcome: str, failure_code: str | None = None
) -> Payout:
    payout = Payout.get(payout_id, account)
    if payout.status != "pending":
        raise invalid(f"Payout {payout_id} is {payout.status}, not pending.")
    state.current_request.set(None)
    payout.settle(outcome, failure_code)
    emit(f"payout.{outcome}", payout)
    state.save()
    return payout


@api("POST", "/v1/payouts/{id}/cancel")
def cancel_payout(call: Call) -> dict[str, Any]:
    payout = Payout.get(call.args["id"], call.account)
    if payout.status != "pending":
        raise invalid("Only pending payouts can be canceled.")
    payout.settle("canceled")
    emit("payout.canceled", payout)
    return payout._export()


@api("GET", "/v1/payouts/{id}")
def retrieve_payout(call: Call) -> dict[str, Any]:
    no_expand(call)
    return Payout.get(call.args["id"], call.account)._export()


@api("GET", "/v1/payouts")
def list_payouts(call: Call) -> dict[str, Any]:
    p.only(
        call.params,
        {
            "limit",
            "starting_after",
            "ending_before",
            "status",
            "created",
        }
        | COMMON,
    )
    items = [
        x
        for x in Payout.all(call.account)
        if call.params.get("status") in (None, x.status)
    ]
    return page(call, items, "/v1/payouts")


# --- balance -----------------------------------------------------------------


@api("GET", "/v1/balance")
def retrieve_balance(call: Call) -> dict[str, Any]:
    currencies = sorted({t.currency for t in BalanceTxn.all(call.account)})
    if call.account:
        currencies = currencies or [
            connected(call.account, "Stripe-Account").default_currency
        ]
    amounts = [
        {
            "amount": balance_of(call.account, c),
            "currency": c,
            "source_types": {"card": balance_of(call.account, c)},
        }
        for c in currencies or ["usd"]
    ]
    return {
        "object": "balance",
        "available": amounts,
        "pending": [
            {"amount": 0, "currency": a["currency"], "source_types": {"card": 0}}
            for a in amounts
        ],
        "livemode": False,
    }


@api("GET", "/v1/balance_transactions")
@api("GET", "/v1/balance/history")
def list_balance_transactions(call: Call) -> dict[str, Any]:
    params = call.params
    p.only(
        params,
        {
            "limit",
            "starting_after",
            "ending_before",
            "type",
            "source",
            "payout",
            "currency",
            "created",
        }
        | COMMON,
    )
    if params.get("payout"):
        Payout.get(str(params["payout"]), call.account, "payout")
    items = [
        t
        for t in BalanceTxn.all(call.account)
        if params.get("type") in (None, t.type)
        and params.get("source") in (None, t.source)
        and params.get("payout") in (None, t._payout)
        and params.get("currency") in (None, t.currency)
    ]
    return page(call, items, "/v1/balance_transactions")


@api("GET", "/v1/balance_transactions/{id}")
@api("GET", "/v1/balance/history/{id}")
def retrieve_balance_transaction(call: Call) -> dict[str, Any]:
    no_expand(call)
    return BalanceTxn.get(call.args["id"], call.account)._export()


# --- events ------------------------------------------------------------------


@api("GET", "/v1/events")
def list_events(call: Call) -> dict[str, Any]:
    p.only(
        call.params,
        {
            "limit",
            "starting_after",
            "ending_before",
            "type",
            "types",
            "created",
        }
        | COMMON,
    )
    kind, kinds = call.params.get("type"), call.params.get("types")
    if kinds is not None and not isinstance(kinds, list):
        raise invalid("types must be a list", "types")
    items: list[Resource] = [
        e
        for e in Event.all(call.account)
        if (kind is None or fnmatch.fnmatchcase(e.type, str(kind)))
        and (kinds is None or e.type in kinds)
    ]
    return page(call, items, "/v1/events")


@api("GET", "/v1/events/{id}")
def retrieve_event(call: Call) -> dict[str, Any]:
    return Event.get(call.args["id"], call.account)._export()
