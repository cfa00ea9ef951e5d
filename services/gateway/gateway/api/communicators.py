"""Communicators: applying, their own status, stipends, payout set-up and erasure;
and the admins' view of them (search, an application, vetting decisions)."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from gateway import pages, web
from gateway.base import Call, GatewayBase
from gateway.http import APPLY, TEXT_BODY, api, respond
from gateway.roles import ADMIN, COMMUNICATOR, FINANCE
from gateway.schemas import (
    ApplicationAcceptedSchema,
    ApplicationRequestSchema,
    CommunicatorPageSchema,
    CommunicatorQuerySchema,
    DecisionRequestSchema,
    DoneSchema,
    EmailSearchSchema,
    ErasureRequestSchema,
    OwnReceiptSchema,
    OwnStatusSchema,
    OwnStipendSchema,
    PayoutSetupSchema,
    ReceiptRequestSchema,
)

OWN = ("communicator",)
ADMINS = ("admin",)


class CommunicatorsApi(GatewayBase):
    @api(
        "POST",
        "/api/v1/applications",
        summary="Apply to the programme (the same answer whether or not the email "
        "is known)",
        roles=None,
        body=ApplicationRequestSchema,
        responses={202: ApplicationAcceptedSchema},
        tags=OWN,
        max_body=TEXT_BODY,
        csrf="none",  # no session; a JSON-only body cannot come from a form
        throttle=APPLY,
    )
    def apply(self, call: Call) -> dict[str, str]:
        self.deadline(self.registry.apply, call.body)
        return {"status": "received"}

    @api(
        "GET",
        "/api/v1/me",
        summary="The communicator's own status and payout set-up (no personal field)",
        roles=(COMMUNICATOR,),
        responses={200: OwnStatusSchema},
        tags=OWN,
    )
    def api_me(self, call: Call) -> Any:
        return self.deadline(self.registry.get_own_status, call.actor)

    @api(
        "GET",
        "/api/v1/me/stipends",
        summary="One's stipends and payments, newest cycle first",
        roles=(COMMUNICATOR,),
        responses={200: [OwnStipendSchema]},
        tags=OWN,
    )
    def api_own_stipends(self, call: Call) -> Any:
        return self.deadline(self.stipends.own_stipends, call.actor)

    @api(
        "POST",
        "/api/v1/me/payouts/<payout_id>/receipt",
        summary='Say whether a paid payout of one\'s own arrived. "Not received" '
        "puts it in finance's queue; the answer can be changed until finance has "
        "resolved it (`can_confirm_receipt` in GET /api/v1/me/stipends)",
        roles=(COMMUNICATOR,),
        body=ReceiptRequestSchema,
        responses={200: OwnReceiptSchema},
        tags=OWN,
    )
    def api_confirm_receipt(self, call: Call, payout_id: str) -> Any:
        return self.deadline(
            self.stipends.confirm_receipt,
            call.actor,
            pages.ident(payout_id, "payout_id"),
            call.body["received"],
            call.body.get("note", ""),
        )

    @api(
        "POST",
        "/api/v1/me/payout-setup",
        summary="Start or resume payout set-up: a Stripe onboarding link or the "
        "next step, by the corridor of the communicator's country",
        roles=(COMMUNICATOR,),
        responses={200: PayoutSetupSchema},
        tags=OWN,
    )
    def api_payout_setup(self, call: Call) -> Any:
        return self.deadline(self.registry.start_payout_setup, call.actor)

    @api(
        "POST",
        "/api/v1/me/erasure",
        summary="Erase me: personal data destroyed, the account closed, signed out",
        roles=(COMMUNICATOR,),
        body=ErasureRequestSchema,
        responses={202: DoneSchema},
        tags=OWN,
    )
    def api_erase_me(self, call: Call) -> Response:
        self.erase_self(call, call.body["reason"])
        response = respond(202, {"status": "erased"})
        response.delete_cookie(web.SESSION_COOKIE, path="/")
        return response

    def _page_of(self, call: Call, criteria: dict[str, Any]) -> dict[str, Any]:
        page, per_page = criteria.pop("page"), criteria.pop("per_page")
        found = self.deadline(
            self.registry.find_communicators,
            call.actor,
            {**criteria, "offset": (page - 1) * per_page, "limit": per_page + 1},
        )
        return {
            "items": found[:per_page],
            "page": page,
            "per_page": per_page,
            "next_page": page + 1 if len(found) > per_page else None,
        }

    @api(
        "GET",
        "/api/v1/communicators",
        summary="Search communicators by pseudonym prefix or status, a page at a time",
        roles=(ADMIN, FINANCE),
        query=CommunicatorQuerySchema,
        responses={200: CommunicatorPageSchema},
        tags=ADMINS,
    )
    def api_communicators(self, call: Call) -> Any:
        return self._page_of(call, call.query)

    @api(
        "POST",
        "/api/v1/communicators/search",
        summary="Find a communicator by email (in the body, never in a URL)",
        roles=(ADMIN, FINANCE),
        body=EmailSearchSchema,
        responses={200: CommunicatorPageSchema},
        tags=ADMINS,
    )
    def api_search_by_email(self, call: Call) -> Any:
        return self._page_of(call, call.body)

    @api(
        "GET",
        "/api/v1/communicators/<communicator_id>",
        summary="An application as admins review it: vouch, approvals, dedup items",
        roles=(ADMIN,),
        responses={200: None},
        tags=ADMINS,
    )
    def api_communicator(self, call: Call, communicator_id: str) -> Any:
        return self.deadline(self.registry.get_application, call.actor, communicator_id)

    @api(
        "POST",
        "/api/v1/communicators/<communicator_id>/decisions",
        summary="A vetting step with its reason: start_review, approve, reject, "
        "suspend, reinstate or offboard",
        roles=(ADMIN,),
        body=DecisionRequestSchema,
        responses={200: None},
        tags=ADMINS,
    )
    def api_decide(self, call: Call, communicator_id: str) -> Any:
        step = call.body["step"]
        result = self.deadline(
            getattr(self.registry, step),
            call.actor,
            communicator_id,
            call.body["reason"],
        )
        self.after_decision(step, communicator_id)
        return result
