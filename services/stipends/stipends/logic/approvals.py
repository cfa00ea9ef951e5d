"""Segregated approval of stipends, in code and with no switch to turn it off:

- the programme's amount bands decide how many distinct approvers a stipend needs;
- the proposer never approves, nor does the payee;
- one person never fills two slots of the same stipend;
- an approval binds to a digest of the stipend, payee, payout destination and amount
  that the approver saw; a change to any of them voids it;
- the last approval reserves the budget in the ledger; a stipend the remaining
  budget does not cover is refused, and the message says what remains;
- two admins filling the same slot at once: the stipend's version column (and a
  unique slot index) let one of them through and tell the other to reload.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from stipends import events
from stipends.exceptions import (
    CommunicatorNotFound,
    ConcurrentChange,
    InvalidRequest,
    InvalidTransition,
    NotAllowed,
    OverBudget,
    StipendNotFound,
    StipendsError,
)
from stipends.logic import ledger
from stipends.logic.actors import ADMIN, Actor
from stipends.logic.entitlement import money, shared_destinations
from stipends.logic.programmes import get_cycle, get_programme
from stipends.models import Approval, Communicator, Stipend, StipendAmendment
from svyaz import outbox

log = logging.getLogger(__name__)


def get_stipend(session: Session, stipend_id: uuid.UUID) -> Stipend:
    found = session.get(Stipend, stipend_id)
    if found is None:
        raise StipendNotFound("no such stipend")
    return found


def payee_of(session: Session, stipend: Stipend) -> Communicator:
    communicator = session.get(Communicator, stipend.communicator_id)
    if communicator is None:
        raise CommunicatorNotFound("the payee is unknown")
    return communicator


def digest(stipend: Stipend, payee: Communicator) -> str:
    """What an approval binds to. The destination is the registry's fingerprint of
    the payout account, never the account details themselves."""
    material = "|".join(
        [
            str(stipend.id),
            str(payee.id),
            payee.payout_provider or "-",
            payee.destination_fingerprint or "-",
            str(stipend.amount_minor),
            stipend.currency,
        ]
    )
    return hashlib.sha256(material.encode()).hexdigest()


def active_approvals(session: Session, stipend_id: uuid.UUID) -> list[Approval]:
    return list(
        session.scalars(
            select(Approval)
            .where(Approval.stipend_id == stipend_id, Approval.voided_at.is_(None))
            .order_by(Approval.slot)
        )
    )


def _void(approvals: list[Approval], reason: str) -> int:
    now = datetime.now(UTC)
    for approval in approvals:
        approval.voided_at = now
        approval.void_reason = reason
    return len(approvals)


def _flush(session: Session) -> None:
    try:
        session.flush()
    except (StaleDataError, IntegrityError):
        raise ConcurrentChange(
            "another admin changed this stipend at the same moment; reload it and "
            "decide again",
            "concurrent_change",
        ) from None


def _announce_proposed(session: Session, stipend: Stipend) -> None:
    outbox.add(session, events.stipend_amount(events.STIPEND_PROPOSED, stipend))


def _require_decidable(session: Session, stipend: Stipend) -> None:
    cycle = get_cycle(session, stipend.cycle_id)
    if cycle.status == "locked":
        raise InvalidTransition(
            "the cycle is locked: its stipends no longer change", "cycle_locked"
        )


@dataclass(frozen=True)
class Approved:
    stipend: Stipend
    approval: Approval
    remaining_budget_minor: int


def approve_stipend(
    session: Session, actor: Actor, stipend_id: uuid.UUID, seen_digest: str
) -> Approved:
    """Fill the next approval slot with `actor`; the last slot reserves the budget."""
    actor.require(ADMIN)
    stipend = get_stipend(session, stipend_id)
    stipend.require_proposed()
    _require_decidable(session, stipend)
    if actor.id == stipend.proposed_by:
        raise NotAllowed("the proposer of a stipend never approves it", "own_proposal")
    if actor.id == stipend.communicator_id:
        raise NotAllowed("nobody approves their own stipend", "own_stipend")
    payee = payee_of(session, stipend)
    if payee.status != "active" or payee.erased:
        raise InvalidTransition(
            f"the payee is not active (status {payee.status}); reject the stipend or "
            "wait for reinstatement",
            "payee_not_active",
        )
    if not (payee.payout_ready and payee.destination_fingerprint):
        raise InvalidTransition(
            "the payee has no payout destination set up", "payee_not_ready"
        )
    current = digest(stipend, payee)
    if seen_digest != current:
        raise InvalidTransition(
            "the payee, destination or amount changed since you looked; review the "
            "stipend again",
            "payee_changed",
        )
    standing = active_approvals(session, stipend.id)
    stale = [a for a in standing if a.bound_hash != current]
    if stale:
        _void(stale, "payee, destination or amount changed")
        standing = [a for a in standing if a.bound_hash == current]
    if any(a.approver_id == actor.id for a in standing):
        raise NotAllowed(
            "you fill a slot of this stipend already; another admin must fill the "
            "next one",
            "second_slot",
        )
    programme = get_programme(session, stipend.programme_id, lock=True)
    remaining = ledger.available(session, programme.id)
    if stipend.amount_minor > remaining:
        raise OverBudget(
            f"the stipend of {money(stipend.amount_minor, stipend.currency)} would "
            f"overrun the budget: {money(remaining, programme.currency)} remains",
            "over_budget",
            {"remaining_minor": [str(remaining)]},
        )
    approval = Approval(
        id=uuid.uuid4(),
        stipend_id=stipend.id,
        approver_id=actor.id,
        slot=len(standing) + 1,
        bound_hash=current,
    )
    session.add(approval)
    stipend.approvals_given = approval.slot
    if approval.slot >= stipend.approvals_needed:
        stipend.status = "approved"
        stipend.decided_at = datetime.now(UTC)
        _flush(session)
        ledger.reserve(
            session,
            programme.id,
            stipend.id,
            stipend.currency,
            stipend.amount_minor,
            actor.id,
        )
        remaining -= stipend.amount_minor
        outbox.add(session, events.stipend_amount(events.STIPEND_APPROVED, stipend))
    _flush(session)
    log.info(
        "stipend %s: slot %s of %s filled (%s)",
        stipend.id,
        approval.slot,
        stipend.approvals_needed,
        stipend.status,
    )
    return Approved(stipend, approval, remaining)


def committed(session: Session, stipend_id: uuid.UUID) -> bool:
    """Whether the stipend is committed for payment (in a payout run): from then on
    it is not rejected; finance cancels its payout instead, if it is not paid."""
    return ledger.open_entry(session, stipend_id, "commitment") is not None


def reject_stipend(
    session: Session, actor: Actor, stipend_id: uuid.UUID, reason: str
) -> Stipend:
    """Turn a stipend down, before or after approval; a reservation is reversed."""
    actor.require(ADMIN)
    if not reason.strip():
        raise InvalidRequest(
            "say why the stipend is rejected", "reason_required", {"reason": ["empty"]}
        )
    stipend = get_stipend(session, stipend_id)
    if stipend.status not in ("proposed", "approved"):
        raise InvalidTransition(
            f"the stipend is {stipend.status} already", f"stipend_{stipend.status}"
        )
    _require_decidable(session, stipend)
    if actor.id == stipend.communicator_id:
        raise NotAllowed("nobody decides their own stipend", "own_stipend")
    if stipend.status == "approved":
        get_programme(session, stipend.programme_id, lock=True)
        if committed(session, stipend.id):
            raise InvalidTransition(
                "the stipend is committed for payment and can no longer be rejected",
                "committed",
            )
        ledger.release(session, stipend.id, "stipend rejected after approval", actor.id)
    _void(active_approvals(session, stipend.id), "stipend rejected")
    stipend.status = "rejected"
    stipend.rejection_reason = reason.strip()
    stipend.rejected_by = actor.id
    stipend.decided_at = datetime.now(UTC)
    _flush(session)
    outbox.add(
        session,
        events.STIPEND_REJECTED.build(
            events.stipend_aggregate(stipend.id),
            stipend_id=stipend.id,
            communicator_id=stipend.communicator_id,
            cycle_id=stipend.cycle_id,
        ),
    )
    return stipend


# an amendment's line in a stipend's `reasons`: "amount changed from 250.00 EUR to
# 300.00 EUR: <the admin's words>" (the words are erased with the person)
AMENDED = "amount changed from "


def amendment_words_erased(line: str, erased: str) -> str:
    """`line` with an amendment's words replaced by `erased`; other lines as
    they are (the amounts stay: they are the financial record)."""
    if not line.startswith(AMENDED):
        return line
    head, sep, _ = line.partition(": ")
    return f"{head}: {erased}" if sep else line


def amend_stipend(
    session: Session,
    actor: Actor,
    stipend_id: uuid.UUID,
    amount_minor: int,
    reason: str,
) -> Stipend:
    """Change the amount of a stipend awaiting approval: standing approvals are void
    (their digest no longer matches), the bands are applied again, and the amending
    admin becomes its proposer, so cannot approve it."""
    actor.require(ADMIN)
    if amount_minor <= 0 or not reason.strip():
        raise InvalidRequest(
            "a positive amount and a reason are needed",
            "invalid_amendment",
            {"amount_minor": [">0"], "reason": ["required"]},
        )
    stipend = get_stipend(session, stipend_id)
    stipend.require_proposed()
    _require_decidable(session, stipend)
    if actor.id == stipend.communicator_id:
        raise NotAllowed("nobody decides their own stipend", "own_stipend")
    programme = get_programme(session, stipend.programme_id)
    _void(active_approvals(session, stipend.id), "amount changed")
    stipend.reasons = [
        *stipend.reasons,
        f"{AMENDED}{money(stipend.amount_minor, stipend.currency)} to "
        f"{money(amount_minor, stipend.currency)}: {reason.strip()}",
    ]
    session.add(
        StipendAmendment(
            stipend_id=stipend.id,
            amended_by=actor.id,
            amount_before_minor=stipend.amount_minor,
            amount_after_minor=amount_minor,
        )
    )
    stipend.amount_minor = amount_minor
    stipend.approvals_needed = programme.approvers_needed(amount_minor)
    stipend.approvals_given = 0
    stipend.proposed_by = actor.id
    _flush(session)
    _announce_proposed(session, stipend)
    return stipend


def payee_changed(session: Session, communicator: Communicator, why: str) -> int:
    """The payee's destination changed: every standing approval of their undecided or
    approved stipends is void; an approved one goes back to awaiting approval and
    its reservation is reversed. Returns how many stipends were affected."""
    affected = 0
    for stipend in session.scalars(
        select(Stipend).where(
            Stipend.communicator_id == communicator.id,
            Stipend.status.in_(("proposed", "approved")),
        )
    ):
        if ledger.open_entry(session, stipend.id, "commitment") is not None:
            continue  # in payment: the payout is checked against the destination
        current = digest(stipend, communicator)
        standing = active_approvals(session, stipend.id)
        stale = [a for a in standing if a.bound_hash != current]
        if not stale:
            continue
        affected += 1
        _void(stale, why)
        stipend.approvals_given = len(standing) - len(stale)
        log.warning("stipend %s: %s approval(s) void: %s", stipend.id, len(stale), why)
        if stipend.status == "approved":
            get_programme(session, stipend.programme_id, lock=True)
            ledger.release(session, stipend.id, f"approval void: {why}", None)
            stipend.status = "proposed"
            stipend.decided_at = None
            _announce_proposed(session, stipend)
    session.flush()
    return affected


def sees_staff(actor: Actor) -> bool:
    """Admins and finance see who proposed and who approved; a communicator sees
    their own stipend without any staff id."""
    return bool(actor.roles & {ADMIN, "finance"})


def stipend_view(
    session: Session, actor: Actor, stipend_id: uuid.UUID
) -> tuple[Stipend, str | None, list[Approval]]:
    """What an approver looks at: the stipend, the digest an approval would bind to
    (None while the payee has no destination), and every approval, void ones too.
    A communicator sees their own stipend without the digest and the approvers."""
    stipend = get_stipend(session, stipend_id)
    if not sees_staff(actor):
        if actor.id != stipend.communicator_id:
            raise StipendNotFound("no such stipend")
        return stipend, None, []
    payee = payee_of(session, stipend)
    current = digest(stipend, payee) if payee.destination_fingerprint else None
    every = list(
        session.scalars(
            select(Approval)
            .where(Approval.stipend_id == stipend.id)
            .order_by(Approval.approved_at)
        )
    )
    return stipend, current, every


def shared_with(session: Session, actor: Actor, stipend: Stipend) -> list[str]:
    """For staff, the pseudonyms of other communicators paid to the same account
    as the stipend's payee (`entitlement.shared_destinations`); for the payee
    themself, nothing of anyone else."""
    if not sees_staff(actor):
        return []
    payee = payee_of(session, stipend)
    return shared_destinations(session, [payee]).get(payee.id, [])


def list_stipends(
    session: Session, actor: Actor, cycle_id: uuid.UUID, status: str | None
) -> list[Stipend]:
    actor.require(ADMIN, "finance")
    query = select(Stipend).where(Stipend.cycle_id == cycle_id)
    if status:
        query = query.where(Stipend.status == status)
    return list(session.scalars(query.order_by(Stipend.created_at, Stipend.id)))


PAGE_LIMIT = 200


def stipends_page(
    session: Session,
    actor: Actor,
    cycle_id: uuid.UUID,
    offset: int,
    limit: int,
    status: str | None,
) -> dict[str, Any]:
    """One console page of a cycle's stipends in five statements whatever its size:
    the cycle, the counts by status, the page with each payee, the page's
    approvals, and who else is paid to the page's payees' destinations. Each item
    has the payee's pseudonym, the digest an approval would bind to (proposed
    stipends whose payee has a destination), every approval (void ones too),
    whether this actor holds a standing approval (`mine`), and the pseudonyms of
    other communicators paid to the same account (`shared_destination_with`)."""
    actor.require(ADMIN, "finance")
    if not (0 <= offset and 1 <= limit <= PAGE_LIMIT):
        raise InvalidRequest(
            f"offset is 0 or more and limit from 1 to {PAGE_LIMIT}",
            "invalid_page",
            {"limit": [f"1 to {PAGE_LIMIT}"], "offset": [">= 0"]},
        )
    cycle = get_cycle(session, cycle_id)
    counts = {
        found: int(n)
        for found, n in session.execute(
            select(Stipend.status, func.count())
            .where(Stipend.cycle_id == cycle.id)
            .group_by(Stipend.status)
        )
    }
    query = (
        select(Stipend, Communicator)
        .join(Communicator, Communicator.id == Stipend.communicator_id)
        .where(Stipend.cycle_id == cycle.id)
    )
    if status:
        query = query.where(Stipend.status == status)
    rows = session.execute(
        query.order_by(Stipend.created_at, Stipend.id).offset(offset).limit(limit)
    ).all()
    given: dict[uuid.UUID, list[Approval]] = {}
    if rows:
        for approval in session.scalars(
            select(Approval)
            .where(Approval.stipend_id.in_([s.id for s, _ in rows]))
            .order_by(Approval.approved_at, Approval.slot)
        ):
            given.setdefault(approval.stipend_id, []).append(approval)
    shared = shared_destinations(session, [payee for _, payee in rows])
    items = []
    for stipend, payee in rows:
        every = given.get(stipend.id, [])
        items.append(
            {
                "stipend": stipend,
                "pseudonym": payee.pseudonym,
                "digest": digest(stipend, payee)
                if stipend.status == "proposed" and payee.destination_fingerprint
                else None,
                "approvals": every,
                "mine": any(
                    a.approver_id == actor.id and a.voided_at is None for a in every
                ),
                "shared_destination_with": shared.get(payee.id, []),
            }
        )
    total = counts.get(status, 0) if status else sum(counts.values())
    return {"items": items, "total": total, "counts": counts}


@dataclass(frozen=True)
class Outcome:
    stipend_id: uuid.UUID
    outcome: str  # approved | refused
    slot: int | None
    code: str | None
    message: str | None
    pseudonym: str | None = None  # whose stipend, as the list names them


def approve_stipends(
    session: Session, actor: Actor, wanted: list[tuple[uuid.UUID, str]]
) -> list[Outcome]:
    """Approve many stipends, each exactly as `approve_stipend` would (digest, the
    segregation of duties, the budget) in its own savepoint: one refused leaves the
    others standing. Returns one outcome per item, in order, each naming the
    payee by pseudonym (None for a stipend not found or a person erased)."""
    actor.require(ADMIN)
    names: dict[uuid.UUID, str | None] = dict(
        session.execute(
            select(Stipend.id, Communicator.pseudonym)
            .join(Communicator, Communicator.id == Stipend.communicator_id)
            .where(Stipend.id.in_([stipend_id for stipend_id, _ in wanted]))
        ).all()
    )
    outcomes = []
    for stipend_id, seen in wanted:
        name = names.get(stipend_id)
        try:
            with session.begin_nested():
                done = approve_stipend(session, actor, stipend_id, seen)
        except StipendsError as exc:
            outcomes.append(
                Outcome(stipend_id, "refused", None, exc.code, exc.message, name)
            )
            continue
        outcomes.append(
            Outcome(stipend_id, "approved", done.approval.slot, None, None, name)
        )
    return outcomes
