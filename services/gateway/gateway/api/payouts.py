"""Finance: payout runs, their release and bank file, single payouts (their trail
and the actions on them), and the queue of payouts their payee says did not
arrive."""

from __future__ import annotations

from typing import Any

from gateway.base import Call, GatewayBase
from gateway.http import SECOND_FACTOR, api_group
from gateway.roles import ADMIN, FINANCE
from gateway.schemas import (
    BankFileQuerySchema,
    BankFileSchema,
    PayoutActionRequestSchema,
    PayoutDetailSchema,
    PayoutRunSchema,
    PayoutSchema,
    ReceiptProblemSchema,
    ReceiptProblemsQuerySchema,
    ReleaseRequestSchema,
    ResolveReceiptRequestSchema,
)

BANK_FILES = {  # format: (media type, file name extension)
    "pain.001": ("application/xml", "pain001.xml"),
    "csv": ("text/csv", "csv"),
}


def bank_file_name(run_id: str, fmt: str) -> str:
    return f"run-{run_id[:8]}-bank-file.{BANK_FILES[fmt][1]}"


api = api_group(("finance",))  # the routes' tags in the OpenAPI document


class PayoutsApi(GatewayBase):
    @api(
        "POST",
        "/api/v1/cycles/<cycle_id>/payout-runs",
        summary="Build a payout run from a cycle's approved stipends",
        roles=(FINANCE,),
        responses={201: PayoutRunSchema},
    )
    def api_build_run(self, call: Call, cycle_id: str) -> Any:
        return self.deadline(self.stipends.build_payout_run, call.actor, cycle_id)

    @api(
        "GET",
        "/api/v1/cycles/<cycle_id>/payout-runs",
        summary="A cycle's payout runs, newest first, each with its payouts by state",
        roles=(FINANCE, ADMIN),
        responses={200: [PayoutRunSchema]},
    )
    def api_cycle_runs(self, call: Call, cycle_id: str) -> Any:
        return self.deadline(self.stipends.list_payout_runs, call.actor, cycle_id)

    @api(
        "GET",
        "/api/v1/payout-runs/<run_id>",
        summary="A payout run: status, control totals and payouts by state",
        roles=(FINANCE, ADMIN),
        responses={200: PayoutRunSchema},
    )
    def api_run(self, call: Call, run_id: str) -> Any:
        return self.deadline(self.stipends.get_payout_run, call.actor, run_id)

    @api(
        "GET",
        "/api/v1/payout-runs/<run_id>/payouts",
        summary="A run's payouts with their states",
        roles=(FINANCE, ADMIN),
        responses={200: [PayoutSchema]},
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
        throttle=SECOND_FACTOR,
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
    )
    def api_payout_action(self, call: Call, payout_id: str) -> Any:
        return self.deadline(
            self.stipends.payout_action,
            call.actor,
            payout_id,
            call.body["action"],
            call.body["reason"],
        )

    @api(
        "GET",
        "/api/v1/payouts/<payout_id>",
        summary="A payout: state, amounts, provider, references, the payee's answer "
        "about receipt, and its audit trail",
        roles=(FINANCE, ADMIN),
        responses={200: PayoutDetailSchema},
    )
    def api_payout(self, call: Call, payout_id: str) -> Any:
        return self.deadline(self.stipends.get_payout, call.actor, payout_id)

    @api(
        "GET",
        "/api/v1/payout-runs/<run_id>/bank-file",
        summary="A run's bank file (pain.001 XML or CSV) of its sent bank transfers, "
        "with the payees' account details read now; the download is audited. 409 "
        "`no_bank_transfers` when none waits for the bank (no empty file is made)",
        roles=(FINANCE,),
        query=BankFileQuerySchema,
        responses={200: BankFileSchema},
    )
    def api_bank_file(self, call: Call, run_id: str) -> Any:
        fmt = call.query["format"]
        content = self.deadline(self.stipends.payout_bank_file, call.actor, run_id, fmt)
        return {
            "format": fmt,
            "filename": bank_file_name(run_id, fmt),
            "media_type": BANK_FILES[fmt][0],
            "content": content,
        }

    @api(
        "GET",
        "/api/v1/receipt-problems",
        summary="Payouts their payee says did not arrive: open, resolved or "
        "withdrawn, the oldest first",
        roles=(FINANCE,),
        query=ReceiptProblemsQuerySchema,
        responses={200: [ReceiptProblemSchema]},
    )
    def api_receipt_problems(self, call: Call) -> Any:
        return self.deadline(
            self.stipends.list_receipt_problems, call.actor, call.query["status"]
        )

    @api(
        "POST",
        "/api/v1/receipt-problems/<problem_id>/resolution",
        summary="Resolve a receipt problem with what was found and a note",
        roles=(FINANCE,),
        body=ResolveReceiptRequestSchema,
        responses={200: ReceiptProblemSchema},
    )
    def api_resolve_receipt_problem(self, call: Call, problem_id: str) -> Any:
        return self.deadline(
            self.stipends.resolve_receipt_problem,
            call.actor,
            problem_id,
            call.body["resolution"],
            call.body["note"],
        )
