"""The Voila application ``workbench serve`` runs: Voila's own, with every route behind the login.

Run as ``python -m workbench.serving.voila_app <dashboards> --Voila.…`` (see
``workbench.serve.build_command``). Three changes to Voila's standalone app:

- ``init_handlers``: the routes of ``workbench.serving.handlers.guarded`` (login for every file,
  the token swapped for a cookie, the kernels' request-info socket for our kernels only);
- ``init_settings``: the kernels' secret, and our own login, logout and error pages in the
  user's language, which need no file from the server (jupyter_server's would fetch styles a
  visitor may not read before logging in);
- the page language is the one in force (``WORKBENCH_LANG``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from voila.app import Voila

from workbench.i18n import catalog, language
from workbench.serving.handlers import guarded, kernel_secret

TEMPLATES = Path(__file__).resolve().parent / "templates"


class WorkbenchVoila(Voila):
    """Voila with the workbench's routes and pages."""

    name = "workbench-voila"

    def init_settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = super().init_settings()
        settings["workbench_kernel_secret"] = kernel_secret()
        base = settings["jinja2_env"]
        env = jinja2.Environment(
            loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(TEMPLATES)), base.loader]),
            extensions=["jinja2.ext.i18n"], autoescape=True)
        env.install_null_translations(newstyle=False)  # type: ignore[attr-defined]  # added by jinja2.ext.i18n at runtime
        settings["jinja2_env"] = env
        lang = language()
        texts = {key.removeprefix("serve.page."): value for key, value in catalog(lang).items()
                 if key.startswith("serve.page.")}
        settings["jinja_template_vars"] = {"wb_lang": lang, "wb": texts}
        return settings

    def init_handlers(self) -> list[tuple[Any, ...]]:
        return guarded(super().init_handlers(), self.server_url or "/")


main = WorkbenchVoila.launch_instance

if __name__ == "__main__":
    main()
