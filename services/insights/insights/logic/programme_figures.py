"""The impact view of a programme over time: per cycle, reports and communicators
(the tables over time made of the cycles' own grand rows, `linked`), money,
payouts and reconciliation differences.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from insights.exceptions import ProgrammeNotFound
from insights.logic.figures import ACTIVITY_COLUMNS, REPORT_COLUMNS, Counts, groups
from insights.logic.linked import Family, family, over_time
from insights.logic.money_figures import cycle_money, payouts
from insights.logic.published import over_time_table
from insights.logic.reconciliation_figures import reconciliation_view
from insights.models import Cycle, Member, Programme, Report


def _cycle_families(
    session: Session, known: Sequence[Cycle], threshold: int
) -> tuple[list[Family], list[Family]]:
    """Each cycle's reports by outcome and communicators retained and new, as the
    cycle's own view suppresses them (its club, country and tier tables together):
    the tables over time are made of their grand rows."""
    ids = [c.cycle_id for c in known]
    club, country, tier = groups()
    joined = select(Report).outerjoin(
        Member, Member.communicator_id == Report.communicator_id
    )
    statuses: dict[uuid.UUID, Counts] = defaultdict(lambda: defaultdict(int))
    for cycle_id, k, c, t, status, n in session.execute(
        joined.with_only_columns(
            Report.cycle_id, club, country, tier, Report.status, func.count()
        )
        .where(Report.cycle_id.in_(ids))
        .group_by(Report.cycle_id, club, country, tier, Report.status)
    ):
        statuses[cycle_id][(k, c, t, status)] += n
    people: dict[uuid.UUID, dict[uuid.UUID, tuple[str, str, str]]] = defaultdict(dict)
    for cycle_id, person, k, c, t in session.execute(
        joined.with_only_columns(
            Report.cycle_id, Report.communicator_id, club, country, tier
        )
        .where(Report.cycle_id.in_(ids))
        .distinct()
    ):
        people[cycle_id][person] = (k, c, t)
    reports, activity = [], []
    last: dict[uuid.UUID, tuple[str, str, str]] = {}
    for cycle in known:
        now = people.get(cycle.cycle_id, {})
        counts: Counts = defaultdict(int)
        for person, (k, c, t) in now.items():
            counts[(k, c, t, "retained" if person in last else "new")] += 1
        last = now
        reports.append(family(statuses[cycle.cycle_id], REPORT_COLUMNS, threshold))
        activity.append(family(counts, ACTIVITY_COLUMNS, threshold))
    return reports, activity


def programme_view(
    session: Session, programme_id: uuid.UUID, threshold: int
) -> dict[str, Any]:
    """A programme over time: per cycle, reports and communicators, suppressed."""
    known = session.scalars(
        select(Cycle).where(Cycle.programme_id == programme_id).order_by(Cycle.period)
    ).all()
    if not known and session.get(Programme, programme_id) is None:
        raise ProgrammeNotFound("no such programme in the figures yet", "not_found")
    order = [c.period for c in known]
    report_families, activity_families = _cycle_families(session, known, threshold)
    money = []
    for cycle in known:
        figures = cycle_money(session, cycle, threshold)
        money.append({"period": cycle.period, **figures})
    programme = session.get(Programme, programme_id)
    return {
        "programme_id": programme_id,
        "threshold": threshold,
        "currency": programme.currency if programme else None,
        "budget_minor": programme.budget_minor if programme else None,
        "tables": [
            over_time_table(
                "reports_over_time",
                over_time(order, report_families, REPORT_COLUMNS),
            ).as_dict(),
            over_time_table(
                "communicators_over_time",
                over_time(order, activity_families, ACTIVITY_COLUMNS),
            ).as_dict(),
        ],
        "money": money,
        "payouts": payouts(session, programme_id, threshold),
        "differences": reconciliation_view(session, threshold),
    }
