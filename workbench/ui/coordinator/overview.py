"""The coordinator's overview: who is waiting, which escorts and follow-ups are due, who is busy.

The lists are computed from the shared frames (``workbench.reporting.frames``) by ``worklists``,
which is plain polars and tested without widgets; the tab only lays them out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import polars as pl

from workbench.domain.workflow import Status
from workbench.i18n import t
from workbench.reporting.frames import Frames
from workbench.ui.widgets import (
    Feedback,
    fmt_date,
    guard,
    replace_children,
    row_list,
    section,
)

if TYPE_CHECKING:
    from workbench.ui.coordinator.context import TabContext

FOLLOW_UP_DAYS = {4: 28, 12: 84}
DUE_WITHIN_DAYS = 7
NO_CONTACT_DAYS = 30
PAGE_SIZE = 10
"""Rows per page of each overview list (five lists share one screen)."""


@dataclass(frozen=True)
class Worklists:
    """The overview's lists for one site on one day."""

    waiting: pl.DataFrame  # case_id, case_number, citizen_id, referred_on, days_waiting
    escorts: pl.DataFrame  # case_id, case_number, citizen_id, escort_planned_for, volunteer_id
    follow_ups: pl.DataFrame  # case_id, case_number, citizen_id, week, due_on, days_overdue
    busy_volunteers: pl.DataFrame  # volunteer_id, name, load, capacity
    quiet_volunteers: pl.DataFrame  # volunteer_id, name, last_event_on


def worklists(frames: Frames, site: str, today: date) -> Worklists:
    """Compute the overview's lists for ``site`` as of ``today``."""
    cases = frames.cases.filter(pl.col("site") == site)
    waiting = (
        cases.filter(pl.col("status") == Status.referred.value)
        .with_columns((pl.lit(today) - pl.col("referred_on")).dt.total_days().alias("days_waiting"))
        .sort("referred_on", "case_number")
        .select("case_id", "case_number", "citizen_id", "referred_on", "days_waiting")
    )
    escorts = (
        cases.filter((pl.col("status") == Status.escort_planned.value)
                     & (pl.col("escort_planned_for") <= today + timedelta(days=DUE_WITHIN_DAYS)))
        .sort("escort_planned_for", "case_number")
        .select("case_id", "case_number", "citizen_id", "escort_planned_for", "volunteer_id")
    )
    due = []
    for week, days in FOLLOW_UP_DAYS.items():
        due.append(
            cases.filter((pl.col("status") == Status.in_follow_up.value)
                         & pl.col(f"followup_{week}w_on").is_null() & pl.col("escorted_on").is_not_null())
            .select("case_id", "case_number", "citizen_id", pl.lit(week, pl.Int8).alias("week"),
                    (pl.col("escorted_on") + timedelta(days=days)).alias("due_on"))
        )
    follow_ups = (
        pl.concat(due)
        .filter(pl.col("due_on") <= today + timedelta(days=DUE_WITHIN_DAYS))
        .with_columns((pl.lit(today) - pl.col("due_on")).dt.total_days().alias("days_overdue"))
        .sort("due_on", "case_number")
    )
    volunteers = frames.volunteers.filter((pl.col("site") == site) & (pl.col("status") == "active"))
    busy = (volunteers.filter(pl.col("load") >= pl.col("capacity") - 1)
            .sort(pl.col("load") - pl.col("capacity"), descending=True)
            .select("volunteer_id", "name", "load", "capacity"))
    quiet = (volunteers.filter(pl.col("last_event_on").is_null()
                               | (pl.col("last_event_on") < today - timedelta(days=NO_CONTACT_DAYS)))
             .sort("last_event_on", nulls_last=False)
             .select("volunteer_id", "name", "last_event_on"))
    return Worklists(waiting, escorts, follow_ups, busy, quiet)


class OverviewTab:
    """Lists of what needs the coordinator today; each row opens the case."""

    def __init__(self, app: TabContext) -> None:
        self.app = app
        self.feedback = Feedback()
        self.body = widgets.VBox()
        self.widget = widgets.VBox([self.feedback, self.body])
        self.widget.add_class("wb-overview")
        guard(self.feedback)(self.refresh)()

    def _names(self) -> dict[str, str]:
        return self.app.wb.citizen_names()

    def refresh(self) -> None:
        """Recompute every list from the store as it is now."""
        lists = worklists(self.app.wb.frames, self.app.site, self.app.wb.today())
        names = self._names()
        volunteer_names = dict(self.app.wb.frames.volunteers.select("volunteer_id", "name").iter_rows())
        open_case = guard(self.feedback)(self.app.open_case)
        open_label = t("ui.open")

        def cases(frame: pl.DataFrame, headers: list[str], cells: Callable[[dict[str, Any]], list[Any]],
                  empty: str) -> widgets.Widget:
            rows = [(cells(r), r["case_id"]) for r in frame.iter_rows(named=True)]
            return row_list(headers, rows, empty, open_label, open_case, page_size=PAGE_SIZE)

        waiting = cases(
            lists.waiting, [t("ui.overview.number"), t("ui.overview.citizen"), t("ui.overview.referred_on"),
                            t("ui.overview.days_waiting")],
            lambda r: [r["case_number"], names.get(r["citizen_id"], ""), fmt_date(r["referred_on"]),
                       r["days_waiting"]],
            t("ui.overview.none_waiting"))
        escorts = cases(
            lists.escorts, [t("ui.overview.number"), t("ui.overview.citizen"), t("ui.overview.escort_on"),
                            t("ui.overview.volunteer")],
            lambda r: [r["case_number"], names.get(r["citizen_id"], ""), fmt_date(r["escort_planned_for"]),
                       volunteer_names.get(r["volunteer_id"], "")],
            t("ui.overview.none_escorts"))
        follow_ups = cases(
            lists.follow_ups, [t("ui.overview.number"), t("ui.overview.citizen"), t("ui.overview.follow_up"),
                               t("ui.overview.due_on")],
            lambda r: [r["case_number"], names.get(r["citizen_id"], ""),
                       t("ui.overview.week", week=r["week"]), self._due(r["due_on"], r["days_overdue"])],
            t("ui.overview.none_follow_ups"))
        busy_rows = [([r["name"], f'{r["load"]}/{r["capacity"]}'], r["volunteer_id"])
                     for r in lists.busy_volunteers.iter_rows(named=True)]
        quiet_rows = [([r["name"], fmt_date(r["last_event_on"]) or t("ui.overview.never")], r["volunteer_id"])
                      for r in lists.quiet_volunteers.iter_rows(named=True)]
        open_volunteer = guard(self.feedback)(self._open_volunteer)
        replace_children(
            self.body,
            section(t("ui.overview.waiting", n=lists.waiting.height), waiting),
            section(t("ui.overview.escorts", n=lists.escorts.height), escorts),
            section(t("ui.overview.follow_ups", n=lists.follow_ups.height), follow_ups),
            section(t("ui.overview.busy", n=lists.busy_volunteers.height),
                    row_list([t("ui.overview.volunteer"), t("ui.overview.load")], busy_rows,
                             t("ui.overview.none_busy"), open_label, open_volunteer, page_size=PAGE_SIZE)),
            section(t("ui.overview.quiet", n=lists.quiet_volunteers.height, days=NO_CONTACT_DAYS),
                    row_list([t("ui.overview.volunteer"), t("ui.overview.last_contact")], quiet_rows,
                             t("ui.overview.none_quiet"), open_label, open_volunteer, page_size=PAGE_SIZE)),
        )

    @staticmethod
    def _due(due_on: date, days_overdue: int) -> str:
        if days_overdue > 0:
            return t("ui.overview.overdue", date=fmt_date(due_on), days=days_overdue)
        return fmt_date(due_on)

    def _open_volunteer(self, volunteer_id: str) -> None:
        self.app.show_volunteer(volunteer_id)
