"""Finance downloads: the columns, major units, and no cell a spreadsheet would run."""

import io
from decimal import Decimal

import openpyxl
import pytest

from svyaz import exports

PAYOUT = {
    "id": "p1",
    "stipend_id": "s1",
    "communicator_id": "c1",
    "amount_minor": 12345,
    "currency": "EUR",
    "provider": "bank_file",
    "status": "failed",
    "provider_ref": '=HYPERLINK("http://evil")',
    "fee_minor": 50,
    "failure_code": "account_closed",
}


def test_csv_has_the_columns_and_defuses_formulas() -> None:
    lines = exports.as_csv([PAYOUT]).decode().splitlines()
    assert lines[0] == ",".join(exports.COLUMNS)
    assert "123.45,EUR,bank_file,failed" in lines[1]
    assert "'=HYPERLINK" in lines[1] and ",0.50,account_closed" in lines[1]


def test_xlsx_holds_the_same_rows() -> None:
    sheet = openpyxl.load_workbook(io.BytesIO(exports.as_xlsx([PAYOUT]))).active
    assert [c.value for c in sheet[1]] == list(exports.COLUMNS)
    assert [c.value for c in sheet[2]][3] == 123.45  # a number, summed by a sheet
    assert sheet["D2"].number_format == "0.00"
    assert str(sheet["H2"].value).startswith("'=")


@pytest.mark.parametrize(
    "currency,minor,text,number,fmt",
    [
        ("JPY", 12345, "12345", Decimal("12345"), "0"),  # exponent 0
        ("EUR", 12345, "123.45", Decimal("123.45"), "0.00"),  # exponent 2
        ("KWD", 12345, "12.345", Decimal("12.345"), "0.000"),  # exponent 3
    ],
)
def test_amounts_follow_the_currency_exponent(
    currency: str, minor: int, text: str, number: Decimal, fmt: str
) -> None:
    payout = {**PAYOUT, "currency": currency, "amount_minor": minor, "fee_minor": 0}
    line = exports.as_csv([payout]).decode().splitlines()[1]
    assert f",{text},{currency}," in line
    sheet = openpyxl.load_workbook(io.BytesIO(exports.as_xlsx([payout]))).active
    assert Decimal(str(sheet["D2"].value)) == number
    assert sheet["D2"].number_format == fmt


@pytest.mark.parametrize(
    "currency,text", [("JPY", "500"), ("EUR", "5.00"), ("KWD", "0.500")]
)
def test_reconciliation_amounts_follow_the_currency_exponent(
    currency: str, text: str
) -> None:
    item = {
        "id": 1,
        "kind": "amount_mismatch",
        "state": "open",
        "ours_minor": 500,
        "ours_currency": currency,
        "theirs_minor": None,
        "theirs_currency": None,
    }
    body, _ = exports.reconciliation("csv", {}, [item])
    cells = body.decode().splitlines()[1].split(",")
    assert cells[6:10] == [text, currency, "", ""]
    book, _ = exports.reconciliation("xlsx", {}, [item])
    sheet = openpyxl.load_workbook(io.BytesIO(book))["differences"]
    assert Decimal(str(sheet["G2"].value)) == Decimal(text)
