"""Money right to the cent in a currency of each ISO 4217 exponent (JPY 0, EUR 2,
KWD 3), on PostgreSQL through the real logic: the amount typed as a person types it
(svyaz.money.parse, which the consoles and CLIs use), stored as integer minor units,
written into the bank file (CSV and a pain.001 held to the XSD), settled by the
bank's statement with its fee, read from Stripe's itemized report (converted in SQL),
exported (CSV, XLSX) and displayed (Babel, ru and en)."""

import io
from decimal import Decimal

import openpyxl
import pytest

from stipends.exceptions import InvalidRequest
from stipends.logic.payouts import reconciliation, runs
from stipends.logic.payouts.staging import ItemizedReport
from stipends.payouts.providers import BankFile
from svyaz import exports, money
from tests.iso20022 import NS, assert_valid_pain001
from tests.stipends.integration.conftest import (
    ENDED,
    FINANCE,
    REPORT_TIME,
    Db,
    logic_actor,
)
from tests.stipends.integration.payouts_world import FINGERPRINT, PayWorld
from tests.stipends.integration.test_payouts_bank_file import export, statement
from tests.stipends.integration.test_reconciliation import PERIOD

CASES = [
    # currency, the stipend as typed, its minor units, as files write it,
    # a fee as typed and its minor units, as ru displays it (spaces aside)
    ("JPY", "25000", 25_000, "25000", "150", 150, "25000¥"),
    ("EUR", "250,5", 25_050, "250.50", "0.35", 35, "250,50€"),
    ("KWD", "25.125", 25_125, "25.125", "0.075", 75, "25,125KWD"),
]


def world_in(db: Db, currency: str, stipend_minor: int) -> PayWorld:
    world = PayWorld(
        db,
        1,
        provider="bank_file",
        currency=currency,
        tier_amounts={"professional": stipend_minor, "volunteer": 0},
        approval_bands=[{"up_to_minor": None, "approvers": 1}],
    )
    for who in world.payees:
        world.destinations[who] = {
            "provider": "bank_file",
            "fingerprint": FINGERPRINT,
            "holder": "Holder Петров",
            "iban": "DE89370400440532013000",
            "bic": "COBADEFFXXX",
            "bank_name": None,
        }
    return world


def unspaced(text: str) -> str:
    return "".join(c for c in text if c not in " \xa0\u202f")


@pytest.mark.parametrize(
    ("currency", "typed", "minor", "written", "fee_typed", "fee_minor", "ru"), CASES
)
def test_an_amount_is_right_to_the_minor_unit_end_to_end(
    db: Db,
    currency: str,
    typed: str,
    minor: int,
    written: str,
    fee_typed: str,
    fee_minor: int,
    ru: str,
) -> None:
    # parsing: as a console form or a CLI reads it
    assert money.parse(typed, currency) == minor
    # storage: integer minor units in the currency, whatever its exponent
    world = world_in(db, currency, money.parse(typed, currency))
    built = world.released()
    assert world.worker({"bank_file": BankFile()}).drive() == {"sent": 1}
    [(payout_id, stored, stored_currency)] = db.sql(
        "SELECT id, amount_minor, currency FROM payouts"
    )
    assert (stored, stored_currency) == (minor, currency)
    # the bank file: the currency's decimals, no more, no fewer
    lines = export(world, built.run.id, "csv").splitlines()
    assert f",{written},{currency}," in lines[1]
    xml = assert_valid_pain001(export(world, built.run.id, "pain.001"))
    amount = xml.find(".//p:InstdAmt", NS)
    assert (amount.text, amount.get("Ccy")) == (written, currency)
    assert xml.findtext(".//p:PmtInf/p:CtrlSum", namespaces=NS) == written
    # the bank's statement settles it, its fee in the same currency's minor units
    settled = statement(
        world,
        "reference,amount,currency,status,fee\n"
        f"payout:{payout_id},{written},{currency},booked,{fee_typed}\n",
    )
    assert settled["paid"] == 1, settled
    assert db.sql("SELECT status, fee_minor FROM payouts") == [("paid", fee_minor)]
    assert world.balance(f"fees:{world.world.programme_id}") == fee_minor
    assert world.balanced()
    # a statement with one decimal more than the currency has changes nothing
    with pytest.raises(InvalidRequest, match="more decimals"):
        statement(
            world,
            "reference,amount,currency,status\n"
            f"payout:{payout_id},{written}{'' if '.' in written else '.'}1,"
            f"{currency},booked\n",
        )
    # Stripe's itemized report in major units, converted by the database
    report = (
        "balance_transaction_id,created_utc,currency,gross,fee,net,"
        "reporting_category,source_id,description\n"
        f"txn_1,{REPORT_TIME},{currency.lower()},-{written},0,-{written},"
        "transfer,tr_unknown_1,x\n"
    )
    with world.transaction() as session:
        rec, _ = reconciliation.start(
            session,
            logic_actor(FINANCE),
            "bank_file",
            PERIOD[0],
            PERIOD[1],
            "itemized_csv",
            ItemizedReport(report.splitlines(keepends=True)),
            ENDED,
        )
        items = [
            reconciliation.item_view(i) for i in reconciliation.items(session, rec.id)
        ]
    theirs = [(i["theirs_minor"], i["theirs_currency"]) for i in items]
    assert (minor, currency) in theirs
    finer = f"{written}{'' if '.' in written else '.'}1"  # one decimal too many
    too_fine = report.replace(f"-{written},", f"-{finer},", 1)
    with pytest.raises(InvalidRequest, match=f"more decimals than {currency} has"):
        with world.transaction() as session:
            reconciliation.start(
                session,
                logic_actor(FINANCE),
                "bank_file",
                PERIOD[0],
                PERIOD[1],
                "itemized_csv",
                ItemizedReport(too_fine.splitlines(keepends=True)),
                ENDED,
            )
    # exports: text with the currency's decimals in CSV, a number in XLSX
    with world.transaction() as session:
        views = [runs.payout_view(p) for p in runs.run_payouts(session, built.run.id)]
    assert f",{written},{currency}," in exports.as_csv(views).decode()
    sheet = openpyxl.load_workbook(io.BytesIO(exports.as_xlsx(views))).active
    header = [c.value for c in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("amount") + 1)
    assert Decimal(str(cell.value)) == Decimal(written)
    places = money.exponent(currency)
    assert cell.number_format == ("0" if places == 0 else "0." + "0" * places)
    # display: the language's way with the currency's decimals
    assert unspaced(money.display(minor, currency, "ru")) == ru
    assert unspaced(money.display(minor, currency, "en")).endswith(
        written if places else f"{int(written):,}"
    )
