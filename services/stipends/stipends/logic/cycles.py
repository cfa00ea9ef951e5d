"""A programme's monthly cycles: opened with a deadline, closed (`approvals`),
locked once every stipend is decided; who may see which, and how far a cycle's
reporting has come."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stipends import events
from stipends.exceptions import InvalidRequest, InvalidTransition
from stipends.logic.actors import ADMIN, Actor
from stipends.logic.programmes import get_cycle, get_programme
from stipends.models import ActivityReport, Communicator, Cycle, Stipend
from stipends.payouts.models import Payout
from svyaz import outbox


def open_cycle(
    session: Session,
    actor: Actor,
    programme_id: uuid.UUID,
    period: str,
    deadline: datetime,
) -> Cycle:
    actor.require(ADMIN)
    programme = get_programme(session, programme_id)
    if session.scalar(
        select(Cycle.id).where(
            Cycle.programme_id == programme.id, Cycle.period == period
        )
    ):
        raise InvalidRequest(
            f"the programme has a cycle for {period} already",
            "cycle_exists",
            {"period": ["this programme has a cycle for this month already"]},
        )
    first_day = datetime.strptime(f"{period}-01", "%Y-%m-%d").replace(tzinfo=UTC)
    if deadline < first_day:
        raise InvalidRequest(
            f"the deadline is before {period} begins; give one on or after "
            f"{first_day.date()}",
            "deadline_before_period",
            {"deadline": [f"on or after {first_day.date()}"]},
        )
    # a deadline years away is a typo, and a cycle that can never close (closing
    # waits for the deadline, and a cycle is not deleted): at most a year after
    # its month begins, or after today for a month recorded long after
    start = max(first_day, datetime.now(UTC)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    latest = start.replace(year=start.year + 1, day=min(start.day, 28))
    if deadline.astimezone(UTC).date() > latest.date():
        raise InvalidRequest(
            f"the deadline is more than a year away; give one on or before "
            f"{latest.date()}",
            "deadline_too_late",
            {"deadline": [f"on or before {latest.date()}"]},
        )
    cycle = Cycle(
        id=uuid.uuid4(),
        programme_id=programme.id,
        period=period,
        deadline=deadline,
        status="open",
    )
    session.add(cycle)
    session.flush()
    outbox.add(  # notifications reminds whoever has not reported before the deadline
        session,
        events.CYCLE_OPENED.build(
            events.cycle_aggregate(cycle.id),
            cycle_id=cycle.id,
            programme_id=programme.id,
            period=period,
            deadline=deadline.isoformat(),
        ),
    )
    return cycle


def lock_cycle(session: Session, actor: Actor, cycle_id: uuid.UUID) -> Cycle:
    """After every stipend of a closed cycle is decided, nothing in it changes."""
    actor.require(ADMIN)
    cycle = get_cycle(session, cycle_id, lock=True)
    pending = (
        session.scalar(
            select(func.count())
            .select_from(Stipend)
            .where(Stipend.cycle_id == cycle.id, Stipend.status == "proposed")
        )
        or 0
    )
    if cycle.status == "closed" and pending:
        raise InvalidTransition(
            f"{pending} stipend(s) of this cycle still await a decision",
            "stipends_pending",
        )
    cycle.move_to("locked")
    cycle.locked_at = datetime.now(UTC)
    return cycle


def awaiting_review(session: Session, cycle_id: uuid.UUID) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(ActivityReport)
            .where(
                ActivityReport.cycle_id == cycle_id,
                ActivityReport.status == "submitted",
            )
        )
        or 0
    )


def list_cycles(
    session: Session, actor: Actor, programme_id: uuid.UUID | None
) -> list[Cycle]:
    """Staff see every cycle (of one programme if given); a communicator sees the
    open ones, where they can report."""
    query = select(Cycle)
    if programme_id is not None:
        query = query.where(Cycle.programme_id == programme_id)
    if not actor.roles & {ADMIN, "finance"}:
        actor.require("communicator")
        query = query.where(Cycle.status == "open")
    return list(session.scalars(query.order_by(Cycle.deadline.desc())))


def payable(
    session: Session, actor: Actor, listed: list[Cycle]
) -> dict[uuid.UUID, dict[str, int]] | None:
    """For staff, per listed cycle: `left_to_pay`, its approved stipends in no
    payout yet (a cancelled one aside), which is what building a payout run would
    take; `awaiting_approval`, its stipends proposed and not yet approved. None for
    a communicator, who is not told."""
    if not actor.roles & {ADMIN, "finance"}:
        return None
    counts = {c.id: {"left_to_pay": 0, "awaiting_approval": 0} for c in listed}
    ids = [c.id for c in listed if c.status != "open"]
    if ids:
        taken = select(Payout.stipend_id).where(Payout.status != "cancelled")
        left = func.count().filter(
            Stipend.status == "approved", Stipend.id.not_in(taken)
        )
        awaiting = func.count().filter(Stipend.status == "proposed")
        for cycle_id, n_left, n_awaiting in session.execute(
            select(Stipend.cycle_id, left, awaiting)
            .where(Stipend.cycle_id.in_(ids))
            .group_by(Stipend.cycle_id)
        ):
            counts[cycle_id] = {
                "left_to_pay": int(n_left),
                "awaiting_approval": int(n_awaiting),
            }
    return counts


REPORT_STATUSES = ("draft", "submitted", "changes_requested", "accepted", "rejected")


def cycle_progress(
    session: Session, actor: Actor, cycle_id: uuid.UUID, now: datetime
) -> dict[str, Any]:
    """How far a cycle's reporting has come: its reports counted by status, how many
    communicators have a report in it (and how many sent one), against how many are
    active, and its deadline."""
    actor.require(ADMIN, "finance")
    cycle = get_cycle(session, cycle_id)
    by_status = {status: 0 for status in REPORT_STATUSES}
    for status, count in session.execute(
        select(ActivityReport.status, func.count())
        .where(ActivityReport.cycle_id == cycle.id)
        .group_by(ActivityReport.status)
    ):
        by_status[status] = int(count)
    with_report, sent, late = session.execute(
        select(
            func.count(func.distinct(ActivityReport.communicator_id)),
            func.count(func.distinct(ActivityReport.communicator_id)).filter(
                ActivityReport.status != "draft"
            ),
            func.count().filter(ActivityReport.late.is_(True)),
        ).where(ActivityReport.cycle_id == cycle.id)
    ).one()
    active = session.scalar(
        select(func.count())
        .select_from(Communicator)
        .where(Communicator.status == "active", Communicator.erased.is_(False))
    )
    return {
        "cycle": cycle,
        "deadline": cycle.deadline,
        "deadline_passed": now > cycle.deadline,
        "reports_by_status": by_status,
        "reports_total": sum(by_status.values()),
        "communicators_with_report": int(with_report),
        "communicators_submitted": int(sent),
        "late_reports": int(late),
        "active_communicators": int(active or 0),
    }
