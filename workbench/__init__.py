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
    from collections.abc import Callable, Iterable

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
    from workbench.service import opening

    return opening.open_workbench(path, user=user, create=create, today=today)


def preheat(path: str | os.PathLike[str] | None = None, tables: Iterable[str] | None = None) -> None:
    """Open the data directory before anyone signs in (``service.opening.preheat``)."""
    from workbench.service import opening

    opening.preheat(path, tables)


def init(path: str | os.PathLike[str] | None = None) -> os.PathLike[str]:
    """Create an empty data directory (or check an existing one); no user is needed for a store that holds nothing yet."""
    from workbench.service import opening

    return opening.init(path)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext workbench``: a ``lab`` handle on the newest extract and the ``%workbench`` magic."""
    from workbench.magic import load

    load(ipython)


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """The Jupyter server extension (``workbench.serving.extension.WorkbenchApp``), found by every Jupyter server."""
    from workbench.serving.extension import extension_points

    return extension_points()
