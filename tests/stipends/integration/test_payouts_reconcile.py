"""Reconciliation matching against the sandbox: a paid run matches one to one, and
each discrepancy class is found when the provider or our records disagree."""

import uuid

from stipends.logic.payouts.matching import match, reconcile_run
from stipends.payouts.models import Payout
from stipends.payouts.statements import pull_stripe
from tests.stipends.integration.conftest import Db
from tests.stipends.integration.payouts_world import PayWorld
from tests.stipends.integration.test_payouts_sandbox import (  # noqa: F401 (fixtures)
    connect,
    onboard,
    receiver,
    sandbox,
)
from tests.stripe_harness import Sandbox


def paid_run(db: Db, sandbox: Sandbox, payees: int) -> tuple[PayWorld, uuid.UUID]:  # noqa: F811
    world = PayWorld(db, payees)
    onboard(world, sandbox)
    built = world.released()
    world.finish(world.worker({"stripe_connect": connect(sandbox)}))
    return world, built.run.id


def report_for(world: PayWorld, sandbox: Sandbox, run_id: uuid.UUID) -> dict:  # noqa: F811
    with world.db.session() as session:
        report = reconcile_run(session, sandbox.client(), run_id)
    return {"matched": len(report.matched), "kinds": report.kinds(), "report": report}


def test_a_paid_run_matches_one_to_one(db: Db, sandbox: Sandbox) -> None:  # noqa: F811
    world, run_id = paid_run(db, sandbox, 3)
    found = report_for(world, sandbox, run_id)
    assert found["matched"] == 3 and found["kinds"] == {}
    pulled = pull_stripe(sandbox.client(), f"run:{run_id}")
    assert all(t.balance_minor == -t.amount_minor for t in pulled)


def test_every_discrepancy_class_is_found(db: Db, sandbox: Sandbox) -> None:  # noqa: F811
    world, run_id = paid_run(db, sandbox, 6)
    client = sandbox.client()
    rows = db.sql("SELECT id, provider_ref, communicator_id FROM payouts ORDER BY id")
    (rev, amount, currency, dup, status, fine) = rows
    client.v1.transfers.reversals.create(rev[1])  # no webhook applied here
    db.sql("UPDATE payouts SET amount_minor = 29000 WHERE id = :i", i=amount[0])
    db.sql("UPDATE payouts SET currency = 'PLN' WHERE id = :i", i=currency[0])
    account = world.destinations[dup[2]]["account"]
    client.v1.transfers.create(
        {
            "amount": 30_000,
            "currency": "eur",
            "destination": account,
            "transfer_group": f"run:{run_id}",
            "metadata": {"payout_reference": f"payout:{dup[0]}"},
        }
    )
    db.sql("UPDATE payouts SET status = 'failed' WHERE id = :i", i=status[0])
    client.v1.transfers.create(
        {
            "amount": 1_000,
            "currency": "eur",
            "destination": account,
            "transfer_group": f"run:{run_id}",
        }
    )
    found = report_for(world, sandbox, run_id)
    assert found["kinds"] == {
        "reversed": 1,
        "amount_mismatch": 1,
        "currency_mismatch": 1,
        "duplicate": 1,
        "status_mismatch": 1,
        "unexpected_at_provider": 1,
    }
    assert found["matched"] == 1
    by_kind = {d["kind"]: d for d in found["report"].discrepancies}
    assert by_kind["reversed"]["payout_id"] == str(rev[0])
    assert by_kind["amount_mismatch"]["theirs_minor"] == 30_000
    assert by_kind["amount_mismatch"]["ours_minor"] == 29_000
    assert by_kind["unexpected_at_provider"]["payout_id"] is None
    assert fine[0] is not None

    # a payout we think went out, unknown to the provider
    ghost = Payout(id=uuid.uuid4(), amount_minor=100, currency="EUR", status="paid")
    assert match([ghost], []).kinds() == {"missing_at_provider": 1}
