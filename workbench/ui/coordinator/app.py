"""The coordinator dashboard: one site's daily work in five tabs.

``coordinator_app()`` is all a dashboard notebook calls. It acts as the signed-in user
(``workbench serve --user ID``, or ``JUPYTERHUB_USER`` under JupyterHub), who must be a
coordinator; the service lets them read and change only their own sites' records, and every
write and every opening of a citizen's record is audited under their id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

import ipywidgets as widgets

from workbench import config
from workbench.domain.text import danish_sorted_by
from workbench.errors import NotFound
from workbench.i18n import t
from workbench.service import Workbench
from workbench.ui.coordinator.context import TabContext
from workbench.ui.signin import signed_in
from workbench.ui.widgets import STYLE, Feedback, button, esc, guard, lookup

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
            f'<span>{esc(t("ui.signed_in", user=wb.user.name, site=self.site_name))}</span></div>'
            f'<p class="wb-data-folder">{esc(t("cli.data_folder", path=str(wb.data_dir)))}</p>'
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
            from workbench.ui.coordinator.case_page import CaseTab
            from workbench.ui.coordinator.communities import CommunitiesTab
            from workbench.ui.coordinator.intake import IntakeTab
            from workbench.ui.coordinator.overview import OverviewTab
            from workbench.ui.coordinator.volunteers import VolunteersTab

            kinds: dict[str, Callable[[TabContext], Tab]] = {
                "overview": OverviewTab, "volunteers": VolunteersTab, "intake": IntakeTab, "case": CaseTab,
                "communities": CommunitiesTab}
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
        names = {site["id"]: site["name"] for site in self.wb.sites()}
        return str(names.get(self.site, self.site))

    def refresh(self) -> None:
        """Re-read the store (other coordinators may have written) and redraw every tab."""
        self.wb.refresh()
        for tab in list(self._built.values()):
            tab.refresh()

    def open_case(self, case_id: str) -> None:
        """Show one case on the case tab."""
        self.case.show(case_id)
        self.tabs.selected_index = self.TAB_KEYS.index("case")

    def show_volunteer(self, volunteer_id: str) -> None:
        """Show one brobygger of this site on the brobyggere tab."""
        self.volunteers.open_volunteer(volunteer_id)
        self.tabs.selected_index = self.TAB_KEYS.index("volunteers")

    def own(self, table: str, doc_id: str, not_found: str) -> dict[str, Any]:
        """A case, brobygger or community of this site, re-checked on the server (a page visitor can send any id).

        The service refuses another site's record; the page also refuses its user's other sites.
        """
        read = {"cases": self.wb.case, "volunteers": self.wb.volunteer, "communities": self.wb.community}[table]
        doc = read(str(doc_id))
        if doc.get("site_id") not in (self.site, None if table == "communities" else self.site):
            raise NotFound(not_found, id=str(doc_id))
        return doc


class SiteChooser:
    """A coordinator of several sites picks which site's dashboard to work in (the first, to begin with)."""

    def __init__(self, wb: Workbench) -> None:
        self.wb = wb
        names = {site["id"]: site["name"] for site in wb.sites()}
        self.options = {code: code for code in wb.user.sites}
        ordered = danish_sorted_by(wb.user.sites, lambda code: str(names.get(code, code)))
        self.feedback = Feedback()
        self.choice = widgets.Dropdown(options=[(str(names.get(c, c)), c) for c in ordered], value=wb.user.sites[0],
                                       description=t("ui.site_choice"), style={"description_width": "initial"})
        self.choice.add_class("wb-site-choice")
        self.choice.observe(guard(self.feedback)(self._chosen), names="value")
        self.app = CoordinatorApp(wb, wb.user.sites[0])
        self.widget = widgets.VBox([widgets.HBox([self.choice]), self.feedback, self.app.widget])

    def _chosen(self, change: dict[str, Any]) -> None:
        site = lookup(self.options, change.get("new"), "site_id")  # only the user's own sites, whatever was sent
        self.app = CoordinatorApp(self.wb, site)
        self.widget.children = [self.widget.children[0], self.feedback, self.app.widget]


def coordinator_app(data: str | None = None) -> widgets.Widget:
    """Build the dashboard for the signed-in coordinator (with a choice of site for one with several)."""
    from workbench.serving.kernel import harden

    harden()
    root = config.data_dir(data)
    handle = signed_in(root, "coordinator")
    if isinstance(handle, widgets.Widget):
        return handle
    if len(handle.user.sites) > 1:
        return SiteChooser(handle).widget
    return CoordinatorApp(handle, handle.user.sites[0]).widget
