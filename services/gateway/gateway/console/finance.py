"""Finance staff's pages: building, checking and releasing payout runs, acting on
single payouts, and the run's export."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from gateway import exports, pages, web
from gateway.base import Call, GatewayBase
from gateway.http import page, secure
from gateway.roles import ADMIN, FINANCE
from svyaz.errors import NotFound

FINANCE_ONLY = (FINANCE,)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(body: Any, mime: str, filename: str) -> Response:
    response = Response(body, mimetype=mime)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return secure(response)


class FinanceConsole(GatewayBase):
    @page("GET", "/finance", roles=FINANCE_ONLY, template="finance.html")
    def finance_home(self, call: Call) -> dict[str, Any]:
        cycles = [
            c
            for c in self.deadline(self.stipends.list_cycles, call.actor)
            if c["status"] in ("closed", "locked")
        ]
        return {"cycles": cycles, "error": None}

    @page("POST", "/finance/cycles/<cycle_id>/runs", roles=FINANCE_ONLY)
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
            error=error,
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
        redisplay="_run_page",
    )
    def finance_release(self, call: Call, run_id: str) -> Response:
        self.deadline(
            self.stipends.release_payout_run,
            call.actor,
            run_id,
            call.form.get("totals_digest", ""),
            call.form.get("code", ""),
        )
        return web.redirect(f"/finance/runs/{pages.ident(run_id, 'run_id')}")

    def _payout_refused(
        self, call: Call, error: str | None = None, status: int = 200
    ) -> Response:
        run_id = pages.ident(call.form.get("run_id", ""), "run_id")
        return self._run_page(call, run_id, error, status)

    @page(
        "POST",
        "/finance/payouts/<payout_id>",
        roles=FINANCE_ONLY,
        redisplay="_payout_refused",
    )
    def finance_payout_action(self, call: Call, payout_id: str) -> Response:
        run_id = pages.ident(call.form.get("run_id", ""), "run_id")
        self.deadline(
            self.stipends.payout_action,
            call.actor,
            payout_id,
            call.form.get("action", ""),
            call.form.get("reason", ""),
        )
        return web.redirect(f"/finance/runs/{run_id}")
