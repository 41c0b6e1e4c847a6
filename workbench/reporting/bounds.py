"""What a reader can work out about hidden counts from everything a table shows: their intervals.

A reader of a suppressed table knows every shown count, that the cells of a group add up to
its total, and a range for each hidden cell from its label ("<5": 1 to 4). From these alone a
hidden cell may be pinned to one value, even when no single equation gives it away (four "<5"
cells adding up to a "<5" total are all 1). ``pinned_cells`` finds every such cell exactly,
by linear programming over all equations at once (HiGHS through the binding scipy ships and its
``linprog`` uses, so that one model per system is warm-started from one objective to the next:
5x faster than a fresh ``linprog`` each time; the separate ``highspy`` package prints a banner
to the page's stdout),
the audit that statistics offices run on their suppression patterns.

The equations of tables of counts (cells, margins, shared margins) have 0/±1 coefficients in
the pattern of a network, so the linear programme's bounds are whole numbers and equal the
bounds over whole numbers; the property tests check that with integer programming.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet

import numpy as np

Equation = tuple[Mapping[int, int], float]
"""``({cell: coefficient}, right-hand side)``: the sum of coefficient × cell equals the right-hand side."""

_EPS = 1e-7


def _components(cells: Sequence[int], equations: Sequence[Equation]) -> list[tuple[list[int], list[Equation]]]:
    """The unknowns split into independent systems: cells linked by a shared equation, with their equations."""
    parent = {c: c for c in cells}

    def root(c: int) -> int:
        while parent[c] != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for coefficients, _ in equations:
        linked = [c for c, v in coefficients.items() if v and c in parent]
        for c in linked[1:]:
            parent[root(c)] = root(linked[0])
    members: dict[int, list[int]] = {}
    for c in cells:
        members.setdefault(root(c), []).append(c)
    systems: dict[int, list[Equation]] = {r: [] for r in members}
    for equation in equations:
        linked = [c for c, v in equation[0].items() if v and c in parent]
        if linked:
            systems[root(linked[0])].append(equation)
    return [(members[r], systems[r]) for r in members]


def _pinned_in(cells: list[int], equations: list[Equation], bounds: Mapping[int, tuple[float, float]],
               values: Mapping[int, float], free: AbstractSet[int]) -> set[int]:
    from scipy.optimize._highspy import _core as highspy  # on first use: most tables need no audit

    column = {c: i for i, c in enumerate(cells)}
    rhs = np.array([b for _, b in equations], dtype=float)
    # "No upper bound" as a finite cap far above any solution: the programmes are never unbounded,
    # and a cell that could grow without limit can still grow by 1.
    cap = 10.0 * (float(np.abs(rhs).sum()) + max((abs(v) for v in values.values()), default=0.0) + 10.0)
    lows = np.array([bounds[c][0] for c in cells], dtype=float)
    highs = np.array([cap if math.isinf(bounds[c][1]) else bounds[c][1] for c in cells], dtype=float)
    truth = np.array([values[c] for c in cells], dtype=float)

    solver = highspy._Highs()
    solver.setOptionValue("output_flag", False)
    solver.addVars(len(cells), lows, highs)
    starts: list[int] = []
    indices: list[int] = []
    coefficients: list[float] = []
    for terms, _ in equations:
        starts.append(len(indices))
        for cell, coefficient in terms.items():
            if cell in column and coefficient:
                indices.append(column[cell])
                coefficients.append(float(coefficient))
    if equations:
        solver.addRows(len(equations), rhs, rhs, len(indices), np.array(starts, dtype=np.int32),
                       np.array(indices, dtype=np.int32), np.array(coefficients, dtype=float))
    every = np.arange(len(cells), dtype=np.int32)
    undecided = {i for i, c in enumerate(cells) if c not in free}
    if not undecided:
        return set()

    def solve(objective: np.ndarray) -> None:
        """Minimise (warm-started from the last basis); free every cell the solution moves by 1 or more."""
        solver.changeColsCost(len(cells), every, objective)
        solver.run()
        if solver.getModelStatus() == highspy.HighsModelStatus.kOptimal:
            x = np.asarray(solver.getSolution().col_value)
            undecided.difference_update(np.flatnonzero(np.abs(x - truth) >= 1 - _EPS).tolist())

    # Push every undecided cell away from its true value at once, each towards the bound with room
    # (down when it can go down), then the other way: each solution frees most cells. Repeat while it helps.
    toward = np.where(truth - lows >= 1 - _EPS, 1.0, -1.0)
    while len(undecided) > 1:
        left = len(undecided)
        for flip in (1.0, -1.0):
            objective = np.zeros(len(cells))
            index = sorted(undecided)
            objective[index] = flip * toward[index]
            solve(objective)
        if len(undecided) == left:
            break
    pinned: set[int] = set()
    for i in sorted(undecided):  # what is left, one cell at a time
        for sense in (1.0, -1.0):
            if i not in undecided:
                break
            objective = np.zeros(len(cells))
            objective[i] = sense
            solve(objective)
        if i in undecided:
            pinned.add(cells[i])
            undecided.discard(i)
    return pinned


def pinned_cells(equations: Sequence[Equation], bounds: Mapping[int, tuple[float, float]],
                 values: Mapping[int, float], free: AbstractSet[int] = frozenset()) -> set[int]:
    """The unknown cells (keys of ``bounds``) that take one value only, given the equations and bounds.

    ``values`` are the true values (a solution): a cell is free as soon as any solution found on
    the way moves it by at least 1, so most cells cost no optimisation of their own. Each
    independent part of the system is solved on its own. ``free``: cells known to be free already
    (hiding more cells or widening bounds only adds solutions, so a free cell stays free).
    """
    pinned: set[int] = set()
    for cells, system in _components(sorted(bounds), equations):
        pinned |= _pinned_in(cells, system, bounds, values, free)
    return pinned
