"""Stipends: what an approver sees and decides."""

from __future__ import annotations

from typing import Any

from gateway.base import Call, GatewayBase
from gateway.http import api
from gateway.roles import ADMIN, COMMUNICATOR, FINANCE
from gateway.schemas import ApproveRequestSchema, RejectRequestSchema, StipendSchema

TAGS = ("stipends",)


class StipendsApi(GatewayBase):
    @api(
        "GET",
        "/api/v1/stipends/<stipend_id>",
        summary="A stipend with its approvals and the digest an approver confirms; "
        "its payee sees it too",
        roles=(COMMUNICATOR, ADMIN, FINANCE),
        responses={200: StipendSchema},
        tags=TAGS,
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
        tags=TAGS,
    )
    def api_approve_stipend(self, call: Call, stipend_id: str) -> Any:
        return self.deadline(
            self.stipends.approve_stipend, call.actor, stipend_id, call.body["digest"]
        )

    @api(
        "POST",
        "/api/v1/stipends/<stipend_id>/rejection",
        summary="Reject a proposed stipend with a reason",
        roles=(ADMIN,),
        body=RejectRequestSchema,
        responses={200: StipendSchema},
        tags=TAGS,
    )
    def api_reject_stipend(self, call: Call, stipend_id: str) -> Any:
        return self.deadline(
            self.stipends.reject_stipend, call.actor, stipend_id, call.body["reason"]
        )
