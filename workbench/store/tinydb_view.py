"""A read-only TinyDB view of the store, for an administrator's ad-hoc queries with TinyDB's own API.

    from tinydb import Query
    db = workbench.open("/path/to/data", user="ada").tinydb()   # admin only; audited
    db.table("communities").search(Query().postal_code == "5000")

Writes are refused: every change goes through the service API (validation, workflow, audit).
The view shows every table whole (names, contacts), which is why only the service hands it out.
"""

from __future__ import annotations

from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage

from workbench.errors import StoreError
from workbench.store.journal import JournalStore, strip_none
from workbench.store.schema import TABLES


class JournalStorage(Storage):
    """TinyDB storage reading the current snapshot plus journal of a workbench data directory."""

    def __init__(self, store: JournalStore) -> None:
        self._store = store

    def read(self) -> dict[str, dict[str, Any]]:
        self._store.refresh()
        return {
            name: {str(n): strip_none(doc) for n, doc in enumerate(self._store.frame(name).to_dicts(), start=1)}
            for name in TABLES
        }

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        raise StoreError("store.read_only_tinydb")


def view(store: JournalStore) -> TinyDB:
    """A TinyDB instance over ``store`` (read-only); see ``Workbench.tinydb``."""
    return TinyDB(storage=JournalStorage, store=store)
