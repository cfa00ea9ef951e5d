"""Stripe Global Payouts against the sandbox through the payout worker: outbound
payments (v2) from the platform's financial account, every stipend paid exactly once
(the sandbox's outbound payments are the witness) through a lost response, 500 and
429 storms and a crash at each phase end; a failed and a returned payment end failed
with the reason the communicator is told, the ledger balanced throughout."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from stipends.logic.payouts.reconciliation import start as reconcile
from stipends.payouts.providers import StripeGlobal
from tests.stipends.integration.conftest import FINANCE, Db, logic_actor
from tests.stipends.integration.payouts_world import FINGERPRINT, PayWorld
from tests.stripe_harness import API_KEY, Sandbox, running_sandbox

FA = "fa_svyaz_test"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    with running_sandbox(tmp_path / "sandbox.state") as sandbox:
        sandbox.control("POST", "/_sandbox/v2/config", {"outbound_outcome": "manual"})
        yield sandbox


def provider(sandbox: Sandbox) -> StripeGlobal:
    return StripeGlobal.from_config(API_KEY, sandbox.url, FA, timeout=5.0)


def onboard(world: PayWorld, sandbox: Sandbox) -> None:
    client = sandbox.client()
    for who in world.payees:
        account = client.v2.core.accounts.create(
            {"configuration": {"recipient": {"capabilities": {}}}}
        )
        done = sandbox.control(
            "POST", f"/_sandbox/v2/accounts/{account.id}/complete_onboarding", {}
        )
        world.destinations[who] = {
            "provider": "stripe_global",
            "fingerprint": FINGERPRINT,
            "recipient": account.id,
            "payout_method": done["defaults"]["payout_methods"]["eur"],
        }


def payments(sandbox: Sandbox) -> list[Any]:
    client = sandbox.client()
    listed = client.v2.money_management.outbound_payments.list({"limit": 100})
    return list(listed.auto_paging_iter())


def post_all(sandbox: Sandbox) -> None:
    for payment in payments(sandbox):
        if payment.status == "processing":
            sandbox.control(
                "POST",
                f"/_sandbox/v2/outbound_payments/{payment.id}/status",
                {"status": "posted"},
            )


def global_world(db: Db, sandbox: Sandbox, payees: int) -> PayWorld:
    world = PayWorld(db, payees, provider="stripe_global")
    onboard(world, sandbox)
    world.released()
    return world


def finish(world: PayWorld, sandbox: Sandbox, payouts: Any) -> None:
    """Drive until every payout is sent (the calls use up any fault switches), let
    Stripe post them, then poll them paid."""
    for _ in range(20):
        payouts.drive()
        if not world.db.sql(
            "SELECT 1 FROM payouts WHERE status IN ('queued', 'calling')"
        ):
            break
        world.clock.advance(400)
    post_all(sandbox)
    world.clock.advance(601)
    world.finish(payouts)


def assert_paid_exactly_once(world: PayWorld, sandbox: Sandbox, db: Db) -> None:
    made = payments(sandbox)
    by_reference: dict[str, list[Any]] = {}
    for payment in made:
        reference = payment.metadata["payout_reference"]
        by_reference.setdefault(reference, []).append(payment)
    rows = db.sql(
        "SELECT id, status, provider_ref, amount_minor, communicator_id FROM payouts"
    )
    assert len(rows) == len(world.payees)
    for payout_id, status, ref, amount, communicator in rows:
        found = by_reference.get(f"payout:{payout_id}", [])
        assert len(found) == 1, f"payout {payout_id}: {len(found)} payments"
        assert status == "paid" and found[0].id == ref
        assert found[0].amount.value == amount and found[0].status == "posted"
        assert found[0].to.recipient == world.destinations[communicator]["recipient"]
        assert found[0].from_.financial_account == FA
        assert found[0].metadata.to_dict() == {
            "payout_reference": f"payout:{payout_id}"
        }
    assert len(made) == len(rows)
    assert world.balanced()
    assert world.balance("provider_clearing:stripe_global:EUR") == 0


def test_a_run_is_paid_exactly_once_through_outbound_payments(
    db: Db, sandbox: Sandbox
) -> None:
    world = global_world(db, sandbox, 3)
    payouts = world.worker({"stripe_global": provider(sandbox)})
    assert payouts.drive() == {"sent": 3}
    # nothing names the programme to the payee's bank or inbox
    assert {
        (p.statement_descriptor, p.recipient_notification.setting)
        for p in payments(sandbox)
    } == {("PAYMENT", "none")}
    world.clock.advance(601)  # the sent deadline of Global Payouts (600 s)
    assert payouts.poll() == {"pending": 3}  # processing at Stripe: asked again later
    post_all(sandbox)
    world.clock.advance(601)
    assert payouts.poll() == {"paid": 3}
    assert_paid_exactly_once(world, sandbox, db)
    # the period's reconciliation from the v2 API matches every payout
    # (to the day after tomorrow: the world's clock runs 20 minutes ahead of ours)
    today = datetime.now(UTC).date()
    with world.transaction() as session:
        rec, _ = reconcile(
            session,
            logic_actor(FINANCE),
            "stripe_global",
            today - timedelta(days=1),
            today + timedelta(days=2),
            "api",
            provider(sandbox).pull(
                datetime.now(UTC) - timedelta(days=1),
                datetime.now(UTC) + timedelta(days=1),
            ),
            datetime.now(UTC),
        )
        assert (rec.provider_rows, rec.matched, rec.discrepancies) == (3, 3, 0)


def test_a_lost_response_is_resolved_by_the_same_key(db: Db, sandbox: Sandbox) -> None:
    world = global_world(db, sandbox, 2)
    payouts = world.worker({"stripe_global": provider(sandbox)})
    sandbox.control("POST", "/_sandbox/faults", {"lose_response_nth": 1})
    assert payouts.drive() == {"retry": 1, "sent": 1}
    assert len(payments(sandbox)) == 2  # the lost one was made
    finish(world, sandbox, payouts)
    assert_paid_exactly_once(world, sandbox, db)


@pytest.mark.parametrize("status", [500, 429])
def test_a_storm_of_errors_is_ridden_out(db: Db, sandbox: Sandbox, status: int) -> None:
    world = global_world(db, sandbox, 3)
    payouts = world.worker({"stripe_global": provider(sandbox)})
    sandbox.control(
        "POST", "/_sandbox/faults", {"fail_nth": 1, "status": status, "times": 7}
    )
    assert payouts.drive() == {"retry": 3}
    if status == 429:
        assert payouts.bucket.held_until > 0
        payouts.bucket.held_until = 0.0
    finish(world, sandbox, payouts)
    assert_paid_exactly_once(world, sandbox, db)


@pytest.mark.parametrize("phase", ["after_claim", "after_call", "after_record"])
def test_a_crash_at_each_phase_end_is_recovered(
    db: Db, sandbox: Sandbox, phase: str
) -> None:
    world = global_world(db, sandbox, 3)
    payouts = world.worker({"stripe_global": provider(sandbox)}, lease=60)
    orders = payouts.claim()
    if phase in ("after_call", "after_record"):
        outcomes = [payouts.call(o) for o in orders]
        assert len(payments(sandbox)) == 3
        if phase == "after_record":
            for order, outcome in zip(orders, outcomes, strict=True):
                payouts.record(order, outcome)
    recovery = world.worker({"stripe_global": provider(sandbox)}, lease=60)
    assert recovery.drive() == {}  # the lease holds
    world.clock.advance(61)
    finish(world, sandbox, recovery)
    assert_paid_exactly_once(world, sandbox, db)


@pytest.mark.parametrize(
    "status,reason,told",
    [
        ("failed", "payout_method_declined", "destination_rejected"),
        ("failed", "unknown_failure", "provider_refused"),
        ("returned", "payout_method_closed", "returned"),
    ],
)
def test_a_failed_or_returned_payment_ends_failed_with_its_reason(
    db: Db, sandbox: Sandbox, status: str, reason: str, told: str
) -> None:
    world = global_world(db, sandbox, 1)
    payouts = world.worker({"stripe_global": provider(sandbox)})
    assert payouts.drive() == {"sent": 1}
    (payment,) = payments(sandbox)
    sandbox.control(
        "POST",
        f"/_sandbox/v2/outbound_payments/{payment.id}/status",
        {"status": status, "reason": reason},
    )
    world.clock.advance(601)
    assert payouts.poll() == {"failed": 1}
    (event,) = db.events("payout.failed.v1")
    assert event["data"]["reason"] == told
    (who,) = world.payees
    assert world.balance(f"stipends_payable:{who}:EUR") == -30_000  # still owed
    assert world.balance("provider_clearing:stripe_global:EUR") == 0
    assert world.balanced()


def test_a_recipient_without_a_payout_method_is_not_paid(
    db: Db, sandbox: Sandbox
) -> None:
    world = PayWorld(db, 1, provider="stripe_global")
    (who,) = world.payees
    account = sandbox.client().v2.core.accounts.create(
        {"configuration": {"recipient": {"capabilities": {}}}}
    )
    world.destinations[who] = {
        "provider": "stripe_global",
        "fingerprint": FINGERPRINT,
        "recipient": account.id,
        "payout_method": f"bankacct_{uuid.uuid4().hex[:12]}",  # not this recipient's
    }
    world.released()
    payouts = world.worker({"stripe_global": provider(sandbox)})
    assert payouts.drive() == {"failed": 1}
    (event,) = db.events("payout.failed.v1")
    assert event["data"]["reason"] == "destination_rejected"
    assert payments(sandbox) == []
    assert world.balanced()


def test_after_the_key_expired_the_retry_finds_the_payment_first(
    db: Db, sandbox: Sandbox
) -> None:
    world = global_world(db, sandbox, 1)
    payouts = world.worker({"stripe_global": provider(sandbox)})
    sandbox.control("POST", "/_sandbox/config", {"idempotency_ttl": 0})
    sandbox.control("POST", "/_sandbox/faults", {"lose_response_nth": 1})
    assert payouts.drive() == {"retry": 1}
    world.clock.advance(24 * 3600)
    assert payouts.drive() == {"sent": 1}
    finish(world, sandbox, payouts)
    assert_paid_exactly_once(world, sandbox, db)


def test_a_payout_to_a_local_currency_records_sent_received_and_rate(
    db: Db, sandbox: Sandbox
) -> None:
    # the payees' bank accounts are in Serbian dinars; Stripe converts at 117.1739
    # and debits an FX fee of 0.4% on top of the amount
    sandbox.control(
        "POST",
        "/_sandbox/v2/config",
        {"fx_rates": {"eur:rsd": "117.1739"}, "fx_fee_percent": "0.4"},
    )
    world = PayWorld(db, 2, provider="stripe_global")
    client = sandbox.client()
    for who in world.payees:
        account = client.v2.core.accounts.create(
            {"configuration": {"recipient": {"capabilities": {}}}}
        )
        done = sandbox.control(
            "POST",
            f"/_sandbox/v2/accounts/{account.id}/complete_onboarding",
            {"currency": "rsd"},
        )
        world.destinations[who] = {
            "provider": "stripe_global",
            "fingerprint": FINGERPRINT,
            "recipient": account.id,
            "payout_method": done["defaults"]["payout_methods"]["rsd"],
        }
    world.released()
    payouts = world.worker({"stripe_global": provider(sandbox)})
    finish(world, sandbox, payouts)
    for payment in payments(sandbox):
        assert (payment.amount.value, payment.amount.currency) == (30_000, "eur")
        assert (payment.from_.debited.value, payment.to.credited.value) == (
            30_120,
            3_515_217,  # 300.00 x 117.1739 = 35 152.17 RSD
        )
        assert payment.to.credited.currency == "rsd"
    rows = db.sql(
        "SELECT amount_minor, currency, sent_minor, received_minor, "
        "received_currency, exchange_rate, status FROM payouts"
    )
    assert [(r[0], r[1], r[2], r[3], r[4], str(r[5]), r[6]) for r in rows] == [
        (30_000, "EUR", 30_120, 3_515_217, "RSD", "117.173900000000", "paid")
    ] * 2
    programme = world.world.programme_id
    # the 1.20 EUR Stripe kept converting each goes to FX differences, never into
    # the stipend: the payee's debt is settled at its amount
    assert world.balance("fx_differences:stripe_global:EUR") == 240
    assert world.balance(f"programme_funds:{programme}") == (
        10_000_000 - 2 * 30_000 - 240
    )
    for who in world.payees:
        assert world.balance(f"stipends_payable:{who}:EUR") == 0
    assert world.balance("provider_clearing:stripe_global:EUR") == 0
    assert world.balanced()
