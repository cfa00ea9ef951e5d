"""Program admins' pages about the programme: report review, closing a cycle,
deciding stipends, the payout corridors, budgets."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from gateway import pages, web
from gateway.base import Call, GatewayBase
from gateway.http import page
from gateway.roles import ADMIN, FINANCE
from svyaz.errors import NotFound

ADMINS = (ADMIN,)


class ProgrammeConsole(GatewayBase):
    # -- report review and closing a cycle -------------------------------------------
    def _reports_page(
        self, call: Call, error: str | None = None, status: int = 200
    ) -> Response:
        cycles = [
            c
            for c in self.deadline(self.stipends.list_cycles, call.actor)
            if c["status"] != "locked"
        ]
        queue = {
            c["id"]: self.deadline(
                self.stipends.list_reports, call.actor, c["id"], "submitted"
            )
            for c in cycles
        }
        return self.render(
            call,
            "admin_reports.html",
            status=status,
            cycles=cycles,
            queue=queue,
            error=error,
        )

    @page("GET", "/admin/reports", roles=ADMINS)
    def admin_reports(self, call: Call) -> Response:
        return self._reports_page(call)

    @page("POST", "/admin/reports/<report_id>", roles=ADMINS, redisplay="_reports_page")
    def admin_review_report(self, call: Call, report_id: str) -> Response:
        self.deadline(
            self.stipends.review_report,
            call.actor,
            report_id,
            call.form.get("decision", ""),
            call.form.get("comment", ""),
        )
        return web.redirect("/admin/reports")

    @page(
        "POST",
        "/admin/cycles/<cycle_id>/close",
        roles=ADMINS,
        redisplay="_reports_page",
    )
    def admin_close_cycle(self, call: Call, cycle_id: str) -> Response:
        self.deadline(self.stipends.close_cycle, call.actor, cycle_id)
        return web.redirect(f"/admin/stipends?cycle={cycle_id}")

    # -- stipends --------------------------------------------------------------------
    def _stipends_page(
        self, call: Call, error: str | None = None, status: int = 200
    ) -> Response:
        cycle = call.form.get("cycle") or call.request.args.get("cycle", "")
        actor = call.actor
        stipends = self.deadline(self.stipends.list_stipends, actor, cycle)
        stipends_by_id = {s["id"]: s for s in stipends}
        views = {
            s["id"]: self.deadline(self.stipends.get_stipend, actor, s["id"])
            for s in stipends
            if s["status"] in ("proposed", "approved")
        }
        digests = {
            ident: view["digest"]
            for ident, view in views.items()
            if view["digest"] and stipends_by_id[ident]["status"] == "proposed"
        }
        approvers = {  # who has approved what: account ids, "you" for oneself
            ident: [
                "you" if a["approver_id"] == actor["id"] else a["approver_id"][:8]
                for a in view["approvals"]
                if not a.get("voided_at")
            ]
            for ident, view in views.items()
        }
        pseudonyms = {
            s["communicator_id"]: self.deadline(
                self.stipends.get_communicator, s["communicator_id"]
            )["pseudonym"]
            for s in stipends
        }
        return self.render(
            call,
            "admin_stipends.html",
            status=status,
            cycle=cycle,
            stipends=stipends,
            digests=digests,
            approvers=approvers,
            pseudonyms=pseudonyms,
            error=error,
        )

    @page("GET", "/admin/stipends", roles=ADMINS)
    def admin_stipends(self, call: Call) -> Response:
        return self._stipends_page(call)

    @page(
        "POST",
        "/admin/stipends/<stipend_id>",
        roles=ADMINS,
        redisplay="_stipends_page",
    )
    def admin_decide_stipend(self, call: Call, stipend_id: str) -> Response:
        cycle = pages.ident(call.form.get("cycle", ""), "cycle")
        step = call.form.get("step")
        if step == "approve":
            self.deadline(
                self.stipends.approve_stipend,
                call.actor,
                stipend_id,
                call.form.get("digest", ""),
            )
        elif step == "reject":
            self.deadline(
                self.stipends.reject_stipend,
                call.actor,
                stipend_id,
                call.form.get("reason", ""),
            )
        else:
            raise NotFound("no such step")
        return web.redirect(f"/admin/stipends?cycle={cycle}")

    # -- corridors and budgets -------------------------------------------------------
    def _corridors_page(
        self, call: Call, error: str | None = None, status: int = 200
    ) -> Response:
        return self.render(
            call,
            "admin_corridors.html",
            status=status,
            error=error,
            corridors=self.deadline(self.registry.list_corridors),
            providers=pages.PROVIDERS,
        )

    @page("GET", "/admin/corridors", roles=ADMINS)
    def admin_corridors(self, call: Call) -> Response:
        return self._corridors_page(call)

    @page("POST", "/admin/corridors", roles=ADMINS, redisplay="_corridors_page")
    def admin_set_corridor(self, call: Call) -> Response:
        self.deadline(
            self.registry.set_corridor,
            call.actor,
            call.form.get("country", "").upper(),
            call.form.get("provider", ""),
        )
        return web.redirect("/admin/corridors")

    @page(
        "GET", "/admin/budgets", roles=(ADMIN, FINANCE), template="admin_budgets.html"
    )
    def admin_budgets(self, call: Call) -> dict[str, Any]:
        return {"programmes": self.deadline(self.stipends.list_programmes, call.actor)}
