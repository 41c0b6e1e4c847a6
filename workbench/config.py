"""Where the data lives and who is acting: from arguments, environment, then defaults.

The data directory never comes from a path relative to the notebook (Voila and JupyterLab
run each kernel in the notebook's folder): ``--data``/``path``, else ``WORKBENCH_DATA``, else
``data/`` of the source checkout the package runs from (the folder ``make demo`` uses), else a
per-user data directory. A relative ``WORKBENCH_DATA`` is made absolute in the first process
that reads it (the command line, the server) and written back, so kernels inherit the absolute path.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import platformdirs

CONFIG_FILE = "config.json"
USER_ENV = "WORKBENCH_USER"
"""Set by ``workbench serve --user ID`` for its page kernels: who the dashboards act as."""


def data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The data directory to use."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get("WORKBENCH_DATA", "").strip()
    if env:
        resolved = Path(env).expanduser().resolve()
        if str(resolved) != env:  # made absolute once, here: every process started from this one finds the same folder
            os.environ["WORKBENCH_DATA"] = str(resolved)
        return resolved
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "Makefile").is_file():
        return checkout / "data"  # what `make demo` uses (WORKBENCH_DATA=$(CURDIR)/data)
    return Path(platformdirs.user_data_dir("brobygning-workbench", appauthor=False))


def user_config(root: Path) -> dict[str, Any]:
    """The signed-in coordinator's settings kept in the data directory (empty if none)."""
    path = root / CONFIG_FILE
    try:
        data = json.loads(path.read_text("utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def signed_in_user() -> str | None:
    """The user id a page acts as: ``JUPYTERHUB_USER`` under JupyterHub, else ``WORKBENCH_USER``."""
    for name in ("JUPYTERHUB_USER", USER_ENV):
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None
