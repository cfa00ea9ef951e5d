"""Club coordinators' page: their own clubs and their members' pseudonyms, nothing
else."""

from __future__ import annotations

from typing import Any

from gateway.base import Call, GatewayBase
from gateway.http import page
from gateway.roles import COORDINATOR


class CoordinatorConsole(GatewayBase):
    @page("GET", "/coordinator", roles=(COORDINATOR,), template="coordinator.html")
    def coordinator_home(self, call: Call) -> dict[str, Any]:
        clubs = [
            {
                **club,
                "members": self.deadline(
                    self.registry.club_members, call.actor, club["id"]
                ),
            }
            for club in self.deadline(self.registry.list_clubs)
            if club.get("coordinator_id") == call.actor_id
        ]
        return {"clubs": clubs}
