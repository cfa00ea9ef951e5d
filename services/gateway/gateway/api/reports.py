"""Cycles and activity reports: communicators write and submit, admins review."""

from __future__ import annotations

from typing import Any

from gateway.base import Call, GatewayBase
from gateway.http import TEXT_BODY, api
from gateway.roles import ADMIN, COMMUNICATOR, FINANCE
from gateway.schemas import (
    CycleSchema,
    ReportQuerySchema,
    ReportRequestSchema,
    ReportSchema,
    ReviewRequestSchema,
    SavedReportSchema,
)

TAGS = ("reports",)


class ReportsApi(GatewayBase):
    @api(
        "GET",
        "/api/v1/cycles",
        summary="Cycles: communicators see the open ones, staff all",
        roles=(COMMUNICATOR, ADMIN, FINANCE),
        responses={200: [CycleSchema]},
        tags=TAGS,
    )
    def api_cycles(self, call: Call) -> Any:
        return self.deadline(self.stipends.list_cycles, call.actor)

    @api(
        "POST",
        "/api/v1/cycles/<cycle_id>/reports",
        summary="Save a report draft for a cycle (what was redacted comes back)",
        roles=(COMMUNICATOR,),
        body=ReportRequestSchema,
        responses={201: SavedReportSchema},
        tags=TAGS,
        max_body=TEXT_BODY,
    )
    def api_save_report(self, call: Call, cycle_id: str) -> Any:
        return self.deadline(
            self.stipends.save_report_draft, call.actor, cycle_id, call.body
        )

    @api(
        "GET",
        "/api/v1/cycles/<cycle_id>/reports",
        summary="A cycle's reports: all for admins (the review queue with "
        "?status=submitted), one's own for a communicator",
        roles=(COMMUNICATOR, ADMIN),
        query=ReportQuerySchema,
        responses={200: [ReportSchema]},
        tags=TAGS,
    )
    def api_reports(self, call: Call, cycle_id: str) -> Any:
        return self.deadline(
            self.stipends.list_reports, call.actor, cycle_id, call.query.get("status")
        )

    @api(
        "PUT",
        "/api/v1/reports/<report_id>",
        summary="Edit one's own report until the deadline",
        roles=(COMMUNICATOR,),
        body=ReportRequestSchema,
        responses={200: SavedReportSchema},
        tags=TAGS,
        max_body=TEXT_BODY,
    )
    def api_edit_report(self, call: Call, report_id: str) -> Any:
        return self.deadline(
            self.stipends.edit_report, call.actor, report_id, call.body
        )

    @api(
        "POST",
        "/api/v1/reports/<report_id>/submission",
        summary="Submit one's own report (after the deadline it is marked late)",
        roles=(COMMUNICATOR,),
        responses={200: ReportSchema},
        tags=TAGS,
    )
    def api_submit_report(self, call: Call, report_id: str) -> Any:
        return self.deadline(self.stipends.submit_report, call.actor, report_id)

    @api(
        "POST",
        "/api/v1/reports/<report_id>/review",
        summary="Accept, reject or request changes (a comment is needed for the "
        "last two)",
        roles=(ADMIN,),
        body=ReviewRequestSchema,
        responses={200: ReportSchema},
        tags=TAGS,
    )
    def api_review_report(self, call: Call, report_id: str) -> Any:
        return self.deadline(
            self.stipends.review_report,
            call.actor,
            report_id,
            call.body["decision"],
            call.body.get("comment", ""),
        )
