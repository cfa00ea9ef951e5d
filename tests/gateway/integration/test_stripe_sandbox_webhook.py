"""The whole Connect onboarding loop with nothing faked: the registry creates the
account on the Stripe sandbox (a real subprocess) through the stripe SDK, the
communicator opens the onboarding link, the sandbox signs account.updated with the
gateway's development secret and POSTs it to the gateway's /webhooks/stripe, which
verifies it and relays it to the registry. Duplicated deliveries change nothing."""

import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from registry.service import RegistryService
from tests.helpers import wait_until
from tests.registry.integration.conftest import Registry, actor_for
from tests.stripe_harness import Sandbox, running_sandbox

GATEWAY_SECRET = "whsec_dev-gateway"  # services/gateway/config.yml's default


@pytest.fixture
def sandbox(tmp_path: Path, gateway_url: str) -> Iterator[Sandbox]:
    with running_sandbox(
        tmp_path / "sandbox.state",
        f"{gateway_url}/webhooks/stripe",
        secret=GATEWAY_SECRET,
    ) as sandbox:
        yield sandbox


@pytest.fixture
def registry(
    as_gateway: None,
    database: Any,
    service_config: Any,
    container_factory: Any,
    sandbox: Sandbox,
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


def test_the_sandbox_webhook_passes_the_gateway_and_makes_the_communicator_ready(
    registry: Registry, sandbox: Sandbox
) -> None:
    sandbox.control("POST", "/_sandbox/faults", {"webhook": {"duplicate": True}})
    ident = registry.active(country="DE")
    setup = registry.call("start_payout_setup", actor_for(ident))
    # the browser follows the redirect to the (absent) console page: only the visit
    # to the sandbox matters here
    request = urllib.request.Request(setup["onboarding_url"])
    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(request, timeout=10)
    except urllib.error.HTTPError as redirect:
        assert redirect.code == 302

    wait_until(
        lambda: registry.events("communicator.payout_ready.v1"),
        "payout_ready after the sandbox's webhook",
    )

    def delivered() -> list[Any]:
        log = sandbox.control("GET", "/_sandbox/webhooks")["deliveries"]
        return [d for d in log if d["type"] == "account.updated" and d["status"] == 200]

    assert len(wait_until(lambda: len(delivered()) >= 2 and delivered(), "both")) == 2
    (ready,) = registry.events("communicator.payout_ready.v1")
    assert ready["data"]["provider"] == "stripe_connect"


def test_a_webhook_signed_with_another_secret_is_refused(
    registry: Registry, sandbox: Sandbox
) -> None:
    sandbox.control("POST", "/_sandbox/webhooks", {"secret": "whsec_someone_else"})
    ident = registry.active(country="DE")
    registry.call("start_payout_setup", actor_for(ident))
    (account,) = sandbox.client().v1.accounts.list().data
    sandbox.onboard(account.id)

    def refused() -> list[Any]:
        log = sandbox.control("GET", "/_sandbox/webhooks")["deliveries"]
        return [d for d in log if d["type"] == "account.updated" and d["status"] == 400]

    wait_until(refused, "the gateway to refuse the forged event")
    assert registry.events("communicator.payout_ready.v1") == []


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None
