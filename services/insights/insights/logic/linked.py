"""Suppression across the tables published together (docs/impact.md, *Linked tables*).

A cycle's counts of one kind (reports by outcome, observed change, communicators,
trainings, a sum such as conversations) are published three times: grouped by club,
by the club's country and by tier. The three share their totals (every column's and
the grand total), and a country's row is the sum of its clubs' rows. Suppressing each
table alone would let a reader subtract: a country's count minus its visible clubs, or
a total hidden in one grouping and shown in another.

So the three are suppressed as one `Family`: every entry of every grouping is an edge
of one network (suppression.Network), and `protect` hides entries until none of them
is determined by everything the three tables show together. The line rules, with the
ones the others imply dropped, are: a club's row adds up to its total; a country's
clubs add up to the country, column by column (total column included); the countries
add up to the grand row; the tiers add up to the grand row; a tier's row adds up to
its total. Each entry then sits in exactly two of them, with opposite signs once some
rules are turned over: a network matrix, on which the cycle test of `suppression` is
exact. One unit counted (a report of club k in country c, tier t, column s) is the
directed cycle
    cc(c,s) -> club k -> cc(c,total) -> G(total) -> T(total) -> tier t -> T(s)
    -> G(s) -> cc(c,s)
through the eight entries it adds to.

The tables over time add nothing: their rows are the cycles' grand rows, hidden as
the cycles hide them, and a total over cycles is shown only where every cycle's entry
in it is (it is then the sum of what is shown). Payouts are one table of outcomes by
cycle: each cycle's view shows its column, the programme's view the row totals.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from insights.logic.suppression import Edge, Network, Node, protect

GROUPINGS = ("club", "country", "tier")
Group = tuple[str, str, str]  # (club, country, tier)
Key = tuple[Any, ...]  # ("club", club, j), ("country", ...), ("tier", ...), ("all", j)


@dataclass(frozen=True)
class Family:
    """One kind of count of one cycle in every grouping, suppressed together.

    `columns` are the columns someone is in (a column of zeros is left out of every
    grouping: it says nothing of anyone); index len(columns) is the total column.
    Keys: ("club", club, j), ("country", country, j), ("tier", tier, j), ("all", j).
    """

    columns: tuple[str, ...]
    rows: Mapping[str, tuple[str, ...]]  # grouping -> its rows, sorted
    values: Mapping[Key, int]
    hidden: frozenset[Key]

    def shown(self, key: Key) -> int | None:
        return None if key in self.hidden else self.values.get(key, 0)

    def grand(self, column: str | None) -> int | None:
        """The grand row's entry for `column` (None: the total) as published; a
        column nobody is in is a published 0."""
        if column is not None and column not in self.columns:
            return 0
        j = len(self.columns) if column is None else self.columns.index(column)
        return self.shown(("all", j))


def countries_of(groups: Iterable[Group]) -> dict[str, str]:
    """Each club's country: the first seen in sorted order if the events ever gave
    one club two (so that a country is always the sum of whole clubs)."""
    country: dict[str, str] = {}
    for club, where, _ in sorted(groups):
        country.setdefault(club, where)
    return country


def family(
    counts: Mapping[tuple[str, str, str, str], int],
    columns: Sequence[str],
    threshold: int,
    forced: Iterable[Key] = (),
) -> Family:
    """Suppress one kind of count in every grouping at once. `counts` maps
    (club, country, tier, column) to a count (or a sum: then `threshold` 0 and the
    count's hidden entries `forced`)."""
    present = tuple(
        c for c in columns if any(counts.get(k, 0) for k in counts if k[3] == c)
    )
    country = countries_of((k[0], k[1], k[2]) for k in counts)
    m = len(present)
    values: dict[Key, int] = defaultdict(int)
    for (club, _, tier, column), n in counts.items():
        if column not in present:
            continue
        j = present.index(column)
        for key in (
            ("club", club),
            ("country", country[club]),
            ("tier", tier),
            ("all",),
        ):
            values[(*key, j)] += n
            values[(*key, m)] += n
    rows = {
        "club": tuple(sorted({k[1] for k in values if k[0] == "club"})),
        "country": tuple(sorted({k[1] for k in values if k[0] == "country"})),
        "tier": tuple(sorted({k[1] for k in values if k[0] == "tier"})),
    }
    network = _network(rows, country, m, values)
    # nobody in it: an empty table, its total a known 0
    hidden = protect(network, threshold, forced) if m else frozenset()
    return Family(present, rows, dict(values), hidden)


def _network(
    rows: Mapping[str, tuple[str, ...]],
    country: Mapping[str, str],
    m: int,
    values: Mapping[Key, int],
) -> Network:
    """The edges, oriented as the module's docstring says (j < m a column, m the
    total column): cells cost least, totals more, the grand row most."""
    network: Network = {}

    def add(key: Key, arc: tuple[Node, Node], rank: int) -> None:
        network[key] = Edge(arc[0], arc[1], int(values.get(key, 0)), rank)

    for j in range(m + 1):
        total = j == m
        for club in rows["club"]:
            k, cc = ("k", club), ("cc", country[club], j)
            add(("club", club, j), ((k, cc) if total else (cc, k)), int(total))
        for where in rows["country"]:
            cc, g = ("cc", where, j), ("g", j)
            add(("country", where, j), ((cc, g) if total else (g, cc)), 1 + int(total))
        for tier in rows["tier"]:
            t, tc = ("t", tier), ("tc", j)
            add(("tier", tier, j), ((tc, t) if total else (t, tc)), int(total))
        g, tc = ("g", j), ("tc", j)
        add(("all", j), ((g, tc) if total else (tc, g)), 3)
    return network


@dataclass(frozen=True)
class OverTime:
    """A table over cycles made of the cycles' grand rows, as each cycle shows them."""

    rows: list[str]
    columns: list[str]
    cells: list[list[int | None]]
    row_totals: list[int | None]
    column_totals: list[int | None]
    total: int | None


def over_time(
    rows: Sequence[str], families: Sequence[Family], columns: Sequence[str]
) -> OverTime:
    """Each cycle's row as its own view publishes it; a total over cycles only where
    every entry it adds up is shown (then it tells nothing the cycles do not)."""
    cells = [[f.grand(c) for c in columns] for f in families]
    totals = [f.grand(None) for f in families]

    def added(values: Sequence[int | None]) -> int | None:
        if any(v is None for v in values):
            return None
        return sum(v for v in values if v is not None)

    return OverTime(
        rows=list(rows),
        columns=list(columns),
        cells=cells,
        row_totals=totals,
        column_totals=[added([row[j] for row in cells]) for j in range(len(columns))],
        total=added(totals),
    )
