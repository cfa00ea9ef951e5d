"""Payouts against a real Stripe sandbox subprocess through the stripe SDK: every
stipend paid exactly once (the sandbox's transfers are the witness) and the ledger
balanced, through a lost response, a 500 storm, a 429 storm, a crash at each phase
end, a sandbox stopped mid-run, an expired idempotency key, and duplicated and
reordered webhooks."""

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stipends.logic.payouts import webhooks
from stipends.payouts.providers import StripeConnect
from tests.stipends.integration.conftest import Db
from tests.stipends.integration.payouts_world import FINGERPRINT, PayWorld
from tests.stripe_harness import API_KEY, Receiver, Sandbox, running_sandbox


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def sandbox(tmp_path: Path, receiver: Receiver) -> Iterator[Sandbox]:
    with running_sandbox(tmp_path / "sandbox.state", receiver.url) as sandbox:
        yield sandbox


def connect(sandbox: Sandbox) -> StripeConnect:
    return StripeConnect.from_config(API_KEY, sandbox.url, timeout=5.0)


def onboard(world: PayWorld, sandbox: Sandbox) -> dict[uuid.UUID, str]:
    client = sandbox.client()
    accounts = {}
    for who in world.payees:
        account = client.v1.accounts.create(
            {
                "type": "express",
                "country": "DE",
                "capabilities": {"transfers": {"requested": True}},
            }
        )
        sandbox.onboard(account.id)
        accounts[who] = account.id
        world.destinations[who] = {
            "provider": "stripe_connect",
            "fingerprint": FINGERPRINT,
            "account": account.id,
        }
    return accounts


def transfers(sandbox: Sandbox) -> list[Any]:
    client = sandbox.client()
    return list(client.v1.transfers.list({"limit": 100}).auto_paging_iter())


def assert_paid_exactly_once(world: PayWorld, sandbox: Sandbox, db: Db) -> None:
    made = transfers(sandbox)
    by_reference: dict[str, list[Any]] = {}
    for transfer in made:
        by_reference.setdefault(transfer.metadata["payout_reference"], []).append(
            transfer
        )
    payouts = db.sql(
        "SELECT id, status, provider_ref, amount_minor, communicator_id FROM payouts"
    )
    assert len(payouts) == len(world.payees)
    for payout_id, status, ref, amount, communicator in payouts:
        found = by_reference.get(f"payout:{payout_id}", [])
        assert len(found) == 1, f"payout {payout_id}: {len(found)} transfers"
        assert status == "paid"
        assert found[0].id == ref
        assert found[0].amount == amount
        assert found[0].destination == world.destinations[communicator]["account"]
        # nothing personal in Stripe: our reference is the only metadata
        metadata = found[0].metadata.to_dict()
        assert metadata == {"payout_reference": f"payout:{payout_id}"}
    assert len(made) == len(payouts)
    assert world.balanced()
    programme = world.world.programme_id
    assert world.balance("provider_clearing:stripe_connect:EUR") == 0
    for who in world.payees:
        assert world.balance(f"stipends_payable:{who}:EUR") == 0
    assert world.balance(f"programme_funds:{programme}") == (
        10_000_000 - 30_000 * len(world.payees)
    )
    assert db.events("payout.sent.v1") == []  # not published
    assert len(db.events("payout.paid.v1")) == len(payouts)


def test_a_run_is_paid_exactly_once(db: Db, sandbox: Sandbox) -> None:
    world = PayWorld(db, 4)
    onboard(world, sandbox)
    world.released()
    payouts = world.worker({"stripe_connect": connect(sandbox)})
    assert payouts.drive() == {"sent": 4}
    assert set(world.statuses().values()) == {"sent"}
    keys = {r[0] for r in db.sql("SELECT idempotency_key FROM payouts")}
    ids = {f"payout:{r[0]}:1" for r in db.sql("SELECT id FROM payouts")}
    assert keys == ids
    assert payouts.poll() == {}  # not yet due
    world.clock.advance(61)
    assert payouts.poll() == {"paid": 4}
    assert_paid_exactly_once(world, sandbox, db)
    assert payouts.drive() == {} and payouts.poll() == {}
    for event in db.events("payout.paid.v1"):
        assert set(event["data"]) == {
            "payout_id",
            "stipend_id",
            "communicator_id",
            "run_id",
            "amount_minor",
            "currency",
            "provider",
        }


def test_a_lost_response_is_resolved_by_the_retry_with_the_same_key(
    db: Db, sandbox: Sandbox
) -> None:
    world = PayWorld(db, 2)
    onboard(world, sandbox)
    world.released()
    payouts = world.worker({"stripe_connect": connect(sandbox)})
    sandbox.control("POST", "/_sandbox/faults", {"lose_response_nth": 1})
    assert payouts.drive() == {"retry": 1, "sent": 1}
    lost = db.sql("SELECT id, attempt, last_error FROM payouts WHERE status='calling'")
    assert len(lost) == 1 and lost[0][1] == 1
    assert len(transfers(sandbox)) == 2  # the sandbox did make the lost one
    world.finish(payouts)
    assert db.sql("SELECT attempt FROM payouts WHERE id = :i", i=lost[0][0]) == [(1,)]
    assert_paid_exactly_once(world, sandbox, db)


@pytest.mark.parametrize("status", [500, 429])
def test_a_storm_of_errors_is_ridden_out(db: Db, sandbox: Sandbox, status: int) -> None:
    world = PayWorld(db, 3)
    onboard(world, sandbox)
    world.released()
    payouts = world.worker({"stripe_connect": connect(sandbox)})
    sandbox.control(
        "POST", "/_sandbox/faults", {"fail_nth": 1, "status": status, "times": 7}
    )
    first = payouts.drive()
    assert first == {"retry": 3}
    retried = db.sql("SELECT retries, next_attempt_at, last_error FROM payouts")
    assert all(r[0] == 1 and r[1] > world.clock() for r in retried)
    assert all(str(status) in r[2] for r in retried)
    if status == 429:
        assert payouts.bucket.held_until > 0  # everyone waits after a 429
        payouts.bucket.held_until = 0.0
    world.finish(payouts)
    assert_paid_exactly_once(world, sandbox, db)


@pytest.mark.parametrize("phase", ["after_claim", "after_call", "after_record"])
def test_a_crash_at_each_phase_end_is_recovered(
    db: Db, sandbox: Sandbox, phase: str
) -> None:
    world = PayWorld(db, 3)
    onboard(world, sandbox)
    world.released()
    payouts = world.worker({"stripe_connect": connect(sandbox)}, lease=60)
    orders = payouts.claim()  # phase 1 committed
    assert len(orders) == 3
    if phase in ("after_call", "after_record"):
        outcomes = [payouts.call(o) for o in orders]  # the provider acted
        assert len(transfers(sandbox)) == 3
        if phase == "after_record":
            for order, outcome in zip(orders, outcomes, strict=True):
                payouts.record(order, outcome)
    # the worker dies here; a new one (the recovery path) takes over
    recovery = world.worker({"stripe_connect": connect(sandbox)}, lease=60)
    assert recovery.drive() == {}  # the lease holds: no call in parallel
    world.clock.advance(61)
    world.finish(recovery)
    keys = db.sql("SELECT idempotency_key, attempt FROM payouts")
    assert all(k.endswith(":1") and a == 1 for k, a in keys)
    assert_paid_exactly_once(world, sandbox, db)


class Died(BaseException):
    """The process ends where the hook is told a phase ended."""


@pytest.mark.parametrize(
    ("phase", "called", "recorded"),
    [("claimed", 0, 0), ("called", 3, 0), ("recorded", 3, 3)],
)
def test_drive_tells_each_phase_end_where_the_chaos_run_kills_it(
    db: Db, sandbox: Sandbox, phase: str, called: int, recorded: int
) -> None:
    """`on_phase` is called after each phase's work (the chaos run's SIGKILL lands
    there): a death at each one leaves what that phase did, and no more."""
    world = PayWorld(db, 3)
    onboard(world, sandbox)
    world.released()
    told: list[str] = []

    def die_at(ended: str) -> None:
        told.append(ended)
        if ended == phase:
            raise Died

    payouts = world.worker({"stripe_connect": connect(sandbox)}, lease=60)
    payouts.on_phase = die_at
    with pytest.raises(Died):
        payouts.drive()
    assert told == ["claimed", "called", "recorded"][: told.index(phase) + 1]
    assert len(transfers(sandbox)) == called
    statuses = list(world.statuses().values())
    assert statuses.count("calling") == 3 - recorded
    recovery = world.worker({"stripe_connect": connect(sandbox)}, lease=60)
    world.clock.advance(61)
    world.finish(recovery)
    assert_paid_exactly_once(world, sandbox, db)


def test_the_sandbox_stopped_mid_run_then_back(
    db: Db, sandbox: Sandbox, tmp_path: Path
) -> None:
    world = PayWorld(db, 3)
    onboard(world, sandbox)
    world.released()
    payouts = world.worker({"stripe_connect": connect(sandbox)})
    orders = payouts.claim()
    outcomes = [payouts.call(o) for o in orders[:2]]  # two calls made...
    assert [o.status for o in outcomes] == ["sent", "sent"]
    sandbox.stop()  # ...and the provider goes away before any result is recorded
    world.clock.advance(61)
    assert payouts.drive() == {"retry": 3}
    assert set(world.statuses().values()) == {"calling"}
    sandbox.start()  # same port, same state file: the stored answers are kept
    world.finish(payouts)
    assert_paid_exactly_once(world, sandbox, db)


def test_after_the_key_expired_the_retry_finds_the_transfer_first(
    db: Db, sandbox: Sandbox
) -> None:
    world = PayWorld(db, 1)
    onboard(world, sandbox)
    world.released()
    payouts = world.worker({"stripe_connect": connect(sandbox)})
    sandbox.control("POST", "/_sandbox/config", {"idempotency_ttl": 0})
    sandbox.control("POST", "/_sandbox/faults", {"lose_response_nth": 1})
    assert payouts.drive() == {"retry": 1}
    assert len(transfers(sandbox)) == 1
    world.clock.advance(24 * 3600)  # Stripe has forgotten the key by now
    assert payouts.drive() == {"sent": 1}
    world.finish(payouts)
    assert_paid_exactly_once(world, sandbox, db)


def test_a_destination_that_is_not_ready_fails_with_a_reason(
    db: Db, sandbox: Sandbox
) -> None:
    world = PayWorld(db, 2)
    onboard(world, sandbox)
    gone, changed = world.payees
    del world.destinations[gone]
    world.destinations[changed]["fingerprint"] = "ef" * 32
    world.released()
    payouts = world.worker({"stripe_connect": connect(sandbox)})
    assert payouts.drive() == {"failed": 2}
    failed = {e["data"]["communicator_id"]: e for e in db.events("payout.failed.v1")}
    assert failed[str(gone)]["data"]["reason"] == "destination_not_ready"
    assert failed[str(changed)]["data"]["reason"] == "destination_changed"
    assert transfers(sandbox) == []
    assert world.balance(f"stipends_payable:{gone}:EUR") == -30_000  # still owed
    assert world.balanced()


def test_a_destination_changed_after_release_is_not_paid_even_when_known(
    db: Db, sandbox: Sandbox
) -> None:
    """Someone who takes over an account and changes its payout details after the
    release: the registry and stipends' own read model both hold the new destination
    by the time the worker calls, and still nothing is paid there."""
    world = PayWorld(db, 1)
    onboard(world, sandbox)
    (who,) = world.payees
    world.released()
    new = "ef" * 32
    world.destinations[who]["fingerprint"] = new
    db.sql(  # what communicator.payout_ready.v1 does to the read model
        "UPDATE communicators SET destination_fingerprint = :f WHERE id = :i",
        f=new,
        i=who,
    )
    payouts = world.worker({"stripe_connect": connect(sandbox)})
    assert payouts.drive() == {"failed": 1}
    (event,) = db.events("payout.failed.v1")
    assert event["data"]["reason"] == "destination_changed"
    assert transfers(sandbox) == []
    assert world.balanced()


def test_a_refused_destination_fails_and_a_retry_pays_with_a_new_key(
    db: Db, sandbox: Sandbox
) -> None:
    world = PayWorld(db, 1)
    onboard(world, sandbox)
    (who,) = world.payees
    good = world.destinations[who]["account"]
    world.destinations[who]["account"] = "acct_doesnotexist000"
    (payout,) = world.released().payouts
    payouts = world.worker({"stripe_connect": connect(sandbox)})
    assert payouts.drive() == {"failed": 1}
    event = db.events("payout.failed.v1")[0]
    assert event["data"]["reason"] in ("destination_rejected", "provider_refused")
    world.destinations[who]["account"] = good
    from tests.stipends.integration.test_payouts_runs import act

    act(world, payout.id, "retry", "account fixed")
    world.finish(payouts)
    assert db.sql("SELECT idempotency_key FROM payouts") == [(f"payout:{payout.id}:2",)]
    assert_paid_exactly_once(world, sandbox, db)


def raw_events(receiver: Receiver, kind: str, count: int) -> list[dict[str, Any]]:
    receiver.wait_for(
        lambda events: len([e for e in events if e.type == kind]) >= count, kind
    )
    return [
        json.loads(body)
        for _, body, _ in list(receiver.received)
        if json.loads(body)["type"] == kind
    ]


def test_webhooks_duplicated_and_reordered_are_safe(
    db: Db, sandbox: Sandbox, receiver: Receiver
) -> None:
    world = PayWorld(db, 2)
    onboard(world, sandbox)
    world.released()
    payouts = world.worker({"stripe_connect": connect(sandbox)})
    orders = payouts.claim()
    outcomes = [payouts.call(o) for o in orders]  # results never recorded
    reversed_ref = outcomes[1].ref
    sandbox.client().v1.transfers.reversals.create(reversed_ref)  # type: ignore[arg-type]
    created = raw_events(receiver, "transfer.created", 2)
    reversed_ = raw_events(receiver, "transfer.reversed", 1)

    def apply(event: dict[str, Any]) -> str:
        return webhooks.apply_stripe_event(world.transaction, event, world.clock)

    # the reversal arrives first, then everything twice
    assert apply(reversed_[0]) == "reversed"
    outcomes_seen = [apply(e) for e in created + created + reversed_]
    assert outcomes_seen.count("duplicate") == 3
    statuses = dict(db.sql("SELECT provider_ref, status FROM payouts"))
    assert statuses[reversed_ref] == "failed"
    assert statuses[outcomes[0].ref] == "paid"
    # the worker's own results come late: they change nothing
    for order, outcome in zip(orders, outcomes, strict=True):
        assert payouts.record(order, outcome) == "stale"
    failed = db.events("payout.failed.v1")
    assert [e["data"]["reason"] for e in failed] == ["returned"]
    assert len(db.events("payout.paid.v1")) == 1
    assert world.balanced()
    assert world.balance("provider_clearing:stripe_connect:EUR") == 0
    assert db.sql("SELECT count(*) FROM payout_provider_events")[0][0] == 3


def test_finance_can_push_a_backed_off_call_but_not_cancel_it(
    db: Db, sandbox: Sandbox
) -> None:
    from stipends.exceptions import InvalidRequest, InvalidTransition
    from tests.stipends.integration.test_payouts_runs import act

    world = PayWorld(db, 1)
    onboard(world, sandbox)
    (payout,) = world.released().payouts
    payouts = world.worker({"stripe_connect": connect(sandbox)})
    sandbox.control("POST", "/_sandbox/faults", {"fail_nth": 1, "status": 500})
    assert payouts.drive() == {"retry": 1}
    assert payouts.drive() == {}  # backing off
    with pytest.raises(InvalidTransition) as refused:
        act(world, payout.id, "cancel", "no")
    assert refused.value.code == "payout_calling"
    with pytest.raises(InvalidTransition):
        act(world, payout.id, "mark_paid_offline", "no")
    act(world, payout.id, "retry", "provider is back")
    assert payouts.drive() == {"sent": 1}  # at once, with the same key
    assert db.sql("SELECT idempotency_key FROM payouts") == [(f"payout:{payout.id}:1",)]
    with pytest.raises(InvalidRequest):
        webhooks.apply_stripe_event(world.transaction, {"id": "x", "type": "t"})
    assert db.sql("SELECT count(*) FROM payout_provider_events")[0][0] == 0
    world.finish(payouts)
    assert_paid_exactly_once(world, sandbox, db)


def test_stripes_fee_on_each_transfer_is_booked_from_its_balance_transaction(
    db: Db, sandbox: Sandbox
) -> None:
    # Stripe charges 25 cents and 0.25% a transfer: its balance transaction says so
    sandbox.control(
        "POST", "/_sandbox/config", {"transfer_fee": {"fixed": 25, "percent": 0.25}}
    )
    world = PayWorld(db, 2)
    onboard(world, sandbox)
    world.released()
    payouts = world.worker({"stripe_connect": connect(sandbox)})
    assert payouts.drive() == {"sent": 2}
    world.clock.advance(61)
    assert payouts.poll() == {"paid": 2}
    client = sandbox.client()
    fees = []
    for transfer in transfers(sandbox):
        txn = client.v1.balance_transactions.retrieve(transfer.balance_transaction)
        # Stripe's shape: net = amount - fee, the fee itemised
        assert (txn.amount, txn.fee, txn.net) == (-30_000, 100, -30_100)
        assert [(d.type, d.amount, d.currency) for d in txn.fee_details] == [
            ("stripe_fee", 100, "eur")
        ]
        fees.append(txn.fee)
    assert db.sql("SELECT fee_minor FROM payouts") == [(100,), (100,)]
    programme = world.world.programme_id
    # the fee is the programme's cost, beside the payment; the stipend is whole
    assert world.balance(f"fees:{programme}") == sum(fees) == 200
    assert world.balance(f"programme_funds:{programme}") == (
        10_000_000 - 2 * 30_000 - 200
    )
    for who in world.payees:
        assert world.balance(f"stipends_payable:{who}:EUR") == 0
    assert world.balance("provider_clearing:stripe_connect:EUR") == 0
    assert world.balanced()


def test_a_transfer_a_webhook_confirmed_has_its_fee_booked_by_the_worker(
    db: Db, sandbox: Sandbox, receiver: Receiver
) -> None:
    sandbox.control("POST", "/_sandbox/config", {"transfer_fee": {"fixed": 30}})
    world = PayWorld(db, 1)
    onboard(world, sandbox)
    world.released()
    payouts = world.worker({"stripe_connect": connect(sandbox)})
    assert payouts.drive() == {"sent": 1}
    (created,) = raw_events(receiver, "transfer.created", 1)
    # the event's transfer names its balance transaction but carries no fee
    assert webhooks.apply_stripe_event(world.transaction, created, world.clock) == (
        "paid"
    )
    programme = world.world.programme_id
    assert db.sql("SELECT status, fee_minor, fee_pending FROM payouts") == [
        ("paid", 0, True)
    ]
    assert world.balance(f"fees:{programme}") == 0
    # the worker reads it from Stripe and books it, once
    assert payouts.collect_fees() == {"fee_booked": 1}
    assert payouts.collect_fees() == {}
    assert db.sql("SELECT status, fee_minor, fee_pending FROM payouts") == [
        ("paid", 30, False)
    ]
    assert world.balance(f"fees:{programme}") == 30
    assert world.balance(f"programme_funds:{programme}") == 10_000_000 - 30_000 - 30
    assert db.sql(
        "SELECT e.kind, p.account, p.amount_minor FROM journal_entries e "
        "JOIN postings p ON p.entry_id = e.id WHERE e.kind = 'provider_fee' "
        "ORDER BY p.id"
    ) == [
        ("provider_fee", f"fees:{programme}", 30),
        ("provider_fee", f"programme_funds:{programme}", -30),
    ]
    assert world.balanced()
