"""The project lead's numbers: hand-counted on a fixture recorded through the real service, then suppressed.

The fixture has two sites. ODE has 13 cases (o1..o13), SVE 5 (s1..s5) of whom exactly three
were escorted: the issue's "a site with 3 escorted citizens never shows 3 anywhere". Every
expected number below was worked out by hand from the timelines in ``built``; the arithmetic
is checked with ``OPEN`` (a policy that suppresses nothing), the suppression with
``STANDARD``. Larger property checks run on demo data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Any

import polars as pl
import pytest
from people import staff

import workbench
from workbench.demo import generate
from workbench.reporting import analysis as a
from workbench.reporting import frames as fr
from workbench.reporting.suppression import (
    HIDDEN_LABEL,
    NO_RATE_LABEL,
    PUBLICATION,
    STANDARD,
    SuppressionPolicy,
    is_small,
)
from workbench.service import Workbench

TODAY = date(2026, 9, 30)
OPEN = SuppressionPolicy(1)  # counts below 1 are suppressed: none; for checking the arithmetic
CW = {"purpose": "case_work", "given": True}
FU = {"purpose": "follow_up_contact", "given": True}


def d(month: int, day: int) -> date:
    return date(2026, month, day)


@dataclass
class Built:
    wb: Workbench
    case: dict[str, str] = field(default_factory=dict)
    volunteer: dict[str, str] = field(default_factory=dict)
    community: dict[str, str] = field(default_factory=dict)
    intervention: str = ""


def _journey(b: Built, name: str, site: str, referred: date, birth_year: int, source: str, *,
             contact: date | None = None, volunteer: tuple[str, date] | None = None,
             conversation: tuple[str, date] | None = None, escort: tuple[date, bool] | None = None,
             fu4: tuple[date, bool] | None = None, fu12: tuple[date, bool] | None = None,
             close: tuple[date, str] | None = None,
             measures: Iterable[tuple[date, str, list[int], str]] = ()) -> None:
    """Record one case's timeline through the service, in date order."""
    wb = b.wb
    case = wb.open_referral(site_id=site, citizen={"display_name": f"Borger {name}", "birth_year": birth_year,
                                                   "referral_source": source},
                            consents=[CW, FU], on=referred,
                            intervention_ids=[b.intervention] if name == "o1" else [])
    cid = b.case[name] = case["id"]
    steps: list[tuple[date, int, Callable[[], Any]]] = []
    if contact:
        steps.append((contact, 0, lambda: wb.record_event(cid, "contact_made", on=contact)))
    if volunteer:
        steps.append((volunteer[1], 2, lambda: wb.assign(cid, b.volunteer[volunteer[0]], on=volunteer[1])))
    if conversation:
        steps.append((conversation[1], 3, lambda: wb.record_event(
            cid, "conversation_held", community_id=b.community[conversation[0]], on=conversation[1])))
    if escort:
        assert conversation is not None
        plan_on = date.fromordinal(conversation[1].toordinal() + 1)
        steps.append((plan_on, 4, lambda: wb.record_event(cid, "escort_planned", planned_for=escort[0], on=plan_on)))
        steps.append((escort[0], 5, lambda: wb.record_event(cid, "escort_completed", attended=escort[1],
                                                            on=escort[0])))
    for week, fu in ((4, fu4), (12, fu12)):
        if fu:
            steps.append((fu[0], 6, lambda fu=fu, week=week: wb.record_event(
                cid, "follow_up", week=week, still_participating=fu[1], on=fu[0])))
    for on, instrument, answers, timepoint in measures:
        steps.append((on, 1 if timepoint == "baseline" else 7, lambda on=on, i=instrument, ans=answers, t=timepoint:
                      wb.record_measure(cid, instrument=i, answers=ans, timepoint=t, mode="self_completed", on=on)))
    if close:
        steps.append((close[0], 9, lambda: wb.close_case(cid, close[1], on=close[0])))
    for _on, _order, step in sorted(steps, key=lambda s: (s[0], s[1])):
        step()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    wb = workbench.open(tmp_path_factory.mktemp("analysis") / "data", user=staff("t"), today=lambda: TODAY)
    b = Built(wb)
    wb.add_site("ODE", "Frivilligcenter Odense", "Odense")
    wb.add_site("SVE", "Frivilligcenter Svendborg", "Svendborg")
    b.intervention = wb.add_intervention("Gåtur-pilot", started_on=date(2026, 1, 1))["id"]
    reg = wb.register_volunteer
    b.volunteer["V1"] = reg(site_id="ODE", name="Vera Et", status="active", capacity=10)["id"]
    b.volunteer["V2"] = reg(site_id="ODE", name="Villy To", status="active", capacity=10)["id"]
    b.volunteer["V3"] = reg(site_id="ODE", name="Vagn Tre", status="trained")["id"]
    b.volunteer["V4"] = reg(site_id="ODE", name="Vivi Fire", status="interested", recruited_via="word_of_mouth")["id"]
    b.volunteer["V5"] = reg(site_id="ODE", name="Viggo Fem", status="left")["id"]
    b.volunteer["V6"] = reg(site_id="SVE", name="Vibe Seks", status="active", capacity=10)["id"]
    add = wb.add_community
    b.community["K1"] = add(site_id="ODE", name="Strikkecafé", organiser="Biblioteket", kind="creative",
                            postal_code="5000")["id"]
    b.community["K2"] = add(site_id="ODE", name="Gåklubben", organiser="IF", kind="sport", postal_code="5000")["id"]
    b.community["K3"] = add(site_id="SVE", name="Havefællesskab", organiser="Haveforeningen", kind="nature",
                            postal_code="5700")["id"]
    u = "ucla3"
    j = _journey
    j(b, "o1", "ODE", d(1, 5), 2000, "doctor", contact=d(1, 7), volunteer=("V1", d(1, 7)),
      conversation=("K1", d(1, 12)), escort=(d(1, 20), True), fu4=(d(2, 17), True), fu12=(d(4, 14), True),
      close=(d(4, 20), "joined_community"),
      measures=[(d(1, 7), u, [3, 3, 3], "baseline"), (d(4, 14), u, [2, 2, 2], "follow_up")])
    j(b, "o2", "ODE", d(1, 6), 1980, "doctor", contact=d(1, 9), volunteer=("V1", d(1, 9)),
      conversation=("K1", d(1, 14)), escort=(d(1, 27), True), fu4=(d(2, 24), True), fu12=(d(4, 21), False),
      close=(d(4, 22), "declined"),
      measures=[(d(1, 9), u, [3, 3, 2], "baseline"), (d(4, 21), u, [2, 2, 2], "follow_up")])
    j(b, "o3", "ODE", d(1, 12), 1975, "doctor", contact=d(1, 13), volunteer=("V2", d(1, 13)),
      conversation=("K1", d(1, 19)), escort=(d(2, 2), True), fu4=(d(3, 2), True), fu12=(d(4, 27), True),
      measures=[(d(1, 13), u, [2, 2, 3], "baseline"), (d(4, 27), u, [2, 2, 2], "follow_up")])
    j(b, "o4", "ODE", d(1, 13), 1950, "doctor", contact=d(1, 19), volunteer=("V2", d(1, 19)),
      conversation=("K2", d(1, 26)), escort=(d(2, 9), True), fu4=(d(3, 9), False), close=(d(3, 10), "declined"),
      measures=[(d(1, 19), u, [2, 2, 2], "baseline"), (d(3, 9), u, [2, 2, 2], "follow_up")])
    j(b, "o5", "ODE", d(1, 20), 1945, "municipality", contact=d(1, 22), volunteer=("V1", d(1, 22)),
      conversation=("K1", d(1, 28)), escort=(d(2, 16), True), fu4=(d(3, 16), True), fu12=(d(5, 11), True),
      measures=[(d(1, 22), u, [3, 3, 3], "baseline"), (d(5, 11), u, [2, 2, 1], "follow_up")])
    j(b, "o6", "ODE", d(2, 2), 2001, "municipality", contact=d(2, 4), volunteer=("V2", d(2, 4)),
      conversation=("K1", d(2, 10)), escort=(d(2, 23), True), fu4=(d(3, 23), True), fu12=(d(5, 18), True))
    j(b, "o7", "ODE", d(2, 3), 1970, "municipality", contact=d(2, 5), volunteer=("V1", d(2, 5)),
      conversation=("K2", d(2, 11)), escort=(d(3, 2), False), close=(d(3, 10), "declined"))
    j(b, "o8", "ODE", d(2, 9), 1985, "municipality", contact=d(2, 12), volunteer=("V1", d(2, 12)),
      conversation=("K1", d(2, 16)))
    j(b, "o9", "ODE", d(2, 10), 1990, "municipality", contact=d(2, 16), volunteer=("V2", d(3, 2)))
    j(b, "o10", "ODE", d(2, 16), 1988, "self")
    j(b, "o11", "ODE", d(8, 3), 2000, "self", contact=d(8, 5), volunteer=("V1", d(8, 6)),
      conversation=("K1", d(8, 10)), escort=(d(9, 15), True))
    j(b, "o12", "ODE", d(6, 1), 1982, "self", contact=d(6, 3), volunteer=("V2", d(6, 3)),
      conversation=("K2", d(6, 10)), escort=(d(8, 3), True), fu4=(d(8, 31), True))
    j(b, "o13", "ODE", d(3, 2), 1979, "self", close=(d(3, 20), "no_contact"))
    s = "swemwbs"
    j(b, "s1", "SVE", d(1, 7), 1960, "self", contact=d(1, 8), volunteer=("V6", d(1, 8)),
      conversation=("K3", d(1, 14)), escort=(d(1, 21), True), fu4=(d(2, 18), True), fu12=(d(4, 15), True),
      measures=[(d(1, 8), s, [3] * 7, "baseline"), (d(2, 18), s, [4] * 7, "follow_up")])
    j(b, "s2", "SVE", d(1, 14), 1990, "self", contact=d(1, 15), volunteer=("V6", d(1, 15)),
      conversation=("K3", d(1, 21)), escort=(d(2, 4), True), fu4=(d(3, 4), False), close=(d(3, 5), "declined"),
      measures=[(d(1, 15), s, [3] * 7, "baseline"), (d(3, 4), s, [4] * 7, "follow_up")])
    j(b, "s3", "SVE", d(2, 4), 1940, "self", contact=d(2, 5), volunteer=("V6", d(2, 5)),
      conversation=("K3", d(2, 11)), escort=(d(2, 18), True), fu4=(d(3, 18), True),
      measures=[(d(2, 5), s, [3] * 7, "baseline"), (d(3, 18), s, [4] * 7, "follow_up")])
    j(b, "s4", "SVE", d(2, 9), 1985, "self", contact=d(2, 10), close=(d(2, 20), "declined"))
    j(b, "s5", "SVE", d(3, 2), 1991, "self")
    wb.set_target("ODE", 2026, "escorts", 24)
    wb.set_target("SVE", 2026, "escorts", 12)
    wb.set_target("ODE", 2026, "referrals", 60)
    return b


def rows(frame: pl.DataFrame, *columns: str, **where: Any) -> list[tuple[Any, ...]]:
    for column, value in where.items():
        frame = frame.filter(pl.col(column) == value)
    return frame.select(columns).rows()


def by(frame: pl.DataFrame, keys: tuple[str, ...], value: str, **where: Any) -> dict[Any, Any]:
    for column, v in where.items():
        frame = frame.filter(pl.col(column) == v)
    return {(r[0] if len(keys) == 1 else r[:-1]): r[-1] for r in frame.select(*keys, value).rows()}


# --- the fixture is what we think it is ---------------------------------------------------------------


def test_fixture_timelines(built: Built) -> None:
    cases = built.wb.frames.cases
    assert cases.height == 18
    status = dict(cases.select("case_number", "status").iter_rows())
    assert status["SVE-2026-0005"] == "referred" and status["ODE-2026-0013"] == "closed"
    vols = {r["volunteer_id"]: r["load"] for r in built.wb.frames.volunteers.iter_rows(named=True)}
    assert [vols[built.volunteer[v]] for v in ("V1", "V2", "V6")] == [3, 4, 2]


# --- 1. funnel -----------------------------------------------------------------------------------------


def test_funnel_counts_and_rates_by_hand(built: Built) -> None:
    f = a.funnel(built.wb.frames, None, OPEN)
    assert f.columns == ["site", "is_total", "step", "step_no", "count", "count_label", "count_suppressed",
                         "from_previous", "from_previous_label", "from_referral", "from_referral_label"]
    assert f.get_column("site").unique(maintain_order=True).to_list() == ["ODE", "SVE", "total"]
    assert by(f, ("site", "step"), "count") == {
        ("ODE", "referred"): 13, ("ODE", "conversation"): 10, ("ODE", "escorted"): 9, ("ODE", "attended"): 8,
        ("ODE", "lasting_4w"): 6, ("ODE", "lasting_12w"): 4,
        ("SVE", "referred"): 5, ("SVE", "conversation"): 3, ("SVE", "escorted"): 3, ("SVE", "attended"): 3,
        ("SVE", "lasting_4w"): 2, ("SVE", "lasting_12w"): 1,
        ("total", "referred"): 18, ("total", "conversation"): 13, ("total", "escorted"): 12,
        ("total", "attended"): 11, ("total", "lasting_4w"): 8, ("total", "lasting_12w"): 5,
    }
    ode = f.filter(pl.col("site") == "ODE")
    assert ode.get_column("from_previous_label").to_list() == ["", "77 %", "90 %", "89 %", "75 %", "67 %"]
    assert ode.get_column("from_referral_label").to_list() == ["100 %", "77 %", "69 %", "62 %", "46 %", "31 %"]
    assert ode.get_column("from_previous").to_list()[1:] == pytest.approx([10 / 13, 9 / 10, 8 / 9, 6 / 8, 4 / 6])
    assert ode.get_column("from_previous").to_list()[0] is None
    # the funnel's first three steps are the frames' funnel summed over months
    frames_funnel = built.wb.frames.funnel.group_by("site").agg(pl.col("referred", "conversation", "escorted").sum())
    for site, referred, conversation, escorted in frames_funnel.iter_rows():
        assert [by(f, ("site", "step"), "count")[(site, s)] for s in ("referred", "conversation", "escorted")] == [
            referred, conversation, escorted]


def test_funnel_suppression(built: Built) -> None:
    f = a.funnel(built.wb.frames, None, STANDARD)
    sve = f.filter(pl.col("site") == "SVE")
    labels = dict(sve.select("step", "count_label").iter_rows())
    assert labels["conversation"] == labels["escorted"] == labels["attended"] == "<5"
    assert labels["lasting_4w"] == labels["lasting_12w"] == "<5"
    assert sve.filter(pl.col("step") == "escorted").item(0, "count") is None
    # ODE's attended (8) and still-at-4-weeks (6) are the complements of SVE's 3 and 2 under totals 11 and 8
    ode = dict(f.filter(pl.col("site") == "ODE").select("step", "count_label").iter_rows())
    assert ode["attended"] == ode["lasting_4w"] == HIDDEN_LABEL
    total = dict(f.filter(pl.col("is_total")).select("step", "count_label").iter_rows())
    assert total["attended"] == "11" and total["lasting_4w"] == "8"
    # a rate over a hidden count is hidden, with the count's reason
    escorted = sve.filter(pl.col("step") == "escorted").row(0, named=True)
    assert escorted["from_previous"] is None and escorted["from_previous_label"] == "<5"
    assert escorted["from_referral"] is None and escorted["from_referral_label"] == "<5"


# --- 2. progress ---------------------------------------------------------------------------------------


def test_progress_cumulative_against_target(built: Built) -> None:
    targets = built.wb._store.frame("targets")
    p = a.progress(built.wb.frames, targets, None, OPEN, year=2026, metric="escorts", as_of=TODAY)
    assert p.columns == ["site", "is_total", "month", "actual", "actual_label", "actual_suppressed", "target_year",
                         "target", "share_of_target"]
    assert p.height == 36
    assert rows(p, "actual", site="ODE") == [(v,) for v in (2, 6, 7, 7, 7, 7, 7, 8, 9, None, None, None)]
    assert rows(p, "actual", site="SVE") == [(v,) for v in (1, 3, 3, 3, 3, 3, 3, 3, 3, None, None, None)]
    assert rows(p, "actual", site="total") == [(v,) for v in (3, 9, 10, 10, 10, 10, 10, 11, 12, None, None, None)]
    assert rows(p, "actual_label", site="ODE")[-1] == ("",)  # December is after as_of: no actual yet
    assert set(rows(p, "target_year", site="ODE")) == {(24,)}
    assert set(rows(p, "target_year", site="total")) == {(36,)}
    assert [t for (t,) in rows(p, "target", site="ODE")] == pytest.approx([2.0 * k for k in range(1, 13)])
    assert [t for (t,) in rows(p, "target", site="total")] == pytest.approx([3.0 * k for k in range(1, 13)])
    shares = [s for (s,) in rows(p, "share_of_target", site="ODE")]
    assert shares[:3] == pytest.approx([1.0, 1.5, 7 / 6]) and shares[8] == pytest.approx(0.5)
    assert shares[9:] == [None, None, None]


def test_progress_targets_as_dicts_and_sites_without_one(built: Built) -> None:
    targets = [{"site_id": "ODE", "year": 2026, "metric": "referrals", "value": 60}]
    p = a.progress(built.wb.frames, targets, None, OPEN, year=2026, metric="referrals", as_of=TODAY)
    assert rows(p, "actual", site="ODE")[:9] == [(v,) for v in (5, 10, 11, 11, 11, 12, 12, 13, 13)]
    assert set(rows(p, "target_year", site="SVE")) == {(None,)}
    assert set(rows(p, "target_year", site="total")) == {(None,)}  # not every site has a target
    assert rows(p, "target", site="ODE")[0] == (5.0,)
    with pytest.raises(ValueError):
        a.progress(built.wb.frames, targets, None, OPEN, year=2026, metric="hugs")
    # a year without data: zeros, and a site filter keeps only that site's target
    empty = a.progress(built.wb.frames, targets, a.Filters(sites=("ODE",)), OPEN, year=2025, metric="referrals",
                       as_of=TODAY)
    assert set(empty.get_column("site").to_list()) == {"ODE", "total"}
    assert set(empty.get_column("actual").to_list()) == {0}


def test_progress_hides_every_sve_escort_point(built: Built) -> None:
    p = a.progress(built.wb.frames, built.wb._store.frame("targets"), None, STANDARD, year=2026, metric="escorts",
                   as_of=TODAY)
    sve = p.filter(pl.col("site") == "SVE")
    assert sve.get_column("actual").drop_nulls().to_list() == []
    assert all("3" not in label and "1" not in label for label in sve.get_column("actual_label").to_list())
    assert sve.get_column("share_of_target").drop_nulls().to_list() == []


# --- 3. flow -------------------------------------------------------------------------------------------


def test_flow_per_month_by_hand(built: Built) -> None:
    f = a.flow(built.wb.frames, None, OPEN)
    assert f.columns == ["site", "is_total", "month", "referrals", "referrals_label", "referrals_suppressed",
                         "escorts", "escorts_label", "escorts_suppressed", "closures", "closures_label",
                         "closures_suppressed", "partial"]
    months = [d(m, 1) for m in range(1, 10)]
    assert f.filter(pl.col("site") == "ODE").get_column("month").to_list() == months
    assert [r for (r,) in rows(f, "referrals", site="ODE")] == [5, 5, 1, 0, 0, 1, 0, 1, 0]
    assert [r for (r,) in rows(f, "escorts", site="ODE")] == [2, 4, 1, 0, 0, 0, 0, 1, 1]
    assert [r for (r,) in rows(f, "closures", site="ODE")] == [0, 0, 3, 2, 0, 0, 0, 0, 0]
    assert [r for (r,) in rows(f, "referrals", site="SVE")] == [2, 2, 1, 0, 0, 0, 0, 0, 0]
    assert [r for (r,) in rows(f, "escorts", site="SVE")] == [1, 2, 0, 0, 0, 0, 0, 0, 0]
    assert [r for (r,) in rows(f, "closures", site="SVE")] == [0, 1, 1, 0, 0, 0, 0, 0, 0]
    assert [r for (r,) in rows(f, "escorts", site="total")] == [3, 6, 1, 0, 0, 0, 0, 1, 1]


def test_flow_marks_the_month_still_running(built: Built) -> None:
    frames = built.wb.frames
    running = a.flow(frames, None, OPEN, as_of=d(9, 12)).filter(pl.col("partial"))
    assert set(running.get_column("month").to_list()) == {d(9, 1)}
    assert running.height == 3  # ODE, SVE and the total
    assert not a.flow(frames, None, OPEN, as_of=TODAY).get_column("partial").any()  # 30 September: the month is over


def test_flow_suppression(built: Built) -> None:
    f = a.flow(built.wb.frames, None, STANDARD)
    sve = f.filter(pl.col("site") == "SVE")
    assert sve.get_column("escorts_label").to_list()[:2] == ["<5", "<5"]
    for column in ("referrals", "escorts", "closures"):
        values = sve.get_column(column).drop_nulls().to_list()
        assert set(values) <= {0}  # every SVE month is 0, or hidden


def test_referral_sources_by_hand(built: Built) -> None:
    s = a.referral_sources(built.wb.frames, None, OPEN)
    assert s.columns == ["site", "is_total", "source", "referrals", "referrals_label", "referrals_suppressed",
                         "share", "share_label"]
    ode = {k: v for k, v in by(s, ("source",), "referrals", site="ODE").items() if v}
    assert ode == {"doctor": 4, "municipality": 5, "self": 4}
    assert {k: v for k, v in by(s, ("source",), "referrals", site="total").items() if v} == {
        "doctor": 4, "municipality": 5, "self": 9}
    assert by(s, ("source",), "share_label", site="ODE")["doctor"] == "31 %"
    assert s.filter(pl.col("site") == "ODE").get_column("source").to_list()[:3] == ["self", "municipality",
                                                                                    "jobcentre"]


def test_honest_labels_can_cost_a_site_total(built: Built) -> None:
    """ODE's 13 referrals came 5, 5, 1, 0, 0, 1, 0, 1, 0 per month. The three 1s are "<5"; their
    complements are labelled ".." and so known to be 5 or more. Were ODE's 13 shown, a reader would
    know 1 + 1 + 1 + 5 + 5 = 13 exactly (the hidden cells at their lowest possible values add up to
    the total), so ODE's total is hidden as well -- and then the total row, since SVE's 5 is shown.
    Even so the cumulative line and the grand totals would pin the three 1s at the top of "<5"'s
    range together with everything else: they are shown as ".." (at least 1, no upper bound)."""
    frames = built.wb.frames
    flow = a.flow(frames, None, STANDARD)
    assert [x for (x,) in rows(flow, "referrals_label", site="ODE")] == [
        HIDDEN_LABEL, HIDDEN_LABEL, HIDDEN_LABEL, "0", "0", HIDDEN_LABEL, "0", HIDDEN_LABEL, "0"]
    funnel = a.funnel(frames, None, STANDARD)
    # SVE's 5 is one of the complements the bounds audit (rule 3d) takes in the joint table of this step
    assert by(funnel, ("site",), "count_label", step="referred") == {"ODE": HIDDEN_LABEL, "SVE": HIDDEN_LABEL,
                                                                     "total": HIDDEN_LABEL}
    sources = a.referral_sources(frames, None, STANDARD)
    labels = by(sources, ("source",), "referrals_label", site="ODE")
    # 4 + 4 + 5 = 13: its months say ODE has at least 5 + 5 + 1 + 1 + 1 = 13, so a shown 5 would pin both 4s
    assert labels["doctor"] == labels["self"] == "<5" and labels["municipality"] == HIDDEN_LABEL
    assert by(sources, ("source",), "share_label", site="ODE")["municipality"] == HIDDEN_LABEL
    assert by(sources, ("source",), "share_label", site="SVE")["self"] == HIDDEN_LABEL  # over SVE's hidden total


# --- 4. time to help -----------------------------------------------------------------------------------


def test_time_to_help_box_statistics_by_hand(built: Built) -> None:
    t = a.time_to_help(built.wb.frames, None, OPEN)
    assert t.columns == ["site", "is_total", "measure", "n", "n_label", "n_suppressed", "min", "q1", "median", "q3",
                         "max"]
    got = {(r["site"], r["measure"]): (r["n"], r["min"], r["q1"], r["median"], r["q3"], r["max"])
           for r in t.iter_rows(named=True)}
    assert got == {
        # ODE contact: 1,2,2,2,2,2,2,3,3,6,6 -> q1 at position 2.5, q3 at 7.5
        ("ODE", "days_to_contact"): (11, 1.0, 2.0, 2.0, 3.0, 6.0),
        # ODE escort: 15,21,21,21,27,27,27,43,63
        ("ODE", "days_to_escort"): (9, 15.0, 21.0, 27.0, 27.0, 63.0),
        ("SVE", "days_to_contact"): (4, 1.0, 1.0, 1.0, 1.0, 1.0),
        ("SVE", "days_to_escort"): (3, 14.0, 14.0, 14.0, 17.5, 21.0),
        # all: 1,1,1,1,1,2,2,2,2,2,2,3,3,6,6 -> q3 at position 10.5 = (2 + 3) / 2
        ("total", "days_to_contact"): (15, 1.0, 1.0, 2.0, 2.5, 6.0),
        # all: 14,14,15,21,21,21,21,27,27,27,43,63 -> q1 at 2.75 = 15 + 0.75 * 6
        ("total", "days_to_escort"): (12, 14.0, 19.5, 21.0, 27.0, 63.0),
    }


def test_time_to_help_hides_small_sites_entirely(built: Built) -> None:
    t = a.time_to_help(built.wb.frames, None, STANDARD)
    for r in t.filter(pl.col("site") == "SVE").iter_rows(named=True):
        assert r["n"] is None and r["n_label"] == "<5"
        assert [r[c] for c in ("min", "q1", "median", "q3", "max")] == [None] * 5
    total = t.filter(pl.col("is_total") & (pl.col("measure") == "days_to_contact")).row(0, named=True)
    assert (total["n"], total["median"], total["q3"]) == (15, 2.0, 2.5)
    # the escort n is the funnel's escorted cell, suppressed the same way
    funnel = a.funnel(built.wb.frames, None, STANDARD).filter(pl.col("step") == "escorted")
    assert by(t, ("site",), "n_label", measure="days_to_escort") == by(funnel, ("site",), "count_label")


def test_waiting_list_by_hand(built: Built) -> None:
    w = a.waiting_list(built.wb.frames, None, OPEN, as_of=TODAY)
    assert w.columns == ["site", "is_total", "month", "waiting", "waiting_label", "waiting_suppressed"]
    assert [v for (v,) in rows(w, "waiting", site="ODE")] == [0, 2, 1, 1, 1, 1, 1, 1, 1]
    assert [v for (v,) in rows(w, "waiting", site="SVE")] == [0, 0, 1, 1, 1, 1, 1, 1, 1]
    assert [v for (v,) in rows(w, "waiting", site="total")] == [0, 2, 2, 2, 2, 2, 2, 2, 2]
    hidden = a.waiting_list(built.wb.frames, None, STANDARD, as_of=TODAY)
    assert set(hidden.get_column("waiting_label").to_list()) == {"0", "<5"}


# --- 5. lasting ----------------------------------------------------------------------------------------


def test_lasting_with_censoring_by_hand(built: Built) -> None:
    lt = a.lasting(built.wb.frames, None, OPEN, as_of=TODAY)
    assert lt.columns == ["kind", "is_total", "week", "n_at_risk", "n_at_risk_label", "n_at_risk_suppressed",
                          "still", "still_label", "still_suppressed", "censored", "censored_label",
                          "censored_suppressed", "no_follow_up", "no_follow_up_label", "no_follow_up_suppressed",
                          "share", "share_label", "survival", "survival_label"]
    assert lt.get_column("kind").unique(maintain_order=True).to_list() == ["sport", "creative", "nature", "total"]
    got = {(r["kind"], r["week"]): (r["n_at_risk"], r["still"], r["censored"], r["no_follow_up"])
           for r in lt.iter_rows(named=True)}
    assert got == {
        # creative: o1 o2 o3 o5 o6 o11; o11 escorted 15 Sep is censored at 4 weeks, not dropped
        ("creative", 0): (6, 6, 0, 0), ("creative", 4): (5, 5, 1, 0), ("creative", 12): (5, 4, 0, 0),
        # sport: o4 (dropped at 4 w), o7 (did not attend), o12 (escorted 3 Aug: censored at 12 weeks)
        ("sport", 0): (3, 2, 0, 0), ("sport", 4): (2, 1, 0, 0), ("sport", 12): (0, 0, 1, 0),
        # nature: s3 is due at 12 weeks but nothing is recorded
        ("nature", 0): (3, 3, 0, 0), ("nature", 4): (3, 2, 0, 0), ("nature", 12): (1, 1, 0, 1),
        ("total", 0): (12, 11, 0, 0), ("total", 4): (10, 8, 1, 0), ("total", 12): (6, 5, 1, 1),
    }
    share = by(lt, ("kind", "week"), "share")
    survival = by(lt, ("kind", "week"), "survival")
    assert share[("total", 4)] == pytest.approx(0.8) and share[("total", 12)] == pytest.approx(5 / 6)
    assert survival[("total", 12)] == pytest.approx(11 / 12 * 0.8 * 5 / 6)
    assert survival[("creative", 12)] == pytest.approx(0.8)
    assert survival[("nature", 12)] == pytest.approx(2 / 3)
    assert share[("sport", 12)] is None and by(lt, ("kind", "week"), "share_label")[("sport", 12)] == NO_RATE_LABEL
    assert by(lt, ("kind", "week"), "survival_label")[("sport", 12)] == NO_RATE_LABEL
    # a naive share that counted the censored as dropped would say 4 / 6 at 4 weeks for creative, not 5 / 5
    assert share[("creative", 4)] == 1.0


def test_lasting_suppression(built: Built) -> None:
    lt = a.lasting(built.wb.frames, None, STANDARD, as_of=TODAY)
    nature = lt.filter(pl.col("kind") == "nature")
    assert nature.get_column("n_at_risk").to_list() == [None, None, None]
    assert nature.get_column("share").drop_nulls().to_list() == []
    total0 = lt.filter(pl.col("is_total") & (pl.col("week") == 0)).row(0, named=True)
    assert (total0["n_at_risk"], total0["still"], total0["share_label"]) == (12, 11, "92 %")


# --- 6. outcomes ---------------------------------------------------------------------------------------


def test_outcomes_paired_change_and_confidence_interval(built: Built) -> None:
    o = a.outcomes(built.wb.frames, None, STANDARD)
    assert o.columns == ["instrument", "mode", "is_total", "n", "n_label", "n_suppressed", "mean_baseline",
                         "mean_follow_up", "mean_change", "sd_change", "ci_low", "ci_high"]
    assert o.select("instrument", "mode").rows() == [("ucla3", "all"), ("swemwbs", "all")]  # no mode split
    ucla = o.row(0, named=True)
    # pairs (baseline -> follow-up): 9->6, 8->6, 7->6, 6->6, 9->5: changes -3, -2, -1, 0, -4
    assert ucla["n"] == 5
    assert ucla["mean_baseline"] == pytest.approx(7.8) and ucla["mean_follow_up"] == pytest.approx(5.8)
    assert ucla["mean_change"] == pytest.approx(-2.0)
    assert ucla["sd_change"] == pytest.approx(math.sqrt(2.5))
    half = 2.7764451051977987 * math.sqrt(2.5) / math.sqrt(5)  # t(0.975, 4) * sd / sqrt(n)
    assert (ucla["ci_low"], ucla["ci_high"]) == (pytest.approx(-2 - half), pytest.approx(-2 + half))
    # three SWEMWBS pairs (all SVE): never a mean over fewer than five
    sw = o.row(1, named=True)
    assert (sw["n"], sw["n_label"]) == (None, "<5")
    assert [sw[c] for c in ("mean_baseline", "mean_follow_up", "mean_change", "sd_change", "ci_low", "ci_high")] \
        == [None] * 6
    opened = a.outcomes(built.wb.frames, None, OPEN).row(1, named=True)
    assert opened["n"] == 3 and opened["mean_change"] == pytest.approx(25.03 - 19.25)


def _pairs_frames(modes: list[tuple[str, str, float]]) -> dict[str, pl.DataFrame]:
    pairs = pl.DataFrame([
        {"case_id": f"S{i:03d}", "site": "ODE", "instrument": "ucla3", "baseline_on": d(1, 1), "baseline": 8.0,
         "baseline_mode": base, "follow_up_on": d(4, 1), "follow_up": 8.0 + change, "follow_up_mode": follow,
         "change": change} for i, (base, follow, change) in enumerate(modes)], schema=fr.MEASURE_PAIRS_SCHEMA)
    cases = pl.DataFrame({"case_id": pairs.get_column("case_id"), "site": "ODE"}).with_columns(
        *(pl.lit(None, dtype).alias(name) for name, dtype in fr.CASES_SCHEMA.items()
          if name not in ("case_id", "site"))).select(fr.CASES_SCHEMA.names()).cast(dict(fr.CASES_SCHEMA))
    return {"cases": cases, "measure_pairs": pairs}


def test_outcomes_split_by_mode_only_when_every_mode_is_large_enough() -> None:
    self_, read = "self_completed", "read_aloud"
    six_five = [(self_, self_, -1.0)] * 6 + [(read, read, 1.0)] * 5
    o = a.outcomes(_pairs_frames(six_five), None, STANDARD)
    assert o.select("instrument", "mode", "n").rows() == [
        ("ucla3", "all", 11), ("ucla3", self_, 6), ("ucla3", read, 5), ("ucla3", "mixed", 0), ("swemwbs", "all", 0)]
    assert by(o, ("mode",), "mean_change", instrument="ucla3") == {
        "all": pytest.approx(-1 / 11), self_: -1.0, read: 1.0, "mixed": None}
    # four read-aloud pairs: no split (the four would be the total minus the self-completed six)
    o = a.outcomes(_pairs_frames(six_five[:-1]), None, STANDARD)
    assert o.get_column("mode").to_list() == ["all", "all"]
    # three mixed pairs would be recoverable as all - self - read: no split either
    o = a.outcomes(_pairs_frames(six_five + [(self_, read, 2.0)] * 3), None, STANDARD)
    assert o.filter(pl.col("instrument") == "ucla3").get_column("mode").to_list() == ["all"]


def test_t_quantile_matches_the_tables() -> None:
    table = {1: 12.706204736, 2: 4.302652730, 4: 2.776445105, 9: 2.262157163, 29: 2.045229642, 120: 1.979930405}
    for df, expected in table.items():
        assert a.t_quantile(0.975, df) == pytest.approx(expected, abs=1e-8)
    assert a.t_quantile(0.5, 7) == 0.0
    assert a.t_quantile(0.025, 4) == pytest.approx(-2.776445105, abs=1e-8)
    assert a.t_quantile(0.95, 10) == pytest.approx(1.812461123, abs=1e-8)
    with pytest.raises(ValueError):
        a.t_quantile(1.0, 3)


# --- 7. volunteers -------------------------------------------------------------------------------------


def test_volunteers_by_hand(built: Built) -> None:
    v = a.volunteers(built.wb.frames, None, OPEN)
    assert v.columns == ["site", "is_total", "dimension", "category", "volunteers", "volunteers_label",
                         "volunteers_suppressed"]
    counts = {k: n for k, n in by(v, ("site", "dimension", "category"), "volunteers").items() if n}
    assert counts == {
        ("ODE", "total", "all"): 5, ("SVE", "total", "all"): 1, ("total", "total", "all"): 6,
        ("ODE", "status", "interested"): 1, ("ODE", "status", "trained"): 1, ("ODE", "status", "active"): 2,
        ("ODE", "status", "left"): 1, ("SVE", "status", "active"): 1,
        ("total", "status", "interested"): 1, ("total", "status", "trained"): 1, ("total", "status", "active"): 3,
        ("total", "status", "left"): 1,
        ("ODE", "recruited_via", "volunteer_centre"): 4, ("ODE", "recruited_via", "word_of_mouth"): 1,
        ("SVE", "recruited_via", "volunteer_centre"): 1, ("total", "recruited_via", "volunteer_centre"): 5,
        ("total", "recruited_via", "word_of_mouth"): 1,
        ("ODE", "load", "3"): 1, ("ODE", "load", "4+"): 1, ("SVE", "load", "2"): 1,
        ("total", "load", "2"): 1, ("total", "load", "3"): 1, ("total", "load", "4+"): 1,
    }
    hidden = a.volunteers(built.wb.frames, None, STANDARD)
    assert set(hidden.get_column("volunteers").drop_nulls().to_list()) <= {0, 5, 6}
    only_sve = a.volunteers(built.wb.frames, a.Filters(sites=("SVE",)), OPEN)
    assert set(only_sve.get_column("site").to_list()) == {"SVE", "total"}


# --- filters -------------------------------------------------------------------------------------------


def test_filters_select_cases(built: Built) -> None:
    frames = built.wb.frames

    def referred(f: a.Filters) -> dict[str, int]:
        return by(a.funnel(frames, f, OPEN), ("site",), "count", step="referred")

    assert referred(a.Filters(sites=("ODE",))) == {"ODE": 13, "total": 13}
    assert referred(a.Filters(age_groups=("youth",))) == {"ODE": 3, "total": 3}  # o1, o6, o11
    assert referred(a.Filters(age_groups=("elderly",))) == {"ODE": 2, "SVE": 2, "total": 4}  # o4 o5 s1 s3
    assert referred(a.Filters(start=d(2, 1), end=d(2, 28))) == {"ODE": 5, "SVE": 2, "total": 7}
    assert referred(a.Filters(interventions=(built.intervention,))) == {"ODE": 1, "total": 1}
    assert referred(a.Filters(sites=["SVE"], age_groups=[])) == {"SVE": 5, "total": 5}  # empty = all
    assert a.filters_allowed(frames, a.Filters(sites=("ODE",)), STANDARD)  # 13 selected, 5 left out
    assert not a.filters_allowed(frames, a.Filters(age_groups=("youth",)), STANDARD)  # 3 selected
    assert not a.filters_allowed(frames, a.Filters(end=d(6, 30)), STANDARD)  # leaves out only o11
    assert a.filters_allowed(frames, None, STANDARD)
    with pytest.raises(ValueError, match="start date"):
        a.Filters(start=d(3, 1), end=d(2, 1))
    with pytest.raises(ValueError, match="age group"):
        a.Filters(age_groups=("teen",))
    assert a.Filters(sites=("ODE",), start=d(1, 1)).describe()["sites"] == "ODE"


def test_filters_change_every_table(built: Built) -> None:
    frames, f = built.wb.frames, a.Filters(sites=("ODE",), start=d(1, 1), end=d(1, 31))
    assert by(a.flow(frames, f, OPEN), ("month",), "referrals", site="total") == {d(1, 1): 5, d(2, 1): 0, d(3, 1): 0,
                                                                                  d(4, 1): 0}
    assert by(a.time_to_help(frames, f, OPEN), ("measure",), "n", site="total") == {
        "days_to_contact": 5, "days_to_escort": 5}
    assert by(a.lasting(frames, f, OPEN, as_of=TODAY), ("week",), "n_at_risk", kind="total") == {0: 5, 4: 5, 12: 4}
    assert by(a.outcomes(frames, f, OPEN), ("instrument",), "n") == {"ucla3": 5, "swemwbs": 0}


# --- the requirement across every table, and the differencing attack ----------------------------


def _tables(frames: Any, policy: SuppressionPolicy, filters: a.Filters | None = None,
            targets: Any = ()) -> dict[str, pl.DataFrame]:
    return {
        "funnel": a.funnel(frames, filters, policy), "flow": a.flow(frames, filters, policy),
        "sources": a.referral_sources(frames, filters, policy),
        "progress": pl.concat([a.progress(frames, targets, filters, policy, year=y, metric=mtr, as_of=TODAY)
                               .with_columns(pl.lit(mtr).alias("metric"))
                               for y in (2024, 2025, 2026) for mtr in ("referrals", "escorts")]),
        "time": a.time_to_help(frames, filters, policy), "waiting": a.waiting_list(frames, filters, policy, as_of=TODAY),
        "lasting": a.lasting(frames, filters, policy, as_of=TODAY), "outcomes": a.outcomes(frames, filters, policy),
        "volunteers": a.volunteers(frames, filters, policy),
    }


KEYS = {"funnel": ["site", "step"], "flow": ["site", "month"], "sources": ["site", "source"],
        "progress": ["site", "month", "metric"], "time": ["site", "measure"], "waiting": ["site", "month"],
        "lasting": ["kind", "week"], "outcomes": ["instrument", "mode"],
        "volunteers": ["site", "dimension", "category"]}


def _count_columns(frame: pl.DataFrame) -> list[str]:
    return [c[: -len("_suppressed")] for c in frame.columns if c.endswith("_suppressed")]


def assert_no_small_cell_shown(frames: Any, policy: SuppressionPolicy, filters: a.Filters | None = None) -> None:
    """Cell by cell against the unsuppressed tables: a true count of 1 .. min_count - 1 is hidden
    with the small label, and a shown count is the true one (rounded in publication mode)."""
    truth, shown = _tables(frames, OPEN, filters), _tables(frames, policy, filters)
    step = policy.round_to or 1
    for name, table in shown.items():
        keys = KEYS[name]
        if name != "outcomes":  # outcomes leave out the mode rows when a mode is small
            assert table.height == truth[name].height, name
        both = table.join(truth[name], on=keys, how="left", suffix="_true")
        assert both.height == table.height
        for column in _count_columns(table):
            for true, value, label in zip(both.get_column(f"{column}_true").to_list(), both.get_column(column).to_list(),
                                          both.get_column(f"{column}_label").to_list(), strict=True):
                if true is None:
                    continue
                if is_small(true, policy):
                    # "<5", or ".." where "<5" would give it away (rule 3e)
                    assert value is None and label in (policy.small_label, HIDDEN_LABEL), (name, column, true, label)
                if value is not None:
                    assert not is_small(value, policy) and value % step == 0
                    assert abs(value - true) <= step // 2 and label == str(value), (name, column, true, value)


def test_three_escorted_never_shows_three(built: Built) -> None:
    assert_no_small_cell_shown(built.wb.frames, STANDARD)
    tables = _tables(built.wb.frames, STANDARD)
    for name, table in tables.items():
        if name == "outcomes":
            continue  # no site column; its SVE-only SWEMWBS pairs are tested above
        site = "site" if "site" in table.columns else "kind"
        sve = table.filter(pl.col(site).is_in(["SVE", "nature"]))  # nature is SVE's only community
        for column in _count_columns(table):
            assert "3" not in sve.get_column(f"{column}_label").to_list(), (name, column)
            assert 3 not in sve.get_column(column).to_list() or column in ("volunteers",), (name, column)


def test_publication_mode_on_the_fixture(built: Built) -> None:
    assert_no_small_cell_shown(built.wb.frames, PUBLICATION)
    f = a.funnel(built.wb.frames, None, PUBLICATION)
    assert by(f, ("step",), "count_label", site="total")["referred"] == "20"  # 18 rounded to 5
    assert by(f, ("step",), "count_label", site="SVE")["referred"] == "<8"


def solve(equations: Iterable[tuple[Mapping[Hashable, int], int]]) -> dict[Hashable, Fraction]:
    """Every unknown that linear equations ``sum(coef * x) = rhs`` fix (Gauss-Jordan over fractions)."""
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
            assert value == 0, "the attacker's model of the tables is wrong"
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


def differencing_attack(tables: Mapping[str, pl.DataFrame], *, metric: str, step: str, count: str,
                        hide: Callable[[int | None, bool], bool] | None = None) -> dict[Hashable, Fraction]:
    """Everything a reader of the lead's charts can work out about one step's hidden counts.

    Knowledge: the monthly counts per site (flow), the cumulative counts (progress, every year),
    the site totals (funnel; time_to_help's n for the escort), and how they add up: sites to the
    total row, months to the site's total, C(m) = C(m-1) + x(m) within a year. ``hide`` overrides
    which cells count as hidden (to show the attack working on a naive table)."""
    value: dict[Hashable, int] = {}
    hidden: set[Hashable] = set()

    def learn(key: Hashable, number: int | None, suppressed: bool) -> None:
        is_hidden = hide(number, suppressed) if hide else suppressed
        if is_hidden:
            hidden.add(key)
        else:
            assert number is not None
            assert value.setdefault(key, number) == number
    flow, funnel = tables["flow"], tables["funnel"].filter(pl.col("step") == step)
    for site, month, n, s in flow.select("site", "month", count, f"{count}_suppressed").iter_rows():
        learn(("x", site, month), n, s)
    for site, n, s in funnel.select("site", "count", "count_suppressed").iter_rows():
        learn(("F", site), n, s)
    if step == "escorted":
        time = tables["time"].filter(pl.col("measure") == "days_to_escort")
        for site, n, s in time.select("site", "n", "n_suppressed").iter_rows():
            learn(("F", site), n, s)
    progress = tables["progress"].filter((pl.col("metric") == metric) & (pl.col("actual_label") != ""))
    for site, month, n, s in progress.select("site", "month", "actual", "actual_suppressed").iter_rows():
        learn(("C", site, month), n, s)
    assert not hidden & set(value), "a cell hidden in one table is shown in another"
    sites = [s for s in funnel.get_column("site").to_list() if s != a.TOTAL]
    months = sorted(set(flow.get_column("month").to_list()))
    equations: list[tuple[dict[Hashable, int], int]] = []

    def add(terms: list[tuple[Hashable, int]]) -> None:
        coefficients: dict[Hashable, int] = {}
        rhs = 0
        for key, sign in terms:
            if key in value:
                rhs -= sign * value[key]
            elif key[0] == "x" and key[2] not in months:  # type: ignore[index]
                continue  # a month outside the flow has no case at any step: 0
            else:
                coefficients[key] = coefficients.get(key, 0) + sign
        if coefficients:
            equations.append((coefficients, rhs))
    for month in months:
        add([(("x", s, month), 1) for s in sites] + [(("x", a.TOTAL, month), -1)])
    for site in [*sites, a.TOTAL]:
        add([(("x", site, month), 1) for month in months] + [(("F", site), -1)])
    add([(("F", s), 1) for s in sites] + [(("F", a.TOTAL), -1)])
    for site, month in progress.select("site", "month").iter_rows():
        earlier = [(("C", site, date(month.year, month.month - 1, 1)), -1)] if month.month > 1 else []
        add([(("C", site, month), 1), (("x", site, month), -1), *earlier])
        if site == a.TOTAL:
            add([(("C", s, month), 1) for s in sites] + [(("C", a.TOTAL, month), -1)])
    return {key: v for key, v in solve(equations).items() if key in hidden}


def small_only(number: int | None, suppressed: bool) -> bool:
    return number is not None and is_small(number, STANDARD)


@pytest.mark.parametrize(("metric", "step", "count"), [("escorts", "escorted", "escorts"),
                                                       ("referrals", "referred", "referrals")])
def test_differencing_attack_fails_on_the_fixture(built: Built, metric: str, step: str, count: str) -> None:
    frames = built.wb.frames
    naive = differencing_attack(_tables(frames, OPEN), metric=metric, step=step, count=count, hide=small_only)
    if step == "escorted":
        assert naive[("F", "SVE")] == 3  # the naive tables give SVE's three escorts away (12 - 9)
    assert naive  # hiding only the small cells is not enough
    assert differencing_attack(_tables(frames, STANDARD), metric=metric, step=step, count=count) == {}
    assert differencing_attack(_tables(frames, PUBLICATION), metric=metric, step=step, count=count) == {}


# --- demo data: properties at a realistic size ------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Workbench:
    wb = workbench.open(tmp_path_factory.mktemp("demo") / "data", user=staff("demo"), today=lambda: TODAY)
    generate(wb, 300, seed=11)
    return wb


@pytest.mark.parametrize("policy", [STANDARD, PUBLICATION], ids=["standard", "publication"])
def test_demo_no_small_cell_shown(demo: Workbench, policy: SuppressionPolicy) -> None:
    assert_no_small_cell_shown(demo.frames, policy)
    assert_no_small_cell_shown(demo.frames, policy, a.Filters(age_groups=("adult", "elderly")))


@pytest.mark.parametrize(("metric", "step", "count"), [("escorts", "escorted", "escorts"),
                                                       ("referrals", "referred", "referrals")])
def test_demo_differencing_attack_fails(demo: Workbench, metric: str, step: str, count: str) -> None:
    naive = differencing_attack(_tables(demo.frames, OPEN), metric=metric, step=step, count=count, hide=small_only)
    assert naive  # the attack does recover small cells from tables with primary suppression only
    truth = {("x", s, m): n for s, m, n in _tables(demo.frames, OPEN)["flow"].select("site", "month", count).rows()}
    assert all(truth[k] == v for k, v in naive.items() if k in truth)  # and what it recovers is right
    assert differencing_attack(_tables(demo.frames, STANDARD), metric=metric, step=step, count=count) == {}


def test_demo_numbers_hang_together(demo: Workbench) -> None:
    frames = demo.frames
    f = a.funnel(frames, None, OPEN)
    counts = by(f, ("site", "step"), "count")
    for site in f.get_column("site").unique().to_list():
        steps = [counts[(site, s)] for s in a.STEPS]
        assert steps[:3] == sorted(steps[:3], reverse=True) and steps[3] <= steps[2] and steps[5] <= steps[4]
    flow = a.flow(frames, None, OPEN)
    sums = flow.group_by("site").agg(pl.col("referrals", "escorts").sum())
    for site, referrals, escorts in sums.iter_rows():
        assert (referrals, escorts) == (counts[(site, "referred")], counts[(site, "escorted")])
    lt = a.lasting(frames, None, OPEN, as_of=TODAY).filter(pl.col("is_total"))
    assert lt.item(0, "n_at_risk") == counts[(a.TOTAL, "escorted")]
    assert lt.item(0, "still") == counts[(a.TOTAL, "attended")]
    # filters change the numbers, and the suppressed tables follow
    youth = a.funnel(frames, a.Filters(age_groups=("youth",)), STANDARD)
    everyone = a.funnel(frames, None, STANDARD)
    assert by(youth, ("site",), "count", step="referred") != by(everyone, ("site",), "count", step="referred")


def test_empty_store(wb: Workbench) -> None:
    for name, table in _tables(wb.frames, STANDARD).items():
        assert all(v in (0, None) for c in _count_columns(table) for v in table.get_column(c).to_list()), name
    assert a.funnel(wb.frames, None, STANDARD).get_column("site").unique().to_list() == [a.TOTAL]
    assert a.flow(wb.frames, None, STANDARD).height == 0
    wb.add_site("ODE", "Frivilligcenter Odense", "Odense")
    assert a.progress(wb.frames, [], None, STANDARD, year=2026, metric="referrals").height == 12
