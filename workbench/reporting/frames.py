"""The read path: typed polars tables with fixed schemas, the same for every screen and notebook.

Each frame's schema is a constant below (and in the README); ``tests/test_frames.py``
holds the frames to them. Fixed categories are ``pl.Enum``. A case's status and
milestones are derived here from its events, vectorised over all cases at once, by
the same rules as ``workbench.domain.workflow.replay``. Frames are cached until the store
changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

import polars as pl

from workbench.domain import model as m
from workbench.domain.workflow import EventKind, Status
from workbench.store import Store

AGE_GROUPS = ("youth", "adult", "elderly", "unknown")
"""youth: under 30, adult: 30–64, elderly: 65 and over, at the year of referral."""


def schema(columns: Mapping[str, pl.DataType | type[pl.DataType]]) -> pl.Schema:
    """``pl.Schema(columns)``; typed so that mypy accepts a dict mixing dtype classes and instances."""
    return pl.Schema(columns)


def _enum(values: Any) -> pl.Enum:
    return pl.Enum([v.value if hasattr(v, "value") else v for v in values])


KIND = _enum(EventKind)
STATUS = _enum(Status)
AGE_GROUP = _enum(AGE_GROUPS)
REFERRAL_SOURCE = _enum(m.ReferralSource)
CLOSE_REASON = _enum(m.CloseReason)
VOLUNTEER_STATUS = _enum(m.VolunteerStatus)
RECRUITMENT = _enum(m.Recruitment)
COMMUNITY_KIND = _enum(m.CommunityKind)
COMMUNITY_STATUS = _enum(m.CommunityStatus)
INSTRUMENT = _enum(m.Instrument)
TIMEPOINT = _enum(m.Timepoint)
MODE = _enum(m.AdministrationMode)

EVENTS_SCHEMA = schema({
    "event_id": pl.String, "seq": pl.Int64, "case_id": pl.String, "site": pl.String, "kind": KIND,
    "on": pl.Date, "recorded_at": pl.Datetime("us", "UTC"), "recorded_by": pl.String,
    "volunteer_id": pl.String, "community_id": pl.String, "override": pl.Boolean,
    "planned_for": pl.Date, "attended": pl.Boolean, "as_described": pl.Boolean,
    "host_welcomed": pl.Boolean, "week": pl.Int8, "still_participating": pl.Boolean,
    "close_reason": CLOSE_REASON, "measure_id": pl.String,
})

CASES_SCHEMA = schema({
    "case_id": pl.String, "case_number": pl.String, "site": pl.String, "citizen_id": pl.String,
    "volunteer_id": pl.String, "community_id": pl.String, "age_group": AGE_GROUP,
    "referral_source": REFERRAL_SOURCE, "status": STATUS, "referred_on": pl.Date,
    "contacted_on": pl.Date, "assigned_on": pl.Date, "conversation_on": pl.Date,
    "escort_planned_for": pl.Date, "escorted_on": pl.Date, "attended": pl.Boolean,
    "followup_4w_on": pl.Date, "still_4w": pl.Boolean, "followup_12w_on": pl.Date,
    "still_12w": pl.Boolean, "closed_on": pl.Date, "close_reason": CLOSE_REASON,
    "days_to_contact": pl.Int32, "days_to_conversation": pl.Int32, "days_to_escort": pl.Int32,
    "research_consent": pl.Boolean, "interventions": pl.List(pl.String),
})

VOLUNTEERS_SCHEMA = schema({
    "volunteer_id": pl.String, "site": pl.String, "name": pl.String, "status": VOLUNTEER_STATUS,
    "capacity": pl.Int32, "load": pl.Int32, "free": pl.Int32, "languages": pl.List(pl.String),
    "interests": pl.List(pl.String), "availability": pl.List(pl.String), "postal_code": pl.String,
    "record_check_on": pl.Date, "trained_on": pl.Date, "recruited_via": RECRUITMENT,
    "registered_on": pl.Date, "last_event_on": pl.Date,
})

COMMUNITIES_SCHEMA = schema({
    "community_id": pl.String, "site": pl.String, "name": pl.String, "organiser": pl.String,
    "kind": COMMUNITY_KIND, "status": COMMUNITY_STATUS, "postal_code": pl.String,
    "latitude": pl.Float64, "longitude": pl.Float64, "weekdays": pl.List(pl.String),
    "age_min": pl.Int32, "age_max": pl.Int32, "target_groups": pl.List(pl.String),
    "cost": pl.String, "accessibility": pl.String, "last_verified_on": pl.Date,
    "last_verified_by": pl.String,
})

MEASURES_SCHEMA = schema({
    "measure_id": pl.String, "case_id": pl.String, "site": pl.String, "instrument": INSTRUMENT,
    "timepoint": TIMEPOINT, "on": pl.Date, "raw_score": pl.Int16, "metric_score": pl.Float64,
    "score": pl.Float64, "mode": MODE, "administered_by": pl.String,
})

MEASURE_PAIRS_SCHEMA = schema({
    "case_id": pl.String, "site": pl.String, "instrument": INSTRUMENT,
    "baseline_on": pl.Date, "baseline": pl.Float64, "baseline_mode": MODE,
    "follow_up_on": pl.Date, "follow_up": pl.Float64, "follow_up_mode": MODE, "change": pl.Float64,
})

FUNNEL_SCHEMA = schema({
    "site": pl.String, "month": pl.Date, "referred": pl.UInt32, "conversation": pl.UInt32,
    "escorted": pl.UInt32, "attended": pl.UInt32, "lasting_12w": pl.UInt32,
})


def _dates(*names: str) -> list[pl.Expr]:
    return [pl.col(n).str.to_date("%Y-%m-%d", strict=False) for n in names]


def _first_on(kind: EventKind, extra: pl.Expr | None = None) -> pl.Expr:
    condition = pl.col("kind") == kind.value
    if extra is not None:
        condition = condition & extra
    return pl.col("on").filter(condition).min()


def _last(column: str, kind: EventKind, extra: pl.Expr | None = None) -> pl.Expr:
    condition = pl.col("kind") == kind.value
    if extra is not None:
        condition = condition & extra
    return pl.col(column).filter(condition).last()


def _flow_effect() -> pl.Expr:
    """The status each event moves the case to, ignoring pause and close (see workflow.apply)."""
    kind = pl.col("kind")
    conversations_so_far = (kind == EventKind.conversation_held.value).cast(pl.Int32).cum_sum().over(
        "case_id", order_by="seq")
    return (
        pl.when(kind == EventKind.referral_received.value).then(pl.lit(Status.referred.value))
        .when((kind == EventKind.volunteer_assigned.value) & (conversations_so_far == 0))
        .then(pl.lit(Status.assigned.value))
        .when(kind.is_in([EventKind.conversation_held.value, EventKind.escort_cancelled.value]))
        .then(pl.lit(Status.matched.value))
        .when(kind == EventKind.escort_planned.value).then(pl.lit(Status.escort_planned.value))
        .when(kind == EventKind.escort_completed.value)
        .then(pl.when(pl.col("attended")).then(pl.lit(Status.in_follow_up.value))
              .otherwise(pl.lit(Status.matched.value)))
        .otherwise(None)
    )


def _toggle(on: EventKind, off: EventKind) -> pl.Expr:
    """Whether the newest of two opposite events (pause/resume, close/reopen) is ``on``."""
    kind = pl.col("kind")
    value = pl.when(kind == on.value).then(True).when(kind == off.value).then(False).otherwise(None)
    return value.drop_nulls().last().fill_null(False)


def case_status(events: pl.DataFrame) -> pl.DataFrame:
    """Status per case (``case_id``, ``status``) derived from an events frame."""
    return (
        events.lazy().sort("seq")
        .with_columns(_flow_effect().alias("flow"))
        .group_by("case_id")
        .agg(pl.col("flow").drop_nulls().last(),
             _toggle(EventKind.case_paused, EventKind.case_resumed).alias("paused"),
             _toggle(EventKind.case_closed, EventKind.case_reopened).alias("closed"))
        .select("case_id", pl.when(pl.col("closed")).then(pl.lit(Status.closed.value))
                .when(pl.col("paused")).then(pl.lit(Status.paused.value))
                .otherwise(pl.col("flow")).cast(STATUS).alias("status"))
        .collect()
    )


PERSONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "events": ("recorded_by",),
    "cases": ("citizen_id",),
    "volunteers": ("name", "postal_code", "languages", "interests", "availability"),
    "communities": ("last_verified_by",),
    "measures": ("administered_by",),
}
"""Columns naming or describing a person (a citizen, a brobygger, a user): left out of the lead's frames."""


_SITE_TABLES = frozenset({"citizens", "volunteers"})
"""Stored tables whose rows belong to one site (``site_id``); the community catalog is shared. Cases
are kept for their site and for the site's brobyggere (see ``Frames._case_ids``)."""
_CASE_TABLES = frozenset({"events", "measures"})
"""Stored tables whose rows belong to a case (``case_id``)."""


class Frames:
    """All frames of one store, rebuilt lazily when the store has changed.

    ``sites``: only these sites' rows (a coordinator's frames; the community catalog is shared by
    every site, so it stays whole); ``personal=False``: without
    ``PERSONAL_COLUMNS`` (the project lead's frames). The schemas above are those of full frames.
    """

    def __init__(self, store: Store, today: Callable[[], date] = date.today, *,
                 sites: frozenset[str] | None = None, personal: bool = True) -> None:
        self._store = store
        self._today = today
        self._sites = sites
        self._personal = personal
        self._cache: dict[str, pl.DataFrame] = {}
        self._token: Any = None

    def _get(self, name: str, build: Callable[[], pl.DataFrame], *, scope: bool = True) -> pl.DataFrame:
        self._store.refresh()
        token = self._store.token()
        if token != self._token:
            self._cache, self._token = {}, token
        if name not in self._cache:
            built = build()
            self._cache[name] = self._scoped(name, built) if scope else built
        return self._cache[name]

    def _scoped(self, name: str, frame: pl.DataFrame) -> pl.DataFrame:
        if self._sites is not None and "site" in frame.columns and name != "communities":  # a shared catalog
            frame = frame.filter(pl.col("site").is_in(sorted(self._sites)))
        if not self._personal:
            frame = frame.drop(PERSONAL_COLUMNS.get(name, ()), strict=False)
        return frame

    def _raw(self, table: str) -> pl.DataFrame:
        """A stored table; for a coordinator's frames only their sites' rows, taken before anything is
        built, so building costs what their sites hold rather than what every site holds."""
        frame = self._store.frame(table)
        if self._sites is None:
            return frame
        sites = sorted(self._sites)
        if table == "cases":
            return frame.filter(pl.col("id").is_in(self._case_ids.get_column("id").implode()))
        if table in _SITE_TABLES:
            return frame.filter(pl.col("site_id").is_in(sites))
        if table in _CASE_TABLES:  # rows of a case: kept with the case
            return frame.filter(pl.col("case_id").is_in(self._case_ids.get_column("id").implode()))
        return frame

    @property
    def _case_ids(self) -> pl.DataFrame:
        """The cases a coordinator's frames are built from (found once per store state): their sites'
        cases, and any case one of those sites' brobyggere was ever assigned (a brobygger who moved
        site still carries their open cases, which count in their load)."""
        return self._get("ids:cases", self._find_case_ids, scope=False)

    def _find_case_ids(self) -> pl.DataFrame:
        sites = sorted(self._sites or ())
        volunteers = self._store.frame("volunteers").filter(pl.col("site_id").is_in(sites)).get_column("id")
        assigned = self._store.frame("events").filter(
            (pl.col("kind") == EventKind.volunteer_assigned.value) & pl.col("volunteer_id").is_in(volunteers.implode()))
        own = self._store.frame("cases").filter(pl.col("site_id").is_in(sites))
        return pl.concat([own.select("id"), assigned.select(pl.col("case_id").alias("id"))]).unique()

    @property
    def events(self) -> pl.DataFrame:
        """One row per event, in recorded order (``EVENTS_SCHEMA``)."""
        return self._get("events", lambda: self._seen_events)

    @property
    def _seen_events(self) -> pl.DataFrame:
        """The events built, before the site filter: for a coordinator also those of cases their
        brobyggere hold at another site (needed for the brobyggere's load, never shown)."""
        return self._get("events:seen", self._build_events, scope=False)

    def _build_events(self) -> pl.DataFrame:
        cases = self._raw("cases").select(pl.col("id").alias("case_id"), pl.col("site_id").alias("site"))
        raw = self._raw("events")
        return (
            raw.lazy()
            .with_columns(
                pl.col("id").alias("event_id"),
                pl.col("id").str.extract(r"(\d+)$").cast(pl.Int64).alias("seq"),
                *_dates("on", "planned_for"),
                pl.col("recorded_at").str.to_datetime(time_unit="us", time_zone="UTC", strict=False),
                pl.col("kind").cast(KIND), pl.col("week").cast(pl.Int8),
                pl.col("close_reason").cast(CLOSE_REASON),
            )
            .join(cases.lazy(), on="case_id", how="left")
            .select(EVENTS_SCHEMA.names())
            .sort("seq")
            .collect()
            .cast(EVENTS_SCHEMA)
        )

    @property
    def cases(self) -> pl.DataFrame:
        """One row per case with status, milestones and waiting times (``CASES_SCHEMA``)."""
        return self._get("cases", lambda: self._seen_cases)

    @property
    def _seen_cases(self) -> pl.DataFrame:
        """The cases built, before the site filter (see ``_seen_events``)."""
        return self._get("cases:seen", self._build_cases, scope=False)

    def _build_cases(self) -> pl.DataFrame:
        events = self._seen_events
        kinds = EventKind
        milestones = (
            events.lazy().sort("seq").group_by("case_id").agg(
                _first_on(kinds.referral_received).alias("referred_on"),
                pl.col("on").filter(pl.col("kind").is_in(
                    [kinds.contact_made.value, kinds.conversation_held.value])).min().alias("contacted_on"),
                _first_on(kinds.volunteer_assigned).alias("assigned_on"),
                _first_on(kinds.conversation_held).alias("conversation_on"),
                _last("planned_for", kinds.escort_planned).alias("escort_planned_for"),
                _first_on(kinds.escort_completed).alias("escorted_on"),
                pl.col("attended").filter(pl.col("kind") == kinds.escort_completed.value).any(ignore_nulls=True)
                .alias("attended"),
                _last("on", kinds.follow_up, pl.col("week") == 4).alias("followup_4w_on"),
                _last("still_participating", kinds.follow_up, pl.col("week") == 4).alias("still_4w"),
                _last("on", kinds.follow_up, pl.col("week") == 12).alias("followup_12w_on"),
                _last("still_participating", kinds.follow_up, pl.col("week") == 12).alias("still_12w"),
                _last("on", kinds.case_closed).alias("closed_on"),
                _last("close_reason", kinds.case_closed).alias("close_reason"),
                _last("volunteer_id", kinds.volunteer_assigned).alias("volunteer_id"),
                _last("community_id", kinds.conversation_held).alias("community_id"),
                (pl.col("kind") == kinds.escort_completed.value).any().alias("_escorted_any"),
            )
        )
        citizens = self._raw("citizens").lazy().select(
            pl.col("id").alias("citizen_id"), "birth_year", "referral_source",
            pl.col("consents").list.eval(
                pl.when(pl.element().struct.field("purpose") == m.Purpose.research.value)
                .then(pl.element().struct.field("given")).otherwise(None).drop_nulls()
            ).list.last().fill_null(False).alias("research_consent"),
        )
        cases = self._raw("cases").lazy().select(
            pl.col("id").alias("case_id"), pl.col("number").alias("case_number"),
            pl.col("site_id").alias("site"), "citizen_id", pl.col("intervention_ids").alias("interventions"),
        )
        age = pl.col("referred_on").dt.year() - pl.col("birth_year")
        closed = pl.col("status") == Status.closed.value
        frame = (
            cases.join(milestones, on="case_id", how="left")
            .join(case_status(events).lazy(), on="case_id", how="left")
            .join(citizens, on="citizen_id", how="left")
            .with_columns(
                pl.when(age.is_null()).then(pl.lit("unknown")).when(age < 30).then(pl.lit("youth"))
                .when(age < 65).then(pl.lit("adult")).otherwise(pl.lit("elderly")).alias("age_group"),
                pl.when(closed).then(pl.col("closed_on")).alias("closed_on"),
                pl.when(closed).then(pl.col("close_reason")).alias("close_reason"),
                pl.when(pl.col("_escorted_any")).then(pl.col("attended")).alias("attended"),
                *[(pl.col(column) - pl.col("referred_on")).dt.total_days().alias(f"days_to_{step}")
                  for step, column in (("contact", "contacted_on"), ("conversation", "conversation_on"),
                                       ("escort", "escorted_on"))],
            )
        )
        return frame.select(CASES_SCHEMA.names()).collect().cast(CASES_SCHEMA).sort("case_id")

    @property
    def volunteers(self) -> pl.DataFrame:
        """One row per brobygger with current load and free capacity (``VOLUNTEERS_SCHEMA``)."""
        return self._get("volunteers", self._build_volunteers)

    def _build_volunteers(self) -> pl.DataFrame:
        load = (
            self._seen_cases.lazy().filter(pl.col("status") != Status.closed.value)
            .group_by("volunteer_id").agg(pl.len().alias("load"))
        )
        last_event = (
            self._seen_events.lazy().filter(pl.col("volunteer_id").is_not_null())
            .group_by("volunteer_id").agg(pl.col("on").max().alias("last_event_on"))
        )
        return (
            self._raw("volunteers").lazy()
            .rename({"id": "volunteer_id", "site_id": "site"})
            .with_columns(*_dates("record_check_on", "trained_on", "registered_on"),
                          pl.col("availability").list.eval(
                              pl.element().struct.field("weekday") + "_" + pl.element().struct.field("part")))
            .join(load, on="volunteer_id", how="left")
            .join(last_event, on="volunteer_id", how="left")
            .with_columns(pl.col("load").fill_null(0))
            .with_columns((pl.col("capacity") - pl.col("load")).clip(lower_bound=0).alias("free"))
            .select(VOLUNTEERS_SCHEMA.names())
            .collect().cast(VOLUNTEERS_SCHEMA).sort("volunteer_id")
        )

    @property
    def communities(self) -> pl.DataFrame:
        """One row per community in the catalog (``COMMUNITIES_SCHEMA``)."""
        return self._get("communities", self._build_communities)

    def _build_communities(self) -> pl.DataFrame:
        return (
            self._raw("communities").lazy()
            .rename({"id": "community_id", "site_id": "site"})
            .with_columns(*_dates("last_verified_on"),
                          pl.col("schedule").list.eval(pl.element().struct.field("weekday")).list.unique(
                              maintain_order=True).alias("weekdays"))
            .select(COMMUNITIES_SCHEMA.names())
            .collect().cast(COMMUNITIES_SCHEMA).sort("community_id")
        )

    @property
    def measures(self) -> pl.DataFrame:
        """One row per questionnaire; ``score`` is the raw UCLA-3 or the SWEMWBS metric score."""
        return self._get("measures", self._build_measures)

    def _build_measures(self) -> pl.DataFrame:
        sites = self._raw("cases").lazy().select(pl.col("id").alias("case_id"), pl.col("site_id").alias("site"))
        return (
            self._raw("measures").lazy()
            .rename({"id": "measure_id"})
            .with_columns(*_dates("on"),
                          pl.when(pl.col("instrument") == m.Instrument.swemwbs.value)
                          .then(pl.col("metric_score")).otherwise(pl.col("raw_score").cast(pl.Float64))
                          .alias("score"))
            .join(sites, on="case_id", how="left")
            .select(MEASURES_SCHEMA.names())
            .collect().cast(MEASURES_SCHEMA).sort("measure_id")
        )

    @property
    def measure_pairs(self) -> pl.DataFrame:
        """Baseline and latest follow-up per case and instrument, with the paired change."""
        return self._get("measure_pairs", self._build_pairs)

    def _build_pairs(self) -> pl.DataFrame:
        measures = self.measures.lazy().sort("on", "measure_id")
        keys = ["case_id", "site", "instrument"]
        baseline = measures.filter(pl.col("timepoint") == m.Timepoint.baseline.value).group_by(keys).agg(
            pl.col("on").first().alias("baseline_on"), pl.col("score").first().alias("baseline"),
            pl.col("mode").first().alias("baseline_mode"))
        follow = measures.filter(pl.col("timepoint") == m.Timepoint.follow_up.value).group_by(keys).agg(
            pl.col("on").last().alias("follow_up_on"), pl.col("score").last().alias("follow_up"),
            pl.col("mode").last().alias("follow_up_mode"))
        return (
            baseline.join(follow, on=keys, how="inner")
            .with_columns((pl.col("follow_up") - pl.col("baseline")).alias("change"))
            .select(MEASURE_PAIRS_SCHEMA.names())
            .collect().cast(MEASURE_PAIRS_SCHEMA).sort("case_id", "instrument")
        )

    @property
    def funnel(self) -> pl.DataFrame:
        """Cases per site and referral month reaching each step (``FUNNEL_SCHEMA``)."""
        return self._get("funnel", self._build_funnel)

    def _build_funnel(self) -> pl.DataFrame:
        return (
            self.cases.lazy()
            .group_by("site", pl.col("referred_on").dt.truncate("1mo").alias("month"))
            .agg(pl.len().alias("referred"),
                 pl.col("conversation_on").is_not_null().sum().alias("conversation"),
                 pl.col("escorted_on").is_not_null().sum().alias("escorted"),
                 pl.col("attended").fill_null(False).sum().alias("attended"),
                 pl.col("still_12w").fill_null(False).sum().alias("lasting_12w"))
            .select(FUNNEL_SCHEMA.names())
            .collect().cast(FUNNEL_SCHEMA).sort("site", "month")
        )

    def all(self) -> dict[str, pl.DataFrame]:
        """Every frame, built now (used by benchmarks and the integrity check)."""
        return {name: getattr(self, name) for name in
                ("events", "cases", "volunteers", "communities", "measures", "measure_pairs", "funnel")}
