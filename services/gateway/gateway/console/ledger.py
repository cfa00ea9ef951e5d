"""The ledger for finance and programme admins: the trial balance (every account's
debits, credits and balance; per currency the totals must agree) and any account's
statement, a page at a time with the running balance."""

from __future__ import annotations

from typing import Any

from gateway.base import Call, GatewayBase
from gateway.http import page
from gateway.roles import ADMIN, FINANCE

READERS = (FINANCE, ADMIN)
LINES_PER_PAGE = 50


def page_number(value: str | None) -> int:
    """`?page=` as a page from 1; anything else is the first."""
    return int(value) if value and value.isdigit() and len(value) < 7 else 1


class LedgerConsole(GatewayBase):
    @page("GET", "/finance/ledger", roles=READERS, template="finance_ledger.html")
    def finance_ledger(self, call: Call) -> dict[str, Any]:
        balance = self.deadline(self.stipends.get_trial_balance, call.actor)
        return {"balance": balance, "error": None}

    @page(
        "GET",
        "/finance/ledger/<account>",
        roles=READERS,
        template="finance_account.html",
    )
    def finance_account(self, call: Call, account: str) -> dict[str, Any]:
        number = page_number(call.request.args.get("page"))
        found = self.deadline(
            self.stipends.get_account_statement,
            call.actor,
            account,
            (number - 1) * LINES_PER_PAGE,
            LINES_PER_PAGE,
        )
        pages = max(1, -(-found["total_lines"] // LINES_PER_PAGE))
        return {
            "statement": found,
            "page": number,
            "pages": pages,
            "error": None,
        }
