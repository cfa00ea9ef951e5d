"""The registry's entrypoints: clubs, their coordinators, trainings and tiers."""

from __future__ import annotations

from typing import Any

from registry.entrypoints.base import Entrypoints, ident, load
from registry.exceptions import RegistryError
from registry.logic import (
    clubs,
)
from registry.logic.actors import Actor
from registry.schemas import (
    ClubChangesSchema,
    ClubMemberSchema,
    ClubOutSchema,
    ClubSchema,
    CommunicatorSummarySchema,
    CompletionsSchema,
    CoordinatorSchema,
    MembershipSchema,
    TierSchema,
    TrainingOutSchema,
    TrainingSchema,
)
from svyaz.commands import command
from svyaz.keys import GATEWAY, NOTIFICATIONS, OPERATOR, STIPENDS
from svyaz.rpc import rpc

SUMMARY = CommunicatorSummarySchema()


class ClubsEntrypoints(Entrypoints):
    # -- clubs, trainings, tiers ---------------------------------------------------
    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    @command
    def create_club(self, actor: Any, club: Any) -> dict[str, Any]:
        who = Actor.load(actor)
        data = load(ClubSchema(), club)
        with self.db.transaction() as session:
            return ClubOutSchema().dump(clubs.create_club(session, who, data))

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    @command
    def update_club(self, actor: Any, club_id: str, changes: Any) -> dict[str, Any]:
        who = Actor.load(actor)
        club = ident(club_id, "club_id")
        data = load(ClubChangesSchema(), changes)
        with self.db.transaction() as session:
            return ClubOutSchema().dump(clubs.update_club(session, who, club, data))

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    @command
    def set_club_coordinator(
        self, actor: Any, club_id: str, account_id: str
    ) -> dict[str, Any]:
        who = Actor.load(actor)
        data = load(CoordinatorSchema(), {"club_id": club_id, "account_id": account_id})
        with self.db.transaction() as session:
            return ClubOutSchema().dump(
                clubs.set_club_coordinator(
                    session, who, data["club_id"], data["account_id"]
                )
            )

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    @command
    def remove_club_coordinator(self, actor: Any, club_id: str) -> dict[str, Any]:
        who = Actor.load(actor)
        club = ident(club_id, "club_id")
        with self.db.transaction() as session:
            return ClubOutSchema().dump(
                clubs.remove_club_coordinator(session, who, club)
            )

    @rpc(callers={GATEWAY, OPERATOR, STIPENDS}, expected_exceptions=RegistryError)
    def list_clubs(self) -> list[dict[str, Any]]:
        """Every club with its coordinator's account id (stipends asks it to know
        whose strategies and reports a coordinator mentors)."""
        with self.db.transaction() as session:
            return ClubOutSchema().dump(clubs.list_clubs(session), many=True)

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def club_members(self, actor: Any, club_id: str) -> list[str]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            return clubs.club_members(session, who, ident(club_id, "club_id"))

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def list_club_members(self, actor: Any, club_id: str) -> list[dict[str, Any]]:
        """[{id, pseudonym, status}]: the club's own coordinator and admins only."""
        who = Actor.load(actor)
        with self.db.transaction() as session:
            return ClubMemberSchema(many=True).dump(
                clubs.list_club_members(session, who, ident(club_id, "club_id"))
            )

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    @command
    def set_communicator_club(
        self, actor: Any, communicator_id: str, club_id: str | None
    ) -> dict[str, Any]:
        """Put a communicator into a club, move them, or take them out (None)."""
        who = Actor.load(actor)
        data = load(
            MembershipSchema(),
            {"communicator_id": communicator_id, "club_id": club_id},
        )
        with self.db.transaction() as session:
            return SUMMARY.dump(
                clubs.set_communicator_club(
                    session, who, data["communicator_id"], data["club_id"]
                )
            )

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    @command
    def create_training(self, actor: Any, training: Any) -> dict[str, Any]:
        who = Actor.load(actor)
        data = load(TrainingSchema(), training)
        with self.db.transaction() as session:
            row = clubs.create_training(
                session, who, data["title"], data["held_on"], data["club_id"]
            )
            return {"id": str(row.id), "title": row.title}

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def list_trainings(self, actor: Any) -> list[dict[str, Any]]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            return TrainingOutSchema(many=True).dump(clubs.list_trainings(session, who))

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    @command
    def record_training_completion(
        self, actor: Any, training_id: str, communicator_id: str
    ) -> None:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            clubs.record_completion(
                session, who, ident(training_id, "training_id"), ident(communicator_id)
            )

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    @command
    def record_training_completions(
        self, actor: Any, training_id: str, communicator_ids: Any
    ) -> dict[str, Any]:
        """{"recorded": n, "already": n, "refused": [{communicator_id, code,
        message}]}: up to 500 at once, in one transaction."""
        who = Actor.load(actor)
        data = load(
            CompletionsSchema(),
            {"training_id": training_id, "communicator_ids": communicator_ids},
        )
        with self.db.transaction() as session:
            return clubs.record_completions(
                session, who, data["training_id"], data["communicator_ids"]
            )

    @rpc(callers={NOTIFICATIONS}, expected_exceptions=RegistryError)
    def get_mentors(self, communicator_id: str) -> list[dict[str, str]]:
        """Who to tell when this communicator shares a strategy: their club's
        coordinator, as an account id and its kind (communicator or staff); ids
        only, the contact is asked for at send time."""
        with self.db.transaction() as session:
            return [
                {"id": str(account_id), "kind": kind}
                for account_id, kind in clubs.mentors_of(
                    session, ident(communicator_id, "communicator_id")
                )
            ]

    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    def training_completed_by(
        self, actor: Any, training_id: str, communicator_ids: Any
    ) -> list[str]:
        """Those of `communicator_ids` (up to 500) who completed the training, as
        far as the caller may know (clubs.completed_among)."""
        who = Actor.load(actor)
        data = load(
            CompletionsSchema(),
            {"training_id": training_id, "communicator_ids": communicator_ids or []},
        )
        with self.db.transaction() as session:
            done = clubs.completed_among(
                session, who, data["training_id"], data["communicator_ids"]
            )
        return sorted(str(ident) for ident in done)

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    @command
    def set_tier(self, actor: Any, communicator_id: str, tier: str, reason: str) -> Any:
        who = Actor.load(actor)
        data = load(
            TierSchema(),
            {"communicator_id": communicator_id, "tier": tier, "reason": reason},
        )
        with self.db.transaction() as session:
            return SUMMARY.dump(
                clubs.set_tier(
                    session, who, data["communicator_id"], data["tier"], data["reason"]
                )
            )
