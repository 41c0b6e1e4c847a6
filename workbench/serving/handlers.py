"""The dashboards' routes, each behind the login.

Voila serves some routes with plain tornado handlers that never ask who is calling (its static
files, its templates' files, the request-info socket its preheated kernels wait on). The workbench
extension maps each of them to a handler here that does, so without a login nothing of Voila's is
reachable (``workbench.serving.dashboards``).

- Pages (``/voila/render/<dashboard>``): read from ``dashboards/``; a ``?token=`` in the address
  logs the browser in (a cookie) and is answered with a redirect to the same address without it,
  so the token never reaches a kernel (Voila passes the address on to it).
- Files: the Voila, template, theme and extension files need a signed-in browser.
- ``/voila/query/<kernel>``: only our own kernels may connect, with the secret they inherit
  from the server (``KERNEL_SECRET_ENV``); anybody else would receive the next visitor's request.
- ``/voila/templates/…``: a path that is not ``<template>/static/<file>`` inside the template is
  a 404, not a server error.
- ``/workbench/charts/<name>``: the charts' JavaScript bundle a kernel kept (``chart_bundle``).
"""

from __future__ import annotations

import hmac
import os
import re
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode

from jupyter_server.base.handlers import FileFindHandler, JupyterHandler
from tornado import web
from voila.request_info_handler import RequestInfoSocketHandler
from voila.static_file_handler import MultiStaticFileHandler, TemplateStaticFileHandler
from voila.tornado.handler import TornadoVoilaHandler

from workbench.serving import KERNEL_SECRET_ENV, KERNEL_SECRET_HEADER, chart_bundle

_TEMPLATE_FILE = re.compile(r"[A-Za-z0-9_.-]+/static/(?:[A-Za-z0-9_.@+-]+/)*[A-Za-z0-9_.@+-]+")


class _SignedIn:
    """Refuse (403) a request whose browser has not logged in, whatever the handler's own rules say.

    Mixed in before a ``JupyterHandler``: its ``prepare`` identifies the user (and sends a
    browser without one to the login page where the handler asks for a user at all).
    """

    async def prepare(self, *args: Any, **kwargs: Any) -> None:
        await super().prepare(*args, **kwargs)  # type: ignore[misc]
        if not getattr(self, "_finished", False) and getattr(self, "current_user", None) is None:
            raise web.HTTPError(403)


class TokenLeavesTheAddress:
    """A page asked for with ``?token=`` is answered by a redirect to the address without it.

    The login has happened by then (jupyter_server sets the cookie when the token matches), and
    the page request that follows carries no token for Voila to hand to a kernel.
    """

    async def prepare(self, *args: Any, **kwargs: Any) -> None:
        await super().prepare(*args, **kwargs)  # type: ignore[misc]
        request = self.request  # type: ignore[attr-defined]
        if getattr(self, "_finished", False) or "token" not in request.query_arguments:
            return
        if getattr(self, "current_user", None) is None:
            raise web.HTTPError(403)
        kept = [(k, v) for k, v in parse_qsl(request.query, keep_blank_values=True) if k != "token"]
        self.redirect(request.path + (f"?{urlencode(kept)}" if kept else ""))  # type: ignore[attr-defined]


class PageHandler(TokenLeavesTheAddress, TornadoVoilaHandler):
    """A dashboard page (``/voila/render/<notebook>``).

    The page gets an ``_xsrf`` cookie: Voila's "page closed" beacon must carry it, or the server
    refuses the beacon and the page's kernel lives on until it is culled. The notebook is read from
    ``dashboards/`` (not the server's root folder, which holds the lab's notebooks).
    """

    @property
    def contents_manager(self) -> Any:
        return self.settings["workbench_dashboards"]

    async def prepare(self, *args: Any, **kwargs: Any) -> None:
        await super().prepare(*args, **kwargs)
        if not self._finished:
            self.xsrf_token  # noqa: B018 - reading it sets the cookie


class StaticFiles(_SignedIn, JupyterHandler, MultiStaticFileHandler):
    """Voila's own static files."""


class TemplateFiles(_SignedIn, JupyterHandler, TemplateStaticFileHandler):
    """The page templates' files; a path outside ``<template>/static/`` is not found."""

    def parse_url_path(self, url_path: str) -> str:
        if not _TEMPLATE_FILE.fullmatch(url_path) or ".." in url_path.split("/"):
            raise web.HTTPError(404)
        return str(super().parse_url_path(url_path))

    def validate_absolute_path(self, root: str, absolute_path: str) -> str | None:
        try:
            return cast("str | None", super().validate_absolute_path(root, absolute_path))  # voila's handler is untyped
        except web.HTTPError as error:
            raise web.HTTPError(404) from error  # outside the template's folder: nothing here


class SignedInFileFind(_SignedIn, FileFindHandler):
    """Extension and theme files (jupyter_server lets these through before login)."""

    async def get(self, path: str, include_body: bool = True) -> None:
        await web.StaticFileHandler.get(self, path, include_body)

    async def head(self, path: str) -> None:
        await web.StaticFileHandler.head(self, path)


class ChartBundle(JupyterHandler):
    """The charts' JavaScript bundle (``chart_bundle``): named by the versions it was made from, so a
    browser keeps it; a name that is not a whole kept bundle is a 404."""

    @web.authenticated
    def get(self, name: str) -> None:
        data = chart_bundle.read_served(name)
        if data is None:
            raise web.HTTPError(404)
        self.set_header("Content-Type", "text/javascript; charset=utf-8")
        self.set_header("Cache-Control", "private, max-age=31536000, immutable")
        self.finish(data)


class KernelRequestInfo(RequestInfoSocketHandler):
    """The socket a preheated kernel waits on for its page's request: our kernels only."""

    async def get(self, *args: Any, **kwargs: Any) -> None:
        secret = self.settings.get("workbench_kernel_secret") or ""
        offered = self.request.headers.get(KERNEL_SECRET_HEADER, "")
        if not secret or not hmac.compare_digest(offered.encode(), secret.encode()):
            raise web.HTTPError(403)
        await super().get(*args, **kwargs)


def themes_handler() -> type[web.RequestHandler]:
    """JupyterLab's theme files handler, behind the login (imported late: jupyterlab_server is heavy)."""
    from jupyterlab_server.themes_handler import ThemesHandler

    class Themes(_SignedIn, ThemesHandler):
        """JupyterLab theme files."""

        async def get(self, path: str, include_body: bool = True) -> None:
            await web.StaticFileHandler.get(self, path, include_body)

    return Themes


def kernel_secret() -> str:
    """The request-info socket's secret for this server, made once and inherited by its kernels."""
    secret = os.environ.get(KERNEL_SECRET_ENV, "")
    if len(secret) < 32:
        import secrets

        secret = os.environ[KERNEL_SECRET_ENV] = secrets.token_urlsafe(32)
    return secret
