"""The impact views: per cycle and over time, grouped by country, club or tier.

Every count goes through `suppression` before it leaves this module, and the tables
that share totals are suppressed together (`linked`): a cycle's club, country and tier
tables as one family, the tables over time from the cycles' own grand rows, payouts
as one table of outcomes by cycle. A figure that is a sum over people (conversations,
hours, money) is shown only where the count of people or reports behind it is.
Nothing here lists a person: every query groups.
"""

from __future__ import annotations

import statistics
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from insights.exceptions import CycleNotFound, InvalidRequest, ProgrammeNotFound
from insights.logic.linked import GROUPINGS, Family, OverTime, family, over_time
from insights.logic.suppression import Suppressed, suppress
from insights.models import (
    UNKNOWN,
    Cycle,
    DifferenceResolved,
    Differences,
    Member,
    Programme,
    Report,
    Stipend,
    TrainingCompletion,
)
from svyaz.vocabulary import OBSERVED_CHANGES

DIMENSIONS = {"country": Member.country, "club": Member.club_id, "tier": Member.tier}
REPORT_COLUMNS = ("accepted", "rejected", "changes_requested", "submitted")
CHANGES = OBSERVED_CHANGES
ACTIVITY_COLUMNS = ("retained", "new")


@dataclass(frozen=True)
class Published:
    """A table as it may leave the service: hidden entries are None."""

    name: str
    rows: list[str]
    columns: list[str]
    cells: list[list[int | None]]
    row_totals: list[int | None]
    column_totals: list[int | None]
    total: int | None
    hidden: int  # how many entries are hidden (the footnote says why)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rows": self.rows,
            "columns": self.columns,
            "cells": self.cells,
            "row_totals": self.row_totals,
            "column_totals": self.column_totals,
            "total": self.total,
            "hidden": self.hidden,
        }


def publish(
    name: str,
    rows: Sequence[str],
    columns: Sequence[str],
    cells: Sequence[Sequence[int]],
    threshold: int,
) -> Published:
    """Suppress a table and keep only what may be shown. A column nobody is in (all
    zero) is left out: it says nothing of anyone, and hiding it would hide its
    neighbours too."""
    keep = [j for j in range(len(columns)) if any(row[j] for row in cells)]
    if cells and len(keep) < len(columns):
        columns = [columns[j] for j in keep]
        cells = [[row[j] for j in keep] for row in cells]
    if not rows or not columns:
        return Published(name, [], list(columns), [], [], [0] * len(columns), 0, 0)
    table: Suppressed = suppress(cells, threshold)
    r, c = table.rows, table.columns
    return Published(
        name=name,
        rows=list(rows),
        columns=list(columns),
        cells=[[table.shown(i, j) for j in range(c)] for i in range(r)],
        row_totals=[table.shown(i, c) for i in range(r)],
        column_totals=[table.shown(r, j) for j in range(c)],
        total=table.shown(r, c),
        hidden=len(table.hidden),
    )


def _dimension(name: str) -> Any:
    if name not in DIMENSIONS:
        raise InvalidRequest(
            f"group by one of {', '.join(DIMENSIONS)}",
            "invalid_dimension",
            {"dimension": [f"one of {', '.join(DIMENSIONS)}"]},
        )
    return DIMENSIONS[name]


Counts = dict[tuple[str, str, str, str], int]  # (club, country, tier, column) -> n


def _groups() -> tuple[Any, Any, Any]:
    """The three groupings of a row, "unknown" where the member is not known."""
    return (
        func.coalesce(Member.club_id, UNKNOWN).label("club"),
        func.coalesce(Member.country, UNKNOWN).label("country"),
        func.coalesce(Member.tier, UNKNOWN).label("tier"),
    )


def grouped(name: str, fam: Family, dimension: str) -> Published:
    """One grouping of a family as a table: what the family hides, hidden."""
    m = len(fam.columns)
    rows = list(fam.rows[dimension])
    keys: list[tuple[Any, ...]] = [
        (dimension, r, j) for r in rows for j in range(m + 1)
    ]
    keys += [("all", j) for j in range(m + 1)]
    return Published(
        name=name,
        rows=rows,
        columns=list(fam.columns),
        cells=[[fam.shown((dimension, r, j)) for j in range(m)] for r in rows],
        row_totals=[fam.shown((dimension, r, m)) for r in rows],
        column_totals=[fam.shown(("all", j)) for j in range(m)],
        total=fam.shown(("all", m)),
        hidden=sum(1 for k in keys if k in fam.hidden) if m else 0,
    )


def _over_time_table(name: str, table: OverTime) -> Published:
    everything = [
        *(v for row in table.cells for v in row),
        *table.row_totals,
        *table.column_totals,
        table.total,
    ]
    return Published(
        name=name,
        rows=table.rows,
        columns=table.columns,
        cells=table.cells,
        row_totals=table.row_totals,
        column_totals=table.column_totals,
        total=table.total,
        hidden=sum(1 for v in everything if v is None),
    )


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
    _dimension(dimension)
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise CycleNotFound("no such cycle in the figures yet", "cycle_not_found")
    club, country, tier = _groups()
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
        "money": _money(session, cycle, threshold),
        "payouts": _payouts(session, cycle.programme_id, threshold, cycle.cycle_id),
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
    club, country, tier = _groups()
    rows = session.execute(
        select(club, country, tier, func.count())
        .select_from(TrainingCompletion)
        .outerjoin(Member, Member.communicator_id == TrainingCompletion.communicator_id)
        .where(month == period)
        .group_by(club, country, tier)
    )
    return {(k, c, t, "completed"): int(n) for k, c, t, n in rows}


def _money(session: Session, cycle: Cycle, threshold: int) -> dict[str, Any]:
    programme = session.get(Programme, cycle.programme_id)
    row = session.execute(
        select(
            func.count(Stipend.stipend_id),
            func.coalesce(func.sum(Stipend.amount_minor), 0),
            func.coalesce(
                func.sum(Stipend.amount_minor).filter(Stipend.paid_at.is_not(None)), 0
            ),
            func.count(Stipend.stipend_id).filter(Stipend.paid_at.is_not(None)),
        ).where(Stipend.cycle_id == cycle.cycle_id, Stipend.approved_at.is_not(None))
    ).one()
    approved_count, approved, paid, paid_count = (int(v) for v in row)
    # a sum over fewer people than the threshold would show what they got
    enough = approved_count >= threshold
    unpaid = approved_count - paid_count
    shown_paid = paid if enough and paid_count >= threshold else None
    shown_reserved = approved - paid if enough and unpaid >= threshold else None
    if shown_paid is None or shown_reserved is None:
        # approved = paid + reserved: one of them shown beside the approved sum
        # would give the other away
        shown_paid = shown_reserved = None
    return {
        "currency": programme.currency if programme else None,
        "budget_minor": programme.budget_minor if programme else None,
        "approved_minor": approved if enough else None,
        "paid_minor": shown_paid,
        "reserved_minor": shown_reserved,
    }


def _payouts(
    session: Session,
    programme_id: uuid.UUID,
    threshold: int,
    cycle_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Payouts paid and failed by reason, for one cycle or (None) the programme.
    Both come from one table of outcomes by cycle, suppressed once: a cycle's view
    shows its column, the programme's view the row totals, so that the programme's
    figures minus the other cycles' cannot give a cycle's hidden one away."""
    ids = session.scalars(
        select(Cycle.cycle_id)
        .where(Cycle.programme_id == programme_id)
        .order_by(Cycle.period, Cycle.cycle_id)
    ).all()
    # counted and the median taken in SQL: a programme has a stipend per person
    # and cycle, far too many rows to bring into Python for every view
    paid = Stipend.approved_at.is_not(None) & Stipend.paid_at.is_not(None)
    outcome_of = case(
        (paid, literal("paid")),
        (
            Stipend.paid_at.is_(None)
            & (func.coalesce(Stipend.failed_reason, "") != ""),
            literal("failed:") + Stipend.failed_reason,
        ),
    ).label("outcome")
    counts: dict[tuple[str, uuid.UUID], int] = {
        (str(o), c): int(n)
        for c, o, n in session.execute(
            select(Stipend.cycle_id, outcome_of, func.count())
            .where(Stipend.cycle_id.in_(ids))
            .group_by(Stipend.cycle_id, outcome_of)
        )
        if o is not None
    }
    waited = func.extract("epoch", Stipend.paid_at - Stipend.approved_at) / 86400
    timed = session.execute(
        select(
            func.count(),
            func.percentile_cont(0.5).within_group(waited),
        ).where(
            paid,
            Stipend.cycle_id.in_(ids)
            if cycle_id is None
            else Stipend.cycle_id == cycle_id,
        )
    ).one()
    enough = int(timed[0]) >= threshold and timed[1] is not None
    reasons = sorted({o for o, _ in counts} - {"paid"})
    outcomes = ["paid", *reasons]
    columns = [c for c in ids if any(counts.get((o, c)) for o in outcomes)]
    empty = Published("payouts", [], ["payouts"], [], [], [0], 0, 0)
    median = round(float(timed[1]), 1) if enough else None
    if not columns or (cycle_id is not None and cycle_id not in columns):
        return {"table": empty.as_dict(), "median_days_to_paid": median}
    table = suppress(
        [[counts.get((o, c), 0) for c in columns] for o in outcomes], threshold
    )
    j = len(columns) if cycle_id is None else columns.index(cycle_id)
    cells = [[table.shown(i, j)] for i in range(len(outcomes))]
    total = table.shown(len(outcomes), j)
    outcome = Published(
        "payouts",
        outcomes,
        ["payouts"],
        cells,
        [c[0] for c in cells],
        [total],
        total,
        sum(1 for c in cells if c[0] is None) * 2 + int(total is None) * 2,
    )
    return {"table": outcome.as_dict(), "median_days_to_paid": median}


def reconciliation_view(
    session: Session, threshold: int, now: datetime | None = None
) -> dict[str, Any]:
    """Reconciliation differences by kind: resolved and still open (a superseded
    reconciliation's no longer count), the median days from the reconciliation to
    each resolution, and how old the oldest open one is."""
    now = now or datetime.now(UTC)
    live = {
        d.reconciliation_id: d
        for d in session.scalars(
            select(Differences).where(Differences.superseded.is_(False))
        )
    }
    found: dict[str, int] = defaultdict(int)
    for rec in live.values():
        for kind, n in (rec.by_kind or {}).items():
            found[kind] += int(n)
    resolved: dict[tuple[uuid.UUID, str], int] = defaultdict(int)
    days: dict[str, list[float]] = defaultdict(list)
    for done in session.scalars(select(DifferenceResolved)):
        rec = live.get(done.reconciliation_id)
        if rec is None:
            continue
        resolved[(done.reconciliation_id, done.kind)] += 1
        days[done.kind].append(
            (done.resolved_at - rec.opened_at).total_seconds() / 86400
        )
    kinds = sorted(found)
    closed = {
        k: sum(n for (_, kind), n in resolved.items() if kind == k) for k in kinds
    }
    still = {k: max(found[k] - closed[k], 0) for k in kinds}
    table = publish(
        "differences",
        kinds,
        ("resolved", "open"),
        [[closed[k], still[k]] for k in kinds],
        threshold,
    )
    oldest: dict[str, float] = {}
    for rec_id, rec in live.items():
        for kind, n in (rec.by_kind or {}).items():
            if int(n) > resolved.get((rec_id, kind), 0):
                age = (now - rec.opened_at).total_seconds() / 86400
                oldest[kind] = max(oldest.get(kind, 0.0), age)
    return {
        "table": table.as_dict(),
        "durations": [
            {
                "kind": kind,
                "median_days_to_resolve": (
                    round(statistics.median(days[kind]), 1)
                    if len(days[kind]) >= threshold
                    else None
                ),
                # shown only where the open count is
                "oldest_open_days": (
                    round(oldest[kind], 1)
                    if kind in oldest and table.cells[i][-1] is not None
                    else None
                ),
            }
            for i, kind in enumerate(table.rows)
        ],
    }


def _cycle_families(
    session: Session, known: Sequence[Cycle], threshold: int
) -> tuple[list[Family], list[Family]]:
    """Each cycle's reports by outcome and communicators retained and new, as the
    cycle's own view suppresses them (its club, country and tier tables together):
    the tables over time are made of their grand rows."""
    ids = [c.cycle_id for c in known]
    club, country, tier = _groups()
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
        figures = _money(session, cycle, threshold)
        money.append({"period": cycle.period, **figures})
    programme = session.get(Programme, programme_id)
    return {
        "programme_id": programme_id,
        "threshold": threshold,
        "currency": programme.currency if programme else None,
        "budget_minor": programme.budget_minor if programme else None,
        "tables": [
            _over_time_table(
                "reports_over_time",
                over_time(order, report_families, REPORT_COLUMNS),
            ).as_dict(),
            _over_time_table(
                "communicators_over_time",
                over_time(order, activity_families, ACTIVITY_COLUMNS),
            ).as_dict(),
        ],
        "money": money,
        "payouts": _payouts(session, programme_id, threshold),
        "differences": reconciliation_view(session, threshold),
    }
