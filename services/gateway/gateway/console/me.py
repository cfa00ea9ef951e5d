"""A communicator's own pages (a club coordinator is one too): home, payout set-up,
bank details, whether a paid payout arrived, vouch requests, the second factor,
erasure, the cycle's report; and everyone's inbox and preferences."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Response

from gateway import logic, pages, web
from gateway.base import Call, GatewayBase
from gateway.confirm import confirmation, confirmed
from gateway.exceptions import UpstreamUnavailable
from gateway.http import SECOND_FACTOR, TEXT_BODY, page
from gateway.roles import COMMUNICATOR, SIGNED_IN
from gateway.waiting import waiting_for
from svyaz.errors import Forbidden, InvalidInput, NotFound, ServiceError

# the bank-details form's fields, as its labels name them (a refusal says which)
BANK_FIELDS = {
    "holder": "Account holder (as the bank knows them)",
    "iban": "IBAN",
    "bic": "BIC",
}

OWN = (COMMUNICATOR,)


class MeConsole(GatewayBase):
    def _own_stipends(self, call: Call) -> list[dict[str, Any]] | None:
        """The home page's history, or None while stipends does not answer (the
        rest of the page still shows)."""
        try:
            found: list[dict[str, Any]] = self.deadline(
                self.stipends.own_stipends, call.actor
            )
        except UpstreamUnavailable:
            return None
        return found

    def _home(self, call: Call, **context: Any) -> dict[str, Any]:
        me = self.deadline(self.registry.get_own_status, call.actor)
        stipends = self._own_stipends(call)
        return {
            "me": me,
            "setup": None,
            "stipends": stipends,
            "waiting": waiting_for(self, call, me=me, stipends=stipends or []),
            **context,
        }

    def _home_page(
        self, call: Call, error: str | None = None, status: int = 200
    ) -> Response:
        return self.render(
            call, "me.html", status=status, **self._home(call, error=error)
        )

    @page("GET", "/me", roles=OWN, template="me.html")
    def me(self, call: Call) -> dict[str, Any]:
        return self._home(call)

    @page(
        "POST",
        "/me/payouts/<payout_id>/receipt",
        roles=OWN,
        template="me.html",
        redisplay="_home_page",
    )
    def me_confirm_receipt(self, call: Call, payout_id: str) -> dict[str, Any]:
        """A paid payout of one's own: it arrived, or it did not (with a note for
        finance, whose work queue it joins). stipends checks that it is theirs and
        paid."""
        received = call.form.get("received")
        if received not in ("yes", "no"):
            raise InvalidInput("say whether the payment arrived", "unknown_action")
        answer = self.deadline(
            self.stipends.confirm_receipt,
            call.actor,
            pages.ident(payout_id, "payout_id"),
            received == "yes",
            call.form.get("note", ""),
        )
        return self._home(call, receipt_saved=answer)

    @page("GET", "/me/payouts", roles=OWN)
    def me_payouts_back(self, call: Call) -> Response:
        """Where Stripe's hosted onboarding sends the communicator back: the set-up
        is asked of Stripe through the registry at once (Global Payouts has no
        webhook here; Connect's comes a moment later), then their home page shows
        where it stands."""
        try:
            self.deadline(self.registry.refresh_payout_setup, call.actor)
        except UpstreamUnavailable:
            pass  # the registry's own check comes later
        return web.redirect("/me")

    @page("POST", "/me/payout-setup", roles=OWN, template="me.html")
    def me_payout_setup(self, call: Call) -> dict[str, Any]:
        setup = self.deadline(self.registry.start_payout_setup, call.actor)
        return self._home(call, setup=setup)

    @page("POST", "/me/bank-details", roles=OWN, template="me.html")
    def me_bank_details(self, call: Call) -> Any:
        """The bank-file corridor's payout destination, straight to the registry
        (encrypted there); it is never echoed back, not even on an error."""
        details = {
            "holder": call.form.get("holder", ""),
            "iban": call.form.get("iban", "").replace(" ", "").upper(),
            "bic": call.form.get("bic", "").replace(" ", "").upper(),
        }
        try:
            self.deadline(self.registry.set_bank_details, call.actor, details)
        except InvalidInput as exc:
            # a known fault (an IBAN short for its country, a BIC's country) in
            # the person's language, saying what to fix; else the fields' messages
            said = web.refusal(call.lang, exc.code, exc.message)
            specific = exc.code != "invalid_input" and said != exc.message
            context = self._home(
                call,
                setup={"provider": "bank_file", "next": "bank_details"},
                bank_error=said
                if specific
                else "; ".join(
                    f"{web.gettext(call.lang, BANK_FIELDS.get(name, name))}: "
                    f"{web.field_fault(call.lang, messages)}"
                    for name, messages in exc.fields.items()
                )
                or said,
            )
            return self.render(call, "me.html", status=400, **context)
        return self._home(call, bank_saved=True)

    # -- vouching for applicants who named you ---------------------------------------
    def _vouches_page(
        self,
        call: Call,
        error: str | None = None,
        status: int = 200,
        answered: str | None = None,
    ) -> Response:
        found = self.deadline(self.registry.list_vouch_requests, call.actor)
        return self.render(
            call,
            "me_vouches.html",
            status=status,
            requests=found,
            error=error,
            answered=answered,
        )

    @page("GET", "/me/vouches", roles=OWN)
    def me_vouches(self, call: Call) -> Response:
        return self._vouches_page(call)

    @page("POST", "/me/vouches/<vouch_id>", roles=OWN, redisplay="_vouches_page")
    def me_answer_vouch(self, call: Call, vouch_id: str) -> Response:
        """Confirm or decline, once; the registry checks that the request names
        this member (anyone else is told there is no such request)."""
        answer = call.form.get("answer")
        if answer not in ("confirm", "decline"):
            raise InvalidInput("say whether you vouch for this person", "no_answer")
        done = self.deadline(
            self.registry.answer_vouch,
            call.actor,
            pages.ident(vouch_id, "vouch_id"),
            answer,
        )
        return self._vouches_page(call, answered=done["state"])

    def _security_page(
        self, call: Call, error: str | None = None, status: int = 200, **context: Any
    ) -> Response:
        return self.render(
            call,
            "security.html",
            status=status,
            **{"secret": None, "done": False, "error": error, **context},
        )

    @page("GET", "/me/security", roles=OWN)
    def me_security(self, call: Call) -> Response:
        return self._security_page(call)

    @page("POST", "/me/security", roles=OWN)
    def me_offer_second_factor(self, call: Call) -> Response:
        try:
            offer = self.deadline(self.registry.offer_second_factor, call.actor)
        except Forbidden as exc:
            return self._security_page(
                call, web.refusal(call.lang, exc.code, exc.message), 409
            )
        uri = offer["enrollment_uri"]
        return self._security_page(
            call, secret=pages.totp_secret(uri), qr=pages.qr_svg(uri)
        )

    @page("POST", "/me/security/confirm", roles=OWN, throttle=SECOND_FACTOR)
    def me_confirm_second_factor(self, call: Call) -> Response:
        confirmed = self.deadline(
            self.registry.confirm_second_factor, call.actor, call.form.get("code", "")
        )
        if not confirmed["confirmed"]:
            return self._security_page(call, call.texts["failed_sign_in"], 400)
        with self.db.transaction() as session:  # the sign-in now has its factor
            logic.store_assertion(session.merge(call.row), confirmed["actor"])
        return self._security_page(call, done=True)

    @page("POST", "/me/erase", roles=OWN)
    def me_erase(self, call: Call) -> Response:
        if call.form.get("confirm") != "yes":
            raise InvalidInput("confirm the erasure", "unconfirmed")
        if not confirmed(call):
            return confirmation(self, call, "erase_self", "/me")
        texts = call.texts
        self.erase_self(call, call.form.get("reason", ""))
        call.row = None
        response = self.render(call, "message.html", message=texts["erased"])
        response.delete_cookie(web.SESSION_COOKIE, path="/")
        return response

    # -- the cycle's report ----------------------------------------------------------
    def _open_cycles(self, call: Call) -> list[dict[str, Any]]:
        """The cycles taking reports, the earliest deadline first."""
        cycles = self.deadline(self.stipends.list_cycles, call.actor)
        return sorted(
            (c for c in cycles if c["status"] == "open"), key=lambda c: c["deadline"]
        )

    def _report_page(
        self,
        call: Call,
        *,
        values: dict[str, Any] | None = None,
        redacted: list[str] | None = None,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        open_ = self._open_cycles(call)
        # the one asked for (`?cycle=`, or the form's), else one whose report an
        # admin sent back for changes, else the earliest deadline
        wanted = (
            call.request.args.get("cycle")
            or call.form.get("cycle_id")
            or call.typed.get("cycle_id")  # a form refused unread
        )
        read: dict[str, list[dict[str, Any]]] = {}

        def reports_of(cycle_id: str) -> list[dict[str, Any]]:
            if cycle_id not in read:
                read[cycle_id] = self.deadline(
                    self.stipends.list_reports, call.actor, cycle_id
                )
            return read[cycle_id]

        if not wanted and len(open_) > 1:
            wanted = next(
                (
                    c["id"]
                    for c in open_
                    if any(
                        r["status"] == "changes_requested" for r in reports_of(c["id"])
                    )
                ),
                None,
            )
        first = open_[0] if open_ else None
        cycle = next((c for c in open_ if c["id"] == wanted), first)
        reports = reports_of(cycle["id"]) if cycle else []
        draft = next(
            (r for r in reports if r["status"] in ("draft", "changes_requested")),
            None,
        )
        if draft is None and cycle and not _passed(cycle["deadline"]):
            # a sent report is changed in place until the deadline, never sent twice
            draft = next((r for r in reports if r["status"] == "submitted"), None)
        strategy = self._shared_strategy(call)
        return self.render(
            call,
            "report.html",
            status=status,
            cycle=cycle,
            other_cycles=[c for c in open_ if c is not cycle],
            reports=reports,
            draft=draft,
            values=pages.report_values(draft, call.lang) if values is None else values,
            redacted=redacted,
            error=error,
            strategy=strategy,
            **pages.REPORT_CHOICES,
        )

    def _shared_strategy(self, call: Call) -> int | None:
        """The number of the latest version of one's strategy that is shared (what
        a report is written against), or None."""
        try:
            view = self.deadline(self.stipends.get_strategy, call.actor, call.actor_id)
        except (UpstreamUnavailable, ServiceError):
            return None
        versions = (view.get("strategy") or {}).get("versions", [])
        shared = [v["number"] for v in versions if v["status"] == "shared"]
        return max(shared) if shared else None

    @page("GET", "/me/report", roles=OWN)
    def me_report(self, call: Call) -> Response:
        return self._report_page(call)

    def _report_redisplay(
        self, call: Call, error: str | None = None, status: int = 200, **_: Any
    ) -> Response:
        """The report form refused before it was read (a text too long): drawn
        again as typed, the fault at its field."""
        content = pages.report_from_form(call.request.form)
        return self._report_page(
            call,
            values=pages.report_values(content, call.lang),
            error=error,
            status=status,
        )

    @page(
        "POST",
        "/me/report",
        roles=OWN,
        max_body=TEXT_BODY,
        redisplay="_report_redisplay",
    )
    def me_report_save(self, call: Call) -> Response:
        content = pages.report_from_form(call.request.form)
        try:
            if call.form.get("report_id"):
                saved = self.deadline(
                    self.stipends.edit_report,
                    call.actor,
                    call.form["report_id"],
                    content,
                )
            else:
                saved = self.deadline(
                    self.stipends.save_report_draft,
                    call.actor,
                    call.form.get("cycle_id", ""),
                    content,
                )
            # a sent report that was changed stays sent (and is announced again)
            if (
                call.form.get("action") == "submit"
                and saved["report"]["status"] != "submitted"
            ):
                self.deadline(
                    self.stipends.submit_report, call.actor, saved["report"]["id"]
                )
        except ServiceError as exc:
            if isinstance(exc, (Forbidden, NotFound)):
                raise
            self.keep_form(call, exc)
            return self._report_page(
                call,
                values=pages.report_values(content, call.lang),
                error=web.refusal(call.lang, exc.code, exc.message),
                status=400,
            )
        return self._report_page(call, redacted=saved["redacted"])

    # -- everyone's inbox and preferences --------------------------------------------
    @page("GET", "/me/inbox", roles=SIGNED_IN, template="inbox.html")
    def me_inbox(self, call: Call) -> dict[str, Any]:
        messages = self.deadline(
            self.notifications.list_inbox, call.actor, {"language": call.lang}
        )
        return {"messages": messages}

    @page("POST", "/me/inbox/<int:message_id>/read", roles=SIGNED_IN)
    def me_mark_read(self, call: Call, message_id: int) -> Response:
        self.deadline(self.notifications.mark_read, call.actor, message_id)
        return web.redirect("/me/inbox")

    @page("GET", "/me/preferences", roles=SIGNED_IN)
    def me_preferences(
        self, call: Call, error: str | None = None, status: int = 200
    ) -> Response:
        found = self.deadline(self.notifications.get_preferences, call.actor)
        return self.render(
            call,
            "preferences.html",
            status=status,
            prefs=found,
            error=error,
            saved=error is None and call.request.args.get("saved") == "1",
        )

    @page(
        "POST",
        "/me/preferences",
        roles=SIGNED_IN,
        redisplay="me_preferences",
    )
    def me_set_preferences(self, call: Call) -> Response:
        """Saved, then the page again by GET (a reload does not post twice); in
        the language chosen, which the pages speak from now on, over one picked
        before with the switcher (its cookie: `?lang` sets it anew)."""
        changes = pages.preferences_from_form(call.request.form, call.actor["roles"])
        saved = self.deadline(self.notifications.set_preferences, call.actor, changes)
        chosen = self.preferences_saved(call, saved).get("language")
        spoken = f"&lang={chosen}" if chosen in web.LANGUAGES else ""
        return web.redirect(f"/me/preferences?saved=1{spoken}")


def _passed(moment: str) -> bool:
    return datetime.fromisoformat(moment) <= datetime.now(UTC)
