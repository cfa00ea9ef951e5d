"""Connect onboarding against the Stripe sandbox (a real subprocess) instead of
FakeConnect: the registry's Stripe dependency reaches it through the stripe SDK by
base URL, the communicator completes the hosted onboarding at the link's URL, and
coming back the registry asks Stripe and finds them payout-ready, and the signed
account.updated webhook, verified as the gateway verifies it and relayed as the
gateway relays it, then changes nothing more."""

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from registry.service import RegistryService
from tests.helpers import wait_until
from tests.registry.integration.conftest import Registry, actor_for
from tests.stripe_harness import Receiver, Sandbox, running_sandbox


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def sandbox(tmp_path: Path, receiver: Receiver) -> Iterator[Sandbox]:
    with running_sandbox(tmp_path / "sandbox.state", receiver.url) as sandbox:
        yield sandbox


@pytest.fixture
def registry_on_sandbox(
    database: Any, service_config: Any, container_factory: Any, sandbox: Sandbox
) -> Iterator[Registry]:
    url = database("registry")
    container = container_factory(
        RegistryService,
        service_config("registry", DB_URI=url, STRIPE_API_BASE=sandbox.url),
    )
    container.start()
    wrapper = Registry(container, url, None)
    yield wrapper
    wrapper.engine.dispose()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def test_a_communicator_onboards_a_connect_account_on_the_sandbox(
    registry_on_sandbox: Registry, sandbox: Sandbox, receiver: Receiver
) -> None:
    registry = registry_on_sandbox
    ident = registry.active(country="DE")
    setup = registry.call("start_payout_setup", actor_for(ident))
    assert setup["provider"] == "stripe_connect"
    assert setup["onboarding_url"].startswith(f"{sandbox.url}/_sandbox/onboarding/")

    client = sandbox.client()
    (account,) = client.v1.accounts.list().data
    assert account.type == "express" and account.country == "DE"
    assert account.capabilities["transfers"] == "inactive"
    # Stripe learns the pseudonymous id and nothing else about the person
    assert account.metadata.to_dict() == {"communicator_id": ident}
    assert account.email is None
    sent = json.dumps(account.to_dict())
    (row,) = registry.sql("SELECT pseudonym FROM communicators WHERE id = :i", i=ident)
    assert row.pseudonym not in sent

    # asking again reuses the account (idempotency key account:<id>)
    registry.call("start_payout_setup", actor_for(ident))
    assert len(client.v1.accounts.list().data) == 1
    assert registry.events("communicator.payout_ready.v1") == []
    # back on our page before finishing: Stripe says it takes no transfers yet
    me = actor_for(ident)
    assert registry.call("refresh_payout_setup", me) == {"status": "pending"}

    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as redirected:
        opener.open(setup["onboarding_url"], timeout=10)
    assert redirected.value.headers["Location"].endswith("/me/payouts?done=1")

    event = receiver.wait_for(
        lambda events: next((e for e in events if e.type == "account.updated"), None),
        "account.updated",
    )
    assert event.account == account.id
    transfers_active = event.data.object["capabilities"]["transfers"] == "active"
    assert transfers_active
    # back on our page from the finished onboarding, before the webhook comes:
    # asked of Stripe then, the set-up is ready at once (the page says so)
    assert registry.call("refresh_payout_setup", me) == {"status": "ready"}
    # the webhook that follows changes nothing more, and readiness is told once
    assert registry.call(
        "stripe_account_updated", event.account, transfers_active, caller="gateway"
    ) == {"changed": False}
    (ready,) = registry.events("communicator.payout_ready.v1")
    assert ready["data"]["provider"] == "stripe_connect"
    destination = registry.call(
        "get_payout_destination", ident, "payout run 1", caller="stipends"
    )
    assert destination["account"] == account.id
    assert client.v1.accounts.retrieve(account.id).payouts_enabled is True


def test_the_sandbox_refusing_leaves_nothing_recorded(
    registry_on_sandbox: Registry, sandbox: Sandbox
) -> None:
    from svyaz.errors import Conflict

    registry = registry_on_sandbox
    ident = registry.active(country="DE")
    # the registry's client retries twice: three 500s in a row exhaust it
    sandbox.control(
        "POST", "/_sandbox/faults", {"fail_nth": 1, "status": 500, "times": 3}
    )
    with pytest.raises(Conflict) as refused:
        registry.call("start_payout_setup", actor_for(ident))
    assert refused.value.code == "stripe_error"
    assert registry.sql("SELECT * FROM payout_accounts") == []
    assert sandbox.client().v1.accounts.list().data == []


def test_a_communicator_onboards_as_a_global_payouts_recipient(
    database: Any, service_config: Any, container_factory: Any, sandbox: Sandbox
) -> None:
    url = database("registry")
    container = container_factory(
        RegistryService,
        service_config(
            "registry",
            DB_URI=url,
            STRIPE_API_BASE=sandbox.url,
            RECIPIENT_CHECK_SECONDS=0.5,
        ),
    )
    container.start()
    registry = Registry(container, url, None)
    try:
        ident = registry.active(country="AM")  # Armenia: Global Payouts
        me = actor_for(ident)
        assert registry.call("get_own_status", me)["payout_setup"] == "none"
        setup = registry.call("start_payout_setup", me)
        assert setup["provider"] == "stripe_global"
        assert setup["onboarding_url"].startswith(
            f"{sandbox.url}/_sandbox/v2/onboarding/"
        )
        client = sandbox.client()
        (account,) = [
            client.v2.core.accounts.retrieve(key.split(":")[-1])
            for key in sandbox_accounts(sandbox)
        ]
        assert account.applied_configurations == ["recipient"]
        assert account.metadata.to_dict() == {"communicator_id": ident}
        assert registry.call("refresh_payout_setup", me) == {"status": "pending"}
        assert registry.call("get_own_status", me)["payout_setup"] == "pending"

        opener = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as redirected:
            opener.open(setup["onboarding_url"], timeout=10)
        assert redirected.value.headers["Location"].endswith("/me/payouts?done=1")
        assert registry.call("refresh_payout_setup", me) == {"status": "ready"}
        (ready,) = registry.events("communicator.payout_ready.v1")
        assert ready["data"]["provider"] == "stripe_global"
        destination = registry.call(
            "get_payout_destination", ident, "payout run 1", caller="stipends"
        )
        method = client.v2.core.accounts.retrieve(account.id).defaults.payout_methods
        assert destination["recipient"] == account.id
        assert destination["payout_method"] == method["eur"]
        assert destination["fingerprint"] == ready["data"]["destination_fingerprint"]

        # another one, finished without coming back: the registry's timer finds it
        other = registry.active(country="KZ")
        second = registry.call("start_payout_setup", actor_for(other))
        recipient_id = next(
            key.split(":")[-1]
            for key in sandbox_accounts(sandbox)
            if key.split(":")[-1] != account.id
        )
        sandbox.control(
            "POST", f"/_sandbox/v2/accounts/{recipient_id}/complete_onboarding", {}
        )
        assert second["provider"] == "stripe_global"
        wait_until(
            lambda: len(registry.events("communicator.payout_ready.v1")) == 2,
            "the timer to find the second recipient ready",
        )
    finally:
        registry.engine.dispose()


def sandbox_accounts(sandbox: Sandbox) -> list[str]:
    """The v2 recipient accounts the sandbox holds (it has no v2 account list)."""
    found = sandbox.control("GET", "/_sandbox/v2/accounts")
    return [f"v2:account:{a}" for a in found["accounts"]]
