"""Finance downloads: the columns, major units, and no cell a spreadsheet would run."""

import io

import openpyxl

from gateway import exports

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
    assert [c.value for c in sheet[2]][3] == "123.45"
    assert str(sheet["H2"].value).startswith("'=")
