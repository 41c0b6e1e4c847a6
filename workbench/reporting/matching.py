"""Suggestions for one citizen's case: which brobyggere and which fællesskaber fit best, and why.

Both rankings are vectorised polars expressions over the whole frame (the only Python
loops run over the citizen's own few labels, never over candidates). Each candidate gets
a numeric ``score`` (the weights are the constants below) and ``reasons``: a list of
``{"key", "value"}`` structs the UI renders as the catalog message ``match.<key>`` with
``{value}``. The coordinator always decides; a low score never hides a community whose age
range excludes the citizen, it is marked ``age_mismatch`` and sinks instead.

Label comparisons (interests, languages) ignore case and surrounding spaces. Communities
have no interest tags in the catalog, so a citizen's interest fits a community when its
light Danish stem occurs in the community's name (``"strik"`` fits "Strikkecafé" and
"Seniorstrik", ``"gåture"`` fits "Gåtur-gruppen"; a three-letter stem must start a word,
so ``"kor"`` fits "Kor for alle" but not "Tokorts-klub", and a shorter one must be a whole
word, so ``"it"`` fits "IT-café" but not "Italiensk madlavning") or equals its kind
(``"sport"``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

import polars as pl

from workbench.domain.text import normalise
from workbench.reporting import frames

# -- weights (points added to ``score``) -----------------------------------------------------------

WEIGHT_INTEREST = 2.0
"""Per shared interest, counting at most ``MAX_INTERESTS_COUNTED``."""
MAX_INTERESTS_COUNTED = 3
WEIGHT_LANGUAGE_SHARED = 4.0
"""A brobygger who shares a language other than Danish with the citizen."""
WEIGHT_LANGUAGE_DANISH = 0.5
"""Both speak Danish (the usual case; a small plus over a brobygger without Danish)."""
PENALTY_NO_SHARED_LANGUAGE = -6.0
"""The citizen's languages are known and the brobygger speaks none of them."""
WEIGHT_SAME_POSTAL_CODE = 3.0
WEIGHT_SAME_AREA = 1.5
"""Same first two digits of the postal code (and not the same code)."""
WEIGHT_LOAD = 2.0
"""Times the brobygger's free share of capacity: 0/3 gives 2.0, 2/3 gives 0.67."""
WEIGHT_TARGET_GROUP = 2.0
"""Per need of the citizen that the community welcomes, counting at most ``MAX_NEEDS_COUNTED``."""
MAX_NEEDS_COUNTED = 3
WEIGHT_SCHEDULE = 2.0
"""The community meets on a weekday the chosen brobygger is available (flat, any overlap)."""
WEIGHT_AGE_FIT = 1.0
"""The community has an age range and the citizen is within it (an open range earns nothing)."""
PENALTY_AGE_MISMATCH = -10.0
"""The community's age range excludes the citizen: shown last, never hidden."""

DANISH = "da"
ASSIGNABLE_STATUSES = ("active", "trained")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_STEM_SUFFIXES = ("erne", "ning", "ene", "er", "en", "e")
_MIN_STEM = 3
_MIN_INFIX = 4
"""Stems this long may match inside a Danish compound ("Seniorstrik")."""
_MIN_PREFIX = 3
"""Stems this long must start a word ("kor" in "Kor for alle"); shorter ones must be a whole word ("IT")."""

MATCH_REASON_KEYS: tuple[str, ...] = (
    "interests", "language", "no_shared_language", "same_postal_code", "same_area",
    "target_group", "schedule", "age_fit", "age_mismatch", "load",
)
"""Every reason key a ranking can emit; each needs a catalog message ``match.<key>`` using ``{value}``."""

REASON = pl.Struct({"key": pl.String, "value": pl.String})
REASONS = pl.List(REASON)

VOLUNTEER_MATCHES_SCHEMA = frames.schema({
    "volunteer_id": pl.String, "name": pl.String, "load": pl.Int32, "capacity": pl.Int32,
    "score": pl.Float64, "reasons": REASONS,
})
COMMUNITY_MATCHES_SCHEMA = frames.schema({
    "community_id": pl.String, "name": pl.String, "organiser": pl.String, "kind": frames.COMMUNITY_KIND,
    "postal_code": pl.String, "weekdays": pl.List(pl.String), "score": pl.Float64, "reasons": REASONS,
})


# -- the citizen's side (plain Python over a handful of labels) ---------------------------------------

def _key(label: Any) -> str:
    """The comparison form of a label: NFC, trimmed, lower case."""
    return normalise(str(label)).lower()


def _labels(values: Iterable[Any] | None) -> list[tuple[str, str]]:
    """Distinct non-empty labels as (comparison key, label as typed), first spelling kept."""
    seen: dict[str, str] = {}
    for value in [values] if isinstance(values, str) else values or ():
        if value is None:
            continue
        shown = normalise(str(value))
        key = shown.lower()
        if key and key not in seen:
            seen[key] = shown
    return list(seen.items())


def _postal_code(citizen: Mapping[str, Any]) -> str | None:
    """The citizen's four-digit postal code, or None when missing or malformed."""
    code = citizen.get("postal_code")
    text = normalise(str(code)) if code is not None else ""
    return text if len(text) == 4 and text.isdigit() else None


def _age(citizen: Mapping[str, Any], today: date) -> int | None:
    """The citizen's age this year from the birth year, or None when unknown."""
    birth_year = citizen.get("birth_year")
    try:
        return today.year - int(birth_year) if birth_year is not None else None
    except (TypeError, ValueError):
        return None


def _stem(key: str) -> str:
    """A light Danish stem so 'gåture' meets 'Gåtur-…' and 'strikning' meets 'Strikkecafé'."""
    for suffix in _STEM_SUFFIXES:
        if key.endswith(suffix) and len(key) - len(suffix) >= _MIN_STEM:
            return key[: -len(suffix)]
    return key


def _weekdays(volunteer: Mapping[str, Any] | None) -> list[str]:
    """The weekdays a brobygger is available, in week order ('mon_morning' or {'weekday': 'mon'})."""
    days: set[str] = set()
    for slot in (volunteer or {}).get("availability") or ():
        day = slot.get("weekday") if isinstance(slot, Mapping) else str(slot).split("_", 1)[0]
        if day:
            days.add(_key(day))
    return [day for day in WEEKDAYS if day in days]


# -- expression helpers ------------------------------------------------------------------------------
# Scoring runs on every candidate with one cheap boolean column per citizen label ("flags");
# the text of the reasons is built afterwards for the top ``limit`` rows only.

Flag = tuple[str, pl.Expr, str]
"""(column name, boolean test, the citizen's label as typed)."""


def _flags(prefix: str, tests: Sequence[tuple[pl.Expr, str]]) -> list[Flag]:
    """One named boolean column per (test, label); null tests count as false."""
    return [(f"_{prefix}{i}", test.fill_null(False), label) for i, (test, label) in enumerate(tests)]


def _columns(*groups: Sequence[Flag]) -> list[pl.Expr]:
    """The expressions computing every flag column of ``groups``."""
    return [test.alias(name) for group in groups for name, test, _ in group]


def _count(flags: Sequence[Flag], cap: int) -> pl.Expr:
    """How many flags are set on the row, at most ``cap``."""
    if not flags:
        return pl.lit(0.0)
    total = pl.sum_horizontal([pl.col(name).cast(pl.Int32) for name, _, _ in flags])
    return total.clip(upper_bound=cap).cast(pl.Float64)


def _any(flags: Sequence[Flag]) -> pl.Expr:
    """Whether any flag is set on the row."""
    if not flags:
        return pl.lit(False)
    return pl.any_horizontal([pl.col(name) for name, _, _ in flags])


def _joined(flags: Sequence[Flag]) -> pl.Expr:
    """The labels whose flag is set on the row, in the citizen's order, joined by ', '."""
    if not flags:
        return pl.lit("")
    return pl.concat_str([pl.when(pl.col(name)).then(pl.lit(label)) for name, _, label in flags],
                         separator=", ", ignore_nulls=True)


def _normalised_list(column: str) -> pl.Expr:
    """A list-of-labels column in comparison form (trimmed, lower case)."""
    return pl.col(column).list.eval(pl.element().str.strip_chars().str.to_lowercase())


def _reason(key: str, when: pl.Expr, value: pl.Expr) -> pl.Expr:
    """A reason struct where ``when`` holds, else null (dropped from the list later)."""
    return pl.when(when.fill_null(False)).then(pl.struct(pl.lit(key).alias("key"), value.alias("value")))


def _reasons(parts: Sequence[pl.Expr]) -> pl.Expr:
    """The non-null reasons of a row as ``List(Struct(key, value))``."""
    return pl.concat_list(parts).list.drop_nulls().cast(REASONS).alias("reasons")


def _place(code: str | None) -> tuple[pl.Expr, pl.Expr]:
    """(same postal code, same area but not same code) tests against the citizen's code."""
    if code is None:
        no = pl.lit(False)
        return no, no
    same = pl.col("postal_code") == code
    area = pl.col("postal_code").str.slice(0, 2) == code[:2]
    return same.fill_null(False), (area & ~same).fill_null(False)


def _ranked(lazy: pl.LazyFrame, id_column: str, limit: int) -> pl.LazyFrame:
    """Highest score first, ties by id, the first ``limit`` rows."""
    return lazy.sort(["score", id_column], descending=[True, False]).head(max(limit, 0))


# -- volunteers ----------------------------------------------------------------------------------------

def rank_volunteers(citizen: Mapping[str, Any], volunteers: pl.DataFrame, *, site: str,
                    limit: int = 10) -> pl.DataFrame:
    """The best-fitting free brobyggere of ``site`` for ``citizen``, with score and reasons."""
    if volunteers.height == 0:
        return pl.DataFrame(schema=VOLUNTEER_MATCHES_SCHEMA)
    languages = _labels(citizen.get("languages"))
    has_danish = any(key == DANISH for key, _ in languages)
    same, area = _place(_postal_code(citizen))
    liked, spoken = _normalised_list("interests"), _normalised_list("languages")
    interests = _flags("i", [(liked.list.contains(key), shown) for key, shown in _labels(citizen.get("interests"))])
    shared = _flags("l", [(spoken.list.contains(key), shown) for key, shown in languages if key != DANISH])

    shared_other = pl.col("_shared_other")
    candidates = (
        volunteers.lazy()
        .filter((pl.col("site") == site.strip().upper())
                & pl.col("status").cast(pl.String).is_in(ASSIGNABLE_STATUSES)
                & (pl.col("free") > 0))
        .with_columns(*_columns(interests, shared), same.alias("_same"), area.alias("_area"),
                      (pl.lit(has_danish) & spoken.list.contains(DANISH).fill_null(False)).alias("_danish"))
        .with_columns(_any(shared).alias("_shared_other"))
        .with_columns((pl.lit(bool(languages)) & ~shared_other & ~pl.col("_danish")).alias("_no_common"))
        .with_columns(
            (
                WEIGHT_INTEREST * _count(interests, MAX_INTERESTS_COUNTED)
                + pl.when(shared_other).then(WEIGHT_LANGUAGE_SHARED)
                .when(pl.col("_danish")).then(WEIGHT_LANGUAGE_DANISH)
                .when(pl.col("_no_common")).then(PENALTY_NO_SHARED_LANGUAGE).otherwise(0.0)
                + pl.when(pl.col("_same")).then(WEIGHT_SAME_POSTAL_CODE)
                .when(pl.col("_area")).then(WEIGHT_SAME_AREA).otherwise(0.0)
                + WEIGHT_LOAD * (pl.col("free").cast(pl.Float64) / pl.col("capacity").cast(pl.Float64))
                .clip(0.0, 1.0).fill_nan(0.0)
            ).alias("score"),
        )
    )
    return (
        _ranked(candidates, "volunteer_id", limit)
        .with_columns(_reasons([
            _reason("interests", _any(interests), _joined(interests)),
            _reason("language", shared_other, _joined(shared)),
            _reason("language", ~shared_other & pl.col("_danish"), pl.lit(DANISH)),
            _reason("no_shared_language", pl.col("_no_common"),
                    pl.lit(", ".join(shown for _, shown in languages))),
            _reason("same_postal_code", pl.col("_same"), pl.col("postal_code")),
            _reason("same_area", pl.col("_area"), pl.col("postal_code")),
            _reason("load", pl.lit(True),
                    pl.format("{}/{}", pl.col("load").fill_null(0), pl.col("capacity"))),
        ]))
        .select(VOLUNTEER_MATCHES_SCHEMA.names())
        .collect()
        .cast(VOLUNTEER_MATCHES_SCHEMA)
    )


# -- communities ---------------------------------------------------------------------------------------

def _age_range() -> pl.Expr:
    """A community's age range as text: '18–30', '60+', '0–25'."""
    low, high = pl.col("age_min"), pl.col("age_max")
    return (
        pl.when(low.is_not_null() & high.is_not_null()).then(pl.format("{}–{}", low, high))
        .when(low.is_not_null()).then(pl.format("{}+", low))
        .otherwise(pl.format("0–{}", high))
    )


def _interest_pattern(key: str) -> str:
    """The case-insensitive regex finding an interest's stem in a community's name."""
    stem = _stem(key)
    if len(stem) >= _MIN_INFIX:
        return "(?i)" + pl.escape_regex(stem)
    if len(stem) >= _MIN_PREFIX:
        return r"(?i)\b" + pl.escape_regex(stem)
    return r"(?i)\b" + pl.escape_regex(stem) + r"\b"


def _interest_tests(interests: Sequence[tuple[str, str]]) -> list[tuple[pl.Expr, str]]:
    """Per citizen interest: its stem is in the community's name, or it equals the kind."""
    name, kind = pl.col("name"), pl.col("kind").cast(pl.String)
    return [(name.str.contains(_interest_pattern(key)) | (kind == key), shown) for key, shown in interests]


def rank_communities(citizen: Mapping[str, Any], communities: pl.DataFrame, *, site: str | None = None,
                     volunteer: Mapping[str, Any] | None = None, today: date,
                     limit: int = 10) -> pl.DataFrame:
    """The best-fitting active fællesskaber for ``citizen`` (and the chosen brobygger), with reasons."""
    if communities.height == 0:
        return pl.DataFrame(schema=COMMUNITY_MATCHES_SCHEMA)
    days = _weekdays(volunteer)
    age = _age(citizen, today)
    same, area = _place(_postal_code(citizen))
    interests = _flags("i", _interest_tests(_labels(citizen.get("interests"))))
    needs = _flags("n", [(pl.col("target_groups").list.contains(key), shown)
                         for key, shown in _labels(citizen.get("needs"))])
    schedule = _flags("d", [(pl.col("weekdays").list.contains(day), day) for day in days])

    where = pl.col("status").cast(pl.String) == "active"
    if site is not None:
        where = where & (pl.col("site").is_null() | (pl.col("site") == site.strip().upper()))
    bounded = pl.col("age_min").is_not_null() | pl.col("age_max").is_not_null()
    if age is None:
        fits = mismatch = pl.lit(False)
    else:
        inside = (pl.col("age_min").fill_null(age) <= age) & (pl.col("age_max").fill_null(age) >= age)
        fits, mismatch = bounded & inside, bounded & ~inside

    candidates = (
        communities.lazy()
        .filter(where)
        .with_columns(*_columns(interests, needs, schedule), same.alias("_same"), area.alias("_area"),
                      fits.alias("_fits"), mismatch.alias("_mismatch"))
        .with_columns(
            (
                WEIGHT_INTEREST * _count(interests, MAX_INTERESTS_COUNTED)
                + WEIGHT_TARGET_GROUP * _count(needs, MAX_NEEDS_COUNTED)
                + pl.when(_any(schedule)).then(WEIGHT_SCHEDULE).otherwise(0.0)
                + pl.when(pl.col("_same")).then(WEIGHT_SAME_POSTAL_CODE)
                .when(pl.col("_area")).then(WEIGHT_SAME_AREA).otherwise(0.0)
                + pl.when(pl.col("_fits")).then(WEIGHT_AGE_FIT)
                .when(pl.col("_mismatch")).then(PENALTY_AGE_MISMATCH).otherwise(0.0)
            ).alias("score"),
        )
    )
    return (
        _ranked(candidates, "community_id", limit)
        .with_columns(_reasons([
            _reason("interests", _any(interests), _joined(interests)),
            _reason("target_group", _any(needs), _joined(needs)),
            _reason("schedule", _any(schedule), _joined(schedule)),
            _reason("same_postal_code", pl.col("_same"), pl.col("postal_code")),
            _reason("same_area", pl.col("_area"), pl.col("postal_code")),
            _reason("age_fit", pl.col("_fits"), _age_range()),
            _reason("age_mismatch", pl.col("_mismatch"), _age_range()),
        ]))
        .select(COMMUNITY_MATCHES_SCHEMA.names())
        .collect()
        .cast(COMMUNITY_MATCHES_SCHEMA)
    )
