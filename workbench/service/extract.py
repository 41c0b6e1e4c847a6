"""The de-identified research extract: Parquet tables and a Frictionless Data Package that describes them.

What the lab and research tracks read instead of the store. An administrator writes one with
``workbench extract`` (``Workbench.extract``). Only citizens whose newest research consent is a
given one are included. Names, contact details, free text, exact dates and postal codes are
never written: age becomes an age group, a referral date its month, every other date the whole
weeks since referral. Citizen, case and brobygger ids become keyed pseudonyms (HMAC-SHA256 with a
secret key kept in the data directory, readable by its owner only), so that the same citizen has
the same pseudonym in every extract made with that key and nobody without it can reverse one.

The quasi-identifiers (site, age group, referral month; gender is not recorded) are made
k-anonymous, counting citizens: a combination shared by fewer than ``K`` citizens has its month
widened to the quarter, then to the year, then its age group withheld, and only then its cases
are left out. The package's ``workbench`` section reports how many rows took each step.

An extract's id is a content hash of its tables: writing the same data twice gives the same id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from workbench.domain import model as m
from workbench.errors import InvalidInput, StoreError
from workbench.i18n import t
from workbench.reporting import frames as fr
from workbench.reporting.frames import AGE_GROUPS, Frames
from workbench.reporting.suppression import STANDARD, count_label
from workbench.store import Store
from workbench.store.journal import fsync_dir, write_atomic

K = 5
"""The least number of citizens sharing one combination of quasi-identifiers."""

QUASI_IDENTIFIERS = ("site", "age_group", "referral_period")
FOLDER = "extracts"
KEY_FILE = "extract.key"
KEY_BYTES = 32
PACKAGE = "datapackage.json"
README = "datapackage.md"
LATEST = "LATEST"
FORMAT = "brobygning-extract"


@dataclass(frozen=True)
class Field:
    """One column of an extract table: its polars type and what the package says about it."""

    name: str
    dtype: pl.DataType
    enum: tuple[str, ...] = ()
    unit: str = ""


def _enum(values: Any) -> tuple[str, ...]:
    return tuple(v.value if hasattr(v, "value") else str(v) for v in values)


_BOOL, _STR, _INT, _NUM = pl.Boolean(), pl.String(), pl.Int32(), pl.Float64()
_MODES = _enum(m.AdministrationMode)

TABLES: dict[str, tuple[Field, ...]] = {
    "cases": (
        Field("case", _STR), Field("citizen", _STR), Field("volunteer", _STR), Field("site", _STR),
        Field("age_group", _STR, AGE_GROUPS), Field("referral_source", _STR, _enum(m.ReferralSource)),
        Field("referral_period", _STR), Field("status", _STR, _enum(fr.STATUS.categories)),
        Field("community_kind", _STR, _enum(m.CommunityKind)),
        Field("weeks_to_contact", _INT, unit="weeks"), Field("weeks_to_conversation", _INT, unit="weeks"),
        Field("weeks_to_escort", _INT, unit="weeks"), Field("attended", _BOOL), Field("still_4w", _BOOL),
        Field("still_12w", _BOOL), Field("closed", _BOOL), Field("weeks_to_close", _INT, unit="weeks"),
        Field("close_reason", _STR, _enum(m.CloseReason)), Field("interventions", pl.List(pl.String())),
    ),
    "measures": (
        Field("case", _STR), Field("site", _STR), Field("instrument", _STR, _enum(m.Instrument)),
        Field("timepoint", _STR, _enum(m.Timepoint)), Field("weeks_since_referral", _INT, unit="weeks"),
        Field("score", _NUM, unit="points"), Field("mode", _STR, _MODES),
    ),
    "measure_pairs": (
        Field("case", _STR), Field("site", _STR), Field("instrument", _STR, _enum(m.Instrument)),
        Field("baseline", _NUM, unit="points"), Field("follow_up", _NUM, unit="points"),
        Field("change", _NUM, unit="points"), Field("baseline_mode", _STR, _MODES),
        Field("follow_up_mode", _STR, _MODES), Field("weeks_between", _INT, unit="weeks"),
    ),
    "interventions": (
        Field("intervention", _STR), Field("name", _STR), Field("version", _INT),
        Field("target_group", _STR, _enum(m.TargetGroup)), Field("steps", _STR), Field("success_criteria", _STR),
        Field("forked_from", _STR), Field("pilot_sites", pl.List(pl.String())), Field("started_period", _STR),
    ),
}
"""Every table of an extract, in order, with every column: nothing else is ever written."""

PRIMARY_KEYS = {"cases": ["case"], "measure_pairs": ["case", "instrument"], "interventions": ["intervention"]}
"""Columns that identify a row (``measures`` has none: a case may answer twice in one week)."""


@dataclass(frozen=True)
class ExtractReport:
    """What an extract holds and what de-identification did to reach k-anonymity."""

    extract_id: str
    path: str
    created: str
    citizens: int
    cases: int
    without_consent: int
    to_quarter: int
    to_year: int
    age_withheld: int
    left_out: int
    k: int = K
    unchanged: bool = False

    def summary(self) -> str:
        """One paragraph for the command line, in the language in force."""
        return t("extract.unchanged" if self.unchanged else "extract.done", **asdict(self))


# --- the key and pseudonyms ------------------------------------------------------------------------


def key_path(root: Path) -> Path:
    """The secret pseudonym key of one data directory."""
    return Path(root) / KEY_FILE


def _key(root: Path) -> bytes:
    """The data directory's pseudonym key, made on first use (owner-only, fsync'd, linked into place
    whole, never replaced); a key that is not exactly 32 bytes is refused, never used."""
    path = key_path(root)
    try:
        key = bytes.fromhex(path.read_text("ascii").strip())
    except FileNotFoundError:
        key = None
    except (ValueError, OSError):
        raise StoreError("extract.key_damaged", path=str(path)) from None
    if key is not None:
        if len(key) != KEY_BYTES:
            raise StoreError("extract.key_damaged", path=str(path))
        return key
    fd, tmp = tempfile.mkstemp(prefix=f".{KEY_FILE}.", dir=root)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(KEY_BYTES) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)  # fails if another administrator made one a moment ago: theirs is used
        except FileExistsError:
            pass
        fsync_dir(Path(root))
    finally:
        os.unlink(tmp)
    return _key(root)


def pseudonyms(key: bytes, kind: str, ids: Sequence[str | None]) -> list[str | None]:
    """Keyed pseudonyms (HMAC-SHA256, 64 bits shown) of ids of one kind; the same id always maps alike."""
    memo: dict[str, str] = {}
    out: list[str | None] = []
    for value in ids:
        if value is None:
            out.append(None)
            continue
        if value not in memo:
            digest = hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()
            memo[value] = f"{kind}-{digest[:16]}"
        out.append(memo[value])
    return out


def _pseudonymise(frame: pl.DataFrame, key: bytes, columns: dict[str, str]) -> pl.DataFrame:
    return frame.with_columns(
        pl.Series(column, pseudonyms(key, kind, frame.get_column(column).to_list()), dtype=pl.String)
        for column, kind in columns.items())


# --- building the tables -----------------------------------------------------------------------------


def _weeks(later: str, earlier: str = "referred_on") -> pl.Expr:
    return ((pl.col(later) - pl.col(earlier)).dt.total_days() // 7).cast(pl.Int32)


def _consenting_cases(store: Store, frames: Frames) -> tuple[pl.DataFrame, int]:
    """The cases of citizens whose research consent is current (never an erased citizen), and how many citizens were left out."""
    cases = frames.cases
    erased = store.frame("citizens").filter(pl.col("erased_on").is_not_null()).get_column("id")
    keep = pl.col("research_consent") & ~pl.col("citizen_id").is_in(erased.implode())
    left = cases.filter(~keep).get_column("citizen_id").n_unique()
    return cases.filter(keep), left


def _case_table(cases: pl.DataFrame, frames: Frames) -> pl.DataFrame:
    kinds = frames.communities.select("community_id", pl.col("kind").cast(pl.String).alias("community_kind"))
    return cases.join(kinds, on="community_id", how="left").select(
        pl.col("case_id").alias("case"), pl.col("citizen_id").alias("citizen"),
        pl.col("volunteer_id").alias("volunteer"), "site", pl.col("age_group").cast(pl.String),
        pl.col("referral_source").cast(pl.String), pl.col("referred_on").dt.strftime("%Y-%m").alias("referral_period"),
        pl.col("status").cast(pl.String), "community_kind",
        _weeks("contacted_on").alias("weeks_to_contact"), _weeks("conversation_on").alias("weeks_to_conversation"),
        _weeks("escorted_on").alias("weeks_to_escort"), "attended", "still_4w", "still_12w",
        pl.col("closed_on").is_not_null().alias("closed"), _weeks("closed_on").alias("weeks_to_close"),
        pl.col("close_reason").cast(pl.String), "interventions",
    )


def _measure_tables(frames: Frames, cases: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    referred = cases.select("case_id", "referred_on")
    measures = frames.measures.join(referred, on="case_id", how="inner").select(
        pl.col("case_id").alias("case"), "site", pl.col("instrument").cast(pl.String),
        pl.col("timepoint").cast(pl.String), _weeks("on").alias("weeks_since_referral"), "score",
        pl.col("mode").cast(pl.String))
    pairs = frames.measure_pairs.join(referred, on="case_id", how="semi").select(
        pl.col("case_id").alias("case"), "site", pl.col("instrument").cast(pl.String), "baseline", "follow_up",
        "change", pl.col("baseline_mode").cast(pl.String), pl.col("follow_up_mode").cast(pl.String),
        _weeks("follow_up_on", "baseline_on").alias("weeks_between"))
    return measures, pairs


def _intervention_table(store: Store) -> pl.DataFrame:
    rows = []
    for doc in store.frame("interventions").to_dicts():
        record = m.parse(m.Intervention, {k: v for k, v in doc.items() if v is not None})
        rows.append({
            "intervention": record.id, "name": record.name, "version": record.template_version,
            "target_group": str(record.target_group) if record.target_group else None,
            "steps": json.dumps([step.model_dump(mode="json") for step in record.steps], ensure_ascii=False),
            "success_criteria": json.dumps([c.model_dump(mode="json") for c in record.success_criteria]),
            "forked_from": record.forked_from,
            "pilot_sites": list(record.pilot_sites), "started_period": record.started_on.strftime("%Y-%m"),
        })
    return pl.DataFrame(rows, schema=_schema("interventions"))


def _schema(table: str) -> pl.Schema:
    return pl.Schema({f.name: f.dtype for f in TABLES[table]})


# --- k-anonymity ---------------------------------------------------------------------------------------


def _rare(cases: pl.DataFrame, k: int) -> pl.Series:
    """Whether each case's combination of quasi-identifiers is shared by fewer than k citizens."""
    return cases.select(
        (pl.col("citizen").n_unique().over(*QUASI_IDENTIFIERS) < k).alias("rare")
    ).get_column("rare")


def k_anonymous(cases: pl.DataFrame, k: int = K) -> tuple[pl.DataFrame, dict[str, int]]:
    """Generalise (month to quarter to year, then withhold the age group) and, as a last step, leave
    out the cases whose quasi-identifiers fewer than ``k`` citizens share. Returns the table and
    how many cases each step touched."""
    month = pl.col("referral_period")
    steps: list[tuple[str, pl.Expr]] = [
        ("to_quarter", month.str.slice(0, 4) + "-Q" + ((month.str.slice(5, 2).cast(pl.Int32) - 1) // 3 + 1)
         .cast(pl.String)),
        ("to_year", month.str.slice(0, 4)),
    ]
    counts: dict[str, int] = {}
    for name, widened in steps:
        rare = _rare(cases, k)
        counts[name] = int(rare.sum())
        cases = cases.with_columns(pl.when(rare).then(widened).otherwise(month).alias("referral_period"))
    rare = _rare(cases, k)
    counts["age_withheld"] = int(rare.sum())
    cases = cases.with_columns(pl.when(rare).then(None).otherwise(pl.col("age_group")).alias("age_group"))
    rare = _rare(cases, k)
    counts["left_out"] = int(rare.sum())
    return cases.filter(~rare), counts


# --- writing ---------------------------------------------------------------------------------------------


def write(store: Store, frames: Frames, actor: str, now: datetime | None = None, k: int = K) -> ExtractReport:
    """Write a new extract under ``<data>/extracts/<id>/`` (whole or not at all) and return its report.

    The extract written becomes ``LATEST``; every older one is removed, so that a withdrawn consent
    or an erasure leaves no copy behind in the data directory.
    """
    if k < K:
        raise InvalidInput("extract.k_too_small", field="k", k=k, least=K)
    root = Path(store.root)
    key = _key(root)
    consenting, without_consent = _consenting_cases(store, frames)
    measures, pairs = _measure_tables(frames, consenting)
    cases, counts = k_anonymous(_pseudonymise(_case_table(consenting, frames), key, {"citizen": "cit"}), k)
    cases = _pseudonymise(cases, key, {"case": "case", "volunteer": "vol"})
    keep_cases = pl.col("case").is_in(cases.get_column("case").implode())
    tables = {
        "cases": cases, "measures": _pseudonymise(measures, key, {"case": "case"}).filter(keep_cases),
        "measure_pairs": _pseudonymise(pairs, key, {"case": "case"}).filter(keep_cases),
        "interventions": _intervention_table(store),
    }
    folder = root / FOLDER
    folder.mkdir(exist_ok=True)
    created = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    staging = Path(tempfile.mkdtemp(prefix=".writing-", dir=folder))
    try:
        digest = hashlib.sha256()
        resources = []
        for name, frame in tables.items():
            # nothing but the declared columns, in one order whatever the store's order was
            frame = frame.select([f.name for f in TABLES[name]]).cast(_schema(name))
            frame = frame.sort(frame.columns, nulls_last=True, maintain_order=True)
            path = staging / f"{name}.parquet"
            frame.write_parquet(path, statistics=False)
            fsync_dir(path)  # the file itself: its bytes are on disk before the folder is renamed
            digest.update(name.encode() + b"\0" + frame.write_ndjson().encode() + b"\0")
            resources.append(_resource(name, frame, path.read_bytes()))
        extract_id = digest.hexdigest()[:16]
        report = ExtractReport(
            extract_id=extract_id, path=str(folder / extract_id), created=created,
            citizens=tables["cases"].get_column("citizen").n_unique(), cases=tables["cases"].height,
            without_consent=without_consent, to_quarter=counts["to_quarter"], to_year=counts["to_year"],
            age_withheld=counts["age_withheld"], left_out=counts["left_out"], k=k)
        package = _package(report, resources)
        write_atomic(staging / PACKAGE, json.dumps(package, ensure_ascii=False, indent=1).encode())
        write_atomic(staging / README, markdown(package).encode())
        os.chmod(staging, 0o755 & folder.stat().st_mode)  # as readable as the extracts folder, no more
        target = folder / extract_id
        try:
            os.rename(staging, target)
            fsync_dir(folder)
        except OSError:
            if not (target / PACKAGE).is_file():
                raise
            # the same data as an earlier (or a concurrent) extract: keep that one as it is
            shutil.rmtree(staging)
            report = ExtractReport(**{**asdict(report), "created": _created(target), "unchanged": True})
        write_atomic(folder / LATEST, f"{extract_id}\n".encode())  # the one the notebooks open
        _remove_older(folder, extract_id)
        return report
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _remove_older(folder: Path, keep: str) -> None:
    """Remove every extract but ``keep`` (and any staging folder a crash left behind)."""
    for path in folder.iterdir():
        if path.is_dir() and path.name != keep and (path.name.startswith(".writing-") or (path / PACKAGE).is_file()):
            shutil.rmtree(path, ignore_errors=True)
    fsync_dir(folder)


def forget(root: Path) -> int:
    """Remove every extract of a data directory (after an erasure: the next extract is made without the
    citizen). Returns how many were removed."""
    folder = Path(root) / FOLDER
    if not folder.is_dir():
        return 0
    removed = 0
    for path in folder.iterdir():
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    (folder / LATEST).unlink(missing_ok=True)
    fsync_dir(folder)
    return removed


def _created(folder: Path) -> str:
    return str(json.loads((folder / PACKAGE).read_text("utf-8"))["created"])


_TYPES = {pl.Boolean: "boolean", pl.String: "string", pl.Int32: "integer", pl.Float64: "number", pl.List: "array"}


def _resource(name: str, frame: pl.DataFrame, data: bytes) -> dict[str, Any]:
    fields = []
    for f in TABLES[name]:
        entry: dict[str, Any] = {"name": f.name, "type": _TYPES[f.dtype.base_type()],
                                 "description": t(f"extract.column.{name}.{f.name}")}
        if f.enum:
            entry["constraints"] = {"enum": list(f.enum)}
        if f.unit:
            entry["unit"] = f.unit
        fields.append(entry)
    return {
        "name": name, "path": f"{name}.parquet", "format": "parquet", "mediatype": "application/vnd.apache.parquet",
        "profile": "tabular-data-resource", "description": t(f"extract.table.{name}"), "bytes": len(data),
        "hash": "sha256:" + hashlib.sha256(data).hexdigest(), "rows": frame.height,
        "schema": {"fields": fields, **({"primaryKey": PRIMARY_KEYS[name]} if name in PRIMARY_KEYS else {})},
    }


def _package(report: ExtractReport, resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "profile": "tabular-data-package", "name": FORMAT, "id": report.extract_id, "created": report.created,
        "title": t("extract.title"), "description": t("extract.description", k=report.k),
        "resources": resources,
        # counts of people a lab user reads: 1-4 shows as "<5" (the command line tells the administrator exactly)
        "workbench": {"format": FORMAT, "k": report.k, "quasi_identifiers": list(QUASI_IDENTIFIERS),
                      **{name: count_label(getattr(report, name), STANDARD) for name in (
                          "citizens", "cases", "without_consent", "to_quarter", "to_year", "age_withheld",
                          "left_out")}},
    }


def markdown(package: dict[str, Any]) -> str:
    """The package as a Markdown page: what each table and column means, and what de-identification did."""
    info = package["workbench"]
    lines = [f"# {package['title']}", "", package["description"], "",
             f"- {t('extract.md.id')}: `{package['id']}`", f"- {t('extract.md.created')}: {package['created']}",
             f"- {t('extract.md.deidentified', **{**info, 'quasi_identifiers': ', '.join(info['quasi_identifiers'])})}", ""]
    for resource in package["resources"]:
        lines += [f"## {resource['name']} ({resource['rows']} {t('extract.md.rows')})", "", resource["description"], "",
                  (f"| {t('extract.md.column')} | {t('extract.md.type')} | {t('extract.md.meaning')} | "
                  f"{t('extract.md.values')} | {t('extract.md.unit')} |"), "|---|---|---|---|---|"]
        for f in resource["schema"]["fields"]:
            values = ", ".join(f"`{v}`" for v in f.get("constraints", {}).get("enum", []))
            lines.append(f"| `{f['name']}` | {f['type']} | {f['description']} | {values} | {f.get('unit', '')} |")
        lines.append("")
    return "\n".join(lines)


# --- reading ----------------------------------------------------------------------------------------------


def newest(root: Path) -> Path | None:
    """The folder of the most recently written extract in a data directory (None when there is none)."""
    folder = Path(root) / FOLDER
    try:
        latest = folder / (folder / LATEST).read_text("ascii").strip()
        if (latest / PACKAGE).is_file():
            return latest
    except (OSError, ValueError):
        pass
    found = [(_created(p), p) for p in folder.glob("[!.]*") if (p / PACKAGE).is_file()] if folder.is_dir() else []
    return max(found)[1] if found else None  # no LATEST pointer: the most recently created
