"""The coordinator dashboard: one site's daily work in five tabs.

``coordinator_app()`` is all a dashboard notebook calls. The signed-in coordinator's
name and site come from ``config.json`` in the data directory (until users and roles
arrive); every write is audited under that name and only that site's data is shown.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

import ipywidgets as widgets

from workbench import config
from workbench.errors import NotFound
from workbench.i18n import LANGUAGES, set_language, t
from workbench.service import Workbench
from workbench.ui.common import STYLE, Feedback, button, esc, guard

log = logging.getLogger("workbench.ui")


class Tab(Protocol):
    """What the app needs from each tab."""

    widget: widgets.Widget

    def refresh(self) -> None: ...


class CoordinatorApp:
    """The coordinator's dashboard for one site, acting through one ``Workbench``."""

    TAB_KEYS = ("overview", "volunteers", "intake", "case", "communities")

    def __init__(self, wb: Workbench, site: str) -> None:
        self.wb = wb
        self.site = site
        self.feedback = Feedback()
        self._built: dict[str, Tab] = {}
        # Each tab is built the first time it is shown, so the page is usable sooner.
        self.tabs = widgets.Tab(children=[widgets.VBox() for _ in self.TAB_KEYS])
        for index, key in enumerate(self.TAB_KEYS):
            self.tabs.set_title(index, t(f"ui.tab.{key}"))
        self.tabs.observe(guard(self.feedback)(self._on_tab), names="selected_index")
        refresh = button(t("ui.refresh"))
        refresh.add_class("wb-refresh")
        refresh.on_click(guard(self.feedback)(lambda _b: self.refresh()))
        header = widgets.HTML(
            f'<div class="wb-header"><h2>{esc(t("ui.title"))}</h2>'
            f'<span>{esc(t("ui.signed_in", user=wb.user.name if wb.user else wb.actor, site=self.site_name))}</span></div>'
        )
        self.widget = widgets.VBox([widgets.HTML(STYLE), header, widgets.HBox([refresh]), self.feedback,
                                    self.tabs])
        self.widget.add_class("wb-app")
        self._tab("overview")

    def _on_tab(self, change: dict[str, Any]) -> None:
        index = change.get("new")
        if isinstance(index, int) and 0 <= index < len(self.TAB_KEYS):
            self._tab(self.TAB_KEYS[index])

    def _tab(self, key: str) -> Any:
        built = self._built.get(key)
        if built is None:
            from workbench.ui.case_page import CaseTab
            from workbench.ui.communities import CommunitiesTab
            from workbench.ui.intake import IntakeTab
            from workbench.ui.overview import OverviewTab
            from workbench.ui.volunteers import VolunteersTab

            kinds: dict[str, Any] = {"overview": OverviewTab, "volunteers": VolunteersTab, "intake": IntakeTab,
                                     "case": CaseTab, "communities": CommunitiesTab}
            built = self._built[key] = kinds[key](self)
            self.tabs.children[self.TAB_KEYS.index(key)].children = [built.widget]
        return built

    @property
    def overview(self) -> Any:
        return self._tab("overview")

    @property
    def volunteers(self) -> Any:
        return self._tab("volunteers")

    @property
    def intake(self) -> Any:
        return self._tab("intake")

    @property
    def case(self) -> Any:
        return self._tab("case")

    @property
    def communities(self) -> Any:
        return self._tab("communities")

    @property
    def site_name(self) -> str:
        site = self.wb.store.get("sites", self.site)
        return site["name"] if site else self.site

    def refresh(self) -> None:
        """Re-read the store (other coordinators may have written) and redraw every tab."""
        self.wb.store.refresh()
        for tab in list(self._built.values()):
            tab.refresh()

    def open_case(self, case_id: str) -> None:
        """Show one case on the case tab."""
        self.case.show(case_id)
        self.tabs.selected_index = self.TAB_KEYS.index("case")

    def own(self, table: str, doc_id: str, not_found: str) -> dict[str, Any]:
        """A record of this site, re-checked on the server (a page visitor can send any id)."""
        self.wb.store.refresh()
        doc = self.wb.store.get(table, str(doc_id))
        if doc is None or doc.get("site_id") not in (self.site, None if table == "communities" else self.site):
            raise NotFound(not_found, id=str(doc_id))
        return dict(doc)


_prepared: dict[str, Workbench] = {}


def prepare(data: str | None = None) -> None:
    """Open the store and build the frames ahead of a page request (Voila's preheated kernel).

    What another process writes meanwhile is caught up when the page is built.
    """
    import workbench
    from workbench.serving.kernel import harden

    harden()  # failures go to the server's log, never to the page
    root = config.data_dir(data)
    wb = workbench.open(root)
    wb.frames.all()
    _prepared[str(root)] = wb


def signed_in(root: Any, role: str, prepared: Workbench | None) -> Workbench | widgets.Widget | None:
    """The handle of the signed-in user (``config.signed_in_user``) for a page meant for ``role``.

    A page for a user who is unknown, or whose role the page is not for, says so in plain words.
    None when no user is signed in (the ``config.json`` actor of a single-user setup).
    """
    import workbench
    from workbench.errors import NotAllowed

    user_id = config.signed_in_user()
    if user_id is None:
        return None
    try:
        if prepared is None:
            wb = workbench.open(root, user=user_id)
        else:  # the preheated handle, opened before anyone signed in
            from workbench import users

            wb = prepared
            wb.user, wb.actor = users.known(root, user_id), user_id
    except NotAllowed as exc:
        return widgets.HTML(f'<p class="wb-error">{esc(exc.message)}</p>')
    assert wb.user is not None
    set_language(wb.user.language)
    if wb.user.role.value != role:
        return widgets.HTML('<p class="wb-error">' + esc(t(
            "ui.wrong_role", name=wb.user.name, role=t(f"users.role.{wb.user.role.value}"),
            page_role=t(f"users.role.{role}"))) + "</p>")
    return wb


def coordinator_app(data: str | None = None, settings: Mapping[str, Any] | None = None) -> widgets.Widget:
    """Build the dashboard for the signed-in coordinator (else the data directory's configured one)."""
    import workbench
    from workbench.serving.kernel import harden

    harden()
    root = config.data_dir(data)
    prepared = _prepared.pop(str(root), None)
    user_handle = signed_in(root, "coordinator", prepared)
    if isinstance(user_handle, widgets.Widget):
        return user_handle
    if user_handle is not None:
        assert user_handle.user is not None
        return CoordinatorApp(user_handle, user_handle.user.sites[0]).widget
    chosen = dict(settings or config.user_config(root))
    if chosen.get("language") in LANGUAGES:
        set_language(str(chosen["language"]))
    actor = config.actor(root, chosen.get("user_name") or None)
    if prepared is not None:
        prepared.actor = actor
        wb = prepared
    else:
        wb = workbench.open(root, actor=actor)
    site = str(chosen.get("site") or "")
    if not site or wb.store.get("sites", site) is None:
        return widgets.HTML(f'<p class="wb-error">{esc(t("ui.no_site"))}</p>')
    return CoordinatorApp(wb, site).widget
