"""The project lead's numbers: aggregated, suppressed tables computed in polars from the shared frames.

Every function takes the frames (a ``Frames`` such as ``wb.frames``, or a mapping of frame
name to DataFrame), a ``Filters`` and a ``SuppressionPolicy`` and returns a small polars
DataFrame of aggregates, sorted deterministically (sites alphabetically, the ``"total"`` row
last). No row-level data leaves this module: every count of people passes
``suppress_counts`` first, every rate ``rate_columns`` and every mean ``mean_allowed``.

    import workbench
    from workbench.reporting import analysis
    from workbench.reporting.suppression import STANDARD

    wb = workbench.open()
    f = analysis.Filters(sites=("ODE", "AAR"), age_groups=("youth",))
    analysis.funnel(wb.frames, f, STANDARD)

A count column ``c`` always comes with ``c_label`` (the shown number, "<5", ".." or "") and
``c_suppressed``; a rate ``r`` (0..1) with ``r_label`` ("65 %", "<5", "..", "–").

Tables that share margins are protected together (see ``workbench.reporting.suppression``):

- For each dated step (referred, conversation, escorted, lasting at 12 weeks, closed) one
  *joint table* holds the cells per site and month, the cumulative count per site within
  each calendar year, the total per site over the filtered period, the total row over the
  sites, and (for referrals) the counts per referral source. Its groups: the sites add up
  to the total row (for every month, cumulative point, period and source); the months of a
  site add up to its period total; C(m) = C(m-1) + x(m) within a year; the year-end
  cumulative counts add up to the period total; the sources of a site add up to its
  period total. ``funnel``, ``flow``, ``referral_sources``, ``progress`` and
  ``time_to_help`` all read that step's numbers from this one table, so a cell hidden in
  one chart cannot be recovered from another (the cumulative line of ``progress`` minus
  the monthly bars of ``flow``, the sources of a site minus its funnel total, ...). When a
  complement can be chosen, the site totals are kept visible first, then the cumulative
  lines, then the monthly bars, then the sources.
- A case counts in the month of the *first* time it reached the step (``CASES_SCHEMA``'s
  ``referred_on``, ``conversation_on``, ``escorted_on``; ``followup_12w_on`` when still
  taking part; ``closed_on`` for a case that is closed now). The sum over the months is the
  funnel's count for the site.
- ``lasting``'s week-0 total row is the funnel's escorted and attended total: it is hidden
  when the funnel's is, and kept visible when there is a choice.

Filters select cases (``Filters.apply_filters``); measures and follow-ups follow their
cases. The volunteer tables follow the site filter only. Refuse a filter setting for which
``filters_allowed`` is False (standard mode), see rule 7 of ``workbench.reporting.suppression``.

Known limits (in addition to the suppression module's residual risks):
- Implied counts are not cells: drop-outs between funnel steps, cases leaving the waiting
  list in a month (the change of the waiting list minus the month's referrals).
- Box statistics include the minimum and maximum, which are one person's waiting time
  (shown only over at least ``min_count`` people).
- Outcomes use every pair of the filtered cases, regardless of research consent (the
  lead's monitoring is aggregate); a research extract should filter on ``research_consent``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl

from workbench.domain import model as m
from workbench.reporting import frames as fr
from workbench.reporting.suppression import (
    STANDARD,
    SuppressionPolicy,
    filter_allowed,
    mean_allowed,
    rate_columns,
    suppress_counts,
)

__all__ = [
    "LOAD_BUCKETS", "MODES", "STEPS", "TARGET_STEP", "TOTAL", "VIEWS", "WEEKS", "Filters", "filters_allowed", "flow",
    "funnel", "lasting", "outcomes", "progress", "referral_sources", "t_quantile", "time_to_help", "view_table",
    "volunteers", "waiting_list",
]

TOTAL = "total"
"""The ``site`` (or ``kind``) of a total row."""

STEPS = ("referred", "conversation", "escorted", "attended", "lasting_4w", "lasting_12w")
"""The funnel's steps, in order."""

TARGET_STEP = {
    m.TargetMetric.referrals.value: "referred",
    m.TargetMetric.conversations.value: "conversation",
    m.TargetMetric.escorts.value: "escorted",
    m.TargetMetric.lasting.value: "lasting_12w",
}
"""Which funnel step a target metric counts."""

WEEKS = (0, 4, 12)
"""The points of the lasting-participation curve, in weeks after the escort."""

LOAD_BUCKETS = ("0", "1", "2", "3", "4+")
"""Buckets of open cases held by an active brobygger."""

# step -> (the date a case reaches it, an extra condition)
_DATED: dict[str, tuple[str, pl.Expr | None]] = {
    "referred": ("referred_on", None),
    "conversation": ("conversation_on", None),
    "escorted": ("escorted_on", None),
    "lasting_12w": ("followup_12w_on", pl.col("still_12w").fill_null(False)),
    "closed": ("closed_on", None),
}
# step -> whether a case has reached it (no month breakdown is published for these)
_UNDATED: dict[str, pl.Expr] = {
    "attended": pl.col("attended").fill_null(False),
    "lasting_4w": pl.col("still_4w").fill_null(False),
    "contacted": pl.col("contacted_on").is_not_null(),
}
_DATE_COLUMNS = ("referred_on", "contacted_on", "assigned_on", "conversation_on", "escorted_on",
                 "followup_4w_on", "followup_12w_on", "closed_on")


# --- filters ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What the lead selected; every table follows it. ``None`` (or empty) means no filter.

    ``sites``: site codes. ``start``/``end``: the referral date, both days included.
    ``age_groups``: of ``frames.AGE_GROUPS`` (youth, adult, elderly, unknown).
    ``interventions``: intervention ids; a case carrying any of them is selected.
    """

    sites: tuple[str, ...] | None = None
    start: date | None = None
    end: date | None = None
    age_groups: tuple[str, ...] | None = None
    interventions: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("sites", "age_groups", "interventions"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, (value,) if isinstance(value, str) else tuple(value))
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError("the start date is after the end date")
        unknown = set(self.age_groups or ()) - set(fr.AGE_GROUPS)
        if unknown:
            raise ValueError(f"unknown age group(s) {sorted(unknown)}; choose from {fr.AGE_GROUPS}")

    def apply_filters(self, cases: pl.DataFrame) -> pl.DataFrame:
        """The cases (a ``CASES_SCHEMA`` frame) this filter selects."""
        keep = pl.lit(True)
        if self.sites:
            keep &= pl.col("site").is_in(list(self.sites))
        if self.start is not None:
            keep &= pl.col("referred_on") >= self.start
        if self.end is not None:
            keep &= pl.col("referred_on") <= self.end
        if self.age_groups:
            keep &= pl.col("age_group").cast(pl.String).is_in(list(self.age_groups))
        if self.interventions:
            wanted = list(self.interventions)
            keep &= pl.col("interventions").list.eval(pl.element().is_in(wanted)).list.any().fill_null(False)
        return cases.filter(keep)

    def describe(self) -> dict[str, str]:
        """The filter as text, for printing on an export ("" when not set)."""
        def join(values: tuple[str, ...] | None) -> str:
            return ", ".join(values) if values else ""

        return {"sites": join(self.sites), "start": self.start.isoformat() if self.start else "",
                "end": self.end.isoformat() if self.end else "", "age_groups": join(self.age_groups),
                "interventions": join(self.interventions)}


NO_FILTERS = Filters()


def _frame(frames: Any, name: str) -> pl.DataFrame:
    if isinstance(frames, Mapping):
        return frames[name]  # type: ignore[no-any-return]
    return getattr(frames, name)  # type: ignore[no-any-return]


def _cases(frames: Any, filters: Filters | None) -> pl.DataFrame:
    return (filters or NO_FILTERS).apply_filters(_frame(frames, "cases"))


def filters_allowed(frames: Any, filters: Filters | None, policy: SuppressionPolicy = STANDARD) -> bool:
    """Whether the dashboard may show this filter setting (``suppression.filter_allowed``):
    neither the selected cases nor the cases it leaves out number 1 .. min_count - 1."""
    everything = _frame(frames, "cases").height
    return filter_allowed(_cases(frames, filters).height, policy, n_all=everything)


def _data_date(frames: Any) -> date | None:
    """The newest date anywhere in the cases (the data's "as of" when none is given)."""
    cases = _frame(frames, "cases")
    if cases.height == 0:
        return None
    value = cases.select(pl.max_horizontal([pl.col(c).max() for c in _DATE_COLUMNS])).item()
    return value if isinstance(value, date) else None


# --- shared helpers --------------------------------------------------------------------------


def _sites(cases: pl.DataFrame) -> list[str]:
    return sorted(cases.get_column("site").drop_nulls().unique().to_list())


def _site_frame(sites: Sequence[str]) -> pl.DataFrame:
    """The sites and the total row with their sort number."""
    return pl.DataFrame({"site": [*sites, TOTAL]}, schema={"site": pl.String}).with_row_index("site_no")


def _with_total(frame: pl.DataFrame, column: str = "site") -> pl.DataFrame:
    """The rows once as they are and once more under the total row."""
    return pl.concat([frame, frame.with_columns(pl.lit(TOTAL).alias(column))])


def _count_columns(name: str) -> list[str]:
    return [name, f"{name}_label", f"{name}_suppressed"]


def _rename_count(frame: pl.DataFrame, old: str, new: str) -> pl.DataFrame:
    return frame.rename({a: b for a, b in zip(_count_columns(old), _count_columns(new), strict=True)})


def _fill_zero(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    missing = pl.col(f"{name}_label").is_null()
    return frame.with_columns(
        pl.when(missing).then(pl.lit(0, pl.Int64)).otherwise(pl.col(name)).alias(name),
        pl.when(missing).then(pl.lit("0")).otherwise(pl.col(f"{name}_label")).alias(f"{name}_label"),
        pl.col(f"{name}_suppressed").fill_null(False),
    )


def _months(first: date, last: date) -> list[date]:
    out, y, mo = [], first.year, first.month
    while (y, mo) <= (last.year, last.month):
        out.append(date(y, mo, 1))
        y, mo = (y + 1, 1) if mo == 12 else (y, mo + 1)
    return out


# --- the joint table of one dated step ---------------------------------------------------------


def _dated_table(cases: pl.DataFrame, step: str, policy: SuppressionPolicy) -> pl.DataFrame:
    """All published cells of one dated step, suppressed together.

    Columns: ``part`` ("month", "cum", "period", "source"), ``site_no``, ``site``, ``month``
    (first day; null for period and source), ``source`` (referrals only), ``n`` + label + suppressed.
    Months run from January of the first year with a case at this step to December of the last.
    """
    column, condition = _DATED[step]
    keep = pl.col(column).is_not_null()
    if condition is not None:
        keep &= condition
    hits = _with_total(cases.filter(keep).select(
        "site", pl.col(column).dt.truncate("1mo").alias("month"),
        pl.col("referral_source").cast(pl.String).alias("source")))
    sites = _site_frame(_sites(cases))
    if hits.height:
        first, last = hits.get_column("month").min(), hits.get_column("month").max()
        months = _months(date(first.year, 1, 1), date(last.year, 12, 1))  # type: ignore[union-attr]
    else:
        months = []
    month_frame = pl.DataFrame({"month": months}, schema={"month": pl.Date})
    columns = ["part", "site_no", "site", "month", "source_no", "source", "n"]

    def counted(grid: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
        counts = hits.group_by(keys).agg(pl.len().cast(pl.Int64).alias("n"))
        return grid.join(counts, on=keys, how="left").with_columns(pl.col("n").fill_null(0))

    monthly = counted(sites.join(month_frame, how="cross"), ["site", "month"]).with_columns(
        pl.lit("month").alias("part"))
    cumulative = monthly.sort("site_no", "month").with_columns(
        pl.col("n").cum_sum().over("site", pl.col("month").dt.year()), pl.lit("cum").alias("part"))
    period = counted(sites, ["site"]).with_columns(pl.lit("period").alias("part"), pl.lit(None, pl.Date).alias("month"))
    parts = [monthly, cumulative, period]
    if step == "referred":
        sources = pl.DataFrame({"source": [s.value for s in m.ReferralSource]}).with_row_index("source_no")
        parts.append(counted(sites.join(sources, how="cross"), ["site", "source"]).with_columns(
            pl.lit("source").alias("part"), pl.lit(None, pl.Date).alias("month")))
    table = pl.concat([
        p.with_columns(*(pl.lit(None).alias(c) for c in ("source_no", "source") if c not in p.columns))
        .select(pl.col("part"), pl.col("site_no").cast(pl.UInt32), pl.col("site"), pl.col("month").cast(pl.Date),
                pl.col("source_no").cast(pl.UInt32), pl.col("source").cast(pl.String), pl.col("n").cast(pl.Int64))
        for p in parts
    ])
    order = {"month": 0, "cum": 1, "period": 2, "source": 3}
    table = table.with_columns(pl.col("part").replace_strict(order, return_dtype=pl.Int8).alias("part_no")).sort(
        "part_no", "site_no", "month", "source_no", nulls_last=True)
    return _suppress_joint(table, policy, with_sources=step == "referred").select(
        *columns, "n_label", "n_suppressed")


def _suppress_joint(table: pl.DataFrame, policy: SuppressionPolicy, *, with_sources: bool) -> pl.DataFrame:
    """The groupings of a joint table (see ``_dated_table``) and their suppression."""
    part, site, month = pl.col("part"), pl.col("site"), pl.col("month")
    text = month.cast(pl.String)
    number = month.dt.month()
    even = number % 2 == 0
    here = site + "|" + text
    after = site + "|" + month.dt.offset_by("1mo").cast(pl.String)
    is_month, is_cum = part == "month", part == "cum"
    keys = table.with_columns(
        # the sites of a month (and of the period, the cumulative count, a source) add up to the total row
        pl.when(is_month).then("m" + text).when(is_cum).then("c" + text).when(part == "period").then(pl.lit("p"))
        .when(part == "source").then("s" + pl.col("source")).alias("k_sites"),
        (site == TOTAL).alias("t_sites"),
        # the months of a site add up to its period total
        pl.when(part.is_in(["month", "period"])).then(site).alias("k_months"),
        (part == "period").alias("t_period"),
        # the referral sources of a site add up to its period total
        pl.when(part.is_in(["source", "period"])).then(site).alias("k_sources"),
        # cumulative: C(m) = C(m-1) + x(m) within a year; a cumulative cell closes one relation and
        # opens the next, so even and odd months are two groupings
        pl.when((is_month | is_cum) & even).then(here).when(is_cum & ~even).then(after).alias("k_even"),
        (is_cum & even).alias("t_even"),
        pl.when((is_month | is_cum) & ~even).then(here).when(is_cum & even & (number < 12)).then(after).alias("k_odd"),
        (is_cum & ~even).alias("t_odd"),
        # the year-end cumulative counts of a site add up to its period total (implied by the groupings
        # above; stated as a group of its own so that rule 3a catches it without the linear check)
        pl.when((is_cum & (number == 12)) | (part == "period")).then(site).alias("k_years"),
        # what to keep visible when a complement can be chosen: the site totals (the funnel), then
        # the cumulative lines (progress), then the monthly bars, before the referral sources
        part.replace_strict({"period": 3, "cum": 2, "month": 1, "source": 0}, return_dtype=pl.Int8).alias("keep"),
    )
    within: list[list[str]] = [["k_sites"], ["k_months"], ["k_even"], ["k_odd"], ["k_years"]]
    totals: list[str | None] = ["t_sites", "t_period", "t_even", "t_odd", "t_period"]
    if with_sources:
        within.append(["k_sources"])
        totals.append("t_period")
    return suppress_counts(keys, "n", within=within, total=totals, policy=policy, priority="keep")


def _undated_table(cases: pl.DataFrame, step: str, policy: SuppressionPolicy) -> pl.DataFrame:
    """Per site and total: the cases that reached an undated step (``site``, ``n`` + label + suppressed)."""
    hits = _with_total(cases.filter(_UNDATED[step]).select("site"))
    counts = hits.group_by("site").agg(pl.len().cast(pl.Int64).alias("n"))
    table = (_site_frame(_sites(cases)).join(counts, on="site", how="left")
             .with_columns(pl.col("n").fill_null(0), (pl.col("site") == TOTAL).alias("is_total")).sort("site_no"))
    return suppress_counts(table, "n", within=[], total="is_total", policy=policy)


def _period_cells(cases: pl.DataFrame, step: str, policy: SuppressionPolicy) -> pl.DataFrame:
    """The count per site and total of one step (``site_no``, ``site``, ``n`` + label + suppressed)."""
    if step in _DATED:
        table = _dated_table(cases, step, policy).filter(pl.col("part") == "period")
    else:
        table = _undated_table(cases, step, policy)
    return table.select("site_no", "site", *_count_columns("n"))


# --- 1. funnel ---------------------------------------------------------------------------------


def funnel(frames: Any, filters: Filters | None = None, policy: SuppressionPolicy = STANDARD) -> pl.DataFrame:
    """Referred → conversation → escorted → attended → still taking part at 4 and at 12 weeks.

    One row per site (and the ``"total"`` row) and step. Columns: ``site``, ``is_total``,
    ``step`` (``STEPS``), ``step_no`` (0..5), ``count`` (+ label, suppressed): the filtered
    cases that reached the step; ``from_previous`` (+ label): count / the previous step's count
    (null for the first step); ``from_referral`` (+ label): count / referred. A rate is hidden
    when a count under it is. "Still taking part" counts recorded follow-ups only; for the
    censoring-aware share see ``lasting``.
    """
    cases = _cases(frames, filters)
    parts = []
    for number, step in enumerate(STEPS):
        cells = _rename_count(_period_cells(cases, step, policy), "n", "count")
        parts.append(cells.with_columns(pl.lit(step).alias("step"), pl.lit(number, pl.Int8).alias("step_no")))
    long = pl.concat(parts).sort("site_no", "step_no")
    previous = [pl.col(c).shift(1).over("site", order_by="step_no").alias(c.replace("count", "previous"))
                for c in _count_columns("count")]
    referred = [pl.col(c).filter(pl.col("step_no") == 0).first().over("site").alias(c.replace("count", "referred"))
                for c in _count_columns("count")]
    long = long.with_columns(*previous, *referred)
    long = rate_columns(long, "count", "previous", "from_previous", policy)
    long = rate_columns(long, "count", "referred", "from_referral", policy)
    first = pl.col("step_no") == 0
    return long.with_columns(
        pl.when(~first).then(pl.col("from_previous")).alias("from_previous"),
        pl.when(~first).then(pl.col("from_previous_label")).otherwise(pl.lit("")).alias("from_previous_label"),
        (pl.col("site") == TOTAL).alias("is_total"),
    ).select("site", "is_total", "step", "step_no", *_count_columns("count"), "from_previous",
             "from_previous_label", "from_referral", "from_referral_label")


# --- 2. progress against targets ------------------------------------------------------------------


def _targets_frame(targets: Any) -> pl.DataFrame:
    if isinstance(targets, pl.DataFrame):
        frame = targets
    else:
        rows = [dict(row) for row in targets]
        frame = pl.DataFrame(rows) if rows else pl.DataFrame(
            schema={"site_id": pl.String, "year": pl.Int64, "metric": pl.String, "value": pl.Int64})
    if frame.height == 0:
        return pl.DataFrame(schema={"site_id": pl.String, "year": pl.Int64, "metric": pl.String, "value": pl.Int64})
    return frame.select(pl.col("site_id").cast(pl.String), pl.col("year").cast(pl.Int64),
                        pl.col("metric").cast(pl.String), pl.col("value").cast(pl.Int64))


def progress(frames: Any, targets: Any, filters: Filters | None = None, policy: SuppressionPolicy = STANDARD, *,
             year: int, metric: str, as_of: date | None = None) -> pl.DataFrame:
    """Cumulative actual against target per site and month of one year, for one target metric.

    ``targets``: the store's ``targets`` rows (``wb.targets()`` or an iterable of
    dicts with ``site_id``, ``year``, ``metric``, ``value``). ``metric``: referrals,
    conversations, escorts or lasting (``TARGET_STEP`` says which step each counts, by the month
    the case reached it). ``as_of``: months after it have no actual (default: the newest date in
    the data).

    One row per site with cases or a target (and ``"total"``) and month. Columns: ``site``,
    ``is_total``, ``month`` (first day; the value is at the month's end), ``actual`` (+ label,
    suppressed; cumulative since 1 January; null after ``as_of``), ``target_year`` (the year's
    target; the total's is the sum when every site has one), ``target`` (cumulative target: the
    year's target spread evenly, ``target_year * month / 12``), ``share_of_target`` (actual /
    target, hidden with the actual).
    """
    step = TARGET_STEP[m.TargetMetric(metric).value]
    cases = _cases(frames, filters)
    cumulative = (_dated_table(cases, step, policy)
                  .filter((pl.col("part") == "cum") & (pl.col("month").dt.year() == year))
                  .select("site", "month", *_count_columns("n")))
    wanted = _targets_frame(targets).filter((pl.col("year") == year) & (pl.col("metric") == metric))
    if filters is not None and filters.sites:
        wanted = wanted.filter(pl.col("site_id").is_in(list(filters.sites)))
    wanted = wanted.group_by("site_id").agg(pl.col("value").last())
    sites = sorted(set(_sites(cases)) | set(wanted.get_column("site_id").to_list()))
    months = pl.DataFrame({"month": _months(date(year, 1, 1), date(year, 12, 1))})
    grid = _site_frame(sites).join(months, how="cross")
    table = _fill_zero(grid.join(cumulative, on=["site", "month"], how="left"), "n")
    table = _rename_count(table, "n", "actual")
    site_targets = dict(wanted.iter_rows())
    if sites and all(s in site_targets for s in sites):
        site_targets[TOTAL] = sum(site_targets[s] for s in sites)
    table = table.with_columns(
        pl.col("site").replace_strict(site_targets, default=None, return_dtype=pl.Int64).alias("target_year"))
    limit = as_of if as_of is not None else _data_date(frames)
    if limit is not None:
        future = pl.col("month") > date(limit.year, limit.month, 1)
        table = table.with_columns(
            pl.when(future).then(None).otherwise(pl.col("actual")).alias("actual"),
            pl.when(future).then(pl.lit("")).otherwise(pl.col("actual_label")).alias("actual_label"),
            pl.when(future).then(False).otherwise(pl.col("actual_suppressed")).alias("actual_suppressed"),
        )
    target = pl.col("target_year").cast(pl.Float64) * pl.col("month").dt.month().cast(pl.Float64) / 12.0
    return table.with_columns(target.alias("target")).with_columns(
        pl.when(pl.col("target") > 0).then(pl.col("actual").cast(pl.Float64) / pl.col("target"))
        .alias("share_of_target"),
        (pl.col("site") == TOTAL).alias("is_total"),
    ).sort("site_no", "month").select("site", "is_total", "month", *_count_columns("actual"), "target_year",
                                      "target", "share_of_target")


# --- 3. flow over time ---------------------------------------------------------------------------

_FLOW = (("referred", "referrals"), ("escorted", "escorts"), ("closed", "closures"))


def flow(frames: Any, filters: Filters | None = None, policy: SuppressionPolicy = STANDARD, *,
         as_of: date | None = None) -> pl.DataFrame:
    """Referrals, escorts (first escort of a case) and closures (cases closed now) per month and site.

    One row per site (and ``"total"``) and month, from the first to the last month with any of
    the three. Columns: ``site``, ``is_total``, ``month`` (first day), ``referrals``, ``escorts``,
    ``closures`` (each + label, suppressed), ``partial`` (the month holding ``as_of``, default the
    newest date in the data, unless that is its last day: its counts are not final).
    """
    cases = _cases(frames, filters)
    dates = cases.select(pl.concat_list([pl.col(_DATED[s][0]) for s, _ in _FLOW]).alias("d")).explode("d")
    dates = dates.drop_nulls()
    sites = _site_frame(_sites(cases))
    if dates.height == 0:
        months: list[date] = []
    else:
        months = _months(dates.get_column("d").min(), dates.get_column("d").max())  # type: ignore[arg-type]
    table = sites.join(pl.DataFrame({"month": months}, schema={"month": pl.Date}), how="cross")
    for step, name in _FLOW:
        cells = (_dated_table(cases, step, policy).filter(pl.col("part") == "month")
                 .select("site", "month", *_count_columns("n")))
        table = _rename_count(_fill_zero(table.join(cells, on=["site", "month"], how="left"), "n"), "n", name)
    limit = as_of if as_of is not None else _data_date(frames)
    partial = pl.lit(False)
    if limit is not None and (limit + timedelta(days=1)).month == limit.month:
        partial = pl.col("month") == date(limit.year, limit.month, 1)
    return table.with_columns((pl.col("site") == TOTAL).alias("is_total"), partial.alias("partial")).sort(
        "site_no", "month").select("site", "is_total", "month", *[c for _, name in _FLOW for c in _count_columns(name)],
                                   "partial")


def referral_sources(frames: Any, filters: Filters | None = None,
                     policy: SuppressionPolicy = STANDARD) -> pl.DataFrame:
    """Who referred the citizens, per site (and ``"total"``).

    Columns: ``site``, ``is_total``, ``source`` (``model.ReferralSource`` order), ``referrals``
    (+ label, suppressed), ``share`` (+ label): of the site's referrals.
    """
    table = _dated_table(_cases(frames, filters), "referred", policy)
    per_site = table.filter(pl.col("part") == "period").select(
        "site", *(pl.col(c).alias(c.replace("n", "site_n", 1)) for c in _count_columns("n")))
    sources = table.filter(pl.col("part") == "source").join(per_site, on="site", how="left")
    sources = rate_columns(sources, "n", "site_n", "share", policy)
    sources = _rename_count(sources, "n", "referrals")
    return sources.with_columns((pl.col("site") == TOTAL).alias("is_total")).sort("site_no", "source_no").select(
        "site", "is_total", "source", *_count_columns("referrals"), "share", "share_label")


# --- 4. time to help -------------------------------------------------------------------------------

_WAITS = (("days_to_contact", "contacted"), ("days_to_escort", "escorted"))


def time_to_help(frames: Any, filters: Filters | None = None, policy: SuppressionPolicy = STANDARD) -> pl.DataFrame:
    """Days from referral to first contact and to the (first) escort, as box statistics per site.

    One row per site (and ``"total"``) and measure. Columns: ``site``, ``is_total``, ``measure``
    ("days_to_contact", "days_to_escort"), ``n`` (+ label, suppressed: the cases with that
    step, the same cell as the funnel's), ``min``, ``q1``, ``median``, ``q3``, ``max``
    (Float64; quartiles by linear interpolation between order statistics, as
    ``polars.quantile(..., "linear")``). All statistics are null when ``n`` is suppressed or
    below ``min_count``; individual waiting times are never returned.
    """
    cases = _cases(frames, filters)
    parts: list[pl.DataFrame] = []
    for measure, step in _WAITS:
        days = _with_total(cases.filter(pl.col(measure).is_not_null()).select("site", pl.col(measure).alias("d")))
        d = pl.col("d").cast(pl.Float64)
        stats = days.group_by("site").agg(
            pl.len().alias("n_true"), d.min().alias("min"), d.quantile(0.25, interpolation="linear").alias("q1"),
            d.median().alias("median"), d.quantile(0.75, interpolation="linear").alias("q3"), d.max().alias("max"))
        cells = _period_cells(cases, step, policy).join(stats, on="site", how="left")
        hide = pl.col("n_suppressed") | (pl.col("n_true").fill_null(0) < policy.min_count)  # mean_allowed
        parts.append(cells.with_columns(
            pl.lit(measure).alias("measure"), pl.lit(len(parts), pl.Int8).alias("measure_no"),
            *(pl.when(~hide).then(pl.col(c)).alias(c) for c in ("min", "q1", "median", "q3", "max"))))
    return pl.concat(parts).with_columns((pl.col("site") == TOTAL).alias("is_total")).sort(
        "site_no", "measure_no").select("site", "is_total", "measure", *_count_columns("n"),
                                        "min", "q1", "median", "q3", "max")


def waiting_list(frames: Any, filters: Filters | None = None, policy: SuppressionPolicy = STANDARD, *,
                 as_of: date | None = None) -> pl.DataFrame:
    """Cases referred and not yet given a brobygger, at the end of each month, per site.

    A case waits from its referral until its first assignment, or until it is closed if it
    closes first (the close date of cases closed now). Months run from the first referral to
    ``as_of`` (default: the newest date in the data). Columns: ``site``, ``is_total``, ``month``
    (first day; counted at the month's end), ``waiting`` (+ label, suppressed; the sites of a
    month add up to the total row).
    """
    cases = _cases(frames, filters)
    sites = _site_frame(_sites(cases))
    limit = as_of if as_of is not None else _data_date(frames)
    if cases.height == 0 or limit is None:
        months: list[date] = []
    else:
        months = _months(cases.get_column("referred_on").min(), limit)  # type: ignore[arg-type]
    grid = sites.join(pl.DataFrame({"month": months}, schema={"month": pl.Date}), how="cross")
    moves = _with_total(cases.select(
        "site", pl.col("referred_on").dt.truncate("1mo").alias("in"),
        pl.min_horizontal("assigned_on", "closed_on").dt.truncate("1mo").alias("out")))
    ins = moves.group_by("site", pl.col("in").alias("month")).agg(pl.len().cast(pl.Int64).alias("ins"))
    outs = moves.drop_nulls("out").group_by("site", pl.col("out").alias("month")).agg(
        pl.len().cast(pl.Int64).alias("outs"))
    table = (grid.join(ins, on=["site", "month"], how="left").join(outs, on=["site", "month"], how="left")
             .sort("site_no", "month")
             .with_columns((pl.col("ins").fill_null(0).cum_sum() - pl.col("outs").fill_null(0).cum_sum())
                           .over("site").alias("waiting"), (pl.col("site") == TOTAL).alias("is_total")))
    table = suppress_counts(table, "waiting", within="month", total="is_total", policy=policy)
    return table.select("site", "is_total", "month", *_count_columns("waiting"))


# --- 5. lasting participation ---------------------------------------------------------------------

_QUANTITIES = ("n_at_risk", "still", "censored", "no_follow_up")


def lasting(frames: Any, filters: Filters | None = None, policy: SuppressionPolicy = STANDARD, *,
            as_of: date | None = None) -> pl.DataFrame:
    """Share still taking part 0, 4 and 12 weeks after the escort, by community kind: a survival curve.

    The escorted cases of the filter, by the kind of the community they were escorted to.
    Week 0: at risk are all escorted cases, still taking part those who attended. Week w
    (4, 12): at risk are the cases still taking part at the previous point whose follow-up at
    w weeks is recorded; the others are not counted as dropped but *censored* (the escort was
    less than w weeks before ``as_of``, default the newest date in the data) or *no_follow_up*
    (due, but nothing recorded -- e.g. no consent to follow-up). A recorded "still taking part"
    at 12 weeks implies it at 4 weeks; a drop-out stays out.

    One row per kind (``model.CommunityKind`` order, "unknown" without a community, then
    ``"total"``) and week. Columns: ``kind``, ``is_total``, ``week``, ``n_at_risk``, ``still``,
    ``censored``, ``no_follow_up`` (each + label, suppressed; at risk + censored + no_follow_up
    at w = still at the previous point, and the kinds add up to the total: both relations are
    protected), ``share`` (+ label: still / at risk, the conditional share), ``survival`` (+
    label: the product of the shares up to this point, Kaplan-Meier style).
    """
    selected = _cases(frames, filters)
    cases = selected.filter(pl.col("escorted_on").is_not_null())
    limit = as_of if as_of is not None else (_data_date(frames) or date.today())
    kinds = _frame(frames, "communities").select("community_id", pl.col("kind").cast(pl.String))
    cases = cases.join(kinds, on="community_id", how="left").with_columns(pl.col("kind").fill_null("unknown"))
    attended = pl.col("attended").fill_null(False)
    s4 = (pl.when(~attended).then(False).when(pl.col("still_4w").is_not_null()).then(pl.col("still_4w"))
          .when(pl.col("still_12w").fill_null(False)).then(True).otherwise(None))
    cases = cases.with_columns(attended.alias("s0"), s4.alias("s4")).with_columns(
        pl.when(pl.col("s4").not_()).then(False).when(pl.col("still_12w").is_not_null())
        .then(pl.col("still_12w")).otherwise(None).alias("s12"))
    rows = []
    previous = pl.lit(True)
    for weeks, column in ((0, "s0"), (4, "s4"), (12, "s12")):
        due = pl.col("escorted_on") + timedelta(weeks=weeks) <= limit
        known = pl.col(column).is_not_null()
        rows.append(pl.concat([
            cases.select("kind", pl.lit(weeks).alias("week"), pl.lit(q).alias("quantity"), flag.alias("hit"))
            for q, flag in (("n_at_risk", previous & known), ("still", pl.col(column).fill_null(False)),
                            ("censored", previous & ~known & ~due), ("no_follow_up", previous & ~known & due))
        ]))
        previous = pl.col(column).fill_null(False)
    long = _with_total(pl.concat(rows), "kind").group_by("kind", "week", "quantity").agg(
        pl.col("hit").sum().cast(pl.Int64).alias("n"))
    present = set(cases.get_column("kind").to_list())
    kind_order = [k.value for k in m.CommunityKind if k.value in present]
    kind_order += ["unknown"] * ("unknown" in present) + [TOTAL]
    grid = (pl.DataFrame({"kind": kind_order}).with_row_index("kind_no")
            .join(pl.DataFrame({"week": list(WEEKS)}), how="cross")
            .join(pl.DataFrame({"quantity": list(_QUANTITIES)}).with_row_index("q_no"), how="cross"))
    long = grid.join(long, on=["kind", "week", "quantity"], how="left").with_columns(
        pl.col("n").fill_null(0)).sort("kind_no", "week", "q_no")
    kind, week, quantity = pl.col("kind"), pl.col("week"), pl.col("quantity")
    nxt = pl.when(week == 0).then(4).when(week == 4).then(12)
    long = long.with_columns(
        (pl.col("week").cast(pl.String) + "|" + quantity).alias("k_kinds"), (kind == TOTAL).alias("t_kinds"),
        pl.when(quantity.is_in(["n_at_risk", "censored", "no_follow_up"]) & (week > 0))
        .then(kind + "|" + week.cast(pl.String))
        .when((quantity == "still") & (week < 12)).then(kind + "|" + nxt.cast(pl.String)).alias("k_flow"),
        (quantity == "still").alias("t_flow"),
    )
    # The total row at week 0 is the funnel's escorted and attended total: hidden here when it is
    # hidden there, and kept visible when there is a choice (then the censoring counts go first).
    funnel_hidden = {step: bool(_period_cells(selected, step, policy).filter(pl.col("site") == TOTAL)
                                .get_column("n_suppressed").item()) for step in ("escorted", "attended")}
    week0_total = (kind == TOTAL) & (week == 0)
    long = long.with_columns(
        pl.when(week0_total & quantity.is_in(["n_at_risk", "still"])).then(2)
        .when(quantity.is_in(["n_at_risk", "still"])).then(1).otherwise(0).cast(pl.Int8).alias("keep"),
        (week0_total & (((quantity == "n_at_risk") & funnel_hidden["escorted"])
                        | ((quantity == "still") & funnel_hidden["attended"]))).alias("elsewhere"),
    )
    long = suppress_counts(long, "n", within=[["k_kinds"], ["k_flow"]], total=["t_kinds", "t_flow"], policy=policy,
                           priority="keep", hidden="elsewhere")
    wide = long.select("kind_no", "kind", "week").unique().sort("kind_no", "week")
    for q in _QUANTITIES:
        part = long.filter(quantity == q).select("kind", "week", *(pl.col(c).alias(c.replace("n", q, 1))
                                                                  for c in _count_columns("n")))
        wide = wide.join(part, on=["kind", "week"], how="left")
    wide = rate_columns(wide.sort("kind_no", "week"), "still", "n_at_risk", "share", policy)
    survival: list[float | None] = []
    survival_labels: list[str] = []
    state: dict[str, tuple[float | None, str]] = {}
    for kind_name, share, label in wide.select("kind", "share", "share_label").iter_rows():
        value, text = state.get(kind_name, (1.0, ""))
        if value is not None:
            value, text = (value * share, "") if share is not None else (None, label)
        state[kind_name] = (value, text)
        survival.append(value)
        survival_labels.append(f"{math.floor(value * 100 + 0.5)} %" if value is not None else text)
    wide = wide.with_columns(pl.Series("survival", survival, dtype=pl.Float64),
                             pl.Series("survival_label", survival_labels, dtype=pl.String),
                             (pl.col("kind") == TOTAL).alias("is_total"), pl.col("week").cast(pl.Int8))
    return wide.select("kind", "is_total", "week", *[c for q in _QUANTITIES for c in _count_columns(q)],
                       "share", "share_label", "survival", "survival_label")


# --- 6. outcomes -----------------------------------------------------------------------------------

MODES = ("all", m.AdministrationMode.self_completed.value, m.AdministrationMode.read_aloud.value, "mixed")


def outcomes(frames: Any, filters: Filters | None = None, policy: SuppressionPolicy = STANDARD) -> pl.DataFrame:
    """Paired change per person (follow-up minus baseline of the same case) per instrument.

    Scores as in ``measure_pairs``: UCLA-3 raw total (3-9, lower is less lonely), SWEMWBS metric
    score (higher is better). One row per instrument for all pairs (``mode`` "all"); and, only when
    self-completed pairs and read-aloud pairs (the same mode at both points) each number at
    least ``min_count`` and mixed-mode pairs are none or at least ``min_count`` too, one row per
    mode (so no mode's numbers can be worked out from the others and the total).

    Columns: ``instrument``, ``mode``, ``is_total`` (the "all" row), ``n`` (+ label, suppressed),
    ``mean_baseline``, ``mean_follow_up``, ``mean_change``, ``sd_change``, ``ci_low``,
    ``ci_high`` (95 % confidence interval of the mean change, Student t with n - 1 degrees of
    freedom, ``t_quantile``). All statistics are null when n is below ``min_count``.
    """
    ids = _cases(frames, filters).select("case_id")
    pairs = _frame(frames, "measure_pairs").join(ids, on="case_id", how="semi").with_columns(
        pl.col("instrument").cast(pl.String),
        pl.when(pl.col("baseline_mode") == pl.col("follow_up_mode")).then(pl.col("baseline_mode").cast(pl.String))
        .otherwise(pl.lit("mixed")).alias("mode"))
    stats = [pl.len().cast(pl.Int64).alias("n"), pl.col("baseline").mean().alias("mean_baseline"),
             pl.col("follow_up").mean().alias("mean_follow_up"), pl.col("change").mean().alias("mean_change"),
             pl.col("change").std(ddof=1).alias("sd_change")]
    by_mode = pairs.group_by("instrument", "mode").agg(*stats)
    overall = pairs.group_by("instrument").agg(*stats).with_columns(pl.lit("all").alias("mode"))
    grid = (pl.DataFrame({"instrument": [i.value for i in m.Instrument]}).with_row_index("i_no")
            .join(pl.DataFrame({"mode": list(MODES)}).with_row_index("mode_no"), how="cross"))
    table = grid.join(pl.concat([overall.select(by_mode.columns), by_mode]), on=["instrument", "mode"], how="left")
    table = table.with_columns(pl.col("n").fill_null(0)).sort("i_no", "mode_no")
    mins = policy.min_count

    def split_ok(counts: dict[str, int]) -> bool:
        mixed = counts.get("mixed", 0)
        return (counts.get("self_completed", 0) >= mins and counts.get("read_aloud", 0) >= mins
                and (mixed == 0 or mixed >= mins))

    shown_instruments = {
        instrument for instrument in table.get_column("instrument").unique().to_list()
        if split_ok(dict(table.filter(pl.col("instrument") == instrument).select("mode", "n").iter_rows()))}
    table = table.filter((pl.col("mode") == "all") | pl.col("instrument").is_in(list(shown_instruments)))
    table = table.with_columns(pl.col("n").alias("n_true"), (pl.col("mode") == "all").alias("is_total"))
    table = suppress_counts(table, "n", within="instrument", total="is_total", policy=policy)
    low: list[float | None] = []
    high: list[float | None] = []
    for n, mean, sd, hidden in table.select("n_true", "mean_change", "sd_change", "n_suppressed").iter_rows():
        half = None
        if not hidden and mean_allowed(n, policy) and n >= 2 and sd is not None and mean is not None:
            half = t_quantile(0.975, n - 1) * sd / math.sqrt(n)
        low.append(None if half is None else mean - half)
        high.append(None if half is None else mean + half)
    allowed = ~pl.col("n_suppressed") & (pl.col("n_true") >= mins)
    statistics = ("mean_baseline", "mean_follow_up", "mean_change", "sd_change")
    return table.with_columns(
        *(pl.when(allowed).then(pl.col(c)).alias(c) for c in statistics),
        pl.Series("ci_low", low, dtype=pl.Float64), pl.Series("ci_high", high, dtype=pl.Float64),
    ).select("instrument", "mode", "is_total", *_count_columns("n"), *statistics, "ci_low", "ci_high")


# --- Student t quantile ------------------------------------------------------------------------------


def t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t distribution with ``df`` degrees of freedom (``scipy.stats.t.ppf``).

    E.g. ``t_quantile(0.975, 4)`` = 2.776445, ``t_quantile(0.975, 29)`` = 2.045230. Refuses p outside
    (0, 1) and df <= 0 with a ValueError rather than returning nan.
    """
    if not 0.0 < p < 1.0:
        raise ValueError("p must lie strictly between 0 and 1")
    if df <= 0:
        raise ValueError("the degrees of freedom must be positive")
    from scipy import stats  # on first use: importing scipy.stats costs ~0.7 s, and most dashboards show no interval

    return float(stats.t.ppf(p, df))


# --- 7. volunteers ----------------------------------------------------------------------------------

_DIMENSIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("total", ("all",)),
    ("status", tuple(s.value for s in m.VolunteerStatus)),
    ("recruited_via", tuple(r.value for r in m.Recruitment)),
    ("load", LOAD_BUCKETS),
)


def volunteers(frames: Any, filters: Filters | None = None, policy: SuppressionPolicy = STANDARD) -> pl.DataFrame:
    """Brobyggere per site: all, by onboarding status (the pipeline; "active" are the active
    brobyggere), by how they were recruited, and the active ones by load (open cases held,
    ``LOAD_BUCKETS``). Follows the site filter only.

    One row per site (and ``"total"``), ``dimension`` ("total", "status", "recruited_via", "load")
    and ``category``. Columns: ``site``, ``is_total``, ``dimension``, ``category``,
    ``volunteers`` (+ label, suppressed). Volunteers are people: their counts are suppressed like
    citizens'. Protected relations: statuses and recruitment channels each add up to the site's
    "total/all" row, load buckets to its "status/active" row, and sites to the total row.
    """
    vols = _frame(frames, "volunteers")
    if filters is not None and filters.sites:
        vols = vols.filter(pl.col("site").is_in(list(filters.sites)))
    load = pl.col("load").fill_null(0)
    bucket = pl.when(load >= 4).then(pl.lit("4+")).otherwise(load.cast(pl.String))
    facts = _with_total(pl.concat([
        vols.select("site", pl.lit("total").alias("dimension"), pl.lit("all").alias("category")),
        vols.select("site", pl.lit("status").alias("dimension"), pl.col("status").cast(pl.String).alias("category")),
        vols.select("site", pl.lit("recruited_via").alias("dimension"),
                    pl.col("recruited_via").cast(pl.String).alias("category")),
        vols.filter(pl.col("status") == m.VolunteerStatus.active.value).select(
            "site", pl.lit("load").alias("dimension"), bucket.alias("category")),
    ]))
    counts = facts.group_by("site", "dimension", "category").agg(pl.len().cast(pl.Int64).alias("volunteers"))
    categories = pl.DataFrame(
        [(d_no, d, c_no, c) for d_no, (d, cats) in enumerate(_DIMENSIONS) for c_no, c in enumerate(cats)],
        schema={"d_no": pl.Int32, "dimension": pl.String, "c_no": pl.Int32, "category": pl.String}, orient="row")
    sites = _site_frame(sorted(vols.get_column("site").drop_nulls().unique().to_list()))
    table = (sites.join(categories, how="cross").join(counts, on=["site", "dimension", "category"], how="left")
             .with_columns(pl.col("volunteers").fill_null(0)).sort("d_no", "site_no", "c_no"))
    dim, site = pl.col("dimension"), pl.col("site")
    table = table.with_columns(
        pl.when(dim.is_in(["status", "total"])).then(site).alias("k_status"),
        pl.when(dim.is_in(["recruited_via", "total"])).then(site).alias("k_recruited"),
        (dim == "total").alias("t_all"),
        pl.when((dim == "load") | ((dim == "status") & (pl.col("category") == m.VolunteerStatus.active.value)))
        .then(site).alias("k_load"),
        (dim == "status").alias("t_active"),
        (dim + "|" + pl.col("category")).alias("k_sites"),
        (site == TOTAL).alias("is_total"),
        # keep the site's head count and its active brobyggere visible before the breakdowns
        pl.when(dim == "total").then(2).when((dim == "status") & (pl.col("category") == m.VolunteerStatus.active.value))
        .then(1).otherwise(0).cast(pl.Int8).alias("keep"),
    )
    table = suppress_counts(table, "volunteers", within=[["k_status"], ["k_recruited"], ["k_load"], ["k_sites"]],
                            total=["t_all", "t_all", "t_active", "is_total"], policy=policy, priority="keep")
    return table.select("site", "is_total", "dimension", "category", *_count_columns("volunteers"))


VIEWS = ("funnel", "progress", "flow", "sources", "time_to_help", "waiting", "lasting", "outcomes", "volunteers")
"""The lead's views, in page order; ``view_table`` computes the table behind each."""


def view_table(view: str, frames: Any, targets: Any, filters: Filters | None, policy: SuppressionPolicy, *,
               as_of: date, year: int | None = None, metric: str | None = None) -> pl.DataFrame:
    """The suppressed table behind one of the lead's views (``progress`` needs ``year`` and ``metric``)."""
    if view == "funnel":
        return funnel(frames, filters, policy)
    if view == "progress":
        if year is None or metric is None:
            raise ValueError("the progress view needs a year and a metric")
        return progress(frames, targets, filters, policy, year=year, metric=metric, as_of=as_of)
    if view == "flow":
        return flow(frames, filters, policy, as_of=as_of)
    if view == "sources":
        return referral_sources(frames, filters, policy)
    if view == "waiting":
        return waiting_list(frames, filters, policy, as_of=as_of)
    if view == "time_to_help":
        return time_to_help(frames, filters, policy)
    if view == "lasting":
        return lasting(frames, filters, policy, as_of=as_of)
    if view == "outcomes":
        return outcomes(frames, filters, policy)
    if view == "volunteers":
        return volunteers(frames, filters, policy)
    raise ValueError(f"unknown view {view!r}; choose one of {VIEWS}")
