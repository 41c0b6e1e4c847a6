"""Which user a dashboard page acts as, and the page's answer when it cannot be theirs."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import ipywidgets as widgets

import workbench
from workbench import config
from workbench.errors import NotAllowed, StoreError
from workbench.i18n import set_language, t
from workbench.service import Workbench
from workbench.ui.widgets import esc


def prepare(data: str | None = None, tables: Iterable[str] | None = None) -> None:
    """Open the store ahead of a page request (Voila's preheated kernel), reading ``tables`` (every
    table when None): the ones the page will read, so an idle kernel holds no more than its page needs.

    No user is known yet, so no handle is made: the page's handle is bound to the signed-in user
    when the request comes. What another process writes meanwhile is caught up then.
    """
    from workbench.serving.kernel import harden

    harden()  # failures go to the server's log, never to the page
    workbench.preheat(config.data_dir(data), tables)


def signed_in(root: Path, role: str) -> Workbench | widgets.Widget:
    """The handle of the signed-in user (``users.resolve``) for a page meant for ``role``.

    A page for a user who is unknown, or not chosen, or whose roles the page is not for, says so
    in one plain sentence: there is never a fallback identity.
    """
    try:
        wb = workbench.open(root)
    except (NotAllowed, StoreError) as exc:
        return widgets.HTML(f'<p class="wb-error">{esc(exc.message)}</p>')
    set_language(wb.user.language)
    if not wb.user.has(role):
        return widgets.HTML('<p class="wb-error">' + esc(t(
            "ui.wrong_role", name=wb.user.name, role=t(f"users.role.{wb.user.role.value}"),
            page_role=t(f"users.role.{role}"))) + "</p>")
    return wb
