"""Small-cell suppression: no count of 1-4 people is shown, and none can be worked out from what is.

The attacks below are written out and run against the output: subtracting the shown cells
from a shown total, bounding a hidden cell by the labels, and solving the whole system of
group equations exactly (an independent solver over fractions, not the module's own).
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterable, Mapping
from fractions import Fraction
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from workbench.reporting.suppression import (
    HIDDEN_LABEL,
    NO_RATE_LABEL,
    PUBLICATION,
    STANDARD,
    CellStatus,
    Group,
    SuppressionPolicy,
    count_label,
    exposed_cells,
    filter_allowed,
    frame_groups,
    is_small,
    mean_allowed,
    policy_from_name,
    protect,
    rate_columns,
    round_count,
    suppress_counts,
    suppress_rate,
)

# --- an independent attacker ---------------------------------------------------------------------


def solve(equations: Iterable[tuple[Mapping[Hashable, int], int]]) -> dict[Hashable, Fraction]:
    """Every unknown whose value the linear equations ``sum(coef * x) = rhs`` fix (Gauss-Jordan over fractions)."""
    pivots: dict[Hashable, tuple[dict[Hashable, Fraction], Fraction]] = {}
    for coefficients, rhs in equations:
        row = {k: Fraction(v) for k, v in coefficients.items() if v}
        value = Fraction(rhs)
        for key in [k for k in row if k in pivots]:
            factor = row.pop(key)
            rest, pivot_value = pivots[key]
            for k, v in rest.items():
                row[k] = row.get(k, Fraction(0)) - factor * v
                if row[k] == 0:
                    del row[k]
            value -= factor * pivot_value
        if not row:
            assert value == 0, "the attacker's equations contradict each other"
            continue
        lead = next(iter(row))
        scale = row.pop(lead)
        row = {k: v / scale for k, v in row.items()}
        value /= scale
        for key, (rest, pivot_value) in list(pivots.items()):
            if lead in rest:
                factor = rest.pop(lead)
                for k, v in row.items():
                    rest[k] = rest.get(k, Fraction(0)) - factor * v
                    if rest[k] == 0:
                        del rest[k]
                pivots[key] = (rest, pivot_value - factor * value)
        pivots[lead] = (row, value)
    return {key: value for key, (rest, value) in pivots.items() if not rest}


def group_equations(values: list[int | None], shown: list[bool], groups: list[Group]
                    ) -> list[tuple[dict[Hashable, int], int]]:
    """What a reader knows: each group's cells add up to its total; shown cells are constants.
    A group without a total cell has its (true) total published elsewhere."""
    equations = []
    for g in groups:
        coefficients: dict[Hashable, int] = {}
        rhs = 0
        members = [c for c in g.members if values[c] is not None]
        for c in members:
            if shown[c]:
                rhs -= values[c]  # type: ignore[operator]
            else:
                coefficients[c] = coefficients.get(c, 0) + 1
        if g.total is None:
            rhs += sum(values[c] for c in members)  # type: ignore[misc]
        elif shown[g.total]:
            rhs += values[g.total]  # type: ignore[operator]
        else:
            coefficients[g.total] = coefficients.get(g.total, 0) - 1
        if coefficients:
            equations.append((coefficients, rhs))
    return equations


def subtraction_attack(values: list[int | None], shown: list[bool], groups: list[Group]) -> dict[int, int]:
    """The one-step attack: a group with one hidden cell and a shown total gives that cell away."""
    found = {}
    for g in groups:
        hidden = [c for c in g.members if not shown[c]]
        if len(hidden) == 1 and (g.total is None or shown[g.total]):
            total = values[g.total] if g.total is not None else sum(values[c] for c in g.members)
            found[hidden[0]] = total - sum(values[c] for c in g.members if shown[c])  # type: ignore[operator]
    return found


def reader_pins(values: list[int], labels: list[str], groups: list[Group], policy: SuppressionPolicy) -> set[int]:
    """Hidden non-zero cells a reader pins to one whole number from the labels alone (integer programming).

    The reader knows: a "<5" cell is 1..4, a ".." cell is 1 or more (zeros are always shown), a shown cell is its number
    (in publication mode: any count that rounds to it and is not small), and every group's sum.
    """
    m, step = policy.min_count, policy.round_to
    cap = 10 * (max(values) + m)  # "no upper bound", finite for the solver (a stronger reader, if anything)
    bounds: list[tuple[float, float]] = []
    for label in labels:
        if label == policy.small_label:
            bounds.append((1, m - 1))
        elif label == HIDDEN_LABEL:
            bounds.append((1, cap))
        elif step and int(label) > 0:
            bounds.append((max(int(label) - step // 2, m), int(label) + (step - 1) // 2))
        else:
            bounds.append((int(label), int(label)))
    matrix = np.zeros((len(groups), len(values)))
    for row, g in enumerate(groups):
        for c in g.members:
            matrix[row, c] += 1
        if g.total is not None:
            matrix[row, g.total] -= 1
    rhs = np.array([0.0 if g.total is not None else float(sum(values[c] for c in g.members)) for g in groups])
    box = Bounds([b[0] for b in bounds], [b[1] for b in bounds])
    equations = LinearConstraint(matrix, rhs, rhs)
    truth = np.array(values, dtype=float)
    undecided = {c for c, label in enumerate(labels) if label in (policy.small_label, HIDDEN_LABEL) and values[c]}
    pinned = set()
    for cell in sorted(undecided):
        if cell not in undecided:
            continue
        for sense in (1.0, -1.0):
            objective = np.zeros(len(values))
            objective[cell] = sense
            result = milp(objective, integrality=np.ones(len(values)), bounds=box, constraints=equations)
            if result.status == 0:
                undecided -= {int(c) for c in np.flatnonzero(np.abs(result.x - truth) > 0.5)}
            if cell not in undecided:
                break
        if cell in undecided:
            pinned.add(cell)
            undecided.discard(cell)
    return pinned


def labels_of(values: list[int], status: list[CellStatus], policy: SuppressionPolicy) -> list[str]:
    """The labels a reader sees (``suppress_counts``'s rules, for tables built from ``Group``s)."""
    return [str(round_count(v, policy)) if s == CellStatus.SHOWN
            else policy.small_label if s == CellStatus.SMALL else HIDDEN_LABEL for v, s in zip(values, status, strict=True)]


def primary_only(values: list[int], policy: SuppressionPolicy = STANDARD) -> list[bool]:
    """What is shown if only the small cells were hidden (the naive rule the attacks break)."""
    return [not is_small(v, policy) for v in values]


# --- policies, labels, rounding ------------------------------------------------------------------


def test_policies() -> None:
    assert STANDARD == SuppressionPolicy(5, None)
    assert PUBLICATION == SuppressionPolicy(8, 5)
    assert policy_from_name("standard") is STANDARD
    assert policy_from_name(" Publication ") is PUBLICATION
    with pytest.raises(ValueError, match="unknown suppression policy"):
        policy_from_name("lenient")
    for bad in ({"min_count": 0}, {"min_count": True}, {"min_count": 5, "round_to": 1}, {"min_count": 2.5}):
        with pytest.raises(ValueError):
            SuppressionPolicy(**bad)  # type: ignore[arg-type]
    assert STANDARD.small_label == "<5"
    assert PUBLICATION.small_label == "<8"


def test_zero_is_shown_and_one_to_four_are_small() -> None:
    assert [is_small(n, STANDARD) for n in range(7)] == [False, True, True, True, True, False, False]
    assert [is_small(n, PUBLICATION) for n in range(10)] == [False] + [True] * 7 + [False, False]
    assert [count_label(n, STANDARD) for n in (0, 1, 4, 5, 17)] == ["0", "<5", "<5", "5", "17"]


def test_publication_rounds_to_five() -> None:
    assert [round_count(n, PUBLICATION) for n in (0, 8, 10, 12, 13, 17, 18, 102, 103)] == [
        0, 10, 10, 10, 15, 15, 20, 100, 105]
    assert round_count(15, SuppressionPolicy(5, 10)) == 20  # halves go up
    assert [count_label(n, PUBLICATION) for n in (0, 3, 7, 8, 12, 13)] == ["0", "<8", "<8", "10", "10", "15"]
    assert round_count(13, STANDARD) == 13


def test_means_and_filters() -> None:
    assert not mean_allowed(4, STANDARD) and mean_allowed(5, STANDARD)
    assert not mean_allowed(7, PUBLICATION) and mean_allowed(8, PUBLICATION)
    assert filter_allowed(0, STANDARD)  # an empty selection shows nothing
    assert not filter_allowed(3, STANDARD)
    assert filter_allowed(40, STANDARD, n_all=100)
    assert not filter_allowed(97, STANDARD, n_all=100)  # "everybody but three" describes the three
    assert filter_allowed(100, STANDARD, n_all=100)
    assert not filter_allowed(95, PUBLICATION, n_all=100)


def test_rate_of_single_counts() -> None:
    assert suppress_rate(3, 20, STANDARD) == (None, "<5")
    assert suppress_rate(8, 3, STANDARD) == (None, "<5")
    assert suppress_rate(0, 20, STANDARD) == (0.0, "0 %")
    assert suppress_rate(0, 0, STANDARD) == (None, NO_RATE_LABEL)
    assert suppress_rate(13, 20, STANDARD) == (0.65, "65 %")
    value, label = suppress_rate(13, 22, PUBLICATION)  # from the shown counts: 15 / 20
    assert (value, label) == (0.75, "75 %")


# --- the example: three escorted citizens at a site ----------------------------------------


SITES = pl.DataFrame({
    "site": ["ODE", "SVE", "AAR", "total"],
    "escorted": [20, 3, 30, 53],
    "is_total": [False, False, False, True],
})


def test_a_site_with_three_escorted_never_shows_three() -> None:
    out = suppress_counts(SITES, "escorted", within=[], total="is_total", policy=STANDARD)
    sve = out.row(1, named=True)
    assert sve["escorted"] is None and sve["escorted_label"] == "<5" and sve["escorted_suppressed"]
    assert "3" not in sve["escorted_label"]
    # nothing shown equals 3, and 3 is not what is left after subtracting the shown sites from the total
    shown = out.filter(~pl.col("escorted_suppressed"))
    assert 3 not in shown.get_column("escorted").to_list()
    left_over = 53 - shown.filter(~pl.col("is_total")).get_column("escorted").sum()
    assert left_over != 3
    assert out.get_column("escorted_label").to_list() == [HIDDEN_LABEL, "<5", "30", "53"]


def test_the_subtraction_attack_works_on_primary_suppression_and_fails_after_complements() -> None:
    values = SITES.get_column("escorted").to_list()
    groups = frame_groups(SITES, within=[], total="is_total")
    assert groups == [Group((0, 1, 2), 3)]
    naive = subtraction_attack(values, primary_only(values), groups)
    assert naive == {1: 3}  # the naive table gives the three away
    status = protect(values, groups, STANDARD)
    assert status == [CellStatus.COMPLEMENT, CellStatus.SMALL, CellStatus.SHOWN, CellStatus.SHOWN]
    shown = [s == CellStatus.SHOWN for s in status]
    assert subtraction_attack(values, shown, groups) == {}
    assert solve(group_equations(values, shown, groups)) == {}
    assert exposed_cells(values, groups, status, STANDARD) == set()


def test_complement_is_the_smallest_other_non_zero_cell() -> None:
    frame = pl.DataFrame({"n": [3, 0, 40, 9, 0, 52], "t": [False] * 5 + [True]})
    out = suppress_counts(frame, "n", within=[], total="t", policy=STANDARD)
    assert out.get_column("n_label").to_list() == ["<5", "0", "40", HIDDEN_LABEL, "0", "52"]


def test_a_small_total_is_hidden_with_its_only_cell() -> None:
    frame = pl.DataFrame({"n": [3, 0, 0, 3], "t": [False, False, False, True]})
    out = suppress_counts(frame, "n", within=[], total="t", policy=STANDARD)
    assert out.get_column("n_label").to_list() == ["<5", "0", "0", "<5"]
    assert out.get_column("n").to_list() == [None, 0, 0, None]


def test_groups_by_column_and_rows_outside_every_group() -> None:
    frame = pl.DataFrame({
        "month": ["jan", "jan", "jan", "feb", "feb", "feb", None],
        "site": ["A", "B", "total", "A", "B", "total", "A"],
        "n": [2, 10, 12, 6, 7, 13, 1],
    }).with_columns((pl.col("site") == "total").alias("is_total"))
    out = suppress_counts(frame, "n", within="month", total="is_total", policy=STANDARD)
    # jan: 2 is small and 10 complements it (12 = a cell in 1..4 + a cell of 5 or more: 2 unknowns,
    # neither pinned); feb has nothing small; the row without a month is in no group.
    assert out.get_column("n_label").to_list() == ["<5", HIDDEN_LABEL, "12", "6", "7", "13", "<5"]


def test_labels_and_null_counts() -> None:
    frame = pl.DataFrame({"n": [None, 0, 6, 2, 8], "t": [False, False, False, False, True]},
                         schema={"n": pl.Int64, "t": pl.Boolean})
    out = suppress_counts(frame, "n", within=[], total="t", policy=STANDARD)
    assert out.get_column("n_label").to_list() == ["", "0", HIDDEN_LABEL, "<5", "8"]
    assert out.get_column("n_suppressed").to_list() == [False, False, True, True, False]
    assert out.schema["n"] == pl.Int64 and out.schema["n_label"] == pl.String


def test_bounds_attack_one_plus_five() -> None:
    """Total 36 = 1 + 5 + 30: with "<5" and ".." labels, hiding 1 and 5 alone pins the 1 (and the 5)."""
    values = [1, 5, 30, 36]
    groups = [Group((0, 1, 2), 3)]
    status = protect(values, groups, STANDARD)
    assert status == [CellStatus.SMALL, CellStatus.COMPLEMENT, CellStatus.COMPLEMENT, CellStatus.SHOWN]
    assert exposed_cells(values, groups, status, STANDARD) == set()
    # the attack: a "<5" cell lies in 1..4, a ".." cell is at least 5
    naive = [CellStatus.SMALL, CellStatus.COMPLEMENT, CellStatus.SHOWN, CellStatus.SHOWN]
    assert exposed_cells(values, groups, naive, STANDARD) == {0, 1}


def test_five_ones_add_up_to_a_shown_five() -> None:
    values = [1, 1, 1, 1, 1, 5]
    groups = [Group((0, 1, 2, 3, 4), 5)]
    status = protect(values, groups, STANDARD)
    assert status[5] == CellStatus.COMPLEMENT  # every cell is 1 if the total shows 5
    assert exposed_cells(values, groups, status, STANDARD) == set()


def test_publication_mode_rounds_shown_cells_and_suppresses_up_to_seven() -> None:
    frame = pl.DataFrame({"n": [7, 8, 12, 13, 0, 100, 140], "t": [False] * 6 + [True]})
    out = suppress_counts(frame, "n", within=[], total="t", policy=PUBLICATION)
    labels = out.get_column("n_label").to_list()
    assert labels[0] == "<8" and labels[4] == "0"
    assert labels[1] == HIDDEN_LABEL  # the smallest other non-zero cell complements the 7
    assert labels[2:4] == ["10", "15"] and labels[5:] == ["100", "140"]
    assert all(v % 5 == 0 for v in out.get_column("n").drop_nulls().to_list())


def test_a_cross_table_needs_the_linear_check() -> None:
    """Two blocks of small cells joined by one small cell: every row and column has two or more
    hidden cells, yet the joining cell follows from the margins. Only rule 3c catches it."""
    small = {(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (2, 2), (2, 3), (3, 2), (3, 3)}
    cells = {(r, c): (2 if (r, c) in small else 20) for r in range(4) for c in range(4)}
    frame, values = table_frame(cells, 4, 4)
    groups = frame_groups(frame, within=[["row"], ["col"]], total=["row_total", "col_total"])
    naive = primary_only(values)
    # every group has 0 or >= 2 hidden cells under the naive rule ...
    for g in groups:
        assert sum(not naive[c] for c in (*g.members, g.total)) != 1
    # ... but the joining cell (1, 2) is determined
    bridge = frame.with_row_index("i").filter((pl.col("row") == 1) & (pl.col("col") == 2)).item(0, "i")
    recovered = solve(group_equations(values, naive, groups))
    assert recovered == {bridge: 2}
    status = protect(values, groups, STANDARD)
    shown = [s == CellStatus.SHOWN for s in status]
    assert solve(group_equations(values, shown, groups)) == {}
    assert exposed_cells(values, groups, status, STANDARD) == set()


def test_a_cumulative_line_next_to_the_monthly_bars() -> None:
    """C(m) - C(m-1) = x(m): showing every cumulative point would give each hidden month away."""
    months = [9, 3, 8, 0, 12, 6]
    cumulative = list(itertools.accumulate(months))
    n = len(months)
    frame = pl.DataFrame({
        "part": ["month"] * n + ["cum"] * n, "m": list(range(1, n + 1)) * 2, "n": months + cumulative})
    even, odd = pl.col("m") % 2 == 0, pl.col("m") % 2 == 1
    is_month, is_cum = pl.col("part") == "month", pl.col("part") == "cum"
    # relation m: {C(m-1), x(m)} add up to C(m); every cumulative cell closes one relation and opens the next
    frame = frame.with_columns(
        pl.when((is_month | is_cum) & even).then(pl.col("m")).when(is_cum & odd).then(pl.col("m") + 1).alias("k_even"),
        (is_cum & even).alias("t_even"),
        pl.when((is_month | is_cum) & odd).then(pl.col("m")).when(is_cum & even).then(pl.col("m") + 1).alias("k_odd"),
        (is_cum & odd).alias("t_odd"),
    )
    within, total = [["k_even"], ["k_odd"]], ["t_even", "t_odd"]
    groups = frame_groups(frame, within=within, total=total)
    values = frame.get_column("n").to_list()
    assert subtraction_attack(values, primary_only(values), groups) == {1: 3}  # C(2) - C(1) = 3
    out = suppress_counts(frame, "n", within=within, total=total, policy=STANDARD)
    shown = [not h for h in out.get_column("n_suppressed").to_list()]
    assert not shown[1]
    assert subtraction_attack(values, shown, groups) == {}
    assert solve(group_equations(values, shown, groups)) == {}
    assert "3" not in out.get_column("n_label").to_list()


def test_priority_keeps_important_cells_and_hidden_forces_cells() -> None:
    frame = pl.DataFrame({"n": [3, 10, 12, 25], "t": [False, False, False, True], "keep": [0, 1, 0, 2]})
    plain = suppress_counts(frame, "n", within=[], total="t", policy=STANDARD)
    assert plain.get_column("n_label").to_list() == ["<5", HIDDEN_LABEL, "12", "25"]  # the smallest other
    kept = suppress_counts(frame, "n", within=[], total="t", policy=STANDARD, priority="keep")
    assert kept.get_column("n_label").to_list() == ["<5", "10", HIDDEN_LABEL, "25"]  # the less important one
    forced = pl.DataFrame({"n": [20, 30, 0, 50], "t": [False, False, False, True], "elsewhere": [True, False, True, False]})
    out = suppress_counts(forced, "n", within=[], total="t", policy=STANDARD, hidden="elsewhere")
    # 20 is hidden in another table, so 30 must go too; a 0 stays 0
    assert out.get_column("n_label").to_list() == [HIDDEN_LABEL, HIDDEN_LABEL, "0", "50"]


def test_several_count_columns_and_row_order_are_kept() -> None:
    frame = pl.DataFrame({"k": ["b", "a", "c", "t"], "x": [1, 9, 9, 19], "y": [10, 10, 10, 30],
                          "t": [False, False, False, True]})
    out = suppress_counts(frame, ["x", "y"], within=[], total="t", policy=STANDARD)
    assert out.get_column("k").to_list() == ["b", "a", "c", "t"]
    assert out.get_column("x_label").to_list() == ["<5", HIDDEN_LABEL, "9", "19"]
    assert out.get_column("y_label").to_list() == ["10", "10", "10", "30"]
    again = suppress_counts(frame, ["x", "y"], within=[], total="t", policy=STANDARD)
    assert again.equals(out)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="total rows"):
        frame_groups(pl.DataFrame({"g": [1, 1, 1], "t": [True, True, False]}), within="g", total="t")
    with pytest.raises(ValueError, match="0 or more"):
        protect([3, -1], [], STANDARD)
    with pytest.raises(ValueError, match="one total column"):
        frame_groups(pl.DataFrame({"g": [1]}), within=[["g"], ["g"]], total=["g"])


def test_rate_columns_follow_the_counts() -> None:
    frame = pl.DataFrame({
        "site": ["A", "B", "C", "total"], "num": [3, 12, 0, 15], "den": [10, 20, 6, 36],
        "t": [False, False, False, True]})
    out = suppress_counts(frame, ["num", "den"], within=[], total="t", policy=STANDARD)
    out = rate_columns(out, "num", "den", "rate", STANDARD)
    assert out.get_column("rate_label").to_list() == ["<5", HIDDEN_LABEL, "0 %", "42 %"]
    assert out.get_column("rate").to_list()[:3] == [None, None, 0.0]
    empty = suppress_counts(pl.DataFrame({"num": [0], "den": [0]}), ["num", "den"], within=[], policy=STANDARD)
    assert rate_columns(empty, "num", "den", "r", STANDARD).item(0, "r_label") == NO_RATE_LABEL


# --- property: random tables ---------------------------------------------------------------------


def table_frame(cells: Mapping[tuple[int, int], int], rows: int, cols: int) -> tuple[pl.DataFrame, list[int]]:
    """A long frame of a rows x cols table with its row totals, column totals and grand total."""
    records = []
    for r in range(rows + 1):
        for c in range(cols + 1):
            if r < rows and c < cols:
                value = cells[(r, c)]
            elif r < rows:
                value = sum(cells[(r, k)] for k in range(cols))
            elif c < cols:
                value = sum(cells[(k, c)] for k in range(rows))
            else:
                value = sum(cells.values())
            records.append({"row": r, "col": c, "n": value, "row_total": c == cols, "col_total": r == rows})
    frame = pl.DataFrame(records)
    return frame, frame.get_column("n").to_list()


counts = st.one_of(st.just(0), st.integers(1, 4), st.integers(1, 7), st.integers(5, 60))


@st.composite
def tables(draw: Any) -> tuple[dict[tuple[int, int], int], int, int]:
    rows, cols = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    return {(r, c): draw(counts) for r in range(rows) for c in range(cols)}, rows, cols


#: A privacy property must not pass by luck: every suppression property runs this many examples
#: (derandomized in CI's Hypothesis profile, see conftest.py).
EXAMPLES = 1000
GATE = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: One site, one month, four community kinds, one escort in each: every cell, margin and total is
#: "<5", and four hidden cells of at least 1 adding up to a hidden total of at most 4 are all 1.
ONE_IN_EACH = ({(0, 0): 1, (0, 1): 1, (0, 2): 1, (0, 3): 1}, 1, 4)


@GATE
@given(tables(), st.sampled_from([STANDARD, PUBLICATION]))
@example(ONE_IN_EACH, STANDARD)
@example(ONE_IN_EACH, PUBLICATION)
def test_property_cross_tables_with_margins(table: tuple[dict[tuple[int, int], int], int, int],
                                            policy: SuppressionPolicy) -> None:
    cells, rows, cols = table
    frame, values = table_frame(cells, rows, cols)
    out = suppress_counts(frame, "n", within=[["row"], ["col"]], total=["row_total", "col_total"], policy=policy)
    shown_values = out.get_column("n").to_list()
    hidden = out.get_column("n_suppressed").to_list()
    # no shown cell is small; a shown cell is the true one (rounded in publication mode)
    for true, value, is_hidden in zip(values, shown_values, hidden, strict=True):
        assert is_hidden == (value is None)
        if value is not None:
            assert not is_small(value, policy) and not is_small(true, policy)
            assert value == round_count(true, policy)
        if is_small(true, policy):
            assert is_hidden
    groups = frame_groups(frame, within=[["row"], ["col"]], total=["row_total", "col_total"])
    shown = [not h for h in hidden]
    # every group has 0 or at least 2 unknowns (hidden members, plus its total when hidden)
    for g in groups:
        assert sum(not shown[c] for c in (*g.members, g.total)) != 1
    # neither subtraction nor the whole linear system gives a hidden cell away
    assert subtraction_attack(values, shown, groups) == {}
    assert solve(group_equations(values, shown, groups)) == {}
    status = protect(values, groups, policy)
    assert exposed_cells(values, groups, status, policy) == set()
    assert reader_pins(values, out.get_column("n_label").to_list(), groups, policy) == set()


def test_one_in_each_of_four_kinds_is_withheld_not_given_away() -> None:
    frame, values = table_frame(*ONE_IN_EACH)
    out = suppress_counts(frame, "n", within=[["row"], ["col"]], total=["row_total", "col_total"], policy=STANDARD)
    assert set(out.get_column("n_label")) == {HIDDEN_LABEL}  # not "<5": that would say "at least 1" of each
    groups = frame_groups(frame, within=[["row"], ["col"]], total=["row_total", "col_total"])
    assert reader_pins(values, ["<5"] * len(values), groups, STANDARD) == set(range(len(values)))  # the old labels
    assert reader_pins(values, out.get_column("n_label").to_list(), groups, STANDARD) == set()


def test_a_small_site_with_one_case_in_each_of_four_months_keeps_the_other_sites() -> None:
    """Rows are sites, columns months: a site with 4 cases, one a month, is pinned by its own row alone."""
    cells = {(0, c): 1 if c < 4 else 0 for c in range(6)} | {(r, c): 10 + r + c for r in (1, 2) for c in range(6)}
    frame, values = table_frame(cells, 3, 6)
    within, total = [["row"], ["col"]], ["row_total", "col_total"]
    out = suppress_counts(frame, "n", within=within, total=total, policy=STANDARD)
    groups = frame_groups(frame, within=within, total=total)
    labels = out.get_column("n_label").to_list()
    assert reader_pins(values, labels, groups, STANDARD) == set()
    grand = out.filter(pl.col("row_total") & pl.col("col_total"))
    assert grand.item(0, "n_label") == str(sum(cells.values()))  # the grand total is still shown
    assert sum(label.isdigit() for label in labels) >= len(labels) // 3  # most of the table is still there


@st.composite
def shared_margin_tables(draw: Any) -> tuple[list[int], list[Group]]:
    """The same people cut two ways, sites x kinds and months x kinds, sharing the kinds' totals."""
    sites, months, kinds = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    by_site = [[draw(counts) for _ in range(kinds)] for _ in range(sites)]
    kind_totals = [sum(row[k] for row in by_site) for k in range(kinds)]
    # the months split each kind's total the same people differently
    by_month = [[0] * kinds for _ in range(months)]
    for k, n in enumerate(kind_totals):
        for _ in range(n):
            by_month[draw(st.integers(0, months - 1))][k] += 1
    values: list[int] = []

    def cell(v: int) -> int:
        values.append(v)
        return len(values) - 1

    site_cells = [[cell(v) for v in row] for row in by_site]
    month_cells = [[cell(v) for v in row] for row in by_month]
    site_totals = [cell(sum(row)) for row in by_site]
    month_totals = [cell(sum(row)) for row in by_month]
    kind_cells = [cell(n) for n in kind_totals]
    grand = cell(sum(kind_totals))
    groups = [Group(tuple(row), t) for row, t in zip(site_cells, site_totals, strict=True)]
    groups += [Group(tuple(row), t) for row, t in zip(month_cells, month_totals, strict=True)]
    groups += [Group(tuple(row[k] for row in site_cells), kind_cells[k]) for k in range(kinds)]
    groups += [Group(tuple(row[k] for row in month_cells), kind_cells[k]) for k in range(kinds)]
    groups += [Group(tuple(site_totals), grand), Group(tuple(month_totals), grand), Group(tuple(kind_cells), grand)]
    return values, groups


@GATE
@given(shared_margin_tables(), st.sampled_from([STANDARD, PUBLICATION]))
def test_property_two_tables_sharing_a_margin(table: tuple[list[int], list[Group]], policy: SuppressionPolicy) -> None:
    values, groups = table
    status = protect(values, groups, policy)
    assert all(status[c] != CellStatus.SHOWN for c, v in enumerate(values) if is_small(v, policy))
    assert exposed_cells(values, groups, status, policy) == set()
    assert reader_pins(values, labels_of(values, status, policy), groups, policy) == set()


@GATE
@given(st.lists(counts, min_size=1, max_size=8), st.sampled_from([STANDARD, PUBLICATION]))
def test_property_one_group_with_its_total_published_elsewhere(values: list[int], policy: SuppressionPolicy) -> None:
    frame = pl.DataFrame({"n": values}, schema={"n": pl.Int64})
    out = suppress_counts(frame, "n", within=[], policy=policy)
    shown = [not h for h in out.get_column("n_suppressed").to_list()]
    assert all(not is_small(v, policy) for v, s in zip(values, shown, strict=True) if s)
    hidden = sum(not s for s in shown)
    total = sum(values)
    # 0 or >= 2 hidden cells -- unless no other non-zero cell exists, and then the total is the one
    # small cell itself, hidden wherever it is published through this module
    assert hidden != 1 or is_small(total, policy)
    if hidden >= 2 or not is_small(total, policy):
        groups = [Group(tuple(range(len(values))))]
        assert subtraction_attack(values, shown, groups) == {}  # type: ignore[arg-type]
        assert solve(group_equations(values, shown, groups)) == {}  # type: ignore[arg-type]


def test_exhaustive_small_groups_have_no_pinned_cell() -> None:
    """Every group of three cells with values 0..9 and a shown total: no hidden cell is pinned by the bounds."""
    for values in itertools.product(range(10), repeat=3):
        cells = [*values, sum(values)]
        groups = [Group((0, 1, 2), 3)]
        status = protect(cells, groups, STANDARD)
        assert exposed_cells(cells, groups, status, STANDARD) == set(), values
        assert all(status[i] != CellStatus.SHOWN for i, v in enumerate(cells) if is_small(v, STANDARD))
