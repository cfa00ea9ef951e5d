"""/webhooks/stripe verifies Stripe's signature on the raw body and relays
account.updated to the registry; forged, stale and replayed events change nothing."""

import hashlib
import hmac
import json
import socket
import time
import uuid
from typing import Any

import pytest
import requests

from gateway.service import GatewayService
from registry.service import RegistryService
from svyaz import signing
from tests.registry.integration.conftest import FakeConnect, Registry, actor_for

SECRET = "whsec_dev-gateway"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


@pytest.fixture
def as_gateway() -> Any:
    """This test process signs as the gateway, as the real gateway process does."""
    ring = dict(signing._state.keyring)
    signing.configure("gateway", ring)
    yield
    signing.configure("cli", ring)


@pytest.fixture
def system(
    as_gateway: None, database: Any, service_config: Any, container_factory: Any
) -> Any:
    from nameko.testing.services import replace_dependencies

    url = database("registry")
    registry = container_factory(
        RegistryService, service_config("registry", DB_URI=url)
    )
    connect = FakeConnect()
    replace_dependencies(registry, stripe=connect)
    registry.start()
    address = f"127.0.0.1:{free_port()}"
    container_factory(
        GatewayService, service_config("gateway", WEB_SERVER_ADDRESS=address)
    ).start()
    wrapper = Registry(registry, url, connect)
    wrapper.url = f"http://{address}/webhooks/stripe"
    yield wrapper
    wrapper.engine.dispose()


def test_a_verified_account_update_makes_the_communicator_payout_ready(
    system: Any,
) -> None:
    ident = system.active(country="DE")
    system.call("start_payout_setup", actor_for(ident))
    account = system.connect.accounts[ident]

    body = account_updated(account, "active")
    response = requests.post(
        system.url, data=body, headers={"Stripe-Signature": signed(body)}, timeout=30
    )
    assert response.status_code == 200
    assert len(system.events("communicator.payout_ready.v1")) == 1

    again = requests.post(
        system.url,
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
        system.url, data=body, headers={"Stripe-Signature": header(body)}, timeout=30
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_signature"
    assert system.events("communicator.payout_ready.v1") == []
