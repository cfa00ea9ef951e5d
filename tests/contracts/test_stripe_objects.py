"""The sandbox's objects hold to Stripe's own schemas (tests/contracts/stripe_spec):
account, account_link, balance, transfer, transfer_reversal, payout,
balance_transaction and event, in the states the services meet them. Objects are
produced through the real `stripe` SDK; what is checked is the raw JSON the sandbox
answered. Required fields must be present with the right types, nullable fields
may be null, and no object may carry a field Stripe does not declare."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe

from tests.contracts.stripe_spec.schemas import SPEC, Schemas, dump, extract, load
from tests.stripe_harness import Receiver, Sandbox, running_sandbox

SCHEMAS = Schemas(load())


@pytest.fixture(scope="module")
def produced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Any]]:
    """(schema name, raw object) for every object kind in its typical states."""
    receiver = Receiver()
    path = tmp_path_factory.mktemp("contract") / "sandbox.state"
    try:
        with running_sandbox(path, receiver.url) as sandbox:
            yield list(make_objects(sandbox, sandbox.client(), receiver))
    finally:
        receiver.close()


def raw(obj: Any) -> dict[str, Any]:
    return dict(json.loads(obj.last_response.body))


def make_objects(
    sandbox: Sandbox, client: stripe.StripeClient, receiver: Receiver
) -> Iterator[tuple[str, dict[str, Any]]]:
    fresh = client.v1.accounts.create(
        {
            "type": "express",
            "country": "GE",
            "capabilities": {"transfers": {"requested": True}},
            "metadata": {"communicator_id": "c-1"},
        }
    )
    yield "account", raw(fresh)
    link = client.v1.account_links.create(
        {
            "account": fresh.id,
            "type": "account_onboarding",
            "return_url": "https://svyaz.example/done",
            "refresh_url": "https://svyaz.example/again",
        }
    )
    yield "account_link", raw(link)
    sandbox.onboard(fresh.id)
    account = client.v1.accounts.retrieve(fresh.id)
    yield "account", raw(account)
    listed = client.v1.accounts.list()
    for item in json.loads(listed.last_response.body)["data"]:
        yield "account", item

    sandbox.control("POST", "/_sandbox/balance", {"amount": 5000, "currency": "eur"})
    # Stripe's fees on transfers and payouts: balance transactions with fee_details
    sandbox.control(
        "POST",
        "/_sandbox/config",
        {
            "transfer_fee": {"fixed": 25, "percent": 0.25},
            "payout_fee": {"fixed": 10},
        },
    )
    transfer = client.v1.transfers.create(
        {
            "amount": 2000,
            "currency": "eur",
            "destination": account.id,
            "transfer_group": "g-1",
            "description": "stipend",
        }
    )
    yield "transfer", raw(transfer)
    reversal = client.v1.transfers.reversals.create(transfer.id, {"amount": 500})
    yield "transfer_reversal", raw(reversal)
    yield "transfer", raw(client.v1.transfers.retrieve(transfer.id))

    on_account = {"stripe_account": account.id}
    sandbox.control("POST", "/_sandbox/config", {"payout_outcome": "manual"})
    pending = client.v1.payouts.create({"amount": 600, "currency": "eur"}, on_account)
    yield "payout", raw(pending)
    failed = client.v1.payouts.create({"amount": 400, "currency": "eur"}, on_account)
    sandbox.control(
        "POST", f"/_sandbox/payouts/{pending.id}/settle", {"status": "paid"}
    )
    sandbox.control(
        "POST", f"/_sandbox/payouts/{failed.id}/settle", {"status": "failed"}
    )
    yield "payout", raw(client.v1.payouts.retrieve(pending.id, options=on_account))
    yield "payout", raw(client.v1.payouts.retrieve(failed.id, options=on_account))
    yield "balance", raw(client.v1.balance.retrieve(options=on_account))
    yield "balance", raw(client.v1.balance.retrieve())

    recorded = 0
    for options in ({}, on_account):
        txns = client.v1.balance_transactions.list({"limit": 100}, options=options)
        for item in json.loads(txns.last_response.body)["data"]:
            yield "balance_transaction", item
        events = client.v1.events.list({"limit": 100}, options=options)
        for item in json.loads(events.last_response.body)["data"]:
            recorded += 1
            yield "event", item
    # and the same events as the webhooks delivered them
    receiver.wait_for(lambda events: len(events) >= recorded, "every event")
    for _, body, _ in receiver.received:
        yield "event", json.loads(body)


KINDS = (
    "account",
    "account_link",
    "balance",
    "transfer",
    "transfer_reversal",
    "payout",
    "balance_transaction",
    "event",
)


@pytest.mark.parametrize("kind", KINDS)
def test_objects_hold_to_stripes_schema(produced: list[Any], kind: str) -> None:
    objects = [obj for name, obj in produced if name == kind]
    assert objects, f"no {kind} was produced"
    problems = {obj.get("id", kind): SCHEMAS.errors(kind, obj) for obj in objects}
    assert {k: v for k, v in problems.items() if v} == {}


def test_the_objects_inside_events_hold_to_their_schemas(produced: list[Any]) -> None:
    events = [obj for name, obj in produced if name == "event"]
    types = {event["type"] for event in events}
    assert {
        "account.updated",
        "transfer.created",
        "transfer.reversed",
        "payout.paid",
        "payout.failed",
    } <= types
    assert any(event.get("account") for event in events)
    for event in events:
        inner = event["data"]["object"]
        assert SCHEMAS.errors(inner["object"], inner) == [], event["type"]


def test_balance_transaction_types_cover_the_money_flows(produced: list[Any]) -> None:
    types = {obj["type"] for name, obj in produced if name == "balance_transaction"}
    assert {
        "transfer",
        "transfer_refund",
        "payment",
        "payment_refund",
        "payout",
        "payout_failure",
        "topup",
    } <= types


def test_fees_are_itemised_as_stripe_does(produced: list[Any]) -> None:
    charged = [
        obj
        for name, obj in produced
        if name == "balance_transaction" and obj["type"] in ("transfer", "payout")
    ]
    assert {obj["type"] for obj in charged if obj["fee"]} == {"transfer", "payout"}
    for obj in charged:
        assert obj["net"] == obj["amount"] - obj["fee"]
        assert sum(d["amount"] for d in obj["fee_details"]) == obj["fee"]
        assert all(d["type"] == "stripe_fee" for d in obj["fee_details"])


def test_the_checker_catches_a_broken_object(produced: list[Any]) -> None:
    """The check is not vacuous: a missing required field, a wrong type and an
    invented field are each reported."""
    transfer = next(obj for name, obj in produced if name == "transfer")
    assert any(
        "amount" in e
        for e in SCHEMAS.errors(
            "transfer", {k: v for k, v in transfer.items() if k != "amount"}
        )
    )
    assert SCHEMAS.errors("transfer", {**transfer, "amount": "2000"})
    assert SCHEMAS.errors("transfer", {**transfer, "destination": 5})
    assert SCHEMAS.errors("transfer", {**transfer, "invented": 1})
    assert SCHEMAS.errors("transfer", {**transfer, "description": None}) == []
    payout = next(obj for name, obj in produced if name == "payout")
    assert SCHEMAS.errors("payout", {**payout, "status": None})


def test_the_extract_matches_stripes_spec() -> None:
    if not SPEC.exists():
        pytest.skip(f"{SPEC} is not beside this clone")
    spec = json.loads(Path(SPEC).read_text())
    assert (
        dump(extract(spec))
        == (Path(__file__).parent / "stripe_spec" / "stripe-schemas.json").read_text()
    )


def test_nullable_becomes_an_explicit_null() -> None:
    from tests.contracts.stripe_spec.schemas import to_json_schema

    assert to_json_schema({"type": "string", "nullable": True}) == {
        "type": ["string", "null"]
    }
    assert to_json_schema({"type": "string", "enum": ["a"], "nullable": True}) == {
        "type": ["string", "null"],
        "enum": ["a", None],
    }
    assert to_json_schema(
        {"anyOf": [{"$ref": "#/components/schemas/x"}], "nullable": True}
    ) == {"anyOf": [{"$ref": "#/components/schemas/x"}, {"type": "null"}]}
    nested = to_json_schema(
        {"properties": {"nullable": {"type": "integer", "nullable": True}}}
    )
    assert nested == {"properties": {"nullable": {"type": ["integer", "null"]}}}
    with pytest.raises(ValueError):
        to_json_schema({"nullable": True})
    # a field that is not nullable refuses null
    assert SCHEMAS.errors("balance_transaction", {"id": None}) != []
