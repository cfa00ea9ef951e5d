"""A fresh sandbox subprocess per test, on a free port with its own state file,
sending its webhooks to a loopback receiver."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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
def client(sandbox: Sandbox) -> Any:
    return sandbox.client()


def onboarded_account(sandbox: Sandbox, client: Any, country: str = "DE") -> Any:
    account = client.v1.accounts.create(
        {
            "type": "express",
            "country": country,
            "capabilities": {"transfers": {"requested": True}},
            "metadata": {"communicator_id": "c-1"},
        }
    )
    sandbox.onboard(account.id)
    return client.v1.accounts.retrieve(account.id)
