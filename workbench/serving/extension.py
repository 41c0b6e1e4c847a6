"""The workbench as a Jupyter server extension (``workbench``): one server where each person finds their own work.

Any Jupyter server in the environment loads it: ``pip install`` puts
``etc/jupyter/jupyter_server_config.d/workbench.json`` beside Voila's and JupyterLab's (it also
turns Voila's own server extension and jupyter-server-proxy off), and
``workbench._jupyter_server_extension_points`` names ``WorkbenchApp``. Unless configured otherwise,
the server's kernel manager and authorizer become the workbench's. Its settings are the
traits below (``--WorkbenchApp.pool_size=3``, or a ``jupyter_server_config`` file).

The server acts for one user: ``JUPYTERHUB_USER`` under JupyterHub, else ``WORKBENCH_USER``
(``workbench serve --user``); their roles and sites come from ``users.toml``. When it starts, the
extension decides from those roles what the server offers:

- ``/workbench/``: the landing page in the user's language, listing what their roles may open;
  ``/`` leads there;
- ``/voila/render/<dashboard>``: the coordinator's and the lead's dashboards, from preheated kernels
  (``workbench.serving.dashboards``, ``workbench.serving.pool``);
- JupyterLab with launcher tiles in a "Brobygning" section (``workbench.serving.launcher``);
- for a user whose roles run no code, nothing else (``workbench.serving.authorizer``);
- ``/workbench/api/health``: ``{"status": "ok"}`` without a login, for the hub and for monitoring;
- ``/workbench/api/…``: the JSON API (``workbench.serving.api``).
"""

from __future__ import annotations

import json
import os
import urllib.request
from importlib import metadata
from pathlib import Path
from typing import Any

import jinja2
from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.extension.application import ExtensionApp
from jupyter_server.serverapp import ServerApp
from jupyter_server.utils import url_path_join
from tornado import web
from traitlets import Bool, Integer, List, TraitError, Unicode, validate

from workbench import config, i18n
from workbench.errors import InvalidInput, WorkbenchError
from workbench.i18n import catalog, t
from workbench.service import users
from workbench.service.users import User
from workbench.serving import LOG_ENV, chart_bundle, dashboards, default_log, launcher
from workbench.serving.api import HANDLERS
from workbench.serving.authorizer import LIMITED_MESSAGES, WorkbenchAuthorizer, runs_code
from workbench.serving.handlers import ChartBundle, TokenLeavesTheAddress, kernel_secret
from workbench.serving.items import DASHBOARDS, items_for, notebooks_within
from workbench.serving.pool import DashboardKernelManager, check_pool_size

TEMPLATES = Path(__file__).resolve().parent / "templates"


class WorkbenchApp(ExtensionApp):
    """The workbench's part of a Jupyter server: its pages, its API, and the dashboards with their kernels."""

    name = "workbench"
    extension_url = "/workbench/"
    load_other_extensions = True

    data = Unicode("", config=True, help="The data directory (default: $WORKBENCH_DATA, then a per-user folder).")
    pool_size = Integer(2, config=True, help="Preheated kernels kept ready per dashboard the user may open (1-8).")
    cull_after = Integer(300, config=True, help="Seconds within which a kernel whose page is gone is shut down "
                                                "(unless the server's own kernel culling is configured).")

    dashboards_folder = Unicode("", config=True, help="The folder the dashboard notebooks are read from "
                                                      "(default: dashboards/ beside the package).")
    preheat_also = List(Unicode(), config=True, help="Notebooks of that folder kept preheated for the signed-in user "
                                                     "beside their role's dashboards (benchmarks' reference page).")

    hub_groups = Bool(False, config=True, help="Under JupyterHub: the user's roles and sites come from their hub groups "
                                               "(workbench-coordinator, workbench-site-ODE, ...), written to users.toml.")
    group_prefix = Unicode(users.GROUP_PREFIX, config=True, help="The prefix of the hub groups that give roles and sites.")

    @validate("pool_size")
    def _valid_pool_size(self, proposal: Any) -> int:
        try:
            return check_pool_size(int(proposal["value"]))
        except InvalidInput as bad:
            raise TraitError(bad.message) from None

    def _link_jupyter_server_extension(self, serverapp: ServerApp) -> None:
        """Before the server makes its kernel manager and authorizer: the workbench's, unless configured otherwise."""
        super()._link_jupyter_server_extension(serverapp)
        chosen = serverapp.config.ServerApp
        if "kernel_manager_class" not in chosen:
            serverapp.kernel_manager_class = DashboardKernelManager
        if "authorizer_class" not in chosen:
            serverapp.authorizer_class = WorkbenchAuthorizer

    def initialize_settings(self) -> None:
        server = self.serverapp
        assert server is not None  # an extension's settings are made once it is loaded into a server
        root = config.data_dir(self.data or None)
        try:
            if self.hub_groups:
                me = hub_user()
                users.from_groups(root, str(me["name"]), [str(g) for g in me.get("groups", [])], self.group_prefix)
            user: User | None = users.resolve(root, None)
        except WorkbenchError as refused:
            self.log.warning("workbench: no dashboards and no code: %s", refused.message)
            user = None
        except (OSError, ValueError, KeyError, TypeError) as failed:  # the hub did not answer as it should
            self.log.error("workbench: no dashboards and no code: the hub's groups could not be read: %s", failed)
            user = None
        lang = user.language if user else i18n.language()
        code = user is not None and runs_code(user.roles)
        kernels = server.kernel_manager
        if not code:
            kernels.allowed_message_types = LIMITED_MESSAGES
        self._cull(kernels)
        os.environ.setdefault(LOG_ENV, str(default_log()))  # a page kernel's failures go there, never to the page
        _use_our_pages(server.web_app.settings, lang)
        dashboards.configure(server.config, lang)
        pages = dashboards.Dashboards(server, dashboards.voila_configuration(server, lang, self.pool_size),
                                      Path(self.dashboards_folder) if self.dashboards_folder else None)
        self._dashboards = pages
        self.settings.update(pages.settings())
        notebooks = notebooks_within(server.root_dir)
        self.settings.update(workbench_data=root, workbench_runs_code=code, workbench_kernel_secret=kernel_secret(),
                             workbench_notebooks=notebooks)
        launcher.install(launcher.tiles(items_for(user, lang, notebooks), server.base_url) if user else [])
        if isinstance(kernels, DashboardKernelManager) and user is not None:
            sizes = {DASHBOARDS[role]: self.pool_size for role in user.roles if role in DASHBOARDS}
            sizes.update(dict.fromkeys(self.preheat_also, self.pool_size))
            kernels.start_pools(sizes, pages.renderer())
            self.log.info("workbench: %s preheated kernel(s) for each of %s", self.pool_size, ", ".join(sizes) or "no dashboard")
        elif user is not None and any(role in DASHBOARDS for role in user.roles):
            self.log.warning("workbench: dashboards start cold: ServerApp.kernel_manager_class is configured to "
                             "something else than workbench.serving.pool.DashboardKernelManager")

    def _cull(self, kernels: Any) -> None:
        """Shut a kernel whose page is gone down within ``cull_after`` seconds (the server's own setting wins)."""
        if kernels.cull_idle_timeout > 0:
            return
        interval = max(1, min(60, self.cull_after // 5))
        kernels.cull_interval = interval
        kernels.cull_idle_timeout = max(1, self.cull_after - interval)
        kernels.cull_connected = False
        kernels.cull_busy = False

    def initialize_handlers(self) -> None:
        self.handlers.extend([
            (r"/", RootHandler),
            (r"/workbench/?", LandingHandler),
            (r"/workbench/api/health", HealthHandler),
            (rf"/{chart_bundle.URL_PATH}([^/]+)", ChartBundle),
            *HANDLERS,
            *self._dashboards.handlers(),
        ])


def hub_user() -> dict[str, Any]:
    """The signed-in user's model from JupyterHub (name and groups), read with the server's own hub token."""
    request = urllib.request.Request(os.environ["JUPYTERHUB_API_URL"].rstrip("/") + "/user",
                                     headers={"Authorization": f"token {os.environ['JUPYTERHUB_API_TOKEN']}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        model = json.loads(answer.read())
    if not isinstance(model, dict) or not isinstance(model.get("name"), str):
        raise TypeError("the hub's /user answer has no name")
    return model


class LandingHandler(TokenLeavesTheAddress, JupyterHandler):
    """``/workbench/``: the signed-in user's own items, nothing else."""

    @web.authenticated
    def get(self) -> None:
        root = Path(self.settings["workbench_data"])
        try:
            user = users.resolve(root, None)
        except WorkbenchError as refused:
            self.set_status(403)
            self.finish(self._page(refused=refused.message))
            return
        lang = user.language
        items = [{"key": i.key, "title": i.title, "about": i.about,
                  "href": url_path_join(self.base_url, i.path) if i.path else ""}
                 for i in items_for(user, lang, self.settings["workbench_notebooks"])]
        roles = ", ".join(t(f"users.role.{r.value}", lang) for r in user.roles)
        self.finish(self._page(items=items, who=t("landing.who", lang, name=user.name, roles=roles),
                               data_folder=t("cli.data_folder", lang, path=str(root))))

    def _page(self, **values: Any) -> str:
        return str(self.render_template("wb_landing.html", **values))  # type: ignore[no-untyped-call]


class RootHandler(TokenLeavesTheAddress, JupyterHandler):
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


def _use_our_pages(settings: dict[str, Any], lang: str) -> None:
    """The server's login, logout and error pages and the landing page: ours, in the user's language.

    They need no file from the server (jupyter_server's own would fetch styles a visitor may not
    read before logging in) and run no script.
    """
    env = settings["jinja2_env"]
    env.loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(TEMPLATES)), env.loader])
    texts = {key.removeprefix("serve.page."): value for key, value in catalog(lang).items()
             if key.startswith("serve.page.")}
    settings.setdefault("jinja_template_vars", {}).update(wb_lang=lang, wb=texts)


def extension_points() -> list[dict[str, Any]]:
    """What ``workbench._jupyter_server_extension_points`` returns."""
    return [{"module": "workbench.serving.extension", "app": WorkbenchApp}]
