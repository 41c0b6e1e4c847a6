"""JupyterLab launcher tiles in a "Brobygning" section, one per item the user's roles may open.

``jupyter_app_launcher`` (a maintained JupyterLab extension) draws tiles from YAML files in the
folder named by ``$JUPYTER_APP_LAUNCHER_PATH``, read on JupyterLab's first request and kept for
the server's life. The server acts for one user, so when it starts the workbench extension writes
that user's tiles into a private folder of its own and points the variable there:

- a dashboard: opens in a new browser tab;
- a notebook: opens it in JupyterLab (``workbench.serving.items.notebooks_within`` says where it is).

The file is JSON, which every YAML reader reads.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jupyter_server.utils import url_path_join

from workbench.serving.items import Item

CATALOG = "Brobygning"
PATH_ENV = "JUPYTER_APP_LAUNCHER_PATH"
FILE = "jp_app_launcher_brobygning.yaml"
ICON = Path(__file__).resolve().parent / "templates" / "brobygning.svg"


def tiles(items: Sequence[Item], base_url: str) -> list[dict[str, Any]]:
    """The launcher's tiles for ``items`` (those with nothing to open get none)."""
    out: list[dict[str, Any]] = []
    for item in items:
        tile: dict[str, Any] = {"title": item.title, "description": item.about, "icon": str(ICON), "catalog": CATALOG}
        if item.notebook:
            tile |= {"type": "jupyterlab-commands",
                     "source": [{"label": item.title, "id": "docmanager:open", "args": {"path": item.notebook}}]}
        elif item.path and not item.key.startswith("notebook-"):
            tile |= {"type": "url", "source": url_path_join(base_url, item.path), "args": {"createNewWindow": True}}
        else:
            continue
        out.append(tile)
    return out


def install(found: list[dict[str, Any]]) -> Path:
    """Write the tiles into a new private folder and point ``jupyter_app_launcher`` at it; returns the file."""
    folder = Path(tempfile.mkdtemp(prefix="workbench-launcher-"))
    path = folder / FILE
    path.write_text(json.dumps(found, ensure_ascii=False, indent=1), "utf-8")
    os.environ[PATH_ENV] = str(folder)
    return path
