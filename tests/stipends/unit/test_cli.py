"""svyaz-finance's pieces without a bus: the progress line, the totals table, and the
mapping of service errors to exit codes."""

import pytest

from stipends import cli
from svyaz.errors import Conflict, Forbidden, InvalidInput, NotFound


def test_the_progress_line_counts_what_is_settled() -> None:
    line = cli.progress({"paid": 8, "failed": 1, "sent": 1, "queued": 5}, width=15)
    assert line.startswith("[#########......] 9/15")
    assert "paid 8" in line and "queued 5" in line
    assert cli.progress({}, width=4) == "[####] 0/0  "


def test_the_totals_table_shows_major_units_and_the_digest() -> None:
    table = cli.totals_table(
        {
            "id": "r1",
            "status": "draft",
            "totals": [
                {
                    "currency": "EUR",
                    "provider": "bank_file",
                    "count": 3,
                    "sum_minor": 123456,
                }
            ],
            "totals_digest": "ab" * 32,
        }
    )
    assert "EUR      bank_file           3  1,234.56" in table
    assert table.endswith("ab" * 32)


@pytest.mark.parametrize(
    "error,code",
    [
        (InvalidInput("bad", "bad", {"run_id": ["not a valid id"]}), cli.BAD_INPUT),
        (NotFound("no run", "run_not_found"), cli.NOT_FOUND),
        (Forbidden("approved one of its stipends", "approver"), cli.REFUSED),
        (Conflict("released already", "run_released"), cli.REFUSED),
    ],
)
def test_service_errors_become_exit_codes(error: Exception, code: int) -> None:
    assert cli.translate(error).code == code


def test_an_unexpected_error_is_not_swallowed() -> None:
    with pytest.raises(ZeroDivisionError):
        cli.translate(ZeroDivisionError())
