"""Finance and programme admins: the ledger's trial balance and any account's
statement."""

from __future__ import annotations

from typing import Any

from gateway.base import Call, GatewayBase
from gateway.http import api_group
from gateway.roles import ADMIN, FINANCE
from gateway.schemas import (
    AccountStatementQuerySchema,
    AccountStatementSchema,
    TrialBalanceSchema,
)

api = api_group(("finance",))  # the routes' tags in the OpenAPI document


class LedgerApi(GatewayBase):
    @api(
        "GET",
        "/api/v1/ledger/trial-balance",
        summary="Every ledger account's debits, credits and balance, and the "
        "totals per currency, which must agree",
        roles=(FINANCE, ADMIN),
        responses={200: TrialBalanceSchema},
    )
    def api_trial_balance(self, call: Call) -> Any:
        return self.deadline(self.stipends.get_trial_balance, call.actor)

    @api(
        "GET",
        "/api/v1/ledger/accounts/<account>",
        summary="An account's statement, a page at a time: each line with its "
        "entry, date, amount and the running balance",
        roles=(FINANCE, ADMIN),
        query=AccountStatementQuerySchema,
        responses={200: AccountStatementSchema},
    )
    def api_account_statement(self, call: Call, account: str) -> Any:
        return self.deadline(
            self.stipends.get_account_statement,
            call.actor,
            account,
            call.query["offset"],
            call.query["limit"],
        )
