"""A read-only TinyDB view of a data directory, for ad-hoc queries with TinyDB's own API.

    from tinydb import Query
    db = workbench.store.tinydb_view.open_tinydb("/path/to/data")
    db.table("communities").search(Query().postal_code == "5000")

Writes are refused: every change goes through the service API (validation, workflow, audit).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage

from workbench.errors import StoreError
from workbench.schema import TABLES
from workbench.store.journal import JournalStore, strip_none


class JournalStorage(Storage):
    """TinyDB storage reading the current snapshot plus journal of a workbench data directory."""

    def __init__(self, path: str | Path) -> None:
        self._store = JournalStore(Path(path), create=False)

    def read(self) -> dict[str, dict[str, Any]]:
        self._store.refresh()
        return {
            name: {str(n): strip_none(doc) for n, doc in enumerate(self._store.frame(name).to_dicts(), start=1)}
            for name in TABLES
        }

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        raise StoreError("store.read_only_tinydb")


def open_tinydb(path: str | Path) -> TinyDB:
    """A TinyDB instance over the data directory (read-only)."""
    return TinyDB(str(path), storage=JournalStorage)
