"""The stipends service's entrypoints: communicators' activity reports (drafts,
edits, submission) and their review."""

from __future__ import annotations

from typing import Any

from stipends.entrypoints.base import Entrypoints, ident, load, now
from stipends.exceptions import StipendsError
from stipends.logic import (
    reports,
)
from stipends.logic.actors import Actor
from stipends.schemas import (
    ReportContentSchema,
    ReportOutSchema,
    ReviewSchema,
)
from svyaz.commands import command
from svyaz.keys import GATEWAY, OPERATOR
from svyaz.rpc import rpc

REPORT = ReportOutSchema()
REDACTION_NOTICE = (
    "Contacts and links were removed from your report before it was stored "
    "({kinds}). Describe outcomes, never who people are or how to reach them."
)


def saved(result: reports.Saved) -> dict[str, Any]:
    notice = (
        REDACTION_NOTICE.format(kinds=", ".join(result.redacted))
        if result.redacted
        else None
    )
    return {
        "report": REPORT.dump(result.report),
        "redacted": result.redacted,
        "notice": notice,
    }


class ReportsEntrypoints(Entrypoints):
    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    @command
    def save_report_draft(
        self, actor: Any, cycle_id: str, report: Any
    ) -> dict[str, Any]:
        who = Actor.load(actor)
        cycle = ident(cycle_id, "cycle_id")
        content = load(ReportContentSchema(), report)
        with self.db.transaction() as session:
            return saved(reports.save_draft(session, who, cycle, content))

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    @command
    def edit_report(self, actor: Any, report_id: str, report: Any) -> dict[str, Any]:
        who = Actor.load(actor)
        target = ident(report_id, "report_id")
        content = load(ReportContentSchema(), report)
        with self.db.transaction() as session:
            return saved(reports.edit_report(session, who, target, content, now()))

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    @command
    def submit_report(self, actor: Any, report_id: str) -> dict[str, Any]:
        who = Actor.load(actor)
        target = ident(report_id, "report_id")
        with self.db.transaction() as session:
            return REPORT.dump(reports.submit_report(session, who, target, now()))

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=StipendsError)
    @command
    def review_report(
        self, actor: Any, report_id: str, decision: str, comment: str = ""
    ) -> dict[str, Any]:
        who = Actor.load(actor)
        data = load(
            ReviewSchema(),
            {"report_id": report_id, "decision": decision, "comment": comment},
        )
        with self.db.transaction() as session:
            return REPORT.dump(
                reports.review_report(
                    session,
                    who,
                    data["report_id"],
                    data["decision"],
                    data["comment"],
                    now(),
                )
            )

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=StipendsError)
    def list_reports(
        self, actor: Any, cycle_id: str, status: str | None = None
    ) -> list[dict[str, Any]]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            found = reports.list_reports(session, who, ident(cycle_id), status)
            names = reports.authors(session, who, found)
            return [
                {**REPORT.dump(report), "pseudonym": names.get(report.communicator_id)}
                for report in found
            ]
