"""Brobygning Workbench: case work, lab and research for bridge-building on one data layer.

    import workbench
    wb = workbench.open("/path/to/data", user="anna")   # or $WORKBENCH_DATA; a user of its users.toml
    wb.frames.cases                                       # one row per case of Anna's sites (polars)
"""

from __future__ import annotations

import os
from datetime import date
from typing import TYPE_CHECKING, Any

from workbench.errors import (
    ConsentMissing,
    InvalidInput,
    NotAllowed,
    NotFound,
    StaleEdit,
    StoreError,
    WorkbenchError,
    WorkflowRefused,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from workbench.service import Workbench
    from workbench.service.users import User

__all__ = [
    "ConsentMissing", "InvalidInput", "NotAllowed", "NotFound", "StaleEdit", "StoreError", "WorkbenchError",
    "WorkflowRefused", "init", "open", "preheat",
]


def open(
    path: str | os.PathLike[str] | None = None,
    *,
    user: str | User | None = None,
    create: bool = True,
    today: Callable[[], date] = date.today,
) -> Workbench:
    """Open (creating if empty) the data directory and return a handle acting as a known user.

    ``user``: a ``users.User`` or the id of one in the directory's ``users.toml``; without it,
    the signed-in user (``JUPYTERHUB_USER``, ``WORKBENCH_USER``), else the only user there is.
    Every call is checked against the user's roles and sites. There is no handle without a user.
    """
    from workbench import config
    from workbench.service import Workbench, users
    from workbench.store import JournalStore

    root = config.data_dir(path)
    store = _preheated.pop(root, None) or JournalStore(root, create=create)
    _migrate_users(root)
    return Workbench(store, users.resolve(root, user), today=today)


_preheated: dict[os.PathLike[str], Any] = {}


def preheat(path: str | os.PathLike[str] | None = None) -> None:
    """Open the data directory and build its frames before anyone signs in (a preheated page kernel).

    No handle is made: the next ``open`` of the directory, for the user who signs in, uses the store
    opened here (and catches up with whatever other processes wrote meanwhile).
    """
    from workbench import config
    from workbench.reporting.frames import Frames
    from workbench.store import JournalStore

    root = config.data_dir(path)
    store = JournalStore(root)
    Frames(store).all()
    _preheated[root] = store


def init(path: str | os.PathLike[str] | None = None) -> os.PathLike[str]:
    """Create an empty data directory (or check an existing one); no user is needed for a store that holds nothing yet."""
    from workbench import config
    from workbench.store import JournalStore

    root = config.data_dir(path)
    JournalStore(root, create=True)
    return root


def _migrate_users(root: os.PathLike[str]) -> None:
    """An older data directory's ``config.json`` users become ``users.toml``, once, with a message."""
    import logging
    from pathlib import Path

    from workbench import config
    from workbench.i18n import t
    from workbench.service import users

    made = users.migrate_config(Path(root), config.user_config(Path(root)))
    if made:
        logging.getLogger("workbench").warning(t(
            "users.migrated", config=str(Path(root) / config.CONFIG_FILE), path=str(users.path(Path(root))),
            users=", ".join(f"{u.id} ({u.role.value})" for u in made)))
