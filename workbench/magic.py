"""``%load_ext workbench``: a ready ``lab`` handle in a notebook, and the ``%workbench`` magic.

The handle is opened on the newest extract the signed-in user may read (``workbench.lab.open``);
a refusal or a missing extract is printed as one sentence, never a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.i18n import t


def _notebook_name(shell: Any) -> str:
    """The notebook's file name without suffix, when the kernel knows it (Jupyter Server passes the
    notebook's path as ``JPY_SESSION_NAME``; ipykernel puts it in ``__session__``)."""
    session = str(shell.user_ns.get("__session__", "") or os.environ.get("JPY_SESSION_NAME", ""))
    return Path(session).stem or "notebook"


def load(shell: Any) -> None:
    """Put ``lab`` into the notebook's namespace and register ``%workbench``.

    Charts render as SVG in the kernel (vl-convert), so a notebook needs no JavaScript from a CDN
    and its saved outputs show the charts anywhere.
    """
    import altair as alt

    from workbench import lab as lab_module

    alt.renderers.enable("svg")
    shell.register_magic_function(lambda line="": workbench_magic(shell, line), "line", "workbench")
    try:
        handle = lab_module.open(notebook=_notebook_name(shell))
    except WorkbenchError as exc:
        print(exc.message)
        return
    shell.push({"lab": handle})
    print(t("lab.magic.loaded", id=handle.id, created=handle.extract.created, path=str(handle.extract.path)))


def workbench_magic(shell: Any, _line: str = "") -> Any:
    """``%workbench``: the extract's id, where it is, and every table's columns with type and meaning."""
    handle = shell.user_ns.get("lab")
    if handle is None:
        load(shell)
        handle = shell.user_ns.get("lab")
        if handle is None:
            return None
    print(t("lab.magic.header", id=handle.id, created=handle.extract.created, path=str(handle.extract.path)))
    return handle.extract.schemas()
