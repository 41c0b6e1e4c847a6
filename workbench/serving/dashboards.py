"""The dashboards in the one Jupyter server: Voila's pages, locked down, read from ``dashboards/``.

The workbench extension serves these routes itself instead of Voila's server extension (which
``jupyter-config`` turns off): Voila's own handler classes, each swapped for one that asks for the
login (``workbench.serving.handlers``), and no file list. Every page:

- is one of the notebooks in ``dashboards/``, whatever the server's root folder is;
- shows outputs only, never a traceback, always in the ``brobygning`` template (no ``?template=``
  or ``?theme=``), which fetches nothing from outside this server;
- comes from a preheated kernel when the user's pool has one (``workbench.serving.pool``).
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
from traitlets.config import Config
from voila.configuration import VoilaConfiguration
from voila.notebook_renderer import NotebookRenderer
from voila.paths import ROOT, collect_static_paths, collect_template_paths
from voila.shutdown_kernel_handler import VoilaShutdownKernelHandler
from voila.utils import get_data_dir, get_page_config, get_voila_labextensions_path

from workbench.i18n import t
from workbench.serving import dashboards_dir, jupyter_dir, prepend_path
from workbench.serving.handlers import (
    KernelRequestInfo,
    PageHandler,
    SignedInFileFind,
    StaticFiles,
    TemplateFiles,
    themes_handler,
)

TEMPLATE = "brobygning"
#: Seconds to wait for a cell's output after it has finished (Voila's default is 4, too short for a
#: page that sends a thousand widget messages on a busy machine).
IOPUB_TIMEOUT = 30
_KERNEL_ID = r"(?P<kernel_id>\w+-\w+-\w+-\w+-\w+)"


def configure(server_config: Config, lang: str) -> None:
    """Set the options of Voila's exporter and executor in the server's configuration (read when a page renders)."""
    server_config.VoilaExporter.language_code = lang
    server_config.VoilaExecutor.cell_error_instruction = t("serve.cell_error", lang)  # the traceback goes to the log
    server_config.VoilaExecutor.iopub_timeout = IOPUB_TIMEOUT


def voila_configuration(parent: Any, lang: str, pool_size: int) -> VoilaConfiguration:
    """Voila's page options for the dashboards: fixed here, not configurable by a visitor or a file."""
    conf = VoilaConfiguration(parent=parent)
    conf.template = TEMPLATE
    conf.allow_template_override = "NO"
    conf.allow_theme_override = "NO"
    conf.strip_sources = True
    conf.show_tracebacks = False
    conf.preheat_kernel = True
    conf.default_pool_size = pool_size
    conf.progressive_rendering = False  # incompatible with preheated kernels
    # JupyterLab-only extensions of the environment: a dashboard page cannot load them (console errors)
    conf.extension_denylist = ["jupyter_app_launcher", "@jupyterhub/jupyter-server-proxy"]
    conf.resources = {"brobygning_loading": t("serve.loading", lang),
                      "brobygning_progress": t("serve.progress", lang, step="{step}", total="{total}")}
    return conf


def use_our_templates() -> None:
    """Put the ``brobygning`` template on Jupyter's data path (kernels inherit it; harmless for them)."""
    os.environ["JUPYTER_PATH"] = prepend_path(str(jupyter_dir()), os.environ.get("JUPYTER_PATH"))


class Dashboards:
    """The dashboards' routes, page template environment and renderer for one server."""

    def __init__(self, serverapp: Any, conf: VoilaConfiguration, folder: Path | None = None) -> None:
        use_our_templates()
        self.serverapp = serverapp
        self.conf = conf
        self.folder = folder or dashboards_dir()
        self.contents = AsyncLargeFileManager(root_dir=str(self.folder))
        self.template_paths: list[str] = collect_template_paths(["voila", "nbconvert"], TEMPLATE, prune=True)
        self.static_paths: list[str] = collect_static_paths(["voila", "nbconvert"], TEMPLATE)

    def settings(self) -> dict[str, Any]:
        """What the pages need in the server's settings."""
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(self.template_paths),
                                 extensions=["jinja2.ext.i18n"], autoescape=True)
        nbui = gettext.translation("nbui", localedir=os.path.join(ROOT, "i18n"), fallback=True)
        env.install_gettext_translations(nbui, newstyle=False)  # type: ignore[attr-defined]  # added by jinja2.ext.i18n
        # No MathJax address or configuration: the page then uses the MathJax bundled with it, not a CDN's.
        return {"voila_jinja2_env": env, "workbench_dashboards": self.contents, "mathjax_url": None,
                "mathjax_config": None}

    def handlers(self) -> list[tuple[Any, ...]]:
        """Voila's routes (below the server's base URL), each behind the login; no file list."""
        labextensions = get_voila_labextensions_path(self.conf.extra_labextensions_path)

        return [
            ("/voila/render/(.*)", PageHandler, {"config": self.serverapp.config, "template_paths": self.template_paths,
                                                    "voila_configuration": self.conf}),
            ("/voila/templates/(.*)", TemplateFiles),
            ("/voila/static/(.*)", StaticFiles, {"paths": self.static_paths, "default_filename": "index.html"}),
            (r"/voila/api/themes/(.*)", themes_handler(), {
                "themes_url": "/voila/api/themes", "path": os.path.join(get_data_dir(), "themes"),
                "labextensions_path": labextensions, "no_cache_paths": ["/"]}),
            (r"/voila/api/shutdown/(.*)", VoilaShutdownKernelHandler),
            (r"/voila/labextensions/(.*)", SignedInFileFind, {"path": labextensions, "no_cache_paths": ["/"]}),
            (rf"/voila/query/{_KERNEL_ID}", KernelRequestInfo),
        ]

    def renderer(self) -> Callable[[str], NotebookRenderer]:
        """Makes the renderer a preheated kernel runs a dashboard notebook with."""
        app = self.serverapp

        def make(name: str) -> NotebookRenderer:
            settings = app.web_app.settings
            page_config = get_page_config(base_url=app.base_url, settings=settings, log=app.log,
                                          voila_configuration=self.conf)
            return NotebookRenderer(voila_configuration=self.conf, traitlet_config=app.config, notebook_path=name,
                                    template_paths=self.template_paths, config_manager=settings["config_manager"],
                                    contents_manager=self.contents, base_url=app.base_url,
                                    kernel_spec_manager=app.kernel_spec_manager, page_config=page_config,
                                    mathjax_config=None, mathjax_url=None)

        return make
