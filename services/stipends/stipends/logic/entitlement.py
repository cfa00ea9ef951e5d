"""Closing a cycle: every communicator who reported in it, and every active one,
gets an entitlement with the reasons; the eligible ones a stipend proposal."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from stipends import events
from stipends.exceptions import InvalidTransition
from stipends.logic import ledger
from stipends.logic.actors import ADMIN, Actor
from stipends.logic.cycles import awaiting_review
from stipends.logic.programmes import get_cycle, get_programme, money
from stipends.models import (
    ActivityReport,
    Communicator,
    Cycle,
    Entitlement,
    Programme,
    Stipend,
)
from svyaz import outbox

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Finding:
    eligible: bool
    amount_minor: int
    reasons: list[str]


def assess(
    programme: Programme, communicator: Communicator, reports: list[ActivityReport]
) -> Finding:
    """The rules, pure: what this communicator is entitled to, and why (or why not)."""
    reasons: list[str] = []
    eligible = True
    if communicator.status == "active":
        reasons.append("status active")
    else:
        eligible = False
        reasons.append(f"not eligible: status is {communicator.status}, not active")
    if communicator.payout_ready and communicator.destination_fingerprint:
        reasons.append("payout destination set up")
    else:
        eligible = False
        reasons.append("not eligible: no payout destination set up yet")
    amount = int(programme.tier_amounts.get(communicator.tier, 0) or 0)
    if amount > 0:
        reasons.append(f"tier {communicator.tier}: {money(amount, programme.currency)}")
    else:
        eligible = False
        reasons.append(f"not eligible: the tier {communicator.tier} carries no stipend")
    if programme.training_required:
        if communicator.training_completed:
            reasons.append("training completed")
        else:
            eligible = False
            reasons.append("not eligible: training not completed")
    accepted = [r for r in reports if r.status == "accepted"]
    qualifying = [r for r in accepted if r.conversations >= programme.min_conversations]
    summary = (
        f"{len(qualifying)} accepted report(s) with at least "
        f"{programme.min_conversations} conversation(s); "
        f"{programme.min_accepted_reports} needed"
    )
    if len(qualifying) >= programme.min_accepted_reports:
        reasons.append(summary)
    else:
        eligible = False
        reasons.append(f"not eligible: {summary}")
    late = sum(1 for r in qualifying if r.late)
    if late:
        reasons.append(f"{late} of them submitted late")
    return Finding(eligible, amount if eligible else 0, reasons)


@dataclass(frozen=True)
class Closed:
    cycle: Cycle
    entitlements: list[Entitlement]


@dataclass(frozen=True)
class Proposal:
    """What closing the cycle finds for one communicator, before anything is written."""

    communicator: Communicator
    finding: Finding
    approvals_needed: int  # 0 when not eligible


def close_blockers(
    session: Session, cycle: Cycle, now: datetime
) -> list[InvalidTransition]:
    """Why the cycle cannot be closed now (empty when it can)."""
    found: list[InvalidTransition] = []
    if cycle.status != "open":
        found.append(
            InvalidTransition(
                f"the cycle is {cycle.status} already", f"cycle_{cycle.status}"
            )
        )
        return found
    if now <= cycle.deadline:
        found.append(
            InvalidTransition(
                "the cycle takes reports until its deadline; close it after that",
                "deadline_not_passed",
            )
        )
    pending = awaiting_review(session, cycle.id)
    if pending:
        found.append(
            InvalidTransition(
                f"review the {pending} submitted report(s) of this cycle first",
                "reports_awaiting_review",
            )
        )
    return found


def proposals(session: Session, cycle: Cycle, programme: Programme) -> list[Proposal]:
    """Every communicator who reported in the cycle, and every active one, assessed
    by the programme's rules. Reads only: `close_cycle` writes what this finds, and
    `preview_close` shows it."""
    reported = select(ActivityReport.communicator_id).where(
        ActivityReport.cycle_id == cycle.id, ActivityReport.status != "draft"
    )
    candidates = list(
        session.scalars(
            select(Communicator)
            .where(
                Communicator.erased.is_(False),
                or_(Communicator.status == "active", Communicator.id.in_(reported)),
            )
            .order_by(Communicator.id)
        )
    )
    by_author: dict[uuid.UUID, list[ActivityReport]] = {}
    for report in session.scalars(
        select(ActivityReport).where(ActivityReport.cycle_id == cycle.id)
    ):
        by_author.setdefault(report.communicator_id, []).append(report)
    found = []
    for communicator in candidates:
        finding = assess(programme, communicator, by_author.get(communicator.id, []))
        needed = (
            programme.approvers_needed(finding.amount_minor) if finding.eligible else 0
        )
        found.append(Proposal(communicator, finding, needed))
    return found


def close_cycle(
    session: Session, actor: Actor, cycle_id: uuid.UUID, now: datetime
) -> Closed:
    actor.require(ADMIN)
    cycle = get_cycle(session, cycle_id, lock=True)
    cycle.require_open()
    blockers = close_blockers(session, cycle, now)
    if blockers:
        raise blockers[0]
    programme = get_programme(session, cycle.programme_id)
    found: list[Entitlement] = []
    for proposal in proposals(session, cycle, programme):
        communicator, finding = proposal.communicator, proposal.finding
        entitlement = Entitlement(
            id=uuid.uuid4(),
            cycle_id=cycle.id,
            communicator_id=communicator.id,
            eligible=finding.eligible,
            amount_minor=finding.amount_minor,
            reasons=finding.reasons,
        )
        if finding.eligible:
            stipend = Stipend(
                id=uuid.uuid4(),
                programme_id=programme.id,
                cycle_id=cycle.id,
                communicator_id=communicator.id,
                amount_minor=finding.amount_minor,
                currency=programme.currency,
                reasons=finding.reasons,
                status="proposed",
                proposed_by=actor.id,
                approvals_needed=proposal.approvals_needed,
                approvals_given=0,
            )
            session.add(stipend)
            entitlement.stipend_id = stipend.id
            outbox.add(session, events.stipend_amount(events.STIPEND_PROPOSED, stipend))
        session.add(entitlement)
        found.append(entitlement)
    cycle.move_to("closed")
    cycle.closed_by = actor.id
    cycle.closed_at = now
    outbox.add(
        session,
        events.CYCLE_CLOSED.build(
            events.cycle_aggregate(cycle.id),
            cycle_id=cycle.id,
            programme_id=programme.id,
            proposed=sum(1 for e in found if e.eligible),
            closed_by=actor.id,
        ),
    )
    session.flush()
    log.info(
        "cycle %s closed: %s entitlement(s), %s proposal(s)",
        cycle.id,
        len(found),
        sum(1 for e in found if e.eligible),
    )
    return Closed(cycle, found)


def list_entitlements(
    session: Session, actor: Actor, cycle_id: uuid.UUID
) -> list[Entitlement]:
    actor.require(ADMIN, "finance")
    get_cycle(session, cycle_id)
    return list(
        session.scalars(
            select(Entitlement)
            .where(Entitlement.cycle_id == cycle_id)
            .order_by(Entitlement.communicator_id)
        )
    )


def shared_destinations(
    session: Session, payees: list[Communicator]
) -> dict[uuid.UUID, list[str]]:
    """For each of `payees` whose payout destination is also another communicator's
    (the same fingerprint: the same bank account or Stripe account), the others'
    pseudonyms, in one statement. The registry opens a possible duplicate for
    admins when it happens; the stipends' pages and the close preview say it where
    money is decided. Erased communicators are left out."""
    fingerprints = {
        p.destination_fingerprint for p in payees if p.destination_fingerprint
    }
    if not fingerprints:
        return {}
    holders: dict[str, list[Communicator]] = {}
    for other in session.scalars(
        select(Communicator)
        .where(
            Communicator.destination_fingerprint.in_(fingerprints),
            Communicator.erased.is_(False),
        )
        .order_by(Communicator.pseudonym, Communicator.id)
    ):
        holders.setdefault(str(other.destination_fingerprint), []).append(other)
    shared: dict[uuid.UUID, list[str]] = {}
    for payee in payees:
        others = [
            o.pseudonym or str(o.id)[:8]
            for o in holders.get(str(payee.destination_fingerprint), [])
            if o.id != payee.id
        ]
        if others:
            shared[payee.id] = others
    return shared


def preview_close(
    session: Session, actor: Actor, cycle_id: uuid.UUID, now: datetime
) -> dict[str, Any]:
    """What closing the cycle now would propose, and what stands in its way, without
    writing anything: the same `proposals` and `close_blockers` as `close_cycle`."""
    actor.require(ADMIN)
    cycle = get_cycle(session, cycle_id)
    cycle.require_open()
    programme = get_programme(session, cycle.programme_id)
    found = proposals(session, cycle, programme)
    eligible = [p for p in found if p.finding.eligible]
    blockers = close_blockers(session, cycle, now)
    shared = shared_destinations(session, [p.communicator for p in found])
    return {
        "cycle": cycle,
        "can_close": not blockers,
        "blockers": [{"code": b.code, "message": b.message} for b in blockers],
        "entitlements": [
            {
                "communicator_id": p.communicator.id,
                "pseudonym": p.communicator.pseudonym,
                "tier": p.communicator.tier,
                "eligible": p.finding.eligible,
                "amount_minor": p.finding.amount_minor,
                "approvals_needed": p.approvals_needed,
                "reasons": p.finding.reasons,
                "not_eligible_because": [
                    r for r in p.finding.reasons if r.startswith("not eligible")
                ],
                "shared_destination_with": shared.get(p.communicator.id, []),
            }
            for p in found
        ],
        "eligible_count": len(eligible),
        "not_eligible_count": len(found) - len(eligible),
        "proposed_minor": sum(p.finding.amount_minor for p in eligible),
        "currency": programme.currency,
        "available_minor": ledger.available(session, programme.id),
    }
