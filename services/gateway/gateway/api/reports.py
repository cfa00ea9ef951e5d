"""Cycles and activity reports: communicators write and submit, admins review."""

from __future__ import annotations

from typing import Any

from gateway import web
from gateway.base import Call, GatewayBase
from gateway.http import TEXT_BODY, api_group
from gateway.roles import ADMIN, COMMUNICATOR, FINANCE
from gateway.schemas import (
    ActivityLineSchema,
    ClosedCycleSchema,
    ClosePreviewSchema,
    CycleProgressSchema,
    CycleSchema,
    ListedCycleSchema,
    ReportQuerySchema,
    ReportRequestSchema,
    ReportSchema,
    ReviewRequestSchema,
    SavedReportSchema,
)

api = api_group(("reports",))  # the routes' tags in the OpenAPI document


def spoken(call: Call, saved: Any) -> Any:
    """A saved report's answer with its `notice` in the reader's language (the
    service words it in English): what was removed, by kind, and why."""
    if not isinstance(saved, dict) or not saved.get("redacted"):
        return saved
    kinds = ", ".join(
        web.label(call.lang, "redaction_kind", kind) for kind in saved["redacted"]
    )
    notice = call.texts["redaction_notice"] % {"kinds": kinds}
    return {**saved, "notice": notice}


class ReportsApi(GatewayBase):
    @api(
        "GET",
        "/api/v1/cycles",
        summary="Cycles: communicators see the open ones, staff all",
        roles=(COMMUNICATOR, ADMIN, FINANCE),
        responses={200: [ListedCycleSchema]},
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
        max_body=TEXT_BODY,
    )
    def api_save_report(self, call: Call, cycle_id: str) -> Any:
        return spoken(
            call,
            self.deadline(
                self.stipends.save_report_draft, call.actor, cycle_id, call.body
            ),
        )

    @api(
        "GET",
        "/api/v1/cycles/<cycle_id>/reports",
        summary="A cycle's reports: all for admins (the review queue with "
        "?status=submitted), one's own for a communicator",
        roles=(COMMUNICATOR, ADMIN),
        query=ReportQuerySchema,
        responses={200: [ReportSchema]},
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
        max_body=TEXT_BODY,
    )
    def api_edit_report(self, call: Call, report_id: str) -> Any:
        return spoken(
            call,
            self.deadline(self.stipends.edit_report, call.actor, report_id, call.body),
        )

    @api(
        "POST",
        "/api/v1/reports/<report_id>/submission",
        summary="Submit one's own report (after the deadline it is marked late)",
        roles=(COMMUNICATOR,),
        responses={200: ReportSchema},
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
    )
    def api_review_report(self, call: Call, report_id: str) -> Any:
        return self.deadline(
            self.stipends.review_report,
            call.actor,
            report_id,
            call.body["decision"],
            call.body.get("comment", ""),
        )

    # -- a cycle's course: progress, closing (previewed first), locking ------------
    @api(
        "GET",
        "/api/v1/cycles/<cycle_id>/progress",
        summary="How far a cycle's reporting has come: reports by status, who has "
        "reported, against the active communicators, and the deadline",
        roles=(ADMIN, FINANCE),
        responses={200: CycleProgressSchema},
    )
    def api_cycle_progress(self, call: Call, cycle_id: str) -> Any:
        return self.deadline(self.stipends.get_cycle_progress, call.actor, cycle_id)

    @api(
        "GET",
        "/api/v1/cycles/<cycle_id>/close-preview",
        summary="What closing the cycle now would propose (who gets what, who is not "
        "eligible and why) and what stands in its way; changes nothing",
        roles=(ADMIN,),
        responses={200: ClosePreviewSchema},
    )
    def api_close_preview(self, call: Call, cycle_id: str) -> Any:
        return self.deadline(self.stipends.preview_close_cycle, call.actor, cycle_id)

    @api(
        "POST",
        "/api/v1/cycles/<cycle_id>/closure",
        summary="Close the cycle to reports and propose its stipends (after the "
        "deadline, every submitted report reviewed)",
        roles=(ADMIN,),
        responses={200: ClosedCycleSchema},
    )
    def api_close_cycle(self, call: Call, cycle_id: str) -> Any:
        return self.deadline(self.stipends.close_cycle, call.actor, cycle_id)

    @api(
        "POST",
        "/api/v1/cycles/<cycle_id>/lock",
        summary="Lock a closed cycle once every stipend is decided (409 "
        "stipends_pending otherwise)",
        roles=(ADMIN,),
        responses={200: CycleSchema},
    )
    def api_lock_cycle(self, call: Call, cycle_id: str) -> Any:
        return self.deadline(self.stipends.lock_cycle, call.actor, cycle_id)

    @api(
        "GET",
        "/api/v1/reports/<report_id>/activity",
        summary="Who did what to a report and when, oldest first",
        roles=(ADMIN, FINANCE),
        responses={200: [ActivityLineSchema]},
    )
    def api_report_activity(self, call: Call, report_id: str) -> Any:
        return self.deadline(
            self.stipends.get_activity, call.actor, "report", report_id
        )
