"""Suggestions for a case: who a coordinator sees first among brobyggere and fællesskaber, and why.

Every frame comes from a real store in a temporary directory, filled through the service;
the citizen is the document as stored (``wb.citizen``). Assertions are about order and
reasons as the coordinator would read them, not about the exact weights.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from people import staff

import workbench
from workbench.reporting import matching
from workbench.reporting.matching import MATCH_REASON_KEYS, rank_communities, rank_volunteers
from workbench.service import Workbench

TODAY = date(2026, 5, 1)
CONSENTS = [{"purpose": "case_work", "given": True}]


@pytest.fixture
def wb(tmp_path: Path) -> Workbench:
    """A fresh store with two sites, ODE (Odense) and SVE (Svendborg)."""
    handle = workbench.open(tmp_path / "data", user=staff("t"), today=lambda: TODAY)
    handle.add_site("ODE", "Frivilligcenter Odense", "Odense")
    handle.add_site("SVE", "Frivilligcenter Svendborg", "Svendborg")
    return handle


def citizen(wb: Workbench, name: str = "Birthe Borger", **fields: Any) -> dict[str, Any]:
    """Register a citizen at ODE through a referral and return the stored document."""
    case = wb.open_referral(site_id="ODE", citizen={"display_name": name, **fields}, consents=CONSENTS)
    return wb.citizen(case["citizen_id"])


def volunteer(wb: Workbench, name: str, **fields: Any) -> str:
    """Register an active brobygger at ODE (unless told otherwise); returns the id."""
    return str(wb.register_volunteer(**{"site_id": "ODE", "name": name, "status": "active", **fields})["id"])


def community(wb: Workbench, name: str, **fields: Any) -> str:
    """Add an active community at ODE (unless told otherwise); returns the id."""
    doc = {"site_id": "ODE", "name": name, "organiser": "Frivilligcenter Odense", "postal_code": "8000", **fields}
    return str(wb.add_community(**doc)["id"])


def give_cases(wb: Workbench, volunteer_id: str, count: int) -> None:
    """Assign ``count`` new open cases to a brobygger."""
    for n in range(count):
        case = wb.open_referral(site_id="ODE", citizen={"display_name": f"Sag {n}"}, consents=CONSENTS)
        wb.assign(case["id"], volunteer_id)


def names(frame: pl.DataFrame) -> list[str]:
    return frame["name"].to_list()


def reasons(frame: pl.DataFrame, name: str) -> dict[str, str]:
    """The reasons of one suggested row as ``{key: value}``."""
    rows = frame.filter(pl.col("name") == name)
    assert rows.height == 1, f"{name} not suggested once in {names(frame)}"
    return {r["key"]: r["value"] for r in rows["reasons"][0]}


def rank_c(wb: Workbench, person: dict[str, Any], **kwargs: Any) -> pl.DataFrame:
    return rank_communities(person, wb.frames.communities, today=TODAY, **{"site": "ODE", **kwargs})


# --- brobyggere -----------------------------------------------------------------------------------------


def test_shared_interests_language_and_postal_code_come_first_with_their_reasons(wb: Workbench) -> None:
    person = citizen(wb, postal_code="5210", languages=["da", "ar"], interests=["Strik", "gåture", "kor"])
    volunteer(wb, "Anna Alt", postal_code="5210", languages=["da", "ar"], interests=["strik", "gåture"])
    volunteer(wb, "Bent Nabo", postal_code="5220")
    volunteer(wb, "Carl Fjern", postal_code="9000")
    volunteer(wb, "Dorte Strik", postal_code="9000", interests=["STRIK "])

    ranked = rank_volunteers(person, wb.frames.volunteers, site="ODE")

    assert names(ranked) == ["Anna Alt", "Dorte Strik", "Bent Nabo", "Carl Fjern"]
    assert reasons(ranked, "Anna Alt") == {"interests": "Strik, gåture", "language": "ar",
                                           "same_postal_code": "5210", "load": "0/3"}
    assert reasons(ranked, "Dorte Strik") == {"interests": "Strik", "language": "da", "load": "0/3"}
    assert reasons(ranked, "Bent Nabo") == {"same_area": "5220", "language": "da", "load": "0/3"}
    assert reasons(ranked, "Carl Fjern") == {"language": "da", "load": "0/3"}
    assert ranked["score"].is_sorted(descending=True)
    assert ranked.schema == matching.VOLUNTEER_MATCHES_SCHEMA


def test_full_paused_unready_and_other_site_brobyggere_are_not_suggested(wb: Workbench) -> None:
    perfect = {"postal_code": "5000", "languages": ["da", "ar"], "interests": ["strik"]}
    person = citizen(wb, **perfect)
    full = volunteer(wb, "Fie Fuld", capacity=1, **perfect)
    give_cases(wb, full, 1)
    volunteer(wb, "Per Pause", status="paused", **perfect)
    volunteer(wb, "Ida Interesseret", status="interested", **perfect)
    volunteer(wb, "Sif Screenet", status="screened", **perfect)
    volunteer(wb, "Lis Stoppet", status="left", **perfect)
    volunteer(wb, "Sven Svendborg", site_id="SVE", **perfect)
    volunteer(wb, "Tove Uddannet", status="trained")
    volunteer(wb, "Aage Aktiv")

    ranked = rank_volunteers(person, wb.frames.volunteers, site="ODE")

    assert sorted(names(ranked)) == ["Aage Aktiv", "Tove Uddannet"]
    assert names(rank_volunteers(person, wb.frames.volunteers, site="SVE")) == ["Sven Svendborg"]


def test_lower_load_ranks_higher_and_shows_as_cases_out_of_capacity(wb: Workbench) -> None:
    person = citizen(wb)
    busy = volunteer(wb, "Anders Travl", capacity=3)
    volunteer(wb, "Bodil Ledig", capacity=3)
    give_cases(wb, busy, 1)

    ranked = rank_volunteers(person, wb.frames.volunteers, site="ODE")

    assert names(ranked) == ["Bodil Ledig", "Anders Travl"]
    assert reasons(ranked, "Anders Travl")["load"] == "1/3"
    assert ranked.filter(pl.col("name") == "Anders Travl").select("load", "capacity").row(0) == (1, 3)


def test_a_shared_interest_outweighs_a_lighter_load(wb: Workbench) -> None:
    person = citizen(wb, interests=["fodbold"])
    busy = volunteer(wb, "Anders Fodbold", capacity=3, interests=["Fodbold"])
    volunteer(wb, "Bodil Ledig", capacity=3)
    give_cases(wb, busy, 2)

    assert names(rank_volunteers(person, wb.frames.volunteers, site="ODE")) == ["Anders Fodbold", "Bodil Ledig"]


def test_a_citizen_without_danish_is_matched_on_their_own_language(wb: Workbench) -> None:
    person = citizen(wb, languages=["ar"], interests=["strik"])
    volunteer(wb, "Ahmed Arabisk", languages=["da", "AR"])
    volunteer(wb, "Dorthe Dansk", languages=["da"], interests=["strik"])

    ranked = rank_volunteers(person, wb.frames.volunteers, site="ODE")

    assert names(ranked) == ["Ahmed Arabisk", "Dorthe Dansk"]
    assert reasons(ranked, "Ahmed Arabisk")["language"] == "ar"
    dorthe = reasons(ranked, "Dorthe Dansk")
    assert dorthe["no_shared_language"] == "ar"
    assert "language" not in dorthe


def test_limit_keeps_the_best(wb: Workbench) -> None:
    person = citizen(wb, interests=["kor"])
    for n in range(5):
        volunteer(wb, f"Frivillig {n}")
    volunteer(wb, "Karen Kor", interests=["kor"])

    ranked = rank_volunteers(person, wb.frames.volunteers, site="ODE", limit=2)

    assert ranked.height == 2
    assert names(ranked)[0] == "Karen Kor"
    assert rank_volunteers(person, wb.frames.volunteers, site="ODE", limit=0).height == 0


# --- fællesskaber ---------------------------------------------------------------------------------------


def test_community_interest_area_and_target_group_rank_higher_with_reasons(wb: Workbench) -> None:
    person = citizen(wb, postal_code="5210", interests=["strik", "Gåture"], needs=["loneliness", "anxiety"])
    community(wb, "Strikkecafé på biblioteket", kind="creative", postal_code="5210")
    community(wb, "Gåtur-gruppen", kind="nature", postal_code="5230", target_groups=["anxiety", "depression"])
    community(wb, "Brætspilsaften", kind="meeting_place", postal_code="5230")
    community(wb, "Fællesspisning", kind="dining", postal_code="8000")

    ranked = rank_c(wb, person)

    assert names(ranked) == ["Gåtur-gruppen", "Strikkecafé på biblioteket", "Brætspilsaften", "Fællesspisning"]
    assert reasons(ranked, "Gåtur-gruppen") == {"interests": "Gåture", "target_group": "anxiety",
                                                "same_area": "5230"}
    assert reasons(ranked, "Strikkecafé på biblioteket") == {"interests": "strik", "same_postal_code": "5210"}
    assert reasons(ranked, "Fællesspisning") == {}
    assert ranked.schema == matching.COMMUNITY_MATCHES_SCHEMA
    assert ranked.columns == ["community_id", "name", "organiser", "kind", "postal_code", "weekdays",
                              "score", "reasons"]


def test_an_interest_fits_a_community_by_its_name_or_kind(wb: Workbench) -> None:
    person = citizen(wb, interests=["Sport", "kor", "strikning", "IT"])
    community(wb, "Motion for alle", kind="sport")
    community(wb, "Kor for alle", kind="creative")
    community(wb, "Mandestrik", kind="creative")
    community(wb, "Tokorts-klubben", kind="meeting_place")  # 'kor' inside a word is not the choir
    community(wb, "It-café", kind="meeting_place")
    community(wb, "Italiensk madlavning", kind="dining")  # nor is 'it' starting a longer word

    ranked = rank_c(wb, person)

    assert reasons(ranked, "Motion for alle") == {"interests": "Sport"}
    assert reasons(ranked, "Kor for alle") == {"interests": "kor"}
    assert reasons(ranked, "Mandestrik") == {"interests": "strikning"}
    assert reasons(ranked, "It-café") == {"interests": "IT"}
    assert reasons(ranked, "Tokorts-klubben") == {}
    assert reasons(ranked, "Italiensk madlavning") == {}
    assert set(names(ranked)[-2:]) == {"Tokorts-klubben", "Italiensk madlavning"}


def test_inactive_closed_and_other_site_communities_are_not_suggested(wb: Workbench) -> None:
    person = citizen(wb)
    community(wb, "Åben cafe")
    community(wb, "Landsdækkende telefonven", site_id=None)
    community(wb, "Nedlagt klub", status="inactive")
    community(wb, "Sommerlukket klub", status="temporarily_closed")
    community(wb, "Svendborg Sejlklub", site_id="SVE")

    assert sorted(names(rank_c(wb, person))) == ["Landsdækkende telefonven", "Åben cafe"]
    everywhere = rank_communities(person, wb.frames.communities, today=TODAY)
    assert sorted(names(everywhere)) == ["Landsdækkende telefonven", "Svendborg Sejlklub", "Åben cafe"]


def test_age_mismatch_is_shown_last_and_marked_not_dropped(wb: Workbench) -> None:
    person = citizen(wb, birth_year=1950, interests=["strik"])  # 76 in 2026
    community(wb, "Ungdomsstrik", age_min=15, age_max=30)
    community(wb, "Seniorstrik", age_min=60)
    community(wb, "Strik for alle")
    community(wb, "Kaffeklubben")

    ranked = rank_c(wb, person)

    assert names(ranked) == ["Seniorstrik", "Strik for alle", "Kaffeklubben", "Ungdomsstrik"]
    assert reasons(ranked, "Ungdomsstrik") == {"interests": "strik", "age_mismatch": "15–30"}
    assert reasons(ranked, "Seniorstrik") == {"interests": "strik", "age_fit": "60+"}
    assert "age_fit" not in reasons(ranked, "Strik for alle")  # open to all ages: nothing to say


def test_age_is_counted_in_years_at_today_and_bounds_are_inclusive(wb: Workbench) -> None:
    person = citizen(wb, birth_year=1996)  # 30 in 2026
    community(wb, "Til og med 30", age_max=30)
    community(wb, "Fra 31", age_min=31)

    ranked = rank_c(wb, person)

    assert reasons(ranked, "Til og med 30") == {"age_fit": "0–30"}
    assert reasons(ranked, "Fra 31") == {"age_mismatch": "31+"}
    later = rank_communities(person, wb.frames.communities, site="ODE", today=date(2027, 1, 2))
    assert reasons(later, "Til og med 30") == {"age_mismatch": "0–30"}
    assert reasons(later, "Fra 31") == {"age_fit": "31+"}


def test_schedule_fit_uses_the_chosen_brobyggers_availability(wb: Workbench) -> None:
    person = citizen(wb)
    anna = volunteer(wb, "Anna Tirsdag", availability=[{"weekday": "tue", "part": "morning"},
                                                       {"weekday": "thu", "part": "evening"}])
    slot = {"start": "10:00", "end": "12:00"}
    community(wb, "Onsdagsklubben", schedule=[{"weekday": "wed", **slot}])
    community(wb, "Torsdagskor", schedule=[{"weekday": "thu", **slot}, {"weekday": "tue", **slot}])
    community(wb, "Uden mødetider")

    row = wb.frames.volunteers.filter(pl.col("volunteer_id") == anna).row(0, named=True)
    assert row["availability"] == ["tue_morning", "thu_evening"]
    ranked = rank_c(wb, person, volunteer=row)

    assert names(ranked)[0] == "Torsdagskor"
    assert reasons(ranked, "Torsdagskor") == {"schedule": "tue, thu"}
    assert reasons(ranked, "Onsdagsklubben") == {}
    assert reasons(ranked, "Uden mødetider") == {}
    stored = wb._store.get("volunteers", anna)  # the stored document (availability as weekday/part) works too
    assert rank_c(wb, person, volunteer=stored).equals(ranked)
    without = rank_c(wb, person)
    assert all(r == [] for r in without["reasons"].to_list())


# --- edges ----------------------------------------------------------------------------------------------


def test_empty_frames_give_empty_results_with_the_same_schema(wb: Workbench) -> None:
    person = citizen(wb, interests=["strik"], birth_year=1980, postal_code="5000")
    volunteers, communities = wb.frames.volunteers, wb.frames.communities
    assert volunteers.height == 0 and communities.height == 0

    empty_v = rank_volunteers(person, volunteers, site="ODE")
    empty_c = rank_communities(person, communities, site="ODE", today=TODAY)

    assert empty_v.height == 0 and empty_v.schema == matching.VOLUNTEER_MATCHES_SCHEMA
    assert empty_c.height == 0 and empty_c.schema == matching.COMMUNITY_MATCHES_SCHEMA
    assert rank_volunteers(person, pl.DataFrame(), site="ODE").schema == matching.VOLUNTEER_MATCHES_SCHEMA
    volunteer(wb, "Per Pause", status="paused")
    community(wb, "Nedlagt klub", status="inactive")
    assert rank_volunteers(person, wb.frames.volunteers, site="ODE").schema == matching.VOLUNTEER_MATCHES_SCHEMA
    assert rank_c(wb, person).schema == matching.COMMUNITY_MATCHES_SCHEMA
    assert rank_c(wb, person).height == 0


def test_missing_citizen_fields_do_not_crash_or_invent_reasons(wb: Workbench) -> None:
    person = citizen(wb, languages=[])  # no birth year, postal code, interests, needs or languages
    assert not {"birth_year", "postal_code"} & set(person)
    volunteer(wb, "Anna Alt", postal_code="5000", interests=["strik"])
    community(wb, "Ungdomsklub", age_min=15, age_max=25, postal_code="5000", target_groups=["anxiety"])

    ranked_v = rank_volunteers(person, wb.frames.volunteers, site="ODE")
    ranked_c = rank_c(wb, person)

    assert reasons(ranked_v, "Anna Alt") == {"load": "0/3"}
    assert reasons(ranked_c, "Ungdomsklub") == {}
    bare = {"display_name": "Kun et navn"}
    assert names(rank_volunteers(bare, wb.frames.volunteers, site="ODE")) == ["Anna Alt"]
    assert names(rank_communities(bare, wb.frames.communities, today=TODAY)) == ["Ungdomsklub"]


def test_ranking_is_deterministic_and_ties_fall_back_to_id(wb: Workbench) -> None:
    person = citizen(wb, interests=["strik"])
    ids = [volunteer(wb, f"Frivillig {n}") for n in range(6)]
    for n in range(6):
        community(wb, f"Klub {n}")
    volunteers = wb.frames.volunteers
    communities = wb.frames.communities

    first_v = rank_volunteers(person, volunteers, site="ODE")
    first_c = rank_c(wb, person)

    assert first_v["volunteer_id"].to_list() == sorted(ids)
    assert first_c["community_id"].to_list() == sorted(first_c["community_id"].to_list())
    for seed in range(3):
        assert rank_volunteers(person, volunteers.sample(fraction=1.0, shuffle=True, seed=seed),
                               site="ODE").equals(first_v)
        assert rank_communities(person, communities.sample(fraction=1.0, shuffle=True, seed=seed),
                                site="ODE", today=TODAY).equals(first_c)


def test_every_emitted_reason_key_is_listed(wb: Workbench) -> None:
    person = citizen(wb, birth_year=1950, postal_code="5000", languages=["ar"], interests=["strik"],
                     needs=["loneliness"])
    volunteer(wb, "Ahmed", languages=["ar"], postal_code="5000", interests=["strik"])
    volunteer(wb, "Bo", postal_code="5030")
    volunteer(wb, "Carla", availability=[{"weekday": "mon", "part": "morning"}])
    row = wb.frames.volunteers.filter(pl.col("name") == "Carla").row(0, named=True)
    community(wb, "Strikkeklub", age_min=60, postal_code="5000", target_groups=["loneliness"],
              schedule=[{"weekday": "mon", "start": "10:00", "end": "12:00"}])
    community(wb, "Ungdomsklub", age_max=25, postal_code="5030")
    da = citizen(wb, "Dansk Borger")

    frames = [rank_volunteers(person, wb.frames.volunteers, site="ODE"),
              rank_volunteers(da, wb.frames.volunteers, site="ODE"),
              rank_c(wb, person, volunteer=row)]
    emitted = {r["key"] for frame in frames for rs in frame["reasons"].to_list() for r in rs}

    assert emitted == set(MATCH_REASON_KEYS)
    assert len(MATCH_REASON_KEYS) == len(set(MATCH_REASON_KEYS))
