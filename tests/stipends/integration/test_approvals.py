"""Cycle close and segregated approval, on PostgreSQL: entitlements with reasons,
bands, the proposer and the payee never approving, one slot per person, approvals
bound to payee, destination and amount, budget reservations, and the race."""

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from stipends.exceptions import (
    ConcurrentChange,
    FundingNotFound,
    InvalidRequest,
    InvalidTransition,
    NotAllowed,
    OverBudget,
)
from stipends.logic import (
    approvals,
    cycles,
    entitlement,
    ledger,
    ledger_reports,
    programmes,
    readmodel,
    reports,
)
from tests.helpers import actor
from tests.stipends.integration.conftest import (
    ADMIN_A,
    ADMIN_B,
    ADMIN_C,
    FINANCE,
    Db,
    add_communicator,
    communicator_actor,
    logic_actor,
    programme_data,
    report_content,
)

DEADLINE = datetime(2026, 11, 30, 23, 59, tzinfo=UTC)
BEFORE = DEADLINE - timedelta(days=3)
AFTER = DEADLINE + timedelta(hours=1)
CLOSER = ADMIN_C  # closes cycles, so proposes every stipend in them


class World:
    def __init__(self, db: Db, **rules: Any):
        self.db = db
        admin = logic_actor(ADMIN_A)
        with db.session() as session, session.begin():
            programme = programmes.create_programme(
                session, admin, programme_data(**rules)
            )
            self.programme_id = programme.id
            self.cycle_id = cycles.open_cycle(
                session, admin, programme.id, "2026-11", DEADLINE
            ).id

    def reported(
        self, who: uuid.UUID, decision: str = "accepted", **content: Any
    ) -> uuid.UUID:
        with self.db.session() as session, session.begin():
            report = reports.save_draft(
                session,
                communicator_actor(who),
                self.cycle_id,
                report_content(**content),
            ).report
            reports.submit_report(session, communicator_actor(who), report.id, BEFORE)
            reports.review_report(
                session, logic_actor(ADMIN_A), report.id, decision, "noted", BEFORE
            )
            return report.id

    def close(self) -> entitlement.Closed:
        with self.db.session() as session, session.begin():
            return entitlement.close_cycle(
                session, logic_actor(CLOSER), self.cycle_id, AFTER
            )

    def stipend_of(self, who: uuid.UUID) -> Any:
        rows = self.db.sql(
            "SELECT * FROM stipends WHERE communicator_id = :c AND cycle_id = :y",
            c=who,
            y=self.cycle_id,
        )
        return rows[0] if rows else None

    def digest(self, stipend_id: uuid.UUID) -> str:
        with self.db.session() as session:
            stipend = approvals.get_stipend(session, stipend_id)
            return approvals.digest(stipend, approvals.payee_of(session, stipend))

    def approve(self, who: dict, stipend_id: uuid.UUID, seen: str | None = None):
        seen = seen or self.digest(stipend_id)
        with self.db.session() as session, session.begin():
            return approvals.approve_stipend(
                session, logic_actor(who), stipend_id, seen
            )

    def available(self) -> int:
        with self.db.session() as session:
            return ledger.available(session, self.programme_id)

    def approvals(self, stipend_id: uuid.UUID) -> list[Any]:
        return self.db.sql(
            "SELECT approver_id, slot, voided_at FROM approvals "
            "WHERE stipend_id = :s ORDER BY approved_at",
            s=stipend_id,
        )


def test_close_proposes_for_the_eligible_and_explains_the_rest(db: Db) -> None:
    world = World(db, min_accepted_reports=1, min_conversations=5)
    good = add_communicator(db)
    volunteer = add_communicator(db, tier="volunteer")
    untrained = add_communicator(db, training=False)
    no_payout = add_communicator(db, payout_ready=False)
    too_few = add_communicator(db)
    rejected = add_communicator(db)
    silent = add_communicator(db)
    for who in (good, volunteer, untrained, no_payout):
        world.reported(who, conversations=6)
    world.reported(too_few, conversations=4)
    world.reported(rejected, decision="rejected", conversations=20)
    closed = world.close()
    found = {e.communicator_id: e for e in closed.entitlements}
    assert set(found) == {
        good,
        volunteer,
        untrained,
        no_payout,
        too_few,
        rejected,
        silent,
    }
    assert found[good].eligible and found[good].amount_minor == 30_000
    assert "tier professional: 300.00 EUR" in found[good].reasons

    def why(who: uuid.UUID) -> list[str]:
        assert not found[who].eligible
        return [r for r in found[who].reasons if r.startswith("not eligible")]

    assert why(volunteer) == ["not eligible: the tier volunteer carries no stipend"]
    assert why(untrained) == ["not eligible: training not completed"]
    assert why(no_payout) == ["not eligible: no payout destination set up yet"]
    needs = "1 needed"
    assert why(too_few) == [
        f"not eligible: 0 accepted report(s) with at least 5 conversation(s); {needs}"
    ]
    assert why(rejected) == why(too_few)
    assert why(silent) == why(too_few)
    stipend = world.stipend_of(good)
    assert (stipend.status, stipend.amount_minor, stipend.approvals_needed) == (
        "proposed",
        30_000,
        1,
    )
    assert all(world.stipend_of(w) is None for w in (volunteer, untrained, too_few))
    # who proposed it rides along: the admins' digest counts it for the others
    assert [
        (e["data"]["stipend_id"], e["data"]["proposed_by"])
        for e in db.events("stipend.proposed.v1")
    ] == [(str(stipend.id), CLOSER["id"])]
    (closed_event,) = db.events("cycle.closed.v1")
    assert closed_event["data"] == {
        "cycle_id": str(world.cycle_id),
        "programme_id": str(world.programme_id),
        "proposed": 1,  # a count: the digest's waiting approvals, at least
        "closed_by": CLOSER["id"],
    }
    assert db.sql("SELECT status FROM cycles")[0][0] == "closed"


def test_close_waits_for_the_deadline_and_for_every_review(db: Db) -> None:
    world = World(db)
    who = add_communicator(db)
    with db.session() as session, session.begin():
        report = reports.save_draft(
            session, communicator_actor(who), world.cycle_id, report_content()
        ).report
        reports.submit_report(session, communicator_actor(who), report.id, BEFORE)
    with db.session() as session, session.begin():
        with pytest.raises(InvalidTransition) as err:
            entitlement.close_cycle(
                session, logic_actor(CLOSER), world.cycle_id, BEFORE
            )
    assert err.value.code == "deadline_not_passed"
    with pytest.raises(InvalidTransition) as err:
        world.close()
    assert err.value.code == "reports_awaiting_review"
    with db.session() as session, session.begin():
        with pytest.raises(NotAllowed):
            entitlement.close_cycle(
                session, logic_actor(FINANCE), world.cycle_id, AFTER
            )
    assert db.sql("SELECT status FROM cycles")[0][0] == "open"
    assert db.sql("SELECT count(*) FROM stipends")[0][0] == 0
    assert db.events("cycle.closed.v1") == []


def eligible(world: World, **communicator: Any) -> uuid.UUID:
    who = add_communicator(world.db, **communicator)
    world.reported(who)
    return who


def test_up_to_the_band_one_approver_reserves_the_budget(db: Db) -> None:
    world = World(db)
    who = eligible(world)
    world.close()
    stipend = world.stipend_of(who)
    result = world.approve(ADMIN_A, stipend.id)
    assert result.stipend.status == "approved" and result.approval.slot == 1
    assert result.remaining_budget_minor == 70_000 == world.available()
    (event,) = db.events("stipend.approved.v1")
    assert event["data"] == {
        "stipend_id": str(stipend.id),
        "communicator_id": str(who),
        "cycle_id": str(world.cycle_id),
        "amount_minor": 30_000,
        "currency": "EUR",
    }
    with db.session() as session:
        assert ledger.balance(session, ledger.reservations(world.programme_id)) == (
            -30_000
        )
        assert ledger_reports.trial_balance(session)["balanced"]


def test_above_the_band_two_distinct_approvers_are_needed(db: Db) -> None:
    world = World(db, tier_amounts={"professional": 45_000})
    who = eligible(world)
    world.close()
    stipend = world.stipend_of(who)
    assert stipend.approvals_needed == 2
    first = world.approve(ADMIN_A, stipend.id)
    assert first.stipend.status == "proposed" and world.available() == 100_000
    with pytest.raises(NotAllowed) as err:
        world.approve(ADMIN_A, stipend.id)
    assert err.value.code == "second_slot"
    assert len(world.approvals(stipend.id)) == 1
    second = world.approve(ADMIN_B, stipend.id)
    assert second.stipend.status == "approved" and second.approval.slot == 2
    assert world.available() == 55_000
    assert len(db.events("stipend.approved.v1")) == 1


def test_custom_bands_apply(db: Db) -> None:
    bands = [
        {"up_to_minor": 10_000, "approvers": 1},
        {"up_to_minor": 20_000, "approvers": 2},
        {"up_to_minor": None, "approvers": 3},
    ]
    world = World(db, approval_bands=bands)
    who = eligible(world)
    world.close()
    assert world.stipend_of(who).approvals_needed == 3


def test_bands_that_shrink_with_the_amount_are_refused(db: Db) -> None:
    with db.session() as session, session.begin():
        with pytest.raises(InvalidRequest) as err:
            programmes.create_programme(
                session,
                logic_actor(ADMIN_A),
                programme_data(
                    approval_bands=[
                        {"up_to_minor": 10_000, "approvers": 2},
                        {"up_to_minor": None, "approvers": 1},
                    ]
                ),
            )
    assert err.value.code == "invalid_bands"
    assert set(err.value.fields) == {"approval_bands"}  # named, as every refusal
    assert db.sql("SELECT count(*) FROM programmes")[0][0] == 0


def test_the_proposer_the_payee_and_other_roles_never_approve(db: Db) -> None:
    world = World(db)
    who = eligible(world)
    world.close()
    stipend = world.stipend_of(who)
    with pytest.raises(NotAllowed) as err:
        world.approve(CLOSER, stipend.id)
    assert err.value.code == "own_proposal"
    with pytest.raises(NotAllowed) as err:
        world.approve(FINANCE, stipend.id)
    assert err.value.code == "role_required"
    with pytest.raises(NotAllowed) as err:  # the payee, even holding the admin role
        world.approve(actor(["program_admin"], str(who)), stipend.id)
    assert err.value.code == "own_stipend"
    assert world.approvals(stipend.id) == [] and world.available() == 100_000
    assert db.events("stipend.approved.v1") == []


def test_an_approval_binds_to_what_the_approver_saw(db: Db) -> None:
    world = World(db)
    who = eligible(world)
    world.close()
    stipend = world.stipend_of(who)
    seen = world.digest(stipend.id)
    with db.session() as session, session.begin():  # the destination changes
        readmodel.registry_changed(
            session,
            "communicator.payout_ready.v1",
            {
                "communicator_id": who,
                "provider": "stripe_connect",
                "destination_fingerprint": "ef" * 32,
            },
        )
    with pytest.raises(InvalidTransition) as err:
        world.approve(ADMIN_A, stipend.id, seen=seen)
    assert err.value.code == "payee_changed"
    assert world.approvals(stipend.id) == []
    assert world.approve(ADMIN_A, stipend.id).stipend.status == "approved"


def test_a_changed_payee_after_approval_voids_it_and_releases_the_budget(
    db: Db,
) -> None:
    world = World(db, tier_amounts={"professional": 45_000})
    done, half = eligible(world), eligible(world)
    world.close()
    approved, pending = world.stipend_of(done), world.stipend_of(half)
    world.approve(ADMIN_A, approved.id)
    world.approve(ADMIN_B, approved.id)
    world.approve(ADMIN_A, pending.id)
    assert world.available() == 55_000
    for who in (done, half):
        with db.session() as session, session.begin():
            readmodel.registry_changed(
                session,
                "communicator.payout_ready.v1",
                {
                    "communicator_id": who,
                    "provider": "bank_file",
                    "destination_fingerprint": "01" * 32,
                },
            )
    for stipend in (approved, pending):
        row = world.stipend_of(stipend.communicator_id)
        assert (row.status, row.approvals_given) == ("proposed", 0)
        assert all(a.voided_at is not None for a in world.approvals(stipend.id))
    assert world.available() == 100_000  # the reservation was reversed
    with db.session() as session:
        kinds = [
            line["kind"]
            for line in ledger_reports.statement(
                session, ledger.reservations(world.programme_id)
            )["lines"]
        ]
    assert kinds == ["reservation", "reservation_reversal"]
    # a proposal again, for the new destination; the same admins may approve anew
    assert len(db.events("stipend.proposed.v1")) == 3
    world.approve(ADMIN_A, approved.id)
    assert world.approve(ADMIN_B, approved.id).stipend.status == "approved"


def test_an_amended_amount_voids_approvals_and_the_amender_cannot_approve(
    db: Db,
) -> None:
    world = World(db, tier_amounts={"professional": 45_000})
    who = eligible(world)
    world.close()
    stipend = world.stipend_of(who)
    seen = world.digest(stipend.id)
    world.approve(ADMIN_A, stipend.id, seen)
    with db.session() as session, session.begin():
        approvals.amend_stipend(
            session, logic_actor(ADMIN_B), stipend.id, 25_000, "half the month on leave"
        )
    row = world.stipend_of(who)
    assert (row.amount_minor, row.approvals_needed, row.approvals_given) == (
        25_000,
        1,
        0,
    )
    assert world.approvals(stipend.id)[0].voided_at is not None
    with pytest.raises(InvalidTransition):
        world.approve(ADMIN_A, stipend.id, seen)  # the old digest
    with pytest.raises(NotAllowed) as err:
        world.approve(ADMIN_B, stipend.id)
    assert err.value.code == "own_proposal"
    assert world.approve(ADMIN_A, stipend.id).stipend.status == "approved"
    assert world.available() == 75_000


def test_a_stipend_over_the_remaining_budget_is_refused_with_the_remainder(
    db: Db,
) -> None:
    world = World(db, budget_minor=50_000)
    first, second = eligible(world), eligible(world)
    world.close()
    world.approve(ADMIN_A, world.stipend_of(first).id)
    with pytest.raises(OverBudget) as err:
        world.approve(ADMIN_A, world.stipend_of(second).id)
    assert "200.00 EUR remains" in err.value.message
    assert err.value.fields == {"remaining_minor": ["20000"]}
    assert world.stipend_of(second).status == "proposed"
    assert world.approvals(world.stipend_of(second).id) == []
    assert world.available() == 20_000
    with db.session() as session, session.begin():  # topped up, it goes through
        programmes.fund_programme(
            session,
            logic_actor(FINANCE),
            world.programme_id,
            10_000,
            str(uuid.uuid4()),
        )
    world.approve(ADMIN_A, world.stipend_of(second).id)
    assert world.available() == 0


def test_rejection_before_and_after_approval(db: Db) -> None:
    world = World(db)
    early, late = eligible(world), eligible(world)
    world.close()
    with db.session() as session, session.begin():
        with pytest.raises(InvalidRequest):
            approvals.reject_stipend(
                session, logic_actor(ADMIN_A), world.stipend_of(early).id, " "
            )
    with db.session() as session, session.begin():
        approvals.reject_stipend(
            session, logic_actor(ADMIN_A), world.stipend_of(early).id, "reports copied"
        )
    world.approve(ADMIN_A, world.stipend_of(late).id)
    assert world.available() == 70_000
    with db.session() as session, session.begin():
        approvals.reject_stipend(
            session, logic_actor(ADMIN_B), world.stipend_of(late).id, "paid by the club"
        )
    assert world.available() == 100_000
    assert [world.stipend_of(w).status for w in (early, late)] == [
        "rejected",
        "rejected",
    ]
    assert len(db.events("stipend.rejected.v1")) == 2
    with pytest.raises(InvalidTransition) as err:
        world.approve(ADMIN_B, world.stipend_of(early).id)
    assert err.value.code == "stipend_rejected"


def test_a_locked_cycle_refuses_approvals_and_reports(db: Db) -> None:
    world = World(db)
    who = eligible(world)
    world.close()
    stipend = world.stipend_of(who)
    with db.session() as session, session.begin():
        with pytest.raises(InvalidTransition) as err:
            cycles.lock_cycle(session, logic_actor(ADMIN_A), world.cycle_id)
    assert err.value.code == "stipends_pending"
    world.approve(ADMIN_A, stipend.id)
    with db.session() as session, session.begin():
        cycles.lock_cycle(session, logic_actor(ADMIN_A), world.cycle_id)
    with pytest.raises(InvalidTransition) as err:
        world.reported(who)
    assert err.value.code == "cycle_locked"
    with db.session() as session, session.begin():
        with pytest.raises(InvalidTransition) as err:
            approvals.reject_stipend(session, logic_actor(ADMIN_B), stipend.id, "late")
    assert err.value.code == "cycle_locked"
    assert world.stipend_of(who).status == "approved"


def test_two_admins_filling_the_same_slot_at_once_end_with_one_approval(
    db: Db,
) -> None:
    """Both read the stipend (version 1, slot 1 free) before either writes; both
    then write. PostgreSQL and the version column let exactly one through."""
    world = World(db, tier_amounts={"professional": 45_000})
    who = eligible(world)
    world.close()
    stipend_id = world.stipend_of(who).id
    seen = world.digest(stipend_id)
    both_read = threading.Barrier(2, timeout=10)
    outcomes: dict[str, Any] = {}

    def approve(name: str, admin: dict) -> None:
        session = db.session()
        try:
            with session.begin():
                # both load the stipend and its slots before either writes
                stipend = approvals.get_stipend(session, stipend_id)
                approvals.active_approvals(session, stipend.id)
                assert stipend.version == 1
                both_read.wait()
                outcomes[name] = approvals.approve_stipend(
                    session, logic_actor(admin), stipend_id, seen
                ).approval.slot
        except Exception as exc:  # noqa: BLE001 - the outcome is what we test
            outcomes[name] = exc
        finally:
            session.close()

    threads = [
        threading.Thread(target=approve, args=("a", ADMIN_A)),
        threading.Thread(target=approve, args=("b", ADMIN_B)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    winners = [v for v in outcomes.values() if v == 1]
    losers = [v for v in outcomes.values() if isinstance(v, ConcurrentChange)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    assert losers[0].code == "concurrent_change"
    rows = world.approvals(stipend_id)
    assert len(rows) == 1 and rows[0].slot == 1
    row = world.stipend_of(who)
    assert (row.status, row.approvals_given, row.version) == ("proposed", 1, 2)
    # the one who lost reloads and fills the second slot
    loser = "a" if isinstance(outcomes["a"], ConcurrentChange) else "b"
    world.approve(ADMIN_A if loser == "a" else ADMIN_B, stipend_id)
    assert world.stipend_of(who).status == "approved"


def test_payment_steps_post_balanced_entries_in_order_only(db: Db) -> None:
    from stipends.logic import payments

    world = World(db)
    who = eligible(world)
    world.close()
    stipend_id = world.stipend_of(who).id

    def step(fn, *args):
        with db.session() as session, session.begin():
            return fn(session, stipend_id, *args)

    with pytest.raises(InvalidTransition) as err:
        step(payments.commit_for_payment)
    assert err.value.code == "stipend_proposed"
    world.approve(ADMIN_A, stipend_id)
    with pytest.raises(InvalidTransition):
        step(payments.record_sent)
    step(payments.commit_for_payment)
    with pytest.raises(InvalidTransition) as err:
        step(payments.commit_for_payment)
    assert err.value.code == "committed"
    with db.session() as session, session.begin():  # no rejection once in payment
        with pytest.raises(InvalidTransition) as err:
            approvals.reject_stipend(session, logic_actor(ADMIN_B), stipend_id, "late")
    assert err.value.code == "committed"
    step(payments.record_sent)
    step(payments.record_failed)  # the provider bounced it: sent again
    step(payments.record_sent)
    step(payments.record_settled, 150)
    with pytest.raises(InvalidTransition):
        step(payments.record_failed)
    with db.session() as session:
        assert ledger_reports.trial_balance(session)["balanced"]
        assert ledger.balance(session, ledger.payable(who, "EUR")) == 0
        assert ledger.balance(session, ledger.clearing("stripe_connect", "EUR")) == 0
        assert ledger.balance(session, ledger.fees(world.programme_id)) == 150
        assert ledger.balance(session, ledger.reservations(world.programme_id)) == 0
        assert ledger.available(session, world.programme_id) == 70_000
        funds = ledger_reports.statement(session, ledger.funds(world.programme_id))
    assert [line["kind"] for line in funds["lines"]] == [
        "funding",
        "payout_sent",
        "payout_sent_reversal",
        "payout_sent",
        "payout_settled",
    ]
    assert funds["balance_minor"] == 100_000 - 30_000 - 150


def test_two_admins_approving_different_stipends_never_overrun_the_budget(
    db: Db,
) -> None:
    """The budget covers one of two stipends; both final approvals race. The
    programme row is locked while the budget is read and reserved: one passes."""
    world = World(db, budget_minor=40_000)
    first, second = eligible(world), eligible(world)
    world.close()
    targets = {
        "a": (ADMIN_A, world.stipend_of(first).id),
        "b": (ADMIN_B, world.stipend_of(second).id),
    }
    seen = {name: world.digest(stipend) for name, (_, stipend) in targets.items()}
    both_read = threading.Barrier(2, timeout=10)
    outcomes: dict[str, Any] = {}

    def approve(name: str) -> None:
        admin, stipend_id = targets[name]
        session = db.session()
        try:
            with session.begin():
                assert ledger.available(session, world.programme_id) == 40_000
                both_read.wait()
                outcomes[name] = approvals.approve_stipend(
                    session, logic_actor(admin), stipend_id, seen[name]
                ).stipend.status
        except Exception as exc:  # noqa: BLE001 - the outcome is what we test
            outcomes[name] = exc
        finally:
            session.close()

    threads = [threading.Thread(target=approve, args=(n,)) for n in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(str(type(v).__name__) for v in outcomes.values()) == [
        "OverBudget",
        "str",
    ], outcomes
    assert "approved" in outcomes.values()
    assert world.available() == 10_000
    statuses = sorted(world.stipend_of(w).status for w in (first, second))
    assert statuses == ["approved", "proposed"]


def test_a_funding_mistake_is_corrected_by_a_reversal(db: Db) -> None:
    world = World(db, budget_minor=50_000)
    who = eligible(world)
    world.close()
    with db.session() as session, session.begin():
        extra = ledger.fund(session, world.programme_id, "EUR", 90_000, None)
        db_programme = programmes.get_programme(session, world.programme_id)
        db_programme.budget_minor += 90_000
    world.approve(ADMIN_A, world.stipend_of(who).id)  # 110,000 free after this
    with db.session() as session, session.begin():
        with pytest.raises(InvalidRequest) as err:
            programmes.reverse_funding(session, logic_actor(FINANCE), extra.id, "x")
    assert err.value.code == "reason_required"  # a reason says something: 3 or more
    assert err.value.fields == {"reason": ["at least 3 characters"]}
    (original,) = db.sql(
        "SELECT id FROM journal_entries WHERE kind = 'funding' ORDER BY id LIMIT 1"
    )
    with db.session() as session, session.begin():
        programmes.reverse_funding(
            session, logic_actor(FINANCE), extra.id, "typed 9 not 0"
        )
    assert world.available() == 20_000
    with db.session() as session, session.begin():  # the rest is reserved: refused
        with pytest.raises(OverBudget) as err:
            programmes.reverse_funding(
                session, logic_actor(FINANCE), original.id, "oops"
            )
    assert err.value.code == "funding_in_use"
    assert "only 200.00 EUR of the budget is free" in err.value.message
    with db.session() as session, session.begin():
        with pytest.raises(InvalidTransition) as err:  # reversed once only
            programmes.reverse_funding(session, logic_actor(FINANCE), extra.id, "again")
    assert err.value.code == "reversed_already"
    with db.session() as session, session.begin():  # another programme's entry
        with pytest.raises(FundingNotFound):
            programmes.reverse_funding(
                session, logic_actor(FINANCE), original.id, "oops", uuid.uuid4()
            )
    # the programme's page lists its fundings, newest first, with what blocks each
    with db.session() as session, session.begin():
        view = programmes.programme_view(
            session, logic_actor(FINANCE), world.programme_id
        )
    newest, oldest = view["fundings"]
    assert (newest["entry_id"], newest["amount_minor"]) == (extra.id, 90_000)
    assert newest["reversed"] and newest["reversal_reason"] == "typed 9 not 0"
    assert str(newest["reversed_by"]) == str(FINANCE["id"]) and newest["reversed_at"]
    assert newest["blocked_by"] == "reversed_already"
    assert (oldest["entry_id"], oldest["amount_minor"]) == (original.id, 50_000)
    assert not oldest["reversed"] and oldest["reversed_at"] is None
    assert oldest["blocked_by"] == "funding_in_use"
    assert db.sql("SELECT budget_minor FROM programmes")[0][0] == 50_000
    assert world.available() == 20_000
    # the reversal told the insights read model the new total
    budgets = db.events("programme.budget_changed.v1")
    assert budgets[-1]["data"]["budget_minor"] == 50_000


def test_a_payee_suspended_after_the_close_is_not_approved(db: Db) -> None:
    world = World(db)
    who = eligible(world)
    world.close()
    with db.session() as session, session.begin():
        readmodel.registry_changed(
            session, "communicator.suspended.v1", {"communicator_id": who}
        )
    with pytest.raises(InvalidTransition) as err:
        world.approve(ADMIN_A, world.stipend_of(who).id)
    assert err.value.code == "payee_not_active"
    assert world.available() == 100_000
