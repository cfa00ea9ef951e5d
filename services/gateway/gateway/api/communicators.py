"""Communicators: applying, their own status, stipends, payout set-up and erasure;
and the admins' view of them (search, an application, vetting decisions)."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from gateway import i18n, pages, web
from gateway.base import Call, GatewayBase
from gateway.http import APPLY, TEXT_BODY, api_group, respond
from gateway.roles import ADMIN, COMMUNICATOR, FINANCE
from gateway.schemas import (
    ApplicationAcceptedSchema,
    ApplicationFormSchema,
    ApplicationRequestSchema,
    BankDetailsRequestSchema,
    BankDetailsSavedSchema,
    CommunicatorPageSchema,
    CommunicatorQuerySchema,
    CommunicatorSummarySchema,
    DecisionRequestSchema,
    DecisionResultSchema,
    DoneSchema,
    EmailSearchSchema,
    ErasureRequestSchema,
    MembershipRequestSchema,
    OwnReceiptSchema,
    OwnStatusSchema,
    OwnStipendSchema,
    PayoutSetupSchema,
    PayoutSetupStatusSchema,
    ReceiptRequestSchema,
    TierRequestSchema,
    VouchAnsweredSchema,
    VouchAnswerRequestSchema,
    VouchRequestOutSchema,
)

own_api = api_group(("communicator",))
admin_api = api_group(("admin",))


class CommunicatorsApi(GatewayBase):
    @own_api(
        "POST",
        "/api/v1/applications",
        summary="Apply to the programme (the same answer whether or not the email "
        "is known)",
        roles=None,
        body=ApplicationRequestSchema,
        responses={202: ApplicationAcceptedSchema},
        max_body=TEXT_BODY,
        csrf="none",  # no session; a JSON-only body cannot come from a form
        throttle=APPLY,
    )
    def apply(self, call: Call) -> dict[str, str]:
        self.deadline(self.registry.apply, call.body)
        return {"status": "received"}

    @own_api(
        "GET",
        "/api/v1/application-form",
        summary="What an application takes: the consent text and its version, the "
        "countries where Svyaz can pay people, the languages (names in the reader's "
        "language)",
        roles=None,
        responses={200: ApplicationFormSchema},
    )
    def api_application_form(self, call: Call) -> dict[str, Any]:
        consent = self.deadline(self.registry.get_consent_text)
        served = self.served_countries()
        return {
            "consent_version": consent["version"],
            "consent_text": consent.get(call.lang) or consent["ru"],
            "countries": [
                {"country": code, "name": name}
                for code, name in i18n.countries(call.lang)
                if code in served
            ],
            "languages": [
                {"code": code, "name": name}
                for code, name in i18n.spoken_languages(call.lang)
            ],
            "contact": self.settings.programme_contact,
        }

    @own_api(
        "GET",
        "/api/v1/me",
        summary="The communicator's own status and payout set-up (no personal field)",
        roles=(COMMUNICATOR,),
        responses={200: OwnStatusSchema},
    )
    def api_me(self, call: Call) -> Any:
        return self.deadline(self.registry.get_own_status, call.actor)

    @own_api(
        "GET",
        "/api/v1/me/stipends",
        summary="One's stipends and payments, newest cycle first",
        roles=(COMMUNICATOR,),
        responses={200: [OwnStipendSchema]},
    )
    def api_own_stipends(self, call: Call) -> Any:
        return self.deadline(self.stipends.own_stipends, call.actor)

    @own_api(
        "POST",
        "/api/v1/me/payouts/<payout_id>/receipt",
        summary='Say whether a paid payout of one\'s own arrived. "Not received" '
        "puts it in finance's queue; the answer can be changed until finance has "
        "resolved it (`can_confirm_receipt` in GET /api/v1/me/stipends)",
        roles=(COMMUNICATOR,),
        body=ReceiptRequestSchema,
        responses={200: OwnReceiptSchema},
    )
    def api_confirm_receipt(self, call: Call, payout_id: str) -> Any:
        return self.deadline(
            self.stipends.confirm_receipt,
            call.actor,
            pages.ident(payout_id, "payout_id"),
            call.body["received"],
            call.body.get("note", ""),
        )

    @own_api(
        "POST",
        "/api/v1/me/payout-setup",
        summary="Start or resume payout set-up: a Stripe onboarding link or the "
        "next step, by the corridor of the communicator's country",
        roles=(COMMUNICATOR,),
        responses={200: PayoutSetupSchema},
    )
    def api_payout_setup(self, call: Call) -> Any:
        return self.deadline(self.registry.start_payout_setup, call.actor)

    @own_api(
        "POST",
        "/api/v1/me/payout-setup/check",
        summary="Back from the provider's hosted page: where the payout set-up "
        "stands, asked of the provider now (otherwise a Global Payouts recipient "
        "is checked every few minutes, and a Stripe Connect account is told by "
        "Stripe's webhook a moment later)",
        roles=(COMMUNICATOR,),
        responses={200: PayoutSetupStatusSchema},
    )
    def api_payout_setup_check(self, call: Call) -> Any:
        return self.deadline(self.registry.refresh_payout_setup, call.actor)

    @own_api(
        "GET",
        "/api/v1/me/vouches",
        summary="Requests to vouch for applicants who named you, applications not "
        "yet decided: their pseudonym and, while the request waits, their city",
        roles=(COMMUNICATOR,),
        responses={200: [VouchRequestOutSchema]},
    )
    def api_own_vouches(self, call: Call) -> Any:
        return self.deadline(self.registry.list_vouch_requests, call.actor)

    @own_api(
        "POST",
        "/api/v1/me/vouches/<vouch_id>",
        summary="Confirm or decline a request to vouch for an applicant, once. Only "
        "a confirmed vouch lowers the approvals the application needs",
        roles=(COMMUNICATOR,),
        body=VouchAnswerRequestSchema,
        responses={200: VouchAnsweredSchema},
    )
    def api_answer_vouch(self, call: Call, vouch_id: str) -> Any:
        return self.deadline(
            self.registry.answer_vouch,
            call.actor,
            pages.ident(vouch_id, "vouch_id"),
            call.body["answer"],
        )

    @own_api(
        "POST",
        "/api/v1/me/bank-details",
        summary="Give the account to be paid into, when the payout set-up's next "
        "step is `bank_details`: stored encrypted, never shown again; an IBAN or "
        "BIC its country would refuse is refused here, with what to fix",
        roles=(COMMUNICATOR,),
        body=BankDetailsRequestSchema,
        responses={200: BankDetailsSavedSchema},
    )
    def api_bank_details(self, call: Call) -> Any:
        return self.deadline(self.registry.set_bank_details, call.actor, call.body)

    @own_api(
        "POST",
        "/api/v1/me/erasure",
        summary="Erase me: personal data destroyed, the account closed, signed out",
        roles=(COMMUNICATOR,),
        body=ErasureRequestSchema,
        responses={202: DoneSchema},
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

    @admin_api(
        "GET",
        "/api/v1/communicators",
        summary="Search communicators by pseudonym prefix or status, a page at a time",
        roles=(ADMIN, FINANCE),
        query=CommunicatorQuerySchema,
        responses={200: CommunicatorPageSchema},
    )
    def api_communicators(self, call: Call) -> Any:
        return self._page_of(call, call.query)

    @admin_api(
        "POST",
        "/api/v1/communicators/search",
        summary="Find a communicator by email (in the body, never in a URL)",
        roles=(ADMIN, FINANCE),
        body=EmailSearchSchema,
        responses={200: CommunicatorPageSchema},
    )
    def api_search_by_email(self, call: Call) -> Any:
        return self._page_of(call, call.body)

    @admin_api(
        "GET",
        "/api/v1/communicators/<communicator_id>",
        summary="An application as admins review it: vouch, approvals, dedup items",
        roles=(ADMIN,),
        responses={200: None},
    )
    def api_communicator(self, call: Call, communicator_id: str) -> Any:
        return self.deadline(self.registry.get_application, call.actor, communicator_id)

    @admin_api(
        "POST",
        "/api/v1/communicators/<communicator_id>/decisions",
        summary="A vetting step with its reason: start_review, approve, reject, "
        "suspend, reinstate or offboard; answers the person's status (after an "
        "approval, also the approvals given and needed)",
        roles=(ADMIN,),
        body=DecisionRequestSchema,
        responses={200: DecisionResultSchema},
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

    @admin_api(
        "PUT",
        "/api/v1/communicators/<communicator_id>/club",
        summary="Put an applicant or member into a club, move them to another, or "
        "take them out (club_id null); the club's coordinator sees them from then on",
        roles=(ADMIN,),
        body=MembershipRequestSchema,
        responses={200: CommunicatorSummarySchema},
    )
    def api_set_club(self, call: Call, communicator_id: str) -> Any:
        club = call.body["club_id"]
        return self.deadline(
            self.registry.set_communicator_club,
            call.actor,
            communicator_id,
            str(club) if club is not None else None,
        )

    @admin_api(
        "PUT",
        "/api/v1/communicators/<communicator_id>/tier",
        summary="Set an active communicator's tier (professional needs a completed "
        "training), with the reason",
        roles=(ADMIN,),
        body=TierRequestSchema,
        responses={200: CommunicatorSummarySchema},
    )
    def api_set_tier(self, call: Call, communicator_id: str) -> Any:
        return self.deadline(
            self.registry.set_tier,
            call.actor,
            communicator_id,
            call.body["tier"],
            call.body["reason"],
        )
