"""Tables for finance's downloads: CSV and XLSX from columns and rows, written a row
at a time. No cell is one a spreadsheet would run as a formula (CSV injection)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

FORMATS = ("csv", "xlsx")
MIME = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def safe(value: Any) -> Any:
    """A cell a spreadsheet shows as written: text that would start a formula
    (`=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`. A plain
    number (`-12.50`) is left as it is. Every CSV and XLSX the system writes goes
    through this (finance opens them; a name is the person's own text)."""
    if (
        isinstance(value, str)
        and value[:1] in ("=", "+", "-", "@", "\t", "\r")
        and not _NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def csv_row(writer: Any, row: Iterable[Any]) -> None:
    """Write one neutralized row with a `csv.writer`."""
    writer.writerow([safe(v) for v in row])


def as_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    csv_row(writer, columns)
    for row in rows:
        csv_row(writer, row)
    return out.getvalue().encode()


def as_xlsx(
    sheets: Sequence[tuple[str, Sequence[str] | None, Iterable[Sequence[Any]]]],
    cell: Callable[[Any, Any], Any] | None = None,
) -> bytes:
    """One workbook; each sheet (title, header or None, rows) written in
    openpyxl's write-only mode, so memory stays small for long sheets. `cell(sheet,
    value)` may turn a value into a cell of its own (a number with its format, say);
    when it returns None, the value is written neutralized."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for title, columns, rows in sheets:
        sheet = book.create_sheet(title)
        if columns:
            sheet.append(list(columns))
        for row in rows:
            made = [cell(sheet, v) if cell else None for v in row]
            sheet.append(
                [safe(v) if m is None else m for v, m in zip(row, made, strict=True)]
            )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def render(
    fmt: str, title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> bytes:
    if fmt == "csv":
        return as_csv(columns, rows)
    if fmt == "xlsx":
        return as_xlsx([(title, columns, rows)])
    raise ValueError(f"format {fmt!r}: one of {FORMATS}")
