"""Signing in and out, the second factor, and forgotten passwords."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from gateway import logic, pages, web
from gateway.base import Call, GatewayBase
from gateway.exceptions import BadRequest, Unauthorized
from gateway.http import (
    NEW_PASSWORD,
    RESET,
    SECOND_FACTOR,
    SIGN_IN,
    api_group,
    respond,
)
from gateway.roles import SIGNED_IN
from gateway.schemas import (
    DoneSchema,
    NewPasswordSchema,
    ResetRequestSchema,
    SecondFactorRequestSchema,
    SessionSchema,
    SignInRequestSchema,
)
from svyaz.errors import Forbidden

api = api_group(("session",))  # the routes' tags in the OpenAPI document


class SessionApi(GatewayBase):
    def _session_response(self, payload: dict[str, Any], token: str) -> Response:
        response = respond(200, SessionSchema().dump(payload))
        web.set_cookie(response, web.SESSION_COOKIE, token, self.cookie_secure)
        return response

    @api(
        "POST",
        "/api/v1/session",
        summary="Sign in: the session cookie and its CSRF token. Every failure "
        "gets the same answer.",
        roles=None,
        body=SignInRequestSchema,
        responses={200: SessionSchema},
        csrf="none",  # no session yet; a JSON-only body cannot come from a form
        throttle=SIGN_IN,
    )
    def api_sign_in(self, call: Call) -> Response:
        body = call.body
        result = self.check_sign_in(
            call, body["email"], body["password"], body.get("code")
        )
        if result["status"] not in ("ok", "enroll"):
            raise Unauthorized(
                "the email, password or code is not right, or the account is "
                "locked for a while",
                "sign_in_failed",
            )
        stage, opened = self.open_session(call.request, result)
        return self._session_response(
            {
                "status": result["status"],
                "actor": {
                    "id": result["actor"]["id"],
                    "roles": result["actor"]["roles"],
                },
                "csrf_token": opened.session.csrf_token,
                "totp_secret": pages.totp_secret(result["enrollment_uri"])
                if stage == "enroll"
                else None,
            },
            opened.token,
        )

    @api(
        "POST",
        "/api/v1/session/second-factor",
        summary="Confirm the second factor set up at sign-in (staff: admins, finance "
        "and club coordinators); a wrong code is 400 `second_factor_failed`",
        roles=None,  # a session half way through sign-in: checked here
        body=SecondFactorRequestSchema,
        responses={200: SessionSchema},
        csrf="none",  # the enrolling session's token, checked here
        throttle=SECOND_FACTOR,
    )
    def api_second_factor(self, call: Call) -> Response:
        row = self.session_of(call.request)
        if row is None or row.stage != "enroll":
            raise Unauthorized("sign in first", "not_signed_in")
        if not logic.csrf_ok(row, call.request.headers.get("X-CSRF-Token")):
            raise Forbidden("the X-CSRF-Token header is missing or wrong", "csrf")
        call.row = row
        confirmed = self.deadline(
            self.registry.confirm_second_factor, call.actor, call.body["code"]
        )
        if not confirmed["confirmed"]:  # still half signed in: try another code
            raise BadRequest(
                "the code is not right: enter the current code from your "
                "authenticator app (a code lasts about a minute)",
                "second_factor_failed",
                {"code": ["not the current code"]},
            )
        with self.db.transaction() as session:
            opened = logic.promote(session, session.merge(row), confirmed["actor"])
            csrf_token = opened.session.csrf_token
        return self._session_response(
            {
                "status": "ok",
                "actor": {
                    "id": str(row.actor_id),
                    "roles": confirmed["actor"]["roles"],
                },
                "csrf_token": csrf_token,
            },
            opened.token,
        )

    @api(
        "POST",
        "/api/v1/password-resets",
        summary="Email a one-time link to set a new password (the same answer for "
        "every email)",
        roles=None,
        body=ResetRequestSchema,
        responses={202: DoneSchema},
        csrf="none",
        throttle=RESET,
    )
    def api_request_reset(self, call: Call) -> dict[str, str]:
        self.deadline(self.registry.request_password_reset, call.body["email"])
        return {"status": "requested"}

    @api(
        "POST",
        "/api/v1/password-resets/new-password",
        summary="Set a new password with the emailed token; every session of the "
        "account ends",
        roles=None,
        body=NewPasswordSchema,
        responses={200: DoneSchema},
        csrf="none",
        throttle=NEW_PASSWORD,
    )
    def api_new_password(self, call: Call) -> dict[str, str]:
        self.reset_password(call.body["token"], call.body["password"])
        return {"status": "password_set"}

    @api(
        "DELETE",
        "/api/v1/session",
        summary="Sign out",
        roles=SIGNED_IN,
        responses={200: DoneSchema},
    )
    def api_sign_out(self, call: Call) -> Response:
        with self.db.transaction() as session:
            logic.close(session, call.request.cookies.get(web.SESSION_COOKIE))
        response = respond(200, {"status": "signed_out"})
        response.delete_cookie(web.SESSION_COOKIE, path="/")
        return response
