"""The JavaScript that draws Altair's ``JupyterChart`` in the browser, bundled once per installation
and downloaded once per page.

``alt.JupyterChart.enable_offline()`` bundles it (vega, vega-lite, vega-embed: no CDN) with
vl-convert in every kernel: 2-3 s, after which vl-convert's engine stays in the kernel (about
130 MB), and every chart's widget state carries the whole bundle (900 kB) to the browser, which
evaluates it once per chart. The bundle depends only on the installed altair and vl-convert, so
the first kernel keeps it in the user's cache folder; the server serves that file
(``/workbench/charts/<name>``, ``handlers.ChartBundle``), and each chart's widget carries only a
few lines that import it from there: the browser fetches and evaluates it once per page.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from importlib import metadata
from pathlib import Path

import platformdirs

log = logging.getLogger("workbench.serving")

URL_PATH = "workbench/charts/"
"""Where the server serves the kept bundle, under its base URL."""
NAME = re.compile(r"jupyterchart-[0-9a-f]{16}\.js")


def cache_folder() -> Path:
    """The user's cache folder for the workbench (``$XDG_CACHE_HOME/workbench`` on Linux)."""
    return Path(platformdirs.user_cache_dir("workbench"))


def bundle_path() -> Path:
    """Where the bundle of the installed altair and vl-convert is kept."""
    versions = f"altair {metadata.version('altair')} vl-convert {metadata.version('vl-convert-python')}"
    return cache_folder() / f"jupyterchart-{hashlib.sha256(versions.encode()).hexdigest()[:16]}.js"


def enable() -> None:
    """Make every ``JupyterChart`` draw from the offline bundle served by the server (made here the
    first time, or again when the kept one is damaged); where it cannot be kept, each chart carries it."""
    import altair as alt

    if alt.JupyterChart._is_offline:
        return
    path = bundle_path()
    if _whole(path) is None:
        alt.JupyterChart.enable_offline()
        if not _keep(path, alt.JupyterChart._esm):
            return
    alt.JupyterChart._esm = _importer(path.name)  # in place of what enable_offline() sets
    alt.JupyterChart._is_offline = True


def _importer(name: str) -> str:
    """A chart's module: the served bundle's, imported once per page (the page's base URL is in its
    ``jupyter-config-data``, as on every Jupyter and Voila page)."""
    return (
        'const page = JSON.parse(document.getElementById("jupyter-config-data")?.textContent || "{}");\n'
        f'const url = new URL(`${{page.baseUrl || "/"}}{URL_PATH}{name}`, window.location.href);\n'
        "export default (await import(url.href)).default;\n"
    )


def _digest(bundle: str) -> str:
    return hashlib.sha256(bundle.encode()).hexdigest()


def _whole(path: Path) -> bytes | None:
    """The kept file, if it is there and whole: its first line (a JavaScript comment) holds the
    SHA-256 of the rest."""
    try:
        data = path.read_bytes()
        first, _, bundle = data.decode("utf-8").partition("\n")
    except (OSError, UnicodeDecodeError):
        return None
    if first != f"// sha256 {_digest(bundle)}":
        log.warning("chart bundle %s is damaged", path)
        return None
    return data


def read_served(name: str) -> bytes | None:
    """The kept file called ``name``, whole, as the server sends it."""
    return _whole(cache_folder() / name) if NAME.fullmatch(name) else None


def _keep(path: Path, bundle: str) -> bool:
    """Write the bundle so that a reader sees it whole or not at all; whether it was kept (a cache:
    a failure is logged, not raised)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=".bundle-",
                                         suffix=".tmp", delete=False) as handle:
            handle.write(f"// sha256 {_digest(bundle)}\n{bundle}")
        os.replace(handle.name, path)
    except OSError as exc:
        log.warning("chart bundle not kept in %s: %s", path.parent, exc)
        return False
    return True
