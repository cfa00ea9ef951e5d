"""The impact view of one cycle, grouped by country, club or tier: reports by
outcome, observed change, communicators retained and new, trainings (one family each,
its three groupings suppressed together, `linked`), the sums of conversations and
hours hidden with their counts, mentions, money and payouts. See `figures`.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from insights.exceptions import CycleNotFound
from insights.logic.figures import (
    ACTIVITY_COLUMNS,
    CHANGES,
    REPORT_COLUMNS,
    Counts,
    dimension_column,
    groups,
)
from insights.logic.linked import GROUPINGS, Family, family
from insights.logic.money_figures import cycle_money, payouts
from insights.logic.published import grouped
from insights.models import Cycle, Member, Report, TrainingCompletion


def _sum_family(values: Counts, counts: Family, threshold: int) -> Family:
    """A sum per group (conversations, hours) in every grouping, hidden wherever the
    count behind it is, and further where the sums alone would give it away."""
    m = len(counts.columns)
    forced: set[tuple[Any, ...]] = set()
    for grouping in GROUPINGS:
        for row in counts.rows[grouping]:
            if (grouping, row, m) in counts.hidden:
                forced |= {(grouping, row, 0), (grouping, row, 1)}
    if ("all", m) in counts.hidden:
        forced |= {("all", 0), ("all", 1)}
    # the sums only bind where a count is: hidden at least where it is
    return family(values, ("value",), 0, forced)


def cycles(session: Session) -> list[dict[str, Any]]:
    """Every cycle the read model knows, newest first (no counts)."""
    rows = session.execute(
        select(Cycle.cycle_id, Cycle.programme_id, Cycle.period).order_by(
            Cycle.period.desc(), Cycle.cycle_id
        )
    )
    return [
        {"cycle_id": r.cycle_id, "programme_id": r.programme_id, "period": r.period}
        for r in rows
    ]


def cycle_view(
    session: Session, cycle_id: uuid.UUID, dimension: str, threshold: int
) -> dict[str, Any]:
    """The figures of one cycle grouped by `dimension`, suppressed together with
    the other groupings and with the tables over time (`linked`)."""
    dimension_column(dimension)
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise CycleNotFound("no such cycle in the figures yet", "cycle_not_found")
    club, country, tier = groups()
    joined = (
        select(Report)
        .outerjoin(Member, Member.communicator_id == Report.communicator_id)
        .where(Report.cycle_id == cycle_id)
    )
    totals = session.execute(
        joined.with_only_columns(
            club,
            country,
            tier,
            Report.status,
            Report.observed_change,
            func.count(),
            func.sum(Report.conversations),
            func.sum(Report.hours),
            func.sum(Report.topics_count),
        ).group_by(club, country, tier, Report.status, Report.observed_change)
    ).all()
    by_status: Counts = defaultdict(int)
    by_change: Counts = defaultdict(int)
    conversations: Counts = defaultdict(int)
    hours: Counts = defaultdict(int)
    topics = reports = 0
    for k, c, t, status, change, n, talks, spent, named in totals:
        by_status[(k, c, t, status)] += n
        if change in CHANGES:
            by_change[(k, c, t, change)] += n
        conversations[(k, c, t, "value")] += int(talks or 0)
        hours[(k, c, t, "value")] += int(spent or 0)
        topics += int(named or 0)
        reports += n
    channels = _mentioned(session, cycle_id, Report.channels)
    audiences = _mentioned(session, cycle_id, Report.audiences)
    previous = _previous_cycle(session, cycle)
    before = (
        select(Report.communicator_id)
        .where(Report.cycle_id == previous)
        .distinct()
        .subquery()
    )
    retained = before.c.communicator_id.is_not(None).label("retained")
    activity: Counts = defaultdict(int)
    for k, c, t, kept, n in session.execute(
        joined.outerjoin(before, before.c.communicator_id == Report.communicator_id)
        .with_only_columns(
            club,
            country,
            tier,
            retained,
            func.count(func.distinct(Report.communicator_id)),
        )
        .group_by(club, country, tier, retained)
    ):
        activity[(k, c, t, "retained" if kept else "new")] += n

    report_family = family(by_status, REPORT_COLUMNS, threshold)
    families = {
        "reports": report_family,
        "observed_change": family(by_change, CHANGES, threshold),
        "communicators": family(activity, ACTIVITY_COLUMNS, threshold),
        "trainings": family(
            _trainings(session, cycle.period), ("completed",), threshold
        ),
    }
    return {
        "cycle": {
            "cycle_id": cycle.cycle_id,
            "programme_id": cycle.programme_id,
            "period": cycle.period,
        },
        "dimension": dimension,
        "threshold": threshold,
        "tables": [
            grouped(name, fam, dimension).as_dict() for name, fam in families.items()
        ],
        "sums": {
            "conversations": _sums(conversations, report_family, dimension, threshold),
            "hours": _sums(hours, report_family, dimension, threshold),
            "topics": topics if reports >= threshold else None,
        },
        "mentions": {
            "channels": _mentions(channels, threshold),
            "audiences": _mentions(audiences, threshold),
        },
        "money": cycle_money(session, cycle, threshold),
        "payouts": payouts(session, cycle.programme_id, threshold, cycle.cycle_id),
    }


def _sums(
    values: Counts, counts: Family, dimension: str, threshold: int
) -> dict[str, Any]:
    """A sum per group of the table `counts` groups, hidden with its count (in every
    grouping at once, `_sum_family`); all zero: a 0 wherever the count is shown."""
    fam = _sum_family(values, counts, threshold)
    m = len(counts.columns)
    if fam.columns:
        shown = {row: fam.shown((dimension, row, 0)) for row in fam.rows[dimension]}
        total = fam.shown(("all", 0))
    else:
        shown = {
            row: None if (dimension, row, m) in counts.hidden else 0
            for row in counts.rows[dimension]
        }
        total = None if ("all", m) in counts.hidden else 0
    return {
        "rows": [
            {"group": row, "value": shown.get(row)} for row in counts.rows[dimension]
        ],
        "total": total,
    }


def _mentioned(session: Session, cycle_id: uuid.UUID, codes: Any) -> dict[str, int]:
    """How many of the cycle's reports name each code of a list column."""
    code = func.jsonb_array_elements_text(codes).table_valued("value").alias("code")
    rows = session.execute(
        select(code.c.value, func.count())
        .select_from(Report)
        .join(code, literal(True))
        .where(Report.cycle_id == cycle_id)
        .group_by(code.c.value)
    )
    return {str(value): int(n) for value, n in rows}


def _mentions(counts: dict[str, int], threshold: int) -> list[dict[str, Any]]:
    """How many reports mention each code. A report mentions several, so these do not
    add up to anything published; each is hidden under the threshold on its own."""
    return [
        {"code": code, "value": n if n >= threshold else None}
        for code, n in sorted(counts.items())
    ]


def _previous_cycle(session: Session, cycle: Cycle) -> uuid.UUID | None:
    return session.scalar(
        select(Cycle.cycle_id)
        .where(Cycle.programme_id == cycle.programme_id, Cycle.period < cycle.period)
        .order_by(Cycle.period.desc())
        .limit(1)
    )


def _trainings(session: Session, period: str) -> Counts:
    month = func.to_char(
        func.timezone("UTC", TrainingCompletion.completed_at), "YYYY-MM"
    )
    club, country, tier = groups()
    rows = session.execute(
        select(club, country, tier, func.count())
        .select_from(TrainingCompletion)
        .outerjoin(Member, Member.communicator_id == TrainingCompletion.communicator_id)
        .where(month == period)
        .group_by(club, country, tier)
    )
    return {(k, c, t, "completed"): int(n) for k, c, t, n in rows}
