"""Deterministic synthetic demo data: sites, brobyggere, a community catalog, citizens and cases.

    import workbench
    from workbench.demo import generate

    workbench.init("/tmp/demo-data")
    ensure_demo_users(Path("/tmp/demo-data"))
    wb = workbench.open("/tmp/demo-data", user=LOADER)  # administrator and coordinator of the five sites
    summary = generate(wb, cases=1000, seed=2026)

Everything is made up: names are combined from small built-in lists of Danish first
and last names, phone numbers are synthetic and there is no CPR number or anything
shaped like one anywhere. The same seed on an empty store gives the same data.

How it works, so that it scales to 100,000 cases:

1. Sites, brobyggere, communities and the lab-track interventions are registered.
2. Every case's whole planned timeline is drawn at once (referral, contact, brobygger,
   conversation, escort, follow-ups, measures, close), with a realistic drop-off at each
   step and realistic waiting times. Steps after today are simply not reached, so recent
   cases stay open at the step they have come to.
3. All steps of all cases (and brobyggere joining, pausing and leaving) are recorded in
   one global chronological order (date, then case), so that each assignment can pick a
   brobygger who really has room on that day. Loads are tracked here (+1 at assignment,
   -1 when the case closes or moves to another brobygger).

Only the service API writes, inside one ``wb.bulk()``: every call is validated and
audited exactly as a coordinator's would be, and the whole load is written at once as a
new snapshot generation.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.domain import model as m

if TYPE_CHECKING:
    from workbench.service import Workbench

__all__ = ["DemoSummary", "generate"]

TIMELINE_START = date(2024, 1, 1)
OVERRIDE_REASON = "Demo: travlt center"


@dataclass(frozen=True)
class DemoSummary:
    """What one ``generate`` call added."""

    cases: int
    events: int
    volunteers: int
    communities: int
    citizens: int


# --- built-in vocabularies (all synthetic) ---------------------------------------------------

FIRST_NAMES = (
    "Søren", "Jørgen", "Bjørn", "Åse", "Mette", "Kirsten", "Henrik", "Maja", "Sofie", "Frederik",
    "Lærke", "Rasmus", "Signe", "Mads", "Ida", "Karen", "Niels", "Bodil", "Jens", "Astrid",
    "Mikkel", "Freja", "Anders", "Birthe", "Ove", "Ulla", "Kåre", "Tove", "Bent", "Gitte",
    "Torben", "Hanne", "Poul", "Else", "Emil", "Clara", "Oliver", "Nanna", "Ahmad", "Leyla",
    "Mathias", "Line", "Jonas", "Pia", "Sune", "Dorthe", "Aksel", "Inger", "Sigurd", "Ærtrud",
)
LAST_NAMES = (
    "Nielsen", "Jensen", "Hansen", "Pedersen", "Andersen", "Christensen", "Larsen", "Sørensen",
    "Rasmussen", "Jørgensen", "Petersen", "Madsen", "Kristensen", "Olsen", "Thomsen", "Møller",
    "Mølgaard", "Søndergaard", "Kjær", "Lykkegård", "Dalsgård", "Bækgaard", "Frølund", "Højer",
    "Brøndum", "Skovgård", "Ågård", "Østergaard", "Nørgaard", "Vestergård", "Æbelø", "Krøyer",
)
STREETS = (
    "Vestergade", "Østergade", "Nørregade", "Søndergade", "Skovvej", "Møllevej", "Kirkevej", "Åvej",
    "Bøgevej", "Engvej", "Rosenvænget", "Kastanjealle", "Hørvej", "Præstevænget", "Havnegade", "Løvsangervej",
)


@dataclass(frozen=True)
class _SiteInfo:
    code: str
    name: str
    municipality: str
    lat: float
    lon: float
    districts: tuple[tuple[str, str], ...]  # (postal code, district name)


SITES = (
    _SiteInfo("ODE", "Frivilligcenter Odense", "Odense", 55.3959, 10.3883, (
        ("5000", "Odense C"), ("5200", "Odense V"), ("5210", "Odense NV"), ("5220", "Odense SØ"),
        ("5230", "Odense M"), ("5240", "Odense NØ"), ("5250", "Odense SV"), ("5260", "Odense S"),
        ("5270", "Odense N"))),
    _SiteInfo("AAR", "Frivilligcenter Aarhus", "Aarhus", 56.1629, 10.2039, (
        ("8000", "Aarhus C"), ("8200", "Aarhus N"), ("8210", "Aarhus V"), ("8220", "Brabrand"),
        ("8230", "Åbyhøj"), ("8240", "Risskov"), ("8260", "Viby J"), ("8270", "Højbjerg"))),
    _SiteInfo("AAL", "Frivilligcenter Aalborg", "Aalborg", 57.0488, 9.9217, (
        ("9000", "Aalborg"), ("9200", "Aalborg SV"), ("9210", "Aalborg SØ"), ("9220", "Aalborg Øst"),
        ("9400", "Nørresundby"))),
    _SiteInfo("ESB", "Frivilligcenter Esbjerg", "Esbjerg", 55.4765, 8.4594, (
        ("6700", "Esbjerg"), ("6705", "Esbjerg Ø"), ("6710", "Esbjerg V"), ("6715", "Esbjerg N"))),
    _SiteInfo("KGE", "Frivilligcenter Køge", "Køge", 55.4580, 12.1821, (
        ("4600", "Køge"), ("4623", "Lille Skensved"), ("4681", "Herfølge"))),
)

# interest label -> the community kinds it points to
INTERESTS: dict[str, tuple[str, ...]] = {
    "gåture": ("nature", "sport"), "natur": ("nature",), "havearbejde": ("nature",),
    "fiskeri": ("nature",), "madlavning": ("dining",), "fællesspisning": ("dining",),
    "strik": ("creative",), "maling": ("creative",), "musik": ("creative",), "sang": ("creative",),
    "brætspil": ("meeting_place",), "kaffe og snak": ("meeting_place", "conversation_group"),
    "læsning": ("conversation_group",), "sprog": ("conversation_group",), "fodbold": ("sport",),
    "motion": ("sport",), "svømning": ("sport",), "dans": ("sport", "creative"),
    "IT": ("intergenerational",), "børn og unge": ("intergenerational", "mentoring"),
    "samtaler om livet": ("self_help", "mentoring"), "genbrug": ("other",),
}
INTEREST_NAMES = tuple(INTERESTS)

COMMUNITY_KINDS: dict[str, tuple[str, ...]] = {
    "meeting_place": ("Mødestedet", "Åbent hus", "Værestedet", "Caféfællesskabet"),
    "mentoring": ("Mentorordningen", "Makkerordningen", "Følgevenner"),
    "dining": ("Fællesspisning", "Spisevenner", "Madklubben", "Søndagsmiddag"),
    "conversation_group": ("Samtalegruppen", "Snakkecaféen", "Læsekredsen", "Sprogcaféen"),
    "sport": ("Gåklubben", "Motion for alle", "Walking football", "Svømmeholdet", "Petanque"),
    "creative": ("Strikkecaféen", "Kreativt værksted", "Fællessang", "Malerholdet", "Korfællesskabet"),
    "intergenerational": ("Generationsmødet", "Bedsteforældrekaffe", "IT-hjælp på tværs af generationer"),
    "self_help": ("Pårørendegruppen", "Sorggruppen", "Angstnetværket", "Samtaler om livet"),
    "nature": ("Naturvandring", "Fællesskabshaven", "Fuglekiggerne", "Fiskeklubben"),
    "other": ("Byttecentralen", "Reparationscaféen"),
}
KIND_WEIGHTS = {"meeting_place": 14, "mentoring": 5, "dining": 12, "conversation_group": 11, "sport": 14,
                "creative": 14, "intergenerational": 6, "self_help": 8, "nature": 10, "other": 4}
ORGANISERS = ("Frivilligcentret", "Beboerforeningen", "Menighedsrådet", "Idrætsforeningen", "Biblioteket",
              "Aktivitetscentret", "Foreningen Fællesskab", "Seniorklubben", "Ungdomsskolen", "Haveforeningen")
TARGET_GROUPS = ("loneliness", "depression", "anxiety", "adhd", "autism", "cognitive", "grief", "other")
COSTS = ("Gratis", "Gratis", "Gratis", "20 kr. pr. gang", "Kaffe 10 kr.", "Kontingent 150 kr. pr. halvår")
ACCESS = ("Kørestolsvenlig", "Niveaufri adgang", "Trappe til 1. sal", "Handicaptoilet", "")
START_TIMES = ("09:30", "10:00", "10:30", "13:00", "14:00", "16:30", "17:00", "18:00", "19:00")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LANGUAGES = (("en", 0.15), ("ar", 0.04), ("tr", 0.03), ("de", 0.03), ("pl", 0.02), ("uk", 0.03), ("so", 0.02))

REFERRAL_SOURCES = ("self", "municipality", "jobcentre", "doctor", "psychiatry", "relative", "organisation", "other")
REFERRAL_WEIGHTS = (20, 22, 10, 18, 10, 8, 9, 3)
RECRUITMENT = ("volunteer_centre", "word_of_mouth", "social_media", "event", "partner", "former_participant", "other")
RECRUITMENT_WEIGHTS = (30, 22, 18, 10, 10, 6, 4)
# final status of a brobygger: paused and left ones were active for a while first
VOLUNTEER_STATUSES = ("active", "paused", "left", "trained", "screened", "interested")
VOLUNTEER_STATUS_WEIGHTS = (68, 6, 10, 6, 4, 6)

INTERVENTIONS = (
    ("Værtsvenner", "En fast vært i fællesskabet tager imod borgeren de første fire gange.", date(2024, 8, 1)),
    ("Gå-sammen-grupper", "Små grupper går sammen fra frivilligcentret til fællesskabet.", date(2025, 1, 6)),
)

NOTES = (
    "Borgeren ønsker helst aktiviteter om eftermiddagen.",
    "Borgeren vil gerne mødes på biblioteket første gang.",
    "Aftalt at brobyggeren ringer igen i næste uge.",
    "Borgeren har svært ved trapper.",
    "Borgeren foretrækker at blive kontaktet på sms.",
)
PAUSE_TEXTS = ("Borgeren er indlagt i en periode.", "Borgeren ønsker en pause.", "Sygdom i familien.")
CANCEL_TEXTS = ("Borgeren var syg.", "Fællesskabet aflyste.", "Brobyggeren blev forhindret.",
                "Borgeren var ikke klar endnu.")

# action codes of a case's plan
(OPEN, CONTACT, NOTE, ASSIGN, CONVERSATION, LABEL, PAUSE, RESUME, PLAN, CANCEL, ESCORT,
 FOLLOW, MEASURE, CLOSE) = range(14)
# brobygger actions
ACTIVATE, DEACTIVATE = range(2)


# --- small helpers -------------------------------------------------------------------------------


def _weekday(ordinal: int) -> int:
    """Monday 0 .. Sunday 6 of a proleptic Gregorian ordinal (date(1, 1, 1) was a Monday)."""
    return (ordinal - 1) % 7


def _workday(ordinal: int) -> int:
    """The same day, or the Monday after a weekend."""
    wd = _weekday(ordinal)
    return ordinal + (7 - wd if wd >= 5 else 0)


def _ascii(text: str) -> str:
    table = {"æ": "ae", "ø": "oe", "å": "aa", "Æ": "Ae", "Ø": "Oe", "Å": "Aa"}
    return "".join(table.get(ch, ch) for ch in text)


def _phone(rng: random.Random) -> str:
    """A synthetic Danish mobile number written "+45 2x xx xx xx" (never CPR-shaped: it is +45 and 8 digits)."""
    digits = f"{rng.choice('2345')}{rng.randrange(10_000_000):07d}"
    return "+45 " + " ".join(digits[i:i + 2] for i in range(0, 8, 2))


def _name(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)


def _email(rng: random.Random, first: str, last: str) -> str:
    return f"{_ascii(first).lower()}.{_ascii(last).lower()}{rng.randint(1, 99)}@demo.invalid"


def _clamp(value: float, low: int, high: int) -> int:
    return max(low, min(high, round(value)))


class _Pool:
    """A list with O(1) add, remove and random sampling (deterministic order)."""

    def __init__(self) -> None:
        self.items: list[int] = []
        self._pos: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, item: int) -> bool:
        return item in self._pos

    def add(self, item: int) -> None:
        if item not in self._pos:
            self._pos[item] = len(self.items)
            self.items.append(item)

    def remove(self, item: int) -> None:
        pos = self._pos.pop(item, None)
        if pos is None:
            return
        last = self.items.pop()
        if pos < len(self.items):
            self.items[pos] = last
            self._pos[last] = pos


@dataclass
class _Community:
    id: str
    kind: str
    age_min: int | None
    age_max: int | None
    targets: frozenset[str]
    weekdays: tuple[int, ...]  # 0 = Monday


@dataclass
class _Volunteer:
    id: str
    site: int
    capacity: int
    interests: frozenset[str]
    languages: frozenset[str]
    load: int = 0
    active: bool = False


#: Each target metric as a share of the year's planned referrals.
TARGET_SHARES = {"referrals": 1.0, "conversations": 0.75, "escorts": 0.55, "lasting": 0.25}

# --- the generator -------------------------------------------------------------------------------


def generate(wb: Workbench, cases: int, seed: int = 2026, *, bulk: bool = True) -> DemoSummary:
    """Add ``cases`` synthetic cases (with their sites, brobyggere, communities and citizens) to ``wb``.

    Deterministic: the same seed on an empty store gives the same data. Called again on a
    store that already has cases, it adds more (the seed is then mixed with the count of
    existing cases, so the new citizens are not copies of the first ones).
    ``bulk``: write everything at once as a new snapshot generation (``Workbench.bulk``); False
    writes call by call through the journal (``Workbench.batch``), the path the bulk load is
    tested against.
    """
    if cases < 0:
        raise ValueError("cases must be zero or more")
    with wb.bulk() if bulk else wb.batch():
        return _Generator(wb, cases, seed).run()


class _Generator:
    def __init__(self, wb: Workbench, cases: int, seed: int) -> None:
        self.wb = wb
        self.n_cases = cases
        existing = wb.frames.cases.height
        self.rng = random.Random(seed if existing == 0 else seed * 1_000_003 + existing)
        self.today = wb._today()
        self.today_ord = self.today.toordinal()
        start = TIMELINE_START
        if (self.today - start).days < 180:
            start = self.today - timedelta(days=365)
        self.start_ord = start.toordinal()
        self.events = 0
        self.volunteers: list[_Volunteer] = []
        self.free: list[_Pool] = [_Pool() for _ in SITES]
        self.active: list[_Pool] = [_Pool() for _ in SITES]
        self.holding: list[dict[int, None]] = []  # per volunteer: the case indices held
        self.communities: list[list[_Community]] = [[] for _ in SITES]
        self.added_volunteers = 0
        self.added_communities = 0
        self.interventions: list[tuple[str, int]] = []  # (id, started_on ordinal)

    # -- run -----------------------------------------------------------------------------------

    def run(self) -> DemoSummary:
        rng = self.rng
        site_cases = [0] * len(SITES)
        for _ in range(self.n_cases):
            site_cases[rng.choices(range(len(SITES)), weights=(22, 30, 20, 13, 15))[0]] += 1
        vol_actions: list[tuple[Any, ...]] = []
        known = {site["id"] for site in self.wb.sites()}
        for info in SITES:
            if info.code not in known:
                self.wb.add_site(info.code, info.name, info.municipality)
        self._existing_volunteers()
        self._existing_communities()
        for s in range(len(SITES)):
            self._add_volunteers(s, site_cases[s], vol_actions)
            self._add_communities(s, site_cases[s])
        self._add_interventions()

        referrals = sorted((self._referral_date(), s) for s in range(len(SITES)) for _ in range(site_cases[s]))
        actions: list[tuple[Any, ...]] = vol_actions
        self.case_ids: list[str] = [""] * len(referrals)
        self.case_site: list[int] = []
        self.case_interests: list[frozenset[str]] = []
        self.case_languages: list[frozenset[str]] = []
        self.case_volunteer: list[int] = [-1] * len(referrals)
        self.case_paused: list[bool] = [False] * len(referrals)
        self.case_orphaned: list[bool] = [False] * len(referrals)
        today = self.today_ord
        for idx, (referred, s) in enumerate(referrals):
            for step, (on, code, payload) in enumerate(self._plan(idx, s, referred)):
                if on > today:
                    break
                actions.append((on, 1, idx, step, code, payload))
        actions.sort(key=lambda a: a[:4])
        self._record(actions)
        self._add_targets(referrals)
        return DemoSummary(cases=len(referrals), events=self.events, volunteers=self.added_volunteers,
                           communities=self.added_communities, citizens=len(referrals))

    def _referral_date(self) -> int:
        """A referral day: more as the project grows, fewer in July, on weekdays."""
        rng = self.rng
        span = self.today_ord - self.start_ord
        for _attempt in range(3):
            u = rng.random()
            x = (-1 + math.sqrt(1 + 8 * u)) / 2  # density grows from 0.5 to 1.5 over the period
            ordinal = self.start_ord + min(span, int(x * (span + 1)))
            if date.fromordinal(ordinal).month != 7 or rng.random() > 0.45:
                break
        ordinal = _workday(ordinal)
        while ordinal > self.today_ord:
            ordinal -= 1
        return ordinal

    def _add_targets(self, referrals: list[tuple[int, int]]) -> None:
        """Yearly targets per site and metric, as a project would have planned them: a tenth above
        the referrals the year brought (or is on course to bring), and the later steps at the share
        of referrals a bridge-building project expects to reach them. A target already set stays."""
        per_year: dict[tuple[int, int], int] = {}
        set_already = set(self.wb.targets().get_column("id"))
        for ordinal, s in referrals:
            key = (s, date.fromordinal(ordinal).year)
            per_year[key] = per_year.get(key, 0) + 1
        for (s, year), count in sorted(per_year.items()):
            days = (date(year + 1, 1, 1) - date(year, 1, 1)).days
            elapsed = min(days, self.today_ord - max(date(year, 1, 1).toordinal(), self.start_ord) + 1)
            planned = count * days / max(elapsed, 30) * 1.1
            for metric, share in TARGET_SHARES.items():
                if m.target_id(SITES[s].code, year, metric) not in set_already:
                    self.wb.set_target(SITES[s].code, year, metric, max(5, 5 * round(planned * share / 5)))

    # -- sites' people and catalog ----------------------------------------------------------------

    def _existing_volunteers(self) -> None:
        """Active brobyggere already in the store are available from the start, with their load."""
        frame = self.wb.frames.volunteers
        codes = {info.code: s for s, info in enumerate(SITES)}
        for row in frame.iter_rows(named=True):
            if row["status"] != "active" or row["site"] not in codes:
                continue
            v = len(self.volunteers)
            vol = _Volunteer(row["volunteer_id"], codes[row["site"]], int(row["capacity"]),
                             frozenset(row["interests"] or ()), frozenset(row["languages"] or ()),
                             load=int(row["load"]))
            self.volunteers.append(vol)
            self.holding.append({})
            self._activate(v)

    def _existing_communities(self) -> None:
        frame = self.wb.frames.communities
        codes = {info.code: s for s, info in enumerate(SITES)}
        for row in frame.iter_rows(named=True):
            if row["status"] != "active" or row["site"] not in codes:
                continue
            days = tuple(sorted({WEEKDAYS.index(day) for day in row["weekdays"] or ()}))
            self.communities[codes[row["site"]]].append(_Community(
                row["community_id"], row["kind"], row["age_min"], row["age_max"],
                frozenset(row["target_groups"] or ()), days or (0, 1, 2, 3, 4)))

    def _add_volunteers(self, s: int, n_cases: int, actions: list[tuple[Any, ...]]) -> None:
        if n_cases == 0:
            return
        rng, info = self.rng, SITES[s]
        count = max(3, round(n_cases / rng.uniform(8, 12)))
        span = self.today_ord - self.start_ord
        for k in range(count):
            status = "active" if k < 2 else rng.choices(VOLUNTEER_STATUSES, VOLUNTEER_STATUS_WEIGHTS)[0]
            available: int | None
            record_check: int | None
            trained: int | None
            if status in ("active", "paused", "left"):
                if k < 2 or rng.random() < 0.3:
                    available = self.start_ord
                else:  # joins as the project grows, a little ahead of the referrals
                    x = (-1 + math.sqrt(1 + 8 * rng.random())) / 2
                    available = max(self.start_ord, self.start_ord + int(x * span) - 30)
                registered = available - rng.randint(20, 70)
                record_check = registered + rng.randint(3, 14)
                trained = min(available, record_check + rng.randint(3, 10))
                leaves = None
                if status != "active":
                    leaves = available + rng.randint(60, 420)
                    if leaves >= self.today_ord - 1:
                        status, leaves = "active", None
            else:  # still in onboarding: registered lately
                registered = self.today_ord - rng.randint(3, 90)
                record_check = registered + rng.randint(3, 14) if status != "interested" else None
                trained = registered + rng.randint(14, 30) if status == "trained" else None
                if record_check and record_check > self.today_ord:
                    record_check = self.today_ord
                if trained and trained > self.today_ord:
                    trained = self.today_ord
                available = leaves = None
            first, last = _name(rng)
            district = rng.choice(info.districts)
            interests = rng.sample(INTEREST_NAMES, rng.randint(2, 4))
            languages = ["da"] + [code for code, p in LANGUAGES if rng.random() < p]
            slots = sorted({(rng.randrange(7 if rng.random() < 0.2 else 5), rng.randrange(3))
                            for _ in range(rng.randint(1, 3))})
            fields: dict[str, Any] = {
                "site_id": info.code, "name": f"{first} {last}",
                "postal_code": district[0], "languages": languages, "interests": interests,
                "availability": [{"weekday": WEEKDAYS[d], "part": ("morning", "afternoon", "evening")[p]}
                                 for d, p in slots],
                "capacity": rng.choices((2, 3, 4, 5), (30, 40, 20, 10))[0],
                # registered first in onboarding; the final status is set below
                "status": "active" if status in ("paused", "left") else status,
                "recruited_via": rng.choices(RECRUITMENT, RECRUITMENT_WEIGHTS)[0],
                "registered_on": date.fromordinal(min(registered, self.today_ord)),
            }
            if rng.random() < 0.9:
                fields["phone"] = _phone(rng)
            if rng.random() < 0.7:
                fields["email"] = _email(rng, first, last)
            if record_check:
                fields["record_check_on"] = date.fromordinal(min(record_check, self.today_ord))
            if trained:
                fields["trained_on"] = date.fromordinal(min(trained, self.today_ord))
            doc = self.wb.register_volunteer(**fields)
            self.added_volunteers += 1
            if available is None:
                continue
            v = len(self.volunteers)
            self.volunteers.append(_Volunteer(doc["id"], s, doc["capacity"], frozenset(interests),
                                              frozenset(languages)))
            self.holding.append({})
            if available <= self.start_ord:
                self._activate(v)
            else:
                actions.append((available, 0, v, ACTIVATE, ACTIVATE, None))
            if leaves is not None:
                actions.append((leaves, 0, v, DEACTIVATE, DEACTIVATE, status))

    def _add_communities(self, s: int, n_cases: int) -> None:
        if n_cases == 0:
            return
        rng, info = self.rng, SITES[s]
        wanted = max(12, math.ceil(6 * n_cases / 100))
        names: dict[str, int] = {}
        kinds, weights = list(KIND_WEIGHTS), list(KIND_WEIGHTS.values())
        verified_by = self.wb.actor
        for k in range(wanted):
            kind = rng.choices(kinds, weights)[0]
            postal, district = rng.choice(info.districts)
            name = f"{rng.choice(COMMUNITY_KINDS[kind])} {district}"
            names[name] = names.get(name, 0) + 1
            if names[name] > 1:
                name = f"{name} (hold {names[name]})"
            r = rng.random()
            age_min: int | None
            age_max: int | None
            if kind == "intergenerational" or r < 0.55:
                age_min, age_max = (None, None) if r < 0.3 else (18, None)
            elif r < 0.7:
                age_min, age_max = 15, 30
            elif r < 0.85:
                age_min, age_max = 60, None
            else:
                age_min, age_max = 25, 70
            days = sorted(rng.sample(range(7 if kind in ("sport", "nature", "dining") else 5), rng.randint(1, 2)))
            schedule = []
            for d in days:
                start = rng.choice(START_TIMES)
                minutes = int(start[:2]) * 60 + int(start[3:]) + rng.choice((90, 120, 150, 180))
                minutes = min(minutes, 22 * 60)
                schedule.append({"weekday": WEEKDAYS[d], "start": start,
                                 "end": f"{minutes // 60:02d}:{minutes % 60:02d}"})
            targets = rng.sample(TARGET_GROUPS, rng.choices((0, 1, 2, 3), (30, 35, 25, 10))[0])
            if kind == "self_help" and not targets:
                targets = ["anxiety"]
            status = "active" if k < 8 else rng.choices(
                ("active", "temporarily_closed", "inactive"), (86, 8, 6))[0]
            organiser = f"{rng.choice(ORGANISERS)} {info.municipality}"
            fields: dict[str, Any] = {
                "site_id": info.code, "name": name, "organiser": organiser, "kind": kind,
                "description": f"{COMMUNITY_KINDS[kind][0]} for alle, der har lyst til at være med. "
                               f"Mødes i {district}.",
                "postal_code": postal,
                "latitude": round(info.lat + rng.uniform(-0.04, 0.04), 5),
                "longitude": round(info.lon + rng.uniform(-0.06, 0.06), 5),
                "schedule": schedule, "target_groups": targets,
                "accessibility": rng.choice(ACCESS), "cost": rng.choice(COSTS),
                "contact": f"Kontakt {organiser} via frivilligcentret",
                "source": "Demodata (syntetisk)", "status": status,
                "last_verified_on": date.fromordinal(self.start_ord - rng.randint(10, 200)),
                "last_verified_by": verified_by,
            }
            if age_min is not None:
                fields["age_min"] = age_min
            if age_max is not None:
                fields["age_max"] = age_max
            doc = self.wb.add_community(**fields)
            self.added_communities += 1
            if status == "active":
                self.communities[s].append(_Community(doc["id"], kind, age_min, age_max,
                                                      frozenset(targets), tuple(days)))

    def _add_interventions(self) -> None:
        existing = {row["name"]: row for row in self.wb.interventions().iter_rows(named=True)}
        for name, description, started in INTERVENTIONS:
            started = min(started, self.today)
            row = existing.get(name)
            if row is None:
                row = self.wb.add_intervention(name, description, started_on=started)
            self.interventions.append((row["id"], date.fromisoformat(str(row["started_on"])).toordinal()))

    # -- a case's planned timeline ----------------------------------------------------------------

    def _plan(self, idx: int, s: int, referred: int) -> list[tuple[int, int, Any]]:
        """Every step of one case, dated (non-decreasing), from referral to close."""
        rng, info = self.rng, SITES[s]
        plan: list[tuple[int, int, Any]] = []

        def add(on: int, code: int, payload: Any = None) -> None:
            plan.append((on, code, payload))

        def close(on: int, reasons: Sequence[str], weights: Sequence[int], text: str | None = None) -> None:
            add(on, CLOSE, (rng.choices(reasons, weights)[0], text))

        # the citizen
        first, last = _name(rng)
        year = date.fromordinal(referred).year
        group = rng.choices(("youth", "adult", "elderly"), (25, 45, 30))[0]
        age = {"youth": rng.randint(18, 29), "adult": rng.randint(30, 64), "elderly": rng.randint(65, 92)}[group]
        postal, district = rng.choice(info.districts)
        interests = rng.sample(INTEREST_NAMES, rng.randint(1, 3))
        languages = ["da"] + [code for code, p in LANGUAGES if rng.random() < p]
        if rng.random() < 0.03:  # a few do not speak Danish (yet)
            languages = languages[1:] or ["en"]
        needs = ["loneliness"] if rng.random() < 0.75 else []
        needs += rng.sample(TARGET_GROUPS[1:], rng.choices((0, 1, 2), (45, 40, 15))[0])
        follow_up_ok = rng.random() < 0.9
        research_ok = rng.random() < 0.6
        citizen = {"display_name": f"{first} {last}", "birth_year": year - age, "postal_code": postal,
                   "languages": languages, "interests": interests, "needs": needs,
                   "referral_source": rng.choices(REFERRAL_SOURCES, REFERRAL_WEIGHTS)[0]}
        consents = [{"purpose": "case_work", "given": True},
                    {"purpose": "follow_up_contact", "given": follow_up_ok},
                    {"purpose": "research", "given": research_ok}]
        contact: dict[str, str] = {}
        if rng.random() < 0.45:
            contact["phone"] = _phone(rng)
        if rng.random() < 0.2:
            contact["email"] = _email(rng, first, last)
        if rng.random() < 0.15:
            contact["address"] = f"{rng.choice(STREETS)} {rng.randint(1, 140)}, {postal} {district}"
        eligible = [iid for iid, started in self.interventions if started <= referred]
        labels: list[str] = []
        label_later: list[str] = []
        if eligible and rng.random() < 0.21:
            (labels if rng.random() < 0.67 else label_later).append(rng.choice(eligible))
        self.case_site.append(s)
        self.case_interests.append(frozenset(interests))
        self.case_languages.append(frozenset(languages))
        add(referred, OPEN, (s, citizen, consents, contact or None, labels))

        # Kendskab: contact, intake measures, a brobygger, the conversation
        if rng.random() >= 0.95:
            close(referred + rng.randint(21, 45), ("no_contact",), (1,))
            return plan
        contacted = _workday(referred + rng.randint(2, 10))
        add(contacted, CONTACT)
        latent = None
        if rng.random() < 0.63:  # baseline questionnaires at intake
            mode = "read_aloud" if rng.random() < 0.2 else "self_completed"
            latent = (min(3.0, max(1.0, rng.gauss(2.25, 0.4))), min(5.0, max(1.0, rng.gauss(2.8, 0.55))), mode)
            self._measures(add, contacted, latent, "baseline", mode)
        if rng.random() < 0.08:
            add(contacted, NOTE, rng.choice(NOTES))
        if rng.random() >= 0.90 / 0.95:
            close(contacted + rng.randint(3, 21), ("declined", "referred_elsewhere", "moved", "other"), (4, 3, 1, 1))
            return plan
        assigned = contacted + rng.choices((0, 1, 2, 3, 5, 7), (30, 20, 15, 15, 10, 10))[0]
        add(assigned, ASSIGN)
        day: int | None
        day = assigned
        if rng.random() < 0.05:
            day = self._pause(add, close, day)
            if day is None:
                return plan
        if rng.random() >= 0.75 / 0.90:
            close(day + rng.randint(10, 45), ("declined", "no_contact", "moved", "referred_elsewhere", "other"),
                  (4, 3, 1, 2, 1))
            return plan
        talk = _workday(max(day, contacted + rng.randint(5, 25)))
        community = self._match(s, age, needs, interests)
        add(talk, CONVERSATION, community.id)
        if label_later:
            add(talk, LABEL, label_later)
        day = talk
        if rng.random() < 0.06:
            day = self._pause(add, close, day)
            if day is None:
                return plan

        # Følgeskab: plan the escort (on a day the community meets), maybe cancel and re-plan
        if rng.random() >= 0.65 / 0.75:
            close(day + rng.randint(7, 35), ("declined", "referred_elsewhere", "other"), (5, 2, 1))
            return plan
        planned_on = day + rng.randint(0, 4)
        planned_for = self._meeting_day(community, planned_on + rng.randint(7, 30))
        add(planned_on, PLAN, planned_for)
        r = rng.random()
        if r < 0.20:  # cancelled: about half re-planned, the rest give up
            cancelled = rng.randint(planned_on, planned_for)
            add(cancelled, CANCEL, rng.choice(CANCEL_TEXTS))
            if r < 0.108:
                close(cancelled + rng.randint(5, 30), ("declined", "no_contact", "other"), (5, 3, 1))
                return plan
            planned_on = cancelled + rng.randint(0, 5)
            planned_for = self._meeting_day(community, planned_on + rng.randint(5, 21))
            add(planned_on, PLAN, planned_for)
        attended = rng.random() < 0.82
        escorted = planned_for
        add(escorted, ESCORT, self._escort_outcome(attended))
        if not attended:
            if rng.random() >= 0.35:
                close(escorted + rng.randint(7, 30), ("declined", "no_contact"), (3, 2))
                return plan
            planned_on = escorted + rng.randint(1, 7)
            planned_for = self._meeting_day(community, planned_on + rng.randint(7, 21))
            add(planned_on, PLAN, planned_for)
            escorted = planned_for
            attended = rng.random() < 0.6
            add(escorted, ESCORT, self._escort_outcome(attended))
            if not attended:
                close(escorted + rng.randint(7, 30), ("declined", "no_contact", "other"), (3, 2, 1))
                return plan

        # Værtsskab and Fællesskab: follow-ups at 4 and 12 weeks
        if not follow_up_ok:
            close(escorted + rng.randint(14, 42), ("joined_community",), (1,),
                  "Afsluttet efter følgeskab; ingen samtykke til opfølgning.")
            return plan
        week4 = escorted + 28 + rng.randint(0, 3)
        still4 = rng.random() < 0.70
        add(week4, FOLLOW, (4, still4))
        if not still4:
            close(week4 + rng.randint(0, 14), ("declined", "other", "moved", "referred_elsewhere"), (5, 3, 1, 1))
            return plan
        week12 = escorted + 84 + rng.randint(0, 5)
        still12 = rng.random() < 0.55 / 0.70
        add(week12, FOLLOW, (12, still12))
        if still12 and latent is not None and rng.random() < 0.88:
            mode = latent[2] if rng.random() < 0.85 else ("self_completed" if latent[2] == "read_aloud"
                                                           else "read_aloud")
            loneliness = latent[0] - rng.gauss(0.25, 0.3)
            wellbeing = latent[1] + rng.gauss(0.3, 0.35)
            self._measures(add, week12, (min(3.0, max(1.0, loneliness)), min(5.0, max(1.0, wellbeing)), mode),
                           "follow_up", mode)
        if still12:
            close(week12 + rng.randint(0, 14), ("joined_community",), (1,))
        else:
            close(week12 + rng.randint(0, 14), ("declined", "other", "moved"), (4, 3, 1))
        return plan

    def _pause(self, add: Any, close: Any, day: int) -> int | None:
        """A pause of some weeks; a few never come back. Returns the day the case resumes."""
        rng = self.rng
        paused = day + rng.randint(1, 10)
        add(paused, PAUSE, rng.choice(PAUSE_TEXTS))
        if rng.random() < 0.25:
            close(paused + rng.randint(45, 120), ("no_contact", "declined", "moved"), (3, 2, 1))
            return None
        resumed = paused + rng.randint(14, 75)
        add(resumed, RESUME)
        return resumed

    def _measures(self, add: Any, on: int, latent: tuple[float, float, str], timepoint: str, mode: str) -> None:
        rng = self.rng
        loneliness, wellbeing, _ = latent
        lift = 0.2 if mode == "read_aloud" else 0.0  # read-aloud is known to raise wellbeing scores
        ucla = [_clamp(rng.gauss(loneliness, 0.45), 1, 3) for _ in range(3)]
        swemwbs = [_clamp(rng.gauss(wellbeing + lift, 0.6), 1, 5) for _ in range(7)]
        add(on, MEASURE, ("ucla3", ucla, timepoint, mode))
        add(on, MEASURE, ("swemwbs", swemwbs, timepoint, mode))

    def _escort_outcome(self, attended: bool) -> tuple[bool, bool | None, bool | None]:
        if not attended:
            return False, None, None
        return True, self.rng.random() < 0.9, self.rng.random() < 0.88

    def _match(self, s: int, age: int, needs: list[str], interests: list[str]) -> _Community:
        """The community chosen at the conversation: the best of a few active ones at the site."""
        rng = self.rng
        pool = self.communities[s]
        candidates = rng.sample(pool, min(6, len(pool)))
        kinds = {kind for interest in interests for kind in INTERESTS[interest]}

        def fit(c: _Community) -> int:
            score = 0
            if (c.age_min is None or age >= c.age_min) and (c.age_max is None or age <= c.age_max):
                score += 4
            score += 2 * (c.kind in kinds) + len(c.targets.intersection(needs))
            return score

        return max(candidates, key=fit)

    @staticmethod
    def _meeting_day(community: _Community, ordinal: int) -> int:
        """The first day on or after ``ordinal`` the community meets."""
        for offset in range(7):
            if _weekday(ordinal + offset) in community.weekdays:
                return ordinal + offset
        return ordinal

    # -- recording, in global chronological order -------------------------------------------------

    def _activate(self, v: int) -> None:
        vol = self.volunteers[v]
        vol.active = True
        self.active[vol.site].add(v)
        if vol.load < vol.capacity:
            self.free[vol.site].add(v)

    def _pick(self, idx: int) -> tuple[int, bool]:
        """A brobygger for the case: one with room, sharing interests if possible; else the least loaded."""
        s = self.case_site[idx]
        free = self.free[s]
        if len(free):
            interests, languages = self.case_interests[idx], self.case_languages[idx]
            vols = self.volunteers
            candidates = self.rng.sample(free.items, min(6, len(free)))

            def fit(v: int) -> tuple[int, float]:
                vol = vols[v]
                common = len(vol.interests & interests) - (0 if languages & vol.languages else 2)
                return common, -vol.load / vol.capacity

            return max(candidates, key=fit), False
        vols = self.volunteers
        return min(self.active[s].items, key=lambda v: (vols[v].load, v)), True

    def _assign(self, idx: int, on: date) -> None:
        v, override = self._pick(idx)
        self.wb.assign(self.case_ids[idx], self.volunteers[v].id, on=on,
                       override_reason=OVERRIDE_REASON if override else None)
        self.events += 1
        self._release(idx)
        vol = self.volunteers[v]
        vol.load += 1
        self.case_volunteer[idx] = v
        self.holding[v][idx] = None
        if vol.load >= vol.capacity:
            self.free[vol.site].remove(v)

    def _release(self, idx: int) -> None:
        v = self.case_volunteer[idx]
        if v < 0:
            return
        vol = self.volunteers[v]
        vol.load -= 1
        self.holding[v].pop(idx, None)
        self.case_volunteer[idx] = -1
        if vol.active and vol.load < vol.capacity:
            self.free[vol.site].add(v)

    def _deactivate(self, v: int, status: str, on: date) -> None:
        """A brobygger pauses or leaves: their open cases go to colleagues (paused cases when they resume)."""
        vol = self.volunteers[v]
        self.wb.update_volunteer(vol.id, status=status)
        vol.active = False
        self.active[vol.site].remove(v)
        self.free[vol.site].remove(v)
        for idx in list(self.holding[v]):
            if self.case_paused[idx]:
                self.case_orphaned[idx] = True
            else:
                self._assign(idx, on)

    def _record(self, actions: list[tuple[Any, ...]]) -> None:
        wb = self.wb
        dates: dict[int, date] = {}
        for ordinal, group, idx, _step, code, payload in actions:
            on = dates.get(ordinal)
            if on is None:
                on = dates[ordinal] = date.fromordinal(ordinal)
            if group == 0:
                if code == ACTIVATE:
                    self._activate(idx)
                else:
                    self._deactivate(idx, payload, on)
                continue
            case_id = self.case_ids[idx]
            if code == OPEN:
                s, citizen, consents, contact, labels = payload
                case = wb.open_referral(site_id=SITES[s].code, citizen=citizen, consents=consents,
                                        contact=contact, on=on, intervention_ids=labels)
                self.case_ids[idx] = case["id"]
            elif code == CONTACT:
                wb.record_event(case_id, "contact_made", on=on)
            elif code == NOTE:
                wb.record_event(case_id, "note", text=payload, on=on)
            elif code == ASSIGN:
                self._assign(idx, on)
                continue  # counted in _assign
            elif code == CONVERSATION:
                wb.record_event(case_id, "conversation_held", community_id=payload, on=on)
            elif code == LABEL:
                wb.set_interventions(case_id, payload)
                continue  # not an event
            elif code == PAUSE:
                wb.record_event(case_id, "case_paused", text=payload, on=on)
                self.case_paused[idx] = True
            elif code == RESUME:
                wb.record_event(case_id, "case_resumed", on=on)
                self.events += 1
                self.case_paused[idx] = False
                if self.case_orphaned[idx]:
                    self.case_orphaned[idx] = False
                    self._assign(idx, on)
                continue
            elif code == PLAN:
                wb.record_event(case_id, "escort_planned", planned_for=date.fromordinal(payload), on=on)
            elif code == CANCEL:
                wb.record_event(case_id, "escort_cancelled", text=payload, on=on)
            elif code == ESCORT:
                attended, as_described, host_welcomed = payload
                wb.record_event(case_id, "escort_completed", attended=attended, as_described=as_described,
                                host_welcomed=host_welcomed, on=on)
            elif code == FOLLOW:
                week, still = payload
                wb.record_event(case_id, "follow_up", week=week, still_participating=still, on=on)
            elif code == MEASURE:
                instrument, answers, timepoint, mode = payload
                wb.record_measure(case_id, instrument=instrument, answers=answers, timepoint=timepoint,
                                  mode=mode, on=on)
            elif code == CLOSE:
                reason, text = payload
                wb.close_case(case_id, reason, text=text, on=on)
                self.case_orphaned[idx] = False
                self._release(idx)
            self.events += 1


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m workbench.demo --data DIR --cases N [--seed S]``: fill a data directory with demo data."""
    import argparse
    import time

    import workbench

    parser = argparse.ArgumentParser(description="Fill a workbench data directory with synthetic demo data.")
    parser.add_argument("--data", required=True, help="data directory (created if missing)")
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--user", default=LOADER, help="who loads the data (default: the demo's loader)")
    args = parser.parse_args(argv)
    workbench.init(args.data)
    ensure_demo_users(Path(args.data))
    wb = workbench.open(args.data, user=args.user)
    began = time.perf_counter()
    summary = generate(wb, args.cases, seed=args.seed)
    print(f"{summary} in {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()


LOADER = "demo.indlaesning"
"""The demo user who loads the demo data: administrator (sites) and coordinator of all five sites."""


def demo_users() -> list[Any]:
    """The demo's named users: a coordinator at Odense and one at Aarhus, the project lead, an
    administrator, a lab participant, a researcher, and the loader of the demo data (administrator
    and coordinator of every site)."""
    from workbench.service.users import Role, make_user

    return [
        make_user(id=LOADER, name="Demo Dataindlæsning", roles=(Role.admin, Role.coordinator),
                  sites=tuple(info.code for info in SITES)),
        make_user(id="demo.koordinator", name="Demo Koordinator", role=Role.coordinator, sites=("ODE",)),
        make_user(id="demo.koordinator.aar", name="Demo Koordinator Aarhus", role=Role.coordinator, sites=("AAR",)),
        make_user(id="demo.projektleder", name="Demo Projektleder", role=Role.lead),
        make_user(id="demo.admin", name="Demo Administrator", role=Role.admin),
        make_user(id="demo.lab", name="Demo Laboratoriedeltager", role=Role.lab),
        make_user(id="demo.forsker", name="Demo Forsker", role=Role.researcher),
    ]


def loader() -> Any:
    """The demo's loader as a ``users.User`` (benchmarks act as it without a ``users.toml``)."""
    return demo_users()[0]


def ensure_demo_users(root: Path) -> list[Any]:
    """Write the demo users when the data directory has no ``users.toml`` yet; the users written."""
    from workbench.service import users

    if users.path(root).exists():
        return []
    made = demo_users()
    users.save(root, {u.id: u for u in made})
    return made
