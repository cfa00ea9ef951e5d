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
