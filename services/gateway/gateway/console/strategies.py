"""Communication strategies and mentor feedback in the consoles.

The communicator's page (/me/strategy): draft, edit and share their strategy, read
the mentor's comments on each version and answer, revise (a new version), and read
and answer the feedback on their reports. The mentor's pages (/mentor): the shared
strategies of the communicators they mentor (a coordinator: their clubs' members;
an admin: everyone), the ones waiting for a comment first, and one communicator's
strategy and reports, to comment and leave feedback. Stipends decides who may see
what; a refused field is shown at the field, with what was typed kept."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from werkzeug.wrappers import Response

from gateway import pages, web
from gateway.base import Call, GatewayBase
from gateway.http import TEXT_BODY, page
from gateway.roles import ADMIN, COMMUNICATOR, COORDINATOR
from svyaz.errors import InvalidInput, ServiceError

OWN = (COMMUNICATOR,)
MENTORS = (COORDINATOR, ADMIN)


def _field_errors(
    call: Call, exc: ServiceError, rename: dict[str, str] | None = None
) -> dict[str, str]:
    """A refusal's words by form field: the refusal's own (in the reader's
    language) where the service gave a specific code, else "" (the template says
    the field's rule). A refusal of no one field is under "_"."""
    said = web.refusal(call.lang, exc.code, exc.message)
    generic = exc.code == "invalid_input"  # a field's rule
    specific = not generic and said != exc.message
    fields = getattr(exc, "fields", None) or {}
    rename = rename or {}
    refused = {rename.get(name, name): said if specific else "" for name in fields}
    return refused or {"_": said}


# what a message form just did, as the page it sends back to says it (`?done=`)
SAID = ("commented", "feedback", "answered")


def _done(call: Call) -> str:
    said = call.request.args.get("done", "")
    return said if said in SAID else ""


def _say(
    call: Call,
    field: str,
    send: Callable[[str], Any],
    page: Callable[..., Response],
    done: str,
    back: str,
    **where: str,
) -> Response:
    """Send the text typed in the form's `field` (a comment, a feedback) with
    `send`, then send the reader back to the page (`back`, a GET: a reload posts
    nothing again) saying `done`; refused, draw the `page` again with the refusal
    at the field and the text kept (`where`: which report's form, if one)."""
    typed = call.form.get(field, "")
    try:
        send(typed)
    except InvalidInput as exc:
        return page(
            errors=_field_errors(call, exc, {"body": field}),
            form=field,
            typed=typed,
            status=400,
            **where,
        )
    return web.redirect(f"{back}?done={done}")


def _kept(call: Call, error: str | None, report_id: str) -> dict[str, Any]:
    """A refused message form drawn again (a refusal before the handler ran: a
    text too long): the fault at its field with the text as typed, to shorten;
    any other refusal above the forms."""
    for field in ("comment", "feedback"):
        if field in call.field_errors:
            return {
                "errors": {field: call.field_errors[field]},
                "form": field,
                "typed": call.typed.get(field, ""),
                "report_id": report_id,
            }
    return {"errors": {"_": error or ""}}


def _strategy_typed(call: Call) -> dict[str, Any]:
    """The strategy form as it was typed, to show it again."""
    return {
        **pages.strategy_from_form(call.request.form),
        "topics": web.typed(call.request).get("topics", ""),
        "horizon_months": web.typed(call.request).get("horizon_months", ""),
    }


def _editable(view: dict[str, Any]) -> dict[str, Any] | None:
    """The version the form starts from: the draft, else the latest one."""
    strategy = view.get("strategy")
    return strategy["versions"][0] if strategy and strategy["versions"] else None


class StrategiesConsole(GatewayBase):
    # -- the communicator's page -------------------------------------------------------
    def _strategy_page(
        self,
        call: Call,
        *,
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        form: str = "",
        report_id: str = "",
        typed: str = "",
        redacted: list[str] | None = None,
        done: str = "",
        status: int = 200,
    ) -> Response:
        view = self.deadline(self.stipends.get_strategy, call.actor, call.actor_id)
        threads = self.deadline(
            self.stipends.list_report_feedback, call.actor, call.actor_id
        )
        draft = _editable(view)
        return self.render(
            call,
            "strategy.html",
            status=status,
            view=view,
            strategy=view["strategy"],
            draft=draft if draft and draft["status"] == "draft" else None,
            values=pages.strategy_values(draft) if values is None else values,
            threads=threads["reports"],
            errors=errors or {},
            form=form,
            report_id=report_id,
            typed_text=typed,  # `typed` is the refused form's fields (base.render)
            redacted=redacted,
            done=done,
            **pages.STRATEGY_CHOICES,
        )

    @page("GET", "/me/strategy", roles=OWN)
    def me_strategy(self, call: Call) -> Response:
        return self._strategy_page(call, done=_done(call))

    @page(
        "POST",
        "/me/strategy",
        roles=OWN,
        max_body=TEXT_BODY,
        redisplay="_strategy_redisplay",
    )
    def me_strategy_save(self, call: Call) -> Response:
        """Save the draft; "share" also shares it with the mentor."""
        content = pages.strategy_from_form(call.request.form)
        try:
            saved = self.deadline(self.stipends.save_strategy, call.actor, content)
            if call.form.get("action") == "share":
                self.deadline(self.stipends.share_strategy, call.actor)
        except InvalidInput as exc:
            return self._strategy_page(
                call,
                values=_strategy_typed(call),
                errors=_field_errors(call, exc),
                form="strategy",
                status=400,
            )
        done = "shared" if call.form.get("action") == "share" else "saved"
        return self._strategy_page(call, redacted=saved["redacted"], done=done)

    @page(
        "POST",
        "/me/strategy/comments",
        roles=OWN,
        redisplay="_strategy_redisplay",
    )
    def me_strategy_answer(self, call: Call) -> Response:
        """The communicator's answer in the discussion of their strategy."""
        send = partial(
            self.deadline, self.stipends.comment_on_strategy, call.actor, call.actor_id
        )
        page = partial(self._strategy_page, call)
        return _say(call, "comment", send, page, "answered", "/me/strategy")

    @page(
        "POST",
        "/me/reports/<report_id>/feedback",
        roles=OWN,
        redisplay="_strategy_redisplay",
    )
    def me_feedback_answer(self, call: Call, report_id: str) -> Response:
        """The author's answer to a mentor's feedback on their report."""
        target = pages.ident(report_id, "report_id")
        send = partial(
            self.deadline, self.stipends.give_report_feedback, call.actor, target
        )
        page = partial(self._strategy_page, call)
        return _say(
            call, "feedback", send, page, "answered", "/me/strategy", report_id=target
        )

    def _strategy_redisplay(
        self,
        call: Call,
        error: str | None = None,
        status: int = 200,
        report_id: str = "",
        **_: Any,
    ) -> Response:
        if call.field_errors and not {"comment", "feedback"} & set(call.field_errors):
            return self._strategy_page(  # the strategy's own form, refused unread
                call,
                values=_strategy_typed(call),
                errors=dict(call.field_errors),
                form="strategy",
                status=status,
            )
        return self._strategy_page(call, **_kept(call, error, report_id), status=status)

    # -- the mentor's pages ------------------------------------------------------------
    @page("GET", "/mentor", roles=MENTORS, template="mentor.html")
    def mentor_home(self, call: Call) -> dict[str, Any]:
        found = self.deadline(
            self.stipends.list_strategies_to_mentor, call.actor, False
        )
        return {"mentees": found}

    def _mentee_page(
        self,
        call: Call,
        communicator_id: str,
        *,
        errors: dict[str, str] | None = None,
        form: str = "",
        report_id: str = "",
        typed: str = "",
        done: str = "",
        status: int = 200,
    ) -> Response:
        target = pages.ident(communicator_id, "communicator_id")
        view = self.deadline(self.stipends.get_strategy, call.actor, target)
        threads = self.deadline(self.stipends.list_report_feedback, call.actor, target)
        return self.render(
            call,
            "mentee.html",
            status=status,
            view=view,
            strategy=view["strategy"],
            threads=threads["reports"],
            errors=errors or {},
            form=form,
            report_id=report_id,
            typed_text=typed,  # `typed` is the refused form's fields (base.render)
            done=done,
        )

    @page("GET", "/mentor/<communicator_id>", roles=MENTORS)
    def mentor_mentee(self, call: Call, communicator_id: str) -> Response:
        return self._mentee_page(call, communicator_id, done=_done(call))

    def _mentee_redisplay(
        self,
        call: Call,
        error: str | None = None,
        status: int = 200,
        communicator_id: str = "",
        report_id: str = "",
        **_: Any,
    ) -> Response:
        return self._mentee_page(
            call,
            communicator_id,
            **_kept(call, error, report_id),
            status=status,
        )

    @page(
        "POST",
        "/mentor/<communicator_id>/comments",
        roles=MENTORS,
        redisplay="_mentee_redisplay",
    )
    def mentor_comment(self, call: Call, communicator_id: str) -> Response:
        target = pages.ident(communicator_id, "communicator_id")
        send = partial(
            self.deadline, self.stipends.comment_on_strategy, call.actor, target
        )
        page = partial(self._mentee_page, call, target)
        return _say(call, "comment", send, page, "commented", f"/mentor/{target}")

    @page(
        "POST",
        "/mentor/<communicator_id>/reports/<report_id>/feedback",
        roles=MENTORS,
        redisplay="_mentee_redisplay",
    )
    def mentor_feedback(
        self, call: Call, communicator_id: str, report_id: str
    ) -> Response:
        target = pages.ident(communicator_id, "communicator_id")
        report = pages.ident(report_id, "report_id")
        send = partial(
            self.deadline, self.stipends.give_report_feedback, call.actor, report
        )
        page = partial(self._mentee_page, call, target)
        return _say(
            call,
            "feedback",
            send,
            page,
            "feedback",
            f"/mentor/{target}",
            report_id=report,
        )
