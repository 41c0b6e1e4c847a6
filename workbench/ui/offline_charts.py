"""The JavaScript that draws Altair's ``JupyterChart`` in the browser, bundled once per installation.

``alt.JupyterChart.enable_offline()`` bundles it (vega, vega-lite, vega-embed: no CDN) with
vl-convert in every kernel: 2-3 s, after which vl-convert's engine stays in the kernel (about
130 MB). The bundle depends only on the installed altair and vl-convert, so the first kernel keeps
it in the user's cache folder and every later kernel reads it from there.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from importlib import metadata
from pathlib import Path

import altair as alt

log = logging.getLogger("workbench.ui")


def cache_folder() -> Path:
    """``$XDG_CACHE_HOME/workbench`` (``~/.cache/workbench`` without it)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "workbench"


def bundle_path() -> Path:
    """Where the bundle of the installed altair and vl-convert is kept."""
    versions = f"altair {metadata.version('altair')} vl-convert {metadata.version('vl-convert-python')}"
    return cache_folder() / f"jupyterchart-{hashlib.sha256(versions.encode()).hexdigest()[:16]}.js"


def enable() -> None:
    """Make every ``JupyterChart`` draw from the offline bundle (made here the first time)."""
    if alt.JupyterChart._is_offline:
        return
    path = bundle_path()
    try:
        bundle = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        bundle = ""
    if not bundle:
        alt.JupyterChart.enable_offline()
        _keep(path, alt.JupyterChart._esm)
        return
    alt.JupyterChart._esm = bundle  # what enable_offline() sets, read from the cache
    alt.JupyterChart._is_offline = True


def _keep(path: Path, bundle: str) -> None:
    """Write the bundle so that a reader sees it whole or not at all (best effort: it is a cache)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=".bundle-",
                                         suffix=".tmp", delete=False) as handle:
            handle.write(bundle)
        os.replace(handle.name, path)
    except OSError as exc:
        log.warning("chart bundle not kept in %s: %s", path.parent, exc)
