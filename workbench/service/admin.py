"""Keeping a data directory sound: backup, restore and the integrity check."""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from workbench.domain.workflow import replay
from workbench.errors import InvalidInput, StoreError, WorkbenchError
from workbench.i18n import t
from workbench.reporting.frames import Frames, case_status
from workbench.service.privacy import erase_in_tables, refuse_inside_data
from workbench.store import Store, journal
from workbench.store.journal import Repair, write_atomic
from workbench.store.schema import SCHEMA_VERSION, TABLES

BACKUP_FORMAT = "brobygning-workbench-backup"


def backup(store: Store, actor: str, target: Path) -> Path:
    """Write a consistent copy of every table (and the audit trail) to one JSON file."""
    target = Path(target)
    refuse_inside_data(Path(store.root), target)
    if target.exists():
        raise InvalidInput("backup.target_exists", field="to", path=str(target))
    tables = store.export_tables()
    audit = list(store.audit_trail())
    data = {
        "format": BACKUP_FORMAT, "schema_version": SCHEMA_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"), "created_by": actor,
        "tables": tables, "audit": audit, "checksum": _content_digest(tables, audit),
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, json.dumps(data, ensure_ascii=False).encode("utf-8"))
    os.chmod(target, 0o600)
    return target


def _content_digest(tables: Any, audit: Any) -> str:
    """SHA-256 of a backup's tables and audit trail, as canonical JSON (keys sorted, no spaces)."""
    canonical = json.dumps({"tables": tables, "audit": audit}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _dangling(tables: dict[str, list[dict[str, Any]]]) -> str | None:
    """The first reference in ``tables`` to a record that is not there, in words; None when all are."""
    for table, column, target in _REFERENCES:
        known = {doc["id"] for doc in tables.get(target, [])}
        for doc in tables.get(table, []):
            ref = doc.get(column)
            if ref is not None and ref not in known:
                return t("check.dangling", entity=table, id=doc.get("id"), target=target, ref=ref)
    return None


def read_backup(source: Path) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """The tables and audit trail held in a backup file, refusing anything that is not one of ours,
    that fails its checksum, or that holds a record or reference that does not hold together."""
    try:
        data = json.loads(Path(source).read_bytes())
    except (OSError, ValueError) as exc:
        raise StoreError("backup.unreadable", path=str(source), detail=str(exc)) from None
    if not isinstance(data, dict) or data.get("format") != BACKUP_FORMAT:
        raise StoreError("backup.not_a_backup", path=str(source))
    if int(data.get("schema_version", 0)) > SCHEMA_VERSION:
        raise StoreError("store.too_new", found=data.get("schema_version"), supported=SCHEMA_VERSION)
    tables, audit = data.get("tables"), data.get("audit", [])
    if (not isinstance(tables, dict) or any(not isinstance(v, list) for v in tables.values())
            or not isinstance(audit, list)):
        raise StoreError("backup.not_a_backup", path=str(source))
    if "checksum" in data and data["checksum"] != _content_digest(tables, audit):  # older backups have none
        raise StoreError("backup.unreadable", path=str(source), detail="checksum")
    whole = {name: list(tables.get(name, [])) for name in TABLES}
    for name, docs in whole.items():
        model = TABLES[name].model
        for doc in docs:
            try:
                model.model_validate(doc)
            except (WorkbenchError, ValueError) as exc:
                raise StoreError("backup.unreadable", path=str(source), detail=f"{name}: {exc}") from None
    problem = _dangling(whole)
    if problem:
        raise StoreError("backup.unreadable", path=str(source), detail=problem)
    return whole, audit


def restore(store: Store, actor: str, source: Path) -> int:
    """Replace the store's content with a backup, re-applying every erasure made since.

    The audit trail is kept: a store's own trail stays as it is (with the restore added), and a
    store with no trail yet (a new folder) takes the backup's. Returns how many erasures from the
    ledger had to be applied again.
    """
    tables, audit = read_backup(source)  # every check before anything changes
    reapplied = 0

    def erased_again(current: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
        nonlocal reapplied  # the ledger as it stands now, read under the same lock as the replacement
        for entry in current["erasures"]:
            if erase_in_tables(tables, entry["id"], date.fromisoformat(entry["on"])):
                reapplied += 1
        return tables

    store.replace_all(erased_again, actor=actor, audit=audit)
    return reapplied


@dataclass
class CheckReport:
    """The result of ``check``: counts of what the store holds and every problem in plain words."""

    counts: dict[str, int]
    problems: list[str] = field(default_factory=list)

    @property
    def sound(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {**self.counts, "problems": self.problems}


_REFERENCES = (
    ("cases", "site_id", "sites"), ("cases", "citizen_id", "citizens"), ("events", "case_id", "cases"),
    ("events", "volunteer_id", "volunteers"), ("events", "community_id", "communities"),
    ("events", "measure_id", "measures"), ("measures", "case_id", "cases"),
    ("volunteers", "site_id", "sites"), ("citizens", "site_id", "sites"), ("contacts", "id", "citizens"),
)


def check(store: Store, frames: Frames) -> CheckReport:
    """Verify references, case numbers, counters and every case's timeline (``frames``: every row)."""
    store.refresh()
    raw = {name: store.frame(name) for name in TABLES}
    counts = {name: raw[name].height for name in ("cases", "events", "citizens", "volunteers", "communities")}
    report = CheckReport(counts=counts)
    report.problems.extend(t("check.file", path=path) for path in store.verify())
    for table, column, target in _REFERENCES:
        known = raw[target].get_column("id")
        dangling = raw[table].filter(pl.col(column).is_not_null() & ~pl.col(column).is_in(known.implode()))
        for row in dangling.select("id", pl.col(column).alias("_ref")).head(50).iter_rows():
            report.problems.append(t("check.dangling", entity=table, id=row[0], target=target, ref=row[1]))
    cases = raw["cases"]
    for number, n in Counter(cases.get_column("number").to_list()).items():
        if n > 1:
            report.problems.append(t("check.duplicate_number", number=number))
    used = cases.select(pl.col("number").str.extract(r"^(.*)-(\d+)$", 1).alias("key"),
                        pl.col("number").str.extract(r"-(\d+)$", 1).cast(pl.Int64).alias("n"))
    counters = {d["id"]: d["value"] for d in raw["counters"].to_dicts()}
    for key, highest in used.group_by("key").agg(pl.col("n").max()).iter_rows():
        site, year = key.split("-", 1)
        if counters.get(f"cases:{site}:{year}", 0) < highest:
            report.problems.append(t("check.counter", id=f"{site}-{year}"))
    _check_timelines(store, frames, cases, report)
    return report


def _check_timelines(store: Store, frames: Frames, cases: pl.DataFrame, report: CheckReport) -> None:
    events = frames.events
    numbers = dict(cases.select("id", "number").iter_rows())
    derived = dict(case_status(events).iter_rows()) if events.height else {}
    raw_events = store.frame("events").sort(pl.col("id").str.extract(r"(\d+)$").cast(pl.Int64))
    by_case: dict[str, list[dict[str, Any]]] = {}
    for event in raw_events.select("case_id", "kind", "attended", "week").iter_rows(named=True):
        by_case.setdefault(event["case_id"], []).append(event)
    for case_id, number in numbers.items():
        timeline = by_case.get(case_id, [])
        if not timeline or timeline[0]["kind"] != "referral_received":
            report.problems.append(t("check.no_referral", number=number))
            continue
        try:
            state = replay(timeline)
        except WorkbenchError as exc:
            report.problems.append(t("check.timeline", number=number, detail=exc.message))
            continue
        if state.status is not None and derived.get(case_id) != state.status.value:
            report.problems.append(t("check.timeline", number=number,
                                     detail=f"{derived.get(case_id)} ≠ {state.status.value}"))


def journal_damage(root: Path) -> StoreError | None:
    """The error a damaged journal stops the store with (file, line, what follows), or None when it reads whole."""
    return journal.damage(root)


def repair_journal(root: Path) -> Repair | None:
    """Keep every journal line before the first damaged one; the rest is set aside in a file, never deleted.

    For ``workbench check --repair``, run by an administrator after a confirmation: the store cannot
    be opened while its journal is damaged, so this works on the folder, under the write lock.
    """
    return journal.cut_at_damage(root)
