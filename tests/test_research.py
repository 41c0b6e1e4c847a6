"""The research track's statistics, each checked against an answer known without the code under test.

Frames are built with the extract's columns (``workbench extract``: ``cases``, ``measure_pairs``).
Known answers: Student's sleep data as R's ``t.test(..., paired = TRUE)`` reports it; Kaplan-Meier
worked by hand with the product-limit and Greenwood formulas; designs where the adjusted OLS
difference and the logistic odds ratio are exact by construction.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from workbench import i18n
from workbench import research as r
from workbench.errors import InvalidInput
from workbench.reporting.suppression import HIDDEN_LABEL, PUBLICATION

CASES_SCHEMA = pl.Schema({
    "case": pl.String, "citizen": pl.String, "volunteer": pl.String, "site": pl.String, "age_group": pl.String,
    "referral_source": pl.String, "referral_period": pl.String, "status": pl.String, "community_kind": pl.String,
    "weeks_to_contact": pl.Int32, "weeks_to_conversation": pl.Int32, "weeks_to_escort": pl.Int32,
    "attended": pl.Boolean, "still_4w": pl.Boolean, "still_12w": pl.Boolean, "closed": pl.Boolean,
    "close_reason": pl.String, "interventions": pl.List(pl.String),
})
PAIRS_SCHEMA = pl.Schema({
    "case": pl.String, "site": pl.String, "instrument": pl.String, "baseline": pl.Float64, "follow_up": pl.Float64,
    "change": pl.Float64, "baseline_mode": pl.String, "follow_up_mode": pl.String, "weeks_between": pl.Int32,
})

# Student's sleep data (Cushny & Peebles 1905): extra sleep of 10 patients on drug 2 minus drug 1.
SLEEP = [1.2, 2.4, 1.3, 1.3, 0.0, 1.0, 1.8, 0.8, 4.6, 1.4]


def case_row(case: str, site: str = "ODE", age_group: str | None = "adult", *, attended: bool | None = True,
             still_4w: bool | None = None, still_12w: bool | None = None) -> dict[str, Any]:
    return {"case": case, "citizen": f"cit-{case}", "volunteer": "vol-1", "site": site, "age_group": age_group,
            "referral_source": "gp", "referral_period": "2026-03", "status": "escorted", "community_kind": "sport",
            "weeks_to_contact": 1, "weeks_to_conversation": 2, "weeks_to_escort": 4, "attended": attended,
            "still_4w": still_4w, "still_12w": still_12w, "closed": False, "close_reason": None, "interventions": []}


def cases_frame(rows: Iterable[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=CASES_SCHEMA)


def pair_row(case: str, change: float, *, instrument: str = "swemwbs", site: str = "ODE",
             baseline: float = 20.0) -> dict[str, Any]:
    return {"case": case, "site": site, "instrument": instrument, "baseline": baseline, "follow_up": baseline + change,
            "change": change, "baseline_mode": "self_completed", "follow_up_mode": "self_completed", "weeks_between": 12}


def pairs_frame(rows: Iterable[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=PAIRS_SCHEMA)


def sleep_pairs(instrument: str = "swemwbs") -> pl.DataFrame:
    baselines = [20.0, 22.0, 18.0, 25.0, 21.0, 19.0, 23.0, 20.0, 17.0, 24.0]
    return pairs_frame(pair_row(f"c{i}", d, instrument=instrument, baseline=b)
                       for i, (d, b) in enumerate(zip(SLEEP, baselines, strict=True)))


@pytest.fixture
def danish(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default language: nothing set, no WORKBENCH_LANG."""
    monkeypatch.setattr(i18n, "_current", None)
    monkeypatch.delenv("WORKBENCH_LANG", raising=False)


# --- 1. paired change -------------------------------------------------------------------------------------


def test_paired_change_matches_r_on_the_sleep_data() -> None:
    # R: t.test(extra ~ group, data = sleep, paired = TRUE) -> t = -4.0621, df = 9, p-value = 0.002833,
    # 95 % CI -2.4598858 -0.7001142, mean difference -1.58 (group 1 - group 2; here follow-up - baseline).
    result = r.paired_change(sleep_pairs(), "swemwbs", quiet=True)
    assert result.instrument == "swemwbs"
    assert (result.n, result.n_label) == (10, "10")
    assert result.mean_change == pytest.approx(1.58)
    assert result.sd_change == pytest.approx(1.229995, abs=1e-6)
    assert result.t == pytest.approx(4.0621, abs=1e-4)
    assert result.p == pytest.approx(0.002833, abs=1e-6)
    assert result.ci_low == pytest.approx(0.7001142, abs=1e-7)
    assert result.ci_high == pytest.approx(2.4598858, abs=1e-7)
    assert result.dz == pytest.approx(1.58 / 1.229995, abs=1e-6)
    assert result.mean_baseline == pytest.approx(20.9)
    assert result.mean_follow_up == pytest.approx(20.9 + 1.58)


def test_paired_change_refuses_too_few_without_stating_how_many(danish: None) -> None:
    three = sleep_pairs("ucla3").head(3)
    with pytest.raises(InvalidInput) as refused:
        r.paired_change(three, "ucla3", quiet=True)
    assert refused.value.key == "research.too_few"
    for language in i18n.LANGUAGES:
        i18n.set_language(language)
        assert "3" not in str(refused.value) and "<5" in str(refused.value)
    with pytest.raises(InvalidInput):  # publication mode: fewer than 8
        r.paired_change(sleep_pairs().head(7), "swemwbs", PUBLICATION, quiet=True)


def test_paired_change_refuses_an_unknown_instrument() -> None:
    with pytest.raises(InvalidInput) as refused:
        r.paired_change(sleep_pairs(), "phq9", quiet=True)
    assert refused.value.key == "research.unknown_instrument"


def test_paired_changes_one_row_per_instrument_through_the_gate() -> None:
    pairs = pl.concat([sleep_pairs("swemwbs"), sleep_pairs("ucla3").head(3)])
    table = r.paired_changes(pairs, quiet=True)
    assert table.get_column("instrument").to_list() == ["ucla3", "swemwbs"]
    ucla, swemwbs = table.row(0, named=True), table.row(1, named=True)
    assert (ucla["n"], ucla["n_label"]) == (None, "<5")
    assert all(ucla[c] is None for c in ("mean_baseline", "mean_change", "sd_change", "ci_low", "ci_high", "dz", "t", "p"))
    single = r.paired_change(pairs, "swemwbs", quiet=True)
    assert (swemwbs["n"], swemwbs["n_label"]) == (10, "10")
    assert swemwbs["mean_change"] == pytest.approx(single.mean_change)
    assert swemwbs["ci_low"] == pytest.approx(single.ci_low) and swemwbs["p"] == pytest.approx(single.p)
    # publication mode: 10 pairs are shown rounded to 10, 3 as "<8"
    published = r.paired_changes(pairs, PUBLICATION, quiet=True)
    assert published.get_column("n_label").to_list() == ["<8", "10"]


# --- 2. retention ------------------------------------------------------------------------------------------


def retention_cases(spec: Iterable[tuple[int, bool | None, bool | None, bool | None]]) -> pl.DataFrame:
    """``(how many, attended, still_4w, still_12w)`` -> that many cases."""
    rows, i = [], 0
    for count, attended, s4, s12 in spec:
        for _ in range(count):
            rows.append(case_row(f"c{i}", attended=attended, still_4w=s4, still_12w=s12))
            i += 1
    return cases_frame(rows)


def greenwood_loglog(survival: float, terms: list[tuple[int, int]]) -> tuple[float, float]:
    """By hand: Var S = S^2 * sum d / (n (n - d)); 95 % interval S^exp(+-1.959964 * se / (S |ln S|))."""
    se = survival * math.sqrt(sum(d / (n * (n - d)) for n, d in terms))
    spread = 1.959963984540054 * se / (survival * abs(math.log(survival)))
    return survival ** math.exp(spread), survival ** math.exp(-spread)


def test_retention_kaplan_meier_by_hand() -> None:
    cases = retention_cases([
        (5, True, False, None),  # dropped out by week 4: events at 4
        (5, True, True, None),  # still there at 4, no 12-week record yet: censored at 4
        (3, True, True, False),  # dropped out between 4 and 12: events at 12
        (2, True, None, False),  # 4-week follow-up missed, gone at 12: events at 12
        (5, True, True, True),  # still there at 12: censored at 12
        (4, True, None, None),  # no follow-up yet: left out
        (3, False, None, None), (2, None, None, None),  # did not attend (or not recorded): not in the curve
    ])
    table = r.retention(cases, quiet=True)
    assert table.get_column("week").to_list() == [0, 4, 12]
    assert table.get_column("at_risk").to_list() == [20, 20, 10]
    assert table.get_column("events").to_list() == [0, 5, 5]
    assert table.get_column("censored").to_list() == [0, 5, 5]
    assert not any(table.get_column(f"{q}_suppressed").any() for q in ("at_risk", "events", "censored"))
    s4 = 1 - 5 / 20
    s12 = s4 * (1 - 5 / 10)
    assert table.get_column("survival").to_list() == pytest.approx([1.0, s4, s12])
    assert table.row(0, named=True)["ci_low"] is None  # S = 1: no interval
    for week, s, terms in ((4, s4, [(20, 5)]), (12, s12, [(20, 5), (10, 5)])):
        row = table.filter(pl.col("week") == week).row(0, named=True)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(greenwood_loglog(s, terms), abs=1e-9)


def test_retention_hides_small_counts_and_the_survival_that_would_reveal_them() -> None:
    cases = retention_cases([(5, True, False, None), (12, True, True, True), (3, True, True, False)])
    table = r.retention(cases, quiet=True)
    week12 = table.filter(pl.col("week") == 12).row(0, named=True)
    assert (week12["at_risk"], week12["at_risk_label"]) == (15, "15")
    assert (week12["events"], week12["events_label"]) == (None, "<5")
    # 15 at risk minus the 12 censored would give the 3 events away: the censored count is hidden too
    assert (week12["censored"], week12["censored_label"]) == (None, HIDDEN_LABEL)
    # S(12) = S(4) * (1 - d/15) would give d away as well
    assert table.get_column("survival").to_list() == [1.0, pytest.approx(0.75), None]
    assert week12["ci_low"] is None and week12["ci_high"] is None
    labels = {label for column in ("at_risk_label", "events_label", "censored_label")
              for label in table.get_column(column).to_list()}
    assert not {"1", "2", "3", "4"} & labels


def test_retention_with_too_few_people_shows_no_survival() -> None:
    table = r.retention(retention_cases([(2, True, False, None), (2, True, True, True)]), quiet=True)
    assert table.get_column("at_risk_label").to_list()[0] == "<5"
    assert table.get_column("survival").to_list() == [None, None, None]
    empty = r.retention(cases_frame([]), quiet=True)
    assert empty.get_column("at_risk").to_list() == [0, 0, 0]
    assert empty.get_column("survival").to_list() == [None, None, None]


# --- 3. adjusted difference in change (OLS) ---------------------------------------------------------------

SITE_EFFECT = {"ODE": 0.0, "SVE": 3.0}
AGE_EFFECT = {"adult": 0.0, "elderly": -1.0}


def confounded_design() -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """change = 2 * in_cohort + site + age group + noise, the noise -1, 0, +1 within every cell.

    Each (site, age group, cohort) cell's noise sums to 0, so it is orthogonal to every column of
    the design and OLS recovers the coefficients exactly: the adjusted difference is 2.0. The cohort
    sits mostly at SVE (site effect +3), so the unadjusted difference is 3.0.
    """
    pairs, cases, cohort, i = [], [], [], 0
    for site, site_effect in SITE_EFFECT.items():
        for age, age_effect in AGE_EFFECT.items():
            in_cohort_blocks = 1 if site == "ODE" else 2
            for in_cohort, blocks in ((True, in_cohort_blocks), (False, 3 - in_cohort_blocks)):
                for _ in range(blocks):
                    for noise in (-1.0, 0.0, 1.0):
                        case = f"c{i}"
                        i += 1
                        change = 2.0 * in_cohort + site_effect + age_effect + noise
                        pairs.append(pair_row(case, change, instrument="ucla3", site=site, baseline=6.0))
                        cases.append(case_row(case, site, age))
                        if in_cohort:
                            cohort.append(case)
    return pairs_frame(pairs), cases_frame(cases), cohort


def test_compare_change_recovers_the_exact_adjusted_difference() -> None:
    pairs, cases, cohort = confounded_design()
    naive = pairs.group_by(pl.col("case").is_in(cohort).alias("c")).agg(pl.col("change").mean())
    assert dict(naive.iter_rows()) == {True: pytest.approx(3.5), False: pytest.approx(0.5)}  # unadjusted: 3.0
    result = r.compare_change(pairs, cases, cohort, "ucla3", quiet=True)
    assert result.estimate == pytest.approx(2.0, abs=1e-12)
    assert result.ci_low < 2.0 < result.ci_high and result.ci_high - result.ci_low < 2.0
    assert result.p < 1e-4
    assert (result.n_cohort_label, result.n_rest_label) == ("18", "18")
    assert result.adjusted_for == ("site", "age_group") and result.model == "OLS"
    assert result.outcome == "change_ucla3"
    # the cohort as a frame with a case column, or a set, is the same cohort
    as_frame = r.compare_change(pairs, cases, pl.DataFrame({"case": cohort}), "ucla3", quiet=True)
    assert as_frame == result == r.compare_change(pairs, cases, set(cohort), "ucla3", quiet=True)


def test_compare_change_drops_a_covariate_with_one_level() -> None:
    pairs, cases, cohort = confounded_design()
    ode = cases.filter(pl.col("site") == "ODE").get_column("case")
    result = r.compare_change(pairs.filter(pl.col("case").is_in(ode.implode())), cases, cohort, "ucla3", quiet=True)
    assert result.adjusted_for == ("age_group",)
    assert result.estimate == pytest.approx(2.0, abs=1e-12)


def test_compare_change_refusals(danish: None) -> None:
    pairs, cases, cohort = confounded_design()
    with pytest.raises(InvalidInput) as refused:
        r.compare_change(pairs, cases, cohort[:3], "ucla3", quiet=True)
    assert refused.value.key == "research.too_few_groups" and "(<5)" in str(refused.value)
    assert "(3)" not in str(refused.value)
    # the whole cohort at one site and nobody else there: cohort and site cannot be told apart
    sve = cases.filter(pl.col("site") == "SVE").get_column("case").to_list()
    with pytest.raises(InvalidInput) as refused:
        r.compare_change(pairs, cases, sve, "ucla3", quiet=True)
    assert refused.value.key == "research.not_identified"
    with pytest.raises(InvalidInput) as refused:
        r.compare_change(pairs, cases, pl.DataFrame({"id": cohort}), "ucla3", quiet=True)
    assert refused.value.key == "research.cohort_column"


# --- 4. adjusted odds ratio of lasting participation (logit) ------------------------------------------------


def lasting_cases(strata: Iterable[tuple[str, str | None]], table: tuple[int, int, int, int] = (8, 4, 4, 8),
                  extra: Iterable[dict[str, Any]] = ()) -> tuple[pl.DataFrame, list[str]]:
    """Every stratum gets the same 2x2 table: (cohort lasting, cohort not, rest lasting, rest not).

    Every other case that did not last had already stopped at the 4-week follow-up (no 12-week one)."""
    rows, cohort, i = [], [], 0
    for site, age in strata:
        for in_cohort, lasting, count in zip((True, True, False, False), (True, False, True, False), table, strict=True):
            for _ in range(count):
                case = f"k{i}"
                i += 1
                stopped_early = not lasting and i % 2 == 1
                rows.append(case_row(case, site, age, still_4w=not stopped_early,
                                     still_12w=None if stopped_early else lasting))
                if in_cohort:
                    cohort.append(case)
    return cases_frame([*rows, *extra]), cohort


STRATA = [(site, age) for site in ("ODE", "SVE") for age in ("adult", "elderly")]


def test_compare_lasting_odds_ratio_is_exact_when_every_stratum_has_the_same_table() -> None:
    # not followed up at 12 weeks, or not attended: not in the model
    extra = [case_row("x1", still_4w=True, still_12w=None), case_row("x2", attended=False, still_12w=False)]
    cases, cohort = lasting_cases(STRATA, extra=extra)
    result = r.compare_lasting(cases, cohort, quiet=True)
    assert result.estimate == pytest.approx((8 * 8) / (4 * 4), rel=1e-9)
    # the strata carry no information, so the Wald interval is Woolf's on the pooled table 32/16/16/32
    se = math.sqrt(1 / 32 + 1 / 16 + 1 / 16 + 1 / 32)
    assert result.ci_low == pytest.approx(4.0 * math.exp(-1.959963984540054 * se), rel=1e-6)
    assert result.ci_high == pytest.approx(4.0 * math.exp(1.959963984540054 * se), rel=1e-6)
    assert result.p == pytest.approx(2 * (1 - 0.5 * (1 + math.erf(math.log(4.0) / se / math.sqrt(2)))), rel=1e-6)
    assert (result.n_cohort_label, result.n_rest_label) == ("48", "48")
    assert result.adjusted_for == ("site", "age_group")
    assert (result.outcome, result.model) == ("lasting_12w", "logit")


def test_compare_lasting_with_withheld_age_groups_that_overlap_a_site() -> None:
    # SVE's age groups all withheld ("unknown"): age group and site overlap; the odds ratio stays (8*8)/(5*5)
    cases, cohort = lasting_cases([("ODE", "adult"), ("SVE", None)], table=(8, 5, 5, 8))
    result = r.compare_lasting(cases, cohort, quiet=True)
    assert result.estimate == pytest.approx(64 / 25, rel=1e-9)
    assert result.adjusted_for == ("site", "age_group")


@pytest.mark.parametrize(("build", "key"), [
    # a third site where all five lasted: its coefficient runs off to infinity
    (lambda: lasting_cases(STRATA, extra=[case_row(f"a{i}", "AAR", "adult", still_4w=True, still_12w=True)
                                          for i in range(5)]), "research.separation"),
    # one stratum: four cohort cases that did not last
    (lambda: lasting_cases([("ODE", "adult")], table=(8, 4, 6, 8)), "research.too_few_outcomes"),
    (lambda: lasting_cases([("ODE", "adult")], table=(3, 1, 6, 8)), "research.too_few_groups"),
    # cohort only at ODE, rest only at SVE
    (lambda: (lasting_cases([("ODE", "adult")], table=(6, 6, 0, 0))[0].vstack(
        lasting_cases([("SVE", "adult")], table=(0, 0, 6, 6))[0].with_columns(pl.col("case") + "s")),
        [f"k{i}" for i in range(12)]), "research.not_identified"),
])
def test_compare_lasting_refusals(build: Callable[[], tuple[pl.DataFrame, list[str]]], key: str) -> None:
    cases, cohort = build()
    with pytest.raises(InvalidInput) as refused:
        r.compare_lasting(cases, cohort, quiet=True)
    assert refused.value.key == key
    assert refused.value.message != key  # the catalog has the sentence


# --- caveats ------------------------------------------------------------------------------------------------


def _calls() -> dict[str, Callable[..., object]]:
    pairs, cases, cohort = confounded_design()
    lasting, lasting_cohort = lasting_cases(STRATA)
    return {
        "paired_change": lambda **kw: r.paired_change(sleep_pairs(), "swemwbs", **kw),
        "paired_changes": lambda **kw: r.paired_changes(sleep_pairs(), **kw),
        "retention": lambda **kw: r.retention(lasting, **kw),
        "compare_change": lambda **kw: r.compare_change(pairs, cases, cohort, "ucla3", **kw),
        "compare_lasting": lambda **kw: r.compare_lasting(lasting, lasting_cohort, **kw),
    }


SPECIFIC = {
    "paired_change": ["research.caveat.regression_to_mean", "research.caveat.read_aloud"],
    "paired_changes": ["research.caveat.regression_to_mean", "research.caveat.read_aloud"],
    "retention": ["research.caveat.censoring", "research.caveat.interval", "research.caveat.no_follow_up"],
    "compare_change": ["research.caveat.confounding", "research.caveat.regression_to_mean"],
    "compare_lasting": ["research.caveat.confounding", "research.caveat.follow_up_selection"],
}


@pytest.mark.parametrize("name", sorted(SPECIFIC))
def test_caveats_are_printed_in_danish_by_default_and_quiet_prints_nothing(
        name: str, danish: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    call = _calls()[name]
    call()
    out = capsys.readouterr().out
    assert out.startswith("Forbehold:\n")
    for key in ["research.caveat.observational", *SPECIFIC[name]]:
        assert f"- {i18n.t(key, 'da')}\n" in out
    call(quiet=True)
    assert capsys.readouterr().out == ""
    monkeypatch.setenv("WORKBENCH_LANG", "en")
    call()
    out = capsys.readouterr().out
    assert out.startswith("Caveats:\n") and i18n.t("research.caveat.observational", "en") in out


def test_every_research_message_exists_in_both_languages() -> None:
    da, en = ({k for k in i18n.catalog(lang) if k.startswith("research.")} for lang in ("da", "en"))
    assert da == en and "research.too_few" in da
    used = set(re.findall(r"""["'](research\.[a-z_.]+)["']""", Path(r.__file__).read_text("utf-8")))
    assert used and used <= da
