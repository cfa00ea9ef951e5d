"""The stipends service's entrypoints: the ledger read back (the trial balance and
an account's statement) for finance and programme admins."""

from __future__ import annotations

from typing import Any

from stipends.entrypoints.base import Entrypoints, load
from stipends.exceptions import StipendsError
from stipends.logic import (
    ledger_reports,
)
from stipends.logic.actors import Actor
from stipends.schemas import (
    AccountRequestSchema,
)
from svyaz.keys import FINANCE_CLI, GATEWAY, OPERATOR
from svyaz.rpc import rpc


class LedgerEntrypoints(Entrypoints):
    @rpc(callers={GATEWAY, FINANCE_CLI, OPERATOR}, expected_exceptions=StipendsError)
    def get_trial_balance(self, actor: Any) -> dict[str, Any]:
        ledger_reports.require_reader(Actor.load(actor))
        with self.db.transaction() as session:
            return ledger_reports.trial_balance(session)

    @rpc(callers={GATEWAY, FINANCE_CLI, OPERATOR}, expected_exceptions=StipendsError)
    def get_account_statement(
        self, actor: Any, account: str, offset: Any = 0, limit: Any = None
    ) -> dict[str, Any]:
        """An account's lines with the running balance; `limit` lines (1 to 1,000)
        from `offset`, or all of them without a limit."""
        ledger_reports.require_reader(Actor.load(actor))
        data = load(
            AccountRequestSchema(),
            {"account": account, "offset": offset, "limit": limit},
        )
        with self.db.transaction() as session:
            found = ledger_reports.statement(
                session, data["account"], data["offset"], data["limit"]
            )
        return {
            **found,
            "lines": [
                {
                    **line,
                    "posted_at": line["posted_at"].isoformat(),
                    "stipend_id": str(line["stipend_id"])
                    if line["stipend_id"]
                    else None,
                }
                for line in found["lines"]
            ],
        }
