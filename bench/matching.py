"""Benchmark of the suggestions for one case (``python -m bench.matching [scale ...]``).

Builds synthetic volunteers and communities frames directly with the frame schemas (no
store), 500 brobyggere and 5,000 fællesskaber at scale 1, then times ``rank_volunteers``
and ``rank_communities`` for one citizen: a few warm-up calls, then best and median of 50
runs each, and of both called together as the case screen does. Default scales: 1 and 5.
Numbers are printed, never asserted (target: both together under 50 ms at scale 1).
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import polars as pl

from workbench.reporting import frames
from workbench.reporting.matching import rank_communities, rank_volunteers

RUNS = 50
WARM_UP = 3
TARGET_MS = 50.0
TODAY = date(2026, 5, 1)
SITES = ("ODE", "SVE", "AAR", "KBH", "ALB")
POSTAL = ("5000", "5200", "5210", "5220", "5230", "5700", "8000", "8200", "2100", "2200", "9000", "9220")
LANGUAGES = ("da", "en", "ar", "so", "tr", "uk", "pl", "de")
INTERESTS = ("strik", "gåture", "kor", "fodbold", "brætspil", "madlavning", "havearbejde", "læsning",
             "billard", "maling", "yoga", "svømning", "cykling", "fiskeri", "dans", "musik", "film",
             "historie", "natur", "fuglekigning", "petanque", "sang", "keramik", "træarbejde", "it")
PREFIXES = ("", "", "Senior", "Ung", "Mande", "Kvinde", "Fælles", "Odense ", "Nabo")
SUFFIXES = ("café", "klub", "-gruppen", " for alle", "aften", " i parken", "værksted", "holdet")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PARTS = ("morning", "afternoon", "evening")
NEEDS = ("loneliness", "depression", "anxiety", "adhd", "autism", "cognitive", "grief", "other")
KINDS = frames.COMMUNITY_KIND.categories.to_list()

CITIZEN: dict[str, Any] = {
    "display_name": "Bench Borger", "birth_year": 1958, "postal_code": "5210", "languages": ["da", "ar"],
    "interests": ["Strik", "gåture", "kor"], "needs": ["loneliness", "anxiety"],
}


def _some(rng: random.Random, values: tuple[str, ...], low: int, high: int) -> list[str]:
    return rng.sample(values, rng.randint(low, high))


def volunteers_frame(n: int, seed: int = 1) -> pl.DataFrame:
    """``n`` synthetic brobyggere spread over five sites (``VOLUNTEERS_SCHEMA``)."""
    rng = random.Random(seed)
    rows = []
    statuses = ["active"] * 7 + ["trained", "paused", "interested"]
    for i in range(n):
        capacity = rng.randint(1, 5)
        load = rng.randint(0, capacity)
        registered = TODAY - timedelta(days=rng.randint(0, 1500))
        rows.append({
            "volunteer_id": f"F{i:06d}", "site": SITES[i % len(SITES)], "name": f"Frivillig {i}",
            "status": rng.choice(statuses), "capacity": capacity, "load": load, "free": capacity - load,
            "languages": ["da", *_some(rng, LANGUAGES[1:], 0, 2)], "interests": _some(rng, INTERESTS, 0, 4),
            "availability": [f"{d}_{rng.choice(PARTS)}" for d in _some(rng, WEEKDAYS, 1, 3)],
            "postal_code": rng.choice(POSTAL), "record_check_on": registered, "trained_on": registered,
            "recruited_via": "volunteer_centre", "registered_on": registered,
            "last_event_on": TODAY - timedelta(days=rng.randint(0, 60)),
        })
    return pl.DataFrame(rows, schema=frames.VOLUNTEERS_SCHEMA)


def communities_frame(n: int, seed: int = 2) -> pl.DataFrame:
    """``n`` synthetic fællesskaber, a fifth without a site (``COMMUNITIES_SCHEMA``)."""
    rng = random.Random(seed)
    rows = []
    statuses = ["active"] * 8 + ["temporarily_closed", "inactive"]
    for i in range(n):
        age_min = rng.choice([None, None, None, 18, 25, 60, 65])
        age_max = rng.choice([None, None, None, 30, 35, 99]) if age_min is None or age_min < 30 else None
        name = f"{rng.choice(PREFIXES)}{rng.choice(INTERESTS)}{rng.choice(SUFFIXES)}".capitalize()
        rows.append({
            "community_id": f"K{i:06d}", "site": None if i % 5 == 0 else SITES[i % len(SITES)],
            "name": f"{name} {i}", "organiser": f"Forening {i % 97}", "kind": rng.choice(KINDS),
            "status": rng.choice(statuses), "postal_code": rng.choice(POSTAL),
            "latitude": 55.0 + rng.random(), "longitude": 10.0 + rng.random(),
            "weekdays": _some(rng, WEEKDAYS, 0, 3), "age_min": age_min, "age_max": age_max,
            "target_groups": _some(rng, NEEDS, 0, 3), "cost": "", "accessibility": "",
            "last_verified_on": TODAY - timedelta(days=rng.randint(0, 700)), "last_verified_by": "Bench",
        })
    return pl.DataFrame(rows, schema=frames.COMMUNITIES_SCHEMA)


def timed(call: Callable[[], Any]) -> list[float]:
    """Milliseconds of ``RUNS`` calls after ``WARM_UP`` untimed ones."""
    for _ in range(WARM_UP):
        call()
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def run(scale: int) -> None:
    """Build frames at ``scale`` times 500/5,000 rows and print best and median timings."""
    volunteers, communities = volunteers_frame(500 * scale), communities_frame(5_000 * scale)
    chosen = volunteers.filter(pl.col("site") == "ODE").row(0, named=True)

    def both() -> None:
        rank_volunteers(CITIZEN, volunteers, site="ODE")
        rank_communities(CITIZEN, communities, site="ODE", volunteer=chosen, today=TODAY)

    results = {
        "rank_volunteers": timed(lambda: rank_volunteers(CITIZEN, volunteers, site="ODE")),
        "rank_communities": timed(lambda: rank_communities(CITIZEN, communities, site="ODE", volunteer=chosen,
                                                           today=TODAY)),
        "both together": timed(both),
    }
    top = rank_communities(CITIZEN, communities, site="ODE", volunteer=chosen, today=TODAY)
    print(f"\n== scale {scale}: {volunteers.height:,} volunteers, {communities.height:,} communities"
          f" (best / median of {RUNS} runs after {WARM_UP} warm-up)")
    for label, times in results.items():
        print(f"{label:18} best {min(times):7.2f} ms   median {statistics.median(times):7.2f} ms")
    verdict = "within" if statistics.median(results["both together"]) < TARGET_MS else "OVER"
    print(f"{'':18} median of both {verdict} the {TARGET_MS:.0f} ms target"
          f"; top community: {top['name'][0]!r} score {top['score'][0]:.1f}")


def main() -> None:
    scales = [int(a) for a in sys.argv[1:]] or [1, 5]
    print(f"Matching benchmark (polars {pl.__version__}; target: both rankings together < {TARGET_MS:.0f} ms"
          " at 500 volunteers / 5,000 communities)")
    for scale in scales:
        run(scale)


if __name__ == "__main__":
    main()
