"""The running system's Stripe sandbox (started by infra/dev/stack.py as `make run`
starts it) signs its webhooks with the secret the gateway process expects and
delivers them to the gateway, which accepts them."""

import json
import urllib.request
from typing import Any

import stripe

from tests.helpers import wait_until
from tests.stack import System


def control(url: str, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        url + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_the_sandbox_delivers_signed_events_the_gateway_accepts(system: System) -> None:
    url = f"http://127.0.0.1:{system.settings.sandbox_port}"
    client = stripe.StripeClient("sk_test_e2e", base_addresses={"api": url})
    account = client.v1.accounts.create(
        {"type": "express", "capabilities": {"transfers": {"requested": True}}}
    )
    control(url, "POST", f"/_sandbox/accounts/{account.id}/complete_onboarding", {})

    def accepted() -> list[Any]:
        log = control(url, "GET", "/_sandbox/webhooks")["deliveries"]
        return [
            d
            for d in log
            if d["type"] == "account.updated"
            and d["account"] == account.id
            and d["status"] == 200
        ]

    (delivery,) = wait_until(accepted, "the gateway to accept account.updated")
    assert delivery["attempts"] >= 1
    assert (system.settings.var / "stripe-sandbox.json").exists()  # its own state file
