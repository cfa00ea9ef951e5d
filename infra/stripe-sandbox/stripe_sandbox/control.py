"""The test-only control API under /_sandbox/ (JSON bodies, no API key).

GET    /_sandbox/health
GET    /_sandbox/faults            current switches
POST   /_sandbox/faults            {"fail_nth": N, "status": 500|429}
                                   {"lose_response_nth": N}
                                   {"webhook": {"delay": s, "duplicate": true,
                                                "reorder": true}}
DELETE /_sandbox/faults            all switches off
POST   /_sandbox/config            {"idempotency_ttl": s, "payout_outcome":
                                    "paid"|"failed"|"manual", "payout_after": s,
                                    "payout_failure_code": "...", "link_ttl": s,
                                    "transfer_fee" | "payout_fee":
                                    {"fixed": minor, "percent": n} or null}
GET    /_sandbox/webhooks          delivery log
POST   /_sandbox/webhooks          {"url": ..., "secret": ...}
POST   /_sandbox/accounts/{id}/complete_onboarding   {"transfers": "active"|"pending"}
GET    /_sandbox/onboarding/{token}   the account link's page: completes
                                      onboarding, redirects to return_url
POST   /_sandbox/payouts/{id}/settle  {"status": "paid"|"failed", "failure_code": ...}
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import params, state
from .connect import connected, settle
from .errors import invalid, not_found
from .faults import faults
from .objects import Account, BalanceTxn, Payout, balance_of, emit, now
from .routes import Call, api
from .webhooks import deliverer


@api("GET", "/_sandbox/health", "control")
def health(call: Call) -> dict[str, Any]:
    return {"ok": True}


def _faults() -> dict[str, Any]:
    return {**faults.as_dict(), "webhook": deliverer.faults.as_dict()}


@api("GET", "/_sandbox/faults", "control")
def get_faults(call: Call) -> dict[str, Any]:
    return _faults()


@api("POST", "/_sandbox/faults", "control")
def set_faults(call: Call) -> dict[str, Any]:
    body = call.params
    unknown = set(body) - {
        "fail_nth",
        "status",
        "times",
        "lose_response_nth",
        "slow_nth",
        "seconds",
        "webhook",
    }
    if unknown:
        raise invalid(f"unknown switch: {', '.join(sorted(unknown))}")
    hook = body.get("webhook")
    if hook is not None:
        if not isinstance(hook, dict) or set(hook) - {
            "delay",
            "duplicate",
            "reorder",
            "reorder_window",
        }:
            raise invalid("webhook takes delay, duplicate, reorder, reorder_window")
        for name in ("delay", "reorder_window"):
            if name in hook and (
                not isinstance(hook[name], int | float) or not 0 <= hook[name] <= 600
            ):
                raise invalid(f"webhook.{name} must be 0 to 600 seconds")
        for name in ("duplicate", "reorder"):
            if name in hook and not isinstance(hook[name], bool):
                raise invalid(f"webhook.{name} must be true or false")
    faults.set(body)
    if hook:
        for name, value in hook.items():
            setattr(deliverer.faults, name, value)
    return _faults()


@api("DELETE", "/_sandbox/faults", "control")
def clear_faults(call: Call) -> dict[str, Any]:
    faults.clear()
    deliverer.faults.delay = 0.0
    deliverer.faults.duplicate = deliverer.faults.reorder = False
    return _faults()


@api("POST", "/_sandbox/config", "control")
def configure(call: Call) -> dict[str, Any]:
    body = call.params
    s = state.settings
    numbers = {"idempotency_ttl", "payout_after", "link_ttl"}
    for name, value in body.items():
        if name in numbers:
            if not isinstance(value, int | float) or value < 0:
                raise invalid(f"{name} must be a number of seconds", name)
        elif name == "payout_outcome":
            if value not in ("paid", "failed", "manual"):
                raise invalid("payout_outcome is paid, failed or manual", name)
        elif name == "platform_funds":
            if value not in ("unlimited", "enforced"):
                raise invalid("platform_funds is unlimited or enforced", name)
        elif name == "payout_failure_code":
            if not isinstance(value, str):
                raise invalid("payout_failure_code is a string", name)
        elif name in ("transfer_fee", "payout_fee"):
            if value is not None and not _fee(value):
                raise invalid(
                    f'{name} is null or {{"fixed": minor units, "percent": n}}', name
                )
        else:
            raise invalid(f"unknown setting: {name}", name)
    for name, value in body.items():
        setattr(s, name, int(value) if name == "link_ttl" else value)
    return {
        "idempotency_ttl": s.idempotency_ttl,
        "payout_outcome": s.payout_outcome,
        "payout_after": s.payout_after,
        "payout_failure_code": s.payout_failure_code,
        "link_ttl": s.link_ttl,
        "platform_funds": s.platform_funds,
        "transfer_fee": s.transfer_fee,
        "payout_fee": s.payout_fee,
    }


def _fee(value: Any) -> bool:
    if not isinstance(value, dict) or set(value) - {"fixed", "percent"}:
        return False
    fixed, percent = value.get("fixed", 0), value.get("percent", 0)
    return (
        isinstance(fixed, int)
        and not isinstance(fixed, bool)
        and fixed >= 0
        and isinstance(percent, int | float)
        and not isinstance(percent, bool)
        and 0 <= percent < 100
    )


@api("POST", "/_sandbox/balance", "control")
def top_up(call: Call) -> dict[str, Any]:
    """Funds for the platform, as a top-up would bring (a `topup` transaction)."""
    body = call.params
    if set(body) - {"amount", "currency"}:
        raise invalid("a top-up takes amount and currency")
    amount = body.get("amount")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 1:
        raise invalid("amount must be a positive integer (minor units)", "amount")
    currency = params.currency({"currency": body.get("currency")})
    assert currency is not None
    BalanceTxn(None, amount, currency, "topup", state.new_id("tu_"), "topup")
    state.save()
    return {"available": balance_of(None, currency), "currency": currency}


@api("GET", "/_sandbox/webhooks", "control")
def deliveries(call: Call) -> dict[str, Any]:
    return {"url": deliverer.url, "deliveries": deliverer.deliveries}


@api("POST", "/_sandbox/webhooks", "control")
def set_webhook(call: Call) -> dict[str, Any]:
    url, secret = call.params.get("url"), call.params.get("secret")
    if url is not None and (not isinstance(url, str) or not url.startswith("http")):
        raise invalid("url must be an http(s) URL", "url")
    if secret is not None and (not isinstance(secret, str) or not secret):
        raise invalid("secret must be a non-empty string", "secret")
    if "url" in call.params:
        deliverer.url = url
    if secret:
        deliverer.secret = secret
    return {"url": deliverer.url}


def finish_onboarding(account: Account, transfers: str = "active") -> Account:
    previous = account.complete_onboarding(transfers)
    emit("account.updated", account, previous, account=account.id)
    state.save()
    return account


@api("POST", "/_sandbox/accounts/{id}/complete_onboarding", "control")
def complete_onboarding(call: Call) -> dict[str, Any]:
    account = connected(call.args["id"], "id")
    transfers = call.params.get("transfers", "active")
    if transfers not in ("active", "pending", "inactive"):
        raise invalid("transfers is active, pending or inactive", "transfers")
    return finish_onboarding(account, transfers)._export()


@api("GET", "/_sandbox/onboarding/{token}", "control")
def visit_link(call: Call) -> web.StreamResponse:
    key = f"sandbox:link:{call.args['token']}"
    link = state.store.get(key)
    if not isinstance(link, dict):
        raise not_found("account link", call.args["token"], "token")
    if link["used"] or link["expires_at"] < now():
        raise web.HTTPFound(link["refresh_url"])
    link["used"] = True
    state.store[key] = link
    account = state.store.get(f"account:{link['account']}")
    if isinstance(account, Account) and link["type"] == "account_onboarding":
        if not account.details_submitted:
            finish_onboarding(account)
    raise web.HTTPFound(link["return_url"])


@api("POST", "/_sandbox/payouts/{id}/settle", "control")
def settle_payout(call: Call) -> dict[str, Any]:
    status = call.params.get("status")
    if status not in ("paid", "failed"):
        raise invalid("status is paid or failed", "status")
    payout = next(
        (x for x in Payout.all(any_account=True) if x.id == call.args["id"]), None
    )
    if payout is None:
        raise not_found("payout", call.args["id"])
    code = call.params.get("failure_code")
    return settle(payout.id, payout._account, status, code)._export()
