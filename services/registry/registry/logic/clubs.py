"""Communication Clubs, training seminars, and the professional tier."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import events
from registry.exceptions import (
    ClubNotFound,
    InvalidRequest,
    InvalidTransition,
    NotAllowed,
    TrainingNotFound,
)
from registry.logic.actors import Actor
from registry.logic.vetting import ADMIN, get
from registry.models import (
    Account,
    Club,
    Communicator,
    Training,
    TrainingCompletion,
    VettingDecision,
)
from svyaz import outbox


def create_club(session: Session, actor: Actor, club: dict[str, Any]) -> Club:
    actor.require(ADMIN)
    coordinator_id = None
    if club.get("coordinator"):
        coordinator_id = session.scalar(
            select(Communicator.id).where(
                Communicator.pseudonym == club["coordinator"],
                Communicator.status == "active",
            )
        )
        if coordinator_id is None:
            raise InvalidRequest(
                "no active communicator has this pseudonym",
                "unknown_coordinator",
                {"coordinator": ["no active communicator has this pseudonym"]},
            )
    if session.scalar(select(Club.id).where(Club.name == club["name"])):
        raise InvalidRequest(
            "a club with this name exists",
            "club_name_taken",
            {"name": ["a club with this name exists"]},
        )
    row = Club(
        id=uuid.uuid4(),
        name=club["name"],
        country=club["country"],
        city=club.get("city"),
        mode=club["mode"],
        coordinator_id=coordinator_id,
    )
    session.add(row)
    if coordinator_id is not None:
        _grant_coordinator(session, coordinator_id)
    return row


def _grant_coordinator(session: Session, communicator_id: uuid.UUID) -> None:
    """The coordinator's own login (same id) signs in as a coordinator from now on."""
    account = session.get(Account, communicator_id, with_for_update=True)
    if account is not None:
        roles = set(account.roles.split(",")) | {"club_coordinator"}
        account.roles = ",".join(sorted(roles))


def list_clubs(session: Session) -> list[Club]:
    return list(session.scalars(select(Club).order_by(Club.country, Club.name)))


def club_members(session: Session, actor: Actor, club_id: uuid.UUID) -> list[str]:
    """Pseudonyms of a club's members: for its coordinator and for admins only."""
    club = session.get(Club, club_id)
    if club is None:
        raise ClubNotFound("no such club")
    if not actor.is_(ADMIN) and not (
        actor.is_("club_coordinator") and club.coordinator_id == actor.id
    ):
        raise NotAllowed(
            "only this club's coordinator sees its members", "not_coordinator"
        )
    return list(
        session.scalars(
            select(Communicator.pseudonym)
            .where(
                Communicator.club_id == club_id,
                Communicator.erased_at.is_(None),
                Communicator.status.in_(("active", "suspended")),
            )
            .order_by(Communicator.pseudonym)
        )
    )


def create_training(
    session: Session, actor: Actor, title: str, held_on: date, club_id: uuid.UUID | None
) -> Training:
    actor.require(ADMIN)
    if club_id is not None and session.get(Club, club_id) is None:
        raise ClubNotFound("no such club")
    training = Training(id=uuid.uuid4(), title=title, held_on=held_on, club_id=club_id)
    session.add(training)
    return training


def list_trainings(session: Session, actor: Actor) -> list[Training]:
    actor.require(ADMIN)
    return list(
        session.scalars(select(Training).order_by(Training.held_on.desc()).limit(200))
    )


def record_completion(
    session: Session, actor: Actor, training_id: uuid.UUID, communicator_id: uuid.UUID
) -> None:
    actor.require(ADMIN)
    if session.get(Training, training_id) is None:
        raise TrainingNotFound("no such training")
    get(session, communicator_id)
    if session.get(TrainingCompletion, (training_id, communicator_id)) is None:
        session.add(
            TrainingCompletion(
                training_id=training_id,
                communicator_id=communicator_id,
                recorded_by=actor.id,
            )
        )


def training_completed(session: Session, communicator_id: uuid.UUID) -> bool:
    return (
        session.scalar(
            select(TrainingCompletion.training_id)
            .where(TrainingCompletion.communicator_id == communicator_id)
            .limit(1)
        )
        is not None
    )


def set_tier(
    session: Session, actor: Actor, communicator_id: uuid.UUID, tier: str, reason: str
) -> Communicator:
    """The professional tier (stipend eligibility) needs a completed training, an
    active communicator and an admin's decision."""
    actor.require(ADMIN)
    communicator = get(session, communicator_id, lock=True)
    completed = training_completed(session, communicator_id)
    if tier == "professional":
        if communicator.status != "active":
            raise InvalidTransition(
                "only an active communicator can be professional", "not_active"
            )
        if not completed:
            raise InvalidTransition(
                "the professional tier needs a completed training", "training_required"
            )
    if communicator.tier == tier:
        return communicator
    communicator.tier = tier
    _record_tier(session, actor, communicator, reason)
    outbox.add(
        session,
        events.COMMUNICATOR_TIER_CHANGED.build(
            events.aggregate(communicator.id),
            communicator_id=communicator.id,
            tier=tier,
            training_completed=completed,
        ),
    )
    return communicator


def _record_tier(
    session: Session, actor: Actor, communicator: Communicator, reason: str
) -> None:
    session.add(
        VettingDecision(
            communicator_id=communicator.id,
            actor_id=actor.id,
            from_status=communicator.status,
            to_status=communicator.status,
            reason=f"tier {communicator.tier}: {reason}",
        )
    )
