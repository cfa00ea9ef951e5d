"""The pages open to everyone: the front page, applying, signing in (with the
second factor's enrollment), signing out, and forgotten passwords."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from werkzeug.wrappers import Request, Response

from gateway import drafts, logic, pages, web
from gateway.base import Call, GatewayBase
from gateway.http import (
    APPLY,
    APPLY_DRAFT,
    NEW_PASSWORD,
    RESET,
    SECOND_FACTOR,
    SIGN_IN,
    TEXT_BODY,
    page,
    raw,
)
from svyaz.errors import InvalidInput

# where the quick exit leaves for: a busy, neutral page that many people open every day
QUICK_EXIT = "https://www.wikipedia.org/"


class PublicConsole(GatewayBase):
    @page("GET", "/", roles=None, template="index.html")
    def index(self, call: Call) -> dict[str, Any] | Response:
        """The public front page; someone signed in goes on to their own first
        page (what waits for them), as after signing in."""
        row = self.session_of(call.request)
        if row is not None and row.stage == "full":
            return web.redirect(pages.landing(sorted(row.role_set)))
        call.row = row  # the menu of whoever it is
        return {}

    @raw("GET", "/static/<name>")
    def static(self, request: Request, name: str) -> Response:
        return web.static(name)

    def _consent(self, call: Call) -> dict[str, str]:
        text = self.deadline(self.registry.get_consent_text)
        return {
            "consent_version": text["version"],
            "consent_text": text.get(call.lang) or text["ru"],
        }

    def _apply_page(
        self,
        call: Call,
        error: str | None = None,
        status: int = 200,
        fields: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
        draft: str | None = None,
        draft_until: datetime | None = None,
    ) -> Response:
        """The form, with each refused field's words: the refusal's own (in the
        reader's language) where the registry gave a specific code, else the
        field's rule as the form states it. `values`: a draft's, else what was
        sent; `draft`: what just happened to the draft (restored, saved,
        deleted), said above the form. `error`: a refusal of the whole form (too
        many attempts, the registry away), what was typed kept."""
        if error and not fields:
            fields = {"_": error}
        chosen = (
            values.get(drafts.LANGUAGES, [])
            if values is not None
            else call.request.form.getlist("languages")
        )
        return self.render(
            call,
            "apply.html",
            status=status,
            fields=pages.APPLY_FIELDS,
            values=values if values is not None else call.form,
            languages=pages.spoken(chosen),
            errors=fields or {},
            draft=draft,
            draft_until=draft_until,
            draft_hours=self.settings.apply_draft_hours,
            quick_exit="/apply/leave",
            served=self.served_countries(),
            contact=self.settings.programme_contact,
            **self._consent(call),
        )

    # -- an applicant's draft (gateway.drafts): sealed under the key in their cookie
    @staticmethod
    def _draft_handle(call: Call) -> drafts.Handle | None:
        return drafts.Handle.parse(call.request.cookies.get(drafts.COOKIE))

    @staticmethod
    def _until(
        found: drafts.Found | None, expires_at: datetime | None = None
    ) -> datetime | None:
        """When the draft runs out (the page writes it with its `moment` filter)."""
        return found.expires_at if found is not None else expires_at

    def _forget_draft(self, response: Response) -> Response:
        response.delete_cookie(
            drafts.COOKIE,
            path=drafts.COOKIE_PATH,
            secure=self.cookie_secure,
            httponly=True,
            samesite="Strict",
        )
        return response

    def _discard_draft(self, call: Call) -> None:
        with self.db.transaction() as session:
            drafts.discard(session, self._draft_handle(call))

    @page("GET", "/apply", roles=None)
    def apply_form(self, call: Call) -> Response:
        handle, found = self._draft_handle(call), None
        if handle is not None:
            with self.db.transaction() as session:
                found = drafts.load(session, handle)
        if found is None:
            response = self._apply_page(call)
            if call.request.cookies.get(drafts.COOKIE) is not None:
                self._forget_draft(response)  # sent, deleted, run out or not ours
            return response
        return self._apply_page(
            call, values=found.draft, draft="restored", draft_until=self._until(found)
        )

    @page("POST", "/apply/draft", roles=None, max_body=TEXT_BODY, throttle=APPLY_DRAFT)
    def apply_draft(self, call: Call) -> Response:
        """The form's draft buttons (`formaction`): saved, or deleted, on buckets of
        their own, so that saving a long form often never uses up its sending."""
        return self._draft_action(call)

    def _draft_action(self, call: Call) -> Response:
        if call.form.get("action") == "delete_draft":
            self._discard_draft(call)  # and the form drawn empty: nothing stays
            page = self._apply_page(call, values={}, draft="deleted")
            return self._forget_draft(page)
        return self._save_draft(call)

    @page(
        "POST",
        "/apply",
        roles=None,
        max_body=TEXT_BODY,
        throttle=APPLY,
        redisplay="_apply_page",
    )
    def apply_submit(self, call: Call) -> Response:
        if call.form.get("action") in ("save_draft", "delete_draft"):
            return self._draft_action(call)  # a page drawn before /apply/draft
        application = pages.application_from_form(
            call.form, call.request.form.getlist("languages")
        )
        # the language they read the form in: their messages' and pages' after
        application["language"] = call.lang
        try:
            self.deadline(self.registry.apply, application)
        except InvalidInput as exc:
            said = web.refusal(call.lang, exc.code, exc.message)
            specific = exc.code != "invalid_input" and said != exc.message
            refused = {name: said if specific else "" for name in exc.fields}
            refused = refused or {"_": said}  # a refusal of no one field
            return self._apply_page(call, status=400, fields=refused)
        self._discard_draft(call)  # sent: nothing of it stays here
        response = self.render(call, "message.html", message=call.texts["received"])
        return self._forget_draft(response)

    def _save_draft(self, call: Call) -> Response:
        """The form as it is, less the password and the consent, sealed under the
        key of the applicant's cookie (a new one the first time); the cookie runs
        out with the row."""
        handle = self._draft_handle(call) or drafts.Handle.new()
        draft = drafts.kept(call.form, call.request.form.getlist("languages"))
        keep_for = timedelta(hours=self.settings.apply_draft_hours)
        with self.db.transaction() as session:
            expires_at = drafts.save(session, handle, draft, keep_for)
        response = self._apply_page(
            call, values=draft, draft="saved", draft_until=self._until(None, expires_at)
        )
        web.set_cookie(
            response,
            drafts.COOKIE,
            handle.cookie,
            self.cookie_secure,
            max_age=int(keep_for.total_seconds()),
            path=drafts.COOKIE_PATH,
        )
        return response

    @page("GET", "/forgot-password", roles=None, template="forgot_password.html")
    def forgot_form(self, call: Call) -> dict[str, Any]:
        return {}

    @page(
        "POST",
        "/forgot-password",
        roles=None,
        template="message.html",
        throttle=RESET,
    )
    def forgot(self, call: Call) -> dict[str, Any]:
        email = call.form.get("email", "")
        if email:
            self.deadline(self.registry.request_password_reset, email)
        return {"message": call.texts["link_sent"]}

    @page("GET", "/reset-password", roles=None, template="reset_password.html")
    def reset_form(self, call: Call) -> dict[str, Any]:
        return {"token": call.request.args.get("token", ""), "error": None}

    def _reset_page(self, call: Call, error: str, status: int) -> Response:
        return self.render(
            call,
            "reset_password.html",
            status=status,
            token=call.form.get("token", ""),
            error=error,
        )

    @page(
        "POST",
        "/reset-password",
        roles=None,
        template="message.html",
        redisplay="_reset_page",
        throttle=NEW_PASSWORD,
    )
    def reset(self, call: Call) -> dict[str, Any]:
        self.reset_password(call.form.get("token", ""), call.form.get("password", ""))
        return {"message": call.texts["password_set"]}

    @page("GET", "/sign-in", roles=None, template="sign_in.html")
    def sign_in_form(self, call: Call) -> dict[str, Any]:
        return {"failed": False}

    @page("POST", "/sign-in", roles=None, throttle=SIGN_IN)
    def sign_in(self, call: Call) -> Response:
        result = self.check_sign_in(
            call,
            call.form.get("email", ""),
            call.form.get("password", ""),
            call.form.get("code") or None,
        )
        if result["status"] not in ("ok", "enroll"):
            return self.render(call, "sign_in.html", status=401, failed=True)
        stage, opened = self.open_session(call.request, result)
        if stage == "enroll":
            call.row = opened.session  # its language: the one invited in, if any
            response = self._enroll_page(
                call, opened.session.csrf_token, result["enrollment_uri"]
            )
        else:
            response = web.redirect(pages.landing(result["actor"]["roles"]))
        web.set_cookie(response, web.SESSION_COOKIE, opened.token, self.cookie_secure)
        return response

    def _enroll_page(
        self, call: Call, csrf: str, uri: str, failed: bool = False
    ) -> Response:
        """The authenticator's key to add (`uri`, otpauth://), as a QR code and as
        text, and the form for its first code; `failed`: a wrong code was given."""
        return web.render(
            call.request,
            "enroll.html",
            status=400 if failed else 200,
            lang=call.lang,
            actor=None,
            csrf=csrf,
            secret=pages.totp_secret(uri),
            qr=pages.qr_svg(uri),
            enrollment=uri,
            failed=failed,
            cookie_secure=self.cookie_secure,
        )

    # the enrolment page is the answer to signing in, never a page of its own: a
    # reload, a bookmark or the back button starts the sign-in again
    @page("GET", "/sign-in/enroll", roles=None)
    def enroll_again(self, call: Call) -> Response:
        return web.redirect("/sign-in")

    # the session half way through sign-in carries the token: checked here
    @page("POST", "/sign-in/enroll", roles=None, csrf="none", throttle=SECOND_FACTOR)
    def enroll(self, call: Call) -> Response:
        row = self.session_of(call.request)
        if (
            row is None
            or row.stage != "enroll"
            or not logic.csrf_ok(row, call.form.get("csrf"))
        ):
            return web.redirect("/sign-in")
        call.row = row
        confirmed = self.deadline(
            self.registry.confirm_second_factor, call.actor, call.form.get("code", "")
        )
        if not confirmed["confirmed"]:
            uri = call.form.get("enrollment", "")
            if not pages.is_enrollment_uri(uri):  # nothing to show again: start over
                call.row = None
                return self.render(call, "sign_in.html", status=401, failed=True)
            # still half signed in, with the same key: another code, not a new start
            return self._enroll_page(call, row.csrf_token, uri, failed=True)
        with self.db.transaction() as session:
            opened = logic.promote(session, session.merge(row), confirmed["actor"])
        response = web.redirect(pages.landing(sorted(row.role_set)))
        web.set_cookie(response, web.SESSION_COOKIE, opened.token, self.cookie_secure)
        return response

    # The quick exit of communicator pages (docs/consoles.md): one click, no form, so
    # it works at once on a shared device. It ends the session, asks the browser to
    # forget what it holds of this site and goes to a page that says nothing of us.
    @page("GET", "/leave", roles=None)
    def leave(self, call: Call) -> Response:
        return self._quick_exit(call)

    # The application form's quick exit: the same, and the applicant's draft is
    # deleted with its cookie (which only reaches /apply and below).
    @page("GET", "/apply/leave", roles=None)
    def leave_application(self, call: Call) -> Response:
        self._discard_draft(call)
        return self._forget_draft(self._quick_exit(call))

    def _quick_exit(self, call: Call) -> Response:
        with self.db.transaction() as session:
            logic.close(session, call.request.cookies.get(web.SESSION_COOKIE))
        response = web.redirect(QUICK_EXIT)
        response.delete_cookie(web.SESSION_COOKIE, path="/")
        response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
        return response

    # signing out ends the session only with its token; without, it clears the cookie
    @page("POST", "/sign-out", roles=None, csrf="none")
    def sign_out(self, call: Call) -> Response:
        row = self.session_of(call.request)
        if row is not None and logic.csrf_ok(row, call.form.get("csrf")):
            with self.db.transaction() as session:
                logic.close(session, call.request.cookies.get(web.SESSION_COOKIE))
        response = web.redirect("/")
        response.delete_cookie(web.SESSION_COOKIE, path="/")
        return response
