"""Club coordinators' page: their own clubs, their members' pseudonyms, the
trainings of their clubs and those held for everyone (whose completions they record
for their members), nothing else."""

from __future__ import annotations

from typing import Any

from gateway.base import Call, GatewayBase
from gateway.http import page
from gateway.roles import COORDINATOR
from gateway.waiting import waiting_for


class CoordinatorConsole(GatewayBase):
    @page("GET", "/coordinator", roles=(COORDINATOR,), template="coordinator.html")
    def coordinator_home(self, call: Call) -> dict[str, Any]:
        trainings = self.deadline(self.registry.list_trainings, call.actor)
        clubs = [
            {
                **club,
                "members": self.deadline(
                    self.registry.club_members, call.actor, club["id"]
                ),
                "trainings": [t for t in trainings if t["club_id"] == club["id"]],
            }
            for club in self.deadline(self.registry.list_clubs)
            if club.get("coordinator_id") == call.actor_id
        ]
        return {
            "clubs": clubs,
            # held for everyone: a coordinator records their own members' too
            "for_everyone": [t for t in trainings if t["club_id"] is None],
            "waiting": waiting_for(self, call),
        }
