"""One helper neutralizes every cell of the CSV and XLSX files the system writes."""

import pytest

from svyaz.tables import as_csv, safe


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("-12.50", "-12.50"),  # a plain number stays a number
        ("+49", "+49"),
        ("Anna", "Anna"),
        (1200, 1200),
        (None, None),
    ],
)
def test_a_cell_is_shown_as_written(cell: object, shown: object) -> None:
    assert safe(cell) == shown


def test_the_header_is_neutralized_too() -> None:
    assert as_csv(["=bad"], [["=x"]]).decode().splitlines() == ["'=bad", "'=x"]
