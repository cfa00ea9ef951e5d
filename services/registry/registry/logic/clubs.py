"""Communication Clubs, training seminars, and the professional tier."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from registry import events, pseudonyms
from registry.exceptions import (
    ClubNotFound,
    InvalidRequest,
    InvalidTransition,
    NotAllowed,
    StaffNotFound,
    TrainingNotFound,
)
from registry.logic.actors import Actor
from registry.logic.vetting import ADMIN, get
from registry.models import (
    Account,
    Club,
    ClubChange,
    Communicator,
    Training,
    TrainingCompletion,
    VettingDecision,
)
from svyaz import outbox
from svyaz.actors import COORDINATOR


def create_club(session: Session, actor: Actor, club: dict[str, Any]) -> Club:
    actor.require(ADMIN)
    coordinator_id = None
    if club.get("coordinator"):
        coordinator_id = session.scalar(
            select(Communicator.id).where(
                Communicator.pseudonym_key == pseudonyms.key(club["coordinator"]),
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
        roles = set(account.roles.split(",")) | {COORDINATOR}
        account.roles = ",".join(sorted(roles))


def _club(session: Session, club_id: uuid.UUID, lock: bool = False) -> Club:
    club = session.get(Club, club_id, with_for_update=lock)
    if club is None:
        raise ClubNotFound(
            "no such club; choose one from the list of clubs", "club_not_found"
        )
    return club


def update_club(
    session: Session, actor: Actor, club_id: uuid.UUID, changes: dict[str, Any]
) -> Club:
    """Change a club's name, country, city or mode (any of them)."""
    actor.require(ADMIN)
    club = _club(session, club_id, lock=True)
    name = changes.get("name")
    if name is not None and name != club.name:
        if session.scalar(select(Club.id).where(Club.name == name, Club.id != club.id)):
            raise InvalidRequest(
                "a club with this name exists; choose another name",
                "club_name_taken",
                {"name": ["a club with this name exists"]},
            )
    for attribute in ("name", "country", "city", "mode"):
        if attribute in changes:
            setattr(club, attribute, changes[attribute])
    return club


def _refuse_coordinator(message: str, code: str) -> InvalidRequest:
    return InvalidRequest(message, code, {"account_id": [message]})


def set_club_coordinator(
    session: Session, actor: Actor, club_id: uuid.UUID, account_id: uuid.UUID
) -> Club:
    """Make an enabled staff account that holds the club_coordinator role (and has
    accepted its invitation) the club's coordinator, in place of any before."""
    actor.require(ADMIN)
    club = _club(session, club_id, lock=True)
    account = session.get(Account, account_id)
    if account is None:
        raise StaffNotFound(
            "no staff account has this id; choose one from the staff list",
            "staff_not_found",
        )
    if account.kind != "staff":
        raise _refuse_coordinator(
            "this is not a staff account; invite the person as staff with the "
            "club_coordinator role, then choose that account",
            "coordinator_not_staff",
        )
    if account.disabled:
        raise _refuse_coordinator(
            "this staff account is disabled; enable it first or choose another",
            "coordinator_disabled",
        )
    if account.password_hash is None:
        raise _refuse_coordinator(
            "this person has not accepted their invitation yet; choose them once "
            "they have set their password",
            "coordinator_not_active",
        )
    if COORDINATOR not in account.role_set:
        raise _refuse_coordinator(
            "this staff account does not hold the club_coordinator role; choose "
            "an account that does (roles are given when staff are invited)",
            "coordinator_role_missing",
        )
    previous = club.coordinator_id
    club.coordinator_id = account.id
    if previous is not None and previous != account.id:
        session.flush()
        _release_coordinator(session, previous)
    return club


def remove_club_coordinator(session: Session, actor: Actor, club_id: uuid.UUID) -> Club:
    """The club has no coordinator from now on (nothing happens if it had none)."""
    actor.require(ADMIN)
    club = _club(session, club_id, lock=True)
    previous, club.coordinator_id = club.coordinator_id, None
    if previous is not None:
        session.flush()
        _release_coordinator(session, previous)
    return club


def _release_coordinator(session: Session, account_id: uuid.UUID) -> None:
    """A communicator made coordinator by `create_club` loses the role with their
    last club. A staff account keeps its roles: they are its own, set at invitation."""
    account = session.get(Account, account_id, with_for_update=True)
    if account is None or account.kind != "communicator":
        return
    if session.scalar(select(Club.id).where(Club.coordinator_id == account_id)):
        return
    roles = set(account.roles.split(",")) - {COORDINATOR}
    account.roles = ",".join(sorted(roles))


def list_clubs(session: Session) -> list[Club]:
    return list(session.scalars(select(Club).order_by(Club.country, Club.name)))


# who can be in a club: applicants (their activation announces it) and members
CLUB_STATUSES = ("applied", "in_review", "active", "suspended")
ANNOUNCED = ("active", "suspended")  # activated: stipends and insights hold the club


def set_communicator_club(
    session: Session,
    actor: Actor,
    communicator_id: uuid.UUID,
    club_id: uuid.UUID | None,
) -> Communicator:
    """Put a communicator into a club, move them to another, or take them out
    (`club_id` None): the club's coordinator sees them from then on, and their
    strategy and reports if they share them. Nothing happens when they are already
    there. Each change is kept in `club_changes` (the communicator's trail)."""
    actor.require(ADMIN)
    communicator = get(session, communicator_id, lock=True)
    if communicator.status not in CLUB_STATUSES:
        raise InvalidTransition(
            f"this person is {communicator.status} and takes no part any more, so "
            "they cannot be in a club",
            "not_in_programme",
        )
    club = _club(session, club_id) if club_id is not None else None
    if communicator.club_id == club_id:
        return communicator
    communicator.club_id = club_id
    session.add(
        ClubChange(communicator_id=communicator.id, club_id=club_id, actor_id=actor.id)
    )
    if communicator.status in ANNOUNCED:
        outbox.add(
            session,
            events.COMMUNICATOR_CLUB_CHANGED.build(
                events.aggregate(communicator.id),
                communicator_id=communicator.id,
                club_id=club_id,
                club_country=club.country if club is not None else None,
            ),
        )
    return communicator


def _members_of(session: Session, actor: Actor, club_id: uuid.UUID) -> Any:
    """A club's members (active or suspended, not erased), by pseudonym: for its
    coordinator and for admins only."""
    club = session.get(Club, club_id)
    if club is None:
        raise ClubNotFound("no such club", "club_not_found")
    if not actor.is_(ADMIN) and not (
        actor.is_(COORDINATOR) and club.coordinator_id == actor.id
    ):
        raise NotAllowed(
            "only this club's coordinator sees its members", "not_coordinator"
        )
    return session.execute(
        select(Communicator.id, Communicator.pseudonym, Communicator.status)
        .where(
            Communicator.club_id == club_id,
            Communicator.erased_at.is_(None),
            Communicator.status.in_(MEMBER_STATUSES),
        )
        .order_by(Communicator.pseudonym)
    ).all()


def club_members(session: Session, actor: Actor, club_id: uuid.UUID) -> list[str]:
    """Pseudonyms of a club's members: for its coordinator and for admins only."""
    return [row.pseudonym for row in _members_of(session, actor, club_id)]


def list_club_members(
    session: Session, actor: Actor, club_id: uuid.UUID
) -> list[dict[str, Any]]:
    """A club's members with their ids and status (no personal field), so that its
    coordinator can record their training completions: for its coordinator and for
    admins only."""
    return [
        {"id": row.id, "pseudonym": row.pseudonym, "status": row.status}
        for row in _members_of(session, actor, club_id)
    ]


def create_training(
    session: Session, actor: Actor, title: str, held_on: date, club_id: uuid.UUID | None
) -> Training:
    actor.require(ADMIN)
    if club_id is not None and session.get(Club, club_id) is None:
        raise ClubNotFound("no such club")
    training = Training(id=uuid.uuid4(), title=title, held_on=held_on, club_id=club_id)
    session.add(training)
    return training


def list_trainings(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The newest 200 trainings, each with its club and how many completed it. A
    coordinator (not an admin) sees only the trainings of the clubs they coordinate
    and those for everyone: the ones whose completions they may record (for their
    own members)."""
    actor.require(ADMIN, COORDINATOR)
    conditions = []
    if not actor.is_(ADMIN):
        conditions.append(
            or_(
                Training.club_id.is_(None),
                Training.club_id.in_(
                    select(Club.id).where(Club.coordinator_id == actor.id)
                ),
            )
        )
    completions = (
        select(
            TrainingCompletion.training_id,
            func.count().label("completions"),
        )
        .group_by(TrainingCompletion.training_id)
        .subquery()
    )
    rows = session.execute(
        select(Training, func.coalesce(completions.c.completions, 0))
        .outerjoin(completions, completions.c.training_id == Training.id)
        .where(*conditions)
        .order_by(Training.held_on.desc(), Training.id)
        .limit(200)
    )
    return [
        {
            "id": training.id,
            "title": training.title,
            "held_on": training.held_on,
            "club_id": training.club_id,
            "completions": int(count),
        }
        for training, count in rows
    ]


def record_completion(
    session: Session, actor: Actor, training_id: uuid.UUID, communicator_id: uuid.UUID
) -> None:
    actor.require(ADMIN)
    if session.get(Training, training_id) is None:
        raise TrainingNotFound("no such training")
    if get(session, communicator_id).status not in MEMBER_STATUSES:
        raise InvalidTransition(
            "only a member taking part completes a training: record it once they "
            "are accepted",
            "not_active",
        )
    if session.get(TrainingCompletion, (training_id, communicator_id)) is None:
        session.add(
            TrainingCompletion(
                training_id=training_id,
                communicator_id=communicator_id,
                recorded_by=actor.id,
            )
        )
        _announce_training(session, training_id, communicator_id)


def _announce_training(
    session: Session, training_id: uuid.UUID, communicator_id: uuid.UUID
) -> None:
    """A completion newly recorded: the insights read model counts it."""
    outbox.add(
        session,
        events.TRAINING_COMPLETED.build(
            events.aggregate(communicator_id),
            training_id=training_id,
            communicator_id=communicator_id,
        ),
    )


MAX_COMPLETIONS = 500
MEMBER_STATUSES = ("active", "suspended")  # the members a coordinator sees


def record_completions(
    session: Session, actor: Actor, training_id: uuid.UUID, communicator_ids: list[str]
) -> dict[str, Any]:
    """Record that these communicators completed a training, in one go.

    An admin records anyone on record; a coordinator, only the members of the
    training's own club (the members `club_members` shows them), or for a training
    held for everyone, the members of the clubs they coordinate. Each id that
    cannot be recorded is refused on its own (`invalid_id`, `unknown_communicator`,
    or for a coordinator `not_member`, which an unknown id also gets, so a
    coordinator learns nothing about people outside their club); the rest are
    recorded. An admin records members taking part (active or suspended): anyone
    else is refused as `not_active`. A completion recorded before counts as
    `already`."""
    actor.require(ADMIN, COORDINATOR)
    training = session.get(Training, training_id)
    if training is None:
        raise TrainingNotFound(
            "no such training; choose one from the list of trainings",
            "training_not_found",
        )
    if training.held_on > datetime.now(UTC).date():
        raise InvalidTransition(
            f"this training is held on {training.held_on}; record who completed it "
            "on that day or after",
            "training_not_held",
        )
    admin = actor.is_(ADMIN)
    theirs: set[uuid.UUID] = set()  # the clubs whose members they may record
    if not admin:
        if training.club_id is None:  # held for everyone: their own clubs' members
            theirs = set(
                session.scalars(select(Club.id).where(Club.coordinator_id == actor.id))
            )
        else:
            club = session.get(Club, training.club_id)
            if club is not None and club.coordinator_id == actor.id:
                theirs = {club.id}
        if not theirs:
            raise NotAllowed(
                "only an admin or the coordinator of this training's club records "
                "its completions",
                "not_coordinator",
            )
    if not 1 <= len(communicator_ids) <= MAX_COMPLETIONS:
        raise InvalidRequest(
            f"send 1 to {MAX_COMPLETIONS} communicator ids at a time",
            "invalid_id_count",
            {"communicator_ids": [f"1 to {MAX_COMPLETIONS} ids"]},
        )
    refused: list[dict[str, str]] = []
    wanted: dict[uuid.UUID, str] = {}
    for raw in communicator_ids:
        try:
            ident = uuid.UUID(str(raw))
        except ValueError:
            refused.append(
                {
                    "communicator_id": str(raw)[:64],
                    "code": "invalid_id",
                    "message": "not a valid id; copy it again from the list",
                }
            )
            continue
        wanted.setdefault(ident, str(raw))
    found = {
        row.id: row
        for row in session.execute(
            select(
                Communicator.id,
                Communicator.club_id,
                Communicator.status,
                Communicator.erased_at,
            ).where(Communicator.id.in_(list(wanted)))
        )
    }
    accepted: list[uuid.UUID] = []
    for ident, raw in wanted.items():
        row = found.get(ident)
        if admin and (row is None or row.erased_at is not None):
            refused.append(
                {
                    "communicator_id": raw,
                    "code": "unknown_communicator",
                    "message": "no communicator has this id; check the list",
                }
            )
        elif admin and row is not None and row.status not in MEMBER_STATUSES:
            refused.append(
                {
                    "communicator_id": raw,
                    "code": "not_active",
                    "message": "not a member taking part (an applicant, turned down "
                    "or gone); record it once they are accepted",
                }
            )
        elif not admin and (
            row is None
            or row.erased_at is not None
            or row.club_id not in theirs
            or row.status not in MEMBER_STATUSES
        ):
            refused.append(
                {
                    "communicator_id": raw,
                    "code": "not_member",
                    "message": "not a member of your club; an admin can record "
                    "this completion",
                }
            )
        else:
            accepted.append(ident)
    recorded = 0
    if accepted:
        inserted = session.execute(
            insert(TrainingCompletion)
            .values(
                [
                    {
                        "training_id": training.id,
                        "communicator_id": ident,
                        "recorded_by": actor.id,
                    }
                    for ident in accepted
                ]
            )
            .on_conflict_do_nothing()
            .returning(TrainingCompletion.communicator_id)
        )
        done = [row[0] for row in inserted.all()]
        recorded = len(done)
        for ident in done:
            _announce_training(session, training.id, ident)
    return {
        "recorded": recorded,
        "already": len(accepted) - recorded,
        "refused": refused,
    }


def completed_among(
    session: Session,
    actor: Actor,
    training_id: uuid.UUID,
    communicator_ids: list[str],
) -> list[uuid.UUID]:
    """Which of these communicators have completed the training (the form that
    records completions marks them). An admin asks about anyone; a coordinator
    only about the members of the clubs they coordinate, and anyone else is left
    out, as if they had not completed it: a coordinator learns nothing about
    people outside their clubs. A value that is no id is nobody's, so nobody who
    completed it."""
    actor.require(ADMIN, COORDINATOR)
    if len(communicator_ids) > MAX_COMPLETIONS:
        raise InvalidRequest(
            f"ask about at most {MAX_COMPLETIONS} communicators at a time",
            "invalid_id_count",
            {"communicator_ids": [f"at most {MAX_COMPLETIONS} ids"]},
        )
    wanted = []
    for raw in communicator_ids:
        try:
            wanted.append(uuid.UUID(str(raw)))
        except ValueError:
            continue
    query = select(TrainingCompletion.communicator_id).where(
        TrainingCompletion.training_id == training_id,
        TrainingCompletion.communicator_id.in_(wanted),
    )
    if not actor.is_(ADMIN):
        query = query.join(
            Communicator, Communicator.id == TrainingCompletion.communicator_id
        ).where(
            Communicator.club_id.in_(
                select(Club.id).where(Club.coordinator_id == actor.id)
            )
        )
    return list(session.scalars(query))


def mentors_of(
    session: Session, communicator_id: uuid.UUID
) -> list[tuple[uuid.UUID, str]]:
    """Who mentors this communicator and is told when they share a strategy: the
    coordinator of their club, as (account id, "communicator" or "staff"); none
    without a club, a coordinator, or when that is themselves or a disabled
    account. Program admins mentor everyone; their digest counts strategies."""
    communicator = session.get(Communicator, communicator_id)
    if communicator is None or communicator.erased or communicator.club_id is None:
        return []
    club = session.get(Club, communicator.club_id)
    if club is None or club.coordinator_id in (None, communicator_id):
        return []
    account = session.get(Account, club.coordinator_id)
    if account is not None:
        return [] if account.disabled else [(account.id, account.kind)]
    # a communicator coordinator who has not set a password has no account yet
    coordinator = session.get(Communicator, club.coordinator_id)
    if coordinator is None or coordinator.erased:
        return []
    return [(coordinator.id, "communicator")]


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
                "the professional tier needs a completed training: record that they "
                "completed one first, then set the tier",
                "training_required",
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
        VettingDecision.noted(
            communicator, actor.id, f"tier {communicator.tier}: {reason}"
        )
    )
