"""The sandbox's v2 endpoints through the official SDK (`client.v2...`): a recipient
account onboarded through its hosted link, outbound payments created once per
idempotency key, settled, listed by time and recipient, cancelled, failed and
returned, and the fault switches on v2 routes."""

import time
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import stripe

from tests.helpers import wait_until
from tests.stripe_harness import Sandbox

FA = "fa_sandbox_platform"


def recipient(client: Any, sandbox: Sandbox, onboard: bool = True) -> Any:
    account = client.v2.core.accounts.create(
        {
            "configuration": {
                "recipient": {
                    "capabilities": {"bank_accounts": {"local": {"requested": True}}}
                }
            },
            "identity": {"country": "am"},
            "metadata": {"communicator_id": "c-1"},
        }
    )
    if onboard:
        sandbox.control(
            "POST", f"/_sandbox/v2/accounts/{account.id}/complete_onboarding", {}
        )
    return client.v2.core.accounts.retrieve(account.id)


def pay(client: Any, account: Any, value: int = 30_000, key: str | None = None) -> Any:
    return client.v2.money_management.outbound_payments.create(
        {
            "from": {"financial_account": FA, "currency": "eur"},
            "to": {"recipient": account.id, "currency": "eur"},
            "amount": {"value": value, "currency": "eur"},
            "metadata": {"payout_reference": f"payout:{value}"},
        },
        {"idempotency_key": key} if key else None,
    )


def test_a_recipient_onboards_through_its_hosted_link(
    client: Any, sandbox: Sandbox
) -> None:
    account = recipient(client, sandbox, onboard=False)
    assert account.object == "v2.core.account"
    assert account.applied_configurations == ["recipient"]
    assert account.defaults.payout_methods.to_dict() == {}
    link = client.v2.core.account_links.create(
        {
            "account": account.id,
            "use_case": {
                "type": "account_onboarding",
                "account_onboarding": {
                    "configurations": ["recipient"],
                    "refresh_url": "https://svyaz.example/again",
                    "return_url": "https://svyaz.example/done",
                },
            },
        }
    )
    assert link.url.startswith(sandbox.url)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as redirected:
        opener.open(link.url)
    assert redirected.value.headers["Location"] == "https://svyaz.example/done"
    methods = client.v2.core.accounts.retrieve(account.id).defaults.payout_methods
    assert list(methods.to_dict()) == ["eur"] and methods["eur"].startswith("bankacct_")
    with pytest.raises(urllib.error.HTTPError) as used:
        opener.open(link.url)  # a link works once
    assert used.value.headers["Location"] == "https://svyaz.example/again"


def test_an_outbound_payment_is_made_once_per_key_and_posted(
    client: Any, sandbox: Sandbox
) -> None:
    account = recipient(client, sandbox)
    first = pay(client, account, key="payout:1:1")
    again = pay(client, account, key="payout:1:1")
    assert again.id == first.id
    assert first.object == "v2.money_management.outbound_payment"
    assert first.status == "processing" and first.amount.value == 30_000
    assert first.to.recipient == account.id and first.from_.financial_account == FA
    assert first.metadata["payout_reference"] == "payout:30000"
    with pytest.raises(stripe.IdempotencyError):
        pay(client, account, value=1, key="payout:1:1")
    wait_until(
        lambda: (
            client.v2.money_management.outbound_payments.retrieve(first.id).status
            == "posted"
        ),
        "the payment to post",
    )
    posted = client.v2.money_management.outbound_payments.retrieve(first.id)
    assert posted.status_transitions.posted_at is not None
    listed = client.v2.money_management.outbound_payments.list({"limit": 100})
    assert [p.id for p in listed.data] == [first.id]


def test_lists_page_and_filter_by_time_recipient_and_status(
    client: Any, sandbox: Sandbox
) -> None:
    sandbox.control("POST", "/_sandbox/v2/config", {"outbound_outcome": "manual"})
    one, two = recipient(client, sandbox), recipient(client, sandbox)
    made = [pay(client, one, 100 + n) for n in range(5)] + [pay(client, two, 900)]
    found = client.v2.money_management.outbound_payments.list({"limit": 2})
    every = [p.id for p in found.auto_paging_iter()]
    assert sorted(every) == sorted(p.id for p in made) and len(every) == 6
    mine = client.v2.money_management.outbound_payments.list(
        {"recipient": two.id, "limit": 10}
    )
    assert [p.id for p in mine.data] == [made[-1].id]
    later = datetime.now(UTC) + timedelta(hours=1)
    none = client.v2.money_management.outbound_payments.list(
        {"created": {"gte": later.strftime("%Y-%m-%dT%H:%M:%SZ")}}
    )
    assert none.data == []
    sandbox.control(
        "POST",
        f"/_sandbox/v2/outbound_payments/{made[0].id}/status",
        {"status": "failed"},
    )
    failed = client.v2.money_management.outbound_payments.list({"status": ["failed"]})
    assert [p.id for p in failed.data] == [made[0].id]
    assert failed.data[0].status_details.failed.reason == "payout_method_declined"


def test_cancel_fail_and_return(client: Any, sandbox: Sandbox) -> None:
    sandbox.control("POST", "/_sandbox/v2/config", {"outbound_outcome": "manual"})
    account = recipient(client, sandbox)
    cancelled = client.v2.money_management.outbound_payments.cancel(
        pay(client, account, 1).id
    )
    assert cancelled.status == "canceled" and not cancelled.cancelable
    with pytest.raises(stripe.StripeError):
        client.v2.money_management.outbound_payments.cancel(cancelled.id)
    back = pay(client, account, 2)
    sandbox.control(
        "POST",
        f"/_sandbox/v2/outbound_payments/{back.id}/status",
        {"status": "returned", "reason": "payout_method_closed"},
    )
    returned = client.v2.money_management.outbound_payments.retrieve(back.id)
    assert returned.status == "returned"
    assert returned.status_details.returned.reason == "payout_method_closed"
    assert returned.status_transitions.posted_at is not None


def test_bad_requests_get_clear_errors(client: Any, sandbox: Sandbox) -> None:
    waiting = recipient(client, sandbox, onboard=False)
    with pytest.raises(stripe.InvalidPayoutMethodError) as no_method:
        pay(client, waiting)
    assert no_method.value.code == "payout_method_does_not_exist"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v2.money_management.outbound_payments.retrieve("obp_nothing")
    assert unknown.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError):
        client.v2.money_management.outbound_payments.create(
            {
                "from": {"financial_account": FA, "currency": "eur"},
                "to": {"recipient": waiting.id},
                "amount": {"value": -5, "currency": "eur"},
            }
        )
    assert client.v2.money_management.outbound_payments.list().data == []


def test_fault_switches_apply_to_v2(client: Any, sandbox: Sandbox) -> None:
    account = recipient(client, sandbox)
    sandbox.control("POST", "/_sandbox/faults", {"fail_nth": 1, "status": 429})
    with pytest.raises(stripe.RateLimitError):
        pay(client, account, key="k-1")
    sandbox.control("POST", "/_sandbox/faults", {"fail_nth": 1, "status": 500})
    with pytest.raises(stripe.APIError):
        pay(client, account, key="k-1")
    sandbox.control("POST", "/_sandbox/faults", {"lose_response_nth": 1})
    with pytest.raises(stripe.APIConnectionError):
        pay(client, account, key="k-1")
    made = pay(client, account, key="k-1")  # the lost answer's payment, once
    assert [p.id for p in client.v2.money_management.outbound_payments.list().data] == [
        made.id
    ]


def test_payments_left_processing_settle_after_a_restart(
    client: Any, sandbox: Sandbox
) -> None:
    sandbox.control("POST", "/_sandbox/v2/config", {"outbound_outcome": "manual"})
    account = recipient(client, sandbox)
    payment = pay(client, account)
    time.sleep(0.7)  # past the write-behind
    sandbox.stop()
    sandbox.start()
    client = sandbox.client()
    wait_until(
        lambda: (
            client.v2.money_management.outbound_payments.retrieve(payment.id).status
            == "posted"
        ),
        "the payment to post after the restart",
    )


def test_a_closed_recipient_stays_readable_and_can_no_longer_be_paid(
    client: Any, sandbox: Sandbox
) -> None:
    account = recipient(client, sandbox)
    assert account.defaults.payout_methods.to_dict()
    with pytest.raises(stripe.InvalidRequestError) as partial:
        client.v2.core.accounts.close(account.id, {"applied_configurations": []})
    assert partial.value.http_status == 400
    assert client.v2.core.accounts.retrieve(account.id).closed is False

    closed = client.v2.core.accounts.close(
        account.id, {"applied_configurations": ["recipient"]}
    )

    assert closed.closed is True
    assert closed.configuration.recipient.applied is False
    assert closed.defaults.payout_methods.to_dict() == {}
    assert client.v2.core.accounts.retrieve(account.id).closed is True
    with pytest.raises(stripe.InvalidPayoutMethodError):
        pay(client, account)
    # closing it again answers it as it is
    again = client.v2.core.accounts.close(
        account.id, {"applied_configurations": ["recipient"]}
    )
    assert again.closed is True
