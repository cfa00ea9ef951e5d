"""Stipends: what an approver sees and decides, one at a time or many at once."""

from __future__ import annotations

from typing import Any

from gateway.base import Call, GatewayBase
from gateway.http import api_group
from gateway.roles import ADMIN, COMMUNICATOR, FINANCE
from gateway.schemas import (
    ActivityLineSchema,
    AmendRequestSchema,
    ApprovalOutcomeSchema,
    ApproveManyRequestSchema,
    ApproveRequestSchema,
    RejectRequestSchema,
    StipendSchema,
    StipendsPageSchema,
    StipendsQuerySchema,
)

api = api_group(("stipends",))  # the routes' tags in the OpenAPI document


class StipendsApi(GatewayBase):
    @api(
        "GET",
        "/api/v1/stipends/<stipend_id>",
        summary="A stipend with its approvals and the digest an approver confirms; "
        "its payee sees it too",
        roles=(COMMUNICATOR, ADMIN, FINANCE),
        responses={200: StipendSchema},
    )
    def api_stipend(self, call: Call, stipend_id: str) -> Any:
        return self.deadline(self.stipends.get_stipend, call.actor, stipend_id)

    @api(
        "POST",
        "/api/v1/stipends/<stipend_id>/approvals",
        summary="Approve (one slot per person, never one's own proposal)",
        roles=(ADMIN,),
        body=ApproveRequestSchema,
        responses={200: StipendSchema},
    )
    def api_approve_stipend(self, call: Call, stipend_id: str) -> Any:
        return self.deadline(
            self.stipends.approve_stipend, call.actor, stipend_id, call.body["digest"]
        )

    @api(
        "POST",
        "/api/v1/stipends/<stipend_id>/rejection",
        summary="Reject a stipend with a reason: a proposed one, or an approved one "
        "not yet in a payout run (its payee is told it will not be paid)",
        roles=(ADMIN,),
        body=RejectRequestSchema,
        responses={200: StipendSchema},
    )
    def api_reject_stipend(self, call: Call, stipend_id: str) -> Any:
        return self.deadline(
            self.stipends.reject_stipend, call.actor, stipend_id, call.body["reason"]
        )

    @api(
        "GET",
        "/api/v1/cycles/<cycle_id>/stipends",
        summary="A page of a cycle's stipends (50 by default, at most 200) with "
        "payees' pseudonyms, digests and approvals; `total` and `counts` over the "
        "cycle",
        roles=(ADMIN, FINANCE),
        query=StipendsQuerySchema,
        responses={200: StipendsPageSchema},
    )
    def api_stipends_page(self, call: Call, cycle_id: str) -> Any:
        return self.deadline(
            self.stipends.stipends_page,
            call.actor,
            cycle_id,
            call.query["offset"],
            call.query["limit"],
            call.query.get("status"),
        )

    @api(
        "POST",
        "/api/v1/stipends/approvals",
        summary="Approve many stipends in one call, each bound to its digest and "
        "checked on its own: one outcome per item, in order",
        roles=(ADMIN,),
        body=ApproveManyRequestSchema,
        responses={200: [ApprovalOutcomeSchema]},
    )
    def api_approve_stipends(self, call: Call) -> Any:
        approvals = [
            {"stipend_id": str(a["stipend_id"]), "digest": a["digest"]}
            for a in call.body["approvals"]
        ]
        return self.deadline(self.stipends.approve_stipends, call.actor, approvals)

    @api(
        "POST",
        "/api/v1/stipends/<stipend_id>/amendment",
        summary="Change a proposed stipend's amount with a reason (its approvals are "
        "voided; you become its proposer)",
        roles=(ADMIN,),
        body=AmendRequestSchema,
        responses={200: StipendSchema},
    )
    def api_amend_stipend(self, call: Call, stipend_id: str) -> Any:
        return self.deadline(
            self.stipends.amend_stipend,
            call.actor,
            stipend_id,
            call.body["amount_minor"],
            call.body["reason"],
        )

    @api(
        "GET",
        "/api/v1/stipends/<stipend_id>/activity",
        summary="Who did what to a stipend and when, oldest first",
        roles=(ADMIN, FINANCE),
        responses={200: [ActivityLineSchema]},
    )
    def api_stipend_activity(self, call: Call, stipend_id: str) -> Any:
        return self.deadline(
            self.stipends.get_activity, call.actor, "stipend", stipend_id
        )
