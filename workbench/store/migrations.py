"""Schema migrations: one function per version step, applied in order under the write lock.

To change the stored shape: raise ``SCHEMA_VERSION`` in ``workbench.store.schema`` and add
``MIGRATIONS[old] = fn`` that rewrites the tables of version ``old`` into ``old + 1`` (given the
data folder, for what version ``old`` kept beside the tables).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workbench.errors import StoreError
from workbench.store.schema import SCHEMA_VERSION

Tables = dict[str, list[dict[str, Any]]]
LEGACY_LEDGER = "erasures.json"


def _ledger_into_the_store(tables: Tables, root: Path) -> Tables:
    """Version 1 kept the erasure ledger in ``erasures.json`` beside the store; version 2 keeps it as
    the ``erasures`` table, written in the same transaction as each erasure."""
    try:
        entries = json.loads((root / LEGACY_LEDGER).read_text("utf-8")).get("erasures", [])
    except FileNotFoundError:
        entries = []
    except (OSError, ValueError, AttributeError) as exc:
        raise StoreError("store.corrupt", path=str(root / LEGACY_LEDGER), detail=str(exc)) from None
    ledger = {e["citizen_id"]: {"id": e["citizen_id"], "on": e["on"]} for e in entries}
    return {**tables, "erasures": list(ledger.values())}


def _sealed_journal(tables: Tables, _root: Path) -> Tables:
    """Version 3 seals every journal line with its checksum. The tables stay as they are; writing
    them compacts the store, so the journal that follows holds sealed lines only."""
    return tables


def _intervention_templates(tables: Tables, _root: Path) -> Tables:
    """Version 4 gives an intervention its template (version, target group, steps, success criteria,
    pilot sites). Every new field has a default, so the records stay as they are; the step keeps an
    older workbench, which would drop the new fields, from writing to the store."""
    return tables


def _client_keys(tables: Tables, _root: Path) -> Tables:
    """Version 5 gives a case the referring system's ``client_key`` (optional, so the records stay as they
    are) and a consent purpose, ``referrer_feedback``; the step keeps older workbenches from writing."""
    return tables


MIGRATIONS: dict[int, Callable[[Tables, Path], Tables]] = {
    1: _ledger_into_the_store, 2: _sealed_journal, 3: _intervention_templates, 4: _client_keys}


def migrate(tables: Tables, found: int, root: Path) -> Tables:
    """The tables of a store of schema ``found``, brought up to ``SCHEMA_VERSION`` (the store writes them)."""
    for version in range(found, SCHEMA_VERSION):
        step = MIGRATIONS.get(version)
        if step is None:
            raise StoreError("store.no_migration", found=version, supported=SCHEMA_VERSION)
        tables = step(tables, root)
    return tables


def done(root: Path) -> None:
    """After the migrated tables are written: what older versions kept beside them goes."""
    (root / LEGACY_LEDGER).unlink(missing_ok=True)  # its entries are in the store now
