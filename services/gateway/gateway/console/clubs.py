"""Communication Clubs and training seminars: program admins create and edit clubs,
name (and remove) their coordinators and add trainings; admins and a club's own
coordinator record who completed a training, many at once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Response

from gateway import web
from gateway.base import Call, GatewayBase
from gateway.http import page
from gateway.pages import ident
from gateway.roles import ADMIN, COORDINATOR
from svyaz.errors import InvalidInput, NotFound

ADMINS = (ADMIN,)
RECORDERS = (ADMIN, COORDINATOR)
CANDIDATES = 100  # communicators an admin's completion form lists at once


def club_fields(form: dict[str, str]) -> dict[str, Any]:
    return {
        "name": form.get("name", ""),
        "country": form.get("country", "").upper(),
        "city": form.get("city") or None,
        "mode": form.get("mode", ""),
    }


class ClubsConsole(GatewayBase):
    # -- clubs -------------------------------------------------------------------------
    def coordinators(self, call: Call) -> list[dict[str, Any]]:
        """The staff accounts a club can be given as coordinator (as the registry
        takes them): enabled, invitation accepted, holding the club_coordinator
        role."""
        return [
            member
            for member in self.deadline(self.registry.list_staff, call.actor)
            if member["state"] in ("active", "enrolling")
            and COORDINATOR in member["roles"]
        ]

    @page("GET", "/admin/clubs", roles=ADMINS)
    def admin_clubs(
        self,
        call: Call,
        error: str | None = None,
        status: int = 200,
        notice: str | None = None,
    ) -> Response:
        clubs = self.deadline(self.registry.list_clubs)
        coordinators = self.coordinators(call)
        return self.render(
            call,
            "admin_clubs.html",
            status=status,
            clubs=clubs,
            club_names={c["id"]: c["name"] for c in clubs},
            coordinators=coordinators,
            staff={c["id"]: c for c in coordinators},
            trainings=self.deadline(self.registry.list_trainings, call.actor),
            error=error,
            notice=notice,
        )

    @page("POST", "/admin/clubs", roles=ADMINS, redisplay="admin_clubs")
    def admin_create_club(self, call: Call) -> Response:
        """A new club, and its coordinator when one is chosen from the list."""
        coordinator = call.form.get("coordinator")
        if coordinator:
            coordinator = ident(coordinator, "coordinator")
        club = self.deadline(
            self.registry.create_club, call.actor, club_fields(call.form)
        )
        if coordinator:
            self.deadline(
                self.registry.set_club_coordinator, call.actor, club["id"], coordinator
            )
        return web.redirect("/admin/clubs")

    @page("GET", "/admin/clubs/<club_id>", roles=ADMINS)
    def admin_club(self, call: Call, club_id: str) -> Response:
        """A club's members (active or suspended), each linked to their record,
        where an admin puts people into the club or takes them out."""
        wanted = ident(club_id, "club_id")
        club = next(
            (c for c in self.deadline(self.registry.list_clubs) if c["id"] == wanted),
            None,
        )
        if club is None:
            raise NotFound(
                "no such club; choose one from the list of clubs", "club_not_found"
            )
        return self.render(
            call,
            "admin_club.html",
            club=club,
            members=self.deadline(self.registry.list_club_members, call.actor, wanted),
        )

    @page("POST", "/admin/clubs/<club_id>", roles=ADMINS, redisplay="admin_clubs")
    def admin_update_club(self, call: Call, club_id: str) -> Response:
        self.deadline(
            self.registry.update_club,
            call.actor,
            ident(club_id, "club_id"),
            club_fields(call.form),
        )
        return web.redirect("/admin/clubs")

    @page(
        "POST",
        "/admin/clubs/<club_id>/coordinator",
        roles=ADMINS,
        redisplay="admin_clubs",
    )
    def admin_club_coordinator(self, call: Call, club_id: str) -> Response:
        """`action` set (with `account_id` from the list) or remove."""
        club = ident(club_id, "club_id")
        action = call.form.get("action")
        if action == "set":
            account = call.form.get("account_id", "")
            if not account:
                raise InvalidInput("choose a coordinator", "coordinator_required")
            self.deadline(
                self.registry.set_club_coordinator,
                call.actor,
                club,
                ident(account, "account_id"),
            )
        elif action == "remove":
            self.deadline(self.registry.remove_club_coordinator, call.actor, club)
        else:
            raise InvalidInput("choose an action", "unknown_action")
        return web.redirect("/admin/clubs")

    # -- trainings ---------------------------------------------------------------------
    @page("POST", "/admin/trainings", roles=ADMINS, redisplay="admin_clubs")
    def admin_create_training(self, call: Call) -> Response:
        club = call.form.get("club_id") or None
        training = {
            "title": call.form.get("title", ""),
            "held_on": call.form.get("held_on", ""),
            "club_id": ident(club, "club_id") if club else None,
        }
        self.deadline(self.registry.create_training, call.actor, training)
        return web.redirect("/admin/clubs")

    def _training(self, call: Call, training_id: str) -> dict[str, Any]:
        wanted = ident(training_id, "training_id")
        for training in self.deadline(self.registry.list_trainings, call.actor):
            if training["id"] == wanted:
                return dict(training)
        raise NotFound("no such training", "training_not_found")

    def _candidates(
        self, call: Call, training: dict[str, Any], prefix: str
    ) -> list[dict[str, Any]]:
        """Who the form offers: an admin, active communicators (by pseudonym
        prefix); a coordinator, the members of the training's club, or for a
        training held for everyone, of every club they coordinate."""
        if ADMIN in call.actor["roles"]:
            criteria: dict[str, Any] = {"status": "active", "limit": CANDIDATES + 1}
            if len(prefix) >= 2:
                criteria["pseudonym"] = prefix
            found = self.deadline(
                self.registry.find_communicators, call.actor, criteria
            )
            # a club's training: its members first (the page marks them), then the
            # others an admin may record as having attended it too
            club = training.get("club_id")
            return sorted(
                found, key=lambda c: club is not None and c.get("club_id") != club
            )
        if training["club_id"] is not None:
            return list(
                self.deadline(
                    self.registry.list_club_members, call.actor, training["club_id"]
                )
            )
        return [
            member
            for club in self.deadline(self.registry.list_clubs)
            if club.get("coordinator_id") == call.actor_id
            for member in self.deadline(
                self.registry.list_club_members, call.actor, club["id"]
            )
        ]

    def _training_page(
        self,
        call: Call,
        training_id: str,
        error: str | None = None,
        status: int = 200,
        result: dict[str, Any] | None = None,
    ) -> Response:
        training = self._training(call, training_id)
        prefix = (call.request.args.get("pseudonym") or "").strip()[:30]
        candidates = self._candidates(call, training, prefix)
        clubs = {c["id"]: c["name"] for c in self.deadline(self.registry.list_clubs)}
        names = {c["id"]: c["pseudonym"] for c in candidates}
        shown = candidates[:CANDIDATES]
        completed = set(
            self.deadline(
                self.registry.training_completed_by,
                call.actor,
                training["id"],
                [c["id"] for c in shown],
            )
            if shown
            else ()
        )
        return self.render(
            call,
            "training_completions.html",
            status=status,
            training=training,
            club=clubs.get(training.get("club_id") or ""),
            candidates=shown,
            completed=completed,
            # completions are recorded on the day it is held or after
            ahead=str(training.get("held_on") or "")
            > datetime.now(UTC).date().isoformat(),
            more=len(candidates) > CANDIDATES,
            admin=ADMIN in call.actor["roles"],
            prefix=prefix,
            result=result,
            names=names,
            error=error,
        )

    @page("GET", "/trainings/<training_id>", roles=RECORDERS)
    def training_completions(self, call: Call, training_id: str) -> Response:
        return self._training_page(call, training_id)

    @page(
        "POST",
        "/trainings/<training_id>",
        roles=RECORDERS,
        redisplay="_training_page",
    )
    def record_completions(self, call: Call, training_id: str) -> Response:
        """The ticked communicators completed the training: recorded, already
        recorded before, or refused each with its reason."""
        training = self._training(call, training_id)
        ticked = [v for v in call.request.form.getlist("communicator_ids") if v]
        if not ticked:
            raise InvalidInput("tick at least one person", "nobody_ticked")
        result = self.deadline(
            self.registry.record_training_completions,
            call.actor,
            training["id"],
            ticked,
        )
        return self._training_page(call, training_id, result=result)
