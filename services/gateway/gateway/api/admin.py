"""Program admins' administration: staff accounts, dedup review items, clubs, the
payout corridors, and deliveries that could not be made."""

from __future__ import annotations

from typing import Any

from gateway.base import Call, GatewayBase
from gateway.http import api, api_group
from gateway.roles import ADMIN, COORDINATOR, FINANCE, SIGNED_IN, STAFF
from gateway.schemas import (
    AdminClubSchema,
    ClubChangesRequestSchema,
    ClubMemberListSchema,
    ClubRequestSchema,
    CompletionsRequestSchema,
    CompletionsSchema,
    CoordinatorRequestSchema,
    CorridorRequestSchema,
    CorridorSchema,
    FactorResetApprovedSchema,
    FactorResetSchema,
    NewTrainingSchema,
    ParkedDeliveryOutSchema,
    ResolutionRequestSchema,
    ResolvedItemSchema,
    ReviewItemSchema,
    SecondFactorResetRequestSchema,
    StaffInvitationRequestSchema,
    StaffInvitedSchema,
    StaffMemberSchema,
    StaffRenamedSchema,
    StaffRenameRequestSchema,
    StaffSwitchedSchema,
    TrainingRequestSchema,
    TrainingSchema,
)
from svyaz.errors import Forbidden

admin_api = api_group(("admin",))
clubs_api = api_group(("clubs",))


class AdminApi(GatewayBase):
    @admin_api(
        "GET",
        "/api/v1/staff",
        summary="Staff accounts: roles, state (invited, enrolling, active, disabled), "
        "last sign-in, a second-factor reset waiting for a second admin",
        roles=(ADMIN,),
        responses={200: [StaffMemberSchema]},
    )
    def api_staff(self, call: Call) -> Any:
        return self.deadline(self.registry.list_staff, call.actor)

    @admin_api(
        "POST",
        "/api/v1/staff",
        summary="Invite a staff member: the invitee gets a one-time link (72 hours) "
        "and sets their own password and authenticator",
        roles=(ADMIN,),
        body=StaffInvitationRequestSchema,
        responses={201: StaffInvitedSchema},
    )
    def api_invite_staff(self, call: Call) -> Any:
        return self.deadline(self.registry.invite_staff, call.actor, call.body)

    @admin_api(
        "PUT",
        "/api/v1/staff/<account_id>/handle",
        summary="Change the name admins see a staff account by (a first name or a "
        "nickname; never an email: it is not sealed)",
        roles=(ADMIN,),
        body=StaffRenameRequestSchema,
        responses={200: StaffRenamedSchema},
    )
    def api_rename_staff(self, call: Call, account_id: str) -> Any:
        return self.deadline(
            self.registry.rename_staff, call.actor, account_id, call.body["handle"]
        )

    @admin_api(
        "POST",
        "/api/v1/staff/<account_id>/disabling",
        summary="Disable a staff account: no sign-in, and its sessions end",
        roles=(ADMIN,),
        responses={200: StaffSwitchedSchema},
    )
    def api_disable_staff(self, call: Call, account_id: str) -> Any:
        done = self.deadline(self.registry.disable_staff, call.actor, account_id)
        self.end_sessions(done["id"])
        return done

    @admin_api(
        "POST",
        "/api/v1/staff/<account_id>/enabling",
        summary="Enable a disabled staff account again",
        roles=(ADMIN,),
        responses={200: StaffSwitchedSchema},
    )
    def api_enable_staff(self, call: Call, account_id: str) -> Any:
        return self.deadline(self.registry.enable_staff, call.actor, account_id)

    @admin_api(
        "POST",
        "/api/v1/staff/<account_id>/second-factor-resets",
        summary="Ask to reset a staff member's lost authenticator (a second admin "
        "approves)",
        roles=(ADMIN,),
        body=SecondFactorResetRequestSchema,
        responses={201: FactorResetSchema},
    )
    def api_request_factor_reset(self, call: Call, account_id: str) -> Any:
        return self.deadline(
            self.registry.request_second_factor_reset,
            call.actor,
            account_id,
            call.body["reason"],
        )

    @admin_api(
        "POST",
        "/api/v1/second-factor-resets/<reset_id>/approval",
        summary="Approve a second-factor reset another admin asked for: the person "
        "enrolls a new authenticator at their next sign-in",
        roles=(ADMIN,),
        responses={200: FactorResetApprovedSchema},
    )
    def api_approve_factor_reset(self, call: Call, reset_id: str) -> Any:
        done = self.deadline(
            self.registry.approve_second_factor_reset, call.actor, reset_id
        )
        self.end_sessions(done["id"])
        return done

    @admin_api(
        "GET",
        "/api/v1/review-items",
        summary="Open dedup review items (same email, phone or payout account)",
        roles=(ADMIN,),
        responses={200: [ReviewItemSchema]},
    )
    def api_review_items(self, call: Call) -> Any:
        return self.deadline(self.registry.list_review_items, call.actor)

    @admin_api(
        "POST",
        "/api/v1/review-items/<item_id>/resolution",
        summary="Resolve a dedup review item: same_person or distinct, with a note",
        roles=(ADMIN,),
        body=ResolutionRequestSchema,
        responses={200: ResolvedItemSchema},
    )
    def api_resolve(self, call: Call, item_id: str) -> Any:
        return self.deadline(
            self.registry.resolve_review_item,
            call.actor,
            item_id,
            call.body["outcome"],
            call.body["note"],
        )

    @clubs_api(
        "GET",
        "/api/v1/clubs",
        summary="Communication Clubs: for staff and active communicators (an "
        "applicant sees no club until they are accepted); `coordinator_id` (the "
        "coordinator's account) for admins only, null for everyone else",
        roles=SIGNED_IN,
        responses={200: [AdminClubSchema]},
    )
    def api_clubs(self, call: Call) -> Any:
        if not set(call.actor["roles"]) & set(STAFF):
            own = self.deadline(self.registry.get_own_status, call.actor)
            if own["status"] != "active":
                raise Forbidden(
                    "the clubs are shown once your application is accepted",
                    "not_active_yet",
                )
        clubs = self.deadline(self.registry.list_clubs)
        if ADMIN in call.actor["roles"]:
            return clubs
        return [{**club, "coordinator_id": None} for club in clubs]

    @clubs_api(
        "GET",
        "/api/v1/clubs/<club_id>/members",
        summary="A club's members by pseudonym, with their ids and status (no "
        "personal field): its own coordinator and admins only",
        roles=(COORDINATOR, ADMIN),
        responses={200: ClubMemberListSchema},
    )
    def api_club_members(self, call: Call, club_id: str) -> Any:
        members = self.deadline(self.registry.list_club_members, call.actor, club_id)
        return {"pseudonyms": [m["pseudonym"] for m in members], "members": members}

    @clubs_api(
        "POST",
        "/api/v1/clubs",
        summary="Create a Communication Club (then name its coordinator)",
        roles=(ADMIN,),
        body=ClubRequestSchema,
        responses={201: AdminClubSchema},
    )
    def api_create_club(self, call: Call) -> Any:
        return self.deadline(self.registry.create_club, call.actor, call.body)

    @clubs_api(
        "PATCH",
        "/api/v1/clubs/<club_id>",
        summary="Change a club's name, country, city or mode",
        roles=(ADMIN,),
        body=ClubChangesRequestSchema,
        responses={200: AdminClubSchema},
    )
    def api_update_club(self, call: Call, club_id: str) -> Any:
        return self.deadline(self.registry.update_club, call.actor, club_id, call.body)

    @clubs_api(
        "PUT",
        "/api/v1/clubs/<club_id>/coordinator",
        summary="Name a club's coordinator: an enabled staff account with the "
        "club_coordinator role that has accepted its invitation",
        roles=(ADMIN,),
        body=CoordinatorRequestSchema,
        responses={200: AdminClubSchema},
    )
    def api_set_coordinator(self, call: Call, club_id: str) -> Any:
        return self.deadline(
            self.registry.set_club_coordinator,
            call.actor,
            club_id,
            str(call.body["account_id"]),
        )

    @clubs_api(
        "DELETE",
        "/api/v1/clubs/<club_id>/coordinator",
        summary="Leave a club without a coordinator",
        roles=(ADMIN,),
        responses={200: AdminClubSchema},
    )
    def api_remove_coordinator(self, call: Call, club_id: str) -> Any:
        return self.deadline(self.registry.remove_club_coordinator, call.actor, club_id)

    @clubs_api(
        "GET",
        "/api/v1/trainings",
        summary="Training seminars, newest first, with their completions (a "
        "coordinator: those of their own clubs)",
        roles=(ADMIN, COORDINATOR),
        responses={200: [TrainingSchema]},
    )
    def api_trainings(self, call: Call) -> Any:
        return self.deadline(self.registry.list_trainings, call.actor)

    @clubs_api(
        "POST",
        "/api/v1/trainings",
        summary="Add a training seminar, for one club or for everyone",
        roles=(ADMIN,),
        body=TrainingRequestSchema,
        responses={201: NewTrainingSchema},
    )
    def api_create_training(self, call: Call) -> Any:
        training = {
            "title": call.body["title"],
            "held_on": call.body["held_on"].isoformat(),
            "club_id": str(call.body["club_id"]) if call.body["club_id"] else None,
        }
        return self.deadline(self.registry.create_training, call.actor, training)

    @clubs_api(
        "POST",
        "/api/v1/trainings/<training_id>/completions",
        summary="Record that communicators completed a training, up to 500 at once: "
        "admins for anyone, a coordinator for their own club's members",
        roles=(ADMIN, COORDINATOR),
        body=CompletionsRequestSchema,
        responses={200: CompletionsSchema},
    )
    def api_record_completions(self, call: Call, training_id: str) -> Any:
        return self.deadline(
            self.registry.record_training_completions,
            call.actor,
            training_id,
            call.body["communicator_ids"],
        )

    @api(
        "GET",
        "/api/v1/corridors",
        summary="The payout routing table: country to provider",
        roles=(ADMIN, FINANCE),
        responses={200: [CorridorSchema]},
        tags=("admin", "finance"),
    )
    def api_corridors(self, call: Call) -> Any:
        return self.deadline(self.registry.list_corridors)

    @admin_api(
        "PUT",
        "/api/v1/corridors/<country>",
        summary="Route a country's payouts to a provider",
        roles=(ADMIN,),
        body=CorridorRequestSchema,
        responses={200: CorridorSchema},
    )
    def api_set_corridor(self, call: Call, country: str) -> Any:
        return self.deadline(
            self.registry.set_corridor, call.actor, country, call.body["provider"]
        )

    @admin_api(
        "GET",
        "/api/v1/deliveries/parked",
        summary="Notifications that could not be delivered, with the reason",
        roles=(ADMIN, FINANCE),
        responses={200: [ParkedDeliveryOutSchema]},
    )
    def api_parked(self, call: Call) -> Any:
        return self.deadline(self.notifications.list_parked, call.actor)
