"""Communication strategies and mentor feedback.

A professional communicator drafts a strategy (kinds of audiences, never people;
channels, topics and approaches; the change they expect and over how many months;
a note), shares it with their mentor, reads the mentor's comments and revises it.
Each version is kept: a draft changes until it is shared, then never (a trigger
refuses it); a revision starts the next version.

A mentor is the coordinator of the communicator's club, or any programme admin;
nobody mentors themselves, finance never. Which clubs an actor coordinates comes
from the registry (who owns clubs), asked by the service at call time and given here
as `clubs`.

The feedback thread of a report (stipends.logic.report_feedback) is seen by its
author and the author's mentors only, and the author can answer. Free text (the
note, the expected change, topics, comments, feedback) is redacted before it is
stored, never leaves in an event, and is blanked when the communicator is erased
(readmodel.registry_changed).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ScalarSelect, Select, select, update
from sqlalchemy.orm import Session

from stipends import events
from stipends.exceptions import (
    CommunicatorNotFound,
    InvalidRequest,
    InvalidTransition,
    NotAllowed,
)
from stipends.logic.actors import ADMIN, COMMUNICATOR, COORDINATOR, Actor
from stipends.logic.redaction import redact
from stipends.models import (
    STRATEGY_TIER,
    ActivityReport,
    Communicator,
    ReportFeedback,
    Strategy,
    StrategyComment,
    StrategyVersion,
)
from svyaz import outbox

CONTENT = (
    "audiences",
    "channels",
    "topics",
    "approaches",
    "expected_change",
    "horizon_months",
    "note",
)


@dataclass(frozen=True)
class SavedVersion:
    version: StrategyVersion
    redacted: list[str]  # what this save removed from the text, for the author


# -- who may do what -----------------------------------------------------------
def mentor_role(
    actor: Actor, communicator: Communicator, clubs: Collection[uuid.UUID]
) -> str | None:
    """The role in which `actor` mentors this communicator, kept with what they
    write so that the reader is told who wrote it: their club's coordinator (when
    `actor` coordinates the member's club, even if also an admin), else a
    programme admin; None when `actor` does not mentor them."""
    if actor.id == communicator.id:
        return None
    if (
        actor.is_(COORDINATOR)
        and communicator.club_id is not None
        and communicator.club_id in clubs
    ):
        return COORDINATOR
    return ADMIN if actor.is_(ADMIN) else None


def _communicator(session: Session, communicator_id: uuid.UUID) -> Communicator:
    found = session.get(Communicator, communicator_id)
    if found is None or found.erased:
        raise CommunicatorNotFound("no such communicator")
    return found


def seen_by(
    session: Session,
    actor: Actor,
    communicator_id: uuid.UUID,
    clubs: Collection[uuid.UUID],
) -> tuple[Communicator, str | None]:
    """The communicator whose strategy or feedback `actor` asks for, and the role
    in which `actor` mentors them (`mentor_role`; None: it is the communicator
    themselves). Anyone else is told there is no such communicator: it is not
    confirmed that they exist."""
    communicator = _communicator(session, communicator_id)
    if actor.id == communicator.id and actor.is_(COMMUNICATOR):
        return communicator, None
    role = mentor_role(actor, communicator, clubs)
    if role is not None:
        return communicator, role
    actor.require(COMMUNICATOR, ADMIN, COORDINATOR)  # finance: refused as such
    raise CommunicatorNotFound(
        "no such communicator among those you mentor (a coordinator mentors the "
        "members of their club)"
    )


def _strategist(session: Session, actor: Actor) -> Communicator:
    actor.require(COMMUNICATOR)
    communicator = _communicator(session, actor.id)
    if communicator.status != "active":
        raise NotAllowed(
            f"only an active communicator keeps a strategy (yours is "
            f"{communicator.status})",
            "not_active",
        )
    if communicator.tier != STRATEGY_TIER:
        raise NotAllowed(
            "a communication strategy is for professional communicators; ask your "
            "club's coordinator about the professional programme",
            "strategy_professional_only",
        )
    return communicator


# -- reading -----------------------------------------------------------
def strategy_of(
    session: Session, communicator_id: uuid.UUID, lock: bool = False
) -> Strategy | None:
    query = select(Strategy).where(Strategy.communicator_id == communicator_id)
    found: Strategy | None = session.scalar(query.with_for_update() if lock else query)
    return found


def versions_of(session: Session, strategy_id: uuid.UUID) -> list[StrategyVersion]:
    return list(
        session.scalars(
            select(StrategyVersion)
            .where(StrategyVersion.strategy_id == strategy_id)
            .order_by(StrategyVersion.number)
        )
    )


def _latest_shared(communicator_id: uuid.UUID) -> Select[tuple[StrategyVersion]]:
    return (
        select(StrategyVersion)
        .join(Strategy, Strategy.id == StrategyVersion.strategy_id)
        .where(
            Strategy.communicator_id == communicator_id,
            StrategyVersion.status == "shared",
        )
        .order_by(StrategyVersion.number.desc())
        .limit(1)
    )


def current_shared(
    session: Session, communicator_id: uuid.UUID
) -> StrategyVersion | None:
    """The latest version a communicator has shared: what a report is written
    against."""
    found: StrategyVersion | None = session.scalar(_latest_shared(communicator_id))
    return found


def current_shared_id(communicator_id: uuid.UUID) -> ScalarSelect[uuid.UUID]:
    """The id of `current_shared`'s version (NULL: none), as a subquery, for a
    query that reads it beside what it already reads."""
    return (
        _latest_shared(communicator_id)
        .with_only_columns(StrategyVersion.id)
        .scalar_subquery()
    )


def _version_view(version: StrategyVersion) -> dict[str, Any]:
    return {
        "id": version.id,
        "number": version.number,
        "status": version.status,
        "audiences": version.audiences,
        "channels": version.channels,
        "topics": version.topics,
        "approaches": version.approaches,
        "expected_change": version.expected_change,
        "horizon_months": version.horizon_months,
        "note": version.note,
        "redactions": version.redactions,
        "created_at": version.created_at,
        "shared_at": version.shared_at,
    }


def message_view(message: StrategyComment | ReportFeedback) -> dict[str, Any]:
    """A word of a strategy's or a report's thread, as the pages show it."""
    return {
        "id": message.id,
        "by_mentor": message.by_mentor,
        "mentor_role": message.mentor_role,
        "author_id": message.author_id,
        "body": message.body,
        "created_at": message.created_at,
    }


def _waiting(versions: list[StrategyVersion], comments: list[StrategyComment]) -> bool:
    """Shared and no mentor has commented on the latest shared version yet."""
    shared = [v for v in versions if v.status == "shared"]
    if not shared:
        return False
    latest = shared[-1].number
    return not any(c.by_mentor and c.version_number == latest for c in comments)


def strategy_view(
    session: Session,
    actor: Actor,
    communicator_id: uuid.UUID,
    clubs: Collection[uuid.UUID] = (),
) -> dict[str, Any]:
    """A communicator's strategy, every version and the discussion, for the
    communicator or a mentor (who never sees an unshared draft). `strategy` is None
    while there is none (or, for a mentor, while nothing is shared)."""
    communicator, role = seen_by(session, actor, communicator_id, clubs)
    as_mentor = role is not None
    view: dict[str, Any] = {
        "communicator_id": communicator.id,
        "pseudonym": communicator.pseudonym,
        "tier": communicator.tier,
        "mentor": as_mentor,
        "strategy": None,
    }
    strategy = strategy_of(session, communicator.id)
    if strategy is None:
        return view
    versions = versions_of(session, strategy.id)
    if as_mentor:
        versions = [v for v in versions if v.status == "shared"]
        if not versions:
            return view
    comments = list(
        session.scalars(
            select(StrategyComment)
            .where(StrategyComment.strategy_id == strategy.id)
            .order_by(StrategyComment.created_at, StrategyComment.id)
        )
    )
    by_version: dict[int, list[dict[str, Any]]] = {}
    for comment in comments:
        by_version.setdefault(comment.version_number, []).append(message_view(comment))
    view["strategy"] = {
        "id": strategy.id,
        "waiting_for_mentor": _waiting(versions, comments),
        "versions": [
            {**_version_view(v), "comments": by_version.get(v.number, [])}
            for v in reversed(versions)  # newest first
        ],
    }
    return view


def strategies_to_mentor(
    session: Session,
    actor: Actor,
    clubs: Collection[uuid.UUID],
    waiting_only: bool = False,
) -> list[dict[str, Any]]:
    """The shared strategies of the communicators `actor` mentors (an admin: all;
    a coordinator: their clubs' members), the ones waiting for a comment first.
    Pseudonyms and dates only: the content is on the strategy's page."""
    actor.require(ADMIN, COORDINATOR)
    query = (
        select(Strategy, Communicator)
        .join(Communicator, Communicator.id == Strategy.communicator_id)
        .where(Communicator.erased.is_(False), Communicator.id != actor.id)
    )
    if not actor.is_(ADMIN):
        if not clubs:
            return []
        query = query.where(Communicator.club_id.in_(list(clubs)))
    rows = session.execute(query).all()
    ids = [strategy.id for strategy, _ in rows]
    shared: dict[uuid.UUID, list[StrategyVersion]] = {}
    for version in session.scalars(
        select(StrategyVersion)
        .where(StrategyVersion.strategy_id.in_(ids), StrategyVersion.status == "shared")
        .order_by(StrategyVersion.number)
    ):
        shared.setdefault(version.strategy_id, []).append(version)
    discussed: dict[uuid.UUID, list[StrategyComment]] = {}
    for said in session.scalars(
        select(StrategyComment).where(
            StrategyComment.strategy_id.in_(ids), StrategyComment.by_mentor
        )
    ):
        discussed.setdefault(said.strategy_id, []).append(said)
    found = []
    for strategy, communicator in rows:  # three queries, however many
        versions = shared.get(strategy.id, [])
        if not versions:
            continue
        comments = discussed.get(strategy.id, [])
        waiting = _waiting(versions, comments)
        if waiting_only and not waiting:
            continue
        found.append(
            {
                "communicator_id": communicator.id,
                "pseudonym": communicator.pseudonym,
                "version": versions[-1].number,
                "shared_at": versions[-1].shared_at,
                "waiting_for_mentor": waiting,
            }
        )
    return sorted(
        found,
        key=lambda s: (not s["waiting_for_mentor"], s["shared_at"]),
    )


# -- the communicator's steps ----------------------------------------------------------
def _fill(version: StrategyVersion, content: dict[str, Any]) -> list[str]:
    note = redact(content["note"])
    expected = redact(content["expected_change"])
    topics = [redact(t) for t in content["topics"]]
    version.audiences = sorted(set(content["audiences"]))
    version.channels = sorted(set(content["channels"]))
    version.approaches = sorted(set(content["approaches"]))
    version.topics = [t.text for t in topics]
    version.expected_change = expected.text
    version.horizon_months = content["horizon_months"]
    version.note = note.text
    kinds = set(note.kinds) | set(expected.kinds)
    kinds = kinds.union(*(t.kinds for t in topics))
    version.redactions = sorted(kinds | set(version.redactions or []))
    return sorted(kinds)


def save_strategy(
    session: Session, actor: Actor, content: dict[str, Any]
) -> SavedVersion:
    """Write the strategy's draft: the first version, the draft being edited, or,
    when the latest version is shared, a new version (a revision)."""
    communicator = _strategist(session, actor)
    strategy = strategy_of(session, communicator.id, lock=True)
    if strategy is None:
        strategy = Strategy(id=uuid.uuid4(), communicator_id=communicator.id)
        session.add(strategy)
        session.flush()
    versions = versions_of(session, strategy.id)
    if versions and versions[-1].status == "draft":
        version = versions[-1]
    else:
        version = StrategyVersion(
            id=uuid.uuid4(),
            strategy_id=strategy.id,
            number=(versions[-1].number + 1) if versions else 1,
            status="draft",
            redactions=[],
        )
        session.add(version)
    removed = _fill(version, content)
    session.flush()
    return SavedVersion(version, removed)


def share_strategy(session: Session, actor: Actor, now: datetime) -> StrategyVersion:
    """Share the draft with the mentor: from now on this version never changes."""
    communicator = _strategist(session, actor)
    strategy = strategy_of(session, communicator.id, lock=True)
    versions = versions_of(session, strategy.id) if strategy else []
    if not versions or versions[-1].status != "draft":
        raise InvalidTransition(
            "there is no draft to share: write or revise your strategy first",
            "strategy_no_draft",
        )
    versions[-1].share(now)
    outbox.add(  # the mentors hear of it (ids only)
        session,
        events.STRATEGY_SHARED.build(
            events.strategy_aggregate(versions[-1].strategy_id),
            strategy_id=versions[-1].strategy_id,
            communicator_id=communicator.id,
            version=versions[-1].number,
        ),
    )
    return versions[-1]


def cleaned_text(body: str, field: str) -> tuple[str, list[str]]:
    """A thread's word redacted, and the kinds removed; refused when nothing is
    left to say."""
    cleaned = redact(body.strip())
    if not cleaned.text.strip():
        raise InvalidRequest(
            "write something first", "text_required", {field: ["required"]}
        )
    return cleaned.text, cleaned.kinds


def comment_on_strategy(
    session: Session,
    actor: Actor,
    communicator_id: uuid.UUID,
    body: str,
    clubs: Collection[uuid.UUID] = (),
) -> tuple[StrategyComment, list[str]]:
    """A mentor's comment, or the communicator's answer, on the latest shared
    version."""
    communicator, role = seen_by(session, actor, communicator_id, clubs)
    as_mentor = role is not None
    shared = current_shared(session, communicator.id)
    if shared is None:
        raise InvalidTransition(
            "nothing is shared yet: a strategy is discussed once its author shares it",
            "strategy_not_shared",
        )
    text, kinds = cleaned_text(body, "body")
    comment = StrategyComment(
        id=uuid.uuid4(),
        strategy_id=shared.strategy_id,
        version_number=shared.number,
        author_id=actor.id,
        by_mentor=as_mentor,
        mentor_role=role,
        body=text,
    )
    session.add(comment)
    session.flush()
    outbox.add(  # the other side hears of it (ids only)
        session,
        events.STRATEGY_COMMENTED.build(
            events.strategy_aggregate(comment.strategy_id),
            strategy_id=comment.strategy_id,
            communicator_id=communicator.id,
            comment_id=comment.id,
            version=comment.version_number,
            by_mentor=as_mentor,
            admin_mentors=admins_to_tell(
                session,
                StrategyComment,
                StrategyComment.strategy_id,
                shared.strategy_id,
                as_mentor,
            ),
        ),
    )
    return comment, kinds


def admins_to_tell(
    session: Session, model: Any, thread: Any, thread_id: uuid.UUID, by_mentor: bool
) -> list[uuid.UUID]:
    """Whom an event names to be told of a word on a thread, besides the club's
    coordinator the registry names (a member may have none): for an author's
    answer, the programme admins who wrote on the thread as mentors; for a
    mentor's own word, nobody (its author is told)."""
    if by_mentor:
        return []
    return sorted(
        session.scalars(
            select(model.author_id)
            .where(thread == thread_id, model.mentor_role == ADMIN)
            .distinct()
        )
    )


def erase_words(session: Session, communicator_id: uuid.UUID) -> None:
    """On erasure: the person's words go from their strategy (every version), its
    discussion and the feedback threads of their reports, whoever wrote them (a
    mentor's feedback quotes and describes the person's work). The structure stays:
    versions, kinds of audiences, channels, dates."""
    strategy = strategy_of(session, communicator_id)
    if strategy is not None:
        session.execute(
            update(StrategyVersion)
            .where(StrategyVersion.strategy_id == strategy.id)
            .values(note="", expected_change="", topics=[])
        )
        session.execute(
            update(StrategyComment)
            .where(StrategyComment.strategy_id == strategy.id)
            .values(body="")
        )
    session.execute(
        update(ReportFeedback)
        .where(
            ReportFeedback.report_id.in_(
                select(ActivityReport.id).where(
                    ActivityReport.communicator_id == communicator_id
                )
            )
        )
        .values(body="")
    )
