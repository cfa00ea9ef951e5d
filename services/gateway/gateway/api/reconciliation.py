"""Finance: reconciling a provider's period, its work queue of differences (and the
payouts one may be linked to), the sign-off, and the bank statement's import."""

from __future__ import annotations

from typing import Any

from gateway.base import Call, GatewayBase
from gateway.http import TEXT_BODY, UPLOAD_BODY, api_group
from gateway.roles import ADMIN, FINANCE
from gateway.schemas import (
    BankStatementRequestSchema,
    PayoutSchema,
    ReconcileRequestSchema,
    ReconciliationItemSchema,
    ReconciliationItemsQuerySchema,
    ReconciliationSchema,
    ReconciliationsQuerySchema,
    ResolveItemsRequestSchema,
    SignOffRequestSchema,
    StatementImportSchema,
)

api = api_group(("finance",))  # the routes' tags in the OpenAPI document


class ReconciliationApi(GatewayBase):
    @api(
        "GET",
        "/api/v1/reconciliations",
        summary="Reconciliations by provider and period, the latest first",
        roles=(FINANCE, ADMIN),
        query=ReconciliationsQuerySchema,
        responses={200: [ReconciliationSchema]},
    )
    def api_reconciliations(self, call: Call) -> Any:
        return self.deadline(
            self.stipends.list_reconciliations,
            call.actor,
            call.query["limit"],
            call.query["offset"],
        )

    @api(
        "POST",
        "/api/v1/reconciliations",
        summary="Reconcile a provider's period: pulled from its API, or Stripe's "
        "itemized report or the bank's statement given as content",
        roles=(FINANCE,),
        body=ReconcileRequestSchema,
        responses={201: ReconciliationSchema},
        max_body=UPLOAD_BODY,
    )
    def api_reconcile(self, call: Call) -> Any:
        body = call.body
        return self.deadline(
            self.stipends.reconcile_period,
            call.actor,
            body["provider"],
            body["period_start"].isoformat(),
            body["period_end"].isoformat(),
            body["source"],
            body["content"],
        )

    @api(
        "GET",
        "/api/v1/reconciliations/<reconciliation_id>",
        summary="A reconciliation: counts, differences by kind and state, sign-off",
        roles=(FINANCE, ADMIN),
        responses={200: ReconciliationSchema},
    )
    def api_reconciliation(self, call: Call, reconciliation_id: str) -> Any:
        return self.deadline(
            self.stipends.get_reconciliation, call.actor, reconciliation_id
        )

    @api(
        "GET",
        "/api/v1/reconciliations/<reconciliation_id>/items",
        summary="The work queue: differences in id order, after item `after`",
        roles=(FINANCE, ADMIN),
        query=ReconciliationItemsQuerySchema,
        responses={200: [ReconciliationItemSchema]},
    )
    def api_reconciliation_items(self, call: Call, reconciliation_id: str) -> Any:
        page = call.query
        return self.deadline(
            self.stipends.list_reconciliation_items,
            call.actor,
            reconciliation_id,
            page.get("state"),
            page.get("kind"),
            page["after"],
            page["limit"],
        )

    @api(
        "POST",
        "/api/v1/reconciliations/<reconciliation_id>/items/resolve",
        summary="Link, write off or re-pay differences, one or many, all or none",
        roles=(FINANCE,),
        body=ResolveItemsRequestSchema,
        responses={200: [ReconciliationItemSchema]},
        max_body=TEXT_BODY,
    )
    def api_resolve_items(self, call: Call, reconciliation_id: str) -> Any:
        body = call.body
        return self.deadline(
            self.stipends.resolve_reconciliation_items,
            call.actor,
            reconciliation_id,
            body["item_ids"],
            body["action"],
            body["reason"],
            str(body["payout_id"]) if body["payout_id"] else None,
            body["write_off_to"],
        )

    @api(
        "POST",
        "/api/v1/reconciliations/<reconciliation_id>/sign-off",
        summary="Sign a period off: a reconciliation run after its period ended "
        "(`whole_period`; otherwise 409 period_not_over or run_before_period_end), "
        "nothing open, and a finance person who neither ran it nor resolved its "
        "differences",
        roles=(FINANCE,),
        body=SignOffRequestSchema,
        responses={200: ReconciliationSchema},
    )
    def api_sign_off(self, call: Call, reconciliation_id: str) -> Any:
        return self.deadline(
            self.stipends.sign_off_reconciliation,
            call.actor,
            reconciliation_id,
            call.body["note"],
        )

    @api(
        "GET",
        "/api/v1/reconciliations/<reconciliation_id>/link-candidates",
        summary="The payouts a difference may be linked to: the provider's, sent, "
        "paid or failed, created in the period or the month before (at most 500)",
        roles=(FINANCE,),
        responses={200: [PayoutSchema]},
    )
    def api_link_candidates(self, call: Call, reconciliation_id: str) -> Any:
        return self.deadline(
            self.stipends.list_link_candidates, call.actor, reconciliation_id
        )

    @api(
        "POST",
        "/api/v1/bank-statements",
        summary="Import the bank's statement: booked lines pay their bank "
        "payouts, returned lines fail them; lines that match nothing are listed",
        roles=(FINANCE,),
        body=BankStatementRequestSchema,
        responses={200: StatementImportSchema},
        max_body=UPLOAD_BODY,
    )
    def api_import_statement(self, call: Call) -> Any:
        return self.deadline(
            self.stipends.import_bank_statement, call.actor, call.body["content"]
        )
