"""The impact views: per cycle and over time, grouped by country, club or tier.

Every count goes through `suppression` before it leaves this module; a figure that is
a sum over people (conversations, hours, money) is shown only where the count of
people or reports behind it is. Nothing here lists a person: every query groups.
"""

from __future__ import annotations

import statistics
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from insights.exceptions import CycleNotFound, InvalidRequest, ProgrammeNotFound
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


def _grid(
    counts: dict[tuple[str, str], int], columns: Sequence[str]
) -> tuple[list[str], list[list[int]]]:
    rows = sorted({row for row, _ in counts})
    return rows, [[counts.get((row, col), 0) for col in columns] for row in rows]


def _only_where_shown(
    values: dict[str, int], table: Published, threshold: int
) -> dict[str, int | None]:
    """A sum per row, shown only where the row's count is; if that hides one row
    alone, the smallest other row is hidden with it (the total stays)."""
    shown = {
        row: (values.get(row, 0) if table.row_totals[i] is not None else None)
        for i, row in enumerate(table.rows)
    }
    hidden = [row for row, v in shown.items() if v is None]
    if len(hidden) == 1:
        others = [row for row, v in shown.items() if v is not None]
        if others:
            shown[min(others, key=lambda row: (values.get(row, 0), row))] = None
        else:
            return dict.fromkeys(shown)
    return shown


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
    """The figures of one cycle grouped by `dimension`, suppressed."""
    column = _dimension(dimension)
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise CycleNotFound("no such cycle in the figures yet", "cycle_not_found")
    group = func.coalesce(column, UNKNOWN).label("grp")
    joined = (
        select(Report)
        .outerjoin(Member, Member.communicator_id == Report.communicator_id)
        .where(Report.cycle_id == cycle_id)
    )
    totals = session.execute(
        joined.with_only_columns(
            group,
            Report.status,
            Report.observed_change,
            func.count(),
            func.sum(Report.conversations),
            func.sum(Report.hours),
            func.sum(Report.topics_count),
        ).group_by(group, Report.status, Report.observed_change)
    ).all()
    by_status: dict[tuple[str, str], int] = defaultdict(int)
    by_change: dict[tuple[str, str], int] = defaultdict(int)
    conversations: dict[str, int] = defaultdict(int)
    hours: dict[str, int] = defaultdict(int)
    topics = reports = 0
    for grp, status, change, n, talks, spent, named in totals:
        by_status[(grp, status)] += n
        if change in CHANGES:
            by_change[(grp, change)] += n
        conversations[grp] += int(talks or 0)
        hours[grp] += int(spent or 0)
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
    activity: dict[tuple[str, str], int] = defaultdict(int)
    for grp, kept, n in session.execute(
        joined.outerjoin(before, before.c.communicator_id == Report.communicator_id)
        .with_only_columns(
            group, retained, func.count(func.distinct(Report.communicator_id))
        )
        .group_by(group, retained)
    ):
        activity[(grp, "retained" if kept else "new")] += n

    rows, grid = _grid(by_status, REPORT_COLUMNS)
    report_table = publish("reports", rows, REPORT_COLUMNS, grid, threshold)
    change_rows, change_grid = _grid(by_change, CHANGES)
    activity_rows, activity_grid = _grid(activity, ACTIVITY_COLUMNS)
    trained = _trainings(session, cycle.period, group)
    trained_rows = sorted(trained)
    return {
        "cycle": {
            "cycle_id": cycle.cycle_id,
            "programme_id": cycle.programme_id,
            "period": cycle.period,
        },
        "dimension": dimension,
        "threshold": threshold,
        "tables": [
            report_table.as_dict(),
            publish(
                "observed_change", change_rows, CHANGES, change_grid, threshold
            ).as_dict(),
            publish(
                "communicators",
                activity_rows,
                ACTIVITY_COLUMNS,
                activity_grid,
                threshold,
            ).as_dict(),
            publish(
                "trainings",
                trained_rows,
                ("completed",),
                [[trained[row]] for row in trained_rows],
                threshold,
            ).as_dict(),
        ],
        "sums": {
            "conversations": _sums(conversations, report_table, threshold),
            "hours": _sums(hours, report_table, threshold),
            "topics": topics if reports >= threshold else None,
        },
        "mentions": {
            "channels": _mentions(channels, threshold),
            "audiences": _mentions(audiences, threshold),
        },
        "money": _money(session, cycle, threshold),
        "payouts": _payouts(session, [cycle.cycle_id], threshold),
    }


def _sums(values: dict[str, int], table: Published, threshold: int) -> dict[str, Any]:
    per_row = _only_where_shown(values, table, threshold)
    total = sum(values.values()) if table.total is not None else None
    return {
        "rows": [{"group": row, "value": per_row[row]} for row in table.rows],
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


def _trainings(session: Session, period: str, group: Any) -> dict[str, int]:
    month = func.to_char(
        func.timezone("UTC", TrainingCompletion.completed_at), "YYYY-MM"
    )
    rows = session.execute(
        select(group.label("grp"), func.count())
        .select_from(TrainingCompletion)
        .outerjoin(Member, Member.communicator_id == TrainingCompletion.communicator_id)
        .where(month == period)
        .group_by(group)
    )
    return {row.grp: int(row[1]) for row in rows}


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
    session: Session, cycle_ids: list[uuid.UUID], threshold: int
) -> dict[str, Any]:
    rows = session.execute(
        select(Stipend.approved_at, Stipend.paid_at, Stipend.failed_reason).where(
            Stipend.cycle_id.in_(cycle_ids)
        )
    ).all()
    days = [
        (paid - approved).total_seconds() / 86400
        for approved, paid, _ in rows
        if approved is not None and paid is not None
    ]
    failed: dict[str, int] = defaultdict(int)
    for _, paid, reason in rows:
        if paid is None and reason:
            failed[reason] += 1
    reasons = sorted(failed)
    outcome = publish(
        "payouts",
        ["paid", *[f"failed:{r}" for r in reasons]],
        ("payouts",),
        [[len(days)], *[[failed[r]] for r in reasons]],
        threshold,
    )
    return {
        "table": outcome.as_dict(),
        "median_days_to_paid": (
            round(statistics.median(days), 1) if len(days) >= threshold else None
        ),
    }


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


def programme_view(
    session: Session, programme_id: uuid.UUID, threshold: int
) -> dict[str, Any]:
    """A programme over time: per cycle, reports and communicators, suppressed."""
    known = session.scalars(
        select(Cycle).where(Cycle.programme_id == programme_id).order_by(Cycle.period)
    ).all()
    if not known and session.get(Programme, programme_id) is None:
        raise ProgrammeNotFound("no such programme in the figures yet", "not_found")
    periods = {c.cycle_id: c.period for c in known}
    ids = list(periods)
    status_rows = session.execute(
        select(Report.cycle_id, Report.status, func.count())
        .where(Report.cycle_id.in_(ids))
        .group_by(Report.cycle_id, Report.status)
    )
    by_status: dict[tuple[str, str], int] = defaultdict(int)
    for cycle_id, status, n in status_rows:
        by_status[
            (periods[cycle_id], "accepted" if status == "accepted" else "other")
        ] += n
    people = session.execute(
        select(Report.cycle_id, Report.communicator_id)
        .where(Report.cycle_id.in_(ids))
        .distinct()
    ).all()
    seen: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for cycle_id, person in people:
        seen[cycle_id].add(person)
    activity: dict[tuple[str, str], int] = defaultdict(int)
    last: set[uuid.UUID] = set()
    for cycle in known:
        now = seen.get(cycle.cycle_id, set())
        for person in now:
            activity[(cycle.period, "retained" if person in last else "new")] += 1
        last = now
    order = [c.period for c in known]
    status_grid = [
        [by_status.get((p, col), 0) for col in ("accepted", "other")] for p in order
    ]
    activity_grid = [
        [activity.get((p, col), 0) for col in ACTIVITY_COLUMNS] for p in order
    ]
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
            publish(
                "reports_over_time",
                order,
                ("accepted", "other"),
                status_grid,
                threshold,
            ).as_dict(),
            publish(
                "communicators_over_time",
                order,
                ACTIVITY_COLUMNS,
                activity_grid,
                threshold,
            ).as_dict(),
        ],
        "money": money,
        "payouts": _payouts(session, ids, threshold),
        "differences": reconciliation_view(session, threshold),
    }
