"""What a reconciliation decides reaches the ledger, on PostgreSQL: a write-off posts
the item's difference to the named account (bank fees, FX differences, unexplained
differences) with the reconciliation, the item and the reason on it; a re-run
reverses the write-offs of the run it supersedes; and the sign-off refuses, naming
the difference, while the ledger's clearing figure for the period differs from the
provider's."""

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from stipends.exceptions import InvalidRequest, InvalidTransition
from stipends.logic import ledger, ledger_reports
from stipends.logic.payouts import (
    adjustments,
    outcomes,
    reconciliation,
    resolutions,
)
from stipends.logic.payouts.staging import ItemizedReport
from stipends.payouts.models import Payout, Reconciliation
from stipends.payouts.providers import BankFile
from stipends.payouts.statements import ProviderRow, statement_rows
from tests.stipends.integration.conftest import Db, logic_actor
from tests.stipends.integration.payouts_world import PayWorld
from tests.stipends.integration.test_payouts_bank_file import bank_world
from tests.stipends.integration.test_reconciliation import (
    FINANCE_B,
    FINANCE_C,
    PERIOD,
    queue,
    run_period,
)


def sent_bank_run(db: Db) -> tuple[PayWorld, list[Any]]:
    world = bank_world(db)
    world.released()
    assert world.worker({"bank_file": BankFile()}).drive() == {"sent": 3}
    payouts = db.sql("SELECT id, amount_minor FROM payouts ORDER BY id")
    return world, payouts


def write_off(
    world: PayWorld, rec_id: str, ids: list[int], to: str, who: dict = FINANCE_B
) -> None:
    with world.transaction() as session:
        resolutions.resolve(
            session,
            logic_actor(who),
            uuid.UUID(rec_id),
            ids,
            "write_off",
            f"checked with the bank: {to}",
            datetime.now().astimezone(),
            write_off_to=to,
        )


def sign(world: PayWorld, rec_id: str, who: dict = FINANCE_C) -> Reconciliation:
    with world.transaction() as session:
        return resolutions.sign_off(
            session, logic_actor(who), uuid.UUID(rec_id), "agreed", world.clock()
        )


def figures(world: PayWorld, rec_id: str) -> list[dict[str, Any]]:
    with world.transaction() as session:
        rec = reconciliation.get(session, uuid.UUID(rec_id))
        return adjustments.figures(session, rec)


def test_a_statement_booking_a_payout_before_it_was_made_is_refused(db: Db) -> None:
    """The same statement given for an earlier period would match its payouts there
    too, and sign them off twice: a line that books a payout made after the period
    refuses the import, naming the line, and nothing is recorded."""
    world, [(a, amount), _, _] = sent_bank_run(db)
    text = (
        f"reference,amount,currency,status\npayout:{a},{amount / 100:.2f},EUR,booked\n"
    )
    earlier = (PERIOD[0] - timedelta(days=30), PERIOD[0])
    with pytest.raises(InvalidRequest, match="statement line 2 books payout") as e:
        run_period(
            world,
            list(statement_rows(text.splitlines(keepends=True))),
            provider="bank_file",
            source="bank_statement",
            period=earlier,
        )
    assert e.value.code == "booked_before_made"
    assert f"last day ({PERIOD[0] - timedelta(days=1)})" in str(e.value)
    assert db.sql("SELECT count(*) FROM reconciliations") == [(0,)]
    # the period it was made in takes it
    view = run_period(
        world,
        list(statement_rows(text.splitlines(keepends=True))),
        provider="bank_file",
        source="bank_statement",
    )["view"]
    assert view["matched"] == 1


def test_a_report_row_dated_before_its_payout_or_outside_the_period_is_refused(
    db: Db,
) -> None:
    """Stripe's report dates its rows: one dated before the payout it books was
    made, or outside the period the report is given for, would be matched in a
    period it does not belong to (and again in its own): refused, naming the
    line, and nothing is recorded (seen by an outside reading: one transfer
    matched and signed off in two periods)."""
    world, [(a, amount), _, _] = sent_bank_run(db)
    [(made,)] = db.sql("SELECT created_at FROM payouts WHERE id = :a", a=a)

    def report(when: datetime) -> ItemizedReport:
        text = (
            "balance_transaction_id,created_utc,currency,gross,fee,net,"
            "reporting_category,source_id,description,"
            "transfer_metadata[payout_reference]\n"
            f"txn_1,{when:%Y-%m-%d %H:%M:%S},eur,-{amount / 100:.2f},0,"
            f"-{amount / 100:.2f},transfer,tr_1,x,payout:{a}\n"
        )
        return ItemizedReport(text.splitlines(keepends=True))

    def reconcile(when: datetime) -> dict[str, Any]:
        return run_period(
            world, report(when), provider="bank_file", source="itemized_csv"
        )["view"]

    with pytest.raises(InvalidRequest, match="report line 2 .tr_1. books payout") as e:
        reconcile(made - timedelta(hours=2))
    assert e.value.code == "dated_before_made"
    start = datetime.combine(PERIOD[0], time(), UTC)
    with pytest.raises(InvalidRequest, match="outside this period") as e:
        reconcile(start - timedelta(minutes=1))
    assert e.value.code == "row_outside_period"
    assert db.sql("SELECT count(*) FROM reconciliations") == [(0,)]
    assert reconcile(made + timedelta(minutes=1))["provider_rows"] == 1


def test_write_offs_post_each_difference_to_its_named_account(db: Db) -> None:
    world, [(a, amount), (b, _), (c, _)] = sent_bank_run(db)
    programme = world.world.programme_id
    rows = [
        ProviderRow("bank-1", "payment", amount, "EUR", reference=f"payout:{a}"),
        # the bank took its fee out of the payment: 35 cents more left
        ProviderRow("bank-2", "payment", amount + 35, "EUR", reference=f"payout:{b}"),
        # a payment nobody here made; c is not in the statement at all
        ProviderRow("bank-9", "payment", 500, "EUR"),
    ]
    view = run_period(world, rows, provider="bank_file", source="api")["view"]
    rec_id = view["id"]
    assert view["figures"] == figures(world, rec_id)  # the page shows them
    items = {i["kind"]: i for i in queue(world, rec_id)}
    assert set(items) == {
        "amount_mismatch",
        "unexpected_at_provider",
        "missing_at_provider",
    }
    assert figures(world, rec_id) == [
        {
            "currency": "EUR",
            "provider_minor": 2 * amount + 35 + 500,
            "clearing_minor": 3 * amount,
            "difference_minor": 35 + 500 - amount,
        }
    ]
    funds_before = world.balance(ledger.funds(programme))
    clearing_before = world.balance(ledger.clearing("bank_file", "EUR"))

    write_off(world, rec_id, [items["amount_mismatch"]["id"]], "bank_fees")
    write_off(
        world,
        rec_id,
        [items["unexpected_at_provider"]["id"]],
        "unexplained_differences",
    )
    # the named account must be one of the three; nothing is posted otherwise
    with pytest.raises(InvalidRequest, match="write off to one of"):
        write_off(world, rec_id, [items["missing_at_provider"]["id"]], "donations")
    write_off(
        world, rec_id, [items["missing_at_provider"]["id"]], "unexplained_differences"
    )

    # the bank's 35 cents: a bank fee, out of the programme's money
    assert world.balance(ledger.difference("bank_fees", "bank_file", "EUR")) == 35
    # the stranger's 500 went out of the provider's hands, whose nobody knows; the
    # payout the bank never made: its amount is the programme's again
    assert (
        world.balance(ledger.difference("unexplained_differences", "bank_file", "EUR"))
        == 500 - amount
    )
    assert world.balance(ledger.funds(programme)) == funds_before - 35 + amount
    assert world.balance(ledger.clearing("bank_file", "EUR")) == clearing_before - 500
    assert world.balanced()
    entries = db.sql(
        "SELECT e.kind, e.memo, r.item_id, r.difference_minor "
        "FROM journal_entries e JOIN reconciliation_entries r ON r.entry_id = e.id "
        "ORDER BY e.id"
    )
    assert [(e[0], e[2], e[3]) for e in entries] == [
        ("write_off", items["amount_mismatch"]["id"], 35),
        ("write_off", items["unexpected_at_provider"]["id"], 500),
        ("write_off", items["missing_at_provider"]["id"], -amount),
    ]
    assert all(
        f"reconciliation {rec_id} item" in e[1] and "checked with the bank" in e[1]
        for e in entries
    )
    # the ledger's clearing figure is the provider's now, and the period signs off
    assert figures(world, rec_id)[0]["difference_minor"] == 0
    assert sign(world, rec_id).status == "signed_off"


def test_bank_fees_are_an_expense_whichever_way_the_difference_goes(db: Db) -> None:
    world, [(a, amount), (b, _), (c, _)] = sent_bank_run(db)
    programme = world.world.programme_id
    rows = [
        # the bank kept 40 cents of what we sent: the payee got less
        ProviderRow("bank-1", "payment", amount - 40, "EUR", reference=f"payout:{a}"),
        # and charged 15 cents on top of another
        ProviderRow("bank-2", "payment", amount + 15, "EUR", reference=f"payout:{b}"),
    ]
    rec_id = run_period(world, rows, provider="bank_file", source="api")["view"]["id"]
    items = {
        i["payout_id"]: i
        for i in queue(world, rec_id)
        if i["kind"] == "amount_mismatch"
    }
    funds_before = world.balance(ledger.funds(programme))
    clearing = ledger.clearing("bank_file", "EUR")
    clearing_before = world.balance(clearing)
    fees = ledger.difference("bank_fees", "bank_file", "EUR")

    write_off(world, rec_id, [items[str(a)]["id"]], "bank_fees")
    # the shortfall: Dr bank fees, Cr clearing (it holds what the bank passed on)
    assert world.balance(fees) == 40
    assert world.balance(clearing) == clearing_before - 40
    assert world.balance(ledger.funds(programme)) == funds_before
    write_off(world, rec_id, [items[str(b)]["id"]], "bank_fees")
    # the fee on top: Dr bank fees, Cr the programme's funds
    assert world.balance(fees) == 55
    assert world.balance(clearing) == clearing_before - 40
    assert world.balance(ledger.funds(programme)) == funds_before - 15
    assert world.balanced()
    legs = db.sql(
        "SELECT p.account, p.amount_minor FROM postings p "
        "JOIN reconciliation_entries r ON r.entry_id = p.entry_id "
        "ORDER BY p.entry_id, p.id"
    )
    assert legs == [
        (fees, 40),
        (clearing, -40),
        (fees, 15),
        (ledger.funds(programme), -15),
    ]
    # c is missing at the provider; written off as unexplained, it is ours again
    missing = [i for i in queue(world, rec_id) if i["state"] == "open"]
    write_off(world, rec_id, [i["id"] for i in missing], "unexplained_differences")
    assert figures(world, rec_id)[0]["difference_minor"] == 0
    assert sign(world, rec_id).status == "signed_off"
    assert world.balance(fees) == 55
    # the trial balance shows the period's clearing against the provider's figure
    with world.transaction() as session:
        (shown,) = ledger_reports.trial_balance(session)["clearing"]
    assert shown == {
        "provider": "bank_file",
        "reconciliation_id": rec_id,
        "period_start": PERIOD[0].isoformat(),
        "period_end": PERIOD[1].isoformat(),
        "status": "signed_off",
        "currency": "EUR",
        "provider_minor": 2 * amount - 40 + 15,
        "clearing_minor": 2 * amount - 40 + 15,
        "difference_minor": 0,
    }


def test_sign_off_refuses_while_the_clearing_figure_differs(db: Db) -> None:
    world, payouts = sent_bank_run(db)
    rows = [
        ProviderRow(f"bank-{n}", "payment", minor, "EUR", reference=f"payout:{ident}")
        for n, (ident, minor) in enumerate(payouts)
    ]
    rec_id = run_period(world, rows, provider="bank_file", source="api")["view"]["id"]
    assert queue(world, rec_id) == []
    # after the reconciliation ran, our books undo one send the bank reported made
    with world.transaction() as session:
        payout = session.get(Payout, payouts[0][0])
        outcomes.mark_failed(session, payout, "returned", "a mistake")
    with pytest.raises(InvalidTransition, match="differs from the provider") as refused:
        sign(world, rec_id)
    assert refused.value.code == "clearing_differs"
    assert "EUR: the provider 900.00, the ledger 600.00, difference 300.00" in str(
        refused.value
    )
    assert db.sql("SELECT status FROM reconciliations") == [("open",)]


def test_a_rerun_reverses_the_write_offs_of_the_run_it_supersedes(db: Db) -> None:
    world, [(a, amount), *_] = sent_bank_run(db)
    rows = [
        ProviderRow("bank-1", "payment", amount + 7, "EUR", reference=f"payout:{a}")
    ]
    first = run_period(world, rows, provider="bank_file", source="api")["view"]["id"]
    mismatch = [i for i in queue(world, first) if i["kind"] == "amount_mismatch"]
    write_off(world, first, [mismatch[0]["id"]], "fx_differences")
    fx = ledger.difference("fx_differences", "bank_file", "EUR")
    assert world.balance(fx) == 7
    run_period(world, rows, provider="bank_file", source="api")
    assert world.balance(fx) == 0  # the decision went with the run it belonged to
    assert world.balanced()
    assert db.sql(
        "SELECT count(*) FROM journal_entries WHERE kind = 'write_off_reversal'"
    ) == [(1,)]


BACK = timedelta(days=14)


def two_weeks_back(world: PayWorld) -> tuple[date, date]:
    """Move the payouts and the ledger's entries two weeks back, and PERIOD with
    them, so that the period and the week after it are over; the moved period."""
    world.db.sql(  # past the ledger's insert-only trigger, for the test's clock
        "SET LOCAL session_replication_role = replica;"
        " UPDATE journal_entries SET posted_at = posted_at - interval '14 days';"
        " UPDATE payouts SET created_at = created_at - interval '14 days'"
    )
    return PERIOD[0] - BACK, PERIOD[1] - BACK


def named_rows(payouts: list[Any]) -> list[ProviderRow]:
    """The bank's statement naming every payout by our reference."""
    return [
        ProviderRow(f"bank-{n}", "payment", minor, "EUR", reference=f"payout:{ident}")
        for n, (ident, minor) in enumerate(payouts)
    ]


def next_week(
    world: PayWorld, payouts: list[Any], moved: bool = False
) -> dict[str, Any]:
    """The bank's statement for the week after the period, naming every payout by
    our reference, reconciled; its view. The payouts and the ledger's entries are
    moved two weeks back first (unless `moved`), and the week with them, so that
    the week has begun (a period that has not is not reconciled)."""
    period = (PERIOD[0] - BACK, PERIOD[1] - BACK) if moved else two_weeks_back(world)
    later = (period[1], period[1] + timedelta(days=7))
    found = run_period(
        world, named_rows(payouts), provider="bank_file", source="api", period=later
    )
    return dict(found["view"])


def test_a_statement_booked_after_the_period_of_the_file_signs_off(db: Db) -> None:
    world, payouts = sent_bank_run(db)
    # the bank books the file's payments in the next period: the ledger's sends of
    # the payouts its rows name count there, whenever they were posted
    view = next_week(world, payouts)
    total = sum(minor for _, minor in payouts)
    assert view["figures"] == [
        {
            "currency": "EUR",
            "provider_minor": total,
            "clearing_minor": total,
            "difference_minor": 0,
        }
    ]
    assert queue(world, view["id"]) == []
    assert sign(world, view["id"]).status == "signed_off"


def test_a_payment_booked_again_after_its_period_was_signed_off_is_a_difference(
    db: Db,
) -> None:
    """A statement that books again payments a signed-off period matched (the same
    statement given for the next week too) matches nothing: each line is an
    `already_reconciled` difference, their sends stay counted in the period that
    counted them, and the week signs off only once each is written off."""
    world, payouts = sent_bank_run(db)
    total = sum(minor for _, minor in payouts)
    period = two_weeks_back(world)
    first = run_period(
        world, named_rows(payouts), provider="bank_file", source="api", period=period
    )["view"]
    assert first["matched"] == 3
    assert sign(world, first["id"]).status == "signed_off"

    view = next_week(world, payouts, moved=True)
    assert (view["matched"], view["discrepancies"]) == (0, 3)
    items = queue(world, view["id"])
    assert sorted((i["kind"], i["payout_id"], i["theirs_minor"]) for i in items) == (
        sorted(("already_reconciled", str(p), minor) for p, minor in payouts)
    )
    # the sends belong to the signed-off period: the ledger counts none here
    assert [(f["clearing_minor"], f["difference_minor"]) for f in view["figures"]] == [
        (0, total)
    ]
    with pytest.raises(InvalidTransition) as refused:
        sign(world, view["id"])
    assert refused.value.code == "items_open"

    write_off(world, view["id"], [i["id"] for i in items], "unexplained_differences")
    unexplained = ledger.difference("unexplained_differences", "bank_file", "EUR")
    assert world.balance(unexplained) == total
    assert figures(world, view["id"])[0]["difference_minor"] == 0
    assert sign(world, view["id"]).status == "signed_off"
    assert world.balanced()


def test_a_late_booking_signed_off_is_not_matched_a_second_time(db: Db) -> None:
    """The payouts' own period was never reconciled; the next week's statement
    booked them late and was signed off. The week after that books them again:
    each line is `already_reconciled`, not a second match."""
    world, payouts = sent_bank_run(db)
    later = next_week(world, payouts)  # books them late, matched
    assert later["matched"] == 3
    assert db.sql(
        "SELECT count(*) FROM reconciliation_rows WHERE reconciliation_id = :r",
        r=later["id"],
    ) == [(3,)]  # kept: what this reconciliation accounted for
    assert sign(world, later["id"]).status == "signed_off"
    week = (date.fromisoformat(later["period_end"]), PERIOD[1])
    again = run_period(
        world, named_rows(payouts), provider="bank_file", source="api", period=week
    )["view"]
    assert (again["matched"], again["discrepancies"]) == (0, 3)
    assert {i["kind"] for i in queue(world, again["id"])} == {"already_reconciled"}


def reversal(db: Db, entry: int, posted: str) -> None:
    """As ledger.reverse does, posted at `posted` (SQL) instead of now."""
    db.sql(
        "WITH r AS (INSERT INTO journal_entries (kind, memo, stipend_id,"
        f" reverses, posted_at) SELECT kind || '_reversal', 'test', stipend_id,"
        f" id, {posted} FROM journal_entries WHERE id = :entry RETURNING id)"
        " INSERT INTO postings (entry_id, account, amount_minor, currency)"
        " SELECT r.id, p.account, -p.amount_minor, p.currency FROM r, postings p"
        " WHERE p.entry_id = :entry",
        entry=entry,
    )


def send_of(db: Db, payout: Any) -> tuple[int, int]:
    """The payout's ledger send: its entry and the amount on the clearing account."""
    [(entry, amount)] = db.sql(
        "SELECT e.id, p.amount_minor FROM journal_entries e JOIN postings p"
        " ON p.entry_id = e.id AND p.account LIKE 'provider_clearing:%'"
        " JOIN payouts o ON o.stipend_id = e.stipend_id"
        " WHERE e.kind = 'payout_sent' AND o.id = :payout",
        payout=payout,
    )
    return entry, amount


def test_a_reversal_counts_in_the_period_of_the_send_it_reverses(db: Db) -> None:
    world, payouts = sent_bank_run(db)
    total = sum(minor for _, minor in payouts)
    send, amount = send_of(db, payouts[0][0])

    # this period's send undone a week after the period ends: it counts here
    reversal(db, send, "now() + interval '7 days'")
    # a send of a month ago (of twice as much) undone in this period: it counts
    # there, not here
    [(old,)] = db.sql(
        "WITH e AS (INSERT INTO journal_entries (kind, memo, stipend_id, posted_at)"
        " SELECT kind, memo, stipend_id, now() - interval '30 days'"
        " FROM journal_entries WHERE id = :entry RETURNING id),"
        " p AS (INSERT INTO postings (entry_id, account, amount_minor, currency)"
        " SELECT e.id, p.account, 2 * p.amount_minor, p.currency FROM e, postings p"
        " WHERE p.entry_id = :entry) SELECT id FROM e",
        entry=send,
    )
    reversal(db, old, "now()")
    view = run_period(world, [], provider="bank_file", source="api")["view"]
    assert [(f["currency"], f["clearing_minor"]) for f in view["figures"]] == [
        ("EUR", total - amount)
    ]


def test_a_named_payouts_reversal_is_dated_by_its_send_outside_the_period(
    db: Db,
) -> None:
    world, payouts = sent_bank_run(db)
    total = sum(minor for _, minor in payouts)
    send, amount = send_of(db, payouts[0][0])
    # the bank's statement for the next week names all three; the first send was
    # undone inside that week: it belongs with its send, before the week
    reversal(db, send, "now() + interval '3 days'")
    view = next_week(world, payouts)
    assert db.sql(
        "SELECT currency, outside_minor FROM reconciliation_figures"
        " WHERE reconciliation_id = :rid",
        rid=view["id"],
    ) == [("EUR", total - amount)]
    assert [(f["clearing_minor"], f["difference_minor"]) for f in view["figures"]] == [
        (total - amount, amount)
    ]


def test_a_provider_whose_latest_period_was_empty_is_still_shown(db: Db) -> None:
    """Nothing was paid through Stripe Connect in the period, and its report had no
    rows: the provider's latest reconciliation is shown with nothing on either
    side, not left out as if it had never been reconciled."""
    world = bank_world(db)
    rec_id = run_period(world, [], provider="stripe_connect")["view"]["id"]
    with world.transaction() as session:
        clearing = ledger_reports.trial_balance(session)["clearing"]
    assert clearing == [
        {
            "provider": "stripe_connect",
            "reconciliation_id": rec_id,
            "period_start": PERIOD[0].isoformat(),
            "period_end": PERIOD[1].isoformat(),
            "status": "open",
            "currency": None,
            "provider_minor": 0,
            "clearing_minor": 0,
            "difference_minor": 0,
        }
    ]


def test_a_provider_with_money_sent_and_never_reconciled_is_listed(db: Db) -> None:
    """Bank transfers sent and no reconciliation of the bank yet: the clearing
    table says so, with what the ledger holds as sent and unconfirmed."""
    world, payouts = sent_bank_run(db)
    with world.transaction() as session:
        clearing = ledger_reports.trial_balance(session)["clearing"]
    assert clearing == [
        {
            "provider": "bank_file",
            "reconciliation_id": None,
            "period_start": None,
            "period_end": None,
            "status": "not_reconciled",
            "currency": "EUR",
            "provider_minor": None,
            "clearing_minor": sum(minor for _, minor in payouts),
            "difference_minor": None,
        }
    ]
    # once reconciled, the bank's latest period takes that row's place
    rows = [
        ProviderRow(f"bank-{n}", "payment", minor, "EUR", reference=f"payout:{ident}")
        for n, (ident, minor) in enumerate(payouts)
    ]
    run_period(world, rows, provider="bank_file", source="api")
    with world.transaction() as session:
        (row,) = ledger_reports.trial_balance(session)["clearing"]
    assert row["status"] == "open" and row["reconciliation_id"] is not None
