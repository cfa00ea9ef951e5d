"""Tables for finance's downloads: CSV and XLSX from columns and rows, written a row
at a time. No cell is one a spreadsheet would run as a formula (CSV injection)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

FORMATS = ("csv", "xlsx")
MIME = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def safe(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def as_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([safe(v) for v in row])
    return out.getvalue().encode()


def as_xlsx(
    sheets: Sequence[tuple[str, Sequence[str] | None, Iterable[Sequence[Any]]]],
) -> bytes:
    """One workbook; each sheet (title, header or None, rows) written in
    openpyxl's write-only mode, so memory stays small for long sheets."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for title, columns, rows in sheets:
        sheet = book.create_sheet(title)
        if columns:
            sheet.append(list(columns))
        for row in rows:
            sheet.append([safe(v) for v in row])
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
