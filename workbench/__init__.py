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
    from workbench.users import User

__all__ = [
    "ConsentMissing", "InvalidInput", "NotAllowed", "NotFound", "StaleEdit", "StoreError", "WorkbenchError",
    "WorkflowRefused", "open",
]


def open(
    path: str | os.PathLike[str] | None = None,
    *,
    actor: str | None = None,
    user: str | User | None = None,
    create: bool = True,
    today: Callable[[], date] = date.today,
) -> Workbench:
    """Open (creating if empty) the data directory and return a service handle.

    ``user``: who is acting, a ``users.User`` or the id of one in the directory's ``users.toml``;
    every call is then checked against the user's role and sites. Without it the handle acts as
    ``actor`` (see ``Workbench``).
    """
    from workbench import config, users
    from workbench.service import Workbench
    from workbench.store import JournalStore

    root = config.data_dir(path)
    store = JournalStore(root, create=create)
    _migrate_users(root)
    if isinstance(user, str):
        user = users.known(root, user)
    return Workbench(store, config.actor(root, actor) if user is None else user.id, today=today, user=user)


def _migrate_users(root: os.PathLike[str]) -> None:
    """An older data directory's ``config.json`` users become ``users.toml``, once, with a message."""
    import logging
    from pathlib import Path

    from workbench import config, users
    from workbench.i18n import t

    made = users.migrate_config(Path(root), config.user_config(Path(root)))
    if made:
        logging.getLogger("workbench").warning(t(
            "users.migrated", config=str(Path(root) / config.CONFIG_FILE), path=str(users.path(Path(root))),
            users=", ".join(f"{u.id} ({u.role.value})" for u in made)))
