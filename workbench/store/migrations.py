"""Schema migrations: one function per version step, applied in order under the write lock.

To change the stored shape: raise ``SCHEMA_VERSION`` in ``workbench.schema`` and add
``MIGRATIONS[old] = fn`` that rewrites the tables of version ``old`` into ``old + 1``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from workbench.errors import StoreError
from workbench.schema import SCHEMA_VERSION

if TYPE_CHECKING:
    from workbench.store.journal import JournalStore

Tables = dict[str, list[dict[str, Any]]]
MIGRATIONS: dict[int, Callable[[Tables], Tables]] = {}


def migrate(store: JournalStore, found: int) -> None:
    """Bring a store of schema ``found`` up to ``SCHEMA_VERSION`` (caller holds the lock)."""
    tables = {name: frame for name, frame in store.export_tables().items()}
    for version in range(found, SCHEMA_VERSION):
        step = MIGRATIONS.get(version)
        if step is None:
            raise StoreError("store.no_migration", found=version, supported=SCHEMA_VERSION)
        tables = step(tables)
    store.replace_all(tables, actor="migration")
    store.set_schema_version(SCHEMA_VERSION)
