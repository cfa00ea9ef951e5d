"""A table as it may leave the service: suppressed (`suppression`), or taken from a
family suppressed together (`linked`), with hidden entries None.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from insights.logic.linked import Family, OverTime
from insights.logic.suppression import Suppressed, suppress


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


def over_time_table(name: str, table: OverTime) -> Published:
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
