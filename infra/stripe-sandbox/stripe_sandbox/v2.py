"""The few v2 endpoints a Global Payouts platform uses, shaped as the `stripe` SDK's v2
objects are: recipient accounts (`/v2/core/accounts` with the recipient
configuration), hosted recipient onboarding (`/v2/core/account_links`), and
outbound payments (`/v2/money_management/outbound_payments`: create, retrieve, list,
cancel). JSON bodies; amounts as `{"value": minor units, "currency"}`; times as
RFC 3339; lists as `{"data", "next_page_url"}`. Fault switches and idempotency apply
as to v1 (the middleware in app.py).

An outbound payment is `processing`, then `posted` after `outbound_after` seconds, or
as `outbound_outcome` says (`posted`, `failed`, `returned`, `manual`); the control API
moves one by hand:

POST /_sandbox/v2/accounts/{id}/complete_onboarding  {"currency": "eur"}: a payout
     method (a bank account) becomes the recipient's default for the currency
GET  /_sandbox/v2/onboarding/{token}   the account link's page: the same, then a
     redirect to its return_url
POST /_sandbox/v2/outbound_payments/{id}/status   {"status": "posted" | "failed" |
     "returned", "reason": "..."}
POST /_sandbox/v2/config   {"outbound_outcome": ..., "outbound_after": s,
     "fx_rates": {"eur:rsd": "117.25"}, "fx_fee_percent": "0.5"}: a payment to a
     payout method in another currency (`to.currency`) is converted at the rate,
     `to.credited` in the method's currency; `from.debited` is the amount plus the
     FX fee
GET  /_sandbox/v2/accounts  the recipient accounts' ids
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from . import state
from .errors import StripeError, invalid, missing, not_found
from .routes import Call, api

OUTCOMES = ("posted", "failed", "returned", "manual")
FAILED_REASONS = ("payout_method_declined", "payout_method_does_not_exist")
RETURNED_REASONS = ("payout_method_closed", "payout_method_invalid_account_number")


def rfc3339(epoch: float | None = None) -> str:
    moment = datetime.fromtimestamp(time.time() if epoch is None else epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_rfc3339(value: Any, name: str) -> float:
    if not isinstance(value, str):
        raise invalid(f"{name} must be an RFC 3339 date & time", name)
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise invalid(f"{name} must be an RFC 3339 date & time", name) from None


def only(params: dict[str, Any], allowed: set[str], where: str = "") -> None:
    for name in params:
        if name not in allowed:
            raise StripeError(
                400,
                f"Received unknown parameter: {where}{name}",
                param=f"{where}{name}",
                code="parameter_unknown",
            )


def obj(params: dict[str, Any], name: str, required: bool = False) -> dict[str, Any]:
    value = params.get(name)
    if value is None:
        if required:
            raise missing(name)
        return {}
    if not isinstance(value, dict):
        raise invalid(f"{name} must be an object", name)
    return value


def text(
    params: dict[str, Any], name: str, required: bool = False, where: str = ""
) -> str | None:
    value = params.get(name)
    if value is None:
        if required:
            raise missing(f"{where}{name}")
        return None
    if not isinstance(value, str) or not value or len(value) > 5000:
        raise invalid(f"{where}{name} must be a non-empty string", f"{where}{name}")
    return value


def currency(params: dict[str, Any], name: str, where: str) -> str:
    value = (text(params, name, True, where) or "").lower()
    if not re.fullmatch(r"[a-z]{3}", value):
        raise invalid(f"Invalid currency: {value}", f"{where}{name}")
    return value


def metadata(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > 50:
        raise invalid("metadata must be an object of at most 50 keys", "metadata")
    for key, item in value.items():
        if not 0 < len(key) <= 40 or not isinstance(item, str) or len(item) > 500:
            raise invalid("metadata keys and values must be short strings", "metadata")
    return dict(value)


def _accounts() -> list[dict[str, Any]]:
    return [v for k, v in state.store.items() if k.startswith("v2:account:")]


def _payments() -> list[dict[str, Any]]:
    return [v for k, v in state.store.items() if k.startswith("v2:obp:")]


def account_of(account_id: str, param: str = "id") -> dict[str, Any]:
    found = state.store.get(f"v2:account:{account_id}")
    if not isinstance(found, dict):
        raise not_found("account", account_id, param)
    return found


def payment_of(payment_id: str) -> dict[str, Any]:
    found = state.store.get(f"v2:obp:{payment_id}")
    if not isinstance(found, dict):
        raise not_found("outbound payment", payment_id)
    return found


def put(key: str, value: dict[str, Any]) -> dict[str, Any]:
    state.store[key] = value  # a new dict each time: the store notices the change
    return value


# -- recipients ----------------------------------------------------------------------
@api("POST", "/v2/core/accounts", "v2")
def create_account(call: Call) -> dict[str, Any]:
    params = call.params
    only(
        params,
        {
            "configuration",
            "contact_email",
            "dashboard",
            "defaults",
            "display_name",
            "identity",
            "include",
            "metadata",
        },
    )
    configuration = obj(params, "configuration", required=True)
    only(configuration, {"recipient"}, "configuration.")
    recipient = obj(configuration, "recipient")
    if not recipient:
        raise invalid(
            "The sandbox makes recipient accounts only: give configuration.recipient",
            "configuration",
        )
    identity = obj(params, "identity")
    country = identity.get("country")
    if country is not None and not (isinstance(country, str) and len(country) == 2):
        raise invalid("identity.country must be two letters", "identity.country")
    account_id = state.new_id("acct_", 16)
    return put(
        f"v2:account:{account_id}",
        {
            "id": account_id,
            "object": "v2.core.account",
            "applied_configurations": ["recipient"],
            "closed": False,
            "configuration": {
                "recipient": {
                    "applied": True,
                    "capabilities": {
                        "bank_accounts": {
                            "local": {"requested": True, "status": "restricted"}
                        }
                    },
                }
            },
            "contact_email": None,
            "contact_phone": None,
            "created": rfc3339(),
            "dashboard": params.get("dashboard") or "none",
            "defaults": {"payout_methods": {}},
            "display_name": None,
            "future_requirements": None,
            "identity": {"country": country.lower() if country else None},
            "livemode": False,
            "metadata": metadata(params.get("metadata")),
            "requirements": None,
        },
    )


@api("GET", "/v2/core/accounts/{id}", "v2")
def retrieve_account(call: Call) -> dict[str, Any]:
    return account_of(call.args["id"])


@api("POST", "/v2/core/accounts/{id}/close", "v2")
def close_account(call: Call) -> dict[str, Any]:
    """Stripe's v2 close: every applied configuration must be named; the account
    stays retrievable (`closed: true`) but can no longer be used: its payout
    methods go and outbound payments to it are refused. Closing a closed account
    answers it as it is."""
    params = call.params
    only(params, {"applied_configurations"})
    account = dict(account_of(call.args["id"]))
    if account["closed"]:
        return account
    named = params.get("applied_configurations") or []
    if not isinstance(named, list) or set(named) != set(
        account["applied_configurations"]
    ):
        raise invalid(
            "applied_configurations must name every configuration applied to the "
            f"account: {account['applied_configurations']}",
            "applied_configurations",
        )
    for method in (account["defaults"]["payout_methods"] or {}).values():
        state.store.pop(f"sandbox:v2:method:{method}", None)
    account["closed"] = True
    account["defaults"] = {**account["defaults"], "payout_methods": {}}
    account["configuration"] = {
        name: {**config, "applied": False}
        for name, config in account["configuration"].items()
    }
    return put(f"v2:account:{account['id']}", account)


def complete_onboarding(account_id: str, currency_code: str) -> dict[str, Any]:
    """A bank account becomes the recipient's payout method for the currency."""
    account = dict(account_of(account_id))
    method = state.new_id("bankacct_", 16)
    methods = dict(account["defaults"]["payout_methods"] or {})
    methods[currency_code] = method
    account["defaults"] = {**account["defaults"], "payout_methods": methods}
    account["configuration"] = {
        "recipient": {
            "applied": True,
            "capabilities": {
                "bank_accounts": {"local": {"requested": True, "status": "active"}}
            },
        }
    }
    state.store[f"sandbox:v2:method:{method}"] = {
        "account": account_id,
        "currency": currency_code,
    }
    return put(f"v2:account:{account_id}", account)


@api("POST", "/v2/core/account_links", "v2")
def create_account_link(call: Call) -> dict[str, Any]:
    params = call.params
    only(params, {"account", "use_case"})
    account_id = text(params, "account", True) or ""
    account_of(account_id, "account")
    use_case = obj(params, "use_case", required=True)
    kind = use_case.get("type")
    if kind not in ("account_onboarding", "account_update"):
        raise invalid(
            "use_case.type is account_onboarding or account_update", "use_case.type"
        )
    options = obj(use_case, kind, required=True)
    refresh = text(options, "refresh_url", True, f"use_case.{kind}.")
    back = text(options, "return_url", False, f"use_case.{kind}.")
    token = state.new_id("", 24)
    created = time.time()
    expires = created + state.settings.link_ttl
    state.store[f"sandbox:v2:link:{token}"] = {
        "account": account_id,
        "refresh_url": refresh,
        "return_url": back or refresh,
        "expires_at": expires,
        "used": False,
    }
    return {
        "object": "v2.core.account_link",
        "account": account_id,
        "created": rfc3339(created),
        "expires_at": rfc3339(expires),
        "livemode": False,
        "url": f"{call.base_url}/_sandbox/v2/onboarding/{token}",
        "use_case": use_case,
    }


# -- outbound payments ---------------------------------------------------------------
def _amount(params: dict[str, Any]) -> dict[str, Any]:
    amount = obj(params, "amount", required=True)
    only(amount, {"value", "currency"}, "amount.")
    value = amount.get("value")
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise invalid("amount.value must be a positive integer", "amount.value")
    return {"value": value, "currency": currency(amount, "currency", "amount.")}


def _notification(params: dict[str, Any]) -> dict[str, str]:
    given = obj(params, "recipient_notification") or {}
    only(given, {"setting"}, "recipient_notification.")
    setting = text(given, "setting", False, "recipient_notification.") or "configured"
    if setting not in ("configured", "none"):
        raise invalid(
            "recipient_notification.setting is configured or none",
            "recipient_notification.setting",
        )
    return {"setting": setting}


@api("POST", "/v2/money_management/outbound_payments", "v2")
def create_outbound_payment(call: Call) -> dict[str, Any]:
    params = call.params
    only(
        params,
        {
            "amount",
            "description",
            "from",
            "metadata",
            "recipient_notification",
            "recipient_verification",
            "statement_descriptor",
            "to",
        },
    )
    amount = _amount(params)
    source = obj(params, "from", required=True)
    only(source, {"currency", "financial_account"}, "from.")
    account = text(source, "financial_account", True, "from.") or ""
    if not account.startswith("fa_"):
        raise not_found("financial account", account, "from.financial_account")
    if currency(source, "currency", "from.") != amount["currency"]:
        raise invalid(
            "The sandbox sends amounts in the financial account's currency: "
            "from.currency must be amount.currency",
            "from.currency",
        )
    to = obj(params, "to", required=True)
    only(to, {"currency", "payout_method", "payout_method_options", "recipient"}, "to.")
    recipient_id = text(to, "recipient", True, "to.") or ""
    recipient = account_of(recipient_id, "to.recipient")
    methods = recipient["defaults"]["payout_methods"] or {}
    local = currency(to, "currency", "to.") if to.get("currency") else None
    method = text(to, "payout_method", False, "to.") or methods.get(
        local or amount["currency"]
    )
    saved = state.store.get(f"sandbox:v2:method:{method}") if method else None
    if not saved or saved["account"] != recipient_id:
        raise StripeError(
            400,
            "The recipient has no usable payout method for this currency.",
            type="invalid_payout_method",
            code="payout_method_does_not_exist",
            param="to.payout_method",
        )
    saved_currency = saved.get("currency") or amount["currency"]
    if local is not None and local != saved_currency:
        raise invalid(
            f"The payout method takes {saved_currency}, not {local}", "to.currency"
        )
    debited, credited = convert(amount, saved_currency)
    payment_id = state.new_id("obp_", 20)
    payment = put(
        f"v2:obp:{payment_id}",
        {
            "id": payment_id,
            "object": "v2.money_management.outbound_payment",
            "amount": amount,
            "cancelable": True,
            "created": rfc3339(),
            "description": text(params, "description"),
            "expected_arrival_date": rfc3339(time.time() + 2 * 86400),
            "from": {"debited": debited, "financial_account": account},
            "livemode": False,
            "metadata": metadata(params.get("metadata")),
            "payout_intent": None,
            "recipient_notification": _notification(params),
            "recipient_verification": None,
            "statement_descriptor": text(params, "statement_descriptor") or "SVYAZ",
            "status": "processing",
            "status_details": None,
            "status_transitions": {
                "canceled_at": None,
                "failed_at": None,
                "posted_at": None,
                "returned_at": None,
            },
            "to": {
                "credited": credited,
                "payout_method": method,
                "recipient": recipient_id,
            },
            "tracking_details": None,
        },
    )
    schedule(payment_id)
    return payment


# ISO 4217 minor units of the currencies that do not have two (Stripe's lists)
EXPONENTS = {
    **dict.fromkeys(
        "bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split(), 0
    ),
    **dict.fromkeys("bhd jod kwd omr tnd".split(), 3),
}


def convert(
    amount: dict[str, Any], to_currency: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a payment of `amount` debits from the financial account and credits to
    a payout method in `to_currency`: the same amount when no currency changes;
    else converted at the configured rate (`fx_rates`, "eur:rsd": units of the one
    for a unit of the other), rounded half up to the currency's minor unit, with
    the FX fee (`fx_fee_percent` of the amount) debited on top."""
    source = amount["currency"]
    if to_currency == source:
        return dict(amount), dict(amount)
    rates = state.settings.extra.get("fx_rates", {})
    rate = rates.get(f"{source}:{to_currency}")
    if rate is None:
        raise StripeError(
            400,
            f"The sandbox has no exchange rate from {source} to {to_currency}.",
            code="unsupported_currency_pair",
            param="to.currency",
        )
    major = Decimal(amount["value"]).scaleb(-EXPONENTS.get(source, 2))
    received = (major * Decimal(str(rate))).scaleb(EXPONENTS.get(to_currency, 2))
    fee = Decimal(amount["value"]) * Decimal(
        str(state.settings.extra.get("fx_fee_percent", 0))
    )
    return (
        {"value": amount["value"] + _half_up(fee / 100), "currency": source},
        {"value": _half_up(received), "currency": to_currency},
    )


def _half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def schedule(payment_id: str) -> None:
    outcome = state.settings.extra.get("outbound_outcome", "posted")
    if outcome == "manual":
        return
    after = float(state.settings.extra.get("outbound_after", 1.0))
    asyncio.get_running_loop().call_later(after, _settle_quietly, payment_id, outcome)


def _settle_quietly(payment_id: str, outcome: str) -> None:
    try:
        move(payment_id, outcome, None)
    except StripeError:
        pass  # cancelled or moved by hand meanwhile
    state.save()


def move(payment_id: str, status: str, reason: str | None) -> dict[str, Any]:
    """processing → posted | failed | canceled; posted → returned."""
    payment = dict(payment_of(payment_id))
    allowed = {
        "posted": ("processing",),
        "failed": ("processing",),
        "canceled": ("processing",),
        "returned": ("posted", "processing"),
    }
    if status not in allowed:
        raise invalid(f"no status {status}", "status")
    if payment["status"] not in allowed[status]:
        raise StripeError(
            400,
            f"Outbound payment {payment_id} is {payment['status']}.",
            type="not_cancelable" if status == "canceled" else "invalid_request_error",
        )
    if status == "returned" and payment["status"] == "processing":
        payment = move(payment_id, "posted", None)
        payment = dict(payment)
    transitions = dict(payment["status_transitions"])
    transitions[f"{status}_at"] = rfc3339()
    payment["status_transitions"] = transitions
    payment["status"] = status
    payment["cancelable"] = False
    if status == "failed":
        payment["status_details"] = {"failed": {"reason": reason or FAILED_REASONS[0]}}
    elif status == "returned":
        payment["status_details"] = {
            "returned": {"reason": reason or RETURNED_REASONS[0]}
        }
    return put(f"v2:obp:{payment_id}", payment)


@api("GET", "/v2/money_management/outbound_payments/{id}", "v2")
def retrieve_outbound_payment(call: Call) -> dict[str, Any]:
    return payment_of(call.args["id"])


@api("POST", "/v2/money_management/outbound_payments/{id}/cancel", "v2")
def cancel_outbound_payment(call: Call) -> dict[str, Any]:
    return move(call.args["id"], "canceled", None)


@api("GET", "/v2/money_management/outbound_payments", "v2")
def list_outbound_payments(call: Call) -> dict[str, Any]:
    """Newest first; `created[gt|gte|lt|lte]`, `recipient`, `status[i]`, `limit`
    (at most 100) and the `page` token of `next_page_url`."""
    query = call.params
    bounds: dict[str, float] = {}
    statuses: list[str] = []
    for name, value in query.items():
        found = re.fullmatch(r"created\[(gt|gte|lt|lte)\]", name)
        if found:
            bounds[found.group(1)] = parse_rfc3339(value, name)
        elif re.fullmatch(r"status\[\d+\]", name):
            statuses.append(str(value))
        elif name not in ("recipient", "limit", "page"):
            raise StripeError(
                400,
                f"Received unknown parameter: {name}",
                param=name,
                code="parameter_unknown",
            )
    try:
        limit = int(query.get("limit", 10))
    except ValueError:
        raise invalid("limit must be an integer", "limit") from None
    if not 1 <= limit <= 100:
        raise invalid("limit must be from 1 to 100", "limit")
    tests = {
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }

    def keep(payment: dict[str, Any]) -> bool:
        created = parse_rfc3339(payment["created"], "created")
        return (
            all(tests[k](created, v) for k, v in bounds.items())
            and query.get("recipient") in (None, payment["to"]["recipient"])
            and (not statuses or payment["status"] in statuses)
        )

    items = sorted(
        (x for x in _payments() if keep(x)),
        key=lambda x: (x["created"], x["id"]),
        reverse=True,
    )
    offset = 0
    if query.get("page"):
        try:
            offset = int(str(query["page"]).removeprefix("off_"))
        except ValueError:
            raise invalid("page is not a page token", "page") from None
    chosen = items[offset : offset + limit]
    next_url = None
    if offset + limit < len(items):
        rest = {k: v for k, v in query.items() if k != "page"}
        rest["page"] = f"off_{offset + limit}"
        next_url = f"/v2/money_management/outbound_payments?{urlencode(rest)}"
    return {"data": chosen, "next_page_url": next_url, "previous_page_url": None}


# -- the control API -----------------------------------------------------------------
@api("POST", "/_sandbox/v2/accounts/{id}/complete_onboarding", "control")
def control_onboard(call: Call) -> dict[str, Any]:
    code = str(call.params.get("currency", "eur")).lower()
    if not re.fullmatch(r"[a-z]{3}", code):
        raise invalid("currency is three letters", "currency")
    return complete_onboarding(call.args["id"], code)


@api("GET", "/_sandbox/v2/onboarding/{token}", "control")
def visit_v2_link(call: Call) -> web.StreamResponse:
    key = f"sandbox:v2:link:{call.args['token']}"
    link = state.store.get(key)
    if not isinstance(link, dict):
        raise not_found("account link", call.args["token"], "token")
    if link["used"] or link["expires_at"] < time.time():
        raise web.HTTPFound(link["refresh_url"])
    state.store[key] = {**link, "used": True}
    complete_onboarding(link["account"], str(call.params.get("currency", "eur")))
    state.save()
    raise web.HTTPFound(link["return_url"])


@api("POST", "/_sandbox/v2/outbound_payments/{id}/status", "control")
def control_move(call: Call) -> dict[str, Any]:
    status = call.params.get("status")
    if status not in ("posted", "failed", "returned"):
        raise invalid("status is posted, failed or returned", "status")
    reason = call.params.get("reason")
    return move(call.args["id"], str(status), str(reason) if reason else None)


@api("GET", "/_sandbox/v2/accounts", "control")
def control_accounts(call: Call) -> dict[str, Any]:
    """The recipient accounts' ids (Stripe's v2 API has no list of them here)."""
    return {"accounts": sorted(a["id"] for a in _accounts())}


@api("POST", "/_sandbox/v2/config", "control")
def control_config(call: Call) -> dict[str, Any]:
    body = call.params
    only(body, {"outbound_outcome", "outbound_after", "fx_rates", "fx_fee_percent"})
    if "fx_rates" in body:
        rates = body["fx_rates"]
        if not isinstance(rates, dict) or not all(
            re.fullmatch(r"[a-z]{3}:[a-z]{3}", str(pair)) and _positive(rate)
            for pair, rate in rates.items()
        ):
            raise invalid('fx_rates is {"eur:rsd": rate > 0, ...}', "fx_rates")
        state.settings.extra["fx_rates"] = {
            str(pair): str(rate) for pair, rate in rates.items()
        }
    if "fx_fee_percent" in body:
        fee = body["fx_fee_percent"]
        if not (_positive(fee) or fee == 0) or Decimal(str(fee)) >= 100:
            raise invalid("fx_fee_percent is a number from 0 to 100", "fx_fee_percent")
        state.settings.extra["fx_fee_percent"] = str(fee)
    if "outbound_outcome" in body:
        if body["outbound_outcome"] not in OUTCOMES:
            raise invalid(f"outbound_outcome is one of {OUTCOMES}", "outbound_outcome")
        state.settings.extra["outbound_outcome"] = body["outbound_outcome"]
    if "outbound_after" in body:
        after = body["outbound_after"]
        if isinstance(after, bool) or not isinstance(after, (int, float)) or after < 0:
            raise invalid("outbound_after is seconds", "outbound_after")
        state.settings.extra["outbound_after"] = float(after)
    return {
        "outbound_outcome": state.settings.extra.get("outbound_outcome", "posted"),
        "outbound_after": state.settings.extra.get("outbound_after", 1.0),
        "fx_rates": state.settings.extra.get("fx_rates", {}),
        "fx_fee_percent": state.settings.extra.get("fx_fee_percent", "0"),
    }


def _positive(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return False
    try:
        return Decimal(str(value)) > 0
    except ArithmeticError:
        return False


def resume() -> None:
    """At start-up: payments left processing settle as this run says."""
    for payment in _payments():
        if payment["status"] == "processing":
            schedule(payment["id"])
