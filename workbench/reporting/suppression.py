"""Small-cell suppression: every count, rate and mean the workbench shares passes through here.

Cases are special-category personal data (GDPR art. 9). A number about one to four people
can point at them ("the one citizen from Køge referred by psychiatry in March who dropped
out"), so aggregated outputs never show a count of 1 .. ``min_count - 1`` people, nor
anything from which such a count can be worked out.

Vocabulary
----------
A *cell* is one count of people (citizens, cases, brobyggere) in a table. A *group* is a
set of cells that add up to a *total*: the sites of one month add up to the month's total,
the months of one site add up to the site's total, the cumulative count at the end of
March is the one at the end of February plus March. ``suppress_counts`` finds the groups
from ``within`` (the columns whose values identify a group; several groupings for a cross
table) and ``total`` (a boolean column marking the group's total row). A group without a
total row is taken to have its total published elsewhere, i.e. known to the reader.

The rules (``protect`` implements them; ``SuppressionPolicy`` sets the threshold)
-----------------------------------------------------------------------------------
1. **Zero is shown.** A cell of 0 describes nobody and cannot identify anyone; hiding it
   would also make every table of a small site unreadable. Zero cells are never hidden and
   never chosen as complements. Consequence: a reader knows every hidden cell is at least 1,
   and rules 3b, 3d and 3e account for that.
2. **Primary suppression.** A cell of 1 .. ``min_count - 1`` is hidden: value null, label
   ``policy.small_label`` ("<5"; "<8" in publication mode).
3. **Secondary (complementary) suppression.** After rule 2, repeat until nothing changes:

   a. *Subtraction.* In every group count the unknowns: its hidden member cells, plus its
      total when the total row is itself hidden. Exactly one unknown can be recovered by
      subtracting the shown cells from the total, so hide one more cell of the group (a
      *complement*). The complement is the group's shown non-zero cell (members and total)
      with, in this order: the lowest ``priority`` (optional; e.g. keep a site's total and
      hide a monthly cell instead), the fewest groups of its own that have nothing hidden yet
      (hiding it there would open a new problem), a member rather than the total, the
      smallest value, the first row. With one grouping and no priorities this is the classic
      rule: *the smallest other non-zero cell of the group*.
   b. *Bounds.* A reader knows a "<5" cell lies in 1..4 and a complement in 5.. (rule 3's
      label differs, see below). With those bounds two or more unknowns can still pin a
      cell (total 6 = one "<5" cell + one hidden cell of at least 5: the small one is 1;
      total 13 = 4 + 4 + a shown 5: both "<5" cells are 4; five hidden cells adding up to 5
      are all 1). A group where any unknown is pinned gets another complement as in (a).
   c. *Linear combinations.* With several groupings (a cross table with both margins, a
      cumulative series next to the monthly one) a cell can be recovered by combining
      equations of different groups (C(Dec) - C(Jan) minus the shown months). All group
      equations over the hidden cells are reduced to row echelon form (Gaussian
      elimination, exact modulo the prime 2**61 - 1, which for these 0/+-1 systems gives the
      rational rank), keeping track of which equations each row combines. Every hidden cell
      the system determines gets a complement among the shown cells that its derivation uses
      (chosen in the order of (a)), and the rules run again until nothing is determined.
   d. *Bounds across groups.* The reader's full knowledge -- every group equation at once, a
      "<5" cell in 1..4, a ".." complement at least 5, a withheld cell (3e) at least 1 -- is
      audited exactly: for each hidden cell the smallest and largest value it can take is found
      by linear programming (``workbench.reporting.bounds``). A cell pinned to one value gets a complement
      from its groups (in the order of (a)); when they have none left, rule 3e; when that
      changes nothing, the same one step further out (groups that share a hidden cell with
      them), until no non-zero cell is pinned.
   e. *Withholding.* Where only the "<5" label itself gives cells away (one site, one month,
      four community kinds with one person each: four cells of at least 1 under a "<5" total
      of at most 4 are all 1), the "<5" cells of the group are shown as ".." instead: still
      hidden, now without the upper bound of 4 that pinned them. What a statistics office does
      when a table is too thin to publish as it stands: it says less, not something false.
   Complements are labelled ``HIDDEN_LABEL`` (".."), not "<5": they are not small, and
   calling a cell of 40 "<5" would mislead the reader. Rules 3b and 3d account for what the
   different label tells a reader. A small cell may therefore show as ".." (3e), never a
   small number.
4. **Rounding (publication mode).** With ``round_to`` set, every shown count is rounded to
   the nearest multiple (halves up; 0 stays 0). The rules above run on the true counts.
5. **Rates.** A rate is shown only when its numerator and denominator are both shown cells
   and the denominator is not 0; it is computed from the *shown* (possibly rounded)
   counts, so it cannot undo rounding. A rate over a "<5" cell is labelled "<5"; over a
   complement ".."; over an empty denominator "–".
6. **Means.** Never a mean (or any statistic) over fewer than ``min_count`` people
   (``mean_allowed``).
7. **Differencing across filters.** Two views with different filters (all ages vs. adults
   and elderly; January-June vs. January-July) differ by the cases one filter adds; their
   difference is a table of those cases, which no single-view rule protects.
   - Publication mode: every shown count is rounded to 5, so the difference of two views is
     known only to within +-5 per cell (more over several cells); exact small counts
     cannot be recovered. Use publication mode for anything leaving the organisation.
   - Standard mode: the residual risk is real. The dashboard must refuse a filter whose
     selection, or whose complement within the unfiltered data, holds 1 .. min_count - 1
     cases (``filter_allowed(n_selected, policy, n_all=...)``), which stops the
     one-step "everybody but X" attack. It does not stop differencing of two arbitrary
     overlapping filters (e.g. two periods a month apart); standard mode is therefore for
     staff who may see the underlying case work anyway (the project lead), not for export.

Residual risks this module does not remove (documented so that callers can decide):
- Implied cells: nested counts (referred >= conversation >= escorted) imply the
  drop-outs between steps (referred - conversation), which are not cells of any table.
- A group whose total is published elsewhere (no total row passed) can only be protected
  with cells of the group itself. Pass the total row whenever it is shown with the table.
- The same number shown by two separate calls is protected by each call on its own;
  ``workbench.reporting.analysis`` builds the tables that share margins in one call for that reason.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from enum import IntEnum

import polars as pl

from workbench.reporting.bounds import Equation, pinned_cells

__all__ = [
    "HIDDEN_LABEL", "NO_RATE_LABEL", "PUBLICATION", "STANDARD", "CellStatus", "Group", "SuppressionPolicy",
    "count_label", "exposed_cells", "filter_allowed", "frame_groups", "is_small", "mean_allowed", "policy_from_name",
    "protect", "rate_columns", "round_count", "suppress_counts", "suppress_rate",
]

HIDDEN_LABEL = ".."
"""Label of a complementary (secondary) suppressed cell: hidden, not small."""

NO_RATE_LABEL = "–"
"""Label of a rate with nothing to show (an empty denominator)."""


@dataclass(frozen=True)
class SuppressionPolicy:
    """How strictly counts are protected.

    ``min_count``: counts of 1 .. ``min_count - 1`` are suppressed (0 is shown).
    ``round_to``: None, or the multiple every shown count is rounded to (publication mode).
    """

    min_count: int = 5
    round_to: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.min_count, bool) or not isinstance(self.min_count, int) or self.min_count < 1:
            raise ValueError("min_count must be a whole number of at least 1")
        if self.round_to is not None and (
                isinstance(self.round_to, bool) or not isinstance(self.round_to, int) or self.round_to < 2):
            raise ValueError("round_to must be None or a whole number of at least 2")

    @property
    def small_label(self) -> str:
        """The label of a suppressed small count, e.g. "<5"."""
        return f"<{self.min_count}"


STANDARD = SuppressionPolicy(5, None)
"""Counts of 1-4 suppressed, the rest shown exactly (the design's rule for every shared number)."""

PUBLICATION = SuppressionPolicy(8, 5)
"""Stricter, for material leaving the organisation: counts of 1-7 suppressed, the rest rounded to 5."""

_POLICIES = {"standard": STANDARD, "publication": PUBLICATION}


def policy_from_name(name: str) -> SuppressionPolicy:
    """``"standard"`` or ``"publication"`` (case-insensitive) as a policy."""
    try:
        return _POLICIES[str(name).strip().lower()]
    except KeyError:
        raise ValueError(f"unknown suppression policy {name!r}; choose one of {sorted(_POLICIES)}") from None


class CellStatus(IntEnum):
    """What happened to one cell."""

    SHOWN = 0
    SMALL = 1  # primary suppression: 1 .. min_count - 1
    COMPLEMENT = 2  # secondary suppression: hidden so that a small cell cannot be worked out
    WITHHELD = 3  # a small cell shown as ".." instead of "<5", because the "<5" would give it away


def is_small(n: int, policy: SuppressionPolicy) -> bool:
    """Whether a count is suppressed by itself (1 .. min_count - 1; 0 is not small)."""
    return 0 < n < policy.min_count


def round_count(n: int, policy: SuppressionPolicy) -> int:
    """A shown count as the policy shows it: rounded to the nearest multiple (halves up) in publication mode."""
    step = policy.round_to
    if not step:
        return n
    return (n + step // 2) // step * step


def count_label(n: int, policy: SuppressionPolicy) -> str:
    """The label of one count on its own (primary rule only; tables use ``suppress_counts``)."""
    return policy.small_label if is_small(n, policy) else str(round_count(n, policy))


def mean_allowed(n: int, policy: SuppressionPolicy) -> bool:
    """Whether a mean (or any statistic) over ``n`` people may be shown: never over fewer than min_count."""
    return n >= policy.min_count


def filter_allowed(n_cases: int, policy: SuppressionPolicy, *, n_all: int | None = None) -> bool:
    """Whether a filter selecting ``n_cases`` cases may be shown.

    Refused when the selection holds 1 .. min_count - 1 cases, or (given ``n_all``, the
    cases of the unfiltered view) when the cases it leaves out are that few: comparing the
    view with the unfiltered one would describe them. An empty selection is allowed.
    """
    if is_small(n_cases, policy):
        return False
    return not (n_all is not None and is_small(n_all - n_cases, policy))


def _percent(rate: float) -> str:
    return f"{math.floor(rate * 100 + 0.5)} %"


def suppress_rate(numerator: int, denominator: int, policy: SuppressionPolicy) -> tuple[float | None, str]:
    """One rate from true counts: ``(value or None, label)``.

    Hidden ("<5") when the numerator or the denominator is small; "–" when the denominator is 0;
    otherwise computed from the shown (rounded, in publication mode) counts. For rates in a
    table whose counts passed ``suppress_counts`` use ``rate_columns``, which also hides a rate
    over a complement.
    """
    if denominator == 0:
        return None, NO_RATE_LABEL
    if is_small(numerator, policy) or is_small(denominator, policy):
        return None, policy.small_label
    shown_den = round_count(denominator, policy)
    rate = round_count(numerator, policy) / shown_den
    return rate, _percent(rate)


# --- the engine ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """Cells (indices) that add up to a total: a total cell, or ``None`` when the total is published elsewhere."""

    members: tuple[int, ...]
    total: int | None = None


_PRIME = (1 << 61) - 1


def _cells(group: Group) -> tuple[int, ...]:
    """The group's members and its total."""
    return group.members if group.total is None else (*group.members, group.total)


def _unknowns(group: Group, status: list[CellStatus]) -> tuple[list[int], bool]:
    hidden = [c for c in group.members if status[c] != CellStatus.SHOWN]
    total_hidden = group.total is not None and status[group.total] != CellStatus.SHOWN
    return hidden, total_hidden


def _range(status: CellStatus, m: int) -> tuple[float, float]:
    """What a reader knows of a hidden cell (zeros are never hidden): "<5" is 1..4, a complement at least 5,
    a withheld small cell (also "..") at least 1."""
    if status == CellStatus.SMALL:
        return (1.0, float(m - 1))
    return (float(m), math.inf) if status == CellStatus.COMPLEMENT else (1.0, math.inf)


def _pinned(group: Group, values: Sequence[int], status: list[CellStatus], m: int) -> bool:
    """Whether a reader can work out a hidden cell of this group from its equation and the cells' bounds."""
    hidden, total_hidden = _unknowns(group, status)
    count = len(hidden) + total_hidden
    if count == 0:
        return False
    if count == 1:
        return True
    shown_sum = sum(values[c] for c in group.members if status[c] == CellStatus.SHOWN)
    if total_hidden:
        rhs = -shown_sum
    else:
        total = values[group.total] if group.total is not None else sum(values[c] for c in group.members)
        rhs = total - shown_sum
    # the equation: sum(sign * x) = rhs over the unknowns, each x within its bounds
    terms = [(1, *_range(status[c], m)) for c in hidden]
    if total_hidden:
        assert group.total is not None
        terms.append((-1, *_range(status[group.total], m)))
    # range of the whole left-hand side as (finite part, number of infinite parts)
    low = [0.0, 0]
    high = [0.0, 0]
    for sign, lo, hi in terms:
        for bound, part in ((low, lo if sign > 0 else -hi), (high, hi if sign > 0 else -lo)):
            if math.isinf(part):
                bound[1] += 1
            else:
                bound[0] += part
    for sign, lo, hi in terms:
        own_low, own_high = (lo, hi) if sign > 0 else (-hi, -lo)
        # the others' range: the whole minus this term
        if math.isinf(own_low):
            others_low = -math.inf if low[1] > 1 else low[0]
        else:
            others_low = -math.inf if low[1] else low[0] - own_low
        if math.isinf(own_high):
            others_high = math.inf if high[1] > 1 else high[0]
        else:
            others_high = math.inf if high[1] else high[0] - own_high
        term_low, term_high = rhs - others_high, rhs - others_low  # range of sign * x
        x_low, x_high = (term_low, term_high) if sign > 0 else (-term_high, -term_low)
        if max(x_low, lo) == min(x_high, hi):
            return True
    return False


def _axpy(target: dict[int, int], source: Mapping[int, int], factor: int) -> None:
    """target -= factor * source, modulo the prime, dropping zeros."""
    for k, v in source.items():
        new = (target.get(k, 0) - factor * v) % _PRIME
        if new:
            target[k] = new
        else:
            target.pop(k, None)


def _eliminate(groups: Sequence[Group], status: list[CellStatus]
               ) -> tuple[dict[int, dict[int, int]], list[dict[int, int]]]:
    """Gauss-Jordan elimination, modulo a large prime, of the group equations over the hidden cells.

    Returns the hidden cells the equations determine, each with the combination of groups
    (group index -> coefficient) that gives it away, and a basis of the combinations that add
    up to nothing (the redundancy among the groups, e.g. rows and columns of a cross table
    having the same grand total).
    """
    pivots: dict[int, tuple[dict[int, int], dict[int, int]]] = {}
    redundant: list[dict[int, int]] = []
    for index, group in enumerate(groups):
        hidden, total_hidden = _unknowns(group, status)
        if not hidden and not total_hidden:
            continue
        row: dict[int, int] = {}
        for c in hidden:
            row[c] = (row.get(c, 0) + 1) % _PRIME
        if total_hidden:
            assert group.total is not None
            row[group.total] = (row.get(group.total, 0) - 1) % _PRIME
        row = {c: v for c, v in row.items() if v}
        combo = {index: 1}
        while row:
            lead = min(row)
            base = pivots.get(lead)
            if base is None:
                inverse = pow(row[lead], _PRIME - 2, _PRIME)
                pivots[lead] = ({c: v * inverse % _PRIME for c, v in row.items()},
                                {g: v * inverse % _PRIME for g, v in combo.items()})
                break
            factor = row[lead]
            _axpy(row, base[0], factor)
            _axpy(combo, base[1], factor)
        else:
            redundant.append(combo)
    for lead in sorted(pivots, reverse=True):  # back substitution: reduced row echelon form
        row, combo = pivots[lead]
        for col in sorted(c for c in row if c != lead and c in pivots):
            factor = row.get(col, 0)
            if factor:
                _axpy(row, pivots[col][0], factor)
                _axpy(combo, pivots[col][1], factor)
    determined = {lead: combo for lead, (row, combo) in pivots.items() if len(row) == 1}
    return determined, redundant


def _determined(groups: Sequence[Group], status: list[CellStatus]) -> dict[int, dict[int, int]]:
    """Hidden cells the group equations determine, with the combination of groups that gives each away."""
    return _eliminate(groups, status)[0]


def _bounds_pinned(groups: Sequence[Group], counts: Sequence[int], status: Sequence[CellStatus], m: int,
                   free: AbstractSet[int] = frozenset()) -> set[int]:
    """Hidden cells that the group equations and the hidden cells' ranges (``_range``) pin to one value
    (``free``: cells known not to be, see ``pinned_cells``)."""
    hidden = {c for g in groups for c in (*g.members, *(() if g.total is None else (g.total,)))
              if status[c] != CellStatus.SHOWN}
    if not hidden:
        return set()
    equations: list[Equation] = []
    for g in groups:
        coefficients: dict[int, int] = {}
        rhs = 0
        for c in g.members:
            if c in hidden:
                coefficients[c] = coefficients.get(c, 0) + 1
            else:
                rhs -= counts[c]
        if g.total is None:
            rhs += sum(counts[c] for c in g.members)  # published elsewhere: known to the reader
        elif g.total in hidden:
            coefficients[g.total] = coefficients.get(g.total, 0) - 1
        else:
            rhs += counts[g.total]
        equations.append((coefficients, float(rhs)))
    return pinned_cells(equations, {c: _range(status[c], m) for c in hidden}, {c: float(counts[c]) for c in hidden}, free)


def _clean_groups(values: Sequence[int | None], groups: Iterable[Group]) -> list[Group]:
    """Groups without the non-cells (null counts); a null total counts as published elsewhere.
    A group left without members is dropped (it would claim that its total is 0)."""
    cleaned = []
    for g in groups:
        members = tuple(c for c in g.members if values[c] is not None)
        total = g.total if g.total is not None and values[g.total] is not None else None
        if members:
            cleaned.append(Group(members, total))
    return cleaned


class _Engine:
    """The state of one ``protect`` run."""

    def __init__(self, values: Sequence[int | None], groups: Sequence[Group], policy: SuppressionPolicy,
                 priority: Sequence[int] | None, hidden: Sequence[bool] | None = None) -> None:
        for v in values:
            if v is not None and (isinstance(v, bool) or v < 0):
                raise ValueError(f"a count must be a whole number of 0 or more, not {v!r}")
        self.m = policy.min_count
        self.counts = [0 if v is None else int(v) for v in values]
        self.priority = list(priority) if priority is not None else [0] * len(values)
        self.status = [CellStatus.SMALL if v is not None and 0 < v < self.m else CellStatus.SHOWN for v in values]
        for c, forced in enumerate(hidden or ()):
            if forced and self.status[c] == CellStatus.SHOWN and self.counts[c] > 0:
                self.status[c] = CellStatus.COMPLEMENT
        self.groups = _clean_groups(values, groups)
        self.member_of: list[list[int]] = [[] for _ in values]  # group indices
        for index, g in enumerate(self.groups):
            for c in (*g.members, *(() if g.total is None else (g.total,))):
                self.member_of[c].append(index)
        self.free: set[int] = set()  # hidden cells the bounds audit found free
        self.dirty: list[int] = list(range(len(self.groups)))
        heapq.heapify(self.dirty)

    def _opens(self, cell: int) -> int:
        """How many groups of ``cell`` have no hidden cell yet (hiding it gives each one to fix)."""
        return sum(1 for g in self.member_of[cell] if _unknowns(self.groups[g], self.status) == ([], False))

    def _order(self, cell: int, is_total: bool) -> tuple[int, int, bool, int, int]:
        return (self.priority[cell], self._opens(cell), is_total, self.counts[cell], cell)

    def _eligible(self, cell: int) -> bool:
        return self.status[cell] == CellStatus.SHOWN and self.counts[cell] > 0

    def complement(self, group: Group) -> int | None:
        """The cell to hide next in a group (rule 3a's choice), or None when nothing is left."""
        options = [self._order(c, False) for c in group.members if self._eligible(c)]
        if group.total is not None and self._eligible(group.total):
            options.append(self._order(group.total, True))
        return min(options)[-1] if options else None

    def hide(self, cell: int, status: CellStatus = CellStatus.COMPLEMENT) -> None:
        self.status[cell] = status
        for g in self.member_of[cell]:
            heapq.heappush(self.dirty, g)

    def withhold(self, group: Group) -> bool:
        """Rule 3e: show the group's "<5" cells as ".." (no lower bound of 1); whether there were any."""
        cells = [c for c in _cells(group) if self.status[c] == CellStatus.SMALL]
        for c in cells:
            self.hide(c, CellStatus.WITHHELD)
        return bool(cells)

    def protect_cell(self, cell: int) -> bool:
        """Break a pin of ``cell`` (rules 3d, 3e): a complement from its groups (rule 3a's order), else show
        their "<5" cells as ".."; else the same one step further out (the groups that share a hidden cell
        with those), and so on. Whether anything changed (not when the whole table is hidden already)."""
        layer, seen = set(self.member_of[cell]), set(self.member_of[cell])
        while layer:
            cells = {c for g in layer for c in _cells(self.groups[g])}
            options = [self._order(c, any(self.groups[g].total == c for g in self.member_of[c]))
                       for c in cells if self._eligible(c)]
            if options:
                self.hide(min(options)[-1])
                return True
            withheld = [self.withhold(self.groups[g]) for g in sorted(layer)]  # every group of the layer
            if any(withheld):
                return True
            layer = {g for c in cells for g in self.member_of[c]} - seen
            seen |= layer
        return False

    def _coefficient(self, cell: int, group: int) -> int:
        g = self.groups[group]
        return (g.members.count(cell) - (1 if g.total == cell else 0)) % _PRIME

    def _groups_rule(self) -> None:
        """Rules 3a and 3b, group by group, until no group needs a complement."""
        while self.dirty:
            index = heapq.heappop(self.dirty)
            g = self.groups[index]
            while _pinned(g, self.counts, self.status, self.m):
                pick = self.complement(g)
                if pick is not None:
                    self.hide(pick)
                elif not self.withhold(g):
                    break

    def _linear_rule(self) -> bool:
        """Rule 3c: a complement for every hidden cell the group equations determine. Whether any was added."""
        determined, redundant = _eliminate(self.groups, self.status)
        added: list[int] = []
        for cell, combo in sorted(determined.items()):
            if self.counts[cell] == 0:
                continue  # a zero describes nobody (rule 1)
            weights: dict[int, int] = {}
            for index, coefficient in combo.items():
                g = self.groups[index]
                for c in g.members:
                    weights[c] = (weights.get(c, 0) + coefficient) % _PRIME
                if g.total is not None:
                    weights[g.total] = (weights.get(g.total, 0) - coefficient) % _PRIME
            if any(weights.get(c) for c in added):
                continue  # this round's complements already break this derivation
            # A shown cell the combined equation uses: hiding it breaks this derivation. It breaks
            # every derivation of the cell when no other combination of groups can cancel it, i.e.
            # when it is orthogonal to the redundancy among the groups; and it needs no further
            # complement when all its groups already have a hidden cell. Prefer such cells.
            options = [c for c, w in weights.items() if w and self._eligible(c)]
            if not options:
                continue

            def order(c: int) -> tuple[bool, int, int, int, int]:
                orthogonal = all(sum(n.get(g, 0) * self._coefficient(c, g) for g in self.member_of[c]) % _PRIME == 0
                                 for n in redundant)
                return (not orthogonal, self._opens(c), self.priority[c], self.counts[c], c)

            pick = min(order(c) for c in options)[-1]
            self.hide(pick)
            added.append(pick)
        return bool(added)

    def _bounds_rule(self) -> bool:
        """Rule 3d: protect the first non-zero cell that all equations and bounds together pin, if anything can."""
        hidden = {c for c, s in enumerate(self.status) if s != CellStatus.SHOWN}
        pinned = _bounds_pinned(self.groups, self.counts, self.status, self.m, self.free)
        self.free |= hidden - pinned  # the rules only ever hide more: a free cell stays free
        changed = False
        before = list(self.status)
        for cell in sorted(c for c in pinned if self.counts[c]):
            # several per audit, but none in a group this audit already changed (that change may free it)
            if any(
                    self.status[c] != before[c] for g in self.member_of[cell] for c in _cells(self.groups[g])):
                continue
            changed = self.protect_cell(cell) or changed
        return changed

    def run(self) -> list[CellStatus]:
        while True:
            self._groups_rule()
            while self._linear_rule():
                self._groups_rule()
            if not self._bounds_rule():
                return self.status


def protect(values: Sequence[int | None], groups: Sequence[Group], policy: SuppressionPolicy,
            priority: Sequence[int] | None = None, hidden: Sequence[bool] | None = None) -> list[CellStatus]:
    """The status of every cell after primary and complementary suppression (rules 1-3).

    ``values`` are the true counts (``None``: not a cell); ``groups`` say which cells add up to
    which total; ``priority`` (optional, per cell) keeps important cells visible: complements are
    taken from the lowest priority first; ``hidden`` (optional, per cell) marks non-zero cells that
    must be hidden anyway (e.g. the same number is hidden in another table) -- they start as
    complements. Deterministic: the same input hides the same cells.
    """
    return _Engine(values, groups, policy, priority, hidden).run()


def exposed_cells(values: Sequence[int | None], groups: Sequence[Group], status: Sequence[CellStatus],
                  policy: SuppressionPolicy) -> set[int]:
    """Audit: hidden cells a reader could still work out (a group with one unknown or a pinned bound,
    or a cell the group equations determine). Empty after ``protect`` unless some group had no
    cell left to hide (see the module's residual risks)."""
    counts = [0 if v is None else int(v) for v in values]
    state = list(status)
    clean = _clean_groups(values, groups)
    exposed = set(_determined(clean, state)) | _bounds_pinned(clean, counts, state, policy.min_count)
    return {c for c in exposed if counts[c]}


# --- polars front end ---------------------------------------------------------------------------


def _groupings(within: str | Sequence[str] | Sequence[Sequence[str]]) -> list[list[str]]:
    if isinstance(within, str):
        return [[within]]
    items = list(within)
    if all(isinstance(item, str) for item in items):
        return [list(items)]  # type: ignore[arg-type]
    return [[item] if isinstance(item, str) else list(item) for item in items]


def _total_columns(total: str | Sequence[str | None] | None, n: int) -> list[str | None]:
    if total is None or isinstance(total, str):
        return [total] * n
    columns = list(total)
    if len(columns) != n:
        raise ValueError("give one total column (or None) per grouping in `within`")
    return columns


def frame_groups(frame: pl.DataFrame, within: str | Sequence[str] | Sequence[Sequence[str]],
                 total: str | Sequence[str | None] | None = None) -> list[Group]:
    """The groups of a frame's rows (indices in row order): see ``suppress_counts``."""
    groupings = _groupings(within)
    totals = _total_columns(total, len(groupings))
    indexed = frame.with_row_index("__row")
    groups: list[Group] = []
    for keys, flag_column in zip(groupings, totals, strict=True):
        rows = indexed
        if keys:
            rows = rows.filter(pl.all_horizontal([pl.col(k).is_not_null() for k in keys]))
        flag = pl.col(flag_column).fill_null(False) if flag_column else pl.lit(False)
        rows = rows.select(*keys, "__row", flag.alias("__total"))
        aggregations = (pl.col("__row").filter(~pl.col("__total")).alias("members"),
                        pl.col("__row").filter(pl.col("__total")).alias("totals"))
        if rows.height == 0:
            continue
        if keys:
            grouped = rows.group_by(keys, maintain_order=True).agg(*aggregations)
        else:
            grouped = rows.select(*(a.implode() for a in aggregations))
        for members, group_totals in grouped.select("members", "totals").iter_rows():
            if len(group_totals) > 1:
                raise ValueError(f"a group of {keys} has {len(group_totals)} total rows; give at most one")
            groups.append(Group(tuple(members), group_totals[0] if group_totals else None))
    return groups


def suppress_counts(frame: pl.DataFrame, counts: str | Sequence[str], *,
                    within: str | Sequence[str] | Sequence[Sequence[str]],
                    total: str | Sequence[str | None] | None = None,
                    policy: SuppressionPolicy, priority: str | None = None,
                    hidden: str | None = None) -> pl.DataFrame:
    """Suppress small counts, and enough other counts that none can be worked out.

    ``counts``: the count columns (whole numbers >= 0; null means "not a cell"). Each column is
    protected on its own, with the same groups.
    ``within``: the columns identifying a group of cells that add up to a total, e.g. ``"month"``
    (the sites of one month), ``[]`` (all rows, e.g. the sites adding up to the grand total), or a
    list of such groupings for a cross table (``[["month"], ["site"]]``). A row with a null in a
    grouping's key columns takes no part in that grouping.
    ``total``: a boolean column marking the total row of each group (one per grouping, or one for
    all); a group without a total row is taken to have its total published elsewhere.
    ``priority``: an optional integer column; complements are taken from low priorities first,
    so the numbers that matter most (e.g. a site's total) stay visible when there is a choice.
    ``hidden``: an optional boolean column of cells to hide in any case (the same number is hidden
    in another table); a non-zero one is hidden as a complement and protected like one.

    Returns the frame (row order kept) with, for each count column ``c``: ``c`` (Int64, null when
    suppressed, rounded in publication mode), ``c_label`` (String: the shown number, "<5" for a
    small cell, ".." for a complement, "" for a null count) and ``c_suppressed`` (Boolean).
    """
    columns = [counts] if isinstance(counts, str) else list(counts)
    groups = frame_groups(frame, within, total)
    ranks = frame.get_column(priority).fill_null(0).to_list() if priority else None
    forced = frame.get_column(hidden).fill_null(False).to_list() if hidden else None
    out = []
    for column in columns:
        values = frame.get_column(column).to_list()
        status = protect(values, groups, policy, ranks, forced)
        shown: list[int | None] = []
        labels: list[str] = []
        suppressed: list[bool] = []
        for value, state in zip(values, status, strict=True):
            if value is None:
                cell: tuple[int | None, str, bool] = (None, "", False)
            elif state == CellStatus.SHOWN:
                rounded = round_count(int(value), policy)
                cell = (rounded, str(rounded), False)
            else:
                cell = (None, policy.small_label if state == CellStatus.SMALL else HIDDEN_LABEL, True)
            shown.append(cell[0])
            labels.append(cell[1])
            suppressed.append(cell[2])
        out += [pl.Series(column, shown, dtype=pl.Int64), pl.Series(f"{column}_label", labels, dtype=pl.String),
                pl.Series(f"{column}_suppressed", suppressed, dtype=pl.Boolean)]
    return frame.with_columns(out)


def rate_columns(frame: pl.DataFrame, numerator: str, denominator: str, name: str,
                 policy: SuppressionPolicy) -> pl.DataFrame:
    """Add the rate ``numerator / denominator`` of two columns that passed ``suppress_counts``.

    Adds ``name`` (Float64 in 0..1, null when hidden) and ``name_label`` ("65 %", "<5" when a count
    under it is small, ".." when one is a complement, "–" when the denominator is 0 or missing).
    The rate is computed from the shown counts (rounded in publication mode).
    """
    num, den = pl.col(numerator), pl.col(denominator)
    small = policy.small_label
    shown = num.is_not_null() & den.is_not_null() & (den > 0)
    rate = pl.when(shown).then(num.cast(pl.Float64) / den.cast(pl.Float64))
    percent = ((rate * 100 + 0.5).floor().cast(pl.Int64).cast(pl.String) + pl.lit(" %"))
    label = (
        pl.when(shown).then(percent)
        .when((pl.col(f"{numerator}_label") == small) | (pl.col(f"{denominator}_label") == small)).then(pl.lit(small))
        .when(pl.col(f"{numerator}_suppressed").fill_null(False) | pl.col(f"{denominator}_suppressed").fill_null(False))
        .then(pl.lit(HIDDEN_LABEL))
        .otherwise(pl.lit(NO_RATE_LABEL))
    )
    return frame.with_columns(rate.alias(name), label.alias(f"{name}_label"))
