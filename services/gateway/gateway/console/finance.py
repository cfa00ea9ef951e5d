"""Finance staff's pages: building, checking and releasing payout runs, the run's
exports and bank file, each payout's page (its trail, and finance's actions on it),
and the queue of payouts their payee says did not arrive."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from gateway import pages, web
from gateway.api.payouts import BANK_FILES, bank_file_name
from gateway.base import Call, GatewayBase
from gateway.confirm import confirmation, confirmed
from gateway.http import CONFIRMED_SECOND_FACTOR, page, secure
from gateway.roles import ADMIN, FINANCE
from gateway.schemas import RECEIPT_RESOLUTIONS
from gateway.waiting import waiting_for
from svyaz import exports
from svyaz.errors import InvalidInput, NotFound

FINANCE_ONLY = (FINANCE,)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PAYOUT_ACTIONS = ("retry", "cancel", "mark_paid_offline", "mark_failed")
BANK_FILE_KINDS = {"xml": "pain.001", "csv": "csv"}  # the download's extension
# what finance may do to a payout in each state (stipends' rules, to offer only
# actions that can work; stipends decides)
ACTIONS_BY_STATUS = {
    "queued": ("retry", "cancel", "mark_paid_offline", "mark_failed"),
    "calling": ("retry",),
    "sent": ("mark_paid_offline",),
    "failed": ("retry", "cancel", "mark_paid_offline"),
}


def download(body: Any, mime: str, filename: str) -> Response:
    response = Response(body, mimetype=mime)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return secure(response)


class FinanceConsole(GatewayBase):
    @page("GET", "/finance", roles=FINANCE_ONLY, template="finance.html")
    def finance_home(self, call: Call) -> dict[str, Any]:
        return self._finance_home(call)

    def _finance_home_page(
        self, call: Call, error: str | None = None, status: int = 200
    ) -> Response:
        """The finance home again, with a refusal at its top (a run not built)."""
        return self.render(
            call,
            "finance.html",
            status=status,
            **{**self._finance_home(call), "error": error},
        )

    def _finance_home(self, call: Call) -> dict[str, Any]:
        cycles = [
            c
            for c in self.deadline(self.stipends.list_cycles, call.actor)
            if c["status"] in ("closed", "locked")
        ]
        problems = self.deadline(
            self.stipends.list_receipt_problems, call.actor, "open"
        )
        runs: dict[str, list[dict[str, Any]]] = {}
        for run in self.deadline(self.stipends.list_payout_runs, call.actor):
            runs.setdefault(run["cycle_id"], []).append(run)
        programmes = {  # each cycle named with its programme's name
            p["id"]: p["name"]
            for p in self.deadline(self.stipends.list_programmes, call.actor)
        }
        return {
            "cycles": cycles,
            "programmes": programmes,
            "runs": runs,
            "open_problems": len(problems),
            "error": None,
            "waiting": waiting_for(self, call),
        }

    @page(
        "POST",
        "/finance/cycles/<cycle_id>/runs",
        roles=FINANCE_ONLY,
        redisplay="_finance_home_page",
    )
    def finance_build_run(self, call: Call, cycle_id: str) -> Response:
        run = self.deadline(self.stipends.build_payout_run, call.actor, cycle_id)
        return web.redirect(f"/finance/runs/{run['id']}")

    def _run_page(
        self, call: Call, run_id: str, error: str | None = None, status: int = 200
    ) -> Response:
        return self.render(
            call,
            "finance_run.html",
            status=status,
            run=self.deadline(self.stipends.get_payout_run, call.actor, run_id),
            payouts=self.deadline(self.stipends.list_payouts, call.actor, run_id),
            actions_by_status=ACTIONS_BY_STATUS,
            error=error,
        )

    def _release_page(
        self, call: Call, run_id: str, error: str | None = None, status: int = 200
    ) -> Response:
        """What a release will send, and the code from the authenticator app
        asked there; a refused code (or totals changed since) is said there."""
        ident = pages.ident(run_id, "run_id")
        run = self.deadline(self.stipends.get_payout_run, call.actor, ident)
        if run["status"] != "draft":  # released meanwhile: the run's page says so
            return self._run_page(call, ident, error, status)
        back = f"/finance/runs/{ident}"
        return confirmation(
            self, call, "release_run", back, error=error, status=status, run=run
        )

    @page("GET", "/finance/runs/<run_id>", roles=FINANCE_ONLY)
    def finance_run(self, call: Call, run_id: str) -> Response:
        return self._run_page(call, run_id)

    @page("GET", "/finance/runs/<run_id>/payouts.<kind>", roles=(FINANCE, ADMIN))
    def finance_export(self, call: Call, run_id: str, kind: str) -> Response:
        if kind not in ("csv", "xlsx"):
            raise NotFound("no such download")
        payouts = self.deadline(self.stipends.list_payouts, call.actor, run_id)
        if kind == "csv":
            body, mime = exports.as_csv(payouts), "text/csv"
        else:
            body, mime = exports.as_xlsx(payouts), XLSX
        return download(body, mime, f"run-{run_id[:8]}-payouts.{kind}")

    @page(
        "POST",
        "/finance/runs/<run_id>/release",
        roles=FINANCE_ONLY,
        redisplay="_release_page",
        throttle=CONFIRMED_SECOND_FACTOR,
    )
    def finance_release(self, call: Call, run_id: str) -> Response:
        if not confirmed(call):
            return self._release_page(call, run_id)
        self.deadline(
            self.stipends.release_payout_run,
            call.actor,
            run_id,
            call.form.get("totals_digest", ""),
            call.form.get("code", ""),
        )
        return web.redirect(f"/finance/runs/{pages.ident(run_id, 'run_id')}")

    @page("GET", "/finance/runs/<run_id>/bank-file.<kind>", roles=FINANCE_ONLY)
    def finance_bank_file(self, call: Call, run_id: str, kind: str) -> Response:
        """The file for the bank: pain.001 (ISO 20022 XML) or CSV, of the run's
        sent bank transfers, with the payees' account details read now."""
        fmt = BANK_FILE_KINDS.get(kind)
        if fmt is None:
            raise NotFound("no such download")
        ident = pages.ident(run_id, "run_id")
        content = self.deadline(self.stipends.payout_bank_file, call.actor, ident, fmt)
        mime = BANK_FILES[fmt][0]
        return download(content.encode(), mime, bank_file_name(ident, fmt))

    def _payout_page(
        self,
        call: Call,
        payout_id: str,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        ident = pages.ident(payout_id, "payout_id")
        payout = self.deadline(self.stipends.get_payout, call.actor, ident)
        return self.render(
            call,
            "finance_payout.html",
            status=status,
            payout=payout,
            names=self.staff_names(call),
            actions=ACTIONS_BY_STATUS.get(payout["status"], ()),
            error=error,
        )

    @page("GET", "/finance/payouts/<payout_id>", roles=(FINANCE, ADMIN))
    def finance_payout(self, call: Call, payout_id: str) -> Response:
        return self._payout_page(call, payout_id)

    def _payout_refused(
        self, call: Call, payout_id: str, error: str | None = None, status: int = 200
    ) -> Response:
        """Drawn again where the action was asked: the payout's page, or its run's."""
        if call.form.get("back") == "payout":
            return self._payout_page(call, payout_id, error, status)
        run_id = pages.ident(call.form.get("run_id", ""), "run_id")
        return self._run_page(call, run_id, error, status)

    @page(
        "POST",
        "/finance/payouts/<payout_id>",
        roles=FINANCE_ONLY,
        redisplay="_payout_refused",
    )
    def finance_payout_action(self, call: Call, payout_id: str) -> Response:
        ident = pages.ident(payout_id, "payout_id")
        action = call.form.get("action", "")
        if action not in PAYOUT_ACTIONS:
            raise InvalidInput("choose what to do with the payout", "unknown_action")
        run_id = (
            None
            if call.form.get("back") == "payout"
            else pages.ident(call.form.get("run_id", ""), "run_id")
        )
        self.deadline(
            self.stipends.payout_action,
            call.actor,
            ident,
            action,
            call.form.get("reason", ""),
        )
        if run_id is None:
            return web.redirect(f"/finance/payouts/{ident}")
        return web.redirect(f"/finance/runs/{run_id}")

    # -- payouts their payee says did not arrive ----------------------------------
    @page("GET", "/finance/receipts", roles=FINANCE_ONLY)
    def finance_receipts(
        self, call: Call, error: str | None = None, status: int = 200
    ) -> Response:
        problems = {
            state: self.deadline(self.stipends.list_receipt_problems, call.actor, state)
            for state in ("open", "resolved")
        }
        return self.render(
            call,
            "finance_receipts.html",
            status=status,
            problems=problems,
            resolutions=RECEIPT_RESOLUTIONS,
            error=error,
        )

    @page(
        "POST",
        "/finance/receipts/<problem_id>",
        roles=FINANCE_ONLY,
        redisplay="finance_receipts",
    )
    def finance_resolve_receipt(self, call: Call, problem_id: str) -> Response:
        resolution = call.form.get("resolution", "")
        if resolution not in RECEIPT_RESOLUTIONS:
            raise InvalidInput("choose what was found", "resolution_required")
        if not call.form.get("note"):
            raise InvalidInput("say what was found and done", "note_required")
        self.deadline(
            self.stipends.resolve_receipt_problem,
            call.actor,
            pages.ident(problem_id, "problem_id"),
            resolution,
            call.form.get("note", ""),
        )
        return web.redirect("/finance/receipts#resolved")
