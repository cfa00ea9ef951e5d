"""The suppression rule (docs/impact.md): no published table lets anyone recover a
hidden count exactly.

The property test checks each published table with an LP (scipy's HiGHS), independent
of the graph argument the code uses: the hidden entries are unknowns, every line of
the table (its cells and its total) is an equation, every count is >= 0, and for each
hidden entry we minimise and maximise it. If the minimum equals the maximum, someone
holding the published table knows that entry: the test fails.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from insights.logic.suppression import extended, pinned, suppress

THRESHOLD = 5


def feasible_range(grid: list[list[int]], hidden: frozenset) -> dict:
    """For each hidden entry, its (min, max) over the non-negative solutions of the
    line equations with every published entry fixed (max None: unbounded)."""
    entries = sorted(hidden)
    index = {e: n for n, e in enumerate(entries)}
    rows, columns = len(grid) - 1, len(grid[0]) - 1
    equations, rhs = [], []

    def line(members: list[tuple[int, int]], total: tuple[int, int]) -> None:
        coefficients = np.zeros(len(entries))
        constant = 0.0
        for entry, sign in [(m, 1.0) for m in members] + [(total, -1.0)]:
            if entry in index:
                coefficients[index[entry]] += sign
            else:
                constant -= sign * grid[entry[0]][entry[1]]
        if coefficients.any():
            equations.append(coefficients)
            rhs.append(constant)
        else:
            assert abs(constant) < 1e-9  # a fully published line adds up

    for i in range(rows + 1):
        line([(i, j) for j in range(columns)], (i, columns))
    for j in range(columns + 1):
        line([(i, j) for i in range(rows)], (rows, j))
    a_eq = np.array(equations) if equations else None
    b_eq = np.array(rhs) if equations else None
    out = {}
    for entry, n in index.items():
        objective = np.zeros(len(entries))
        objective[n] = 1.0
        low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None))
        high = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None))
        assert low.status == 0, low.message  # the true table is a solution
        out[entry] = (low.fun, None if high.status == 3 else -high.fun)
    return out


def assert_nothing_recoverable(cells: list[list[int]], threshold: int) -> None:
    table = suppress(cells, threshold)
    grid = extended(cells)
    for (i, j), value in np.ndenumerate(np.array(grid)):
        if (i, j) not in table.hidden:
            assert value >= threshold, f"published small count at {(i, j)}"
    for entry, (low, high) in feasible_range(grid, table.hidden).items():
        value = grid[entry[0]][entry[1]]
        assert low - 1e-7 <= value and (high is None or value <= high + 1e-7)
        assert high is None or high - low > 0.5, (
            f"hidden entry {entry} = {value} is recoverable from {cells} "
            f"(hidden {sorted(table.hidden)})"
        )


tables = st.integers(1, 6).flatmap(
    lambda rows: st.integers(1, 5).flatmap(
        lambda columns: st.lists(
            st.lists(
                st.one_of(st.integers(0, 6), st.integers(0, 60)),
                min_size=columns,
                max_size=columns,
            ),
            min_size=rows,
            max_size=rows,
        )
    )
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cells=tables, threshold=st.integers(2, 10))
def test_no_published_table_lets_one_recover_a_hidden_count(
    cells: list[list[int]], threshold: int
) -> None:
    assert_nothing_recoverable(cells, threshold)


def test_a_lone_small_cell_gets_three_companions_on_a_cycle() -> None:
    table = suppress([[10, 3, 12], [20, 15, 9], [7, 8, 30]], THRESHOLD)
    assert (0, 1) in table.hidden
    assert len(table.hidden) == 4  # the cheapest cycle: two rows, two columns
    assert table.shown(3, 3) == 114  # the grand total stays
    assert_nothing_recoverable([[10, 3, 12], [20, 15, 9], [7, 8, 30]], THRESHOLD)


def test_the_textbook_rule_alone_is_not_enough() -> None:
    """Two hidden entries or more in every line, yet one is determined: a bridge
    between two cycles. The graph check sees it; the LP agrees; suppress avoids it."""
    grid = extended([[10] * 4] * 4)
    first = {(0, 0), (0, 1), (1, 0), (1, 1)}
    second = {(2, 2), (2, 3), (3, 2), (3, 3)}
    hidden = frozenset(first | second | {(1, 2)})
    ranges = feasible_range(grid, hidden)
    stuck = {e for e, (lo, hi) in ranges.items() if hi is not None and hi - lo < 0.5}
    assert stuck == {(1, 2)} == pinned(grid, hidden)


def test_zeros_are_hidden_and_cannot_be_pinned_by_others() -> None:
    cells = [[0, 10], [10, 10]]
    table = suppress(cells, THRESHOLD)
    assert (0, 0) in table.hidden and table.shown(0, 0) is None
    assert_nothing_recoverable(cells, THRESHOLD)


def test_a_table_of_small_counts_hides_everything() -> None:
    table = suppress([[1, 1], [1, 1]], THRESHOLD)
    assert len(table.hidden) == 9


def test_a_table_with_no_small_count_hides_nothing() -> None:
    assert suppress([[5, 6], [7, 8]], THRESHOLD).hidden == frozenset()


@pytest.mark.parametrize("cells", [[], [[]], [[1, 2], [3]]])
def test_a_malformed_table_is_refused(cells: list) -> None:
    with pytest.raises(ValueError):
        suppress(cells, THRESHOLD)
