"""Downloads for finance: a run's payouts and a reconciliation's differences as CSV or
XLSX, the one definition of their columns that the consoles (gateway) and the finance
CLI both write with. Pseudonymous ids, amounts and states only: no name, email or
account number ever leaves this way.

Amounts are in major units with the currency's ISO 4217 exponent (JPY 0 decimals,
EUR 2, KWD 3): text in CSV ("12.345"), numbers in XLSX with a number format of as
many decimals, so a spreadsheet sums them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from svyaz import money, tables


class Amount:
    """An amount of minor units in a currency, written as its exponent says."""

    def __init__(self, minor: int, currency: str):
        self.minor = int(minor)
        self.currency = (currency or "").upper()
        self.places = money.exponent(self.currency)

    @property
    def major(self) -> Decimal:
        return money.major(self.minor, self.currency)

    def __str__(self) -> str:
        return money.plain(self.minor, self.currency)

    @property
    def number_format(self) -> str:
        return "0" if self.places == 0 else "0." + "0" * self.places


def amount(minor: int | None, currency: str | None) -> Amount | str:
    return "" if minor is None else Amount(minor, currency or "")


def _csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    return tables.as_csv(
        columns,
        ([str(v) if isinstance(v, Amount) else v for v in row] for row in rows),
    )


def _amount_cell(sheet: Any, value: Any) -> Any:
    """An amount as a number in its currency's format; anything else: None."""
    if not isinstance(value, Amount):
        return None
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value.major)
    cell.number_format = value.number_format
    return cell


def _xlsx(
    sheets: Sequence[tuple[str, Sequence[str] | None, Iterable[Sequence[Any]]]],
) -> bytes:
    """As tables.as_xlsx (write-only, every text cell neutralized), with amounts
    as numbers in their currency's format."""
    return tables.as_xlsx(sheets, cell=_amount_cell)


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
            Amount(p["amount_minor"], p["currency"]),
            p["currency"],
            p["provider"],
            p["status"],
            p.get("provider_ref") or "",
            Amount(p.get("fee_minor") or 0, p["currency"]),
            p.get("failure_code") or "",
        ]
        for p in payouts
    ]


def as_csv(payouts: list[dict[str, Any]]) -> bytes:
    return _csv(COLUMNS, rows(payouts))


def as_xlsx(payouts: list[dict[str, Any]]) -> bytes:
    return _xlsx([("payouts", COLUMNS, rows(payouts))])


RECONCILIATION_COLUMNS = (
    "item_id",
    "kind",
    "state",
    "payout_id",
    "run_id",
    "provider_ref",
    "ours",
    "ours_currency",
    "theirs",
    "theirs_currency",
    "resolution",
    "linked_payout_id",
    "resolved_by",
    "resolved_at",
)
SUMMARY = (
    ("provider", "provider"),
    ("period start", "period_start"),
    ("period end (exclusive)", "period_end"),
    ("source", "source"),
    ("status", "status"),
    ("provider rows", "provider_rows"),
    ("matched", "matched"),
    ("differences", "discrepancies"),
    ("open", "open_items"),
    ("signed off by", "signed_off_by"),
    ("signed off at", "signed_off_at"),
)


def reconciliation_rows(items: list[dict[str, Any]]) -> list[list[Any]]:
    return [
        [
            i["id"],
            i["kind"],
            i["state"],
            i.get("payout_id") or "",
            i.get("run_id") or "",
            i.get("provider_ref") or "",
            amount(i.get("ours_minor"), i.get("ours_currency")),
            i.get("ours_currency") or "",
            amount(i.get("theirs_minor"), i.get("theirs_currency")),
            i.get("theirs_currency") or "",
            i.get("resolution") or "",
            i.get("linked_payout_id") or "",
            i.get("resolved_by") or "",
            i.get("resolved_at") or "",
        ]
        for i in items
    ]


def reconciliation(
    kind: str, rec: dict[str, Any], items: list[dict[str, Any]]
) -> tuple[bytes, str]:
    """A reconciliation's differences as CSV, or XLSX with a summary sheet."""
    rows = reconciliation_rows(items)
    if kind == "csv":
        return _csv(RECONCILIATION_COLUMNS, rows), tables.MIME["csv"]
    summary = [
        [label, "" if rec.get(key) is None else rec[key]] for label, key in SUMMARY
    ]
    body = _xlsx(
        [("summary", None, summary), ("differences", RECONCILIATION_COLUMNS, rows)]
    )
    return body, tables.MIME["xlsx"]
