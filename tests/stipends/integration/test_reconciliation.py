"""Reconciliation by period on PostgreSQL against the Stripe sandbox: the provider's
rows pulled through the SDK or imported (Stripe's itemized report, the bank's
statement), every difference class found, the work queue's link, write-off and
re-pay (re-pay paying again only what the provider does not hold), and the sign-off
by a second finance person."""

import io
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from stipends.exceptions import InvalidRequest, InvalidTransition, NotAllowed
from stipends.logic.payouts import phases, reconciliation, resolutions
from stipends.logic.payouts.staging import ItemizedReport
from stipends.payouts.providers import BankFile
from stipends.payouts.statements import ProviderRow, statement_rows
from tests.helpers import actor
from tests.stipends.integration.conftest import (
    ENDED,
    FINANCE,
    PERIOD,
    REPORT_TIME,
    Db,
    logic_actor,
)
from tests.stipends.integration.payouts_world import PayWorld
from tests.stipends.integration.test_payouts_bank_file import bank_world, export
from tests.stipends.integration.test_payouts_reconcile import paid_run
from tests.stipends.integration.test_payouts_sandbox import (  # noqa: F401 (fixtures)
    connect,
    receiver,
    sandbox,
)
from tests.stripe_harness import Sandbox

FINANCE_B = actor(["finance"])
FINANCE_C = actor(["finance"])


def run_period(
    world: PayWorld,
    rows: Any,
    provider: str = "stripe_connect",
    source: str = "api",
    who: dict = FINANCE,
    period: tuple[date, date] = PERIOD,
    now: datetime = ENDED,
) -> dict[str, Any]:
    with world.transaction() as session:
        rec, per_run = reconciliation.start(
            session,
            logic_actor(who),
            provider,
            period[0],
            period[1],
            source,
            rows,
            now,
        )
        return {"view": reconciliation.view(session, rec), "per_run": per_run}


def pulled(sandbox: Sandbox) -> Any:  # noqa: F811
    start = datetime.combine(PERIOD[0], datetime.min.time(), UTC)
    end = datetime.combine(PERIOD[1], datetime.min.time(), UTC)
    return connect(sandbox).pull(start, end)


def queue(world: PayWorld, rec_id: str, **filters: Any) -> list[dict[str, Any]]:
    with world.transaction() as session:
        return [
            reconciliation.item_view(i)
            for i in reconciliation.items(session, uuid.UUID(rec_id), **filters)
        ]


def resolve(
    world: PayWorld,
    rec_id: str,
    ids: list[int],
    action: str,
    who: dict = FINANCE,
    payout_id: Any = None,
    provider_has: Any = None,
) -> list[Any]:
    with world.transaction() as session:
        return resolutions.resolve(
            session,
            logic_actor(who),
            uuid.UUID(rec_id),
            ids,
            action,
            f"{action} after checking",
            world.clock(),
            payout_id,
            provider_has,
        )


def kinds(items: list[dict[str, Any]]) -> dict[str, int]:
    found: dict[str, int] = {}
    for item in items:
        found[item["kind"]] = found.get(item["kind"], 0) + 1
    return found


def test_a_paid_period_matches_every_payout(db: Db, sandbox: Sandbox) -> None:  # noqa: F811
    world, run_id = paid_run(db, sandbox, 3)
    found = run_period(world, pulled(sandbox))
    view = found["view"]
    assert (view["provider_rows"], view["matched"], view["discrepancies"]) == (3, 3, 0)
    assert found["per_run"] == [{"run_id": run_id, "matched": 3, "discrepancies": 0}]
    assert view["status"] == "open" and view["open_items"] == 0


def test_every_difference_class_is_found_from_the_api(
    db: Db,
    sandbox: Sandbox,  # noqa: F811
) -> None:
    world, run_id = paid_run(db, sandbox, 6)
    client = sandbox.client()
    rows = db.sql("SELECT id, provider_ref, communicator_id FROM payouts ORDER BY id")
    (rev, amount, currency, dup, status, fine) = rows
    client.v1.transfers.reversals.create(rev[1])
    db.sql("UPDATE payouts SET amount_minor = 29000 WHERE id = :i", i=amount[0])
    db.sql("UPDATE payouts SET currency = 'PLN' WHERE id = :i", i=currency[0])
    account = world.destinations[dup[2]]["account"]
    client.v1.transfers.create(
        {
            "amount": 30_000,
            "currency": "eur",
            "destination": account,
            "metadata": {"payout_reference": f"payout:{dup[0]}"},
        }
    )
    db.sql("UPDATE payouts SET status = 'failed' WHERE id = :i", i=status[0])
    client.v1.transfers.create(
        {"amount": 1_000, "currency": "eur", "destination": account}
    )
    found = run_period(world, pulled(sandbox))
    items = queue(world, found["view"]["id"])
    assert kinds(items) == {
        "reversed": 1,
        "amount_mismatch": 1,
        "currency_mismatch": 1,
        "duplicate": 1,
        "status_mismatch": 1,
        "unexpected_at_provider": 1,  # the stray transfer with no reference
    }
    by_kind = {i["kind"]: i for i in items}
    assert by_kind["reversed"]["payout_id"] == str(rev[0])
    assert by_kind["amount_mismatch"]["theirs_minor"] == 30_000
    assert by_kind["amount_mismatch"]["ours_minor"] == 29_000
    assert by_kind["currency_mismatch"]["theirs_currency"] == "EUR"
    assert by_kind["duplicate"]["payout_id"] == str(dup[0])
    assert by_kind["status_mismatch"]["payout_id"] == str(status[0])
    assert found["view"]["matched"] == 1  # `fine`
    assert all(i["state"] == "open" for i in items)


def itemized(transfers: list[tuple[str, int]], extra: str = "") -> str:
    """Stripe's itemized balance change report, major units, gross negative."""
    lines = [
        "balance_transaction_id,created_utc,currency,gross,fee,net,"
        "reporting_category,source_id,description"
    ]
    for n, (source, minor) in enumerate(transfers):
        lines.append(
            f"txn_{n},{REPORT_TIME},eur,-{minor // 100}.{minor % 100:02d},0.00,"
            f"-{minor // 100}.{minor % 100:02d},transfer,{source},payout"
        )
    lines.append(f"txn_c,{REPORT_TIME},eur,50.00,1.75,48.25,charge,ch_1,a charge")
    return "\n".join(lines) + "\n" + extra


def test_an_itemized_report_in_major_units_is_matched_by_transfer_id(
    db: Db,
    sandbox: Sandbox,  # noqa: F811
) -> None:
    world, _ = paid_run(db, sandbox, 3)
    refs = db.sql("SELECT provider_ref, amount_minor, id FROM payouts ORDER BY id")
    report = itemized(
        [(refs[0][0], refs[0][1]), (refs[1][0], refs[1][1] + 1)],
        f"txn_r,{REPORT_TIME},eur,12.50,0,12.50,transfer_reversal,trr_x,r\n",
    )
    found = run_period(
        world, ItemizedReport(report.splitlines(keepends=True)), source="itemized_csv"
    )
    items = queue(world, found["view"]["id"])
    assert found["view"]["provider_rows"] == 3  # the charge is not a payout
    assert kinds(items) == {
        "amount_mismatch": 1,  # one cent more in the report
        "missing_at_provider": 1,  # the third transfer is not in it
        "unexpected_at_provider": 1,  # a reversal nobody can place
    }
    by_kind = {i["kind"]: i for i in items}
    assert by_kind["amount_mismatch"]["theirs_minor"] == refs[1][1] + 1
    assert by_kind["missing_at_provider"]["payout_id"] == str(refs[2][2])
    assert by_kind["unexpected_at_provider"]["theirs_minor"] == 1250


def test_a_payout_paid_by_its_transfer_and_again_by_reference_is_a_duplicate(
    db: Db,
    sandbox: Sandbox,  # noqa: F811
) -> None:
    """Payouts paid twice are looked for among those a row names by our reference:
    here the first payout's own transfer (no reference) and a second transfer
    naming it."""
    world, _ = paid_run(db, sandbox, 2)
    refs = db.sql("SELECT provider_ref, amount_minor, id FROM payouts ORDER BY id")
    header = (
        "balance_transaction_id,created_utc,currency,gross,fee,net,"
        "reporting_category,source_id,description,transfer_metadata[payout_reference]"
    )

    def line(n: int, source: str, minor: int, reference: str) -> str:
        gross = f"-{minor // 100}.{minor % 100:02d}"
        return (
            f"txn_{n},{REPORT_TIME},eur,{gross},0.00,{gross},transfer,"
            f"{source},payout,{reference}"
        )

    report = "\n".join(
        [
            header,
            line(1, refs[0][0], refs[0][1], ""),
            line(2, refs[1][0], refs[1][1], ""),
            line(3, "tr_again", refs[0][1], f"payout:{refs[0][2]}"),
        ]
    )
    found = run_period(
        world, ItemizedReport(report.splitlines(keepends=True)), source="itemized_csv"
    )
    items = queue(world, found["view"]["id"])
    assert kinds(items) == {"duplicate": 1}
    assert items[0]["payout_id"] == str(refs[0][2])
    assert items[0]["provider_ref"] == "tr_again"
    # the first payout is matched but paid twice: counted as the difference only
    assert (found["view"]["matched"], found["view"]["discrepancies"]) == (1, 1)


def test_a_bad_report_line_refuses_the_import_and_stores_nothing(
    db: Db,
    sandbox: Sandbox,  # noqa: F811
) -> None:
    world, _ = paid_run(db, sandbox, 1)
    report = itemized([("tr_a", 100)]) + (
        f"txn_9,{REPORT_TIME},eur,-1.234,0,0,transfer,tr_b,x\n"
    )
    with pytest.raises(InvalidRequest, match="report line 4: amount -1.234"):
        run_period(
            world,
            ItemizedReport(report.splitlines(keepends=True)),
            source="itemized_csv",
        )
    assert db.sql("SELECT count(*) FROM reconciliations")[0][0] == 0
    assert db.sql("SELECT count(*) FROM reconciliation_rows")[0][0] == 0


def test_the_bank_statement_reconciles_bank_payouts(db: Db) -> None:
    world = bank_world(db)
    built = world.released()
    world.worker({"bank_file": BankFile()}).drive()
    export(world, built.run.id, "csv")
    ids = [r[0] for r in db.sql("SELECT id FROM payouts ORDER BY id")]
    statement = (
        "reference,amount,currency,status,fee\n"
        f"payout:{ids[0]},300.00,EUR,booked,0.50\n"
        f"payout:{ids[1]},300.00,EUR,returned,0\n"
        f"payout:{ids[1]},300.00,EUR,booked,0\n"
    )
    found = run_period(
        world,
        statement_rows(statement.splitlines(keepends=True)),
        provider="bank_file",
        source="bank_statement",
    )
    items = queue(world, found["view"]["id"])
    # the payouts are still `sent` here: the statement was not imported as settlement
    assert kinds(items) == {"reversed": 1, "missing_at_provider": 1, "duplicate": 1}


def test_link_write_off_and_bulk(db: Db, sandbox: Sandbox) -> None:  # noqa: F811
    world, _ = paid_run(db, sandbox, 3)
    refs = db.sql("SELECT provider_ref, amount_minor, id FROM payouts ORDER BY id")
    # the report names no reference and a transfer id we do not know for the first:
    rows = [
        ProviderRow("tr_elsewhere", "payment", refs[0][1], "EUR"),
        ProviderRow(refs[1][0], "payment", refs[1][1], "EUR", balance_minor=-1),
        ProviderRow(refs[2][0], "payment", refs[2][1], "EUR"),
    ]
    found = run_period(world, rows, source="itemized_csv")
    rec_id = found["view"]["id"]
    items = {i["kind"]: i for i in queue(world, rec_id)}
    assert set(items) == {
        "unexpected_at_provider",
        "missing_at_provider",
        "amount_mismatch",
    }
    with pytest.raises(InvalidTransition, match="cannot be resolved by repay"):
        resolve(world, rec_id, [items["unexpected_at_provider"]["id"]], "repay")
    with pytest.raises(InvalidTransition, match="is 300"):  # not this payout's amount
        db.sql("UPDATE payouts SET amount_minor = 1 WHERE id = :i", i=refs[1][2])
        resolve(
            world,
            rec_id,
            [items["unexpected_at_provider"]["id"]],
            "link",
            payout_id=refs[1][2],
        )
    resolve(
        world,
        rec_id,
        [items["unexpected_at_provider"]["id"]],
        "link",
        payout_id=refs[0][2],
    )
    after = {i["kind"]: i for i in queue(world, rec_id)}
    assert after["unexpected_at_provider"]["state"] == "linked"
    assert after["missing_at_provider"]["state"] == "linked"  # resolved with it
    assert after["unexpected_at_provider"]["linked_payout_id"] == str(refs[0][2])
    with pytest.raises(InvalidTransition, match="already linked"):
        resolve(world, rec_id, [after["missing_at_provider"]["id"]], "write_off")
    resolve(world, rec_id, [after["amount_mismatch"]["id"]], "write_off")
    assert queue(world, rec_id, state="open") == []
    assert (
        db.sql(
            "SELECT count(*) FROM payout_audit WHERE action LIKE 'reconciliation_%'"
        )[0][0]
        == 3
    )
    assert world.balanced()
    # for the insights read model: what was found by kind, and each resolution
    (started,) = db.events("reconciliation.started.v1")
    assert started["data"]["reconciliation_id"] == rec_id
    assert started["data"]["by_kind"] == {
        "unexpected_at_provider": 1,
        "missing_at_provider": 1,
        "amount_mismatch": 1,
    }
    assert started["data"]["superseded_id"] is None
    resolved = db.events("reconciliation.difference_resolved.v1")
    assert sorted((e["data"]["kind"], e["data"]["action"]) for e in resolved) == [
        ("amount_mismatch", "write_off"),
        ("missing_at_provider", "link"),
        ("unexpected_at_provider", "link"),
    ]


def test_repay_pays_again_only_what_the_provider_does_not_hold(
    db: Db,
    sandbox: Sandbox,  # noqa: F811
) -> None:
    world, _ = paid_run(db, sandbox, 2)
    provider = connect(sandbox)
    client = sandbox.client()
    (back, held) = db.sql("SELECT id, provider_ref FROM payouts ORDER BY id")
    client.v1.transfers.reversals.create(back[1])
    # the report omits the second transfer, which the provider does hold
    rows = list(pulled(sandbox))
    rows = [r for r in rows if r.provider_ref != held[1]]
    rec_id = run_period(world, rows)["view"]["id"]
    items = {i["kind"]: i for i in queue(world, rec_id)}
    assert set(items) == {"reversed", "missing_at_provider"}

    def provider_has(payout: Any) -> bool | None:
        found = provider.find(phases.order_of(payout), {})
        return None if found is not None and found.status == "retry" else bool(found)

    with pytest.raises(InvalidTransition, match="holds a payment"):
        resolve(
            world,
            rec_id,
            [items["missing_at_provider"]["id"]],
            "repay",
            provider_has=provider_has,
        )
    with pytest.raises(NotAllowed, match="could not be asked"):
        resolve(world, rec_id, [items["missing_at_provider"]["id"]], "repay")
    resolve(
        world, rec_id, [items["reversed"]["id"]], "repay", provider_has=provider_has
    )
    status, attempt = db.sql(
        "SELECT status, attempt FROM payouts WHERE id = :i", i=back[0]
    )[0]
    assert status == "queued"
    world.finish(world.worker({"stripe_connect": provider}))
    paid = [
        t
        for t in client.v1.transfers.list({"limit": 100}).auto_paging_iter()
        if t.metadata
        and t.metadata.to_dict().get("payout_reference") == f"payout:{back[0]}"
    ]
    assert len(paid) == 2 and sum(t.amount - t.amount_reversed for t in paid) == 30_000
    assert db.sql("SELECT status FROM payouts WHERE id = :i", i=back[0])[0][0] == "paid"
    assert world.balanced()


def test_sign_off_needs_a_second_person_and_nothing_open(
    db: Db,
    sandbox: Sandbox,  # noqa: F811
) -> None:
    world, _ = paid_run(db, sandbox, 2)
    rows = list(pulled(sandbox))[:1]  # one payout missing
    rec_id = uuid.UUID(run_period(world, rows)["view"]["id"])
    item = queue(world, str(rec_id))[0]

    def sign(who: dict) -> Any:
        with world.transaction() as session:
            return resolutions.sign_off(
                session, logic_actor(who), rec_id, "checked", world.clock()
            )

    with pytest.raises(InvalidTransition, match="1 differences are still open"):
        sign(FINANCE_B)
    resolve(world, str(rec_id), [item["id"]], "write_off", who=FINANCE_B)
    with pytest.raises(NotAllowed, match="second finance person"):
        sign(FINANCE)  # ran it
    with pytest.raises(NotAllowed, match="second finance person"):
        sign(FINANCE_B)  # resolved a difference
    signed = sign(FINANCE_C)
    assert (
        signed.status == "signed_off" and str(signed.signed_off_by) == FINANCE_C["id"]
    )
    with pytest.raises(InvalidTransition, match="signed off already, on 20"):
        sign(FINANCE_C)  # when, in words
    with pytest.raises(InvalidTransition, match="signed_off"):
        resolve(world, str(rec_id), [item["id"]], "write_off")
    with pytest.raises(InvalidTransition, match="signed off"):
        run_period(world, rows)
    # a period overlapping the signed one would match or write off its rows again
    shifted = (PERIOD[0] - timedelta(days=3), PERIOD[0] + timedelta(days=1))
    with pytest.raises(InvalidTransition, match="overlaps the signed-off") as over:
        run_period(world, rows, period=shifted)
    assert over.value.code == "reconciliation_overlaps"
    before = (PERIOD[0] - timedelta(days=3), PERIOD[0])  # its last day excluded
    assert run_period(world, [], period=before)["view"]["status"] == "open"
    assert db.sql("SELECT count(*) FROM reconciliations") == [(2,)]


def test_only_a_reconciliation_run_after_its_period_is_signed_off(
    db: Db,
    sandbox: Sandbox,  # noqa: F811
) -> None:
    """A payment booked in a period after its sign-off could never be reconciled (a
    period overlapping a signed-off one is refused): a reconciliation run while its
    period still ran is refused, while it runs and after, and the run that replaces
    it once the period is over is signed off."""
    world, _ = paid_run(db, sandbox, 1)
    rows = list(pulled(sandbox))
    running = ENDED - timedelta(hours=1)  # the period's last hour
    early = run_period(world, rows, now=running)["view"]
    assert early["whole_period"] is False and early["discrepancies"] == 0

    def sign(rec_id: str, now: datetime) -> Any:
        with world.transaction() as session:
            return resolutions.sign_off(
                session, logic_actor(FINANCE_C), uuid.UUID(rec_id), "checked", now
            )

    last_day = (PERIOD[1] - timedelta(days=1)).isoformat()
    with pytest.raises(InvalidTransition, match=f"its last day is {last_day}") as e:
        sign(early["id"], running)
    assert e.value.code == "period_not_over"
    with pytest.raises(InvalidTransition, match="run before its period ended") as e:
        sign(early["id"], ENDED + timedelta(days=1))  # over, but the run was not
    assert e.value.code == "run_before_period_end"
    assert db.sql(
        "SELECT status FROM reconciliations WHERE id = :r", r=early["id"]
    ) == [("open",)]
    whole = run_period(world, rows, now=ENDED)["view"]  # supersedes the early run
    assert whole["whole_period"] is True
    assert sign(whole["id"], ENDED).status == "signed_off"


def test_a_rerun_supersedes_the_open_reconciliation(db: Db, sandbox: Sandbox) -> None:  # noqa: F811
    world, _ = paid_run(db, sandbox, 2)
    first = run_period(world, list(pulled(sandbox))[:1])["view"]
    second = run_period(world, pulled(sandbox))["view"]
    assert (first["discrepancies"], second["discrepancies"]) == (1, 0)
    states = dict(db.sql("SELECT id::text, status FROM reconciliations"))
    assert states == {first["id"]: "superseded", second["id"]: "open"}
    # the replaced one points to the run that stands, and says so if signed off
    with world.transaction() as session:
        old = reconciliation.get(session, uuid.UUID(first["id"]))
        assert reconciliation.view(session, old)["replaced_by"] == second["id"]
        with pytest.raises(InvalidTransition, match=second["id"]) as replaced:
            resolutions.sign_off(
                session, logic_actor(FINANCE_C), old.id, "checked", ENDED
            )
    assert replaced.value.code == "reconciliation_superseded"
    # an open period overlapped by another (a typo mended) is replaced as well
    wider = (PERIOD[0] - timedelta(days=1), PERIOD[1])
    third = run_period(world, pulled(sandbox), period=wider)["view"]
    states = dict(db.sql("SELECT id::text, status FROM reconciliations"))
    assert (states[second["id"]], states[third["id"]]) == ("superseded", "open")
    # one overlapping two open ones: re-run one of them instead
    run_period(world, [], period=(wider[0] - timedelta(days=5), wider[0]))
    both = (wider[0] - timedelta(days=1), wider[0] + timedelta(days=1))
    with pytest.raises(InvalidTransition, match="open reconciliations of"):
        run_period(world, [], period=both)


def test_bad_requests_change_nothing(db: Db, sandbox: Sandbox) -> None:  # noqa: F811
    world, _ = paid_run(db, sandbox, 1)
    with pytest.raises(InvalidRequest, match="must end after it starts"):
        run_period(world, [], period=(PERIOD[1], PERIOD[0]))
    with pytest.raises(InvalidRequest, match="at most 92 days"):
        run_period(world, [], period=(PERIOD[0], PERIOD[0] + timedelta(days=200)))
    with pytest.raises(InvalidRequest, match="no provider"):
        run_period(world, [], provider="paypal")
    with pytest.raises(NotAllowed):
        run_period(world, [], who=actor(["program_admin"]))
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    with pytest.raises(InvalidRequest, match="not begun") as ahead:
        run_period(
            world,
            [],
            period=(tomorrow, tomorrow + timedelta(days=30)),
            now=datetime.now(UTC),
        )
    assert ahead.value.fields == {"period_start": ["today or earlier"]}
    with pytest.raises(InvalidRequest, match="only from a file source") as unread:
        reconciliation.provider_rows(
            {},
            "stripe_connect",
            "api",
            "a,b\n1,2\n",
            *reconciliation.period_bounds(*PERIOD),
        )
    assert unread.value.code == "content_not_expected"
    rec_id = run_period(world, [])["view"]["id"]
    with pytest.raises(InvalidRequest, match="not in this reconciliation"):
        resolve(world, rec_id, [999_999], "write_off")
    with pytest.raises(InvalidRequest, match="no action"):
        resolve(world, rec_id, [1], "forgive")
    with pytest.raises(InvalidRequest, match="different items"):
        resolve(world, rec_id, [], "write_off")
    assert db.sql("SELECT count(*) FROM reconciliations")[0][0] == 1


def test_only_the_rows_the_work_queue_reads_are_kept(db: Db) -> None:
    """The matched rows were staged for the transaction only: what stays in
    `reconciliation_rows` is the rows its differences name (link and re-pay read
    their kind and status), not the whole statement."""
    world = bank_world(db)
    world.released()
    world.worker({"bank_file": BankFile()}).drive()
    ids = [r[0] for r in db.sql("SELECT id FROM payouts ORDER BY id")]
    statement = (
        "reference,amount,currency,status,fee\n"
        f"payout:{ids[0]},300.00,EUR,booked,0\n"
        f"payout:{ids[1]},300.00,EUR,booked,0\n"
        f"payout:{ids[2]},300.00,EUR,returned,0\n"
    )
    found = run_period(
        world,
        statement_rows(statement.splitlines(keepends=True)),
        provider="bank_file",
        source="bank_statement",
    )
    assert found["view"]["provider_rows"] == 3
    items = queue(world, found["view"]["id"])
    assert kinds(items) == {"reversed": 1}
    kept = db.sql("SELECT provider_ref, status FROM reconciliation_rows")
    assert [(ref, status) for ref, status in kept] == [
        (items[0]["provider_ref"], "returned")
    ]


HEADER = (
    "balance_transaction_id,created_utc,currency,gross,fee,net,"
    "reporting_category,source_id,description\n"
)


def reconcile_report(world: PayWorld, *lines: str, header: str = HEADER) -> Any:
    """A bank-file period reconciled from an itemized report of these lines."""
    return run_period(
        world,
        ItemizedReport([header, *lines]),
        provider="bank_file",
        source="itemized_csv",
    )


def test_a_report_saved_with_a_byte_order_mark_is_read(db: Db) -> None:
    """A spreadsheet program writes a BOM before a UTF-8 CSV's first line: the
    report's columns are read all the same."""
    found = reconcile_report(
        bank_world(db),
        f"txn_0,{REPORT_TIME},eur,-1.00,0,-1.00,transfer,tr_0,x\n",
        header="\ufeff" + HEADER,
    )
    assert found["view"]["provider_rows"] == 1


def test_a_reversal_with_money_out_refuses_the_report(db: Db) -> None:
    """A transfer reversal brings money back: a negative one is not a reversal."""
    with pytest.raises(
        InvalidRequest,
        match="report line 3: amount -1.00: a transfer_reversal is money back",
    ):
        reconcile_report(
            bank_world(db),
            f"txn_0,{REPORT_TIME},eur,-1.00,0,-1.00,transfer,tr_0,x\n",
            f"txn_1,{REPORT_TIME},eur,-1.00,0,-1.00,transfer_reversal,trr_1,x\n",
        )
    assert db.sql("SELECT count(*) FROM reconciliations")[0][0] == 0


def test_a_report_read_from_a_file_by_the_block_names_its_bad_line(db: Db) -> None:
    # a file (as the service hands it on) goes to COPY in 64 KiB blocks, not line by
    # line: the lines still arrive whole and in order, a bad one named by its number
    world = bank_world(db)
    transfers = [(f"tr_{n}", 100 + n) for n in range(3000)]  # about 200 KiB
    good = itemized(transfers)
    rows = run_period(
        world,
        ItemizedReport(io.StringIO(good)),
        provider="bank_file",
        source="itemized_csv",
    )
    assert rows["view"]["provider_rows"] == 3000
    lines = good.splitlines(keepends=True)
    lines[2501] = lines[2501].replace("-26.00", "-26.0x", 1)  # line 2502, tr_2500
    with pytest.raises(InvalidRequest, match="report line 2502: amount -26.0x"):
        run_period(
            world,
            ItemizedReport(io.StringIO("".join(lines))),
            provider="bank_file",
            source="itemized_csv",
        )


def test_a_report_naming_a_transfer_twice_is_refused_with_its_id(db: Db) -> None:
    world = bank_world(db)
    world.released()
    report = itemized([("tr_twice", 100), ("tr_once", 200), ("tr_twice", 100)])
    with pytest.raises(InvalidRequest, match="the report names tr_twice twice"):
        run_period(
            world,
            ItemizedReport(report.splitlines(keepends=True)),
            provider="bank_file",
            source="itemized_csv",
        )
    rows = [ProviderRow("tr_a", "payment", 100, "EUR")] * 2
    with pytest.raises(InvalidRequest, match="rows name tr_a twice"):
        run_period(world, rows, provider="bank_file", source="api")
    assert db.sql("SELECT count(*) FROM reconciliations")[0][0] == 0
    assert db.sql("SELECT count(*) FROM reconciliation_rows")[0][0] == 0


@pytest.mark.parametrize(
    ("created", "refused"),
    [
        (REPORT_TIME, False),
        (REPORT_TIME.replace(" ", "T"), False),
        ("", False),
        ("2026-1x-24 10:00:00", True),
        ("2026-11-24 10:00:0", True),
        ("2026-11-24 10:00:000", True),
        ("2026/11/24 10:00:00", True),
        ("2026-11-24_10:00:00", True),
        # the shape, but no such time: read by the database, refused by line
        ("2026-13-24 10:00:00", True),
        ("2026-02-30 10:00:00", True),
        ("0000-11-24 10:00:00", True),
        # the database would read these (a space, a 60th second), not as written
        ("2026-11-24 1 :00:00", True),
        ("2026-11-24 10:00:60", True),
    ],
)
def test_the_report_time_is_checked_digit_by_digit(
    db: Db, created: str, refused: bool
) -> None:
    world = bank_world(db)
    report = (
        "balance_transaction_id,created_utc,currency,gross,fee,net,"
        f"reporting_category,source_id,description\n"
        f"txn_1,{created},eur,-3.00,0,-3.00,transfer,tr_1,x\n"
    )
    rows = ItemizedReport(report.splitlines(keepends=True))
    if refused:
        with pytest.raises(InvalidRequest, match=f"line 2: created_utc {created}"):
            run_period(world, rows, provider="bank_file", source="itemized_csv")
    else:
        found = run_period(world, rows, provider="bank_file", source="itemized_csv")
        assert found["view"]["provider_rows"] == 1


@pytest.mark.parametrize(
    ("currency", "gross", "refused"),
    [
        ("eur", "-3.00", None),
        ("zzz", "-3.00", None),  # three letters, a code we do not know: read
        ("jpy", "-300", None),
        ("e1r", "-3.00", "currency e1r"),
        ("eu", "-3.00", "currency eu"),
        ("€ur", "-3.00", "currency €ur"),
        ("eur", "-3.001", "amount -3.001: more decimals than EUR has"),
        ("eur", "-3.000", None),  # a zero more is the same amount
        ("jpy", "-300.5", "amount -300.5: more decimals than JPY has"),
        ("eur", "", "no amount"),
        ("eur", "3,00", "amount 3,00"),  # COPY refuses it: named all the same
        ("eur", "NaN", "amount NaN: out of range"),
        # the report's sign says which way the money went: a transfer is money
        # out; read as its absolute value it would match as an equal amount
        ("eur", "3.00", "amount 3.00: a transfer is money out of the balance"),
        ("eur", "-1e30", "amount -1" + "0" * 30 + ": out of range"),
    ],
)
def test_the_report_currency_and_amount_are_checked_line_by_line(
    db: Db, currency: str, gross: str, refused: str | None
) -> None:
    world = bank_world(db)
    cell = f'"{gross}"' if "," in gross else gross
    report = (
        "balance_transaction_id,created_utc,currency,gross,fee,net,"
        "reporting_category,source_id,description\n"
        f"txn_0,{REPORT_TIME},eur,-1.00,0,-1.00,transfer,tr_0,x\n"
        f"txn_1,{REPORT_TIME},{currency},{cell},0,0,transfer,tr_1,x\n"
    )
    rows = ItemizedReport(report.splitlines(keepends=True))
    if refused:
        with pytest.raises(
            InvalidRequest, match=f"report line 3: {re.escape(refused)}"
        ):
            run_period(world, rows, provider="bank_file", source="itemized_csv")
        assert db.sql("SELECT count(*) FROM reconciliations")[0][0] == 0
    else:
        found = run_period(world, rows, provider="bank_file", source="itemized_csv")
        assert found["view"]["provider_rows"] == 2
