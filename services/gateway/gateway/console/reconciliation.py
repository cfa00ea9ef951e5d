"""Finance staff's reconciliation pages: starting one for a provider's period (from
its API, or an uploaded file), the work queue of differences (a link picks the
payout from a list), the sign-off, the export, and the bank statement's import."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from werkzeug.wrappers import Response

from gateway import pages, web
from gateway.base import Call, GatewayBase
from gateway.confirm import confirmation, confirmed
from gateway.console.finance import download
from gateway.exceptions import BadRequest
from gateway.http import TEXT_BODY, UPLOAD_BODY, page
from gateway.roles import ADMIN, FINANCE
from gateway.schemas import CONTENT
from svyaz import exports
from svyaz.errors import InvalidInput, NotFound

FINANCE_ONLY = (FINANCE,)
MAX_UPLOAD = CONTENT  # a period's report or statement, in characters
PAGE_ITEMS = 100  # differences per page of the work queue
STATES = ("open", "linked", "written_off", "repaid", "all")


def uploaded(call: Call) -> str | None:
    """A form's file (`file`), or else its pasted text (`content`)."""
    upload = call.request.files.get("file")
    content = (
        upload.read(MAX_UPLOAD + 1).decode("utf-8", "replace")
        if upload and upload.filename
        else call.form.get("content") or None
    )
    if content is not None and len(content) > MAX_UPLOAD:
        raise InvalidInput("the file is too large", "content_too_large")
    return content


class ReconciliationConsole(GatewayBase):
    @page("GET", "/finance/reconciliations", roles=FINANCE_ONLY)
    def finance_reconciliations(
        self, call: Call, error: str | None = None, status: int = 200
    ) -> Response:
        found = self.deadline(self.stipends.list_reconciliations, call.actor, 50, 0)
        return self.render(
            call,
            "finance_reconciliations.html",
            status=status,
            reconciliations=found,
            error=error,
        )

    @page(
        "POST",
        "/finance/reconciliations",
        roles=FINANCE_ONLY,
        max_body=UPLOAD_BODY,
        redisplay="finance_reconciliations",
    )
    def finance_reconcile(self, call: Call) -> Response:
        """Start one: the provider, the period, and where its rows come from (the
        provider's API, or a file: Stripe's itemized report or the bank's
        statement, uploaded or pasted)."""
        content = uploaded(call)
        found = self.deadline(
            self.stipends.reconcile_period,
            call.actor,
            call.form.get("provider", ""),
            call.form.get("period_start", ""),
            call.form.get("period_end", ""),
            call.form.get("source", "api"),
            content,
        )
        return web.redirect(f"/finance/reconciliations/{found['id']}")

    @page("GET", "/finance/reconciliations/<reconciliation_id>", roles=FINANCE_ONLY)
    def finance_reconciliation(
        self,
        call: Call,
        reconciliation_id: str,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        args = call.request.args
        state = args.get("state", "open")
        if state not in STATES:
            state = "open"
        after = args.get("after", "0")
        after_id = int(after) if after.isdigit() and len(after) < 18 else 0
        rec = self.deadline(
            self.stipends.get_reconciliation, call.actor, reconciliation_id
        )
        items = self.deadline(
            self.stipends.list_reconciliation_items,
            call.actor,
            reconciliation_id,
            None if state == "all" else state,
            None,
            after_id,
            PAGE_ITEMS,
        )
        candidates = (
            self.deadline(
                self.stipends.list_link_candidates, call.actor, reconciliation_id
            )
            if rec["status"] == "open"
            else []
        )
        return self.render(
            call,
            "finance_reconciliation.html",
            status=status,
            rec=rec,
            items=items,
            candidates=candidates,
            me=call.actor_id,
            names=self.staff_names(call),
            state=state,
            next_after=items[-1]["id"] if len(items) == PAGE_ITEMS else None,
            error=error,
            # a reconciliation run before its period ended is not signed off:
            # the page says whether to wait or to run the period again
            in_progress=rec["period_end"] > datetime.now(UTC).date().isoformat(),
            last_day=(date.fromisoformat(rec["period_end"]) - timedelta(days=1)),
        )

    @page(
        "POST",
        "/finance/reconciliations/<reconciliation_id>/resolve",
        roles=FINANCE_ONLY,
        max_body=TEXT_BODY,
        redisplay="finance_reconciliation",
    )
    def finance_resolve(self, call: Call, reconciliation_id: str) -> Response:
        """The queue's form: the ticked items (`item`, many), one action, one
        reason, and for `link` the payout."""
        ident = pages.ident(reconciliation_id, "reconciliation_id")
        raw = call.request.form.getlist("item")
        if not raw or not all(v.isdigit() and len(v) < 18 for v in raw):
            raise InvalidInput("tick at least one difference", "nothing_ticked")
        self.deadline(
            self.stipends.resolve_reconciliation_items,
            call.actor,
            ident,
            [int(v) for v in raw],
            call.form.get("action", ""),
            call.form.get("reason", ""),
            call.form.get("payout_id") or None,
            call.form.get("write_off_to") or None,
        )
        return web.redirect(f"/finance/reconciliations/{ident}")

    @page(
        "POST",
        "/finance/reconciliations/<reconciliation_id>/sign-off",
        roles=FINANCE_ONLY,
        redisplay="finance_reconciliation",
    )
    def finance_sign_off(self, call: Call, reconciliation_id: str) -> Response:
        ident = pages.ident(reconciliation_id, "reconciliation_id")
        if not call.form.get("note"):  # said on the page, before asking to confirm
            raise BadRequest("write a note", "note_required", {"note": ["required"]})
        if not confirmed(call):
            rec = self.deadline(self.stipends.get_reconciliation, call.actor, ident)
            return confirmation(
                self,
                call,
                "sign_off",
                f"/finance/reconciliations/{ident}",
                rec=rec,
                note=call.form.get("note", ""),
            )
        self.deadline(
            self.stipends.sign_off_reconciliation,
            call.actor,
            ident,
            call.form.get("note", ""),
        )
        return web.redirect(f"/finance/reconciliations/{ident}")

    @page(
        "GET",
        "/finance/reconciliations/<reconciliation_id>/items.<kind>",
        roles=(FINANCE, ADMIN),
    )
    def finance_reconciliation_export(
        self, call: Call, reconciliation_id: str, kind: str
    ) -> Response:
        """Every difference, resolved or not, with the summary (XLSX: two sheets)."""
        if kind not in ("csv", "xlsx"):
            raise NotFound("no such download")
        ident = pages.ident(reconciliation_id, "reconciliation_id")
        rec = self.deadline(self.stipends.get_reconciliation, call.actor, ident)
        items: list[dict[str, Any]] = []
        while True:
            batch = self.deadline(
                self.stipends.list_reconciliation_items,
                call.actor,
                ident,
                None,
                None,
                items[-1]["id"] if items else 0,
                1000,
            )
            items += batch
            if len(batch) < 1000:
                break
        body, mime = exports.reconciliation(kind, rec, items)
        return download(
            body, mime, f"reconciliation-{rec['provider']}-{rec['period_start']}.{kind}"
        )

    # -- the bank's statement ------------------------------------------------------
    def _statement_page(
        self,
        call: Call,
        error: str | None = None,
        status: int = 200,
        result: dict[str, Any] | None = None,
    ) -> Response:
        return self.render(
            call,
            "finance_statement.html",
            status=status,
            result=result,
            error=error,
        )

    @page("GET", "/finance/bank-statements", roles=FINANCE_ONLY)
    def finance_statement(self, call: Call) -> Response:
        return self._statement_page(call)

    @page(
        "POST",
        "/finance/bank-statements",
        roles=FINANCE_ONLY,
        max_body=UPLOAD_BODY,
        redisplay="_statement_page",
    )
    def finance_import_statement(self, call: Call) -> Response:
        """Booked lines pay their bank payouts, returned ones fail them; what the
        import did is shown at once, with the lines it could not match."""
        content = uploaded(call)
        if content is None:
            raise InvalidInput("choose a file or paste it", "content_required")
        result = self.deadline(self.stipends.import_bank_statement, call.actor, content)
        return self._statement_page(call, result=result)
