"""Program admins' pages about Communication Clubs and training seminars."""

from __future__ import annotations

from werkzeug.wrappers import Response

from gateway import web
from gateway.base import Call, GatewayBase
from gateway.http import page
from gateway.roles import ADMIN

ADMINS = (ADMIN,)


class ClubsConsole(GatewayBase):
    def _clubs_page(
        self, call: Call, error: str | None = None, status: int = 200
    ) -> Response:
        return self.render(
            call,
            "admin_clubs.html",
            status=status,
            clubs=self.deadline(self.registry.list_clubs),
            error=error,
        )

    @page("GET", "/admin/clubs", roles=ADMINS)
    def admin_clubs(self, call: Call) -> Response:
        return self._clubs_page(call)

    @page("POST", "/admin/clubs", roles=ADMINS, redisplay="_clubs_page")
    def admin_create_club(self, call: Call) -> Response:
        club = {
            "name": call.form.get("name", ""),
            "country": call.form.get("country", "").upper(),
            "city": call.form.get("city") or None,
            "mode": call.form.get("mode", ""),
            "coordinator": call.form.get("coordinator") or None,
        }
        self.deadline(self.registry.create_club, call.actor, club)
        return web.redirect("/admin/clubs")

    @page("POST", "/admin/trainings", roles=ADMINS, redisplay="_clubs_page")
    def admin_create_training(self, call: Call) -> Response:
        training = {
            "title": call.form.get("title", ""),
            "held_on": call.form.get("held_on", ""),
        }
        self.deadline(self.registry.create_training, call.actor, training)
        return web.redirect("/admin/clubs")
