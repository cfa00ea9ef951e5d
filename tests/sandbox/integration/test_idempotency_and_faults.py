"""Stripe's idempotency rules and the fault switches, seen through the stripe SDK."""

import time
from typing import Any

import pytest
import stripe

from tests.helpers import wait_until
from tests.sandbox.conftest import onboarded_account
from tests.stripe_harness import Receiver, Sandbox

ACCOUNT = {"type": "express", "capabilities": {"transfers": {"requested": True}}}


def count_accounts(client: stripe.StripeClient) -> int:
    return len(client.v1.accounts.list({"limit": 100}).data)


# --- idempotency -----------------------------------------------------------------


def test_same_key_same_parameters_replays_the_stored_answer(
    client: stripe.StripeClient,
) -> None:
    key = {"idempotency_key": "account:c-1"}
    first = client.v1.accounts.create(ACCOUNT, options=key)
    again = client.v1.accounts.create(ACCOUNT, options=key)
    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert count_accounts(client) == 1


def test_same_key_other_parameters_is_an_idempotency_error(
    client: stripe.StripeClient,
) -> None:
    key = {"idempotency_key": "account:c-2"}
    client.v1.accounts.create(ACCOUNT, options=key)
    with pytest.raises(stripe.IdempotencyError):
        client.v1.accounts.create({**ACCOUNT, "country": "FR"}, options=key)
    # the key also names the endpoint: reused on another one, it is refused
    with pytest.raises(stripe.IdempotencyError):
        client.v1.customers.create({}, options=key)
    assert count_accounts(client) == 1


def test_keys_expire_after_the_ttl(
    sandbox: Sandbox, client: stripe.StripeClient
) -> None:
    sandbox.control("POST", "/_sandbox/config", {"idempotency_ttl": 1})
    key = {"idempotency_key": "account:c-3"}
    first = client.v1.accounts.create(ACCOUNT, options=key)
    time.sleep(1.3)
    second = client.v1.accounts.create(ACCOUNT, options=key)
    assert second.id != first.id
    assert "Idempotent-Replayed" not in second.last_response.headers
    assert count_accounts(client) == 2


def test_a_refused_request_does_not_use_up_its_key(client: stripe.StripeClient) -> None:
    key = {"idempotency_key": "account:c-4"}
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.accounts.create({**ACCOUNT, "type": "galactic"}, options=key)
    created = client.v1.accounts.create(ACCOUNT, options=key)
    assert created.type == "express"
    assert count_accounts(client) == 1


def test_keys_are_scoped_to_the_connected_account(
    sandbox: Sandbox, client: stripe.StripeClient
) -> None:
    one, two = onboarded_account(sandbox, client), onboarded_account(sandbox, client)
    for account in (one, two):
        client.v1.transfers.create(
            {"amount": 500, "currency": "eur", "destination": account.id}
        )
    params = {"amount": 200, "currency": "eur"}
    payouts = [
        client.v1.payouts.create(
            params, options={"stripe_account": a.id, "idempotency_key": "payout-1"}
        )
        for a in (one, two)
    ]
    assert payouts[0].id != payouts[1].id
    replay = client.v1.payouts.create(
        params, options={"stripe_account": one.id, "idempotency_key": "payout-1"}
    )
    assert replay.id == payouts[0].id
    balance = client.v1.balance.retrieve(options={"stripe_account": one.id})
    assert balance.available[0].amount == 300  # paid out once, not twice


# --- faults ------------------------------------------------------------------------


def test_fail_nth_answers_500_and_changes_nothing(
    sandbox: Sandbox, client: stripe.StripeClient
) -> None:
    sandbox.control("POST", "/_sandbox/faults", {"fail_nth": 2, "status": 500})
    client.v1.accounts.create(ACCOUNT)  # the first request passes
    with pytest.raises(stripe.APIError) as failed:
        client.v1.accounts.create(ACCOUNT)
    assert failed.value.http_status == 500
    client.v1.accounts.create(ACCOUNT)  # the switch fired once
    assert count_accounts(client) == 2


def test_a_retrying_client_gets_past_a_500(sandbox: Sandbox) -> None:
    client = sandbox.client(retries=2)
    sandbox.control("POST", "/_sandbox/faults", {"fail_nth": 1, "status": 500})
    created = client.v1.accounts.create(ACCOUNT)
    assert created.id.startswith("acct_")
    assert count_accounts(client) == 1
    assert sandbox.control("GET", "/_sandbox/faults")["requests_seen"] >= 3


def test_fail_nth_answers_429_rate_limited(
    sandbox: Sandbox, client: stripe.StripeClient
) -> None:
    sandbox.control("POST", "/_sandbox/faults", {"fail_nth": 1, "status": 429})
    with pytest.raises(stripe.RateLimitError) as limited:
        client.v1.accounts.create(ACCOUNT)
    assert limited.value.http_status == 429
    assert count_accounts(client) == 0


def test_a_lost_response_still_changed_the_state(
    sandbox: Sandbox, client: stripe.StripeClient
) -> None:
    sandbox.control("POST", "/_sandbox/faults", {"lose_response_nth": 1})
    with pytest.raises(stripe.APIConnectionError):
        client.v1.accounts.create(ACCOUNT, options={"idempotency_key": "lost-1"})
    assert count_accounts(client) == 1
    # the caller retries with the same key and learns what happened
    retried = client.v1.accounts.create(ACCOUNT, options={"idempotency_key": "lost-1"})
    assert retried.last_response.headers["Idempotent-Replayed"] == "true"
    assert [a.id for a in client.v1.accounts.list().data] == [retried.id]


def test_a_retrying_client_survives_a_lost_response_without_a_duplicate(
    sandbox: Sandbox,
) -> None:
    client = sandbox.client(retries=2)
    sandbox.control("POST", "/_sandbox/faults", {"lose_response_nth": 1})
    created = client.v1.accounts.create(ACCOUNT)  # the SDK adds a key and retries
    assert [a.id for a in client.v1.accounts.list().data] == [created.id]


def quiet_account(
    sandbox: Sandbox, client: stripe.StripeClient, receiver: Receiver
) -> str:
    """An onboarded account whose account.updated has been delivered and forgotten,
    so the receiver starts empty."""
    account = onboarded_account(sandbox, client)
    receiver.wait_for(
        lambda events: any(e.type == "account.updated" for e in events),
        "account.updated",
    )
    receiver.received.clear()
    return str(account.id)


def transfer(client: stripe.StripeClient, account: str) -> Any:
    return client.v1.transfers.create(
        {"amount": 100, "currency": "eur", "destination": account}
    )


def transfer_events(receiver: Receiver, count: int) -> list[Any]:
    def enough(events: list[Any]) -> list[Any] | None:
        found = [e for e in events if e.type == "transfer.created"]
        return found if len(found) >= count else None

    return list(receiver.wait_for(enough, f"{count} transfer.created"))


def test_webhook_delay(
    sandbox: Sandbox, client: stripe.StripeClient, receiver: Receiver
) -> None:
    account = quiet_account(sandbox, client, receiver)
    sandbox.control("POST", "/_sandbox/faults", {"webhook": {"delay": 1.5}})
    sent = time.monotonic()
    transfer(client, account)
    transfer_events(receiver, 1)
    arrived = receiver.received[0][0]
    assert arrived - sent >= 1.5


def test_webhook_duplicate(
    sandbox: Sandbox, client: stripe.StripeClient, receiver: Receiver
) -> None:
    account = quiet_account(sandbox, client, receiver)
    sandbox.control("POST", "/_sandbox/faults", {"webhook": {"duplicate": True}})
    transfer(client, account)
    events = transfer_events(receiver, 2)
    assert events[0].id == events[1].id  # the same event, delivered twice, both signed
    time.sleep(0.3)
    assert len(receiver.received) == 2


def test_webhook_reorder(
    sandbox: Sandbox, client: stripe.StripeClient, receiver: Receiver
) -> None:
    account = quiet_account(sandbox, client, receiver)
    sandbox.control(
        "POST", "/_sandbox/faults", {"webhook": {"reorder": True, "reorder_window": 10}}
    )
    first, second = transfer(client, account), transfer(client, account)
    events = transfer_events(receiver, 2)
    assert [e.data.object["id"] for e in events] == [second.id, first.id]


def test_webhooks_are_retried_until_the_endpoint_answers(
    sandbox: Sandbox, client: stripe.StripeClient, receiver: Receiver
) -> None:
    account = quiet_account(sandbox, client, receiver)
    receiver.status = 503
    transfer(client, account)
    receiver.wait_for(lambda events: len(events) >= 1, "a first attempt")
    receiver.status = 200
    receiver.wait_for(lambda events: len(events) >= 2, "a retry", timeout=10)

    def delivered() -> Any:
        log = sandbox.control("GET", "/_sandbox/webhooks")["deliveries"]
        (record,) = [d for d in log if d["type"] == "transfer.created"]
        return record["status"] == 200 and record

    assert (
        wait_until(delivered, "the delivery log to show the success")["attempts"] >= 2
    )


def test_bad_switches_are_refused(sandbox: Sandbox) -> None:
    for body in (
        {"fail_nth": 0},
        {"fail_nth": 1, "status": 404},
        {"nonsense": 1},
        {"webhook": {"delay": -1}},
    ):
        with pytest.raises(AssertionError, match="400"):
            sandbox.control("POST", "/_sandbox/faults", body)
    assert sandbox.control("GET", "/_sandbox/faults")["fail_nth"] is None


def test_fail_several_in_a_row_exhausts_a_retrying_client(sandbox: Sandbox) -> None:
    client = sandbox.client(retries=2)
    sandbox.control(
        "POST", "/_sandbox/faults", {"fail_nth": 1, "status": 503, "times": 3}
    )
    with pytest.raises(stripe.APIError) as failed:
        client.v1.accounts.create(ACCOUNT)
    assert failed.value.http_status == 503
    assert count_accounts(client) == 0
    assert sandbox.control("GET", "/_sandbox/faults")["fail_nth"] is None


def test_a_slow_request_times_the_client_out_but_still_happens(
    sandbox: Sandbox,
) -> None:
    impatient = stripe.StripeClient(
        "sk_test_sandbox",
        base_addresses={"api": sandbox.url},
        http_client=stripe.RequestsClient(timeout=0.5),
    )
    sandbox.control("POST", "/_sandbox/faults", {"slow_nth": 1, "seconds": 1.5})
    with pytest.raises(stripe.APIConnectionError):
        impatient.v1.accounts.create(ACCOUNT, options={"idempotency_key": "slow-1"})
    client = sandbox.client()
    wait_until(lambda: count_accounts(client) == 1, "the slow request to finish")
    again = client.v1.accounts.create(ACCOUNT, options={"idempotency_key": "slow-1"})
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert count_accounts(client) == 1


def test_the_same_key_while_the_first_request_runs_is_a_conflict(
    sandbox: Sandbox, client: stripe.StripeClient
) -> None:
    import threading

    sandbox.control("POST", "/_sandbox/faults", {"slow_nth": 1, "seconds": 1.5})
    first: list[Any] = []
    worker = threading.Thread(
        target=lambda: first.append(
            client.v1.accounts.create(ACCOUNT, options={"idempotency_key": "busy-1"})
        )
    )
    worker.start()
    time.sleep(0.5)
    with pytest.raises(stripe.APIError) as busy:
        client.v1.accounts.create(ACCOUNT, options={"idempotency_key": "busy-1"})
    assert busy.value.http_status == 409
    assert busy.value.json_body["error"]["type"] == "idempotency_error"
    worker.join(10)
    assert first and count_accounts(client) == 1
