"""Payout runs on PostgreSQL: control totals, who may release (finance, a fresh second
factor, confirmed totals, no approver of the run), the ledger commitment at release,
and the operator actions with their audit trail."""

from typing import Any

import pytest
from sqlalchemy import event

from stipends.exceptions import InvalidRequest, InvalidTransition, NotAllowed
from stipends.logic import payments
from stipends.logic.payouts import actions, runs
from tests.helpers import actor
from tests.stipends.integration.conftest import ADMIN_A, FINANCE, Db, logic_actor
from tests.stipends.integration.payouts_world import PayWorld

FINANCE_2 = actor(["finance"])


def ledger_rows(db: Db) -> int:
    return db.sql("SELECT count(*) FROM journal_entries")[0][0]


def test_a_run_shows_control_totals_per_currency_and_provider(db: Db) -> None:
    world = PayWorld(db, 3)
    db.sql(
        "UPDATE communicators SET payout_provider = 'bank_file' WHERE id = :c",
        c=world.payees[2],
    )
    not_ready = world.payees[1]
    db.sql("UPDATE communicators SET payout_ready = false WHERE id = :c", c=not_ready)
    built = world.build()
    assert built.run.status == "draft"
    assert built.run.totals == [
        {"currency": "EUR", "provider": "bank_file", "count": 1, "sum_minor": 30_000},
        {
            "currency": "EUR",
            "provider": "stripe_connect",
            "count": 1,
            "sum_minor": 30_000,
        },
    ]
    assert built.excluded == [
        {
            "stipend_id": str(world.world.stipend_of(not_ready).id),
            "reason": "destination_not_ready",
        }
    ]
    assert {p.status for p in built.payouts} == {"planned"}
    # a second run takes only what the first left
    db.sql("UPDATE communicators SET payout_ready = true WHERE id = :c", c=not_ready)
    again = world.build()
    assert [p.communicator_id for p in again.payouts] == [not_ready]
    with pytest.raises(InvalidTransition) as empty:
        world.build()
    assert empty.value.code == "empty_run"


def test_a_provider_no_corridor_uses_is_left_out(db: Db) -> None:
    world = PayWorld(db, 2)
    with world.transaction() as session:
        with pytest.raises(InvalidTransition):
            runs.build_run(session, logic_actor(FINANCE), world.cycle_id, {"bank_file"})


@pytest.mark.parametrize(
    ("who", "second_factor", "digest", "code"),
    [
        (ADMIN_A, True, None, "role_required"),
        (FINANCE, False, None, "second_factor_required"),
        (FINANCE, True, "0" * 64, "totals_mismatch"),
    ],
)
def test_release_is_refused_and_changes_nothing(
    db: Db, who: dict[str, Any], second_factor: bool, digest: str | None, code: str
) -> None:
    world = PayWorld(db, 2)
    run = world.build().run
    entries = ledger_rows(db)
    with (
        world.transaction() as session,
        pytest.raises((NotAllowed, InvalidTransition)) as refused,
    ):
        runs.release_run(
            session,
            logic_actor(who),
            run.id,
            digest or run.totals_digest,
            second_factor,
            world.clock(),
        )
    assert refused.value.code == code
    assert ledger_rows(db) == entries
    assert set(world.statuses().values()) == {"planned"}
    assert db.sql("SELECT status FROM payout_runs")[0][0] == "draft"


def test_an_approver_of_any_stipend_in_the_run_cannot_release_it(db: Db) -> None:
    world = PayWorld(db, 2)
    approver_and_finance = actor(["program_admin", "finance"], ADMIN_A["id"])
    run = world.build().run
    with pytest.raises(NotAllowed) as refused:
        world.release(run, approver_and_finance)
    assert refused.value.code == "releaser_approved"
    world.release(run, FINANCE_2)
    assert set(world.statuses().values()) == {"queued"}


def test_release_commits_every_stipend_for_payment(db: Db) -> None:
    world = PayWorld(db, 2)
    built = world.released()
    for payout in built.payouts:
        assert (
            world.balance(f"stipends_payable:{payout.communicator_id}:EUR") == -30_000
        )
    assert world.balance(f"reservations:{world.world.programme_id}") == 0
    assert world.balanced()
    with pytest.raises(InvalidTransition):
        world.release(built.run)  # released once
    audit = db.sql("SELECT action, reason FROM payout_audit ORDER BY id")
    assert [a[0] for a in audit] == ["build", "release"]


def release_statements(db: Db, payees: int) -> int:
    world = PayWorld(db, payees)
    run = world.build().run
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        world.release(run)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert set(world.statuses().values()) == {"queued"}
    assert world.balanced()
    return len(statements)


def test_a_release_takes_as_many_statements_for_3_payouts_as_for_12(db: Db) -> None:
    # a run of a thousand is released in one short transaction, not one long one
    # that a dropped connection keeps undoing (the payouts' own UPDATE is one
    # executemany, which counts once)
    few, many = release_statements(db, 3), release_statements(db, 12)
    assert few == many


def test_a_release_commits_all_or_nothing(db: Db) -> None:
    world = PayWorld(db, 3)
    run = world.build().run
    with world.transaction() as session:  # one of them committed by another path
        payments.commit_for_payment(session, world.stipends[2])
    entries = ledger_rows(db)
    with pytest.raises(InvalidTransition) as refused:
        world.release(run)
    assert refused.value.code == "committed"
    assert ledger_rows(db) == entries
    assert set(world.statuses().values()) == {"planned"}


def test_a_stipend_changed_after_the_build_stops_the_release(db: Db) -> None:
    world = PayWorld(db, 2)
    run = world.build().run
    db.sql("UPDATE stipends SET status = 'rejected' WHERE id = :s", s=world.stipends[1])
    entries = ledger_rows(db)
    with pytest.raises(InvalidTransition) as refused:
        world.release(run)
    assert refused.value.code == "stipend_changed"
    assert ledger_rows(db) == entries
    assert set(world.statuses().values()) == {"planned"}


def act(world: PayWorld, payout_id: Any, action: str, reason: str = "checked") -> Any:
    with world.transaction() as session:
        return actions.operator_action(
            session, logic_actor(FINANCE), payout_id, action, reason, world.clock()
        )


def test_operator_actions_need_finance_and_a_reason_and_are_audited(db: Db) -> None:
    world = PayWorld(db, 3)
    a, b, c = world.released().payouts
    with world.transaction() as session, pytest.raises(NotAllowed):
        actions.operator_action(
            session, logic_actor(ADMIN_A), a.id, "cancel", "why", world.clock()
        )
    with pytest.raises(InvalidRequest) as no_reason:
        act(world, a.id, "cancel", "  ")
    assert no_reason.value.code == "reason_required"
    with pytest.raises(InvalidRequest):
        act(world, a.id, "delete", "why")

    # cancel: the commitment is undone, the budget reserved again
    act(world, a.id, "cancel", "payee asked to wait")
    assert world.balance(f"stipends_payable:{a.communicator_id}:EUR") == 0
    assert world.balance(f"reservations:{world.world.programme_id}") == -30_000
    with pytest.raises(InvalidTransition):
        act(world, a.id, "retry")

    # paid offline: sent and settled in the ledger, payout.paid.v1
    act(world, b.id, "mark_paid_offline", "paid by cash transfer, receipt 17")
    assert world.statuses()[str(b.stipend_id)] == "paid"
    assert world.balance(f"stipends_payable:{b.communicator_id}:EUR") == 0
    with pytest.raises(InvalidTransition):
        act(world, b.id, "mark_failed")

    # a payout the provider has is not marked failed by hand: a retry would pay twice
    db.sql("UPDATE payouts SET status = 'sent' WHERE id = :i", i=c.id)
    with pytest.raises(InvalidTransition) as sent:
        act(world, c.id, "mark_failed", "looks stuck")
    assert sent.value.code == "payout_sent"
    db.sql("UPDATE payouts SET status = 'queued' WHERE id = :i", i=c.id)

    # failed, then retried: a new attempt
    act(world, c.id, "mark_failed", "bank says account closed")
    assert world.statuses()[str(c.stipend_id)] == "failed"
    act(world, c.id, "retry", "new details confirmed")
    assert world.statuses()[str(c.stipend_id)] == "queued"

    audit = db.sql(
        "SELECT action, reason, actor_id FROM payout_audit "
        "WHERE payout_id IS NOT NULL ORDER BY id"
    )
    assert [(r[0], r[1]) for r in audit] == [
        ("cancel", "payee asked to wait"),
        ("mark_paid_offline", "paid by cash transfer, receipt 17"),
        ("mark_failed", "bank says account closed"),
        ("retry", "new details confirmed"),
    ]
    assert {str(r[2]) for r in audit} == {FINANCE["id"]}
    failed = db.events("payout.failed.v1")
    assert [e["data"]["reason"] for e in failed] == ["marked_failed"]
    assert len(db.events("payout.paid.v1")) == 1
    assert world.balanced()
    # the cancelled stipend can go into a new run
    assert [p.stipend_id for p in world.build().payouts] == [a.stipend_id]


def test_erasure_clears_the_destination_fingerprint_of_the_payees_payouts(
    db: Db,
) -> None:
    from stipends.logic import readmodel

    world = PayWorld(db, 2)
    world.build()
    erased, kept = world.payees
    fingerprints = "SELECT destination_fingerprint FROM {} WHERE {} = :c"
    assert db.sql(fingerprints.format("payouts", "communicator_id"), c=erased)[0][0]

    with world.transaction() as session:
        readmodel.registry_changed(
            session, "communicator.erased.v1", {"communicator_id": erased}
        )

    for table, column in (("payouts", "communicator_id"), ("communicators", "id")):
        (gone,) = db.sql(fingerprints.format(table, column), c=erased)
        assert gone.destination_fingerprint is None, table
        (still,) = db.sql(fingerprints.format(table, column), c=kept)
        assert still.destination_fingerprint == "cd" * 32, table


def test_erasure_blanks_staff_notes_on_the_persons_financial_record(db: Db) -> None:
    """Staff-written notes about an erased person become [erased]; the record (who
    acted, what, when, the amounts) stays, and another person's notes are kept."""
    from stipends.logic import readmodel

    world = PayWorld(db, 2)
    erased_run = world.released().payouts
    by_payee = {p.communicator_id: p for p in erased_run}
    erased, kept = world.payees
    for who in (erased, kept):
        payout = by_payee[who]
        act(world, payout.id, "cancel", f"asked by phone, {who}")
        db.sql(
            "UPDATE stipends SET rejection_reason = :r, reasons = reasons || "
            "jsonb_build_array(:a) WHERE communicator_id = :c",
            r=f"rejected: {who}",
            a=f"amount changed from 250.00 EUR to 300.00 EUR: {who}: moved cities",
            c=who,
        )
        db.sql(
            "UPDATE approvals SET void_reason = :r WHERE stipend_id IN "
            "(SELECT id FROM stipends WHERE communicator_id = :c)",
            r=f"void: {who}",
            c=who,
        )
        db.sql(
            "INSERT INTO payout_receipts (id, payout_id, communicator_id, received, "
            "note, answered_at, problem_status, resolution, resolution_note, version) "
            "VALUES (gen_random_uuid(), :p, :c, false, :n, now(), 'resolved', "
            "'resent', :r, 1)",
            p=payout.id,
            c=who,
            n=f"my account at the bank of {who}",
            r=f"called {who}",
        )
    (reconciliation,) = db.sql(
        "INSERT INTO reconciliations (id, provider, period_start, period_end, source, "
        "status, provider_rows, matched, discrepancies, created_by, version) VALUES "
        "(gen_random_uuid(), 'stripe_connect', '2026-01-01', '2026-01-02', 'api', "
        "'open', 0, 0, 0, :f, 1) RETURNING id",
        f=FINANCE["id"],
    )
    for who in (erased, kept):
        db.sql(
            "INSERT INTO reconciliation_items (reconciliation_id, kind, payout_id, "
            "state, resolution, resolved_by, resolved_at) VALUES (:r, "
            "'missing_at_provider', :p, 'written_off', :n, :f, now())",
            f=FINANCE["id"],
            r=reconciliation[0],
            p=by_payee[who].id,
            n=f"{who} said it arrived",
        )

    with world.transaction() as session:
        readmodel.registry_changed(
            session, "communicator.erased.v1", {"communicator_id": erased}
        )

    notes = (
        "SELECT rejection_reason FROM stipends WHERE communicator_id = :c",
        "SELECT void_reason FROM approvals WHERE stipend_id IN "
        "(SELECT id FROM stipends WHERE communicator_id = :c)",
        "SELECT reason FROM payout_audit WHERE payout_id IN "
        "(SELECT id FROM payouts WHERE communicator_id = :c)",
        "SELECT resolution_note FROM payout_receipts WHERE communicator_id = :c",
        "SELECT resolution FROM reconciliation_items WHERE payout_id IN "
        "(SELECT id FROM payouts WHERE communicator_id = :c)",
    )
    for query in notes:
        assert {row[0] for row in db.sql(query, c=erased)} == {"[erased]"}, query
        (still,) = {row[0] for row in db.sql(query, c=kept)}
        assert str(kept) in still, query
    assert db.sql(
        "SELECT note FROM payout_receipts WHERE communicator_id = :c", c=erased
    ) == [("",)]
    # an amendment's words go, its amounts and the other reasons stay
    ((reasons,),) = db.sql(
        "SELECT reasons FROM stipends WHERE communicator_id = :c", c=erased
    )
    assert reasons[-1] == "amount changed from 250.00 EUR to 300.00 EUR: [erased]"
    assert str(erased) not in str(reasons) and len(reasons) > 1
    ((reasons,),) = db.sql(
        "SELECT reasons FROM stipends WHERE communicator_id = :c", c=kept
    )
    assert reasons[-1].endswith(f"{kept}: moved cities")
    # the record stays: the audit row's action and actor, the receipt's answer
    assert db.sql(
        "SELECT action FROM payout_audit WHERE payout_id = :p",
        p=by_payee[erased].id,
    ) == [("cancel",)]
    assert world.balanced()
