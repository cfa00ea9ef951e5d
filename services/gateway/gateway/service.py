"""The gateway service: HTTP entrypoints only (the JSON API, the web consoles,
Stripe's webhooks)."""

from __future__ import annotations

import json
from typing import Any

from nameko.dependency_providers import Config
from werkzeug.wrappers import Request, Response

from gateway import logic, openapi, pages, web
from gateway.dependencies import Deadline, StripeWebhooks
from gateway.exceptions import BadRequest
from gateway.http import http
from gateway.models import WebSession
from gateway.schemas import ApplicationAcceptedSchema, ApplicationRequestSchema
from svyaz.dependencies import Database
from svyaz.errors import Forbidden, InvalidInput, NotFound, ServiceError
from svyaz.messaging import RpcProxy

JSON = "application/json"


def json_body(request: Request) -> Any:
    try:
        return json.loads(request.get_data(cache=False) or b"null")
    except ValueError:
        raise BadRequest("the body is not JSON", "invalid_json") from None


def respond(status: int, payload: Any) -> Response:
    return Response(json.dumps(payload), status=status, mimetype=JSON)


class GatewayService:
    name = "gateway"

    db = Database()
    registry = RpcProxy("registry")
    deadline = Deadline()
    webhooks = StripeWebhooks()
    config = Config()

    @http("GET", "/healthz")
    def healthz(self, request: Request) -> Response:
        return respond(200, {"status": "ok"})

    @http("GET", "/api/v1/openapi.json")
    def openapi(self, request: Request) -> Response:
        return respond(200, openapi.document())

    @http(
        "POST",
        "/api/v1/applications",
        summary="Apply to the programme (the same answer whether or not the email "
        "is known)",
        body=ApplicationRequestSchema,
        responses={202: ApplicationAcceptedSchema},
        tags=("communicator",),
    )
    def apply(self, request: Request) -> Response:
        body = ApplicationRequestSchema().load(json_body(request))
        self.deadline(self.registry.apply, body)
        return respond(202, ApplicationAcceptedSchema().dump({"status": "received"}))

    @http("POST", "/webhooks/stripe")
    def stripe_webhook(self, request: Request) -> Response:
        """Stripe's signed events: verified on the raw body, then relayed by RPC.

        Relays are idempotent on the receiving side (state, not counters), so Stripe's
        at-least-once, any-order delivery is safe.
        """
        event = self.webhooks.verify(
            request.get_data(cache=False),
            request.headers.get("Stripe-Signature", ""),
        )
        if event["type"] == "account.updated":
            account = event["data"]["object"]
            capabilities = account.get("capabilities") or {}
            self.deadline(
                self.registry.stripe_account_updated,
                account["id"],
                capabilities.get("transfers") == "active",
            )
        return respond(200, {"received": True})

    # -- the web consoles -----------------------------------------------------------
    @property
    def cookie_secure(self) -> bool:
        return str(self.config.get("COOKIE_SECURE", True)).lower() != "false"

    def _session(self, request: Request) -> WebSession | None:
        with self.db.transaction() as session:
            return logic.current(session, request.cookies.get(web.SESSION_COOKIE))

    def _signed_in(self, request: Request, *roles: str) -> WebSession:
        row = self._session(request)
        if row is None or row.stage != "full":
            raise NotSignedIn()
        if roles and not row.role_set & set(roles):
            raise Forbidden("this page is not for your role", "role_required")
        return row

    @staticmethod
    def _actor(row: WebSession) -> dict[str, Any]:
        return {"id": str(row.actor_id), "roles": sorted(row.role_set)}

    def _page(
        self,
        request: Request,
        template: str,
        row: WebSession | None = None,
        **context: Any,
    ) -> Response:
        return web.render(
            request,
            template,
            lang=row.language if row else None,
            actor=self._actor(row) if row else None,
            csrf=row.csrf_token if row else None,
            cookie_secure=self.cookie_secure,
            **context,
        )

    def _guarded(self, request: Request, handler: Any) -> Response:
        """Pages answer in HTML: sign-in when needed, 403/404 pages otherwise."""
        try:
            return handler()
        except NotSignedIn:
            return web.redirect("/sign-in")
        except Forbidden:
            return self._page(
                request,
                "message.html",
                status=403,
                message=web.texts(web.language(request))["forbidden"],
            )
        except NotFound:
            return self._page(
                request,
                "message.html",
                status=404,
                message=web.texts(web.language(request))["not_found"],
            )

    @http("GET", "/")
    def index(self, request: Request) -> Response:
        return self._page(request, "index.html", self._session(request))

    @http("GET", "/static/<name>")
    def static(self, request: Request, name: str) -> Response:
        return web.static(name)

    def _consent(self, request: Request) -> dict[str, str]:
        text = self.deadline(self.registry.get_consent_text)
        return {
            "consent_version": text["version"],
            "consent_text": text.get(web.language(request)) or text["ru"],
        }

    @http("GET", "/apply")
    def apply_form(self, request: Request) -> Response:
        return self._page(
            request,
            "apply.html",
            fields=pages.APPLY_FIELDS,
            values={},
            errors={},
            **self._consent(request),
        )

    @http("POST", "/apply")
    def apply_submit(self, request: Request) -> Response:
        values = web.form(request)
        if not web.anonymous_csrf_ok(request):
            return self._page(
                request,
                "message.html",
                status=400,
                message=web.texts(web.language(request))["error"],
            )
        try:
            self.deadline(self.registry.apply, pages.application_from_form(values))
        except InvalidInput as exc:
            return self._page(
                request,
                "apply.html",
                status=400,
                fields=pages.APPLY_FIELDS,
                values=values,
                errors=exc.fields,
                **self._consent(request),
            )
        return self._page(
            request,
            "message.html",
            status=200,
            message=web.texts(web.language(request))["received"],
        )

    @http("GET", "/sign-in")
    def sign_in_form(self, request: Request) -> Response:
        return self._page(request, "sign_in.html", failed=False)

    @http("POST", "/sign-in")
    def sign_in(self, request: Request) -> Response:
        values = web.form(request)
        if not web.anonymous_csrf_ok(request):
            return self._page(request, "sign_in.html", status=400, failed=True)
        result = self.deadline(
            self.registry.sign_in,
            values.get("email", ""),
            values.get("password", ""),
            values.get("code") or None,
        )
        if result["status"] not in ("ok", "enroll"):
            return self._page(request, "sign_in.html", status=401, failed=True)
        actor = result["actor"]
        stage = "full" if result["status"] == "ok" else "enroll"
        with self.db.transaction() as session:
            opened = logic.open_session(
                session, actor["id"], actor["roles"], stage, web.language(request)
            )
        if stage == "enroll":
            response = web.render(
                request,
                "enroll.html",
                actor=None,
                csrf=opened.session.csrf_token,
                secret=pages.totp_secret(result["enrollment_uri"]),
                failed=False,
                cookie_secure=self.cookie_secure,
            )
        else:
            response = web.redirect(pages.landing(actor["roles"]))
        web.set_cookie(response, web.SESSION_COOKIE, opened.token, self.cookie_secure)
        return response

    @http("POST", "/sign-in/enroll")
    def enroll(self, request: Request) -> Response:
        row = self._session(request)
        values = web.form(request)
        if (
            row is None
            or row.stage != "enroll"
            or not logic.csrf_ok(row, values.get("csrf"))
        ):
            return web.redirect("/sign-in")
        confirmed = self.deadline(
            self.registry.confirm_second_factor,
            self._actor(row),
            values.get("code", ""),
        )
        if not confirmed["confirmed"]:
            return self._page(request, "sign_in.html", status=401, failed=True)
        with self.db.transaction() as session:
            fresh = session.merge(row)
            opened = logic.promote(session, fresh)
        response = web.redirect(pages.landing(sorted(row.role_set)))
        web.set_cookie(response, web.SESSION_COOKIE, opened.token, self.cookie_secure)
        return response

    @http("POST", "/sign-out")
    def sign_out(self, request: Request) -> Response:
        row = self._session(request)
        if row is not None and logic.csrf_ok(row, request.form.get("csrf")):
            with self.db.transaction() as session:
                logic.close(session, request.cookies.get(web.SESSION_COOKIE))
        response = web.redirect("/")
        response.delete_cookie(web.SESSION_COOKIE, path="/")
        return response

    @http("GET", "/me")
    def me(self, request: Request) -> Response:
        def page() -> Response:
            row = self._signed_in(request, "communicator")
            me = self.deadline(self.registry.get_own_status, self._actor(row))
            return self._page(request, "me.html", row, me=me)

        return self._guarded(request, page)

    @http("GET", "/admin/applications")
    def admin_applications(self, request: Request) -> Response:
        def page() -> Response:
            row = self._signed_in(request, "program_admin")
            actor = self._actor(row)
            rows = [
                r
                for status in ("applied", "in_review")
                for r in self.deadline(
                    self.registry.find_communicators, actor, {"status": status}
                )
            ]
            return self._page(request, "admin_applications.html", row, rows=rows)

        return self._guarded(request, page)

    @http("GET", "/admin/applications/<communicator_id>")
    def admin_application(self, request: Request, communicator_id: str) -> Response:
        def page() -> Response:
            row = self._signed_in(request, "program_admin")
            app = self.deadline(
                self.registry.get_application, self._actor(row), communicator_id
            )
            return self._page(
                request, "admin_application.html", row, app=app, error=None
            )

        return self._guarded(request, page)

    @http("POST", "/admin/applications/<communicator_id>")
    def admin_decide(self, request: Request, communicator_id: str) -> Response:
        def page() -> Response:
            row = self._signed_in(request, "program_admin")
            values = web.form(request)
            if not logic.csrf_ok(row, values.get("csrf")):
                raise Forbidden("the form expired; reload the page", "csrf")
            step = values.get("step")
            if step not in ("start_review", "approve", "reject"):
                raise NotFound("no such step")
            try:
                self.deadline(
                    getattr(self.registry, step),
                    self._actor(row),
                    communicator_id,
                    values.get("reason", ""),
                )
            except (InvalidInput, ServiceError) as exc:
                if isinstance(exc, (Forbidden, NotFound)):
                    raise
                app = self.deadline(
                    self.registry.get_application, self._actor(row), communicator_id
                )
                return self._page(
                    request,
                    "admin_application.html",
                    row,
                    app=app,
                    error=exc.message,
                    status=400,
                )
            return web.redirect(f"/admin/applications/{communicator_id}")

        return self._guarded(request, page)


class NotSignedIn(Exception):
    pass
