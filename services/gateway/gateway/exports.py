"""Downloads for finance: a run's payouts as CSV or XLSX. Pseudonymous ids, amounts
and states only: no name, email or account number ever leaves this way."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook

COLUMNS = (
    "payout_id",
    "stipend_id",
    "communicator_id",
    "amount",
    "currency",
    "provider",
    "status",
    "provider_ref",
    "fee",
    "failure_code",
)


def rows(payouts: list[dict[str, Any]]) -> list[list[Any]]:
    return [
        [
            p["id"],
            p["stipend_id"],
            p["communicator_id"],
            f"{p['amount_minor'] / 100:.2f}",
            p["currency"],
            p["provider"],
            p["status"],
            p.get("provider_ref") or "",
            f"{(p.get('fee_minor') or 0) / 100:.2f}",
            p.get("failure_code") or "",
        ]
        for p in payouts
    ]


def _safe(value: Any) -> Any:
    """No cell a spreadsheet would run as a formula (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def as_csv(payouts: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows(payouts):
        writer.writerow([_safe(v) for v in row])
    return out.getvalue().encode()


def as_xlsx(payouts: list[dict[str, Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "payouts"
    sheet.append(list(COLUMNS))
    for row in rows(payouts):
        sheet.append([_safe(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
