"""The bank-file provider on PostgreSQL: payouts join the file (CSV or pain.001, the
account details read at export time and never stored), stay sent (the poller cannot
settle them), and the bank's statement settles them: booked lines paid with the
bank's fee, returned ones failed, mismatches listed and changing nothing."""

import pytest

from stipends.exceptions import InvalidRequest, InvalidTransition
from stipends.logic.payouts import bank
from stipends.payouts.providers import BankFile
from tests.iso20022 import NS, assert_valid_pain001
from tests.stipends.integration.conftest import FINANCE, Db, logic_actor
from tests.stipends.integration.payouts_world import FINGERPRINT, PayWorld

IBANS = ["DE89370400440532013000", "DE02120300000000202051", "DE75512108001245126199"]


def bank_world(db: Db) -> PayWorld:
    world = PayWorld(db, 3, provider="bank_file")
    for n, who in enumerate(world.payees):
        world.destinations[who] = {
            "provider": "bank_file",
            "fingerprint": FINGERPRINT,
            "holder": f"Holder {n} Петров & Co",
            "iban": IBANS[n],
            "bic": "COBADEFFXXX",
            "bank_name": None,
        }
    return world


DEBTOR = {
    "name": "Программа «Связь»",
    "iban": "GE29NB0000000101904917",
    "bic": "NBGEGE22",
}


def export(
    world: PayWorld, run_id: object, fmt: str, debtor: dict[str, str] = DEBTOR
) -> str:
    with world.transaction() as session:
        return bank.bank_file(
            session,
            logic_actor(FINANCE),
            run_id,  # type: ignore[arg-type]
            world.destination,
            fmt,
            debtor,
            world.clock(),
        )


def statement(world: PayWorld, text: str) -> dict:
    with world.transaction() as session:
        return bank.import_statement(session, logic_actor(FINANCE), text)


def test_a_bank_run_is_filed_and_settled_by_the_statement(db: Db) -> None:
    world = bank_world(db)
    built = world.released()
    # nothing waits for the bank before the worker sends: no empty file, no trace
    with pytest.raises(InvalidTransition) as refused:
        export(world, built.run.id, "pain.001")
    assert refused.value.code == "no_bank_transfers"
    assert db.sql("SELECT count(*) FROM payout_audit WHERE action = 'bank_file'") == [
        (0,)
    ]
    payouts = world.worker({"bank_file": BankFile()})
    assert payouts.drive() == {"sent": 3}
    world.clock.advance(3600)
    assert payouts.poll() == {}  # the bank's deadline is days away
    world.clock.advance(4 * 86400)
    assert payouts.poll() == {"pending": 3}  # only the statement can say
    csv_text = export(world, built.run.id, "csv")
    lines = csv_text.splitlines()
    assert lines[0] == "reference,amount,currency,holder,iban,bic"
    assert sorted(line.split(",")[4] for line in lines[1:]) == sorted(IBANS)
    assert all(",300.00,EUR," in line for line in lines[1:])
    # the details were read for the file, never stored
    for table in ("payouts", "payout_audit", "outbox"):
        dump = str(db.sql(f"SELECT * FROM {table}"))  # noqa: S608
        assert not any(iban in dump for iban in IBANS)
        assert "Holder" not in dump
    xml = assert_valid_pain001(export(world, built.run.id, "pain.001"))
    assert xml.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=NS) == "900.00"
    assert xml.findtext(".//p:GrpHdr/p:NbOfTxs", namespaces=NS) == "3"
    names = {n.text for n in xml.findall(".//p:Cdtr/p:Nm", NS)}
    assert names == {f"Holder {n} Petrov + Co" for n in range(3)}
    end_to_end = {e.text for e in xml.findall(".//p:EndToEndId", NS)}
    assert end_to_end == {p.id.hex for p in built.payouts}

    a, b, c = sorted(built.payouts, key=lambda p: str(p.id))
    result = statement(
        world,
        "reference,amount,currency,status,fee\n"
        f"{a.id.hex},300.00,EUR,booked,0.50\n"  # the file's EndToEndId
        f"payout:{b.id},300.00,EUR,returned,\n"
        f"payout:{c.id},299.00,EUR,booked,\n"
        "payout:00000000-0000-0000-0000-000000000000,1.00,EUR,booked,\n",
    )
    assert result["paid"] == 1 and result["returned"] == 1
    assert sorted(p["problem"] for p in result["problems"]) == [
        "amount_mismatch",
        "unknown_reference",
    ]
    statuses = world.statuses()
    assert statuses[str(a.stipend_id)] == "paid"
    assert statuses[str(b.stipend_id)] == "failed"
    assert statuses[str(c.stipend_id)] == "sent"
    assert world.balance(f"fees:{world.world.programme_id}") == 50
    assert world.balance("provider_clearing:bank_file:EUR") == 30_000  # c in flight
    assert world.balanced()
    # the same statement again changes nothing
    again = statement(
        world, f"reference,amount,currency,status\npayout:{a.id},300,EUR,booked\n"
    )
    assert again["unchanged"] == 1
    assert len(db.events("payout.paid.v1")) == 1
    statement(
        world, f"reference,amount,currency,status\npayout:{c.id},300,EUR,booked\n"
    )
    with pytest.raises(InvalidTransition):  # every transfer settled: no file to make
        export(world, built.run.id, "csv")
    assert [e["data"]["reason"] for e in db.events("payout.failed.v1")] == ["returned"]


def test_a_bad_statement_changes_nothing(db: Db) -> None:
    world = bank_world(db)
    world.released()
    world.worker({"bank_file": BankFile()}).drive()
    with pytest.raises(InvalidRequest) as bad:
        statement(world, "reference,amount,currency,status\npayout:x,abc,EUR,booked\n")
    assert bad.value.code == "invalid_statement"
    assert set(world.statuses().values()) == {"sent"}
    run_id = db.sql("SELECT id FROM payout_runs")[0][0]
    with pytest.raises(InvalidRequest):
        export(world, run_id, "xlsx")


@pytest.mark.parametrize(
    "debtor",
    [
        {**DEBTOR, "iban": "GE59NB000000010190491"},  # mod-97 fits, a digit short
        {**DEBTOR, "iban": ""},
        {**DEBTOR, "bic": "NBGE"},
        {**DEBTOR, "name": " "},
    ],
)
def test_no_pain001_file_names_an_invalid_programme_account(
    db: Db, debtor: dict[str, str]
) -> None:
    world = bank_world(db)
    built = world.released()
    world.worker({"bank_file": BankFile()}).drive()
    audit = db.sql("SELECT count(*) FROM payout_audit")
    with pytest.raises(InvalidRequest) as refused:
        export(world, built.run.id, "pain.001", debtor)
    assert refused.value.code == "bank_debtor_invalid"
    assert "BANK_DEBTOR_IBAN" in refused.value.message  # what the operator sets
    assert db.sql("SELECT count(*) FROM payout_audit") == audit  # nothing recorded
    assert export(world, built.run.id, "csv", debtor).count("\n") == 4  # needs none
