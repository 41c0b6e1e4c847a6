"""Brobygning Workbench: case work, lab and research for bridge-building on one data layer.

    import workbench
    wb = workbench.open("/path/to/data")      # or $WORKBENCH_DATA
    wb.frames.cases                             # one row per case (polars)
"""

from __future__ import annotations

import os
from datetime import date
from typing import TYPE_CHECKING

from workbench.errors import (
    ConsentMissing,
    InvalidInput,
    NotFound,
    StaleEdit,
    StoreError,
    WorkbenchError,
    WorkflowRefused,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from workbench.service import Workbench

__all__ = [
    "ConsentMissing", "InvalidInput", "NotFound", "StaleEdit", "StoreError", "WorkbenchError",
    "WorkflowRefused", "open",
]


def open(
    path: str | os.PathLike[str] | None = None,
    *,
    actor: str | None = None,
    create: bool = True,
    today: Callable[[], date] = date.today,
) -> Workbench:
    """Open (creating if empty) the data directory and return a service handle acting as ``actor``."""
    from workbench import config
    from workbench.service import Workbench
    from workbench.store import JournalStore

    root = config.data_dir(path)
    store = JournalStore(root, create=create)
    return Workbench(store, config.actor(root, actor), today=today)
