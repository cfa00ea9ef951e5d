"""Small-cell suppression for the tables the impact views publish.

A published table is a grid of counts with its row totals, column totals and grand
total (the margins). Think of it as the extended grid of (rows + 1) x (columns + 1)
entries, the margins being the last row and column. Every line of that grid obeys one
linear rule: its cells add up to its total.

1. Primary suppression: every entry (cell or margin) under `threshold` is hidden,
   zero included (a zero says "nobody in this group", which can point at the rest).
2. Secondary suppression: a hidden entry must not be recoverable from what is
   published. Someone who knows the rules and the published entries knows the hidden
   ones only as the non-negative solutions of the line rules. A hidden entry is pinned
   to one value exactly when no such solution lets it move. In the signed grid (cells
   and the grand total counted +, the other margins -) every line sums to zero, so a
   move is a circulation in the bipartite graph of rows and columns whose edges are the
   hidden entries; an entry whose value is 0 can move only one way (up). An entry can
   move iff its edge lies on a directed cycle of that graph (`pinned` checks exactly
   this). The matrix of the line rules is totally unimodular, so an entry that can move
   takes at least two integer values: nobody recovers it exactly.
3. While some hidden entry is pinned, the published entries of the cheapest cycle
   through it are hidden too (a shortest path where a published entry costs its value
   and a margin more than any cell); if there is none, the entry's row and column are
   hidden whole. Every line then has no hidden entry or
   at least two, which is the textbook rule, and no hidden entry is pinned, which the
   textbook rule alone does not guarantee (a hidden entry can be a bridge between two
   cycles, or sit between zeros).

The result says, for each entry, whether it is published. Views show a hidden entry as
"hidden" with one footnote for all of them, never which ones were small.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

Entry = tuple[int, int]  # (row, column) in the extended grid
Node = tuple[Any, ...]  # a line rule: ("r", row) or ("c", column) in a table


@dataclass(frozen=True)
class Suppressed:
    """A table with its margins and which of its entries are hidden."""

    cells: tuple[tuple[int, ...], ...]
    row_totals: tuple[int, ...]
    column_totals: tuple[int, ...]
    total: int
    hidden: frozenset[Entry]

    @property
    def rows(self) -> int:
        return len(self.cells)

    @property
    def columns(self) -> int:
        return len(self.column_totals)

    def value(self, row: int, column: int) -> int:
        """The true value of an extended-grid entry (margins at index rows/columns)."""
        return extended(self.cells)[row][column]

    def shown(self, row: int, column: int) -> int | None:
        """What is published at an extended-grid entry: its value, or None."""
        if (row, column) in self.hidden:
            return None
        return self.value(row, column)


def extended(cells: Sequence[Sequence[int]]) -> list[list[int]]:
    """The grid with a total column and a total row."""
    rows = [list(row) + [sum(row)] for row in cells]
    width = len(rows[0]) if rows else 1
    return rows + [[sum(row[j] for row in rows) for j in range(width)]]


def _sign(entry: Entry, rows: int, columns: int) -> int:
    row, column = entry
    inner_row, inner_column = row < rows, column < columns
    return 1 if inner_row == inner_column else -1


# -- the network every check runs on ----------------------------------------------
# A published entry is an edge between two nodes (the two line rules it appears in,
# after dropping the rules the others imply), oriented so that the entry grows when
# flow runs tail -> head. Every line rule is then flow conservation at its node, so a
# change of the hidden entries that keeps every rule is a circulation. A 2-D table is
# one such network; so are the linked tables of `linked` (a club table, its country
# table and a tier table glued at their shared totals).
@dataclass(frozen=True)
class Edge:
    tail: Node
    head: Node
    value: int
    rank: int = 0  # how dear hiding it is: 0 a cell, higher for totals


Network = dict[Any, Edge]


def _network_arcs(
    network: Network, hidden: Iterable[Any]
) -> dict[Any, list[tuple[Node, Node]]]:
    """Each hidden entry's allowed moves as arcs: it grows by flow tail -> head;
    an entry at 0 may only grow, any other entry may also shrink."""
    arcs: dict[Any, list[tuple[Node, Node]]] = {}
    for key in hidden:
        edge = network[key]
        up, down = (edge.tail, edge.head), (edge.head, edge.tail)
        arcs[key] = [up] if edge.value == 0 else [up, down]
    return arcs


def stuck(
    network: Network, hidden: Iterable[Any], among: Iterable[Any] | None = None
) -> set[Any]:
    """The hidden entries of a network (of `among` only, if given) that the
    published ones determine: an entry moves iff some allowed arc of its edge closes
    a directed cycle with the arcs of the other hidden entries (the matrix is a
    network matrix: totally unimodular)."""
    arcs = _network_arcs(network, hidden)
    graph: dict[Node, list[tuple[Node, Any]]] = {}
    for key, pairs in arcs.items():
        for tail, head in pairs:
            graph.setdefault(tail, []).append((head, key))
    component = _components(graph)
    found = set()
    for key in arcs if among is None else among:
        pairs = arcs[key]
        tail, head = pairs[0]
        if component.get(tail) != component.get(head):
            found.add(key)  # no path back at all
        elif len(pairs) > 1 and not any(
            _reaches(graph, h, t, key, component) for t, h in pairs
        ):
            found.add(key)  # only through its own two arcs
    return found


def _components(graph: dict[Node, list[tuple[Node, Any]]]) -> dict[Node, int]:
    """Each node's strongly connected component (Tarjan's, without recursion)."""
    index: dict[Node, int] = {}
    low: dict[Node, int] = {}
    component: dict[Node, int] = {}
    stack: list[Node] = []
    on_stack: set[Node] = set()
    counter = 0
    for root in list(graph):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            nexts = graph.get(node, [])
            if i < len(nexts):
                work.append((node, i + 1))
                nxt = nexts[i][0]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component[member] = index[node]
                    if member == node:
                        break
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return component


def _reaches(
    graph: dict[Node, list[tuple[Node, Any]]],
    start: Node,
    goal: Node,
    without: Any,
    component: dict[Node, int],
) -> bool:
    """Whether `goal` is reachable from `start` by arcs not of entry `without`
    (inside their strongly connected component: a path between two of its nodes
    never leaves it)."""
    inside = component[start]
    seen, todo = {start}, [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        for nxt, key in graph.get(node, ()):
            if key != without and nxt not in seen and component.get(nxt) == inside:
                seen.add(nxt)
                todo.append(nxt)
    return False


def protect(
    network: Network, threshold: int, forced: Iterable[Any] = ()
) -> frozenset[Any]:
    """Hide every entry under `threshold` (and those `forced`), then enough others
    that none hidden is determined: the cheapest cycle through a stuck entry, or, if
    there is none, every entry that shares a line rule with it."""
    order = {key: n for n, key in enumerate(network)}
    hidden = {k for k, e in network.items() if e.value < threshold}
    hidden |= set(forced) & set(network)
    free: set[Any] = set()  # entries seen to move: more hidden never pins them
    while hidden and len(hidden) < len(network):
        unsure = hidden - free
        pinned_now = stuck(network, hidden, unsure)
        free |= unsure - pinned_now
        if not pinned_now:
            break
        key = min(pinned_now, key=order.__getitem__)
        extra = _network_complement(network, hidden, key)
        if not extra:
            ends = {network[key].tail, network[key].head}
            extra = {k for k, e in network.items() if {e.tail, e.head} & ends}
        hidden |= extra
    return frozenset(hidden)


def _network_complement(network: Network, hidden: set[Any], key: Any) -> set[Any]:
    """The cheapest published entries whose hiding frees `key`: a shortest path
    closing a cycle through it, where a published entry costs its value (each rank
    more than every cell together) and a hidden one nothing."""
    others = [k for k in network if k != key]
    arcs = _network_arcs(network, [*others, key])
    penalty = sum(e.value for e in network.values()) + 1
    graph: dict[Node, list[tuple[int, Node, Any]]] = {}
    for other in others:
        cost = 0
        if other not in hidden:
            edge = network[other]
            cost = 1 + edge.value + penalty * edge.rank
        for tail, head in arcs[other]:
            graph.setdefault(tail, []).append((cost, head, other))
    best: tuple[int, set[Any]] | None = None
    for tail, head in arcs[key]:
        found = _cheapest(graph, head, tail)
        if found is not None and (best is None or found[0] < best[0]):
            best = found
    return set() if best is None else best[1] - hidden


def _cheapest(
    graph: dict[Node, list[tuple[int, Node, Any]]], start: Node, goal: Node
) -> tuple[int, set[Any]] | None:
    done: set[Node] = set()
    queue: list[tuple[int, int, Node, tuple[Any, ...]]] = [(0, 0, start, ())]
    tick = 0
    while queue:
        cost, _, node, path = heapq.heappop(queue)
        if node == goal:
            return cost, set(path)
        if node in done:
            continue
        done.add(node)
        for step, nxt, key in graph.get(node, ()):
            if nxt not in done:
                tick += 1
                heapq.heappush(queue, (cost + step, tick, nxt, (*path, key)))
    return None


# -- a single table ---------------------------------------------------------------
def grid_network(grid: Sequence[Sequence[int]]) -> Network:
    """An extended grid as a network: entry (i, j) is an edge between row i and
    column j; in the signed grid (cells and the grand total +, the other margins -)
    a +1 entry grows by flow row -> column."""
    rows, columns = len(grid) - 1, len(grid[0]) - 1
    network: Network = {}
    for i in range(rows + 1):
        for j in range(columns + 1):
            row, column = ("r", i), ("c", j)
            up = (row, column) if _sign((i, j), rows, columns) > 0 else (column, row)
            margin = i == rows or j == columns
            network[(i, j)] = Edge(up[0], up[1], int(grid[i][j]), int(margin))
    return network


def pinned(
    grid: Sequence[Sequence[int]], hidden: frozenset[Entry] | set[Entry]
) -> set[Entry]:
    """The hidden entries of an extended grid that the published ones determine."""
    return stuck(grid_network(grid), hidden)


def suppress(cells: Sequence[Sequence[int]], threshold: int) -> Suppressed:
    """Hide every entry under `threshold` and enough others that none is recoverable."""
    if not cells or not cells[0]:
        raise ValueError("a table needs at least one row and one column")
    if any(len(row) != len(cells[0]) for row in cells):
        raise ValueError("every row needs the same number of columns")
    grid = extended(cells)
    hidden = protect(grid_network(grid), threshold)
    return Suppressed(
        cells=tuple(tuple(int(v) for v in row) for row in cells),
        row_totals=tuple(row[-1] for row in grid[:-1]),
        column_totals=tuple(grid[-1][:-1]),
        total=grid[-1][-1],
        hidden=frozenset(hidden),
    )


def suppress_column(values: Sequence[int], threshold: int) -> Suppressed:
    """A one-column table (a count per group) with its total."""
    return suppress([[v] for v in values], threshold)
