"""The read path: every frame keeps its documented schema, and its numbers match a hand-counted fixture.

The fixture holds eight cases at two sites (ODE, SVE) referred in March and April 2026,
recorded through the service with explicit dates. Every expected number below was
worked out by hand from the timelines written in ``built``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from people import staff

import workbench
from workbench.reporting import frames
from workbench.service import Workbench

FRAME_SCHEMAS = {
    "events": frames.EVENTS_SCHEMA,
    "cases": frames.CASES_SCHEMA,
    "volunteers": frames.VOLUNTEERS_SCHEMA,
    "communities": frames.COMMUNITIES_SCHEMA,
    "measures": frames.MEASURES_SCHEMA,
    "measure_pairs": frames.MEASURE_PAIRS_SCHEMA,
    "funnel": frames.FUNNEL_SCHEMA,
}

FIXTURE_TODAY = date(2026, 9, 30)
CW = {"purpose": "case_work", "given": True}
FU = {"purpose": "follow_up_contact", "given": True}
RS = {"purpose": "research", "given": True}


def d(month: int, day: int) -> date:
    return date(2026, month, day)


class Built:
    """Ids of what the fixture created: cases c1..c8 (and their citizens), volunteers, communities."""

    def __init__(self, wb: Workbench) -> None:
        self.wb = wb
        self.case: dict[int, str] = {}
        self.number: dict[int, str] = {}
        self.citizen: dict[int, str] = {}
        self.volunteer: dict[str, str] = {}
        self.community: dict[str, str] = {}
        self.intervention = ""


def _open(b: Built, n: int, site: str, on: date, birth_year: int | None, consents: list[dict[str, Any]],
          **citizen: Any) -> str:
    person = {"display_name": f"Borger {n}", **citizen}
    if birth_year is not None:
        person["birth_year"] = birth_year
    case = b.wb.open_referral(site_id=site, citizen=person, consents=consents, on=on,
                              intervention_ids=[b.intervention] if n == 1 else [])
    b.case[n], b.number[n], b.citizen[n] = case["id"], case["number"], case["citizen_id"]
    return str(case["id"])


def _measure(wb: Workbench, case_id: str, instrument: str, answers: list[int], timepoint: str, on: date,
             mode: str = "self_completed") -> None:
    wb.record_measure(case_id, instrument=instrument, answers=answers, timepoint=timepoint, mode=mode, on=on)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    wb = workbench.open(tmp_path_factory.mktemp("frames"), user=staff("Kirsten Koordinator"),
                        today=lambda: FIXTURE_TODAY)
    b = Built(wb)
    wb.add_site("ODE", "Frivilligcenter Odense", "Odense")
    wb.add_site("SVE", "Frivilligcenter Svendborg", "Svendborg")
    b.intervention = wb.add_intervention("Gåtur-pilot", started_on=date(2026, 1, 1))["id"]
    b.volunteer["V1"] = wb.register_volunteer(site_id="ODE", name="Vera Et", status="active", capacity=5)["id"]
    b.volunteer["V2"] = wb.register_volunteer(site_id="ODE", name="Villy To", status="active", capacity=2)["id"]
    b.volunteer["V3"] = wb.register_volunteer(site_id="SVE", name="Vibe Tre", status="active", capacity=3)["id"]
    b.community["K1"] = wb.add_community(site_id="ODE", name="Strikkecafé", organiser="Biblioteket",
                                         postal_code="5000")["id"]
    b.community["K2"] = wb.add_community(site_id="SVE", name="Havefællesskab", organiser="Haveforeningen",
                                         postal_code="5700")["id"]
    v1, v2, v3 = b.volunteer["V1"], b.volunteer["V2"], b.volunteer["V3"]
    k1, k2 = b.community["K1"], b.community["K2"]
    ev = wb.record_event

    # c1 ODE March: the whole journey, lasting at 12 weeks, closed as joined.
    c = _open(b, 1, "ODE", d(3, 2), 2000, [CW, FU, RS], referral_source="doctor")
    ev(c, "contact_made", on=d(3, 5))
    _measure(wb, c, "ucla3", [3, 3, 2], "baseline", d(3, 5))
    _measure(wb, c, "swemwbs", [2] * 7, "baseline", d(3, 5))
    wb.assign(c, v1, on=d(3, 6))
    ev(c, "conversation_held", community_id=k1, on=d(3, 10))
    ev(c, "escort_planned", planned_for=d(3, 17), on=d(3, 12))
    ev(c, "escort_completed", attended=True, on=d(3, 17))
    ev(c, "follow_up", week=4, still_participating=True, on=d(4, 14))
    _measure(wb, c, "ucla3", [3, 2, 2], "follow_up", d(4, 14))
    ev(c, "follow_up", week=12, still_participating=True, on=d(6, 9))
    _measure(wb, c, "ucla3", [2, 2, 1], "follow_up", d(6, 9), mode="read_aloud")
    _measure(wb, c, "swemwbs", [3] * 7, "follow_up", d(6, 9), mode="read_aloud")
    wb.close_case(c, "joined_community", on=d(6, 10))

    # c2 ODE March: escorted but did not attend; research consent withdrawn.
    c = _open(b, 2, "ODE", d(3, 16), 1996, [CW, RS], referral_source="municipality")
    ev(c, "contact_made", on=d(3, 20))
    _measure(wb, c, "ucla3", [2, 2, 2], "baseline", d(3, 20))
    wb.assign(c, v1, on=d(3, 20))
    ev(c, "conversation_held", community_id=k1, on=d(3, 25))
    ev(c, "escort_planned", planned_for=d(4, 1), on=d(3, 26))
    ev(c, "escort_completed", attended=False, on=d(4, 1))
    wb.record_consent(b.citizen[2], "research", False, on=d(4, 2))

    # c3 ODE March: never reached.
    _open(b, 3, "ODE", d(3, 30), 1961, [CW])

    # c4 ODE April: first contact is the conversation; still participating at 4 weeks: no.
    c = _open(b, 4, "ODE", d(4, 1), 1962, [CW, FU])
    wb.assign(c, v2, on=d(4, 2))
    ev(c, "conversation_held", community_id=k1, on=d(4, 6))
    _measure(wb, c, "swemwbs", [3] * 7, "baseline", d(4, 6))
    ev(c, "escort_planned", planned_for=d(4, 10), on=d(4, 7))
    ev(c, "escort_completed", attended=True, on=d(4, 10))
    ev(c, "follow_up", week=4, still_participating=False, on=d(5, 8))
    _measure(wb, c, "swemwbs", [2] * 7, "follow_up", d(5, 8))

    # c5 ODE April: contacted the same day, assigned, then paused; no birth year.
    c = _open(b, 5, "ODE", d(4, 15), None, [CW])
    ev(c, "contact_made", on=d(4, 15))
    wb.assign(c, v2, on=d(4, 16))
    ev(c, "case_paused", on=d(4, 20))

    # c6 SVE March: lasting at 12 weeks, still open; the escort verifies the community.
    c = _open(b, 6, "SVE", d(3, 3), 1997, [CW, FU])
    ev(c, "contact_made", on=d(3, 4))
    wb.assign(c, v3, on=d(3, 4))
    _measure(wb, c, "ucla3", [3, 3, 3], "baseline", d(3, 4))
    ev(c, "conversation_held", community_id=k2, on=d(3, 9))
    ev(c, "escort_planned", planned_for=d(3, 11), on=d(3, 9))
    ev(c, "escort_completed", attended=True, as_described=True, host_welcomed=True, on=d(3, 11))
    ev(c, "follow_up", week=4, still_participating=True, on=d(4, 8))
    ev(c, "follow_up", week=12, still_participating=True, on=d(6, 3))
    _measure(wb, c, "ucla3", [1, 1, 1], "follow_up", d(6, 3))

    # c7 SVE April: contacted, a follow-up questionnaire without baseline, declined.
    c = _open(b, 7, "SVE", d(4, 2), 1950, [CW])
    ev(c, "contact_made", on=d(4, 3))
    _measure(wb, c, "ucla3", [1, 1, 2], "follow_up", d(4, 9))
    wb.close_case(c, "declined", on=d(4, 10))

    # c8 SVE April: escort cancelled and re-planned; closed and reopened; lasting at 12 weeks.
    c = _open(b, 8, "SVE", d(4, 20), 1980, [CW, FU])
    wb.assign(c, v3, on=d(4, 21))
    ev(c, "conversation_held", community_id=k2, on=d(4, 28))
    ev(c, "escort_planned", planned_for=d(5, 5), on=d(4, 29))
    ev(c, "escort_cancelled", on=d(5, 4))
    ev(c, "escort_planned", planned_for=d(5, 12), on=d(5, 5))
    ev(c, "escort_completed", attended=True, on=d(5, 12))
    ev(c, "follow_up", week=4, still_participating=True, on=d(6, 9))
    wb.close_case(c, "joined_community", on=d(6, 10))
    wb.reopen_case(c, text="Vil gerne have hjælp til et nyt fællesskab.", on=d(6, 15))
    ev(c, "follow_up", week=12, still_participating=True, on=d(8, 4))
    return b


def _case_rows(b: Built) -> dict[int, dict[str, Any]]:
    rows = {r["case_id"]: r for r in b.wb.frames.cases.iter_rows(named=True)}
    return {n: rows[case_id] for n, case_id in b.case.items()}


# --- schemas ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(FRAME_SCHEMAS))
def test_schema_on_an_empty_store(wb: Workbench, name: str) -> None:
    frame = getattr(wb.frames, name)
    assert frame.schema == FRAME_SCHEMAS[name]
    assert frame.height == 0


@pytest.mark.parametrize("name", list(FRAME_SCHEMAS))
def test_schema_on_the_fixture(built: Built, name: str) -> None:
    frame = getattr(built.wb.frames, name)
    assert frame.schema == FRAME_SCHEMAS[name]
    assert frame.height > 0


@pytest.mark.parametrize("name", list(FRAME_SCHEMAS))
def test_schema_with_a_site_but_no_cases(wb: Workbench, site: str, volunteer: dict[str, Any],
                                         community: dict[str, Any], name: str) -> None:
    assert getattr(wb.frames, name).schema == FRAME_SCHEMAS[name]


def test_all_returns_every_frame(built: Built) -> None:
    everything = built.wb.frames.all()
    assert set(everything) == set(FRAME_SCHEMAS)
    assert {n: f.schema for n, f in everything.items()} == FRAME_SCHEMAS


# --- hand-counted numbers -------------------------------------------------------------------------


def test_case_numbers_and_statuses(built: Built) -> None:
    rows = _case_rows(built)
    assert {n: r["case_number"] for n, r in rows.items()} == {
        1: "ODE-2026-0001", 2: "ODE-2026-0002", 3: "ODE-2026-0003", 4: "ODE-2026-0004", 5: "ODE-2026-0005",
        6: "SVE-2026-0001", 7: "SVE-2026-0002", 8: "SVE-2026-0003"}
    assert {n: r["status"] for n, r in rows.items()} == {
        1: "closed", 2: "matched", 3: "referred", 4: "in_follow_up", 5: "paused",
        6: "in_follow_up", 7: "closed", 8: "in_follow_up"}
    for n, r in rows.items():
        assert r["status"] == built.wb.case_state(built.case[n]).status.value  # type: ignore[union-attr]


def test_funnel_per_site_and_month(built: Built) -> None:
    funnel = built.wb.frames.funnel
    assert funnel.rows() == [
        # site, month, referred, conversation, escorted, attended, lasting_12w
        ("ODE", d(3, 1), 3, 2, 2, 1, 1),
        ("ODE", d(4, 1), 2, 1, 1, 1, 0),
        ("SVE", d(3, 1), 1, 1, 1, 1, 1),
        ("SVE", d(4, 1), 2, 1, 1, 1, 1),
    ]


def test_waiting_times_in_days(built: Built) -> None:
    rows = _case_rows(built)
    got = {n: (r["days_to_contact"], r["days_to_conversation"], r["days_to_escort"]) for n, r in rows.items()}
    assert got == {
        1: (3, 8, 15),      # 2 Mar -> 5 Mar, 10 Mar, 17 Mar
        2: (4, 9, 16),      # 16 Mar -> 20 Mar, 25 Mar, 1 Apr (escorted, not attended)
        3: (None, None, None),
        4: (5, 5, 9),       # 1 Apr -> conversation 6 Apr is the first contact; escort 10 Apr
        5: (0, None, None),
        6: (1, 6, 8),       # 3 Mar -> 4 Mar, 9 Mar, 11 Mar
        7: (1, None, None),
        8: (8, 8, 22),      # 20 Apr -> conversation 28 Apr; escort 12 May
    }


def test_milestones(built: Built) -> None:
    rows = _case_rows(built)
    assert {n: r["attended"] for n, r in rows.items()} == {
        1: True, 2: False, 3: None, 4: True, 5: None, 6: True, 7: None, 8: True}
    assert {n: (r["still_4w"], r["still_12w"]) for n, r in rows.items()} == {
        1: (True, True), 2: (None, None), 3: (None, None), 4: (False, None), 5: (None, None),
        6: (True, True), 7: (None, None), 8: (True, True)}
    assert rows[8]["escort_planned_for"] == d(5, 12)
    assert rows[8]["followup_4w_on"] == d(6, 9)
    assert rows[8]["followup_12w_on"] == d(8, 4)
    assert (rows[8]["closed_on"], rows[8]["close_reason"]) == (None, None)  # reopened
    assert (rows[1]["closed_on"], rows[1]["close_reason"]) == (d(6, 10), "joined_community")
    assert (rows[7]["closed_on"], rows[7]["close_reason"]) == (d(4, 10), "declined")
    assert rows[1]["community_id"] == built.community["K1"]
    assert rows[8]["community_id"] == built.community["K2"]
    assert {n: r["volunteer_id"] for n, r in rows.items()} == {
        1: built.volunteer["V1"], 2: built.volunteer["V1"], 3: None, 4: built.volunteer["V2"],
        5: built.volunteer["V2"], 6: built.volunteer["V3"], 7: None, 8: built.volunteer["V3"]}


def test_age_groups_at_the_year_of_referral(built: Built) -> None:
    rows = _case_rows(built)
    assert {n: r["age_group"] for n, r in rows.items()} == {
        1: "youth",     # 26
        2: "adult",     # 30
        3: "elderly",   # 65
        4: "adult",     # 64
        5: "unknown",   # no birth year
        6: "youth",     # 29
        7: "elderly",   # 76
        8: "adult",     # 46
    }


def test_referral_source_research_consent_and_interventions(built: Built) -> None:
    rows = _case_rows(built)
    assert rows[1]["referral_source"] == "doctor"
    assert rows[2]["referral_source"] == "municipality"
    assert rows[3]["referral_source"] == "other"
    assert {n: r["research_consent"] for n, r in rows.items()} == {
        1: True, 2: False, 3: False, 4: False, 5: False, 6: False, 7: False, 8: False}
    assert rows[1]["interventions"] == [built.intervention]
    assert all(r["interventions"] == [] for n, r in rows.items() if n != 1)


def test_volunteer_loads(built: Built) -> None:
    vols = {r["volunteer_id"]: r for r in built.wb.frames.volunteers.iter_rows(named=True)}
    got = {name: (vols[vid]["load"], vols[vid]["capacity"], vols[vid]["free"], vols[vid]["last_event_on"])
           for name, vid in built.volunteer.items()}
    assert got == {
        "V1": (1, 5, 4, d(4, 1)),   # c1 closed, c2 open; last event: c2's escort on 1 Apr
        "V2": (2, 2, 0, d(4, 16)),  # c4 and the paused c5
        "V3": (2, 3, 1, d(5, 12)),  # c6 and the reopened c8
    }
    for name, vid in built.volunteer.items():
        assert built.wb.volunteer_load(vid) == got[name][0]
    assert {vid: vols[vid]["site"] for vid in vols} == {
        built.volunteer["V1"]: "ODE", built.volunteer["V2"]: "ODE", built.volunteer["V3"]: "SVE"}


def test_escort_as_described_verifies_the_community(built: Built) -> None:
    rows = {r["community_id"]: r for r in built.wb.frames.communities.iter_rows(named=True)}
    k1, k2 = rows[built.community["K1"]], rows[built.community["K2"]]
    assert (k1["last_verified_on"], k1["last_verified_by"]) == (None, None)
    assert (k2["last_verified_on"], k2["last_verified_by"]) == (d(3, 11), "kirsten.koordinator")


def test_measures_scores(built: Built) -> None:
    measures = built.wb.frames.measures
    assert measures.height == 11
    per_case = measures.group_by("case_id").len()
    assert dict(per_case.iter_rows()) == {built.case[1]: 5, built.case[2]: 1, built.case[4]: 2,
                                          built.case[6]: 2, built.case[7]: 1}
    swemwbs = measures.filter(pl.col("instrument") == "swemwbs").sort("measure_id")
    assert swemwbs.select("raw_score", "score").rows() == [(14, 15.32), (21, 19.25), (21, 19.25), (14, 15.32)]
    ucla = measures.filter(pl.col("instrument") == "ucla3")
    assert (ucla.get_column("score") == ucla.get_column("raw_score").cast(pl.Float64)).all()
    assert set(measures.get_column("site").to_list()) == {"ODE", "SVE"}


def test_measure_pairs_are_within_each_case(built: Built) -> None:
    pairs = built.wb.frames.measure_pairs
    got = {(r["case_id"], r["instrument"]): (r["baseline_on"], r["baseline"], r["baseline_mode"],
                                             r["follow_up_on"], r["follow_up"], r["follow_up_mode"],
                                             r["change"], r["site"])
           for r in pairs.iter_rows(named=True)}
    c = built.case
    expected = {
        (c[1], "ucla3"): (d(3, 5), 8.0, "self_completed", d(6, 9), 5.0, "read_aloud", -3.0, "ODE"),
        (c[1], "swemwbs"): (d(3, 5), 15.32, "self_completed", d(6, 9), 19.25, "read_aloud", 3.93, "ODE"),
        (c[4], "swemwbs"): (d(4, 6), 19.25, "self_completed", d(5, 8), 15.32, "self_completed", -3.93, "ODE"),
        (c[6], "ucla3"): (d(3, 4), 9.0, "self_completed", d(6, 3), 3.0, "self_completed", -6.0, "SVE"),
    }
    assert set(got) == set(expected)  # c2 has no follow-up, c7 no baseline: never paired across cases
    for key, row in expected.items():
        assert got[key][:6] == row[:6]
        assert got[key][6] == pytest.approx(row[6])
        assert got[key][7] == row[7]


def test_events_frame(built: Built) -> None:
    events = built.wb.frames.events
    assert events.get_column("seq").is_sorted()
    assert events.get_column("seq").n_unique() == events.height
    per_case = dict(events.group_by("case_id").len().iter_rows())
    assert per_case[built.case[3]] == 1
    assert per_case[built.case[8]] == 11
    c8 = events.filter(pl.col("case_id") == built.case[8])
    assert c8.get_column("kind").cast(pl.String).to_list() == [
        "referral_received", "volunteer_assigned", "conversation_held", "escort_planned", "escort_cancelled",
        "escort_planned", "escort_completed", "follow_up", "case_closed", "case_reopened", "follow_up"]
    assert set(c8.get_column("site").to_list()) == {"SVE"}
    assert c8.filter(pl.col("kind") == "escort_completed").get_column("volunteer_id").item() == \
        built.volunteer["V3"]
    assert c8.filter(pl.col("kind") == "follow_up").get_column("week").to_list() == [4, 12]
    assert set(events.get_column("recorded_by").to_list()) == {"kirsten.koordinator"}
    measures = events.filter(pl.col("kind") == "measure_recorded")
    assert measures.height == 11
    assert measures.get_column("measure_id").null_count() == 0


def test_case_status_helper_matches_the_case_frame(built: Built) -> None:
    derived = dict(frames.case_status(built.wb.frames.events).iter_rows())
    assert derived == dict(built.wb.frames.cases.select("case_id", "status").iter_rows())


# --- freshness across handles -------------------------------------------------------------------------


def test_frames_refresh_after_another_handle_writes(data_dir: Path, wb: Workbench, site: str,
                                                    volunteer: dict[str, Any],
                                                    open_case: Callable[..., dict[str, Any]]) -> None:
    assert wb.frames.cases.height == 0
    assert wb.frames.funnel.height == 0
    other = workbench.open(data_dir, user=staff("Anden Koordinator"), today=lambda: date(2026, 5, 1))
    case = open_case(other, "Ny Borger")
    cases = wb.frames.cases
    assert cases.get_column("case_id").to_list() == [case["id"]]
    assert cases.get_column("status").to_list() == ["referred"]
    assert wb.frames.funnel.rows() == [("ODE", date(2026, 5, 1), 1, 0, 0, 0, 0)]

    other.assign(case["id"], volunteer["id"])
    assert wb.frames.cases.get_column("status").to_list() == ["assigned"]
    assert wb.frames.volunteers.get_column("load").to_list() == [1]
    assert wb.frames.events.get_column("recorded_by").to_list()[-1] == "anden.koordinator"

    other._store.compact()  # a new snapshot generation under the first handle
    other.close_case(case["id"], "moved")
    assert wb.frames.cases.get_column("status").to_list() == ["closed"]
    assert wb.frames.volunteers.get_column("load").to_list() == [0]
    assert wb.frames.events.height == 3


def test_frames_are_cached_until_the_store_changes(wb: Workbench, site: str,
                                                   open_case: Callable[..., dict[str, Any]]) -> None:
    open_case(wb)
    first = wb.frames.cases
    assert wb.frames.cases is first
    open_case(wb, "Anden Borger")
    assert wb.frames.cases is not first
    assert wb.frames.cases.height == 2


def test_a_coordinators_frames_are_the_full_frames_of_their_sites(tmp_path: Path) -> None:
    """Built from their sites' rows only (the site filter comes first), a coordinator's frames equal
    the full frames filtered to those sites, table by table, snapshot and journal tail alike."""
    from polars.testing import assert_frame_equal

    from workbench.demo import generate

    today = date(2026, 6, 1)
    wb = workbench.open(tmp_path / "data", user=staff("test"), today=lambda: today)
    generate(wb, 300)
    wb._store.compact()
    # a journal tail on top of the snapshot: a new case at ODE with steps, and a change at AAR
    case = wb.open_referral(site_id="ODE", citizen={"display_name": "Tove Ågård", "birth_year": 1950},
                            consents=[CW], on=today)
    wb.record_event(case["id"], "contact_made", on=today)
    wb.record_measure(case["id"], instrument="ucla3", answers=[2, 2, 2], timepoint="baseline",
                      mode="self_completed", on=today)
    other = wb.frames.cases.filter((pl.col("site") == "AAR") & (pl.col("status") != "closed")).row(0, named=True)
    wb.record_event(other["case_id"], "note", text="Ringede", on=today)
    # a brobygger with open cases at ODE who moves to AAR: their load follows them
    moved = wb.frames.volunteers.filter((pl.col("site") == "ODE") & (pl.col("load") > 0)).row(0, named=True)
    wb.update_volunteer(moved["volunteer_id"], site_id="AAR")
    assert any(wb._store._tail[t] for t in ("cases", "events", "measures"))  # the tail is not empty
    full = frames.Frames(wb._store, today=lambda: today).all()
    for sites in ({"ODE"}, {"AAR"}, {"ODE", "AAR"}):
        scoped = frames.Frames(wb._store, today=lambda: today, sites=frozenset(sites)).all()
        for name, frame in full.items():
            expected = frame if name == "communities" else frame.filter(pl.col("site").is_in(sorted(sites)))
            assert_frame_equal(scoped[name], expected, check_row_order=True)
        assert scoped["cases"].height < full["cases"].height
    aar = frames.Frames(wb._store, today=lambda: today, sites=frozenset({"AAR"}))
    assert aar.volunteers.filter(pl.col("volunteer_id") == moved["volunteer_id"])["load"].item() == moved["load"]
    assert not aar.cases.filter(pl.col("site") != "AAR").height  # their ODE cases are not shown at AAR
