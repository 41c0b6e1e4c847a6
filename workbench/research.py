"""The research track's statistics on the de-identified extract: paired change, retention, adjusted comparisons.

Reads the extract's ``cases`` and ``measure_pairs`` tables (polars, column names as written by
``workbench extract``) and computes with scipy and statsmodels rather than hand-written formulas:

    from workbench import research

    research.paired_change(pairs, "swemwbs")          # mean change, 95 % CI, Cohen's d_z, paired t-test
    research.paired_changes(pairs)                    # the same, one row per instrument
    research.retention(cases)                         # Kaplan-Meier: still in the community at 0, 4, 12 weeks
    research.compare_change(pairs, cases, cohort, "ucla3")  # OLS: cohort vs the rest, adjusted
    research.compare_lasting(cases, cohort)           # logistic regression: odds ratio of lasting at 12 weeks

Scores are those of the extract: UCLA-3 raw total 3-9 (lower is less lonely), SWEMWBS metric
score 7-35 (higher is better wellbeing); a change is follow-up minus baseline.

Disclosure: every result passes ``workbench.reporting.suppression``. No statistic over fewer
than ``policy.min_count`` people (the functions that return one result refuse with
``InvalidInput``, whose message never states the small number; the tables show null and "<5"),
and every count of people is labelled through the suppression module. A "person" here is a
case: a citizen with two cases counts twice.

Every function prints the caveats that go with its numbers (observational data, not a trial,
and its own), in the language in force (Danish by default); ``quiet=True`` prints nothing.

Importing this module loads scipy and statsmodels (about a second): import it in research
notebooks, not on a dashboard's path.

Known limits:
- Kaplan-Meier survival in publication mode is computed from the true counts, so a reader
  can narrow the rounded counts under it a little; the research track is for staff with
  research access, not for export without review.
- The comparisons adjust for site and age group only (what the extract holds); see the
  confounding caveat.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import polars as pl
import statsmodels.formula.api as smf  # type: ignore[import-untyped]
from scipy import stats
from statsmodels.discrete.discrete_model import Logit  # type: ignore[import-untyped]
from statsmodels.duration.survfunc import SurvfuncRight  # type: ignore[import-untyped]
from statsmodels.tools.sm_exceptions import (  # type: ignore[import-untyped]
    ConvergenceWarning,
    HessianInversionWarning,
    PerfectSeparationError,
    PerfectSeparationWarning,
)

from workbench.domain import model as m
from workbench.errors import InvalidInput
from workbench.i18n import t
from workbench.reporting.suppression import STANDARD, SuppressionPolicy, count_label, mean_allowed, suppress_counts

__all__ = [
    "WEEKS", "Comparison", "PairedChange", "compare_change", "compare_lasting", "paired_change", "paired_changes",
    "retention",
]

WEEKS = (0, 4, 12)
"""The points of the retention curve, in weeks after the escort (the follow-ups are at 4 and 12 weeks)."""

_COVARIATES = ("site", "age_group")
_CONFIDENCE = 0.95
_SEPARATED = 1e-8  # a fitted probability this close to 0 or 1 means the logistic MLE does not exist (R's glm warns alike)


# --- results --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PairedChange:
    """Change from baseline to follow-up of one instrument over ``n`` pairs (one per case).

    ``ci_low``/``ci_high``: 95 % confidence interval of the mean change (Student t, n - 1 df);
    ``dz``: Cohen's d_z, the mean change over the standard deviation of the changes; ``t`` and
    ``p``: one-sample t-test of the changes against 0 (the paired t-test), two-sided. ``dz``,
    ``t`` and ``p`` are nan when every change is the same. ``n_label`` is ``n`` as the policy
    shows it (rounded in publication mode).
    """

    instrument: str
    n: int
    n_label: str
    mean_baseline: float
    mean_follow_up: float
    mean_change: float
    sd_change: float
    ci_low: float
    ci_high: float
    dz: float
    t: float
    p: float


@dataclass(frozen=True)
class Comparison:
    """The cohort against the rest, adjusted: a difference in mean change (OLS) or an odds ratio (logit).

    ``estimate`` with its 95 % confidence interval and two-sided p-value (t for OLS, Wald z for
    the logit); ``n_cohort_label``/``n_rest_label``: the group sizes as the policy shows them;
    ``adjusted_for``: the covariates in the model (those with more than one level).
    """

    outcome: str
    estimate: float
    ci_low: float
    ci_high: float
    p: float
    n_cohort_label: str
    n_rest_label: str
    adjusted_for: tuple[str, ...]
    model: str


# --- shared helpers -------------------------------------------------------------------------------


def _caveats(quiet: bool, *texts: str) -> None:
    """Print the caveats (already in the language in force) under a heading, unless quiet."""
    if quiet:
        return
    print(t("research.caveats"))
    for text in texts:
        print(f"- {text}")


def _instrument(instrument: str) -> str:
    """The instrument's value (``ucla3`` or ``swemwbs``), or ``InvalidInput`` naming the unknown one."""
    try:
        return m.Instrument(str(instrument)).value
    except ValueError:
        raise InvalidInput("research.unknown_instrument", field="instrument", instrument=str(instrument)) from None


def _refuse_small(n: int, policy: SuppressionPolicy) -> None:
    """Refuse a statistic over fewer than min_count people, without stating how many there were."""
    if not mean_allowed(n, policy):
        raise InvalidInput("research.too_few", n_label=count_label(n, policy), min_count=policy.min_count)


def _pairs_of(pairs: pl.DataFrame, instrument: str) -> pl.DataFrame:
    """The complete pairs of one instrument."""
    return pairs.filter(pl.col("instrument").cast(pl.String) == instrument).drop_nulls(["baseline", "follow_up", "change"])


def _cohort_ids(cohort: Collection[str] | pl.DataFrame | pl.Series | Any) -> list[str]:
    """The case pseudonyms of a cohort given as pseudonyms, a Series of them, a frame with a ``case`` column,
    or a ``workbench.lab.Cohort`` (anything with such a frame as ``cases``)."""
    frame = getattr(cohort, "cases", None)
    if isinstance(frame, pl.DataFrame):
        cohort = frame
    if isinstance(cohort, pl.DataFrame):
        if "case" not in cohort.columns:
            raise InvalidInput("research.cohort_column", field="cohort")
        return [str(c) for c in cohort.get_column("case").drop_nulls().to_list()]
    if isinstance(cohort, str):
        return [cohort]
    return [str(c) for c in cohort if c is not None]


# --- 1. paired change ----------------------------------------------------------------------------


def _paired(chosen: pl.DataFrame, instrument: str, policy: SuppressionPolicy) -> PairedChange:
    """The statistics of ``paired_change`` over pairs already checked to be enough."""
    change = chosen.get_column("change").cast(pl.Float64).to_numpy()
    n = len(change)
    mean, sd = float(np.mean(change)), float(np.std(change, ddof=1))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all changes equal: scipy warns and returns nan
        test = stats.ttest_1samp(change, 0.0)
        interval = test.confidence_interval(_CONFIDENCE)
    return PairedChange(
        instrument=instrument, n=n, n_label=count_label(n, policy),
        mean_baseline=float(np.mean(chosen.get_column("baseline").to_numpy())),
        mean_follow_up=float(np.mean(chosen.get_column("follow_up").to_numpy())),
        mean_change=mean, sd_change=sd, ci_low=float(interval.low), ci_high=float(interval.high),
        dz=mean / sd if sd > 0 else math.nan, t=float(test.statistic), p=float(test.pvalue),
    )


def _change_caveats(quiet: bool) -> None:
    """The caveats of a pre/post change."""
    _caveats(quiet, t("research.caveat.observational"), t("research.caveat.regression_to_mean"),
             t("research.caveat.read_aloud"))


def paired_change(pairs: pl.DataFrame, instrument: str, policy: SuppressionPolicy = STANDARD, *,
                  quiet: bool = False) -> PairedChange:
    """Mean change of one instrument from baseline to follow-up, its 95 % CI, Cohen's d_z and the paired t-test.

    Assumes one pair per case and instrument (the extract's key), independent pairs (a citizen
    with two cases breaks this a little) and changes close enough to normal for the t interval
    (or enough pairs). Refuses (``InvalidInput``) fewer than ``policy.min_count`` pairs.
    """
    key = _instrument(instrument)
    chosen = _pairs_of(pairs, key)
    _refuse_small(chosen.height, policy)
    result = _paired(chosen, key, policy)
    _change_caveats(quiet)
    return result


_PAIRED_SCHEMA = pl.Schema({
    "instrument": pl.String, "n": pl.Int64, "n_label": pl.String, "mean_baseline": pl.Float64,
    "mean_follow_up": pl.Float64, "mean_change": pl.Float64, "sd_change": pl.Float64, "ci_low": pl.Float64,
    "ci_high": pl.Float64, "dz": pl.Float64, "t": pl.Float64, "p": pl.Float64,
})


def paired_changes(pairs: pl.DataFrame, policy: SuppressionPolicy = STANDARD, *, quiet: bool = False) -> pl.DataFrame:
    """``paired_change`` for every instrument, one row each (UCLA-3, then SWEMWBS).

    Assumes what ``paired_change`` does. ``n`` is null and ``n_label`` "<5" for 1 .. min_count - 1
    pairs (rounded in publication mode); every statistic is null below ``min_count`` pairs.
    """
    rows: list[dict[str, Any]] = []
    for instrument in (i.value for i in m.Instrument):
        chosen = _pairs_of(pairs, instrument)
        n, label = chosen.height, count_label(chosen.height, policy)
        row: dict[str, Any] = {"instrument": instrument, "n": None if label == policy.small_label else int(label),
                               "n_label": label}
        if mean_allowed(n, policy):
            result = _paired(chosen, instrument, policy)
            row |= {name: getattr(result, name) for name in _PAIRED_SCHEMA.names()[3:]}
        rows.append(row)
    _change_caveats(quiet)
    return pl.DataFrame(rows, schema=_PAIRED_SCHEMA)


# --- 2. retention (Kaplan-Meier) -------------------------------------------------------------------


def _retention_times(cases: pl.DataFrame) -> pl.DataFrame:
    """Week of drop-out (event) or of the last follow-up still taking part (censored), per attended case with a follow-up."""
    s4, s12 = pl.col("still_4w"), pl.col("still_12w")
    followed = pl.col("attended").fill_null(False) & (s4.is_not_null() | s12.is_not_null())
    return cases.filter(followed).select(
        pl.when(s4.eq(False)).then(4).when(s12.is_not_null()).then(12).otherwise(4).cast(pl.Int32).alias("time"),
        pl.when(s4.eq(False)).then(True).when(s12.is_not_null()).then(~s12).otherwise(False).alias("event"),
    )


def _count_table(times: pl.DataFrame, policy: SuppressionPolicy) -> pl.DataFrame:
    """At risk, events and censored per week, suppressed together (plus ``true_at_risk``, for internal use).

    at_risk(w) = events(w) + censored(w) + at_risk(next week): one group per week, its total the
    week's at-risk count. The groups of consecutive weeks share a cell, so they alternate between
    two groupings (a row has one key per grouping). Complements come from the censored counts first.
    """
    rows: list[dict[str, Any]] = []
    key_of = ("k_a", "k_b")
    for i, week in enumerate(WEEKS):
        at = times.filter(pl.col("time") >= week)
        here = at.filter(pl.col("time") == week)
        events = int(here.get_column("event").sum())
        values = {"at_risk": at.height, "events": events, "censored": here.height - events}
        for quantity, n in values.items():
            row: dict[str, Any] = {"week": week, "quantity": quantity, "n": n, "k_a": None, "k_b": None,
                                   "t_a": False, "t_b": False, "keep": {"at_risk": 2, "events": 1}.get(quantity, 0)}
            row[key_of[i % 2]] = i
            if quantity == "at_risk":
                row[f"t_{'ab'[i % 2]}"] = True
                if i > 0:
                    row[key_of[(i - 1) % 2]] = i - 1
            rows.append(row)
    long = pl.DataFrame(rows, schema={"week": pl.Int32, "quantity": pl.String, "n": pl.Int64, "k_a": pl.Int32,
                                      "k_b": pl.Int32, "t_a": pl.Boolean, "t_b": pl.Boolean, "keep": pl.Int8})
    long = suppress_counts(long, "n", within=[["k_a"], ["k_b"]], total=["t_a", "t_b"], policy=policy, priority="keep")
    wide = pl.DataFrame({"week": list(WEEKS)}, schema={"week": pl.Int32})
    for quantity in ("at_risk", "events", "censored"):
        part = long.filter(pl.col("quantity") == quantity).select(
            "week", pl.col("n").alias(quantity), pl.col("n_label").alias(f"{quantity}_label"),
            pl.col("n_suppressed").alias(f"{quantity}_suppressed"))
        wide = wide.join(part, on="week", how="left")
    true_at_risk = [times.filter(pl.col("time") >= w).height for w in WEEKS]
    return wide.with_columns(pl.Series("true_at_risk", true_at_risk, dtype=pl.Int64))


def _survival_at(sf: Any, week: int) -> tuple[float, float]:
    """S(week) and its Greenwood standard error from a fitted ``SurvfuncRight`` (1 and 0 before the first event)."""
    times = np.asarray(sf.surv_times)
    index = int(np.searchsorted(times, week, side="right")) - 1
    if index < 0:
        return 1.0, 0.0
    return float(sf.surv_prob[index]), float(sf.surv_prob_se[index])


def _loglog_interval(survival: float, se: float) -> tuple[float | None, float | None]:
    """Pointwise 95 % interval on the log(-log) scale (R's ``conf.type = "log-log"``); undefined at S = 0 or 1.

    statsmodels' ``SurvfuncRight`` gives the Greenwood standard error but only a simultaneous band
    (``simultaneous_cb``), so the pointwise interval is formed here from its standard error.
    """
    if not 0.0 < survival < 1.0 or not math.isfinite(se) or se <= 0.0:
        return None, None
    z = float(stats.norm.ppf(0.5 + _CONFIDENCE / 2))
    spread = z * se / (survival * abs(math.log(survival)))
    return survival ** math.exp(spread), survival ** math.exp(-spread)


def retention(cases: pl.DataFrame, policy: SuppressionPolicy = STANDARD, *, quiet: bool = False) -> pl.DataFrame:
    """Kaplan-Meier estimate of still taking part in the community 0, 4 and 12 weeks after the escort.

    Among cases with ``attended`` True and at least one follow-up recorded. Assumes drop-out is
    known only at the follow-ups: ``still_4w`` False is an event at week 4; ``still_12w`` False an
    event at week 12 (with ``still_4w`` True or unrecorded); ``still_12w`` True is censored at 12;
    ``still_4w`` True without a 12-week record is censored at 4. A case with no follow-up yet is
    left out: censored at 0 it would change no estimate, only add a small count to the table.
    Censoring is assumed non-informative.

    One row per week (``WEEKS``): ``at_risk`` (just before the week), ``events``, ``censored``
    (each with ``_label`` and ``_suppressed``, suppressed together as ``suppress_counts``
    documents), ``survival`` (S at the week, statsmodels' ``SurvfuncRight``), ``ci_low``/``ci_high``
    (pointwise 95 %, log(-log) from the Greenwood standard error; null where S is 0 or 1).
    Survival and interval are null at a week where fewer than ``min_count`` are at risk, or where
    any at-risk or event count up to that week is hidden (S would give the hidden count away).
    """
    times = _retention_times(cases)
    table = _count_table(times, policy)
    sf = None
    if times.get_column("event").any():
        sf = SurvfuncRight(times.get_column("time").to_numpy(), times.get_column("event").cast(pl.Int8).to_numpy())
    survival: list[float | None] = []
    low: list[float | None] = []
    high: list[float | None] = []
    shown = True
    for week, n, at_hidden, events_hidden in table.select(
            "week", "true_at_risk", "at_risk_suppressed", "events_suppressed").iter_rows():
        shown = shown and mean_allowed(n, policy) and not at_hidden and not events_hidden
        s, se = _survival_at(sf, week) if sf is not None else (1.0, 0.0)
        interval = _loglog_interval(s, se) if shown else (None, None)
        survival.append(s if shown else None)
        low.append(interval[0])
        high.append(interval[1])
    table = table.with_columns(pl.Series("survival", survival, dtype=pl.Float64),
                               pl.Series("ci_low", low, dtype=pl.Float64), pl.Series("ci_high", high, dtype=pl.Float64))
    _caveats(quiet, t("research.caveat.observational"), t("research.caveat.censoring"), t("research.caveat.interval"),
             t("research.caveat.no_follow_up"))
    return table.select("week", *(f"{q}{suffix}" for q in ("at_risk", "events", "censored")
                                  for suffix in ("", "_label", "_suppressed")), "survival", "ci_low", "ci_high")


# --- 3./4. adjusted comparisons --------------------------------------------------------------------


def _model_data(frame: pl.DataFrame, outcome: str, members: list[str]) -> pl.DataFrame:
    """Outcome, cohort indicator (0/1) and covariates; a missing (withheld) age group becomes "unknown"."""
    return frame.select(
        pl.col(outcome), pl.col("case").is_in(members).cast(pl.Int8).alias("in_cohort"),
        pl.col("site").cast(pl.String), pl.col("age_group").cast(pl.String).fill_null("unknown"))


def _formula(outcome: str, data: pl.DataFrame) -> tuple[str, tuple[str, ...]]:
    """``outcome ~ in_cohort + C(site) + C(age_group)``, leaving out a covariate with a single level."""
    adjusted = tuple(c for c in _COVARIATES if data.get_column(c).n_unique() > 1)
    return f"{outcome} ~ in_cohort" + "".join(f" + C({c})" for c in adjusted), adjusted


def _pandas(data: pl.DataFrame) -> Any:
    """The frame as pandas, which statsmodels' formulas need (built from numpy: polars' ``to_pandas`` needs pyarrow)."""
    return pd.DataFrame({c: (np.asarray(s.to_list(), dtype=object) if s.dtype == pl.String else s.to_numpy())
                         for c, s in data.to_dict().items()})


def _group_sizes(data: pl.DataFrame, policy: SuppressionPolicy) -> tuple[str, str]:
    """The labels of the cohort's and the rest's sizes; refuses when either is below min_count."""
    n_cohort = int(data.get_column("in_cohort").sum())
    n_rest = data.height - n_cohort
    cohort_label, rest_label = count_label(n_cohort, policy), count_label(n_rest, policy)
    if not (mean_allowed(n_cohort, policy) and mean_allowed(n_rest, policy)):
        raise InvalidInput("research.too_few_groups", cohort_label=cohort_label, rest_label=rest_label,
                           min_count=policy.min_count)
    return cohort_label, rest_label


def _cohort_estimable(exog: np.ndarray[Any, Any], names: list[str]) -> bool:
    """Whether the cohort's coefficient is identified: its column is not a combination of the others."""
    column = names.index("in_cohort")
    rest = np.delete(exog, column, axis=1)
    return bool(np.linalg.matrix_rank(exog) > np.linalg.matrix_rank(rest))


def _independent_columns(exog: np.ndarray[Any, Any], names: list[str]) -> list[int]:
    """Columns spanning the design (the intercept and covariates first, ``in_cohort`` last), in their order.

    The logit's Newton steps need a full-rank design; dropping a covariate column that the others
    already span changes neither the model's fit nor the cohort's coefficient.
    """
    cohort = names.index("in_cohort")
    keep: list[int] = []
    for column in [i for i in range(len(names)) if i != cohort] + [cohort]:
        if np.linalg.matrix_rank(exog[:, [*keep, column]]) > len(keep):
            keep.append(column)
    return sorted(keep)


def compare_change(pairs: pl.DataFrame, cases: pl.DataFrame, cohort: Collection[str] | pl.DataFrame | pl.Series | Any,
                   instrument: str, policy: SuppressionPolicy = STANDARD, *, quiet: bool = False) -> Comparison:
    """Difference in mean change of one instrument between a cohort and the rest, adjusted for site and age group.

    OLS (statsmodels) of ``change ~ in_cohort + C(site) + C(age_group)``; the estimate is the
    cohort's coefficient (points of the instrument's score). ``cohort``: case pseudonyms, or a
    frame with a ``case`` column. Assumes additive site and age-group effects, independent
    pairs with a common variance, and one pair per case; pairs of cases missing from ``cases``
    are left out. Refuses (``InvalidInput``) when the cohort or the rest has fewer than
    ``min_count`` pairs, or the cohort cannot be told apart from the covariates.
    """
    key = _instrument(instrument)
    members = _cohort_ids(cohort)
    joined = _pairs_of(pairs, key).join(cases.select("case", "age_group"), on="case", how="inner")
    data = _model_data(joined, "change", members)
    cohort_label, rest_label = _group_sizes(data, policy)
    formula, adjusted = _formula("change", data)
    model = smf.ols(formula, data=_pandas(data))
    if not _cohort_estimable(np.asarray(model.exog), list(model.exog_names)):
        raise InvalidInput("research.not_identified")
    fit = model.fit()
    low, high = (float(v) for v in fit.conf_int(alpha=1 - _CONFIDENCE).loc["in_cohort"])
    result = Comparison(outcome=f"change_{key}", estimate=float(fit.params["in_cohort"]), ci_low=low, ci_high=high,
                        p=float(fit.pvalues["in_cohort"]), n_cohort_label=cohort_label, n_rest_label=rest_label,
                        adjusted_for=adjusted, model="OLS")
    _caveats(quiet, t("research.caveat.observational"), t("research.caveat.confounding"),
             t("research.caveat.regression_to_mean"), t("research.caveat.read_aloud"))
    return result


def _fit_logit(formula: str, data: pl.DataFrame) -> Any:
    """A fitted statsmodels logit, or ``InvalidInput`` for separation, a singular design or no convergence."""
    model = smf.logit(formula, data=_pandas(data))
    exog, names = np.asarray(model.exog), list(model.exog_names)
    if not _cohort_estimable(exog, names):
        raise InvalidInput("research.not_identified")
    keep = _independent_columns(exog, names)
    if len(keep) < len(names):  # covariates overlap (e.g. one site's age groups all withheld): same span, fewer columns
        model = Logit(np.asarray(model.endog), pd.DataFrame(exog[:, keep], columns=[names[i] for i in keep]))
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        try:
            fit = model.fit(disp=0, maxiter=100)
        except PerfectSeparationError:
            raise InvalidInput("research.separation") from None
        except np.linalg.LinAlgError:
            raise InvalidInput("research.no_convergence") from None
    # separation first: it is why a fit fails to converge or has a singular Hessian, and the clearer message
    fitted = np.asarray(fit.predict())
    if (any(issubclass(w.category, PerfectSeparationWarning) for w in caught)
            or np.any((fitted < _SEPARATED) | (fitted > 1 - _SEPARATED))):
        raise InvalidInput("research.separation")
    failed = any(issubclass(w.category, (ConvergenceWarning, HessianInversionWarning)) for w in caught)
    if failed or not fit.mle_retvals.get("converged", False) or not np.all(np.isfinite(np.asarray(fit.bse))):
        raise InvalidInput("research.no_convergence")
    return fit


def compare_lasting(cases: pl.DataFrame, cohort: Collection[str] | pl.DataFrame | pl.Series | Any,
                    policy: SuppressionPolicy = STANDARD, *, quiet: bool = False) -> Comparison:
    """Odds ratio of still taking part at 12 weeks for a cohort against the rest, adjusted for site and age group.

    Logistic regression (statsmodels) of ``lasting ~ in_cohort + C(site) + C(age_group)`` among
    cases with ``attended`` True whose status at 12 weeks is known: lasting when ``still_12w``
    is True, not lasting when ``still_12w`` is False or the citizen had already stopped at 4
    weeks (``still_4w`` False); cases still to be followed up are left out. The estimate is exp of the cohort's coefficient, the interval exp
    of its 95 % Wald interval. Assumes additive effects on the log-odds scale and independent
    cases. Refuses (``InvalidInput``) when the cohort or the rest has fewer than ``min_count``
    cases, when any of the four cohort x outcome groups has fewer than ``min_count`` (an odds
    ratio over them would describe those few), and on separation or failure to converge.
    """
    members = _cohort_ids(cohort)
    stopped_early = pl.col("still_4w").eq(False)
    known = pl.col("still_12w").is_not_null() | stopped_early
    followed = cases.filter(pl.col("attended").fill_null(False) & known).with_columns(
        (pl.col("still_12w").fill_null(False) & ~stopped_early).cast(pl.Int8).alias("lasting"))
    data = _model_data(followed, "lasting", members)
    cohort_label, rest_label = _group_sizes(data, policy)
    cells = data.group_by("in_cohort", "lasting").len()
    if cells.height < 4 or not all(mean_allowed(int(n), policy) for n in cells.get_column("len")):
        raise InvalidInput("research.too_few_outcomes", min_count=policy.min_count)
    formula, adjusted = _formula("lasting", data)
    fit = _fit_logit(formula, data)
    low, high = (math.exp(float(v)) for v in fit.conf_int(alpha=1 - _CONFIDENCE).loc["in_cohort"])
    result = Comparison(outcome="lasting_12w", estimate=math.exp(float(fit.params["in_cohort"])), ci_low=low,
                        ci_high=high, p=float(fit.pvalues["in_cohort"]), n_cohort_label=cohort_label,
                        n_rest_label=rest_label, adjusted_for=adjusted, model="logit")
    _caveats(quiet, t("research.caveat.observational"), t("research.caveat.confounding"),
             t("research.caveat.follow_up_selection"))
    return result
