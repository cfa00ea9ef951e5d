"""/webhooks/stripe verifies Stripe's signature on the raw body and relays
account.updated to the registry; forged, stale and replayed events change nothing."""

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import pytest
import requests

from tests.registry.integration.conftest import actor_for

SECRET = "whsec_dev-gateway"


def signed(payload: bytes, secret: str = SECRET, at: int | None = None) -> str:
    timestamp = int(time.time()) if at is None else at
    mac = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={mac}"


def account_updated(account: str, transfers: str) -> bytes:
    return json.dumps(
        {
            "id": f"evt_{uuid.uuid4().hex[:20]}",
            "object": "event",
            "type": "account.updated",
            "account": account,
            "api_version": "2020-08-27",
            "created": int(time.time()),
            "livemode": False,
            "pending_webhooks": 1,
            "data": {
                "object": {
                    "id": account,
                    "object": "account",
                    "capabilities": {"transfers": transfers},
                }
            },
        }
    ).encode()


def test_a_verified_account_update_makes_the_communicator_payout_ready(
    system: Any,
) -> None:
    ident = system.active(country="DE")
    system.call("start_payout_setup", actor_for(ident))
    account = system.connect.accounts[ident]

    body = account_updated(account, "active")
    response = requests.post(
        f"{system.url}/webhooks/stripe",
        data=body,
        headers={"Stripe-Signature": signed(body)},
        timeout=30,
    )
    assert response.status_code == 200
    assert len(system.events("communicator.payout_ready.v1")) == 1

    again = requests.post(
        f"{system.url}/webhooks/stripe",
        data=body,  # Stripe delivers at least once
        headers={"Stripe-Signature": signed(body)},
        timeout=30,
    )
    assert again.status_code == 200
    assert len(system.events("communicator.payout_ready.v1")) == 1


@pytest.mark.parametrize(
    "header",
    [
        lambda body: signed(body, secret="whsec_someone_else"),
        lambda body: signed(body, at=int(time.time()) - 3600),  # replayed, stale
        lambda body: signed(body + b" "),  # body changed after signing
        lambda body: "",
        lambda body: "t=1,v1=deadbeef",
    ],
)
def test_a_forged_or_stale_webhook_is_refused_and_changes_nothing(
    system: Any, header: Any
) -> None:
    ident = system.active(country="DE")
    system.call("start_payout_setup", actor_for(ident))
    body = account_updated(system.connect.accounts[ident], "active")
    response = requests.post(
        f"{system.url}/webhooks/stripe",
        data=body,
        headers={"Stripe-Signature": header(body)},
        timeout=30,
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_signature"
    assert system.events("communicator.payout_ready.v1") == []


def transfer_event(event_type: str) -> bytes:
    return json.dumps(
        {
            "id": f"evt_{uuid.uuid4().hex[:20]}",
            "object": "event",
            "type": event_type,
            "api_version": "2020-08-27",
            "created": int(time.time()),
            "livemode": False,
            "pending_webhooks": 1,
            "data": {
                "object": {
                    "id": f"tr_{uuid.uuid4().hex[:16]}",
                    "object": "transfer",
                    "amount": 2000,
                    "currency": "eur",
                    "metadata": {"payout_id": str(uuid.uuid4())},
                }
            },
        }
    ).encode()


def test_transfer_and_payout_events_are_relayed_to_stipends_once(
    system: Any, stipends: Any
) -> None:
    body = transfer_event("transfer.created")
    for _ in range(2):  # Stripe delivers at least once
        response = requests.post(
            f"{system.url}/webhooks/stripe",
            data=body,
            headers={"Stripe-Signature": signed(body)},
            timeout=30,
        )
        assert response.status_code == 200
    event_id = json.loads(body)["id"]
    rows = stipends.sql(
        "SELECT event_type FROM payout_provider_events WHERE event_id = :e",
        e=event_id,
    )
    assert [r[0] for r in rows] == ["transfer.created"]
    forged = transfer_event("payout.paid")
    refused = requests.post(
        f"{system.url}/webhooks/stripe",
        data=forged,
        headers={"Stripe-Signature": signed(forged, "whsec_someone-else")},
        timeout=30,
    )
    assert refused.status_code == 400
    assert not stipends.sql(
        "SELECT 1 FROM payout_provider_events WHERE event_id = :e",
        e=json.loads(forged)["id"],
    )
