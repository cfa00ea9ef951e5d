"""Program admins' pages about people: applications and vetting, searching
communicators, dedup review items, and staff accounts."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError
from werkzeug.wrappers import Response

from gateway import web
from gateway.base import Call, GatewayBase
from gateway.confirm import confirmation, confirmed
from gateway.exceptions import BadRequest
from gateway.http import page
from gateway.roles import ADMIN
from gateway.schemas import STAFF_ROLES, StaffInvitationRequestSchema
from gateway.waiting import waiting_for
from svyaz.errors import InvalidInput, NotFound

ADMINS = (ADMIN,)
VETTING_STEPS = (
    "start_review",
    "approve",
    "reject",
    "suspend",
    "reinstate",
    "offboard",
    "training",
    "tier",
    "club",
)
# who can be put into a club (as the registry takes it): applicants and members
CLUB_STATUSES = ("applied", "in_review", "active", "suspended")


class PeopleConsole(GatewayBase):
    # -- applications and vetting ----------------------------------------------------
    @page(
        "GET", "/admin/applications", roles=ADMINS, template="admin_applications.html"
    )
    def admin_applications(self, call: Call) -> dict[str, Any]:
        rows = [
            r
            for status in ("applied", "in_review")
            for r in self.deadline(
                self.registry.find_communicators, call.actor, {"status": status}
            )
        ]
        return {"rows": rows, "waiting": waiting_for(self, call)}

    @page("GET", "/admin/applications/<communicator_id>", roles=ADMINS)
    def admin_application(
        self,
        call: Call,
        communicator_id: str,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        app = self.deadline(self.registry.get_application, call.actor, communicator_id)
        clubs = self.deadline(self.registry.list_clubs)
        activity = self.deadline(
            self.registry.get_communicator_activity, call.actor, app["id"]
        )
        # a seminar already recorded for them is not offered again
        done = {
            str(entry["detail"].get("training_id"))
            for entry in activity
            if entry["action"] == "training_completed"
        }
        trainings = self.deadline(self.registry.list_trainings, call.actor)
        return self.render(
            call,
            "admin_application.html",
            status=status,
            app=app,
            clubs=clubs,
            club_names={c["id"]: c["name"] for c in clubs},
            club_statuses=CLUB_STATUSES,
            trainings=[t for t in trainings if str(t["id"]) not in done],
            trainings_done=len(done),
            # what the form just did (admin_decide's redirect), said above it
            done_step=call.request.args.get("done")
            if call.request.args.get("done") in VETTING_STEPS
            else None,
            activity=activity,
            staff=self.staff_by_id(call),
            me=call.actor_id,
            error=error,
        )

    def staff_by_id(self, call: Call) -> dict[str, dict[str, Any]]:
        """Staff accounts (handle, roles) by id: how a trail names who acted."""
        return {
            member["id"]: member
            for member in self.deadline(self.registry.list_staff, call.actor)
        }

    @page(
        "POST",
        "/admin/applications/<communicator_id>",
        roles=ADMINS,
        redisplay="admin_application",
    )
    def admin_decide(self, call: Call, communicator_id: str) -> Response:
        step = call.form.get("step")
        if step not in VETTING_STEPS:
            raise NotFound("no such step")
        if step in ("reject", "offboard") and not confirmed(call):
            app = self.deadline(
                self.registry.get_application, call.actor, communicator_id
            )
            return confirmation(
                self,
                call,
                "reject_application" if step == "reject" else "offboard",
                f"/admin/applications/{app['id']}",
                pseudonym=app["pseudonym"],
                reason=call.form.get("reason", ""),
            )
        if step == "training":
            self.deadline(
                self.registry.record_training_completion,
                call.actor,
                call.form.get("training_id", ""),
                communicator_id,
            )
        elif step == "club":
            self.deadline(
                self.registry.set_communicator_club,
                call.actor,
                communicator_id,
                call.form.get("club_id") or None,
            )
        elif step == "tier":
            self.deadline(
                self.registry.set_tier,
                call.actor,
                communicator_id,
                call.form.get("tier", ""),
                call.form.get("reason", ""),
            )
        else:
            self.deadline(
                getattr(self.registry, step),
                call.actor,
                communicator_id,
                call.form.get("reason", ""),
            )
            self.after_decision(step, communicator_id)
        return web.redirect(f"/admin/applications/{communicator_id}?done={step}")

    # -- searching communicators -----------------------------------------------------
    def _search_page(self, call: Call, criteria: dict[str, str]) -> Response:
        found, error = [], None
        if criteria:
            try:
                found = self.deadline(
                    self.registry.find_communicators, call.actor, criteria
                )
            except InvalidInput as exc:
                error = "; ".join(
                    m for ms in exc.fields.values() for m in ms
                ) or web.refusal(call.lang, exc.code, exc.message)
        return self.render(
            call,
            "admin_communicators.html",
            status=400 if error else 200,
            found=found,
            searched=bool(criteria),
            criteria={k: v for k, v in criteria.items() if k != "email"},
            error=error,
        )

    @page("GET", "/admin/communicators", roles=ADMINS)
    def admin_communicators(self, call: Call) -> Response:
        """Search first: nothing is listed until a pseudonym prefix or a status is
        asked for (an email is searched by POST, never put in a URL)."""
        args = call.request.args
        return self._search_page(
            call, {k: args[k] for k in ("pseudonym", "status") if args.get(k)}
        )

    @page("POST", "/admin/communicators", roles=ADMINS)
    def admin_communicators_by_email(self, call: Call) -> Response:
        return self._search_page(call, {"email": call.form.get("email", "")})

    # -- dedup review items ----------------------------------------------------------
    @page("GET", "/admin/review-items", roles=ADMINS)
    def admin_review_items(
        self, call: Call, error: str | None = None, status: int = 200
    ) -> Response:
        items = self.deadline(self.registry.list_review_items, call.actor)
        return self.render(
            call, "admin_review_items.html", status=status, items=items, error=error
        )

    @page(
        "POST",
        "/admin/review-items/<item_id>",
        roles=ADMINS,
        redisplay="admin_review_items",
    )
    def admin_resolve_item(self, call: Call, item_id: str) -> Response:
        self.deadline(
            self.registry.resolve_review_item,
            call.actor,
            item_id,
            call.form.get("outcome", ""),
            call.form.get("note", ""),
        )
        return web.redirect("/admin/review-items")

    # -- staff -----------------------------------------------------------------------
    def _staff_page(
        self,
        call: Call,
        error: str | None = None,
        status: int = 200,
        notice: str | None = None,
    ) -> Response:
        staff = self.deadline(self.registry.list_staff, call.actor)
        return self.render(
            call,
            "admin_staff.html",
            status=status,
            staff=staff,
            roles_of={member["id"]: member for member in staff},
            me=call.actor_id,
            roles=STAFF_ROLES,
            error=error,
            notice=notice,
        )

    @page("GET", "/admin/staff", roles=ADMINS)
    def admin_staff(self, call: Call) -> Response:
        return self._staff_page(call)

    @page("POST", "/admin/staff", roles=ADMINS, redisplay="_staff_page")
    def admin_invite_staff(self, call: Call) -> Response:
        """An invitation: the one-time link goes to the invitee, not to the admin."""
        invitation = {
            "email": call.form.get("email", ""),
            "roles": [r for r in call.request.form.getlist("roles") if r],
            "handle": call.form.get("handle", ""),
            "language": call.form.get("language") or call.lang,
        }
        try:
            StaffInvitationRequestSchema().load(invitation)
        except ValidationError as exc:  # every field named at once, next to it
            raise BadRequest(
                "the invitation is not valid",
                "invalid_input",
                exc.normalized_messages(),
            ) from None
        self.deadline(self.registry.invite_staff, call.actor, invitation)
        return self._staff_page(call, notice=call.texts["invited"])

    @page("POST", "/admin/staff/<account_id>", roles=ADMINS, redisplay="_staff_page")
    def admin_staff_action(self, call: Call, account_id: str) -> Response:
        """Rename, disable, enable, or ask for a second-factor reset (a reason)."""
        action = call.form.get("action", "")
        if action == "disable" and not confirmed(call):
            (member,) = [
                m
                for m in self.deadline(self.registry.list_staff, call.actor)
                if m["id"] == account_id
            ] or [None]
            if member is None:
                raise NotFound("no such staff account", "staff_not_found")
            roles = ", ".join(web.label(call.lang, "role", r) for r in member["roles"])
            return confirmation(
                self,
                call,
                "disable_staff",
                "/admin/staff",
                roles=roles,
                handle=member.get("handle"),
            )
        if action == "rename":
            self.deadline(
                self.registry.rename_staff,
                call.actor,
                account_id,
                call.form.get("handle", ""),
            )
        elif action == "disable":
            self.deadline(self.registry.disable_staff, call.actor, account_id)
            self.end_sessions(account_id)
        elif action == "enable":
            self.deadline(self.registry.enable_staff, call.actor, account_id)
        elif action == "reset":
            self.deadline(
                self.registry.request_second_factor_reset,
                call.actor,
                account_id,
                call.form.get("reason", ""),
            )
        else:
            raise InvalidInput("choose an action", "unknown_action")
        return web.redirect("/admin/staff")

    @page(
        "POST",
        "/admin/second-factor-resets/<reset_id>",
        roles=ADMINS,
        redisplay="_staff_page",
    )
    def admin_approve_reset(self, call: Call, reset_id: str) -> Response:
        done = self.deadline(
            self.registry.approve_second_factor_reset, call.actor, reset_id
        )
        self.end_sessions(done["id"])
        return web.redirect("/admin/staff")
