"""Finance: payout runs, their release, and actions on single payouts."""

from __future__ import annotations

from typing import Any

from gateway.base import Call, GatewayBase
from gateway.http import api
from gateway.roles import ADMIN, FINANCE
from gateway.schemas import (
    PayoutActionRequestSchema,
    PayoutRunSchema,
    PayoutSchema,
    ReleaseRequestSchema,
)

TAGS = ("finance",)


class PayoutsApi(GatewayBase):
    @api(
        "POST",
        "/api/v1/cycles/<cycle_id>/payout-runs",
        summary="Build a payout run from a cycle's approved stipends",
        roles=(FINANCE,),
        responses={201: PayoutRunSchema},
        tags=TAGS,
    )
    def api_build_run(self, call: Call, cycle_id: str) -> Any:
        return self.deadline(self.stipends.build_payout_run, call.actor, cycle_id)

    @api(
        "GET",
        "/api/v1/payout-runs/<run_id>",
        summary="A payout run: status, control totals and payouts by state",
        roles=(FINANCE, ADMIN),
        responses={200: PayoutRunSchema},
        tags=TAGS,
    )
    def api_run(self, call: Call, run_id: str) -> Any:
        return self.deadline(self.stipends.get_payout_run, call.actor, run_id)

    @api(
        "GET",
        "/api/v1/payout-runs/<run_id>/payouts",
        summary="A run's payouts with their states",
        roles=(FINANCE, ADMIN),
        responses={200: [PayoutSchema]},
        tags=TAGS,
    )
    def api_run_payouts(self, call: Call, run_id: str) -> Any:
        return self.deadline(self.stipends.list_payouts, call.actor, run_id)

    @api(
        "POST",
        "/api/v1/payout-runs/<run_id>/release",
        summary="Release a run: finance, a fresh second factor, the totals confirmed, "
        "and no approver of its stipends",
        roles=(FINANCE,),
        body=ReleaseRequestSchema,
        responses={200: PayoutRunSchema},
        tags=TAGS,
    )
    def api_release_run(self, call: Call, run_id: str) -> Any:
        return self.deadline(  # stipends checks the code with the registry itself
            self.stipends.release_payout_run,
            call.actor,
            run_id,
            call.body["totals_digest"],
            call.body["code"],
        )

    @api(
        "POST",
        "/api/v1/payouts/<payout_id>/actions",
        summary="Retry, cancel, mark paid offline or mark failed, with a reason",
        roles=(FINANCE,),
        body=PayoutActionRequestSchema,
        responses={200: PayoutSchema},
        tags=TAGS,
    )
    def api_payout_action(self, call: Call, payout_id: str) -> Any:
        return self.deadline(
            self.stipends.payout_action,
            call.actor,
            payout_id,
            call.body["action"],
            call.body["reason"],
        )
