"""Downloads for finance: a run's payouts as CSV or XLSX. Pseudonymous ids, amounts
and states only: no name, email or account number ever leaves this way."""

from __future__ import annotations

from typing import Any

from svyaz import tables

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


def as_csv(payouts: list[dict[str, Any]]) -> bytes:
    return tables.as_csv(COLUMNS, rows(payouts))


def as_xlsx(payouts: list[dict[str, Any]]) -> bytes:
    return tables.as_xlsx([("payouts", COLUMNS, rows(payouts))])


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


def _major(minor: int | None) -> str:
    return "" if minor is None else f"{minor / 100:.2f}"


def reconciliation_rows(items: list[dict[str, Any]]) -> list[list[Any]]:
    return [
        [
            i["id"],
            i["kind"],
            i["state"],
            i.get("payout_id") or "",
            i.get("run_id") or "",
            i.get("provider_ref") or "",
            _major(i.get("ours_minor")),
            i.get("ours_currency") or "",
            _major(i.get("theirs_minor")),
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
        return tables.as_csv(RECONCILIATION_COLUMNS, rows), tables.MIME["csv"]
    summary = [
        [label, "" if rec.get(key) is None else rec[key]] for label, key in SUMMARY
    ]
    body = tables.as_xlsx(
        [("summary", None, summary), ("differences", RECONCILIATION_COLUMNS, rows)]
    )
    return body, tables.MIME["xlsx"]
