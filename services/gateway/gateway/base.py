"""What every route of the gateway stands on: its dependencies, the session behind
a request, and how a route's declaration (gateway.http) is enforced: the session,
the roles, the CSRF token, the body and query schemas, and how a refusal is shown.

The route modules (gateway.api.*, gateway.console.*) are mixins of `GatewayBase`;
gateway.service composes them into the one nameko service."""

from __future__ import annotations

import functools
import inspect
import uuid
from dataclasses import dataclass, field
from typing import Any

from nameko.dependency_providers import Config
from werkzeug.wrappers import Request, Response

from gateway import forms, i18n, logic, throttles, web
from gateway.dependencies import Deadline, StripeWebhooks, Throttling
from gateway.exceptions import (
    BadRequest,
    TooManyRequests,
    Unauthorized,
    UpstreamUnavailable,
)
from gateway.http import CONFIRMED_FIELD, Route, instance, json_body, load_query
from gateway.models import WebSession
from gateway.schemas.base import spoken
from gateway.settings import Settings
from svyaz.dependencies import Database
from svyaz.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceError
from svyaz.rpc_proxy import RpcProxy
from svyaz.settings import Configured


class NotSignedIn(Exception):
    """A console page asked for without a full session: to the sign-in page."""


def actor_of(row: WebSession) -> dict[str, Any]:
    """Who the session is, for a call: the services read only the assertion."""
    return {
        "id": str(row.actor_id),
        "roles": sorted(row.role_set),
        "assertion": row.assertion,
    }


@dataclass
class Call:
    """One request as its route's handler sees it."""

    request: Request
    route: Route
    row: WebSession | None = None
    body: Any = None
    query: Any = None
    form: dict[str, str] = field(default_factory=dict)
    # the account's throttling bucket is full and a second factor came with the
    # attempt: the registry must see the right password and a valid code
    step_up: bool = False
    # a refused form drawn again: each field's message, and what was typed
    # (gateway.forms puts both back into the form that was sent)
    field_errors: dict[str, str] = field(default_factory=dict)
    typed: dict[str, str] = field(default_factory=dict)

    def field(self, name: str) -> str:
        """A field of the request: the loaded JSON body's (the API) or the form's."""
        source = self.body if self.route.kind == "api" else self.form
        value = source.get(name) if isinstance(source, dict) else None
        return value.strip() if isinstance(value, str) else ""

    @property
    def actor(self) -> dict[str, Any]:
        assert self.row is not None, "an open route has no actor"
        return actor_of(self.row)

    @property
    def actor_id(self) -> str:
        return self.actor["id"]

    @property
    def lang(self) -> str:
        return web.language(self.request, self.row.language if self.row else None)

    @property
    def texts(self) -> Any:
        return web.texts(self.lang)


# A refusal a page shows where it happened (its `redisplay`), with this status.
PAGE_STATUS: list[tuple[type[Exception], int]] = [
    (NotFound, 404),
    (Forbidden, 403),
    (Conflict, 409),
    (TooManyRequests, 429),
    (InvalidInput, 400),
    (ServiceError, 400),
]


def page_status(exc: Exception) -> int:
    return next(status for kind, status in PAGE_STATUS if isinstance(exc, kind))


class GatewayBase:
    db = Database()
    registry = RpcProxy("registry")
    stipends = RpcProxy("stipends")
    notifications = RpcProxy("notifications")
    insights = RpcProxy("insights")
    deadline = Deadline()
    webhooks = StripeWebhooks()
    throttling = Throttling()
    config = Config()  # the platform's settings (readiness reads the broker's)
    settings = Configured(Settings)

    # -- sessions --------------------------------------------------------------------
    @property
    def cookie_secure(self) -> bool:
        return self.settings.cookie_secure

    def served_countries(self) -> frozenset[str]:
        """The countries where Svyaz can pay people: those of the payout routing
        table (an application from anywhere else is refused)."""
        rows = self.deadline(self.registry.list_corridors)
        return frozenset(row["country"] for row in rows)

    def session_of(self, request: Request) -> WebSession | None:
        with self.db.statements() as session:  # a read; a touch is one UPDATE
            row = logic.current(session, request.cookies.get(web.SESSION_COOKIE))
        if row is not None and row.assertion and logic.needs_renewal(row):
            return self._renew(row)
        return row

    def _renew(self, row: WebSession) -> WebSession | None:
        """The registry signs the sign-in again against the account as it is now.
        Refused (suspended, offboarded, disabled, a second factor now required):
        every session of the account ends. The registry away: the assertion in
        hand serves until it runs out."""
        try:
            signed = self.deadline(self.registry.renew_assertion, row.assertion)
        except UpstreamUnavailable:
            return row
        except ServiceError:
            self.end_sessions(row.actor_id)
            return None
        with self.db.transaction() as session:
            fresh = session.merge(row)
            logic.store_assertion(fresh, signed)
        return fresh

    def open_session(
        self, request: Request, result: dict[str, Any]
    ) -> tuple[str, logic.Opened]:
        """A session for a sign-in the registry answered ok or enroll, keeping the
        assertion it signed; (stage, the opened session)."""
        actor = result["actor"]
        stage = "full" if result["status"] == "ok" else "enroll"
        spoken = result.get("language")  # invited or applied in (the registry's)
        language = (
            web.chosen_language(request)
            or (self.preferred_language(actor) if stage == "full" else None)
            or (spoken if spoken in web.LANGUAGES else None)
            or web.language(request)
        )
        with self.db.transaction() as session:
            opened = logic.open_session(
                session,
                actor["id"],
                actor["roles"],
                stage,
                language,
                signed=actor,
            )
        return stage, opened

    def preferences_saved(self, call: Call, saved: Any) -> Any:
        """Preferences saved through the console or the API: a language chosen
        there is the one the person's sessions speak from now on."""
        chosen = saved.get("language") if isinstance(saved, dict) else None
        if chosen in web.LANGUAGES:
            with self.db.transaction() as session:
                logic.speak(session, uuid.UUID(call.actor_id), str(chosen))
        return saved

    def preferred_language(self, actor: dict[str, Any]) -> str | None:
        """The language the person chose for their messages (notifications'
        preferences), which their pages then speak; None when they chose none or
        notifications does not answer (the browser's language serves then)."""
        signed = {k: actor.get(k) for k in ("id", "roles", "assertion")}
        try:
            prefs = self.deadline(self.notifications.get_preferences, signed)
        except (ServiceError, UpstreamUnavailable):
            return None
        chosen = prefs.get("language") if isinstance(prefs, dict) else None
        return str(chosen) if chosen in web.LANGUAGES else None

    def check_sign_in(
        self, call: Call, email: str, password: str, code: str | None
    ) -> dict[str, Any]:
        """The registry's answer to a sign-in; a step-up (the account's bucket is
        full, a code came with it) only the right password and a valid code pass.
        `step_up` is sent only when it is one, so a registry of the release before
        answers every other sign-in as it did."""
        extra = {"step_up": True} if call.step_up else {}
        result: dict[str, Any] = self.deadline(
            self.registry.sign_in, email, password, code, **extra
        )
        return result

    def staff_names(self, call: Call) -> dict[str, str]:
        """Staff accounts' names by id (those that have one), for the trails that
        admins and finance read."""
        return dict(self.deadline(self.registry.staff_names, call.actor))

    def end_sessions(self, account_id: uuid.UUID | str) -> None:
        with self.db.transaction() as session:
            logic.close_all_for(session, uuid.UUID(str(account_id)))

    def after_decision(self, step: str, communicator_id: str) -> None:
        """A communicator suspended or offboarded here is signed out at once (the
        registry also refuses to renew their assertions, for every other gateway)."""
        if step in ("suspend", "offboard"):
            self.end_sessions(communicator_id)

    def reset_password(self, token: str, password: str) -> None:
        done = self.deadline(self.registry.reset_password, token, password)
        self.end_sessions(done["account_id"])

    def erase_self(self, call: Call, reason: str) -> None:
        """A communicator's own erasure (the registry destroys the data), then every
        session of theirs ends."""
        self.deadline(self.registry.erase, call.actor, call.actor_id, reason)
        self.end_sessions(call.actor_id)

    # -- the API ---------------------------------------------------------------------
    def api_call(self, route: Route, request: Request) -> Call:
        """The session, its roles and CSRF header as the route declares, then the
        body and query through their schemas."""
        call = Call(request, route)
        if route.roles is not None:
            row = self.session_of(request)
            if row is None or row.stage != "full":
                raise Unauthorized("sign in first", "not_signed_in")
            if route.csrf == "session" and not logic.csrf_ok(
                row, request.headers.get("X-CSRF-Token")
            ):
                raise Forbidden("the X-CSRF-Token header is missing or wrong", "csrf")
            if not row.role_set & set(route.roles):
                raise Forbidden("this is not for your role", "role_required")
            call.row = row
        if route.body is not None:
            call.body = instance(route.body).load(json_body(request))
        if route.query is not None:
            call.query = load_query(request, route.query)
        self.throttle(call)
        return call

    def speaking(self, call: Call) -> Any:
        """While an answer is dumped: its reasons in the reader's language."""
        return spoken(functools.partial(i18n.entitlement_reason, call.lang))

    # -- throttling ------------------------------------------------------------------
    def throttle(self, call: Call) -> None:
        """Count the attempt in its route's buckets (gateway.throttles); a full one
        refuses it with 429 before anything checks a credential."""
        spec = call.route.throttle
        if spec is None:
            return
        if spec.confirm_first and call.field(CONFIRMED_FIELD) != "yes":
            return  # the confirmation page only: no code is checked
        address = throttles.client_address(
            call.request.remote_addr,
            call.request.headers.get("X-Forwarded-For"),
            self.throttling.proxies,
        )
        account = self.throttled_account(call)
        if spec.account == "session" and account is None:
            return  # no session, no code can be checked: the handler refuses it
        with self.db.transaction() as session:
            verdict = throttles.check(
                session,
                self.throttling.secret,
                spec.family,
                self.throttling.limits,
                address,
                account,
                step_up=bool(spec.step_up and call.field(spec.step_up)),
                overall=call.row is None,  # signed in: their own buckets bound them
            )
        if not verdict.allowed:
            raise TooManyRequests(
                f"too many attempts; try again in {verdict.retry_after} seconds",
                "too_many_attempts",
                verdict.retry_after,
                verdict.refused_by or "",
            )
        call.step_up = verdict.step_up

    def throttled_account(self, call: Call) -> str | None:
        """Whose account an attempt is on, as its route's throttle says: the email
        it names (normalized) or the person of its session; None: none named."""
        spec = call.route.throttle
        assert spec is not None
        if spec.account == "email":
            email = call.field("email")
            return "email:" + throttles.normalized_account(email) if email else None
        if spec.account == "session":
            row = call.row or self.session_of(call.request)
            return f"actor:{row.actor_id}" if row is not None else None
        return None

    # -- the consoles ----------------------------------------------------------------
    def page_call(self, call: Call) -> None:
        """`call` made ready for its page's handler: the session, the form, the
        throttle. Filled in as it goes, so that a refusal on the way (too many
        attempts) still has the form that was sent to draw again."""
        route, request = call.route, call.request
        if route.roles is not None:
            row = self.session_of(request)
            if row is None or row.stage != "full":
                raise NotSignedIn()
            if route.roles and not row.role_set & set(route.roles):
                raise Forbidden("this page is not for your role", "role_required")
            call.row = row
        if route.method == "POST":
            # the form's token first, read as sent: a form from elsewhere is
            # refused before anything of it is read, its limits included (a value
            # too long is otherwise drawn again, typed, for the signed-in person)
            if route.csrf == "session":
                assert call.row is not None
                if not logic.csrf_ok(call.row, request.form.get("csrf")):
                    raise Forbidden("the form expired; reload the page", "csrf")
            elif route.csrf == "anonymous" and not web.anonymous_csrf_ok(request):
                raise BadRequest("the form expired; reload the page", "csrf")
            call.form = web.form(request)
        self.throttle(call)

    def serve_page(
        self, route: Route, request: Request, handler: Any, values: dict[str, Any]
    ) -> Response:
        call = Call(request, route)
        try:
            self.page_call(call)
            result = handler(self, call, **values)
        except NotSignedIn:
            return web.redirect("/sign-in")
        except ServiceError as exc:
            if call.row is None and route.roles is not None:
                # refused before the call was made (another role's page, a field
                # too long): the page still shows the signed-in person's menu
                row = self.session_of(request)
                call.row = row if row is not None and row.stage == "full" else None
            return self.refused(call, exc, values)
        if isinstance(result, Response):
            return result
        assert route.template is not None, f"{route.path} returned no page"
        return self.render(call, route.template, **result)

    def refused(
        self, call: Call, exc: ServiceError, values: dict[str, Any]
    ) -> Response:
        """A refusal shown where it happened when the route can draw its page again
        (not a missing record, not another role's page, not an expired form), else
        a page that says what went wrong. Either way in the reader's language,
        saying what to do next (web.refusal)."""
        status = page_status(exc)
        again = call.route.redisplay
        if isinstance(exc, TooManyRequests):
            if not again:
                return self.throttled(call, exc)
            # the form drawn again with what was typed (an application's long
            # form, a release's), saying when to send it again
            said = self.throttled_words(call, exc)
        else:
            said = web.refusal(call.lang, exc.code, exc.message)
        if (
            again
            and exc.code not in ("role_required", "csrf")
            # a field too long is refused before the form is read: drawn again
            # (the text kept, to shorten) for the person signed in only
            and (exc.code != "too_long" or call.row is not None)
            and not isinstance(exc, NotFound)
        ):
            if isinstance(exc, InvalidInput):  # a conflict shows what is stored now
                self.keep_form(call, exc)
            draw = getattr(self, again)
            if hasattr(draw, "handler"):  # the page's own GET route draws it again
                draw = functools.partial(draw.handler, self)
            wanted = inspect.signature(draw).parameters
            given = {k: v for k, v in values.items() if k in wanted}
            page: Response = draw(call, error=said, status=status, **given)
            if isinstance(exc, TooManyRequests):
                page.headers["Retry-After"] = str(exc.retry_after)
            return page
        general = {403: "forbidden", 404: "not_found"}
        known = said != exc.message  # the catalogue has words for this refusal
        text = call.texts[general[status]] if status in general and not known else said
        return self.render(call, "message.html", status=status, message=text)

    def keep_form(self, call: Call, exc: ServiceError) -> None:
        """A refused form is drawn again with each field's message next to the
        field, in the reader's language, and with what was typed (gateway.forms)."""
        call.field_errors = {
            name: web.field_fault(call.lang, messages)
            for name, messages in forms.flat(exc.fields).items()
        }
        # a form refused as too long was not read (call.form): as it was typed
        call.typed = dict(call.form) or web.typed(call.request)

    @staticmethod
    def throttled_words(call: Call, exc: TooManyRequests) -> str:
        """When to try again, as the page of too many attempts says it."""
        if exc.retry_after < 60:
            return web.gettext(
                call.lang, "There were too many attempts. Try again in %(seconds)s s."
            ) % {"seconds": max(1, exc.retry_after)}
        return web.gettext(
            call.lang, "There were too many attempts. Try again in %(minutes)s min."
        ) % {"minutes": max(1, -(-exc.retry_after // 60))}

    def throttled(self, call: Call, exc: TooManyRequests) -> Response:
        """429: when to try again, in minutes, and (signing in, the account's
        attempts used up) that the code from an authenticator app passes now."""
        response = self.render(
            call,
            "throttled.html",
            status=429,
            # under a minute in seconds (as Retry-After says), else whole minutes
            seconds=max(1, exc.retry_after) if exc.retry_after < 60 else None,
            minutes=max(1, -(-exc.retry_after // 60)),
            code_passes=exc.scope == "account"
            and call.route.throttle is not None
            and call.route.throttle.step_up is not None,
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

    def render(
        self, call: Call, template: str, status: int = 200, **context: Any
    ) -> Response:
        row = call.row
        return web.render(
            call.request,
            template,
            status=status,
            lang=call.lang,
            actor=actor_of(row) if row else None,
            csrf=row.csrf_token if row else None,
            cookie_secure=self.cookie_secure,
            field_errors=call.field_errors,
            typed=call.typed,
            **context,
        )
