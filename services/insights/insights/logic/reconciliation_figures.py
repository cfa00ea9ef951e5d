"""Reconciliation differences in the impact views: resolved and open by kind,
suppressed, with the days they took and the age of the oldest open one.
"""

from __future__ import annotations

import statistics
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from insights.logic.published import publish
from insights.models import DifferenceResolved, Differences


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
