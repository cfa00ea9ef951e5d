"""The impact views as pages and downloads: figures from the insights service (every
count already suppressed there) put in words, charts and tables in the reader's
language. Nothing here computes a figure or sees a person."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from markupsafe import Markup

from gateway.charts import bar_chart
from gateway.i18n import country, gettext, label, money
from gateway.labels import N_

HIDDEN = N_("hidden")
FOOTNOTE = N_(
    "Hidden: fewer than {n} reports or people, or a figure from which such a "
    "number could be worked out. Figures never list a person."
)
CHART_DESC = N_("{title}, by {dimension}: {values}.")
CHART_DESC_PLAIN = N_("{title}, in all: {values}.")
TOTAL = N_("Total")
FIGURE, COLUMN, VALUE = N_("Figure"), N_("Column"), N_("Value")


def row_label(lang: str, dimension: str, code: str, clubs: dict[str, str]) -> str:
    if code == "unknown":
        return label(lang, "impact_column", "unknown")
    if dimension == "club":
        return clubs.get(code, code[:8])
    if dimension == "tier":
        return label(lang, "tier", code)
    return country(lang, code)  # a country, by its name


def column_label(lang: str, table: str, code: str) -> str:
    if code.startswith("failed:"):
        return label(lang, "failure_reason", code.split(":", 1)[1])
    if table == "differences":
        return label(lang, "difference_kind", code)
    return label(lang, "impact_column", code)


def shown(lang: str, value: int | None) -> str:
    return gettext(lang, HIDDEN) if value is None else str(value)


def decorate(
    lang: str, view: dict[str, Any], clubs: dict[str, str]
) -> list[dict[str, Any]]:
    """Each table of a view with its labels, its chart and its rows in words."""
    dimension = view.get("dimension", "")
    out = []
    for table in view["tables"]:
        name = table["name"]
        title = label(lang, "impact_table", name)
        over_time = name.endswith("_over_time")
        rows = [
            r
            if over_time
            else row_label(lang, dimension, r, clubs)
            if dimension
            else column_label(lang, name, r)  # no grouping: the rows are outcomes
            for r in table["rows"]
        ]
        columns = [column_label(lang, name, c) for c in table["columns"]]
        bars = list(zip(rows, table["row_totals"], strict=True))
        if len(columns) == 1:
            bars = [
                (r, cells[0]) for r, cells in zip(rows, table["cells"], strict=True)
            ]
        words = ", ".join(f"{r} {shown(lang, v)}" for r, v in bars)
        if dimension:
            by = label(lang, "impact_dimension", dimension)
            description = gettext(lang, CHART_DESC).format(
                title=title, dimension=by, values=words or "—"
            )
        else:
            description = gettext(lang, CHART_DESC_PLAIN).format(
                title=title, values=words or "—"
            )
        out.append(
            {
                "name": name,
                "title": title,
                "chart": bar_chart(title, description, bars, gettext(lang, HIDDEN))
                if bars
                else Markup(""),
                "columns": columns,
                "rows": [
                    {
                        "label": r,
                        "cells": [shown(lang, v) for v in cells],
                        "total": shown(lang, total),
                    }
                    for r, cells, total in zip(
                        rows, table["cells"], table["row_totals"], strict=True
                    )
                ],
                "column_totals": [shown(lang, v) for v in table["column_totals"]],
                "total": shown(lang, table["total"]),
                "hidden": table["hidden"],
            }
        )
    return out


def payouts_table(view: dict[str, Any]) -> dict[str, Any]:
    return view["payouts"]["table"]


def figures_rows(
    lang: str, view: dict[str, Any], clubs: dict[str, str]
) -> Iterator[list[Any]]:
    """Every figure of a cycle's view as (table, group, column, value) rows, for the
    CSV and XLSX downloads: the same figures the page shows, hidden ones as words."""
    tables = [*view["tables"], payouts_table(view)]
    dimension = view.get("dimension", "")
    for table in tables:
        name = label(lang, "impact_table", table["name"])
        columns = [column_label(lang, table["name"], c) for c in table["columns"]]
        for r, cells, total in zip(
            table["rows"], table["cells"], table["row_totals"], strict=True
        ):
            group = (
                row_label(lang, dimension, r, clubs)
                if table["name"] != "payouts"
                else column_label(lang, "payouts", r)
            )
            for column, value in zip(columns, cells, strict=True):
                yield [name, group, column, shown(lang, value)]
            yield [name, group, gettext(lang, TOTAL), shown(lang, total)]
        for column, value in zip(columns, table["column_totals"], strict=True):
            yield [name, gettext(lang, TOTAL), column, shown(lang, value)]
        yield [
            name,
            gettext(lang, TOTAL),
            gettext(lang, TOTAL),
            shown(lang, table["total"]),
        ]
    m = view.get("money") or {}
    currency = m.get("currency")
    for key in ("budget_minor", "approved_minor", "reserved_minor", "paid_minor"):
        value = m.get(key)
        yield [
            label(lang, "impact_money", key),
            "",
            currency or "",
            gettext(lang, HIDDEN) if value is None else money(lang, value, currency),
        ]
