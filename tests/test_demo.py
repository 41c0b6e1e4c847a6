"""The synthetic demo data: deterministic, realistic in shape, valid through the service, free of CPR shapes."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from people import staff
from polars.testing import assert_frame_equal

import workbench
from workbench import demo
from workbench.demo import DemoSummary, generate
from workbench.domain.text import contains_cpr
from workbench.domain.workflow import Status
from workbench.service import Workbench

# A fixed "today" keeps the data identical whichever day the suite runs.
TODAY = date(2026, 6, 1)
ROOT = Path(__file__).resolve().parents[1]
TABLES = ("sites", "volunteers", "citizens", "contacts", "communities", "interventions", "cases", "events",
          "measures", "targets", "counters")


def _open(path: Path) -> Workbench:
    return workbench.open(path, user=staff("test"), today=lambda: TODAY)


@pytest.fixture(scope="module")
def demo300(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workbench, DemoSummary, Path]:
    path = tmp_path_factory.mktemp("demo300") / "data"
    wb = _open(path)
    summary = generate(wb, 300)
    return wb, summary, path


def _site_totals(wb: Workbench) -> pl.DataFrame:
    return wb.frames.funnel.group_by("site").agg(pl.all().exclude("month").sum()).sort("site")


# --- determinism ------------------------------------------------------------------------------


def test_same_seed_gives_identical_data(demo300: tuple[Workbench, DemoSummary, Path], tmp_path: Path) -> None:
    """A second store built in another process (other string-hash seed) holds the same data."""
    first, summary, _ = demo300
    script = (
        "import sys, workbench\n"
        "sys.path.insert(0, 'tests')\n"
        "from people import staff\n"
        "from datetime import date\n"
        "from workbench.demo import generate\n"
        f"wb = workbench.open(sys.argv[1], user=staff('test'), today=lambda: date.fromisoformat({TODAY.isoformat()!r}))\n"
        "print(repr(tuple(vars(generate(wb, 300)).values())))\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "data")], cwd=ROOT, capture_output=True,
                         text=True, check=True, timeout=300, env={**os.environ, "PYTHONHASHSEED": "12345"})
    assert out.stdout.strip() == repr(tuple(vars(summary).values()))
    second = _open(tmp_path / "data")
    for name in ("cases", "volunteers", "communities", "measures", "measure_pairs", "funnel"):
        assert_frame_equal(getattr(first.frames, name), getattr(second.frames, name))
    # recorded_at is the wall clock of the run: the one volatile column
    assert_frame_equal(first.frames.events.drop("recorded_at"), second.frames.events.drop("recorded_at"))
    names = [c["display_name"] for c in first._store.frame("citizens").to_dicts()]
    assert names == [c["display_name"] for c in second._store.frame("citizens").to_dicts()]


def test_other_seed_gives_other_data(tmp_path: Path) -> None:
    a, b = _open(tmp_path / "a"), _open(tmp_path / "b")
    generate(a, 20, seed=1)
    generate(b, 20, seed=2)
    assert a.frames.cases.get_column("referred_on").to_list() != b.frames.cases.get_column("referred_on").to_list()


# --- shape ------------------------------------------------------------------------------------


def test_summary_matches_store(demo300: tuple[Workbench, DemoSummary, Path]) -> None:
    wb, summary, _ = demo300
    assert summary.cases == summary.citizens == 300
    assert wb._store.count("cases") == wb._store.count("citizens") == 300
    assert summary.events == wb._store.count("events")
    assert summary.volunteers == wb._store.count("volunteers")
    assert summary.communities == wb._store.count("communities")
    assert wb._store.count("interventions") == 2


def test_five_sites_every_status(demo300: tuple[Workbench, DemoSummary, Path]) -> None:
    wb, _, _ = demo300
    cases = wb.frames.cases
    assert sorted(wb._store.frame("sites").get_column("id").to_list()) == ["AAL", "AAR", "ESB", "KGE", "ODE"]
    assert set(cases.get_column("site").unique().to_list()) == {"AAL", "AAR", "ESB", "KGE", "ODE"}
    assert set(cases.get_column("status").unique().to_list()) == {s.value for s in Status}
    assert set(cases.get_column("age_group").unique().to_list()) == {"youth", "adult", "elderly"}
    closed = cases.filter(pl.col("status") == "closed")
    assert set(closed.get_column("close_reason").unique().to_list()) == {
        "joined_community", "declined", "no_contact", "moved", "referred_elsewhere", "other"}
    assert cases.get_column("referred_on").min() >= date(2024, 1, 1)  # type: ignore[operator]
    # the cases still open are the recent ones
    open_cases = cases.filter(pl.col("status") != "closed")
    assert open_cases.filter(pl.col("referred_on") >= date(2025, 12, 1)).height > open_cases.height / 2


def test_funnel_narrows_per_site(demo300: tuple[Workbench, DemoSummary, Path]) -> None:
    wb, _, _ = demo300
    for row in _site_totals(wb).iter_rows(named=True):
        steps = [row[k] for k in ("referred", "conversation", "escorted", "attended", "lasting_12w")]
        assert steps == sorted(steps, reverse=True), row
        assert row["referred"] > row["lasting_12w"], row


def test_drop_off_is_realistic(demo300: tuple[Workbench, DemoSummary, Path]) -> None:
    wb, _, _ = demo300
    cases = wb.frames.cases
    n = cases.height

    def share(expr: pl.Expr) -> float:
        return float(cases.select(expr.sum()).item()) / n

    assert 0.84 <= share(pl.col("assigned_on").is_not_null()) <= 0.95
    assert 0.65 <= share(pl.col("conversation_on").is_not_null()) <= 0.82
    assert 0.57 <= share(pl.col("escort_planned_for").is_not_null()) <= 0.72
    assert 0.48 <= share(pl.col("escorted_on").is_not_null()) <= 0.66
    escorted = cases.filter(pl.col("escorted_on").is_not_null())
    assert 0.75 <= escorted.get_column("attended").mean() <= 0.95  # type: ignore[operator]
    medians = cases.select(pl.col("days_to_contact", "days_to_conversation", "days_to_escort").median()).row(0)
    assert 2 <= medians[0] <= 10 and medians[0] < medians[1] < medians[2] <= 80
    assert 0.5 <= cases.get_column("research_consent").mean() <= 0.7  # type: ignore[operator]
    labelled = share(pl.col("interventions").list.len() > 0)
    assert 0.08 <= labelled <= 0.25
    sources = set(cases.get_column("referral_source").unique().to_list())
    assert len(sources) >= 6


def test_events_are_dated_sensibly(demo300: tuple[Workbench, DemoSummary, Path]) -> None:
    wb, _, _ = demo300
    events = wb.frames.events
    assert events.get_column("on").max() <= TODAY  # type: ignore[operator]
    planned = events.filter(pl.col("kind") == "escort_planned")
    assert planned.filter(pl.col("planned_for") < pl.col("on")).height == 0
    assert planned.filter(pl.col("planned_for") > TODAY).height > 0  # some escorts are in the coming days
    # every case's events are in date order as recorded
    unordered = events.group_by("case_id").agg((pl.col("on").diff().dt.total_days() < 0).any().alias("bad"))
    assert not unordered.get_column("bad").any()
    # follow-ups come four and twelve weeks after the (attended) escort
    escorted = events.filter(pl.col("kind") == "escort_completed").group_by("case_id").agg(
        pl.col("on").last().alias("escorted"))
    follow = events.filter(pl.col("kind") == "follow_up").join(escorted, on="case_id")
    assert follow.height > 0
    days = follow.with_columns((pl.col("on") - pl.col("escorted")).dt.total_days().alias("days"))
    for week, low, high in ((4, 28, 31), (12, 84, 89)):
        chosen = days.filter(pl.col("week") == week).get_column("days")
        assert chosen.len() > 0 and chosen.min() >= low and chosen.max() <= high  # type: ignore[operator]


def test_follow_ups_only_with_consent(demo300: tuple[Workbench, DemoSummary, Path]) -> None:
    wb, _, _ = demo300
    citizens = {c["id"]: c for c in wb._store.frame("citizens").to_dicts()}
    case_citizen = dict(wb.frames.cases.select("case_id", "citizen_id").iter_rows())
    followed = wb.frames.events.filter(pl.col("kind") == "follow_up").get_column("case_id").unique().to_list()
    assert followed
    for case_id in followed:
        consents = {r["purpose"]: r["given"] for r in citizens[case_citizen[case_id]]["consents"]}
        assert consents["follow_up_contact"] is True
    shares = Counter(
        next(r["given"] for r in c["consents"] if r["purpose"] == "follow_up_contact") for c in citizens.values())
    assert 0.8 <= shares[True] / len(citizens) <= 0.97
    assert all(next(r["given"] for r in c["consents"] if r["purpose"] == "case_work") for c in citizens.values())


def test_only_active_communities_are_chosen(demo300: tuple[Workbench, DemoSummary, Path]) -> None:
    wb, _, _ = demo300
    communities = wb.frames.communities
    per_site = communities.group_by("site").len()
    assert per_site.get_column("len").min() >= 12
    assert set(communities.get_column("status").unique().to_list()) >= {"active", "temporarily_closed"}
    status = dict(communities.select("community_id", "status").iter_rows())
    chosen = wb.frames.events.filter(pl.col("kind") == "conversation_held").get_column("community_id")
    assert {status[c] for c in chosen.to_list()} == {"active"}
    # the escort day is a day the community meets
    weekdays = dict(communities.select("community_id", "weekdays").iter_rows())
    escorts = wb.frames.events.filter(pl.col("kind") == "escort_completed")
    for community_id, on in escorts.select("community_id", "on").iter_rows():
        assert ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[on.weekday()] in weekdays[community_id]


def test_volunteers_loads_and_overrides(demo300: tuple[Workbench, DemoSummary, Path]) -> None:
    wb, _, _ = demo300
    volunteers = wb.frames.volunteers
    events = wb.frames.events
    overridden = set(events.filter(pl.col("override").fill_null(False)).get_column("volunteer_id").to_list())
    over = volunteers.filter(pl.col("load") > pl.col("capacity"))
    assert set(over.get_column("volunteer_id").to_list()) <= overridden
    # an override is rare, and carries its reason
    assigned = events.filter(pl.col("kind") == "volunteer_assigned")
    assert assigned.get_column("override").fill_null(False).mean() < 0.1  # type: ignore[operator]
    for event in wb._store.frame("events").filter(pl.col("override").fill_null(False)).to_dicts():
        assert event["override_reason"] == demo.OVERRIDE_REASON
    # the load the demo tracked is the load the service computes
    for volunteer_id, load in volunteers.select("volunteer_id", "load").iter_rows():
        assert wb.volunteer_load(volunteer_id) == load
    assert set(volunteers.get_column("capacity").unique().to_list()) <= {2, 3, 4, 5}
    assert volunteers.filter(pl.col("status") == "active").height >= 0.6 * volunteers.height
    assert len(set(volunteers.get_column("recruited_via").to_list())) >= 4
    # only active brobyggere got cases
    status = dict(volunteers.select("volunteer_id", "status").iter_rows())
    first_assigned = assigned.group_by("volunteer_id").agg(pl.col("on").min())
    assert {status[v] for v in first_assigned.get_column("volunteer_id").to_list()} <= {"active", "paused", "left"}


def test_status_agrees_with_replay(demo300: tuple[Workbench, DemoSummary, Path]) -> None:
    wb, _, _ = demo300
    for case_id, status in wb.frames.cases.select("case_id", "status").iter_rows():
        assert wb.case_state(case_id).status == status


def test_measures_show_a_plausible_change(demo300: tuple[Workbench, DemoSummary, Path]) -> None:
    wb, _, _ = demo300
    measures = wb.frames.measures
    baseline = measures.filter((pl.col("timepoint") == "baseline") & (pl.col("instrument") == "ucla3"))
    assert 0.5 <= baseline.height / 300 <= 0.7
    modes = Counter(baseline.get_column("mode").to_list())
    assert modes["self_completed"] > modes["read_aloud"] > 0
    pairs = wb.frames.measure_pairs
    change = dict(pairs.group_by("instrument").agg(pl.col("change").mean()).iter_rows())
    assert -2.0 < change["ucla3"] < 0 < change["swemwbs"] < 5.0
    assert pairs.filter(pl.col("instrument") == "ucla3").height >= 15


# --- privacy ----------------------------------------------------------------------------------


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [str(k), *_strings(v)]]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def test_no_cpr_shape_anywhere_in_the_data_directory(demo300: tuple[Workbench, DemoSummary, Path]) -> None:
    _, _, path = demo300
    # The .arrow files are binary copies of the .ndjson tables beside them, which are read here.
    files = [p for p in path.rglob("*") if p.is_file() and p.suffix != ".arrow"]
    assert any(p.name == "citizens.ndjson" for p in files)
    for file in files:
        for line in file.read_text("utf-8").splitlines():
            assert not contains_cpr(line), (file.name, line[:200])
            if line.startswith(("{", "[")):
                for text in _strings(json.loads(line)):
                    assert not contains_cpr(text), (file.name, text)


def test_generated_strings_never_look_like_cpr() -> None:
    rng = random.Random(7)
    for _ in range(5_000):
        phone = demo._phone(rng)
        assert phone.startswith("+45 ") and len(phone.replace(" ", "")) == 11
        assert not contains_cpr(phone) and not contains_cpr(phone.replace(" ", ""))
    for first in demo.FIRST_NAMES:
        for last in demo.LAST_NAMES:
            assert not contains_cpr(f"{first} {last}")
            assert not contains_cpr(demo._email(rng, first, last))
    assert any(ch in "".join(demo.FIRST_NAMES + demo.LAST_NAMES) for ch in "æøå")


def test_citizens_have_contacts_languages_and_interests(demo300: tuple[Workbench, DemoSummary, Path]) -> None:
    wb, _, _ = demo300
    citizens = wb._store.frame("citizens")
    contacts = wb._store.frame("contacts")
    assert 0.2 <= contacts.filter(pl.col("phone").is_not_null()).height / citizens.height <= 0.7
    assert contacts.get_column("phone").drop_nulls().str.contains(r"^\+45\d{8}$").all()
    assert citizens.get_column("interests").list.len().min() >= 1  # type: ignore[operator]
    assert citizens.get_column("languages").explode().n_unique() >= 3


# --- the store --------------------------------------------------------------------------------


def _counts(wb: Workbench) -> dict[str, int]:
    wb._store.refresh()
    return {name: wb._store.count(name) for name in TABLES}


def test_store_reopens_in_another_process(demo300: tuple[Workbench, DemoSummary, Path]) -> None:
    wb, _, path = demo300
    expected = _counts(wb)
    statuses = dict(wb.frames.cases.group_by("status").len().select(pl.col("status").cast(pl.String), "len")
                    .iter_rows())
    second = _open(path)
    assert _counts(second) == expected
    script = (
        "import json, sys, workbench\n"
        "sys.path.insert(0, 'tests')\n"
        "from people import staff\n"
        f"wb = workbench.open(sys.argv[1], user=staff('check'), create=False)\n"
        f"counts = {{n: wb._store.count(n) for n in {TABLES!r}}}\n"
        "statuses = {str(k): v for k, v in wb.frames.cases.group_by('status').len().iter_rows()}\n"
        "print(json.dumps({'counts': counts, 'statuses': statuses}))\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(path)], cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=120)
    result = json.loads(out.stdout)
    assert result["counts"] == expected
    assert result["statuses"] == statuses


def test_generate_twice_adds_cases(tmp_path: Path) -> None:
    wb = _open(tmp_path / "data")
    first = generate(wb, 60)
    second = generate(wb, 40)
    assert (first.cases, second.cases) == (60, 40)
    assert wb._store.count("sites") == 5
    assert wb._store.count("interventions") == 2
    assert wb._store.count("cases") == 100
    assert wb._store.count("events") == first.events + second.events
    assert wb._store.count("volunteers") == first.volunteers + second.volunteers
    numbers = wb.frames.cases.get_column("case_number").to_list()
    assert len(numbers) == len(set(numbers)) == 100
    per_series: dict[str, list[int]] = {}
    for number in numbers:
        site, year, seq = number.split("-")
        per_series.setdefault(f"{site}-{year}", []).append(int(seq))
    for series, seqs in per_series.items():
        assert sorted(seqs) == list(range(1, len(seqs) + 1)), series
    # the second batch are new people, not copies of the first
    names = wb._store.frame("citizens").sort("id").get_column("display_name").to_list()
    assert names[:40] != names[60:]
    for volunteer_id, load in wb.frames.volunteers.select("volunteer_id", "load").iter_rows():
        assert wb.volunteer_load(volunteer_id) == load


def test_every_site_has_targets_near_what_it_achieves(demo300: tuple[Workbench, DemoSummary, Path]) -> None:
    wb, _, _ = demo300
    targets = wb._store.frame("targets")
    year = wb.today().year
    this_year = targets.filter(pl.col("year") == year)
    assert sorted(this_year.get_column("site_id").unique().to_list()) == ["AAL", "AAR", "ESB", "KGE", "ODE"]
    assert set(this_year.get_column("metric").to_list()) == {"referrals", "conversations", "escorts", "lasting"}
    referred = wb.frames.cases.filter(pl.col("referred_on").dt.year() == year).group_by("site").len()
    year_share = ((wb.today() - date(year, 1, 1)).days + 1) / 365
    for site, n in referred.iter_rows():
        wanted = {r["metric"]: r["value"] for r in this_year.filter(pl.col("site_id") == site).iter_rows(named=True)}
        assert wanted["referrals"] >= n  # a target above what the year has brought so far ...
        assert wanted["referrals"] <= 1.5 * n / year_share + 10  # ... but within reach at this pace
        assert wanted["referrals"] >= wanted["conversations"] >= wanted["escorts"] >= wanted["lasting"] >= 5


def test_a_target_the_lead_set_is_kept_when_more_demo_cases_are_added(tmp_path: Path) -> None:
    wb = _open(tmp_path / "data")
    generate(wb, 30)
    wb.set_target("ODE", wb.today().year, "escorts", 999)
    generate(wb, 30)
    kept = wb._store.frame("targets").filter((pl.col("site_id") == "ODE") & (pl.col("metric") == "escorts")
                                             & (pl.col("year") == wb.today().year))
    assert kept.get_column("value").to_list() == [999]


def test_integrity_check_passes(demo300: tuple[Workbench, DemoSummary, Path]) -> None:
    wb, _, _ = demo300
    report = wb.check()
    assert report.problems == []


def test_zero_cases_adds_nothing_but_sites(tmp_path: Path) -> None:
    wb = _open(tmp_path / "data")
    assert generate(wb, 0) == DemoSummary(cases=0, events=0, volunteers=0, communities=0, citizens=0)
    assert wb._store.count("sites") == 5 and wb._store.count("cases") == 0


# --- a bug found while building the demo (a second generate call backdates escorts) ------------
# At commit 4fa381d, service._verified_by_escort set last_verified_on to the escort's date even when it
# was older than the community's current last_verified_on. It is fixed in the working tree since; this
# keeps it fixed.


def test_backdated_escort_does_not_move_verification_back(tmp_path: Path) -> None:
    wb = _open(tmp_path / "data")
    wb.add_site("ODE", "Frivilligcenter Odense", "Odense")
    volunteer = wb.register_volunteer(site_id="ODE", name="Søren Jensen", status="active")
    community = wb.add_community(site_id="ODE", name="Gåklubben", organiser="Idrætsforeningen", postal_code="5000")
    wb.verify_community(community["id"], on=date(2026, 5, 20))
    case = wb.open_referral(site_id="ODE", citizen={"display_name": "Åse Møller"},
                            consents=[{"purpose": "case_work", "given": True}], on=date(2025, 1, 6))
    wb.assign(case["id"], volunteer["id"], on=date(2025, 1, 7))
    wb.record_event(case["id"], "conversation_held", community_id=community["id"], on=date(2025, 1, 10))
    wb.record_event(case["id"], "escort_planned", planned_for=date(2025, 1, 20), on=date(2025, 1, 10))
    wb.record_event(case["id"], "escort_completed", attended=True, as_described=True, on=date(2025, 1, 20))
    stored = wb._store.get("communities", community["id"])
    assert stored is not None
    assert stored["last_verified_on"] == "2026-05-20"
