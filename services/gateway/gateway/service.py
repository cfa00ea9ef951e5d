"""The gateway service: HTTP entrypoints only (the JSON API, the web consoles,
Stripe's webhooks)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from marshmallow import Schema, ValidationError
from nameko.dependency_providers import Config
from werkzeug.wrappers import Request, Response

from gateway import exports, logic, openapi, pages, web
from gateway.dependencies import Deadline, StripeWebhooks
from gateway.exceptions import BadRequest, Unauthorized, UpstreamUnavailable
from gateway.http import TEXT_BODY, UPLOAD_BODY, WEBHOOK_BODY, http, secure
from gateway.models import WebSession
from gateway.schemas import (
    CONTENT,
    STAFF_ROLES,
    ApplicationAcceptedSchema,
    ApplicationRequestSchema,
    ApproveRequestSchema,
    ClubMembersSchema,
    ClubSchema,
    CommunicatorPageSchema,
    CommunicatorQuerySchema,
    CorridorRequestSchema,
    CorridorSchema,
    CycleSchema,
    DecisionRequestSchema,
    DoneSchema,
    EmailSearchSchema,
    ErasureRequestSchema,
    InboxMessageSchema,
    InboxQuerySchema,
    NewPasswordSchema,
    OwnStatusSchema,
    OwnStipendSchema,
    ParkedDeliverySchema,
    PayoutActionRequestSchema,
    PayoutRunSchema,
    PayoutSchema,
    PayoutSetupSchema,
    PreferencesSchema,
    ReconcileRequestSchema,
    ReconciliationItemSchema,
    ReconciliationItemsQuerySchema,
    ReconciliationSchema,
    ReconciliationsQuerySchema,
    RejectRequestSchema,
    ReleaseRequestSchema,
    ReportQuerySchema,
    ReportRequestSchema,
    ReportSchema,
    ResetRequestSchema,
    ResolutionRequestSchema,
    ResolveItemsRequestSchema,
    ReviewRequestSchema,
    SavedReportSchema,
    SecondFactorRequestSchema,
    SecondFactorResetRequestSchema,
    SessionSchema,
    SignInRequestSchema,
    SignOffRequestSchema,
    StaffInvitationRequestSchema,
    StaffMemberSchema,
    StipendSchema,
)
from svyaz.dependencies import Database
from svyaz.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceError
from svyaz.messaging import RpcProxy

JSON = "application/json"


def json_body(request: Request) -> Any:
    try:
        return json.loads(request.get_data(cache=False) or b"null")
    except ValueError:
        raise BadRequest("the body is not JSON", "invalid_json") from None


def respond(status: int, payload: Any) -> Response:
    return Response(json.dumps(payload), status=status, mimetype=JSON)


def query(request: Request, schema: type[Schema]) -> Any:
    """The query string through a schema; unknown parameters are refused."""
    return schema().load({key: request.args.get(key) for key in request.args})


ADMIN, FINANCE, COORDINATOR, COMMUNICATOR = (
    "program_admin",
    "finance",
    "club_coordinator",
    "communicator",
)
STAFF = (ADMIN, FINANCE, COORDINATOR)
PAYOUT_EVENTS = frozenset({"transfer", "payout", "balance"})
ANYONE_SIGNED_IN = (COMMUNICATOR, *STAFF)
MAX_UPLOAD = CONTENT  # a period's report or statement, in characters
PAGE_ITEMS = 100  # differences per page of the work queue


class GatewayService:
    name = "gateway"

    db = Database()
    registry = RpcProxy("registry")
    stipends = RpcProxy("stipends")
    notifications = RpcProxy("notifications")
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
        max_body=TEXT_BODY,
    )
    def apply(self, request: Request) -> Response:
        body = ApplicationRequestSchema().load(json_body(request))
        self.deadline(self.registry.apply, body)
        return respond(202, ApplicationAcceptedSchema().dump({"status": "received"}))

    @http("POST", "/webhooks/stripe", max_body=WEBHOOK_BODY)
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
        elif event["type"].split(".")[0] in PAYOUT_EVENTS:
            # transfers and payouts: stipends deduplicates by event id and is safe
            # in any order; an error here is a 5xx, so Stripe delivers again
            self.deadline(self.stipends.stripe_event, event)
        return respond(200, {"received": True})

    # -- the JSON API -----------------------------------------------------------------
    # A session is the same HttpOnly cookie as the consoles'; every POST, PUT and
    # DELETE also carries the session's CSRF token in the X-CSRF-Token header.
    def _api_session(
        self, request: Request, roles: tuple[str, ...], unsafe: bool = False
    ) -> WebSession:
        row = self._session(request)
        if row is None or row.stage != "full":
            raise Unauthorized("sign in first", "not_signed_in")
        if unsafe and not logic.csrf_ok(row, request.headers.get("X-CSRF-Token")):
            raise Forbidden("the X-CSRF-Token header is missing or wrong", "csrf")
        if not row.role_set & set(roles):
            raise Forbidden("this is not for your role", "role_required")
        return row

    @http(
        "POST",
        "/api/v1/session",
        summary="Sign in: the session cookie and its CSRF token. Every failure "
        "gets the same answer.",
        body=SignInRequestSchema,
        responses={200: SessionSchema},
        tags=("session",),
    )
    def api_sign_in(self, request: Request) -> Response:
        body = SignInRequestSchema().load(json_body(request))
        result = self.deadline(
            self.registry.sign_in, body["email"], body["password"], body.get("code")
        )
        if result["status"] not in ("ok", "enroll"):
            raise Unauthorized(
                "the email, password or code is not right, or the account is "
                "locked for a while",
                "sign_in_failed",
            )
        stage, opened = self._open_session(request, result)
        csrf_token = opened.session.csrf_token
        actor = {"id": result["actor"]["id"], "roles": result["actor"]["roles"]}
        response = respond(
            200,
            SessionSchema().dump(
                {
                    "status": result["status"],
                    "actor": actor,
                    "csrf_token": csrf_token,
                    "totp_secret": pages.totp_secret(result["enrollment_uri"])
                    if stage == "enroll"
                    else None,
                }
            ),
        )
        web.set_cookie(response, web.SESSION_COOKIE, opened.token, self.cookie_secure)
        return response

    @http(
        "POST",
        "/api/v1/session/second-factor",
        summary="Confirm the second factor set up at sign-in (admins and finance)",
        body=SecondFactorRequestSchema,
        responses={200: SessionSchema},
        tags=("session",),
    )
    def api_second_factor(self, request: Request) -> Response:
        body = SecondFactorRequestSchema().load(json_body(request))
        row = self._session(request)
        if row is None or row.stage != "enroll":
            raise Unauthorized("sign in first", "not_signed_in")
        if not logic.csrf_ok(row, request.headers.get("X-CSRF-Token")):
            raise Forbidden("the X-CSRF-Token header is missing or wrong", "csrf")
        confirmed = self.deadline(
            self.registry.confirm_second_factor, self._actor(row), body["code"]
        )
        if not confirmed["confirmed"]:
            raise Unauthorized("the code is not right", "sign_in_failed")
        with self.db.transaction() as session:
            opened = logic.promote(session, session.merge(row), confirmed["actor"])
            csrf_token = opened.session.csrf_token
        actor = {"id": str(row.actor_id), "roles": confirmed["actor"]["roles"]}
        response = respond(
            200,
            SessionSchema().dump(
                {"status": "ok", "actor": actor, "csrf_token": csrf_token}
            ),
        )
        web.set_cookie(response, web.SESSION_COOKIE, opened.token, self.cookie_secure)
        return response

    @http(
        "POST",
        "/api/v1/password-resets",
        summary="Email a one-time link to set a new password (the same answer for "
        "every email)",
        body=ResetRequestSchema,
        responses={202: DoneSchema},
        tags=("session",),
    )
    def api_request_reset(self, request: Request) -> Response:
        body = ResetRequestSchema().load(json_body(request))
        self.deadline(self.registry.request_password_reset, body["email"])
        return respond(202, {"status": "requested"})

    @http(
        "POST",
        "/api/v1/password-resets/new-password",
        summary="Set a new password with the emailed token; every session of the "
        "account ends",
        body=NewPasswordSchema,
        responses={200: DoneSchema},
        tags=("session",),
    )
    def api_new_password(self, request: Request) -> Response:
        body = NewPasswordSchema().load(json_body(request))
        self._reset(body["token"], body["password"])
        return respond(200, {"status": "password_set"})

    def _reset(self, token: str, password: str) -> None:
        done = self.deadline(self.registry.reset_password, token, password)
        self._end_sessions(uuid.UUID(done["account_id"]))

    def _erase_self(self, row: WebSession, reason: str) -> None:
        """A communicator's own erasure (the registry destroys the data), then every
        session of theirs ends."""
        actor = self._actor(row)
        self.deadline(self.registry.erase, actor, actor["id"], reason)
        self._end_sessions(row.actor_id)

    def _open_session(
        self, request: Request, result: dict[str, Any]
    ) -> tuple[str, logic.Opened]:
        """A session for a sign-in the registry answered ok or enroll, keeping the
        assertion it signed; (stage, the opened session)."""
        actor = result["actor"]
        stage = "full" if result["status"] == "ok" else "enroll"
        with self.db.transaction() as session:
            opened = logic.open_session(
                session,
                actor["id"],
                actor["roles"],
                stage,
                web.language(request),
                signed=actor,
            )
        return stage, opened

    def _after_decision(self, step: str, communicator_id: str) -> None:
        """A communicator suspended or offboarded here is signed out at once (the
        registry also refuses to renew their assertions, for every other gateway)."""
        if step in ("suspend", "offboard"):
            self._end_sessions(uuid.UUID(communicator_id))

    def _end_sessions(self, account_id: uuid.UUID) -> None:
        with self.db.transaction() as session:
            logic.close_all_for(session, account_id)

    @http(
        "DELETE",
        "/api/v1/session",
        summary="Sign out",
        responses={200: DoneSchema},
        tags=("session",),
        roles=ANYONE_SIGNED_IN,
    )
    def api_sign_out(self, request: Request) -> Response:
        self._api_session(request, ANYONE_SIGNED_IN, unsafe=True)
        with self.db.transaction() as session:
            logic.close(session, request.cookies.get(web.SESSION_COOKIE))
        response = respond(200, {"status": "signed_out"})
        response.delete_cookie(web.SESSION_COOKIE, path="/")
        return response

    @http(
        "GET",
        "/api/v1/me",
        summary="The communicator's own status and payout set-up (no personal field)",
        responses={200: OwnStatusSchema},
        tags=("communicator",),
        roles=(COMMUNICATOR,),
    )
    def api_me(self, request: Request) -> Response:
        row = self._api_session(request, (COMMUNICATOR,))
        own = self.deadline(self.registry.get_own_status, self._actor(row))
        return respond(200, OwnStatusSchema().dump(own))

    @http(
        "GET",
        "/api/v1/me/stipends",
        summary="One's stipends and payments, newest cycle first",
        responses={200: [OwnStipendSchema]},
        tags=("communicator",),
        roles=(COMMUNICATOR,),
    )
    def api_own_stipends(self, request: Request) -> Response:
        row = self._api_session(request, (COMMUNICATOR,))
        found = self.deadline(self.stipends.own_stipends, self._actor(row))
        return respond(200, OwnStipendSchema(many=True).dump(found))

    @http(
        "POST",
        "/api/v1/me/payout-setup",
        summary="Start or resume payout set-up: a Stripe onboarding link or the "
        "next step, by the corridor of the communicator's country",
        responses={200: PayoutSetupSchema},
        tags=("communicator",),
        roles=(COMMUNICATOR,),
    )
    def api_payout_setup(self, request: Request) -> Response:
        row = self._api_session(request, (COMMUNICATOR,), unsafe=True)
        result = self.deadline(self.registry.start_payout_setup, self._actor(row))
        return respond(200, PayoutSetupSchema().dump(result))

    @http(
        "POST",
        "/api/v1/me/erasure",
        summary="Erase me: personal data destroyed, the account closed, signed out",
        body=ErasureRequestSchema,
        responses={202: DoneSchema},
        tags=("communicator",),
        roles=(COMMUNICATOR,),
    )
    def api_erase_me(self, request: Request) -> Response:
        row = self._api_session(request, (COMMUNICATOR,), unsafe=True)
        body = ErasureRequestSchema().load(json_body(request))
        self._erase_self(row, body["reason"])
        response = respond(202, {"status": "erased"})
        response.delete_cookie(web.SESSION_COOKIE, path="/")
        return response

    def _page_of(self, row: WebSession, criteria: dict[str, Any]) -> Response:
        page, per_page = criteria.pop("page"), criteria.pop("per_page")
        found = self.deadline(
            self.registry.find_communicators,
            self._actor(row),
            {**criteria, "offset": (page - 1) * per_page, "limit": per_page + 1},
        )
        return respond(
            200,
            CommunicatorPageSchema().dump(
                {
                    "items": found[:per_page],
                    "page": page,
                    "per_page": per_page,
                    "next_page": page + 1 if len(found) > per_page else None,
                }
            ),
        )

    @http(
        "GET",
        "/api/v1/communicators",
        summary="Search communicators by pseudonym prefix or status, a page at a time",
        query=CommunicatorQuerySchema,
        responses={200: CommunicatorPageSchema},
        tags=("admin",),
        roles=(ADMIN, FINANCE),
    )
    def api_communicators(self, request: Request) -> Response:
        row = self._api_session(request, (ADMIN, FINANCE))
        return self._page_of(row, query(request, CommunicatorQuerySchema))

    @http(
        "POST",
        "/api/v1/communicators/search",
        summary="Find a communicator by email (in the body, never in a URL)",
        body=EmailSearchSchema,
        responses={200: CommunicatorPageSchema},
        tags=("admin",),
        roles=(ADMIN, FINANCE),
    )
    def api_search_by_email(self, request: Request) -> Response:
        row = self._api_session(request, (ADMIN, FINANCE), unsafe=True)
        return self._page_of(row, EmailSearchSchema().load(json_body(request)))

    @http(
        "GET",
        "/api/v1/communicators/<communicator_id>",
        summary="An application as admins review it: vouch, approvals, dedup items",
        tags=("admin",),
        responses={200: None},
        roles=(ADMIN,),
    )
    def api_communicator(self, request: Request, communicator_id: str) -> Response:
        row = self._api_session(request, (ADMIN,))
        view = self.deadline(
            self.registry.get_application, self._actor(row), communicator_id
        )
        return respond(200, view)

    @http(
        "POST",
        "/api/v1/communicators/<communicator_id>/decisions",
        summary="A vetting step with its reason: start_review, approve, reject, "
        "suspend, reinstate or offboard",
        body=DecisionRequestSchema,
        responses={200: None},
        tags=("admin",),
        roles=(ADMIN,),
    )
    def api_decide(self, request: Request, communicator_id: str) -> Response:
        row = self._api_session(request, (ADMIN,), unsafe=True)
        body = DecisionRequestSchema().load(json_body(request))
        result = self.deadline(
            getattr(self.registry, body["step"]),
            self._actor(row),
            communicator_id,
            body["reason"],
        )
        self._after_decision(body["step"], communicator_id)
        return respond(200, result)

    @http(
        "GET",
        "/api/v1/staff",
        summary="Staff accounts: roles, state (invited, enrolling, active, disabled), "
        "last sign-in, a second-factor reset waiting for a second admin",
        responses={200: [StaffMemberSchema]},
        tags=("admin",),
        roles=(ADMIN,),
    )
    def api_staff(self, request: Request) -> Response:
        row = self._api_session(request, (ADMIN,))
        return respond(200, self.deadline(self.registry.list_staff, self._actor(row)))

    @http(
        "POST",
        "/api/v1/staff",
        summary="Invite a staff member: the invitee gets a one-time link (72 hours) "
        "and sets their own password and authenticator",
        body=StaffInvitationRequestSchema,
        responses={201: None},
        tags=("admin",),
        roles=(ADMIN,),
    )
    def api_invite_staff(self, request: Request) -> Response:
        row = self._api_session(request, (ADMIN,), unsafe=True)
        body = StaffInvitationRequestSchema().load(json_body(request))
        return respond(
            201, self.deadline(self.registry.invite_staff, self._actor(row), body)
        )

    @http(
        "POST",
        "/api/v1/staff/<account_id>/disabling",
        summary="Disable a staff account: no sign-in, and its sessions end",
        responses={200: None},
        tags=("admin",),
        roles=(ADMIN,),
    )
    def api_disable_staff(self, request: Request, account_id: str) -> Response:
        row = self._api_session(request, (ADMIN,), unsafe=True)
        done = self.deadline(self.registry.disable_staff, self._actor(row), account_id)
        self._end_sessions(uuid.UUID(done["id"]))
        return respond(200, done)

    @http(
        "POST",
        "/api/v1/staff/<account_id>/enabling",
        summary="Enable a disabled staff account again",
        responses={200: None},
        tags=("admin",),
        roles=(ADMIN,),
    )
    def api_enable_staff(self, request: Request, account_id: str) -> Response:
        row = self._api_session(request, (ADMIN,), unsafe=True)
        return respond(
            200, self.deadline(self.registry.enable_staff, self._actor(row), account_id)
        )

    @http(
        "POST",
        "/api/v1/staff/<account_id>/second-factor-resets",
        summary="Ask to reset a staff member's lost authenticator (a second admin "
        "approves)",
        body=SecondFactorResetRequestSchema,
        responses={201: None},
        tags=("admin",),
        roles=(ADMIN,),
    )
    def api_request_factor_reset(self, request: Request, account_id: str) -> Response:
        row = self._api_session(request, (ADMIN,), unsafe=True)
        body = SecondFactorResetRequestSchema().load(json_body(request))
        return respond(
            201,
            self.deadline(
                self.registry.request_second_factor_reset,
                self._actor(row),
                account_id,
                body["reason"],
            ),
        )

    @http(
        "POST",
        "/api/v1/second-factor-resets/<reset_id>/approval",
        summary="Approve a second-factor reset another admin asked for: the person "
        "enrolls a new authenticator at their next sign-in",
        responses={200: None},
        tags=("admin",),
        roles=(ADMIN,),
    )
    def api_approve_factor_reset(self, request: Request, reset_id: str) -> Response:
        row = self._api_session(request, (ADMIN,), unsafe=True)
        done = self.deadline(
            self.registry.approve_second_factor_reset, self._actor(row), reset_id
        )
        self._end_sessions(uuid.UUID(done["id"]))
        return respond(200, done)

    @http(
        "GET",
        "/api/v1/review-items",
        summary="Open dedup review items (same email, phone or payout account)",
        responses={200: None},
        tags=("admin",),
        roles=(ADMIN,),
    )
    def api_review_items(self, request: Request) -> Response:
        row = self._api_session(request, (ADMIN,))
        return respond(
            200, self.deadline(self.registry.list_review_items, self._actor(row))
        )

    @http(
        "POST",
        "/api/v1/review-items/<item_id>/resolution",
        summary="Resolve a dedup review item: same_person or distinct, with a note",
        body=ResolutionRequestSchema,
        responses={200: None},
        tags=("admin",),
        roles=(ADMIN,),
    )
    def api_resolve(self, request: Request, item_id: str) -> Response:
        row = self._api_session(request, (ADMIN,), unsafe=True)
        body = ResolutionRequestSchema().load(json_body(request))
        result = self.deadline(
            self.registry.resolve_review_item,
            self._actor(row),
            item_id,
            body["outcome"],
            body["note"],
        )
        return respond(200, result)

    @http(
        "GET",
        "/api/v1/clubs",
        summary="Communication Clubs",
        responses={200: [ClubSchema]},
        tags=("clubs",),
        roles=ANYONE_SIGNED_IN,
    )
    def api_clubs(self, request: Request) -> Response:
        self._api_session(request, ANYONE_SIGNED_IN)
        clubs = self.deadline(self.registry.list_clubs)
        return respond(200, ClubSchema(many=True).dump(clubs))

    @http(
        "GET",
        "/api/v1/clubs/<club_id>/members",
        summary="A club's members by pseudonym: its own coordinator and admins only",
        responses={200: ClubMembersSchema},
        tags=("clubs",),
        roles=(COORDINATOR, ADMIN),
    )
    def api_club_members(self, request: Request, club_id: str) -> Response:
        row = self._api_session(request, (COORDINATOR, ADMIN))
        members = self.deadline(self.registry.club_members, self._actor(row), club_id)
        return respond(200, ClubMembersSchema().dump({"pseudonyms": members}))

    @http(
        "GET",
        "/api/v1/corridors",
        summary="The payout routing table: country to provider",
        responses={200: [CorridorSchema]},
        tags=("admin", "finance"),
        roles=(ADMIN, FINANCE),
    )
    def api_corridors(self, request: Request) -> Response:
        self._api_session(request, (ADMIN, FINANCE))
        corridors = self.deadline(self.registry.list_corridors)
        return respond(200, CorridorSchema(many=True).dump(corridors))

    @http(
        "PUT",
        "/api/v1/corridors/<country>",
        summary="Route a country's payouts to a provider",
        body=CorridorRequestSchema,
        responses={200: CorridorSchema},
        tags=("admin",),
        roles=(ADMIN,),
    )
    def api_set_corridor(self, request: Request, country: str) -> Response:
        row = self._api_session(request, (ADMIN,), unsafe=True)
        body = CorridorRequestSchema().load(json_body(request))
        corridor = self.deadline(
            self.registry.set_corridor, self._actor(row), country, body["provider"]
        )
        return respond(200, CorridorSchema().dump(corridor))

    # -- reports, cycles and stipends ------------------------------------------------
    @http(
        "GET",
        "/api/v1/cycles",
        summary="Cycles: communicators see the open ones, staff all",
        responses={200: [CycleSchema]},
        tags=("reports",),
        roles=(COMMUNICATOR, ADMIN, FINANCE),
    )
    def api_cycles(self, request: Request) -> Response:
        row = self._api_session(request, (COMMUNICATOR, ADMIN, FINANCE))
        cycles = self.deadline(self.stipends.list_cycles, self._actor(row))
        return respond(200, CycleSchema(many=True).dump(cycles))

    @http(
        "POST",
        "/api/v1/cycles/<cycle_id>/reports",
        summary="Save a report draft for a cycle (what was redacted comes back)",
        body=ReportRequestSchema,
        responses={201: SavedReportSchema},
        tags=("reports",),
        roles=(COMMUNICATOR,),
        max_body=TEXT_BODY,
    )
    def api_save_report(self, request: Request, cycle_id: str) -> Response:
        row = self._api_session(request, (COMMUNICATOR,), unsafe=True)
        body = ReportRequestSchema().load(json_body(request))
        saved = self.deadline(
            self.stipends.save_report_draft, self._actor(row), cycle_id, body
        )
        return respond(201, SavedReportSchema().dump(saved))

    @http(
        "GET",
        "/api/v1/cycles/<cycle_id>/reports",
        summary="A cycle's reports: all for admins (the review queue with "
        "?status=submitted), one's own for a communicator",
        query=ReportQuerySchema,
        responses={200: [ReportSchema]},
        tags=("reports",),
        roles=(COMMUNICATOR, ADMIN),
    )
    def api_reports(self, request: Request, cycle_id: str) -> Response:
        row = self._api_session(request, (COMMUNICATOR, ADMIN))
        wanted = query(request, ReportQuerySchema)
        found = self.deadline(
            self.stipends.list_reports,
            self._actor(row),
            cycle_id,
            wanted.get("status"),
        )
        return respond(200, ReportSchema(many=True).dump(found))

    @http(
        "PUT",
        "/api/v1/reports/<report_id>",
        summary="Edit one's own report until the deadline",
        body=ReportRequestSchema,
        responses={200: SavedReportSchema},
        tags=("reports",),
        roles=(COMMUNICATOR,),
        max_body=TEXT_BODY,
    )
    def api_edit_report(self, request: Request, report_id: str) -> Response:
        row = self._api_session(request, (COMMUNICATOR,), unsafe=True)
        body = ReportRequestSchema().load(json_body(request))
        saved = self.deadline(
            self.stipends.edit_report, self._actor(row), report_id, body
        )
        return respond(200, SavedReportSchema().dump(saved))

    @http(
        "POST",
        "/api/v1/reports/<report_id>/submission",
        summary="Submit one's own report (after the deadline it is marked late)",
        responses={200: ReportSchema},
        tags=("reports",),
        roles=(COMMUNICATOR,),
    )
    def api_submit_report(self, request: Request, report_id: str) -> Response:
        row = self._api_session(request, (COMMUNICATOR,), unsafe=True)
        report = self.deadline(self.stipends.submit_report, self._actor(row), report_id)
        return respond(200, ReportSchema().dump(report))

    @http(
        "POST",
        "/api/v1/reports/<report_id>/review",
        summary="Accept, reject or request changes (a comment is needed for the "
        "last two)",
        body=ReviewRequestSchema,
        responses={200: ReportSchema},
        tags=("reports",),
        roles=(ADMIN,),
    )
    def api_review_report(self, request: Request, report_id: str) -> Response:
        row = self._api_session(request, (ADMIN,), unsafe=True)
        body = ReviewRequestSchema().load(json_body(request))
        report = self.deadline(
            self.stipends.review_report,
            self._actor(row),
            report_id,
            body["decision"],
            body.get("comment", ""),
        )
        return respond(200, ReportSchema().dump(report))

    @http(
        "GET",
        "/api/v1/stipends/<stipend_id>",
        summary="A stipend with its approvals and the digest an approver confirms; "
        "its payee sees it too",
        responses={200: StipendSchema},
        tags=("stipends",),
        roles=(COMMUNICATOR, ADMIN, FINANCE),
    )
    def api_stipend(self, request: Request, stipend_id: str) -> Response:
        row = self._api_session(request, (COMMUNICATOR, ADMIN, FINANCE))
        view = self.deadline(self.stipends.get_stipend, self._actor(row), stipend_id)
        return respond(200, StipendSchema().dump(view))

    @http(
        "POST",
        "/api/v1/stipends/<stipend_id>/approvals",
        summary="Approve (one slot per person, never one's own proposal)",
        body=ApproveRequestSchema,
        responses={200: StipendSchema},
        tags=("stipends",),
        roles=(ADMIN,),
    )
    def api_approve_stipend(self, request: Request, stipend_id: str) -> Response:
        row = self._api_session(request, (ADMIN,), unsafe=True)
        body = ApproveRequestSchema().load(json_body(request))
        result = self.deadline(
            self.stipends.approve_stipend, self._actor(row), stipend_id, body["digest"]
        )
        return respond(200, StipendSchema().dump(result))

    @http(
        "POST",
        "/api/v1/stipends/<stipend_id>/rejection",
        summary="Reject a proposed stipend with a reason",
        body=RejectRequestSchema,
        responses={200: StipendSchema},
        tags=("stipends",),
        roles=(ADMIN,),
    )
    def api_reject_stipend(self, request: Request, stipend_id: str) -> Response:
        row = self._api_session(request, (ADMIN,), unsafe=True)
        body = RejectRequestSchema().load(json_body(request))
        result = self.deadline(
            self.stipends.reject_stipend, self._actor(row), stipend_id, body["reason"]
        )
        return respond(200, StipendSchema().dump(result))

    # -- the inbox, preferences and parked deliveries ---------------------------------
    @http(
        "GET",
        "/api/v1/me/inbox",
        summary="One's messages (the details discreet mail leaves out)",
        query=InboxQuerySchema,
        responses={200: [InboxMessageSchema]},
        tags=("inbox",),
        roles=ANYONE_SIGNED_IN,
    )
    def api_inbox(self, request: Request) -> Response:
        row = self._api_session(request, ANYONE_SIGNED_IN)
        wanted = query(request, InboxQuerySchema)
        messages = self.deadline(
            self.notifications.list_inbox,
            self._actor(row),
            {**wanted, "language": web.language(request, row.language)},
        )
        return respond(200, InboxMessageSchema(many=True).dump(messages))

    @http(
        "POST",
        "/api/v1/me/inbox/<int:message_id>/read",
        summary="Mark one of one's messages read",
        responses={200: DoneSchema},
        tags=("inbox",),
        roles=ANYONE_SIGNED_IN,
    )
    def api_mark_read(self, request: Request, message_id: int) -> Response:
        row = self._api_session(request, ANYONE_SIGNED_IN, unsafe=True)
        self.deadline(self.notifications.mark_read, self._actor(row), message_id)
        return respond(200, {"status": "read"})

    @http(
        "GET",
        "/api/v1/me/preferences",
        summary="How one is told: channels, language, time zone, quiet hours",
        responses={200: PreferencesSchema},
        tags=("inbox",),
        roles=ANYONE_SIGNED_IN,
    )
    def api_preferences(self, request: Request) -> Response:
        row = self._api_session(request, ANYONE_SIGNED_IN)
        found = self.deadline(self.notifications.get_preferences, self._actor(row))
        return respond(200, PreferencesSchema().dump(found))

    @http(
        "PUT",
        "/api/v1/me/preferences",
        summary="Change one's preferences (only the fields given)",
        body=PreferencesSchema,
        responses={200: PreferencesSchema},
        tags=("inbox",),
        roles=ANYONE_SIGNED_IN,
    )
    def api_set_preferences(self, request: Request) -> Response:
        row = self._api_session(request, ANYONE_SIGNED_IN, unsafe=True)
        body = PreferencesSchema().load(json_body(request))
        saved = self.deadline(
            self.notifications.set_preferences, self._actor(row), body
        )
        return respond(200, PreferencesSchema().dump(saved))

    @http(
        "GET",
        "/api/v1/deliveries/parked",
        summary="Notifications that could not be delivered, with the reason",
        responses={200: [ParkedDeliverySchema]},
        tags=("admin",),
        roles=(ADMIN, FINANCE),
    )
    def api_parked(self, request: Request) -> Response:
        row = self._api_session(request, (ADMIN, FINANCE))
        parked = self.deadline(self.notifications.list_parked, self._actor(row))
        return respond(200, ParkedDeliverySchema(many=True).dump(parked))

    # -- payout runs (finance) -------------------------------------------------------
    @http(
        "POST",
        "/api/v1/cycles/<cycle_id>/payout-runs",
        summary="Build a payout run from a cycle's approved stipends",
        responses={201: PayoutRunSchema},
        tags=("finance",),
        roles=(FINANCE,),
    )
    def api_build_run(self, request: Request, cycle_id: str) -> Response:
        row = self._api_session(request, (FINANCE,), unsafe=True)
        run = self.deadline(self.stipends.build_payout_run, self._actor(row), cycle_id)
        return respond(201, PayoutRunSchema().dump(run))

    @http(
        "GET",
        "/api/v1/payout-runs/<run_id>",
        summary="A payout run: status, control totals and payouts by state",
        responses={200: PayoutRunSchema},
        tags=("finance",),
        roles=(FINANCE, ADMIN),
    )
    def api_run(self, request: Request, run_id: str) -> Response:
        row = self._api_session(request, (FINANCE, ADMIN))
        run = self.deadline(self.stipends.get_payout_run, self._actor(row), run_id)
        return respond(200, PayoutRunSchema().dump(run))

    @http(
        "GET",
        "/api/v1/payout-runs/<run_id>/payouts",
        summary="A run's payouts with their states",
        responses={200: [PayoutSchema]},
        tags=("finance",),
        roles=(FINANCE, ADMIN),
    )
    def api_run_payouts(self, request: Request, run_id: str) -> Response:
        row = self._api_session(request, (FINANCE, ADMIN))
        found = self.deadline(self.stipends.list_payouts, self._actor(row), run_id)
        return respond(200, PayoutSchema(many=True).dump(found))

    @http(
        "POST",
        "/api/v1/payout-runs/<run_id>/release",
        summary="Release a run: finance, a fresh second factor, the totals confirmed, "
        "and no approver of its stipends",
        body=ReleaseRequestSchema,
        responses={200: PayoutRunSchema},
        tags=("finance",),
        roles=(FINANCE,),
    )
    def api_release_run(self, request: Request, run_id: str) -> Response:
        row = self._api_session(request, (FINANCE,), unsafe=True)
        body = ReleaseRequestSchema().load(json_body(request))
        run = self.deadline(  # stipends checks the code with the registry itself
            self.stipends.release_payout_run,
            self._actor(row),
            run_id,
            body["totals_digest"],
            body["code"],
        )
        return respond(200, PayoutRunSchema().dump(run))

    @http(
        "POST",
        "/api/v1/payouts/<payout_id>/actions",
        summary="Retry, cancel, mark paid offline or mark failed, with a reason",
        body=PayoutActionRequestSchema,
        responses={200: PayoutSchema},
        tags=("finance",),
        roles=(FINANCE,),
    )
    def api_payout_action(self, request: Request, payout_id: str) -> Response:
        row = self._api_session(request, (FINANCE,), unsafe=True)
        body = PayoutActionRequestSchema().load(json_body(request))
        payout = self.deadline(
            self.stipends.payout_action,
            self._actor(row),
            payout_id,
            body["action"],
            body["reason"],
        )
        return respond(200, PayoutSchema().dump(payout))

    @http(
        "GET",
        "/api/v1/reconciliations",
        summary="Reconciliations by provider and period, the latest first",
        query=ReconciliationsQuerySchema,
        responses={200: [ReconciliationSchema]},
        tags=("finance",),
        roles=(FINANCE, ADMIN),
    )
    def api_reconciliations(self, request: Request) -> Response:
        row = self._api_session(request, (FINANCE, ADMIN))
        page = query(request, ReconciliationsQuerySchema)
        found = self.deadline(
            self.stipends.list_reconciliations,
            self._actor(row),
            page["limit"],
            page["offset"],
        )
        return respond(200, ReconciliationSchema(many=True).dump(found))

    @http(
        "POST",
        "/api/v1/reconciliations",
        summary="Reconcile a provider's period: pulled from its API, or Stripe's "
        "itemized report or the bank's statement given as content",
        body=ReconcileRequestSchema,
        responses={201: ReconciliationSchema},
        tags=("finance",),
        roles=(FINANCE,),
        max_body=UPLOAD_BODY,
    )
    def api_reconcile(self, request: Request) -> Response:
        row = self._api_session(request, (FINANCE,), unsafe=True)
        body = ReconcileRequestSchema().load(json_body(request))
        found = self.deadline(
            self.stipends.reconcile_period,
            self._actor(row),
            body["provider"],
            body["period_start"].isoformat(),
            body["period_end"].isoformat(),
            body["source"],
            body["content"],
        )
        return respond(201, ReconciliationSchema().dump(found))

    @http(
        "GET",
        "/api/v1/reconciliations/<reconciliation_id>",
        summary="A reconciliation: counts, differences by kind and state, sign-off",
        responses={200: ReconciliationSchema},
        tags=("finance",),
        roles=(FINANCE, ADMIN),
    )
    def api_reconciliation(self, request: Request, reconciliation_id: str) -> Response:
        row = self._api_session(request, (FINANCE, ADMIN))
        found = self.deadline(
            self.stipends.get_reconciliation, self._actor(row), reconciliation_id
        )
        return respond(200, ReconciliationSchema().dump(found))

    @http(
        "GET",
        "/api/v1/reconciliations/<reconciliation_id>/items",
        summary="The work queue: differences in id order, after item `after`",
        query=ReconciliationItemsQuerySchema,
        responses={200: [ReconciliationItemSchema]},
        tags=("finance",),
        roles=(FINANCE, ADMIN),
    )
    def api_reconciliation_items(
        self, request: Request, reconciliation_id: str
    ) -> Response:
        row = self._api_session(request, (FINANCE, ADMIN))
        page = query(request, ReconciliationItemsQuerySchema)
        found = self.deadline(
            self.stipends.list_reconciliation_items,
            self._actor(row),
            reconciliation_id,
            page.get("state"),
            page.get("kind"),
            page["after"],
            page["limit"],
        )
        return respond(200, ReconciliationItemSchema(many=True).dump(found))

    @http(
        "POST",
        "/api/v1/reconciliations/<reconciliation_id>/items/resolve",
        summary="Link, write off or re-pay differences, one or many, all or none",
        body=ResolveItemsRequestSchema,
        responses={200: [ReconciliationItemSchema]},
        tags=("finance",),
        roles=(FINANCE,),
        max_body=TEXT_BODY,
    )
    def api_resolve_items(self, request: Request, reconciliation_id: str) -> Response:
        row = self._api_session(request, (FINANCE,), unsafe=True)
        body = ResolveItemsRequestSchema().load(json_body(request))
        found = self.deadline(
            self.stipends.resolve_reconciliation_items,
            self._actor(row),
            reconciliation_id,
            body["item_ids"],
            body["action"],
            body["reason"],
            str(body["payout_id"]) if body["payout_id"] else None,
        )
        return respond(200, ReconciliationItemSchema(many=True).dump(found))

    @http(
        "POST",
        "/api/v1/reconciliations/<reconciliation_id>/sign-off",
        summary="Sign a period off: nothing open, and a finance person who neither "
        "ran it nor resolved its differences",
        body=SignOffRequestSchema,
        responses={200: ReconciliationSchema},
        tags=("finance",),
        roles=(FINANCE,),
    )
    def api_sign_off(self, request: Request, reconciliation_id: str) -> Response:
        row = self._api_session(request, (FINANCE,), unsafe=True)
        body = SignOffRequestSchema().load(json_body(request))
        found = self.deadline(
            self.stipends.sign_off_reconciliation,
            self._actor(row),
            reconciliation_id,
            body["note"],
        )
        return respond(200, ReconciliationSchema().dump(found))

    # -- the web consoles -----------------------------------------------------------
    @property
    def cookie_secure(self) -> bool:
        return str(self.config.get("COOKIE_SECURE", True)).lower() != "false"

    def _session(self, request: Request) -> WebSession | None:
        with self.db.transaction() as session:
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
            self._end_sessions(row.actor_id)
            return None
        with self.db.transaction() as session:
            fresh = session.merge(row)
            logic.store_assertion(fresh, signed)
        return fresh

    def _signed_in(self, request: Request, *roles: str) -> WebSession:
        row = self._session(request)
        if row is None or row.stage != "full":
            raise NotSignedIn()
        if roles and not row.role_set & set(roles):
            raise Forbidden("this page is not for your role", "role_required")
        return row

    @staticmethod
    def _actor(row: WebSession) -> dict[str, Any]:
        """Who the session is, for a call: the services read only the assertion."""
        return {
            "id": str(row.actor_id),
            "roles": sorted(row.role_set),
            "assertion": row.assertion,
        }

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
            lang=web.language(request, row.language if row else None),
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
        except InvalidInput:
            return self._page(
                request,
                "message.html",
                status=400,
                message=web.texts(web.language(request))["error"],
            )
        except Conflict as exc:  # the state does not allow it: say why
            return self._page(request, "message.html", status=409, message=exc.message)

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

    @http("POST", "/apply", max_body=TEXT_BODY)
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

    # -- console: forgotten passwords --------------------------------------------------
    @http("GET", "/forgot-password")
    def forgot_form(self, request: Request) -> Response:
        return self._page(request, "forgot_password.html")

    @http("POST", "/forgot-password")
    def forgot(self, request: Request) -> Response:
        texts = web.texts(web.language(request))
        if not web.anonymous_csrf_ok(request):
            return self._page(
                request, "message.html", status=400, message=texts["error"]
            )
        email = web.form(request).get("email", "")
        if email:
            self.deadline(self.registry.request_password_reset, email)
        return self._page(request, "message.html", message=texts["link_sent"])

    @http("GET", "/reset-password")
    def reset_form(self, request: Request) -> Response:
        return self._page(
            request,
            "reset_password.html",
            token=request.args.get("token", ""),
            error=None,
        )

    @http("POST", "/reset-password")
    def reset(self, request: Request) -> Response:
        texts = web.texts(web.language(request))
        values = web.form(request)
        if not web.anonymous_csrf_ok(request):
            return self._page(
                request, "message.html", status=400, message=texts["error"]
            )
        try:
            self._reset(values.get("token", ""), values.get("password", ""))
        except InvalidInput as exc:
            return self._page(
                request,
                "reset_password.html",
                status=400,
                token=values.get("token", ""),
                error=exc.message,
            )
        return self._page(request, "message.html", message=texts["password_set"])

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
        stage, opened = self._open_session(request, result)
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
            opened = logic.promote(session, fresh, confirmed["actor"])
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
            actor = self._actor(row)
            me = self.deadline(self.registry.get_own_status, actor)
            return self._page(
                request,
                "me.html",
                row,
                me=me,
                setup=None,
                stipends=self._own_stipends(actor),
            )

        return self._guarded(request, page)

    def _own_stipends(self, actor: dict[str, Any]) -> list[dict[str, Any]] | None:
        """The home page's history, or None while stipends does not answer (the
        rest of the page still shows)."""
        try:
            found: list[dict[str, Any]] = self.deadline(
                self.stipends.own_stipends, actor
            )
        except UpstreamUnavailable:
            return None
        return found

    def _form(self, request: Request, *roles: str) -> tuple[WebSession, dict[str, str]]:
        """A signed-in POST from a console form, its CSRF token checked."""
        row = self._signed_in(request, *roles)
        values = web.form(request)
        if not logic.csrf_ok(row, values.get("csrf")):
            raise Forbidden("the form expired; reload the page", "csrf")
        return row, values

    @http("GET", "/me/payouts")
    def me_payouts_back(self, request: Request) -> Response:
        """Where Stripe's hosted onboarding sends the communicator back: the set-up
        is checked with the registry at once (Global Payouts has no webhook here),
        then their home page shows where it stands."""

        def page() -> Response:
            row = self._signed_in(request, COMMUNICATOR)
            try:
                self.deadline(self.registry.refresh_payout_setup, self._actor(row))
            except UpstreamUnavailable:
                pass  # the registry's own check comes later
            return web.redirect("/me")

        return self._guarded(request, page)

    @http("POST", "/me/payout-setup")
    def me_payout_setup(self, request: Request) -> Response:
        def page() -> Response:
            row, _ = self._form(request, COMMUNICATOR)
            actor = self._actor(row)
            setup = self.deadline(self.registry.start_payout_setup, actor)
            me = self.deadline(self.registry.get_own_status, actor)
            return self._page(
                request,
                "me.html",
                row,
                me=me,
                setup=setup,
                stipends=self._own_stipends(actor),
            )

        return self._guarded(request, page)

    @http("POST", "/me/bank-details")
    def me_bank_details(self, request: Request) -> Response:
        """The bank-file corridor's payout destination, straight to the registry
        (encrypted there); it is never echoed back, not even on an error."""

        def page() -> Response:
            row, values = self._form(request, COMMUNICATOR)
            actor = self._actor(row)
            details = {
                "holder": values.get("holder", ""),
                "iban": values.get("iban", "").replace(" ", "").upper(),
                "bic": values.get("bic", "").replace(" ", "").upper(),
            }
            me = self.deadline(self.registry.get_own_status, actor)
            try:
                self.deadline(self.registry.set_bank_details, actor, details)
            except InvalidInput as exc:
                return self._page(
                    request,
                    "me.html",
                    row,
                    status=400,
                    me=me,
                    setup={"provider": "bank_file", "next": "bank_details"},
                    bank_error="; ".join(
                        f"{k}: {', '.join(v)}" for k, v in exc.fields.items()
                    )
                    or exc.message,
                    stipends=self._own_stipends(actor),
                )
            return self._page(
                request,
                "me.html",
                row,
                me=me,
                setup=None,
                bank_saved=True,
                stipends=self._own_stipends(actor),
            )

        return self._guarded(request, page)

    @http("GET", "/me/security")
    def me_security(self, request: Request) -> Response:
        def page() -> Response:
            row = self._signed_in(request, COMMUNICATOR)
            return self._page(request, "security.html", row, secret=None, done=False)

        return self._guarded(request, page)

    @http("POST", "/me/security")
    def me_offer_second_factor(self, request: Request) -> Response:
        def page() -> Response:
            row, _ = self._form(request, COMMUNICATOR)
            try:
                offer = self.deadline(
                    self.registry.offer_second_factor, self._actor(row)
                )
            except Forbidden as exc:
                return self._page(
                    request,
                    "security.html",
                    row,
                    status=409,
                    secret=None,
                    done=False,
                    error=exc.message,
                )
            return self._page(
                request,
                "security.html",
                row,
                secret=pages.totp_secret(offer["enrollment_uri"]),
                done=False,
            )

        return self._guarded(request, page)

    @http("POST", "/me/security/confirm")
    def me_confirm_second_factor(self, request: Request) -> Response:
        def page() -> Response:
            row, values = self._form(request, COMMUNICATOR)
            confirmed = self.deadline(
                self.registry.confirm_second_factor,
                self._actor(row),
                values.get("code", ""),
            )
            if confirmed["confirmed"]:  # the sign-in now has its second factor
                with self.db.transaction() as session:
                    logic.store_assertion(session.merge(row), confirmed["actor"])
            texts = web.texts(web.language(request, row.language))
            return self._page(
                request,
                "security.html",
                row,
                status=200 if confirmed["confirmed"] else 400,
                secret=None,
                done=confirmed["confirmed"],
                error=None if confirmed["confirmed"] else texts["failed_sign_in"],
            )

        return self._guarded(request, page)

    @http("POST", "/me/erase")
    def me_erase(self, request: Request) -> Response:
        def page() -> Response:
            row, values = self._form(request, COMMUNICATOR)
            if values.get("confirm") != "yes":
                raise InvalidInput("confirm the erasure", "unconfirmed")
            self._erase_self(row, values.get("reason", ""))
            response = self._page(
                request, "message.html", message=web.texts(row.language)["erased"]
            )
            response.delete_cookie(web.SESSION_COOKIE, path="/")
            return response

        return self._guarded(request, page)

    # -- console: reports (communicators) ---------------------------------------------
    def _open_cycle(self, actor: dict[str, Any]) -> dict[str, Any] | None:
        cycles = self.deadline(self.stipends.list_cycles, actor)
        open_ = [c for c in cycles if c["status"] == "open"]
        return min(open_, key=lambda c: c["deadline"]) if open_ else None

    def _report_page(
        self,
        request: Request,
        row: WebSession,
        *,
        values: dict[str, Any] | None = None,
        redacted: list[str] | None = None,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        actor = self._actor(row)
        cycle = self._open_cycle(actor)
        reports = (
            self.deadline(self.stipends.list_reports, actor, cycle["id"])
            if cycle
            else []
        )
        draft = next(
            (r for r in reports if r["status"] in ("draft", "changes_requested")),
            None,
        )
        if values is None:
            values = pages.report_values(draft)
        return self._page(
            request,
            "report.html",
            row,
            status=status,
            cycle=cycle,
            reports=reports,
            draft=draft,
            values=values,
            redacted=redacted,
            error=error,
            **pages.REPORT_CHOICES,
        )

    @http("GET", "/me/report")
    def me_report(self, request: Request) -> Response:
        def page() -> Response:
            return self._report_page(request, self._signed_in(request, COMMUNICATOR))

        return self._guarded(request, page)

    @http("POST", "/me/report", max_body=TEXT_BODY)
    def me_report_save(self, request: Request) -> Response:
        def page() -> Response:
            row, values = self._form(request, COMMUNICATOR)
            actor = self._actor(row)
            content = pages.report_from_form(request.form)
            try:
                if values.get("report_id"):
                    saved = self.deadline(
                        self.stipends.edit_report, actor, values["report_id"], content
                    )
                else:
                    saved = self.deadline(
                        self.stipends.save_report_draft,
                        actor,
                        values.get("cycle_id", ""),
                        content,
                    )
                if values.get("action") == "submit":
                    self.deadline(
                        self.stipends.submit_report, actor, saved["report"]["id"]
                    )
            except (InvalidInput, ServiceError) as exc:
                if isinstance(exc, (Forbidden, NotFound)):
                    raise
                return self._report_page(
                    request,
                    row,
                    values=pages.report_values(content),
                    error=exc.message,
                    status=400,
                )
            return self._report_page(request, row, redacted=saved["redacted"])

        return self._guarded(request, page)

    # -- console: report review, cycles, stipends (admins) --------------------------
    def _reports_page(
        self, request: Request, row: WebSession, error: str | None = None
    ) -> Response:
        actor = self._actor(row)
        cycles = [
            c
            for c in self.deadline(self.stipends.list_cycles, actor)
            if c["status"] != "locked"
        ]
        queue = {
            c["id"]: self.deadline(
                self.stipends.list_reports, actor, c["id"], "submitted"
            )
            for c in cycles
        }
        return self._page(
            request,
            "admin_reports.html",
            row,
            status=400 if error else 200,
            cycles=cycles,
            queue=queue,
            error=error,
        )

    @http("GET", "/admin/reports")
    def admin_reports(self, request: Request) -> Response:
        def page() -> Response:
            return self._reports_page(request, self._signed_in(request, ADMIN))

        return self._guarded(request, page)

    @http("POST", "/admin/reports/<report_id>")
    def admin_review_report(self, request: Request, report_id: str) -> Response:
        def page() -> Response:
            row, values = self._form(request, ADMIN)
            try:
                self.deadline(
                    self.stipends.review_report,
                    self._actor(row),
                    report_id,
                    values.get("decision", ""),
                    values.get("comment", ""),
                )
            except (InvalidInput, ServiceError) as exc:
                if isinstance(exc, (Forbidden, NotFound)):
                    raise
                return self._reports_page(request, row, exc.message)
            return web.redirect("/admin/reports")

        return self._guarded(request, page)

    @http("POST", "/admin/cycles/<cycle_id>/close")
    def admin_close_cycle(self, request: Request, cycle_id: str) -> Response:
        def page() -> Response:
            row, _ = self._form(request, ADMIN)
            try:
                self.deadline(self.stipends.close_cycle, self._actor(row), cycle_id)
            except (InvalidInput, ServiceError) as exc:
                if isinstance(exc, (Forbidden, NotFound)):
                    raise
                return self._reports_page(request, row, exc.message)
            return web.redirect(f"/admin/stipends?cycle={cycle_id}")

        return self._guarded(request, page)

    def _stipends_page(
        self,
        request: Request,
        row: WebSession,
        cycle: str,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        actor = self._actor(row)
        stipends = self.deadline(self.stipends.list_stipends, actor, cycle)
        stipends_by_id = {s["id"]: s for s in stipends}
        views = {
            s["id"]: self.deadline(self.stipends.get_stipend, actor, s["id"])
            for s in stipends
            if s["status"] in ("proposed", "approved")
        }
        digests = {
            ident: view["digest"]
            for ident, view in views.items()
            if view["digest"] and stipends_by_id[ident]["status"] == "proposed"
        }
        approvers = {  # who has approved what: account ids, "you" for oneself
            ident: [
                "you" if a["approver_id"] == actor["id"] else a["approver_id"][:8]
                for a in view["approvals"]
                if not a.get("voided_at")
            ]
            for ident, view in views.items()
        }
        pseudonyms = {
            s["communicator_id"]: self.deadline(
                self.stipends.get_communicator, s["communicator_id"]
            )["pseudonym"]
            for s in stipends
        }
        return self._page(
            request,
            "admin_stipends.html",
            row,
            status=status if error is None else max(status, 400),
            cycle=cycle,
            stipends=stipends,
            digests=digests,
            approvers=approvers,
            pseudonyms=pseudonyms,
            error=error,
        )

    @http("GET", "/admin/stipends")
    def admin_stipends(self, request: Request) -> Response:
        def page() -> Response:
            row = self._signed_in(request, ADMIN)
            return self._stipends_page(request, row, request.args.get("cycle", ""))

        return self._guarded(request, page)

    @http("POST", "/admin/stipends/<stipend_id>")
    def admin_decide_stipend(self, request: Request, stipend_id: str) -> Response:
        def page() -> Response:
            row, values = self._form(request, ADMIN)
            actor = self._actor(row)
            cycle = pages.ident(values.get("cycle", ""), "cycle")
            try:
                if values.get("step") == "approve":
                    self.deadline(
                        self.stipends.approve_stipend,
                        actor,
                        stipend_id,
                        values.get("digest", ""),
                    )
                elif values.get("step") == "reject":
                    self.deadline(
                        self.stipends.reject_stipend,
                        actor,
                        stipend_id,
                        values.get("reason", ""),
                    )
                else:
                    raise NotFound("no such step")
            except (InvalidInput, ServiceError) as exc:
                if isinstance(exc, NotFound):
                    raise
                # the segregation rules (own proposal, second slot) say why, here
                return self._stipends_page(
                    request,
                    row,
                    cycle,
                    exc.message,
                    status=403 if isinstance(exc, Forbidden) else 400,
                )
            return web.redirect(f"/admin/stipends?cycle={cycle}")

        return self._guarded(request, page)

    # -- console: inbox and preferences (everyone) -----------------------------------
    @http("GET", "/me/inbox")
    def me_inbox(self, request: Request) -> Response:
        def page() -> Response:
            row = self._signed_in(request)
            messages = self.deadline(
                self.notifications.list_inbox,
                self._actor(row),
                {"language": web.language(request, row.language)},
            )
            return self._page(request, "inbox.html", row, messages=messages)

        return self._guarded(request, page)

    @http("POST", "/me/inbox/<int:message_id>/read")
    def me_mark_read(self, request: Request, message_id: int) -> Response:
        def page() -> Response:
            row, _ = self._form(request)
            self.deadline(self.notifications.mark_read, self._actor(row), message_id)
            return web.redirect("/me/inbox")

        return self._guarded(request, page)

    @http("GET", "/me/preferences")
    def me_preferences(self, request: Request) -> Response:
        def page() -> Response:
            row = self._signed_in(request)
            found = self.deadline(self.notifications.get_preferences, self._actor(row))
            return self._page(
                request, "preferences.html", row, prefs=found, error=None, saved=False
            )

        return self._guarded(request, page)

    @http("POST", "/me/preferences")
    def me_set_preferences(self, request: Request) -> Response:
        def page() -> Response:
            row, values = self._form(request)
            actor = self._actor(row)
            changes = pages.preferences_from_form(request.form, actor["roles"])
            try:
                saved = self.deadline(
                    self.notifications.set_preferences, actor, changes
                )
            except InvalidInput as exc:
                found = self.deadline(self.notifications.get_preferences, actor)
                return self._page(
                    request,
                    "preferences.html",
                    row,
                    status=400,
                    prefs=found,
                    error=exc.message,
                    saved=False,
                )
            return self._page(
                request, "preferences.html", row, prefs=saved, error=None, saved=True
            )

        return self._guarded(request, page)

    # -- console: finance -----------------------------------------------------------
    @http("GET", "/finance")
    def finance_home(self, request: Request) -> Response:
        def page() -> Response:
            row = self._signed_in(request, FINANCE)
            cycles = [
                c
                for c in self.deadline(self.stipends.list_cycles, self._actor(row))
                if c["status"] in ("closed", "locked")
            ]
            return self._page(request, "finance.html", row, cycles=cycles, error=None)

        return self._guarded(request, page)

    @http("POST", "/finance/cycles/<cycle_id>/runs")
    def finance_build_run(self, request: Request, cycle_id: str) -> Response:
        def page() -> Response:
            row, _ = self._form(request, FINANCE)
            run = self.deadline(
                self.stipends.build_payout_run, self._actor(row), cycle_id
            )
            return web.redirect(f"/finance/runs/{run['id']}")

        return self._guarded(request, page)

    def _run_page(
        self,
        request: Request,
        row: WebSession,
        run_id: str,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        actor = self._actor(row)
        return self._page(
            request,
            "finance_run.html",
            row,
            status=status,
            run=self.deadline(self.stipends.get_payout_run, actor, run_id),
            payouts=self.deadline(self.stipends.list_payouts, actor, run_id),
            error=error,
        )

    @http("GET", "/finance/runs/<run_id>")
    def finance_run(self, request: Request, run_id: str) -> Response:
        def page() -> Response:
            row = self._signed_in(request, FINANCE)
            return self._run_page(request, row, run_id)

        return self._guarded(request, page)

    @http("GET", "/finance/runs/<run_id>/payouts.<kind>")
    def finance_export(self, request: Request, run_id: str, kind: str) -> Response:
        def page() -> Response:
            row = self._signed_in(request, FINANCE, ADMIN)
            if kind not in ("csv", "xlsx"):
                raise NotFound("no such download")
            payouts = self.deadline(
                self.stipends.list_payouts, self._actor(row), run_id
            )
            if kind == "csv":
                body, mime = exports.as_csv(payouts), "text/csv"
            else:
                body = exports.as_xlsx(payouts)
                mime = (
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                )
            response = Response(body, mimetype=mime)
            response.headers["Content-Disposition"] = (
                f'attachment; filename="run-{run_id[:8]}-payouts.{kind}"'
            )
            return secure(response)

        return self._guarded(request, page)

    @http("POST", "/finance/runs/<run_id>/release")
    def finance_release(self, request: Request, run_id: str) -> Response:
        def page() -> Response:
            row, values = self._form(request, FINANCE)
            try:
                self.deadline(
                    self.stipends.release_payout_run,
                    self._actor(row),
                    run_id,
                    values.get("totals_digest", ""),
                    values.get("code", ""),
                )
            except (InvalidInput, ServiceError) as exc:
                if isinstance(exc, NotFound):
                    raise
                return self._run_page(
                    request,
                    row,
                    run_id,
                    exc.message,
                    status=403 if isinstance(exc, Forbidden) else 400,
                )
            return web.redirect(f"/finance/runs/{pages.ident(run_id, 'run_id')}")

        return self._guarded(request, page)

    @http("POST", "/finance/payouts/<payout_id>")
    def finance_payout_action(self, request: Request, payout_id: str) -> Response:
        def page() -> Response:
            row, values = self._form(request, FINANCE)
            run_id = pages.ident(values.get("run_id", ""), "run_id")
            try:
                self.deadline(
                    self.stipends.payout_action,
                    self._actor(row),
                    payout_id,
                    values.get("action", ""),
                    values.get("reason", ""),
                )
            except (InvalidInput, ServiceError) as exc:
                if isinstance(exc, NotFound):
                    raise
                return self._run_page(request, row, run_id, exc.message, status=400)
            return web.redirect(f"/finance/runs/{run_id}")

        return self._guarded(request, page)

    # -- console: reconciliation (finance) ----------------------------------------
    @http("GET", "/finance/reconciliations")
    def finance_reconciliations(self, request: Request) -> Response:
        def page() -> Response:
            row = self._signed_in(request, FINANCE)
            return self._reconciliations_page(request, row)

        return self._guarded(request, page)

    def _reconciliations_page(
        self, request: Request, row: WebSession, error: str | None = None
    ) -> Response:
        found = self.deadline(
            self.stipends.list_reconciliations, self._actor(row), 50, 0
        )
        return self._page(
            request,
            "finance_reconciliations.html",
            row,
            status=400 if error else 200,
            reconciliations=found,
            error=error,
        )

    @http("POST", "/finance/reconciliations", max_body=UPLOAD_BODY)
    def finance_reconcile(self, request: Request) -> Response:
        """Start one: the provider, the period, and where its rows come from (the
        provider's API, or a file: Stripe's itemized report or the bank's
        statement, uploaded or pasted)."""

        def page() -> Response:
            row, values = self._form(request, FINANCE)
            upload = request.files.get("file")
            content = (
                upload.read(MAX_UPLOAD + 1).decode("utf-8", "replace")
                if upload and upload.filename
                else values.get("content") or None
            )
            if content is not None and len(content) > MAX_UPLOAD:
                return self._reconciliations_page(request, row, "the file is too large")
            try:
                found = self.deadline(
                    self.stipends.reconcile_period,
                    self._actor(row),
                    values.get("provider", ""),
                    values.get("period_start", ""),
                    values.get("period_end", ""),
                    values.get("source", "api"),
                    content,
                )
            except (InvalidInput, Conflict, Forbidden) as exc:
                return self._reconciliations_page(request, row, exc.message)
            return web.redirect(f"/finance/reconciliations/{found['id']}")

        return self._guarded(request, page)

    def _reconciliation_page(
        self,
        request: Request,
        row: WebSession,
        reconciliation_id: str,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        actor = self._actor(row)
        state = request.args.get("state", "open")
        if state not in ("open", "linked", "written_off", "repaid", "all"):
            state = "open"
        after = request.args.get("after", "0")
        after_id = int(after) if after.isdigit() and len(after) < 18 else 0
        rec = self.deadline(self.stipends.get_reconciliation, actor, reconciliation_id)
        items = self.deadline(
            self.stipends.list_reconciliation_items,
            actor,
            reconciliation_id,
            None if state == "all" else state,
            None,
            after_id,
            PAGE_ITEMS,
        )
        return self._page(
            request,
            "finance_reconciliation.html",
            row,
            status=status,
            rec=rec,
            items=items,
            state=state,
            next_after=items[-1]["id"] if len(items) == PAGE_ITEMS else None,
            error=error,
        )

    @http("GET", "/finance/reconciliations/<reconciliation_id>")
    def finance_reconciliation(
        self, request: Request, reconciliation_id: str
    ) -> Response:
        def page() -> Response:
            row = self._signed_in(request, FINANCE)
            return self._reconciliation_page(request, row, reconciliation_id)

        return self._guarded(request, page)

    @http(
        "POST",
        "/finance/reconciliations/<reconciliation_id>/resolve",
        max_body=TEXT_BODY,
    )
    def finance_resolve(self, request: Request, reconciliation_id: str) -> Response:
        """The queue's form: the ticked items (`item`, many), one action, one
        reason, and for `link` the payout."""

        def page() -> Response:
            row, values = self._form(request, FINANCE)
            ident = pages.ident(reconciliation_id, "reconciliation_id")
            raw = request.form.getlist("item")
            if not raw or not all(v.isdigit() and len(v) < 18 for v in raw):
                return self._reconciliation_page(
                    request, row, ident, "tick at least one difference", 400
                )
            try:
                self.deadline(
                    self.stipends.resolve_reconciliation_items,
                    self._actor(row),
                    ident,
                    [int(v) for v in raw],
                    values.get("action", ""),
                    values.get("reason", ""),
                    values.get("payout_id") or None,
                )
            except (InvalidInput, Conflict, Forbidden) as exc:
                return self._reconciliation_page(request, row, ident, exc.message, 400)
            return web.redirect(f"/finance/reconciliations/{ident}")

        return self._guarded(request, page)

    @http("POST", "/finance/reconciliations/<reconciliation_id>/sign-off")
    def finance_sign_off(self, request: Request, reconciliation_id: str) -> Response:
        def page() -> Response:
            row, values = self._form(request, FINANCE)
            ident = pages.ident(reconciliation_id, "reconciliation_id")
            try:
                self.deadline(
                    self.stipends.sign_off_reconciliation,
                    self._actor(row),
                    ident,
                    values.get("note", ""),
                )
            except (InvalidInput, Conflict, Forbidden) as exc:
                return self._reconciliation_page(
                    request,
                    row,
                    ident,
                    exc.message,
                    403 if isinstance(exc, Forbidden) else 400,
                )
            return web.redirect(f"/finance/reconciliations/{ident}")

        return self._guarded(request, page)

    @http("GET", "/finance/reconciliations/<reconciliation_id>/items.<kind>")
    def finance_reconciliation_export(
        self, request: Request, reconciliation_id: str, kind: str
    ) -> Response:
        """Every difference, resolved or not, with the summary (XLSX: two sheets)."""

        def page() -> Response:
            row = self._signed_in(request, FINANCE, ADMIN)
            if kind not in ("csv", "xlsx"):
                raise NotFound("no such download")
            actor = self._actor(row)
            ident = pages.ident(reconciliation_id, "reconciliation_id")
            rec = self.deadline(self.stipends.get_reconciliation, actor, ident)
            items: list[dict[str, Any]] = []
            while True:
                page_items = self.deadline(
                    self.stipends.list_reconciliation_items,
                    actor,
                    ident,
                    None,
                    None,
                    items[-1]["id"] if items else 0,
                    1000,
                )
                items += page_items
                if len(page_items) < 1000:
                    break
            body, mime = exports.reconciliation(kind, rec, items)
            response = Response(body, mimetype=mime)
            response.headers["Content-Disposition"] = (
                f'attachment; filename="reconciliation-{rec["provider"]}-'
                f'{rec["period_start"]}.{kind}"'
            )
            return secure(response)

        return self._guarded(request, page)

    # -- console: communicators, review items, clubs, budgets (admins) ----------------
    @http("GET", "/admin/communicators")
    def admin_communicators(self, request: Request) -> Response:
        """Search first: nothing is listed until a pseudonym prefix or a status is
        asked for (an email is searched by POST, never put in a URL)."""

        def page() -> Response:
            row = self._signed_in(request, ADMIN)
            criteria = {
                k: request.args[k]
                for k in ("pseudonym", "status")
                if request.args.get(k)
            }
            return self._search_page(request, row, criteria)

        return self._guarded(request, page)

    @http("POST", "/admin/communicators")
    def admin_communicators_by_email(self, request: Request) -> Response:
        def page() -> Response:
            row, values = self._form(request, ADMIN)
            return self._search_page(request, row, {"email": values.get("email", "")})

        return self._guarded(request, page)

    def _search_page(
        self, request: Request, row: WebSession, criteria: dict[str, str]
    ) -> Response:
        found, error = [], None
        if criteria:
            try:
                found = self.deadline(
                    self.registry.find_communicators, self._actor(row), criteria
                )
            except InvalidInput as exc:
                error = (
                    "; ".join(m for ms in exc.fields.values() for m in ms)
                    or exc.message
                )
        return self._page(
            request,
            "admin_communicators.html",
            row,
            status=400 if error else 200,
            found=found,
            searched=bool(criteria),
            criteria={k: v for k, v in criteria.items() if k != "email"},
            error=error,
        )

    def _staff_page(
        self,
        request: Request,
        row: WebSession,
        error: str | None = None,
        notice: str | None = None,
        status: int = 200,
    ) -> Response:
        return self._page(
            request,
            "admin_staff.html",
            row,
            status=status,
            staff=self.deadline(self.registry.list_staff, self._actor(row)),
            me=str(row.actor_id),
            roles=STAFF_ROLES,
            error=error,
            notice=notice,
        )

    @http("GET", "/admin/staff")
    def admin_staff(self, request: Request) -> Response:
        def page() -> Response:
            return self._staff_page(request, self._signed_in(request, ADMIN))

        return self._guarded(request, page)

    @http("POST", "/admin/staff")
    def admin_invite_staff(self, request: Request) -> Response:
        """An invitation: the one-time link goes to the invitee, not to the admin."""

        def page() -> Response:
            row, values = self._form(request, ADMIN)
            texts = web.texts(web.language(request, row.language))
            invitation = {
                "email": values.get("email", ""),
                "roles": [r for r in request.form.getlist("roles") if r],
            }
            try:
                StaffInvitationRequestSchema().load(invitation)
                self.deadline(self.registry.invite_staff, self._actor(row), invitation)
            except (ValidationError, InvalidInput) as exc:
                message = (
                    texts["invite_invalid"]
                    if isinstance(exc, ValidationError)
                    else exc.message
                )
                return self._staff_page(request, row, error=message, status=400)
            return self._staff_page(request, row, notice=texts["invited"])

        return self._guarded(request, page)

    @http("POST", "/admin/staff/<account_id>")
    def admin_staff_action(self, request: Request, account_id: str) -> Response:
        """Disable, enable, or ask for a second-factor reset (a reason)."""

        def page() -> Response:
            row, values = self._form(request, ADMIN)
            actor, action = self._actor(row), values.get("action", "")
            try:
                if action == "disable":
                    self.deadline(self.registry.disable_staff, actor, account_id)
                    self._end_sessions(uuid.UUID(account_id))
                elif action == "enable":
                    self.deadline(self.registry.enable_staff, actor, account_id)
                elif action == "reset":
                    self.deadline(
                        self.registry.request_second_factor_reset,
                        actor,
                        account_id,
                        values.get("reason", ""),
                    )
                else:
                    raise InvalidInput("choose an action", "unknown_action")
            except (InvalidInput, Forbidden) as exc:
                return self._staff_page(request, row, error=exc.message, status=400)
            return web.redirect("/admin/staff")

        return self._guarded(request, page)

    @http("POST", "/admin/second-factor-resets/<reset_id>")
    def admin_approve_reset(self, request: Request, reset_id: str) -> Response:
        def page() -> Response:
            row, _ = self._form(request, ADMIN)
            try:
                done = self.deadline(
                    self.registry.approve_second_factor_reset,
                    self._actor(row),
                    reset_id,
                )
            except (InvalidInput, Forbidden, NotFound) as exc:
                return self._staff_page(request, row, error=exc.message, status=400)
            self._end_sessions(uuid.UUID(done["id"]))
            return web.redirect("/admin/staff")

        return self._guarded(request, page)

    @http("GET", "/admin/review-items")
    def admin_review_items(self, request: Request) -> Response:
        def page() -> Response:
            row = self._signed_in(request, ADMIN)
            items = self.deadline(self.registry.list_review_items, self._actor(row))
            return self._page(
                request, "admin_review_items.html", row, items=items, error=None
            )

        return self._guarded(request, page)

    @http("POST", "/admin/review-items/<item_id>")
    def admin_resolve_item(self, request: Request, item_id: str) -> Response:
        def page() -> Response:
            row, values = self._form(request, ADMIN)
            actor = self._actor(row)
            try:
                self.deadline(
                    self.registry.resolve_review_item,
                    actor,
                    item_id,
                    values.get("outcome", ""),
                    values.get("note", ""),
                )
            except InvalidInput as exc:
                items = self.deadline(self.registry.list_review_items, actor)
                return self._page(
                    request,
                    "admin_review_items.html",
                    row,
                    status=400,
                    items=items,
                    error=exc.message,
                )
            return web.redirect("/admin/review-items")

        return self._guarded(request, page)

    def _clubs_page(
        self, request: Request, row: WebSession, error: str | None, status: int = 200
    ) -> Response:
        return self._page(
            request,
            "admin_clubs.html",
            row,
            status=status,
            clubs=self.deadline(self.registry.list_clubs),
            error=error,
        )

    @http("GET", "/admin/clubs")
    def admin_clubs(self, request: Request) -> Response:
        def page() -> Response:
            return self._clubs_page(request, self._signed_in(request, ADMIN), None)

        return self._guarded(request, page)

    @http("POST", "/admin/clubs")
    def admin_create_club(self, request: Request) -> Response:
        def page() -> Response:
            row, values = self._form(request, ADMIN)
            club = {
                "name": values.get("name", ""),
                "country": values.get("country", "").upper(),
                "city": values.get("city") or None,
                "mode": values.get("mode", ""),
                "coordinator": values.get("coordinator") or None,
            }
            try:
                self.deadline(self.registry.create_club, self._actor(row), club)
            except InvalidInput as exc:
                return self._clubs_page(request, row, exc.message, status=400)
            return web.redirect("/admin/clubs")

        return self._guarded(request, page)

    @http("POST", "/admin/trainings")
    def admin_create_training(self, request: Request) -> Response:
        def page() -> Response:
            row, values = self._form(request, ADMIN)
            training = {
                "title": values.get("title", ""),
                "held_on": values.get("held_on", ""),
            }
            try:
                self.deadline(self.registry.create_training, self._actor(row), training)
            except InvalidInput as exc:
                return self._clubs_page(request, row, exc.message, status=400)
            return web.redirect("/admin/clubs")

        return self._guarded(request, page)

    @http("GET", "/admin/budgets")
    def admin_budgets(self, request: Request) -> Response:
        def page() -> Response:
            row = self._signed_in(request, ADMIN, FINANCE)
            programmes = self.deadline(self.stipends.list_programmes, self._actor(row))
            return self._page(request, "admin_budgets.html", row, programmes=programmes)

        return self._guarded(request, page)

    # -- console: club coordinators ----------------------------------------------------
    @http("GET", "/coordinator")
    def coordinator_home(self, request: Request) -> Response:
        """A coordinator's own clubs and their members' pseudonyms: nothing else."""

        def page() -> Response:
            row = self._signed_in(request, COORDINATOR)
            actor = self._actor(row)
            clubs = [
                {
                    **club,
                    "members": self.deadline(
                        self.registry.club_members, actor, club["id"]
                    ),
                }
                for club in self.deadline(self.registry.list_clubs)
                if club.get("coordinator_id") == actor["id"]
            ]
            return self._page(request, "coordinator.html", row, clubs=clubs)

        return self._guarded(request, page)

    @http("GET", "/admin/corridors")
    def admin_corridors(self, request: Request) -> Response:
        def page() -> Response:
            row = self._signed_in(request, ADMIN)
            return self._corridors_page(request, row, None)

        return self._guarded(request, page)

    def _corridors_page(
        self, request: Request, row: WebSession, error: str | None, status: int = 200
    ) -> Response:
        return self._page(
            request,
            "admin_corridors.html",
            row,
            status=status,
            error=error,
            corridors=self.deadline(self.registry.list_corridors),
            providers=pages.PROVIDERS,
        )

    @http("POST", "/admin/corridors")
    def admin_set_corridor(self, request: Request) -> Response:
        def page() -> Response:
            row, values = self._form(request, ADMIN)
            try:
                self.deadline(
                    self.registry.set_corridor,
                    self._actor(row),
                    values.get("country", "").upper(),
                    values.get("provider", ""),
                )
            except InvalidInput as exc:
                return self._corridors_page(request, row, exc.message, status=400)
            return web.redirect("/admin/corridors")

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
            return self._application_page(request, row, communicator_id, None)

        return self._guarded(request, page)

    def _application_page(
        self,
        request: Request,
        row: WebSession,
        communicator_id: str,
        error: str | None,
        status: int = 200,
    ) -> Response:
        actor = self._actor(row)
        return self._page(
            request,
            "admin_application.html",
            row,
            status=status,
            app=self.deadline(self.registry.get_application, actor, communicator_id),
            trainings=self.deadline(self.registry.list_trainings, actor),
            error=error,
        )

    @http("POST", "/admin/applications/<communicator_id>")
    def admin_decide(self, request: Request, communicator_id: str) -> Response:
        def page() -> Response:
            row = self._signed_in(request, "program_admin")
            values = web.form(request)
            if not logic.csrf_ok(row, values.get("csrf")):
                raise Forbidden("the form expired; reload the page", "csrf")
            step = values.get("step")
            if step not in ("start_review", "approve", "reject", "training", "tier"):
                raise NotFound("no such step")
            try:
                if step == "training":
                    self.deadline(
                        self.registry.record_training_completion,
                        self._actor(row),
                        values.get("training_id", ""),
                        communicator_id,
                    )
                elif step == "tier":
                    self.deadline(
                        self.registry.set_tier,
                        self._actor(row),
                        communicator_id,
                        values.get("tier", ""),
                        values.get("reason", ""),
                    )
                else:
                    self.deadline(
                        getattr(self.registry, step),
                        self._actor(row),
                        communicator_id,
                        values.get("reason", ""),
                    )
                    self._after_decision(step, communicator_id)
            except (InvalidInput, ServiceError) as exc:
                if isinstance(exc, (Forbidden, NotFound)):
                    raise
                return self._application_page(
                    request, row, communicator_id, exc.message, status=400
                )
            return web.redirect(f"/admin/applications/{communicator_id}")

        return self._guarded(request, page)


class NotSignedIn(Exception):
    pass
