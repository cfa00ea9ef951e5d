"""Money in the impact views: a cycle's approved, paid and reserved sums (shown only
over enough people), and payouts paid and failed by reason with the median days to
pay, as one table of outcomes by cycle suppressed once.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from insights.logic.published import Published
from insights.logic.suppression import suppress
from insights.models import Cycle, Programme, Stipend


def cycle_money(session: Session, cycle: Cycle, threshold: int) -> dict[str, Any]:
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


def payouts(
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
