"""Connect in the sandbox, driven only through the real `stripe` SDK: onboarding,
transfers and their balance transactions, reversals, connected-account payouts
with their webhooks verified by stripe.Webhook.construct_event."""

import urllib.error
import urllib.request
from typing import Any

import pytest
import stripe

from tests.sandbox.conftest import onboarded_account
from tests.stripe_harness import Receiver, Sandbox


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def visit(url: str) -> str:
    """Open an account link as a browser would; return where it redirects."""
    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as raised:
        opener.open(url, timeout=10)
    assert raised.value.code == 302
    return str(raised.value.headers["Location"])


def test_onboarding_through_the_account_link_makes_transfers_active(
    sandbox: Sandbox, client: stripe.StripeClient, receiver: Receiver
) -> None:
    account = client.v1.accounts.create(
        {
            "type": "express",
            "country": "DE",
            "capabilities": {"transfers": {"requested": True}},
            "metadata": {"communicator_id": "c-42"},
        }
    )
    assert account.id.startswith("acct_")
    assert account.capabilities["transfers"] == "inactive"
    assert account.payouts_enabled is False
    assert account.requirements["currently_due"]

    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.transfers.create(
            {"amount": 500, "currency": "eur", "destination": account.id}
        )
    assert refused.value.code == "insufficient_capabilities_for_transfer"

    link = client.v1.account_links.create(
        {
            "account": account.id,
            "type": "account_onboarding",
            "return_url": "https://svyaz.example/me/payouts?done=1",
            "refresh_url": "https://svyaz.example/me/payouts?again=1",
        }
    )
    assert link.object == "account_link" and link.expires_at > link.created
    assert visit(link.url) == "https://svyaz.example/me/payouts?done=1"
    # a link works once; a second visit is sent to refresh_url
    assert visit(link.url) == "https://svyaz.example/me/payouts?again=1"

    active = client.v1.accounts.retrieve(account.id)
    assert active.capabilities["transfers"] == "active"
    assert active.payouts_enabled is True and active.details_submitted is True
    assert active.requirements["currently_due"] == []

    event = receiver.wait_for(
        lambda events: next(
            (
                e
                for e in events
                if e.type == "account.updated" and e.account == account.id
            ),
            None,
        ),
        "account.updated",
    )
    assert event.data.object["capabilities"]["transfers"] == "active"
    assert event.data.previous_attributes["capabilities"]["transfers"] == "inactive"

    transfer = client.v1.transfers.create(
        {"amount": 500, "currency": "eur", "destination": account.id}
    )
    assert transfer.destination == account.id


def test_accounts_update_list_and_pending_verification(
    sandbox: Sandbox, client: stripe.StripeClient
) -> None:
    first = client.v1.accounts.create(
        {"type": "express", "capabilities": {"transfers": {"requested": True}}}
    )
    second = client.v1.accounts.create(
        {"type": "express", "capabilities": {"transfers": {"requested": True}}}
    )
    updated = client.v1.accounts.update(first.id, {"metadata": {"club": "k-1"}})
    assert updated.metadata.to_dict() == {"club": "k-1"}
    listed = client.v1.accounts.list({"limit": 1})
    assert [a.id for a in listed.data] == [second.id] and listed.has_more
    rest = client.v1.accounts.list({"starting_after": second.id})
    assert [a.id for a in rest.data] == [first.id]

    sandbox.control(
        "POST",
        f"/_sandbox/accounts/{first.id}/complete_onboarding",
        {"transfers": "pending"},
    )
    pending = client.v1.accounts.retrieve(first.id)
    assert pending.capabilities["transfers"] == "pending"
    assert (
        pending.requirements["disabled_reason"] == "requirements.pending_verification"
    )
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.transfers.create(
            {"amount": 100, "currency": "eur", "destination": first.id}
        )

    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.accounts.create({"type": "express", "colour": "red"})  # type: ignore[typeddict-unknown-key]
    assert unknown.value.code == "parameter_unknown"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.accounts.retrieve("acct_doesnotexist")
    assert missing.value.http_status == 404
    assert len(client.v1.accounts.list().data) == 2


def test_transfer_and_its_balance_transactions(
    sandbox: Sandbox, client: stripe.StripeClient
) -> None:
    account = onboarded_account(sandbox, client)
    transfer = client.v1.transfers.create(
        {
            "amount": 1500,
            "currency": "eur",
            "destination": account.id,
            "transfer_group": "stipend-7",
            "metadata": {"stipend_id": "s-7"},
        }
    )
    assert (transfer.amount, transfer.currency) == (1500, "eur")
    assert transfer.transfer_group == "stipend-7"
    assert transfer.amount_reversed == 0 and transfer.reversed is False

    txn = client.v1.balance_transactions.retrieve(transfer.balance_transaction)
    assert (txn.type, txn.source, txn.amount, txn.net) == (
        "transfer",
        transfer.id,
        -1500,
        -1500,
    )
    found = client.v1.balance_transactions.list(
        {"type": "transfer", "source": transfer.id}
    )
    assert [t.id for t in found.data] == [txn.id]
    assert client.v1.balance_transactions.list({"type": "payout"}).data == []

    on_account = {"stripe_account": account.id}
    theirs = client.v1.balance_transactions.list(
        {"source": transfer.destination_payment}, options=on_account
    )
    assert [(t.type, t.amount) for t in theirs.data] == [("payment", 1500)]
    # the platform's transaction is not visible on the connected account, nor back
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.balance_transactions.retrieve(txn.id, options=on_account)
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.balance_transactions.retrieve(theirs.data[0].id)

    balance = client.v1.balance.retrieve(options=on_account)
    assert [(b.amount, b.currency) for b in balance.available] == [(1500, "eur")]

    grouped = client.v1.transfers.list({"transfer_group": "stipend-7"})
    assert [t.id for t in grouped.data] == [transfer.id]
    assert client.v1.transfers.list({"transfer_group": "other"}).data == []


def test_partial_reversal(sandbox: Sandbox, client: stripe.StripeClient) -> None:
    account = onboarded_account(sandbox, client)
    transfer = client.v1.transfers.create(
        {"amount": 1000, "currency": "eur", "destination": account.id}
    )
    reversal = client.v1.transfers.reversals.create(transfer.id, {"amount": 300})
    assert reversal.object == "transfer_reversal"
    assert (reversal.amount, reversal.transfer) == (300, transfer.id)

    after = client.v1.transfers.retrieve(transfer.id)
    assert after.amount_reversed == 300 and after.reversed is False
    assert [r.id for r in after.reversals.data] == [reversal.id]

    txn = client.v1.balance_transactions.retrieve(reversal.balance_transaction)
    assert (txn.type, txn.source, txn.amount) == ("transfer_refund", reversal.id, 300)
    balance = client.v1.balance.retrieve(options={"stripe_account": account.id})
    assert balance.available[0].amount == 700

    with pytest.raises(stripe.InvalidRequestError) as too_much:
        client.v1.transfers.reversals.create(transfer.id, {"amount": 701})
    assert too_much.value.param == "amount"
    assert client.v1.transfers.retrieve(transfer.id).amount_reversed == 300

    rest = client.v1.transfers.reversals.create(transfer.id)
    assert rest.amount == 700
    assert client.v1.transfers.retrieve(transfer.id).reversed is True
    listed = client.v1.transfers.reversals.list(transfer.id)
    assert {r.id for r in listed.data} == {reversal.id, rest.id}


def test_connected_account_payout_and_its_verified_webhook(
    sandbox: Sandbox, client: stripe.StripeClient, receiver: Receiver
) -> None:
    account = onboarded_account(sandbox, client)
    client.v1.transfers.create(
        {"amount": 1000, "currency": "eur", "destination": account.id}
    )
    on_account = {"stripe_account": account.id}

    with pytest.raises(stripe.InvalidRequestError) as short:
        client.v1.payouts.create(
            {"amount": 1001, "currency": "eur"}, options=on_account
        )
    assert short.value.code == "balance_insufficient"

    payout = client.v1.payouts.create(
        {"amount": 600, "currency": "eur", "metadata": {"batch": "b-1"}},
        options=on_account,
    )
    assert payout.status == "pending"
    event = receiver.wait_for(
        lambda events: next((e for e in events if e.type == "payout.paid"), None),
        "payout.paid",
    )
    # construct_event verified the signature; the event names the connected account
    assert event.account == account.id
    assert event.data.object["id"] == payout.id
    assert event.data.object["status"] == "paid"
    with pytest.raises(stripe.SignatureVerificationError):
        _, body, signature = receiver.received[0]
        stripe.Webhook.construct_event(body.decode(), signature, "whsec_wrong")

    assert client.v1.payouts.retrieve(payout.id, options=on_account).status == "paid"
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payouts.retrieve(payout.id)  # not the platform's payout
    swept = client.v1.balance_transactions.list(
        {"payout": payout.id}, options=on_account
    )
    assert ("payout", -600) in [(t.type, t.amount) for t in swept.data]
    assert ("payment", 1000) in [(t.type, t.amount) for t in swept.data]
    assert client.v1.balance.retrieve(options=on_account).available[0].amount == 400
    events = client.v1.events.list({"type": "payout.paid"}, options=on_account)
    assert [e.id for e in events.data] == [event.id]


def test_failed_payout_returns_the_funds(
    sandbox: Sandbox, client: stripe.StripeClient, receiver: Receiver
) -> None:
    sandbox.control("POST", "/_sandbox/config", {"payout_outcome": "manual"})
    account = onboarded_account(sandbox, client)
    client.v1.transfers.create(
        {"amount": 800, "currency": "eur", "destination": account.id}
    )
    on_account = {"stripe_account": account.id}
    payout = client.v1.payouts.create(
        {"amount": 800, "currency": "eur"}, options=on_account
    )
    assert client.v1.balance.retrieve(options=on_account).available[0].amount == 0

    sandbox.control(
        "POST",
        f"/_sandbox/payouts/{payout.id}/settle",
        {"status": "failed", "failure_code": "account_closed"},
    )
    event = receiver.wait_for(
        lambda events: next((e for e in events if e.type == "payout.failed"), None),
        "payout.failed",
    )
    assert event.account == account.id
    failed = client.v1.payouts.retrieve(payout.id, options=on_account)
    assert failed.status == "failed" and failed.failure_code == "account_closed"
    back = client.v1.balance_transactions.retrieve(
        failed.failure_balance_transaction, options=on_account
    )
    assert (back.type, back.amount) == ("payout_failure", 800)
    assert client.v1.balance.retrieve(options=on_account).available[0].amount == 800


def test_payouts_need_an_onboarded_account(
    sandbox: Sandbox, client: stripe.StripeClient
) -> None:
    account = client.v1.accounts.create(
        {"type": "express", "capabilities": {"transfers": {"requested": True}}}
    )
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payouts.create(
            {"amount": 100, "currency": "eur"}, options={"stripe_account": account.id}
        )
    assert refused.value.code == "payouts_not_allowed"


def test_events_arrive_in_order_and_are_listed_by_type_and_time(
    sandbox: Sandbox, client: stripe.StripeClient, receiver: Receiver
) -> None:
    account = onboarded_account(sandbox, client)
    transfers = [
        client.v1.transfers.create(
            {"amount": 100 + n, "currency": "eur", "destination": account.id}
        )
        for n in range(5)
    ]

    def five(events: list[Any]) -> list[Any] | None:
        found = [e for e in events if e.type == "transfer.created"]
        return found if len(found) >= 5 else None

    events = receiver.wait_for(five, "five transfer.created")
    assert [e.data.object["id"] for e in events] == [t.id for t in transfers]
    assert all("account" not in e for e in events)  # the platform's own events

    listed = client.v1.events.list({"type": "transfer.*"})
    assert [e.id for e in listed.data] == [e.id for e in reversed(events)]
    assert client.v1.events.list({"type": "account.*"}).data == []
    connected = client.v1.events.list(
        {"type": "account.*"}, options={"stripe_account": account.id}
    )
    assert [e.type for e in connected.data] == ["account.updated"]
    later = client.v1.events.list({"created": {"gt": events[-1].created + 3600}})
    assert later.data == []
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.events.list({"created": {"soon": 1}})  # type: ignore[typeddict-item]


def test_an_unknown_connected_account_is_refused(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.PermissionError) as refused:
        client.v1.payouts.list(options={"stripe_account": "acct_nobody"})
    assert refused.value.json_body["error"]["code"] == "account_invalid"


def test_platform_funds_can_be_enforced_and_topped_up(
    sandbox: Sandbox, client: stripe.StripeClient
) -> None:
    account = onboarded_account(sandbox, client)
    sandbox.control("POST", "/_sandbox/config", {"platform_funds": "enforced"})
    with pytest.raises(stripe.InvalidRequestError) as short:
        client.v1.transfers.create(
            {"amount": 1000, "currency": "eur", "destination": account.id}
        )
    assert short.value.code == "balance_insufficient"
    assert client.v1.transfers.list().data == []

    sandbox.control("POST", "/_sandbox/balance", {"amount": 1500, "currency": "eur"})
    client.v1.transfers.create(
        {"amount": 1000, "currency": "eur", "destination": account.id}
    )
    balance = client.v1.balance.retrieve()
    assert [(b.amount, b.currency) for b in balance.available] == [(500, "eur")]
    topups = client.v1.balance_transactions.list({"type": "topup"})
    assert [t.amount for t in topups.data] == [1500]
