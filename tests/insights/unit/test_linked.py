"""Linked tables (docs/impact.md): everything an admin can see or download for a
programme, every cycle grouped by club, by country and by tier and the tables over
time, read together, pins no hidden entry.

The attack is an LP (scipy's HiGHS) on the data itself, independent of the network
argument the code uses: the unknowns are the true counts of every (cycle, club, tier,
column), all >= 0; every published entry of every table is an equation on them (the
sum of the counts it covers equals what is shown). Each hidden entry is then
minimised and maximised; the test fails if its range is narrower than the protection
the rule promises (at least two whole values: max - min >= 1).
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Callable

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from insights.logic.linked import Family, family, over_time

GROUP_AT = {"club": 0, "country": 1, "tier": 2}
Micro = dict[tuple[int, str, str, str], int]  # (cycle, club, tier, column) -> count
Cover = Callable[[int, str, str, str], bool]


def published(
    micro: Micro,
    country: dict[str, str],
    columns: list[str],
    threshold: int,
    forced: Callable[[tuple], bool] = lambda key: False,
) -> tuple[list[tuple[Cover, int | None, int | None]], list[Family]]:
    """Every entry a reader gets: (which counts it covers, shown value or None,
    true value), from each cycle's family and the tables over time."""
    cycles = sorted({c for c, *_ in micro})
    families = []
    entries: list[tuple[Cover, int | None, int | None]] = []
    for cycle in cycles:
        counts = {
            (club, country[club], tier, col): n
            for (c, club, tier, col), n in micro.items()
            if c == cycle
        }
        every = [
            (g, r, j)
            for g, r in {(g, k[i]) for k in counts for g, i in GROUP_AT.items()}
            for j in range(len(columns) + 1)
        ] + [("all", j) for j in range(len(columns) + 1)]
        fam = family(counts, columns, threshold, [k for k in every if forced(k)])
        families.append(fam)
        m = len(fam.columns)
        if not m:
            continue  # nobody in it: no table (over time, a known 0)
        for grouping, rows in fam.rows.items():
            for row in rows:
                for j in range(m + 1):
                    key = (grouping, row, j)
                    entries.append(
                        (
                            _cover(cycle, grouping, row, fam.columns, j, country),
                            fam.shown(key),
                            fam.values.get(key, 0),
                        )
                    )
        for j in range(m + 1):
            entries.append(
                (
                    _cover(cycle, "all", "", fam.columns, j, country),
                    fam.shown(("all", j)),
                    fam.values.get(("all", j), 0),
                )
            )
    table = over_time([str(c) for c in cycles], families, columns)
    for i, cycle in enumerate(cycles):
        for j, col in enumerate(columns):
            entries.append((_one(cycle, col), table.cells[i][j], None))
        entries.append((_one(cycle, None), table.row_totals[i], None))
    for j, col in enumerate(columns):
        entries.append((_one(None, col), table.column_totals[j], None))
    entries.append((_one(None, None), table.total, None))
    return entries, families


def _cover(cycle, grouping, row, present, j, country) -> Cover:  # type: ignore[no-untyped-def]
    def covers(c: int, club: str, tier: str, col: str) -> bool:
        if c != cycle or (j < len(present) and col != present[j]):
            return False
        if grouping == "club":
            return club == row
        if grouping == "country":
            return country[club] == row
        if grouping == "tier":
            return tier == row
        return True

    return covers


def _one(cycle: int | None, column: str | None) -> Cover:
    return lambda c, club, tier, col: (
        (cycle is None or c == cycle) and (column is None or col == column)
    )


def attack(
    micro: Micro, entries: list[tuple[Cover, int | None, int | None]]
) -> list[str]:
    """Every hidden entry the published ones pin to less than two values."""
    keys = sorted(micro)
    rows = [
        np.array([1.0 if cover(*k) else 0.0 for k in keys]) for cover, _, _ in entries
    ]
    shown = [
        (r, v) for r, (_, v, _) in zip(rows, entries, strict=True) if v is not None
    ]
    a_eq = np.array([r for r, _ in shown]) if shown else None
    b_eq = np.array([float(v) for _, v in shown]) if shown else None
    truth = np.array([float(micro[k]) for k in keys])
    assert a_eq is None or np.allclose(a_eq @ truth, b_eq)  # what is shown is true
    found = []
    done: set[bytes] = set()
    for row, (_, value, _) in zip(rows, entries, strict=True):
        if value is not None or row.tobytes() in done:
            continue
        done.add(row.tobytes())
        low = linprog(row, A_eq=a_eq, b_eq=b_eq, bounds=(0, None))
        high = linprog(-row, A_eq=a_eq, b_eq=b_eq, bounds=(0, None))
        assert low.status == 0, low.message
        if high.status != 3 and -high.fun - low.fun < 1 - 1e-7:
            found.append(f"{row @ truth} pinned to [{low.fun}, {-high.fun}]")
    return found


programmes = st.fixed_dictionaries(
    {
        "cycles": st.integers(1, 2),
        "clubs": st.integers(1, 4),
        "countries": st.integers(1, 2),
        "tiers": st.integers(1, 2),
        "columns": st.integers(1, 3),
        "seed": st.integers(0, 2**32 - 1),
        "threshold": st.integers(2, 6),
    }
)


def make(p: dict) -> tuple[Micro, dict[str, str], list[str]]:
    rng = np.random.default_rng(p["seed"])
    clubs = [f"k{i}" for i in range(p["clubs"])]
    country = {k: f"C{rng.integers(p['countries'])}" for k in clubs}
    tiers = [f"t{i}" for i in range(p["tiers"])]
    columns = [f"s{i}" for i in range(p["columns"])]
    micro: Micro = {}
    for cycle in range(p["cycles"]):
        for club in clubs:
            for tier in tiers:
                for col in columns:
                    big = rng.random() < 0.4
                    micro[(cycle, club, tier, col)] = int(
                        rng.integers(0, 25 if big else 4)
                    )
    return micro, country, columns


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=programmes)
def test_no_hidden_entry_is_pinned_by_all_linked_tables_together(p: dict) -> None:
    micro, country, columns = make(p)
    entries, _ = published(micro, country, columns, p["threshold"])
    for _, value, true in entries:
        if value is not None and true is not None:
            assert value >= p["threshold"], "a small count shown"
    assert attack(micro, entries) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=programmes, salt=st.integers(0, 2**32 - 1))
def test_entries_hidden_on_purpose_are_protected_too(p: dict, salt: int) -> None:
    """A sum (conversations, hours) is hidden where its count is, on purpose: no
    threshold of its own, some entries forced hidden; none of them may be pinned."""
    micro, country, columns = make(p)
    chosen = lambda key: zlib.crc32(repr((salt, key)).encode()) % 3 == 0  # noqa: E731
    entries, _ = published(micro, country, columns, 0, chosen)
    assert attack(micro, entries) == []


def separately(micro: Micro, country: dict[str, str], columns: list[str]) -> list:
    """The same data suppressed one grouping at a time (the rule before linking)."""
    from insights.logic.published import publish

    entries: list[tuple[Cover, int | None, int | None]] = []
    for grouping in ("club", "country", "tier"):
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for (_, club, tier, col), n in micro.items():
            row = {"club": club, "country": country[club], "tier": tier}[grouping]
            counts[(row, col)] += n
        rows = sorted({r for r, _ in counts})
        table = publish(
            "t", rows, columns, [[counts[(r, c)] for c in columns] for r in rows], 5
        )
        for i, row in enumerate(rows):
            for j, col in enumerate([*columns, None]):
                value = table.cells[i][j] if col else table.row_totals[i]
                entries.append((_where(0, grouping, row, col, country), value, 0))
    return entries


def _where(cycle, grouping, row, column, country) -> Cover:  # type: ignore[no-untyped-def]
    present = [column] if column else []
    return _cover(cycle, grouping, row, present, 0 if column else 1, country)


def test_tables_suppressed_one_at_a_time_leak_and_linked_ones_do_not() -> None:
    """Georgia's club A (6 accepted, 2 rejected) and club B (20 and 20); Armenia's
    club C (9 and 9). By club, A's 2 is hidden with a partner; by country, Georgia's
    22 rejected and Armenia's 9 are shown: 22 - 20 gives A's 2 away."""
    country = {"A": "GE", "B": "GE", "C": "AM"}
    columns = ["accepted", "rejected"]
    micro = {
        (0, "A", "t", "accepted"): 6,
        (0, "A", "t", "rejected"): 2,
        (0, "B", "t", "accepted"): 20,
        (0, "B", "t", "rejected"): 20,
        (0, "C", "t", "accepted"): 9,
        (0, "C", "t", "rejected"): 9,
    }
    assert attack(micro, separately(micro, country, columns)) != []
    entries, (fam,) = published(micro, country, columns, 5)
    assert fam.shown(("club", "A", 1)) is None
    assert attack(micro, entries) == []
