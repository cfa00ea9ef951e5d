"""Vouching: an applicant names an active member who knows them; the member confirms
or declines in their own console, and only a confirmed vouch lowers the approvals
the application needs (one admin instead of two).

The applicant is never told whether the name they gave belongs to an active member:
the application's answer is the same, and the applicant never sees the request. The
member sees what they need to recognise the applicant and nothing more: the
pseudonym the applicant chose and the city they gave (each read of the city is in
the access log), never a name, email, phone or messenger.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry import events, pseudonyms
from registry.exceptions import InvalidTransition, NotAllowed, VouchNotFound
from registry.logic.access import Sealed
from registry.logic.actors import Actor
from registry.models import Communicator, Vouch
from svyaz import outbox
from svyaz.crypto import KeyRing

# At most this many requests wait on one member at a time; more are not recorded
# (the applicants are told nothing different), so nobody floods a member.
MAX_PENDING = 10
UNDECIDED = ("applied", "in_review")
PURPOSE = "vouch request"


def request(
    session: Session, applicant: Communicator, referral: str, now: datetime
) -> Vouch | None:
    """Record a pending request if `referral` is an active member's pseudonym;
    otherwise record nothing, and say nothing different."""
    voucher = session.scalar(
        select(Communicator).where(
            Communicator.pseudonym_key == pseudonyms.key(referral),
            Communicator.status == "active",
            Communicator.erased_at.is_(None),
        )
    )
    if voucher is None or voucher.id == applicant.id:
        return None
    # counted as the member sees them: requests from applications already decided
    # (rejected spam) do not keep real applicants' requests out
    if pending_count(session, voucher.id, now) >= MAX_PENDING:
        return None
    vouch = Vouch.request(applicant.id, voucher.id, now)
    session.add(vouch)
    outbox.add(
        session,
        events.VOUCH_REQUESTED.build(
            events.aggregate(applicant.id), vouch_id=vouch.id, voucher_id=voucher.id
        ),
    )
    return vouch


def of_applicant(session: Session, applicant_id: uuid.UUID) -> Vouch | None:
    return session.scalar(select(Vouch).where(Vouch.applicant_id == applicant_id))


def counts(session: Session, applicant_id: uuid.UUID, now: datetime) -> bool:
    """A confirmed vouch by a member who is still active."""
    vouch = of_applicant(session, applicant_id)
    if vouch is None or not vouch.counts(now):
        return False
    voucher = session.get(Communicator, vouch.voucher_id)
    return voucher is not None and voucher.status == "active" and not voucher.erased


def admin_view(session: Session, applicant_id: uuid.UUID, now: datetime) -> Any:
    """The vouch as an admin reviewing the application sees it, or None."""
    vouch = of_applicant(session, applicant_id)
    if vouch is None:
        return None
    voucher = session.get(Communicator, vouch.voucher_id)
    return {
        "voucher": voucher.pseudonym if voucher else None,
        "voucher_status": voucher.status if voucher else None,
        "state": vouch.state(now),
        "requested_at": vouch.requested_at.isoformat(),
        "expires_at": vouch.expires_at.isoformat(),
        "decided_at": vouch.decided_at.isoformat() if vouch.decided_at else None,
        "counts": counts(session, applicant_id, now),
    }


def _own(session: Session, actor: Actor) -> Communicator:
    actor.require("communicator")
    me = session.get(Communicator, actor.id)
    if me is None or me.erased:
        raise NotAllowed("only a member can answer vouch requests", "not_a_member")
    return me


def list_requests(
    session: Session, keys: KeyRing, actor: Actor, now: datetime
) -> list[dict[str, Any]]:
    """The requests naming the actor whose applications are not yet decided, oldest
    first. A pending one shows the applicant's city (the read is logged); an
    answered or expired one only the pseudonym."""
    me = _own(session, actor)
    rows = session.execute(
        select(Vouch, Communicator)
        .join(Communicator, Communicator.id == Vouch.applicant_id)
        .where(
            Vouch.voucher_id == me.id,
            Communicator.status.in_(UNDECIDED),
            Communicator.erased_at.is_(None),
        )
        .order_by(Vouch.requested_at, Vouch.id)
    ).all()
    found = []
    for vouch, applicant in rows:
        state = vouch.state(now)
        city = None
        if state == "pending":
            city = Sealed(session, keys, applicant).open("city", actor.label, PURPOSE)
        found.append(
            {
                "id": vouch.id,
                "applicant": applicant.pseudonym,
                "city": city,
                "state": state,
                "requested_at": vouch.requested_at,
                "expires_at": vouch.expires_at,
                "decided_at": vouch.decided_at,
                "can_answer": state == "pending" and me.status == "active",
            }
        )
    return found


def pending_count(session: Session, voucher_id: uuid.UUID, now: datetime) -> int:
    """How many requests wait on this member (no personal data, nothing logged)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Vouch)
            .join(Communicator, Communicator.id == Vouch.applicant_id)
            .where(
                Vouch.voucher_id == voucher_id,
                Vouch.status == "pending",
                Vouch.expires_at > now,
                Communicator.status.in_(UNDECIDED),
                Communicator.erased_at.is_(None),
            )
        )
        or 0
    )


def answer(
    session: Session, actor: Actor, vouch_id: uuid.UUID, confirm: bool, now: datetime
) -> Vouch:
    """The member named confirms or declines, once. Anyone else (the applicant
    too) is told that there is no such request."""
    me = _own(session, actor)
    vouch = session.get(Vouch, vouch_id, with_for_update=True)
    if vouch is None or vouch.voucher_id != me.id:
        raise VouchNotFound("no such vouch request", "vouch_not_found")
    if me.status != "active":
        raise NotAllowed("only an active member can vouch", "voucher_not_active")
    applicant = session.get(Communicator, vouch.applicant_id)
    if applicant is None or applicant.erased or applicant.status not in UNDECIDED:
        raise InvalidTransition(
            "this application is already decided", "application_decided"
        )
    # no event: nobody else acts on an answer (admins read the vouch's state on the
    # application), and an event no queue takes would wait in the outbox for ever
    vouch.decide(confirm, now)
    return vouch


def forget(session: Session, communicator_id: uuid.UUID) -> None:
    """Erasure: every vouch naming the person, as applicant or as voucher, goes."""
    for vouch in session.scalars(
        select(Vouch).where(
            (Vouch.applicant_id == communicator_id)
            | (Vouch.voucher_id == communicator_id)
        )
    ):
        session.delete(vouch)
