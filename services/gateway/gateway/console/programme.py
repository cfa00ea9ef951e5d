"""Program admins' pages about the programme's work: report review, deciding
stipends (a page of 50 at a time, many approved in one action), a stipend's and a
report's trail, the payout corridors. Programmes and cycles: console.programmes."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from gateway import i18n, pages, web
from gateway.base import Call, GatewayBase
from gateway.confirm import confirmation, confirmed
from gateway.console.programmes import amount
from gateway.exceptions import BadRequest
from gateway.http import page
from gateway.roles import ADMIN

ADMINS = (ADMIN,)
PAGE_SIZE = 50
STIPEND_STATUSES = ("proposed", "approved", "rejected")


class ProgrammeConsole(GatewayBase):
    # -- report review and closing a cycle -------------------------------------------
    @page("GET", "/admin/reports", roles=ADMINS)
    def admin_reports(
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

    @page("POST", "/admin/reports/<report_id>", roles=ADMINS, redisplay="admin_reports")
    def admin_review_report(self, call: Call, report_id: str) -> Response:
        self.deadline(
            self.stipends.review_report,
            call.actor,
            report_id,
            call.form.get("decision", ""),
            call.form.get("comment", ""),
        )
        return web.redirect("/admin/reports")

    # -- stipends: a page of 50, one RPC ----------------------------------------------
    def _stipends_page(
        self,
        call: Call,
        error: str | None = None,
        status: int = 200,
        outcomes: list[dict[str, Any]] | None = None,
    ) -> Response:
        """A page of a cycle's stipends from one stipends_page call, whatever the
        cycle's size: filters by status, PAGE_SIZE a page."""
        args = call.request.args
        cycle = pages.ident(call.form.get("cycle") or args.get("cycle", ""), "cycle")
        wanted = call.form.get("status") or args.get("status") or None
        if wanted not in STIPEND_STATUSES:
            wanted = None
        number = call.form.get("page") or args.get("page") or "1"
        number = int(number) if number.isdigit() and int(number) > 0 else 1
        found = self.deadline(
            self.stipends.stipends_page,
            call.actor,
            cycle,
            (number - 1) * PAGE_SIZE,
            PAGE_SIZE,
            wanted,
        )
        pages_total = max(1, -(-found["total"] // PAGE_SIZE))
        me, names = call.actor_id, self.staff_names(call)
        items = [
            {
                **item,
                "approvers": [  # who has approved: "you" for oneself, or their name
                    web.gettext(call.lang, "you")
                    if a["approver_id"] == me
                    else names.get(a["approver_id"], a["approver_id"][:8])
                    for a in item["approvals"]
                    if not a.get("voided_at")
                ],
                # one's own proposal is another admin's to approve: not offered
                "proposer": item.get("proposed_by") == me,
            }
            for item in found["items"]
        ]
        return self.render(
            call,
            "admin_stipends.html",
            status=status,
            cycle=cycle,
            wanted=wanted,
            statuses=STIPEND_STATUSES,
            items=items,
            counts=found["counts"],
            total=found["total"],
            number=number,
            pages_total=pages_total,
            outcomes=outcomes,
            error=error,
        )

    @page("GET", "/admin/stipends", roles=ADMINS)
    def admin_stipends(self, call: Call) -> Response:
        return self._stipends_page(call)

    @page("POST", "/admin/stipends/approvals", roles=ADMINS, redisplay="_stipends_page")
    def admin_approve_stipends(self, call: Call) -> Response:
        """The ticked stipends approved in one call, each bound to the digest its
        row showed; the page comes back with each one's outcome."""
        only = call.form.get("only")
        chosen = [only] if only else call.request.form.getlist("stipend")
        if not chosen:
            raise BadRequest("tick at least one stipend", "nothing_chosen")
        approvals = [
            {
                "stipend_id": pages.ident(ident, "stipend"),
                "digest": call.form.get(f"digest-{ident}", ""),
            }
            for ident in chosen
        ]
        done = self.deadline(self.stipends.approve_stipends, call.actor, approvals)
        outcomes = [
            {
                **outcome,
                "said": web.refusal(call.lang, outcome["code"], outcome["message"])
                if outcome["outcome"] == "refused"
                else "",
            }
            for outcome in done
        ]
        return self._stipends_page(call, outcomes=outcomes)

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
        elif step == "reject" and not confirmed(call):
            stipend = self.deadline(self.stipends.get_stipend, call.actor, stipend_id)
            cycles = self.deadline(
                self.stipends.list_cycles, call.actor, stipend["programme_id"]
            )
            period = next(
                (c["period"] for c in cycles if c["id"] == stipend["cycle_id"]), ""
            )
            return confirmation(
                self,
                call,
                "reject_stipend",
                f"/admin/stipends?cycle={cycle}",
                stipend=stipend,
                period=period,
                reason=call.form.get("reason", ""),
            )
        elif step == "reject":
            self.deadline(
                self.stipends.reject_stipend,
                call.actor,
                stipend_id,
                call.form.get("reason", ""),
            )
        elif step == "amend":
            self.deadline(
                self.stipends.amend_stipend,
                call.actor,
                stipend_id,
                amount(
                    call.form.get("amount"), call.form.get("currency", ""), "amount"
                ),
                call.form.get("reason", ""),
            )
        else:
            raise BadRequest("choose a step", "unknown_action")
        if call.form.get("back") == "record":
            return web.redirect(f"/admin/stipends/{pages.ident(stipend_id)}")
        return web.redirect(f"/admin/stipends?cycle={cycle}")

    # -- a stipend's and a report's trail ----------------------------------------------
    def _trail(
        self, call: Call, kind: str, ident: str, names: dict[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """The record's trail, each step's actor named: you, a staff member by
        their name, or (`names`) the communicator by their pseudonym."""
        me, names = call.actor_id, {**self.staff_names(call), **(names or {})}
        return [
            {
                **line,
                "by": "you" if line["actor_id"] == me else line["actor_id"],
                "who": names.get(line["actor_id"] or ""),  # a staff member's name
            }
            for line in self.deadline(
                self.stipends.get_activity, call.actor, kind, ident
            )
        ]

    @page("GET", "/admin/stipends/<stipend_id>", roles=ADMINS)
    def admin_stipend(self, call: Call, stipend_id: str) -> Response:
        ident = pages.ident(stipend_id, "stipend")
        stipend = self.deadline(self.stipends.get_stipend, call.actor, ident)
        payee = self.deadline(
            self.stipends.get_communicator, stipend["communicator_id"]
        )
        return self.render(
            call,
            "admin_stipend.html",
            kind="stipend",
            stipend=stipend,
            pseudonym=payee["pseudonym"],
            trail=self._trail(call, "stipend", ident),
        )

    @page("GET", "/admin/reports/<report_id>/activity", roles=ADMINS)
    def admin_report_activity(self, call: Call, report_id: str) -> Response:
        """A report's trail, its author named by their pseudonym (the one who
        drafted it; an erased person has none)."""
        ident = pages.ident(report_id, "report")
        lines = self.deadline(self.stipends.get_activity, call.actor, "report", ident)
        author = next(
            (ln["actor_id"] for ln in lines if ln["action"] == "drafted"), None
        )
        pseudonym = (
            self.deadline(self.stipends.get_communicator, author).get("pseudonym")
            if author
            else None
        )
        return self.render(
            call,
            "admin_stipend.html",
            kind="report",
            report_id=ident,
            pseudonym=pseudonym,
            trail=self._trail(
                call,
                "report",
                ident,
                {author: pseudonym} if author and pseudonym else None,
            ),
        )

    # -- corridors and budgets -------------------------------------------------------
    @page("GET", "/admin/corridors", roles=ADMINS)
    def admin_corridors(
        self, call: Call, error: str | None = None, status: int = 200
    ) -> Response:
        return self.render(
            call,
            "admin_corridors.html",
            status=status,
            error=error,
            # by the country's name in the reader's language, as the list of
            # countries to add a route for is
            corridors=[
                {**row, "name": i18n.country(call.lang, row["country"])}
                for row in self.deadline(self.registry.list_corridors)
            ],
            providers=pages.PROVIDERS,
        )

    @page("POST", "/admin/corridors", roles=ADMINS, redisplay="admin_corridors")
    def admin_set_corridor(self, call: Call) -> Response:
        self.deadline(
            self.registry.set_corridor,
            call.actor,
            call.form.get("country", "").upper(),
            call.form.get("provider", ""),
        )
        return web.redirect("/admin/corridors")
