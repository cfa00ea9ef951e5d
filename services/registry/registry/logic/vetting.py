"""Vetting: applied → in_review → active | rejected; active ⇄ suspended; offboarded.

Every step is an admin's, with a reason, recorded in the insert-only
`vetting_decisions`. Activation needs one admin's approval when an active member
confirmed a vouch for the applicant (registry.logic.vouches) and two distinct
admins' otherwise, and waits until every dedup review item about the applicant is
resolved.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from registry import events
from registry.exceptions import (
    CommunicatorNotFound,
    InvalidTransition,
    NotAllowed,
    ReviewItemNotFound,
)
from registry.logic import vouches
from registry.logic.access import Sealed
from registry.logic.actors import Actor
from registry.models import (
    ActivationApproval,
    Club,
    Communicator,
    Corridor,
    ReviewItem,
    VettingDecision,
)
from svyaz import outbox
from svyaz.actors import ADMIN
from svyaz.crypto import KeyRing


def _club_country(session: Session, club_id: uuid.UUID | None) -> str | None:
    """The country of a club (public, shared by its members), never a person's."""
    club = session.get(Club, club_id) if club_id else None
    return club.country if club is not None else None


def get(
    session: Session, communicator_id: uuid.UUID, lock: bool = False
) -> Communicator:
    query = select(Communicator).where(Communicator.id == communicator_id)
    communicator = session.scalar(query.with_for_update() if lock else query)
    if communicator is None or communicator.erased:
        raise CommunicatorNotFound("no such communicator")
    return communicator


def _decide(
    session: Session, actor: Actor, communicator: Communicator, to: str, reason: str
) -> None:
    before = communicator.status
    communicator.move_to(to)
    session.add(
        VettingDecision(
            communicator_id=communicator.id,
            actor_id=actor.id,
            from_status=before,
            to_status=to,
            reason=reason,
        )
    )


def open_review_items(
    session: Session, kind: str, communicator_id: uuid.UUID, others: list[uuid.UUID]
) -> None:
    for other in others:
        session.add(
            ReviewItem(
                id=uuid.uuid4(),
                kind=kind,
                communicator_id=communicator_id,
                other_id=other,
                status="open",
            )
        )


def open_items_about(session: Session, communicator_id: uuid.UUID) -> list[ReviewItem]:
    return list(
        session.scalars(
            select(ReviewItem).where(
                ReviewItem.status == "open",
                or_(
                    ReviewItem.communicator_id == communicator_id,
                    ReviewItem.other_id == communicator_id,
                ),
            )
        )
    )


def start_review(
    session: Session, actor: Actor, communicator_id: uuid.UUID, reason: str
) -> Communicator:
    actor.require(ADMIN)
    communicator = get(session, communicator_id, lock=True)
    _decide(session, actor, communicator, "in_review", reason)
    return communicator


def approve(
    session: Session,
    keys: KeyRing,
    actor: Actor,
    communicator_id: uuid.UUID,
    reason: str,
) -> Communicator:
    """Fill one approval slot; the last slot activates the communicator."""
    actor.require(ADMIN)
    communicator = get(session, communicator_id, lock=True)
    if communicator.status != "in_review":
        raise InvalidTransition(
            f"only an application in review can be approved (it is "
            f"{communicator.status})",
            "not_in_review",
        )
    if actor.id == communicator.id:
        raise NotAllowed("nobody approves their own application", "own_application")
    pending = open_items_about(session, communicator.id)
    if pending:
        raise InvalidTransition(
            f"resolve the {len(pending)} open review item(s) about this applicant "
            "first",
            "open_review_items",
        )
    now = datetime.now(UTC)
    needed = communicator.approvals_needed(
        vouches.counts(session, communicator.id, now)
    )
    given = _approvals_given(session, communicator.id)
    already = session.get(ActivationApproval, (communicator.id, actor.id)) is not None
    # an admin who approved before the vouch was confirmed finishes the activation
    if already and given < needed:
        raise NotAllowed(
            "you have approved this application already; another "
            "admin must fill the next slot",
            "second_slot",
        )
    if not already:
        session.add(
            ActivationApproval(
                communicator_id=communicator.id, admin_id=actor.id, reason=reason
            )
        )
        session.flush()
        given += 1
    if given >= needed:
        _decide(session, actor, communicator, "active", reason)
        communicator.activated_at = now
        outbox.add(
            session,
            events.COMMUNICATOR_ACTIVATED.build(
                events.aggregate(communicator.id),
                communicator_id=communicator.id,
                pseudonym=communicator.pseudonym,
                club_id=communicator.club_id,
                club_country=_club_country(session, communicator.club_id),
            ),
        )
        country = Sealed(session, keys, communicator).open(
            "country", "registry", "payout routing at activation"
        )
        corridor = session.get(Corridor, country)
        if corridor is not None:
            outbox.add(
                session,
                events.COMMUNICATOR_PAYOUT_SETUP_NEEDED.build(
                    events.aggregate(communicator.id),
                    communicator_id=communicator.id,
                    provider=corridor.provider,
                ),
            )
    return communicator


def _approvals_given(session: Session, communicator_id: uuid.UUID) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(ActivationApproval)
            .where(ActivationApproval.communicator_id == communicator_id)
        )
        or 0
    )


def _decided(
    session: Session,
    actor: Actor,
    communicator_id: uuid.UUID,
    reason: str,
    status: str,
    event: Any,
    only_from: str | None = None,
) -> Communicator:
    """An admin's decision that moves a communicator to `status` and tells the
    bus with `event` (ids only)."""
    actor.require(ADMIN)
    communicator = get(session, communicator_id, lock=True)
    if only_from is not None and communicator.status != only_from:
        raise InvalidTransition(
            "only a suspended communicator can be reinstated", "not_suspended"
        )
    _decide(session, actor, communicator, status, reason)
    outbox.add(
        session,
        event.build(events.aggregate(communicator.id), communicator_id=communicator.id),
    )
    return communicator


Decision = Callable[[Session, Actor, uuid.UUID, str], Communicator]


def _decision(status: str, event: Any, only_from: str | None = None) -> Decision:
    """The use case of one admin decision: `(session, actor, communicator_id,
    reason)`, moving the communicator to `status` and telling the bus (`_decided`)."""

    def decide(
        session: Session, actor: Actor, communicator_id: uuid.UUID, reason: str
    ) -> Communicator:
        return _decided(
            session, actor, communicator_id, reason, status, event, only_from
        )

    return decide


reject = _decision("rejected", events.COMMUNICATOR_REJECTED)
suspend = _decision("suspended", events.COMMUNICATOR_SUSPENDED)
reinstate = _decision("active", events.COMMUNICATOR_REINSTATED, only_from="suspended")
offboard = _decision("offboarded", events.COMMUNICATOR_OFFBOARDED)


def list_review_items(session: Session, actor: Actor) -> list[dict[str, Any]]:
    actor.require(ADMIN)
    items = session.scalars(
        select(ReviewItem)
        .where(ReviewItem.status == "open")
        .order_by(ReviewItem.opened_at)
    )
    pseudonyms: dict[uuid.UUID, str] = dict(
        session.execute(
            select(Communicator.id, Communicator.pseudonym).where(
                Communicator.id.in_(
                    select(ReviewItem.communicator_id).union(
                        select(ReviewItem.other_id)
                    )
                )
            )
        ).all()
    )
    return [
        {
            "id": item.id,
            "kind": item.kind,
            "communicator": pseudonyms.get(item.communicator_id),
            "other": pseudonyms.get(item.other_id),
            "status": item.status,
        }
        for item in items
    ]


def resolve_review_item(
    session: Session, actor: Actor, item_id: uuid.UUID, outcome: str, note: str
) -> ReviewItem:
    actor.require(ADMIN)
    item = session.get(ReviewItem, item_id, with_for_update=True)
    if item is None:
        raise ReviewItemNotFound("no such review item")
    item.resolve(outcome, actor.id, note, datetime.now(UTC))
    return item


def approval_progress(session: Session, communicator: Communicator) -> dict[str, int]:
    """How many admins approved the activation, and how many it needs (the vouch
    decides: a vouched applicant needs fewer)."""
    given = session.scalar(
        select(func.count()).where(
            ActivationApproval.communicator_id == communicator.id
        )
    )
    needed = communicator.approvals_needed(
        vouches.counts(session, communicator.id, datetime.now(UTC))
    )
    return {"approvals_given": int(given or 0), "approvals_needed": needed}


def application_view(
    session: Session, keys: KeyRing, actor: Actor, communicator_id: uuid.UUID
) -> dict[str, Any]:
    """What an admin sees to vet an application; every personal field read is logged."""
    actor.require(ADMIN)
    communicator = get(session, communicator_id)
    sealed = Sealed(session, keys, communicator)
    purpose = "vetting"
    now = datetime.now(UTC)
    approvals = session.scalars(
        select(ActivationApproval.admin_id).where(
            ActivationApproval.communicator_id == communicator.id
        )
    )
    return {
        "id": communicator.id,
        "pseudonym": communicator.pseudonym,
        "status": communicator.status,
        "tier": communicator.tier,
        "club_id": communicator.club_id,
        "vouch": vouches.admin_view(session, communicator.id, now),
        "approvals_needed": approval_progress(session, communicator)[
            "approvals_needed"
        ],
        "approved_by": [str(a) for a in approvals],
        "open_review_items": [
            {"id": item.id, "kind": item.kind}
            for item in open_items_about(session, communicator.id)
        ],
        "legal_name": sealed.open("legal_name", actor.label, purpose),
        "country": sealed.open("country", actor.label, purpose),
        "city": sealed.open("city", actor.label, purpose),
        "languages": sealed.open("languages", actor.label, purpose),
        "motivation": sealed.open("motivation", actor.label, purpose),
    }
