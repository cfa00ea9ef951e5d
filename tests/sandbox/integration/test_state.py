"""Each sandbox keeps its own state in its own file, and finds it after a restart."""

from pathlib import Path

import pytest
import stripe

from tests.helpers import wait_until
from tests.sandbox.conftest import onboarded_account
from tests.stripe_harness import Sandbox, running_sandbox


def test_two_sandboxes_side_by_side_keep_separate_state(tmp_path: Path) -> None:
    with (
        running_sandbox(tmp_path / "a.state") as a,
        running_sandbox(tmp_path / "b.state") as b,
    ):
        assert a.port != b.port
        client_a, client_b = a.client(), b.client()
        account = client_a.v1.accounts.create(
            {"type": "express", "capabilities": {"transfers": {"requested": True}}},
            options={"idempotency_key": "shared-key"},
        )
        with pytest.raises(stripe.InvalidRequestError) as missing:
            client_b.v1.accounts.retrieve(account.id)
        assert missing.value.http_status == 404
        assert client_b.v1.accounts.list().data == []
        # the same idempotency key means nothing to the other sandbox
        other = client_b.v1.accounts.create(
            {"type": "custom", "capabilities": {"transfers": {"requested": True}}},
            options={"idempotency_key": "shared-key"},
        )
        assert other.type == "custom"
        assert [x.id for x in client_a.v1.accounts.list().data] == [account.id]
    assert (tmp_path / "a.state").exists() and (tmp_path / "b.state").exists()
    assert not Path("/tmp/localstripe.pickle").exists() or (
        account.id.encode() not in Path("/tmp/localstripe.pickle").read_bytes()
    )


def test_state_survives_a_restart(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path / "sandbox.state").start()
    try:
        client = sandbox.client()
        account = onboarded_account(sandbox, client)
        transfer = client.v1.transfers.create(
            {"amount": 900, "currency": "eur", "destination": account.id},
            options={"idempotency_key": "transfer-1"},
        )
        client.v1.transfers.reversals.create(transfer.id, {"amount": 100})
        sandbox.control("POST", "/_sandbox/config", {"payout_outcome": "manual"})
        payout = client.v1.payouts.create(
            {"amount": 300, "currency": "eur"}, options={"stripe_account": account.id}
        )
    finally:
        sandbox.stop()

    sandbox.start()
    try:
        client = sandbox.client()
        again = client.v1.transfers.retrieve(transfer.id)
        assert again.amount_reversed == 100
        assert (
            client.v1.accounts.retrieve(account.id).capabilities["transfers"]
            == "active"
        )
        on_account = {"stripe_account": account.id}
        balance = client.v1.balance.retrieve(options=on_account)
        assert balance.available[0].amount == 500
        # settings are per run: the pending payout settles as this run says (paid)
        wait_until(
            lambda: (
                client.v1.payouts.retrieve(payout.id, options=on_account).status
                == "paid"
            ),
            "the payout left pending to settle",
        )
        replay = client.v1.transfers.create(
            {"amount": 900, "currency": "eur", "destination": account.id},
            options={"idempotency_key": "transfer-1"},
        )
        assert replay.id == transfer.id
        assert len(client.v1.transfers.list().data) == 1
    finally:
        sandbox.stop()


def test_account_links_use_the_public_url_when_given(tmp_path: Path) -> None:
    with running_sandbox(
        tmp_path / "s.state", None, "--public-url", "http://127.0.0.1:8420/"
    ) as sandbox:
        client = sandbox.client()
        account = client.v1.accounts.create(
            {"type": "express", "capabilities": {"transfers": {"requested": True}}}
        )
        link = client.v1.account_links.create(
            {
                "account": account.id,
                "type": "account_onboarding",
                "return_url": "https://svyaz.example/done",
                "refresh_url": "https://svyaz.example/again",
            }
        )
        assert link.url.startswith("http://127.0.0.1:8420/_sandbox/onboarding/")
        with pytest.raises(stripe.InvalidRequestError) as bad:
            client.v1.account_links.create(
                {
                    "account": account.id,
                    "type": "account_onboarding",
                    "return_url": "javascript:alert(1)",
                    "refresh_url": "https://svyaz.example/again",
                }
            )
        assert bad.value.param == "return_url"
