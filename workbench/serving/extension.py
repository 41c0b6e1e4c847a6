"""The workbench as a Jupyter server extension (``workbench``): a landing page per role and a health check.

Any Jupyter server in the environment loads it: ``pip install`` puts
``etc/jupyter/jupyter_server_config.d/workbench.json`` beside Voila's and JupyterLab's, and
``workbench._jupyter_server_extension_points`` names ``WorkbenchApp``. Its settings are the traits
below (``--WorkbenchApp.pool_size=3``, or a ``jupyter_server_config`` file).

- ``/workbench/``: what the signed-in user's roles may open, in their language: the coordinator's
  and the project lead's dashboards (through Voila's server extension in the same server), and for
  lab and research users JupyterLab on the notebooks. Names come from ``users.toml``; the user is
  the one the server acts as (``JUPYTERHUB_USER`` under JupyterHub, else ``WORKBENCH_USER``).
- ``/workbench/api/health``: ``{"status": "ok"}`` without a login, for the hub and for monitoring;
  nothing else is said before a login.
- ``/``: leads to ``/workbench/``.
- ``/workbench/api/…``: the JSON API (``workbench.serving.api``).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.extension.application import ExtensionApp
from jupyter_server.utils import url_path_join
from tornado import web
from traitlets import Integer, Unicode

from workbench import config
from workbench.errors import WorkbenchError
from workbench.i18n import t
from workbench.service import users
from workbench.service.users import Role, User
from workbench.serving.api import HANDLERS

DASHBOARDS = {Role.coordinator: "koordinator.ipynb", Role.lead: "projektleder.ipynb"}
"""The dashboard notebook each role opens (served by Voila under ``/voila/render/``)."""
NOTEBOOKS = ("01_kom_godt_i_gang", "02_laboratorium_prototype", "03_effektmaaling", "04_datakvalitet",
             "05_laeringslab")
"""The lab and research notebooks offered on the landing page, in order."""


@dataclass(frozen=True)
class Item:
    """One thing the landing page offers: its title, a line about it, and where it is (below the base URL)."""

    key: str
    title: str
    about: str
    path: str


def items_for(user: User, lang: str) -> list[Item]:
    """What ``user``'s roles may open, in the order of their roles."""
    out: list[Item] = []
    for role in user.roles:
        if role in DASHBOARDS:
            out.append(Item(f"dashboard-{role.value}", t(f"landing.dashboard.{role.value}", lang),
                            t(f"landing.dashboard.{role.value}.about", lang), f"voila/render/{DASHBOARDS[role]}"))
        elif role in (Role.lab, Role.researcher) and not any(i.key.startswith("notebook-") for i in out):
            out += [Item(f"notebook-{name}", t(f"landing.notebook.{name}", lang), t("landing.notebook.about", lang),
                         f"lab/tree/{name}.ipynb") for name in NOTEBOOKS]
        elif role is Role.admin:
            out.append(Item("admin", t("landing.admin", lang), t("landing.admin.about", lang), ""))
    return out


class WorkbenchApp(ExtensionApp):
    """The workbench's part of a Jupyter server: its pages, and the settings of its dashboards."""

    name = "workbench"
    extension_url = "/workbench/"
    load_other_extensions = True

    data = Unicode("", config=True, help="The data directory (default: $WORKBENCH_DATA, then a per-user folder).")
    pool_size = Integer(2, config=True, help="Preheated kernels kept ready per dashboard notebook.")
    cull_after = Integer(300, config=True, help="Seconds after which a kernel whose page is gone is shut down.")

    def initialize_settings(self) -> None:
        self.settings["workbench_data"] = config.data_dir(self.data or None)

    def initialize_handlers(self) -> None:
        self.handlers.extend([
            (r"/", RootHandler),
            (r"/workbench/?", LandingHandler),
            (r"/workbench/api/health", HealthHandler),
            *HANDLERS,
        ])


class LandingHandler(JupyterHandler):
    """``/workbench/``: the signed-in user's own items, nothing else."""

    @web.authenticated
    def get(self) -> None:
        root = Path(self.settings["workbench_data"])
        try:
            user = users.resolve(root, None)
        except WorkbenchError as refused:
            self.set_status(403)
            self.finish(_page(t("landing.title"), f'<p class="wb-refused">{html.escape(refused.message)}</p>', "da"))
            return
        lang = user.language
        rows = "".join(
            f'<li class="wb-item wb-{html.escape(i.key)}">'
            + (f'<a href="{html.escape(url_path_join(self.base_url, i.path))}">{html.escape(i.title)}</a>'
               if i.path else f"<strong>{html.escape(i.title)}</strong>")
            + f"<br><span>{html.escape(i.about)}</span></li>"
            for i in items_for(user, lang))
        roles = ", ".join(t(f"users.role.{r.value}", lang) for r in user.roles)
        body = (f"<h1>{html.escape(t('landing.title', lang))}</h1>"
                f'<p class="wb-who">{html.escape(t("landing.who", lang, name=user.name, roles=roles))}</p>'
                f'<ul class="wb-items">{rows}</ul>')
        self.finish(_page(t("landing.title", lang), body, lang))


class RootHandler(JupyterHandler):
    """The server's root address: the landing page (not Jupyter's own start page, nor Voila's file list)."""

    @web.authenticated
    def get(self) -> None:
        self.redirect(url_path_join(self.base_url, "workbench/"))


class HealthHandler(JupyterHandler):
    """``/workbench/api/health``: the server answers (for JupyterHub and monitoring; no login needed, nothing told)."""

    @allow_unauthenticated
    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps({"status": "ok", "version": metadata.version("brobygning-workbench")}))


_STYLE = ("body{font-family:system-ui,sans-serif;margin:2em auto;max-width:44em;color:#222;padding:0 1em}"
          "li{margin:.8em 0}a{font-size:1.15em}span{color:#555}")


def _page(title: str, body: str, lang: str) -> str:
    """A whole page: no script, no file from anywhere else."""
    return (f'<!doctype html><html lang="{html.escape(lang)}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>")


def extension_points() -> list[dict[str, Any]]:
    """What ``workbench._jupyter_server_extension_points`` returns."""
    return [{"module": "workbench.serving.extension", "app": WorkbenchApp}]
