"""Opening a data directory as a known user: the one way to a ``Workbench`` handle (``workbench.open``)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any

from workbench import config
from workbench.i18n import t
from workbench.service import users
from workbench.service.handle import Workbench
from workbench.service.users import User
from workbench.store import JournalStore


def open_workbench(
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
    root = config.data_dir(path)
    store = _preheated.pop(root, None) or JournalStore(root, create=create)
    _migrate_users(root)
    return Workbench(store, users.resolve(root, user), today=today)


_preheated: dict[os.PathLike[str], Any] = {}


def preheat(path: str | os.PathLike[str] | None = None, tables: Iterable[str] | None = None) -> None:
    """Open the data directory before anyone signs in (a preheated page kernel), reading ``tables``
    (every table when None) so the page need not; the rest are read if the page needs them.

    No handle is made: the next ``open`` of the directory, for the user who signs in, uses the store
    opened here (and catches up with whatever other processes wrote meanwhile). No frame is built:
    which rows a page needs depends on who signs in (a coordinator's sites; the lead reads the
    shared tables), and every site's frames would only fill the kernel.
    """
    root = config.data_dir(path)
    store = JournalStore(root)
    store.preload(tables)
    _preheated[root] = store


def init(path: str | os.PathLike[str] | None = None) -> os.PathLike[str]:
    """Create an empty data directory (or check an existing one); no user is needed for a store that holds nothing yet."""
    root = config.data_dir(path)
    JournalStore(root, create=True)
    return root


def _migrate_users(root: os.PathLike[str]) -> None:
    """An older data directory's ``config.json`` users become ``users.toml``, once, with a message."""
    made = users.migrate_config(Path(root), config.user_config(Path(root)))
    if made:
        logging.getLogger("workbench").warning(t(
            "users.migrated", config=str(Path(root) / config.CONFIG_FILE), path=str(users.path(Path(root))),
            users=", ".join(f"{u.id} ({u.role.value})" for u in made)))
