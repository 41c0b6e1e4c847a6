"""GDPR operations: erasure (really removed from the files) and the access-request export.

Erasure keeps the anonymous skeleton of a citizen's cases (site, dates, steps) so
funnel counts do not change, and removes everything personal: name, contact,
birth year, postal code, interests, needs, consents, free text on events, and
questionnaire answers. The store is compacted at once so no journal line or old
snapshot still holds the data. The citizen's id and the date go into the erasure ledger (the
``erasures`` table) in the same transaction as the erasure, so no crash can leave an erasure out
of the ledger, and restoring an older backup erases them again.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from workbench.domain.events import PERSONAL
from workbench.errors import InvalidInput, NotFound
from workbench.store import Store, Transaction
from workbench.store.journal import write_atomic

ERASED_NAME = "[slettet]"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def erased_citizen(citizen: Mapping[str, Any], on: date) -> dict[str, Any]:
    """The anonymous remainder of a citizen record after erasure."""
    return {
        "id": citizen["id"], "site_id": citizen["site_id"], "display_name": ERASED_NAME,
        "referral_source": citizen.get("referral_source", "other"),
        "registered_on": citizen["registered_on"], "erased_on": on.isoformat(),
        "version": int(citizen.get("version", 1)) + 1,
    }


def erase_in_tables(tables: dict[str, list[dict[str, Any]]], citizen_id: str, on: date) -> bool:
    """Apply one erasure to whole tables in memory (used on restore); True if anything changed."""
    if all(e["id"] != citizen_id for e in tables.get("erasures", [])):  # the ledger keeps every erasure
        tables["erasures"] = [*tables.get("erasures", []), {"id": citizen_id, "on": on.isoformat()}]
    citizens = {d["id"]: d for d in tables.get("citizens", [])}
    citizen = citizens.get(citizen_id)
    if citizen is None or citizen.get("erased_on"):
        return False
    case_ids = {c["id"] for c in tables.get("cases", []) if c["citizen_id"] == citizen_id}
    tables["citizens"] = [erased_citizen(d, on) if d["id"] == citizen_id else d for d in tables["citizens"]]
    tables["contacts"] = [d for d in tables.get("contacts", []) if d["id"] != citizen_id]
    tables["measures"] = [d for d in tables.get("measures", []) if d["case_id"] not in case_ids]
    tables["events"] = [
        {k: v for k, v in d.items() if k not in PERSONAL} if d["case_id"] in case_ids else d
        for d in tables.get("events", [])
    ]
    return True


def erase_citizen(store: Store, actor: str, on: date, citizen_id: str) -> None:
    """Remove a citizen's personal data for good, keeping anonymous counts."""

    def build(_store: Any, tx: Transaction) -> None:
        citizen = store.get("citizens", citizen_id)
        if citizen is None or citizen.get("erased_on"):
            raise NotFound("citizen.not_found", id=citizen_id)
        tx.put("citizens", erased_citizen(citizen, on))
        if store.get("contacts", citizen_id) is not None:
            tx.delete("contacts", citizen_id)
        for case in store.find("cases", "citizen_id", citizen_id):
            for measure in store.find("measures", "case_id", case["id"]):
                tx.delete("measures", measure["id"])
            for event in store.find("events", "case_id", case["id"]):
                if any(k in event for k in PERSONAL):
                    tx.put("events", {k: v for k, v in event.items() if k not in PERSONAL})
        tx.put("erasures", {"id": citizen_id, "on": on.isoformat()})
        tx.log("erase", "citizens", citizen_id)

    store.transact(actor, build)
    store.compact()


def _collect(store: Store, actor: str, on: date, citizen_id: str) -> dict[str, Any]:
    def build(_store: Any, tx: Transaction) -> dict[str, Any]:
        citizen = store.get("citizens", citizen_id)
        if citizen is None or citizen.get("erased_on"):
            raise NotFound("citizen.not_found", id=citizen_id)
        cases = []
        for case in store.find("cases", "citizen_id", citizen_id):
            cases.append({**case, "events": store.find("events", "case_id", case["id"]),
                          "measures": store.find("measures", "case_id", case["id"])})
        tx.log("export", "citizens", citizen_id)
        return {"citizen": citizen, "contact": store.get("contacts", citizen_id), "cases": cases}

    data: dict[str, Any] = store.transact(actor, build)
    ids = {citizen_id, *(c["id"] for c in data["cases"]), *(m["id"] for c in data["cases"] for m in c["measures"])}
    data["audit"] = [a for a in store.audit_trail() if a["entity_id"] in ids]
    data["exported_on"] = on.isoformat()
    return data


def export_citizen(store: Store, actor: str, on: date, citizen_id: str) -> dict[str, Any]:
    """Everything held about one citizen (access request), including who opened their record when."""
    return _collect(store, actor, on, citizen_id)


def _rows(prefix: str, value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _rows(f"{prefix}.{key}" if prefix else key, item)
    elif isinstance(value, list):
        for number, item in enumerate(value, start=1):
            yield from _rows(f"{prefix}[{number}]", item)
    elif value is not None:
        yield prefix, str(value)


def safe_cell(text: str) -> str:
    """Neutralise a spreadsheet formula: a cell starting with = + - @ gets a leading apostrophe."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def export_citizen_csv(store: Store, actor: str, on: date, citizen_id: str) -> str:
    """The access-request export as CSV: one row per field (path, value), formulas neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["field", "value"])
    for path, value in _rows("", _collect(store, actor, on, citizen_id)):
        writer.writerow([safe_cell(path), safe_cell(value)])
    return buffer.getvalue()


def refuse_inside_data(root: Path, target: Path) -> None:
    """Refuse a personal copy (backup, access export) inside the data folder: an erasure would miss it."""
    data, where = Path(root).resolve(), Path(target).resolve()
    if where == data or data in where.parents:
        raise InvalidInput("backup.inside_data", field="to", root=str(data))


def write_export(store: Store, actor: str, on: date, citizen_id: str, target: Path, fmt: str) -> Path:
    """Write the access-request export to ``target`` (json or csv), refusing to overwrite."""
    if fmt not in ("json", "csv"):
        raise InvalidInput("input.choice", field="format")
    refuse_inside_data(Path(store.root), target)
    if target.exists():
        raise InvalidInput("backup.target_exists", field="to", path=str(target))
    text = (json.dumps(export_citizen(store, actor, on, citizen_id), ensure_ascii=False, indent=1) if fmt == "json"
            else export_citizen_csv(store, actor, on, citizen_id))
    write_atomic(target, text.encode("utf-8"))
    os.chmod(target, 0o600)
    return target
