"""The one Jupyter server: the workbench extension (landing page, API, dashboards through Voila) and
what each dashboard page's kernel does before it builds a page.

- ``workbench.serving.extension``: the server extension ``workbench`` (every Jupyter server of the environment loads it).
- ``workbench.serving.dashboards``: Voila's pages in that server, read from ``dashboards/``.
- ``workbench.serving.pool``: the server's kernel manager, with preheated kernels per dashboard.
- ``workbench.serving.handlers``: every dashboard route behind the login.
- ``workbench.serving.authorizer``: what a user whose roles run no code may do in the server.
- ``workbench.serving.api``: the JSON API.
- ``workbench.serving.kernel``: a page kernel's failures go to the server-side log, never to the page.
- ``workbench.serving.chart_bundle``: the charts' JavaScript, bundled once and downloaded once per page.
"""

import os
from pathlib import Path

import platformdirs

KERNEL_SECRET_ENV = "WORKBENCH_KERNEL_SECRET"
"""The environment variable that carries the request-info socket's secret to our kernels."""
KERNEL_SECRET_HEADER = "X-Workbench-Kernel"
"""The header a kernel presents that secret in."""
LOG_ENV = "WORKBENCH_LOG"
"""The environment variable naming the server-side log file of the page kernels."""
KERNEL_LOG = "dashboards.log"


def package_dir() -> Path:
    """The installed ``workbench`` package folder."""
    return Path(__file__).resolve().parent.parent


def jupyter_dir() -> Path:
    """The folder to put on ``JUPYTER_PATH``: it holds ``voila/templates/brobygning``."""
    return package_dir()


def dashboards_dir() -> Path:
    """``dashboards/`` beside the package: the project's source checkout (or editable install)."""
    return package_dir().parent / "dashboards"


def notebooks_dir() -> Path:
    """``notebooks/`` beside the package: the lab and research notebooks."""
    return package_dir().parent / "notebooks"


def default_log() -> Path:
    """The server-side log every page kernel writes its failures to, never the page.

    Outside the data folder (a traceback may quote a value, and an erasure must leave no copy of
    a citizen's data in that folder): the user's log folder, e.g. ``~/.local/state/brobygning-workbench/log``.
    """
    return Path(platformdirs.user_log_dir("brobygning-workbench", appauthor=False)) / KERNEL_LOG


def prepend_path(entry: str, existing: str | None) -> str:
    """A search path (``JUPYTER_PATH``, ``PYTHONPATH``) with ``entry`` first, and only once."""
    parts = [p for p in (existing or "").split(os.pathsep) if p and p != entry]
    return os.pathsep.join([entry, *parts])
