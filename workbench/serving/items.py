"""What a user's roles may open in the one server: the landing page's list and JupyterLab's launcher tiles."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from workbench.i18n import t
from workbench.service.users import Role, User
from workbench.serving import notebooks_dir

DASHBOARDS = {Role.coordinator: "koordinator.ipynb", Role.lead: "projektleder.ipynb"}
"""The dashboard notebook each role opens (served under ``/voila/render/``)."""
NOTEBOOKS = ("01_kom_godt_i_gang", "02_laboratorium_prototype", "03_effektmaaling", "04_datakvalitet",
             "05_laeringslab")
"""The lab and research notebooks offered, in order."""


@dataclass(frozen=True)
class Item:
    """One thing offered: its title, a line about it, and where it is.

    ``path`` is below the server's base URL ("" for nothing to open); ``notebook`` is a notebook's
    file relative to the server's root folder ("" for none).
    """

    key: str
    title: str
    about: str
    path: str
    notebook: str = ""


WORK_FOLDER = "brobygning"
"""Where a server whose root folder does not hold ``notebooks/`` gets its own copies of the notebooks."""


def notebooks_within(root_dir: str | Path) -> str | None:
    """Where the lab and research notebooks are below the server's root folder ("" for the root itself).

    When ``notebooks/`` is not below it (a person's home under JupyterHub, or ``workbench serve
    --workdir``), the notebooks are copied into ``<root>/brobygning/``: each one that is missing
    there, never over a person's own edits. None when that folder cannot be written.
    """
    folder, root = notebooks_dir().resolve(), Path(root_dir).expanduser().resolve()
    if folder == root or root in folder.parents:
        return folder.relative_to(root).as_posix() if folder != root else ""
    work = root / WORK_FOLDER
    try:
        work.mkdir(exist_ok=True)
        for name in NOTEBOOKS:
            if not (work / f"{name}.ipynb").exists():
                shutil.copyfile(folder / f"{name}.ipynb", work / f"{name}.ipynb")
    except OSError:
        return None
    return WORK_FOLDER


def items_for(user: User, lang: str, notebooks: str | None = "") -> list[Item]:
    """What ``user``'s roles may open, in the order of their roles.

    ``notebooks``: where the notebooks are below the server's root folder (``notebooks_within``);
    None when they are not there (then the landing page leads to JupyterLab itself).
    """
    out: list[Item] = []
    for role in user.roles:
        if role in DASHBOARDS:
            out.append(Item(f"dashboard-{role.value}", t(f"landing.dashboard.{role.value}", lang),
                            t(f"landing.dashboard.{role.value}.about", lang), f"voila/render/{DASHBOARDS[role]}"))
        elif role in (Role.lab, Role.researcher) and not any(i.key.startswith("notebook-") for i in out):
            for name in NOTEBOOKS:
                file = f"{notebooks}/{name}.ipynb".lstrip("/") if notebooks is not None else ""
                out.append(Item(f"notebook-{name}", t(f"landing.notebook.{name}", lang), t("landing.notebook.about", lang),
                                f"lab/tree/{file}" if file else "lab", file))
        elif role is Role.admin:
            out.append(Item("admin", t("landing.admin", lang), t("landing.admin.about", lang), ""))
    return out
