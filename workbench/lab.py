"""The lab and research tracks' handle on a de-identified extract: cohorts, pilots, suppressed tables.

    import workbench.lab

    lab = workbench.lab.open(notebook="01_kom_godt_i_gang")   # the newest extract the user may read
    lab.cases                                                  # row-level, pseudonymised, k-anonymous
    unge = lab.cohort("unge", pl.col("age_group") == "youth")
    lab.funnel(unge)                                           # the cohort against the rest, suppressed

Every table a ``Lab`` method returns is aggregated and has passed the lead's disclosure gate
(``workbench.reporting.suppression``): no count of 1-4 people, nor one that can be worked out.
Intervention templates are stored through the service (``define``, ``fork``, ``pilot``) as the
signed-in user; everything else reads the extract's files only, never the store.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import altair as alt
import polars as pl

from workbench.errors import InvalidInput, NotAllowed, StoreError
from workbench.i18n import t
from workbench.reporting.suppression import (
    HIDDEN_LABEL,
    STANDARD,
    SuppressionPolicy,
    count_label,
    filter_allowed,
    is_small,
    rate_columns,
    suppress_counts,
)
from workbench.service import Workbench, opening
from workbench.service.extract import PACKAGE, TABLES
from workbench.service.users import Role

__all__ = ["DEFAULT_STEPS", "STEPS", "Cohort", "Extract", "Lab", "open", "read_extract"]

STEPS = ("referred", "conversation", "escorted", "attended", "lasting_4w", "lasting_12w")
"""The funnel steps of a cohort, in order (the lead's funnel)."""

DEFAULT_STEPS = ({"name": "Samtale", "day": 0}, {"name": "Følgeskab", "day": 14},
                 {"name": "Opfølgning 4 uger", "day": 28}, {"name": "Opfølgning 12 uger", "day": 84})
"""The method's own rhythm: conversation on day 0, escort by day 14, follow-ups at weeks 4 and 12."""

_REACHED: dict[str, pl.Expr] = {
    "referred": pl.col("case").is_not_null(),
    "conversation": pl.col("weeks_to_conversation").is_not_null(),
    "escorted": pl.col("weeks_to_escort").is_not_null(),
    "attended": pl.col("attended").fill_null(False),
    "lasting_4w": pl.col("still_4w").fill_null(False),
    "lasting_12w": pl.col("still_12w").fill_null(False),
}
_READERS = (Role.lab, Role.researcher, Role.admin)
TOTAL = "total"
REST = "rest"
_RESERVED = {TOTAL, REST, "–"}


# --- the extract -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Extract:
    """One extract read from disk: its id, creation time, package description and tables."""

    id: str
    created: str
    path: Path
    package: Mapping[str, Any]
    tables: Mapping[str, pl.DataFrame]

    def schemas(self) -> pl.DataFrame:
        """Every table's columns with type and meaning (what ``%workbench`` prints)."""
        rows = [(r["name"], r["rows"], f["name"], f["type"], f["description"])
                for r in self.package["resources"] for f in r["schema"]["fields"]]
        return pl.DataFrame(rows, schema=["table", "rows", "column", "type", "meaning"], orient="row")


def read_extract(folder: str | Path) -> Extract:
    """Read an extract folder, checking every file against the checksum its package records."""
    folder = Path(folder)
    try:
        package = json.loads((folder / PACKAGE).read_text("utf-8"))
        resources = {r["name"]: r for r in package["resources"]}
    except (OSError, ValueError, KeyError, TypeError):
        raise StoreError("extract.not_a_package", path=str(folder)) from None
    tables: dict[str, pl.DataFrame] = {}
    for name in TABLES:
        resource = resources.get(name)
        if resource is None:
            raise StoreError("extract.not_a_package", path=str(folder))
        try:
            data = (folder / resource["path"]).read_bytes()
        except OSError:
            raise StoreError("extract.damaged", path=str(folder), file=resource["path"]) from None
        if "sha256:" + hashlib.sha256(data).hexdigest() != resource.get("hash"):
            raise StoreError("extract.damaged", path=str(folder), file=resource["path"])
        tables[name] = pl.read_parquet(data)
    return Extract(id=str(package["id"]), created=str(package["created"]), path=folder, package=package,
                   tables=tables)


# --- cohorts -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cohort:
    """A named set of the extract's cases (row-level: use it in ``Lab`` calls, which suppress).

    Its printed form shows its size through the disclosure gate: a cohort of 3 cases prints as
    "<5", and so does a cohort of all but 3 (its size would give the 3 left out away).
    """

    name: str
    cases: pl.DataFrame = field(repr=False)
    policy: SuppressionPolicy = field(default=STANDARD, repr=False)
    of_all: int = field(default=0, repr=False)  # the cases of the extract, to protect the complement

    @property
    def size_label(self) -> str:
        """The number of cases, as a shared table would show it."""
        n = self.cases.height
        if is_small(n, self.policy):
            return self.policy.small_label
        if self.of_all and not filter_allowed(n, self.policy, n_all=self.of_all):
            return HIDDEN_LABEL
        return count_label(n, self.policy)

    def __repr__(self) -> str:
        return t("lab.cohort", name=self.name, size=self.size_label)

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(repr(self))}</p>"


# --- the handle ------------------------------------------------------------------------------------------


class Lab:
    """A notebook's handle: one extract, the signed-in user (for templates) and the notebook's name."""

    def __init__(self, extract: Extract, workbench: Workbench | None = None, *, notebook: str = "notebook",
                 policy: SuppressionPolicy = STANDARD) -> None:
        self.extract = extract
        self._wb = workbench
        self.notebook = notebook
        self.policy = policy

    def __repr__(self) -> str:
        return t("lab.handle", id=self.extract.id, created=self.extract.created, cases=self.cases.height)

    # -- tables --------------------------------------------------------------------------------------

    @property
    def id(self) -> str:
        """The extract's id (a content hash): every export names it."""
        return self.extract.id

    @property
    def cases(self) -> pl.DataFrame:
        """One row per case (pseudonymised, k-anonymous; see the package's Markdown)."""
        return self.extract.tables["cases"]

    @property
    def measures(self) -> pl.DataFrame:
        """One row per questionnaire."""
        return self.extract.tables["measures"]

    @property
    def measure_pairs(self) -> pl.DataFrame:
        """Baseline and latest follow-up per case and instrument."""
        return self.extract.tables["measure_pairs"]

    @property
    def interventions(self) -> pl.DataFrame:
        """The intervention templates as they were when the extract was made."""
        return self.extract.tables["interventions"]

    # -- cohorts -------------------------------------------------------------------------------------

    def cohort(self, name: str, *where: pl.Expr) -> Cohort:
        """The cases matching every polars expression (all cases when none is given)."""
        cases = self.cases
        for expr in where:
            cases = cases.filter(expr)
        if name.strip().casefold() in _RESERVED:
            raise InvalidInput("lab.reserved_name", field="name", name=name)
        return Cohort(name, cases, self.policy, self.cases.height)

    def pilot_cohort(self, intervention: str) -> Cohort:
        """The cases carrying an intervention (its id) in the extract."""
        row = self.interventions.filter(pl.col("intervention") == intervention)
        if row.height == 0:
            raise InvalidInput("template.not_found", field="intervention", id=intervention)
        name = f"{row.item(0, 'name')} v{row.item(0, 'version')}"
        return self.cohort(name, pl.col("interventions").list.contains(intervention))

    # -- suppressed tables -----------------------------------------------------------------------------

    def count(self, rows: Cohort | pl.DataFrame | None = None, by: str | Sequence[str] = "site") -> pl.DataFrame:
        """Cases per value of one column, or of two (a cross table with both margins), and the total: suppressed.

        ``rows``: a cohort, or any extract table with a ``case`` column (``measure_pairs``, ``measures``);
        a case counts once per cell, however many rows it has there. The margins are kept visible
        before the inner cells when a complement must be hidden, as ``count(by=one column)`` shows them.
        """
        frame = self.cases if rows is None else rows.cases if isinstance(rows, Cohort) else rows
        keys = [by] if isinstance(by, str) else list(by)
        _check_columns(frame, ["case", *keys])
        if not 1 <= len(keys) <= 2:
            raise InvalidInput("lab.count_keys", field="by")
        labelled = frame.select("case", *(pl.col(k).cast(pl.String).fill_null("–") for k in keys))
        parts = [labelled]
        for k in keys:  # the margin rows: each key (and then both) replaced by the total
            parts += [part.with_columns(pl.lit(TOTAL).alias(k)) for part in list(parts)]
        counts = pl.concat(parts).group_by(keys).agg(pl.col("case").n_unique().cast(pl.Int64).alias("cases"))
        margins = [pl.col(k) == TOTAL for k in keys]
        counts = counts.with_columns(
            *(m.alias(f"_t{i}") for i, m in enumerate(margins)),
            pl.sum_horizontal(*margins).cast(pl.Int8).alias("_keep"),
            pl.all_horizontal(*margins).alias("is_total"),
        ).sort([*(pl.col(k) == TOTAL for k in keys), *(pl.col(k) for k in keys)])
        if len(keys) == 1:
            table = suppress_counts(counts, "cases", within=[], total="is_total", policy=self.policy)
        else:
            table = suppress_counts(counts, "cases", within=[[keys[0]], [keys[1]]], total=["_t1", "_t0"],
                                    policy=self.policy, priority="_keep")
        return table.drop("_t0", "_t1", "_keep", strict=False)

    def funnel(self, *cohorts: Cohort, by: str | None = None, within: Cohort | None = None) -> pl.DataFrame:
        """How many cases reach each funnel step, per group, with the share of those referred.

        Groups: the cohorts given and the rest of the extract (``"rest"``), or the values of the
        column ``by`` among the cases of ``within`` (default: all); and a ``"total"`` row. Groups
        must not overlap. Suppressed per step, so that no group's small count can be worked out
        from the total and the other groups.
        """
        if within is not None and by is None:
            raise InvalidInput("lab.within_needs_by", field="within")
        labelled = self._groups(cohorts, by, within)
        names = labelled.get_column("group").unique(maintain_order=True).to_list()
        table = self._per_step(labelled, "group", names, _REACHED)
        referred = table.filter(pl.col("step") == "referred").select(
            "group", *(pl.col(c).alias(c.replace("n", "referred", 1)) for c in ("n", "n_label", "n_suppressed")))
        table = rate_columns(table.join(referred, on="group", how="left"), "n", "referred", "share", self.policy)
        return table.select("group", "is_total", "step", "n", "n_label", "n_suppressed", "share", "share_label")

    def _groups(self, cohorts: Sequence[Cohort], by: str | None, within: Cohort | None) -> pl.DataFrame:
        if by is not None:
            if cohorts:
                raise InvalidInput("lab.cohorts_or_by", field="by")
            _check_columns(self.cases, [by])
            if isinstance(self.cases.schema[by], pl.List):
                raise InvalidInput("lab.by_list", field="by", column=by)
            return (within.cases if within is not None else self.cases).with_columns(pl.col(by).cast(pl.String).fill_null("–").alias("group")).sort("group")
        parts, seen = [], pl.Series("case", [], dtype=pl.String)
        names = [c.name.strip().casefold() for c in cohorts]
        if len(set(names)) < len(names):
            raise InvalidInput("lab.cohort_names_twice", field="cohorts")
        for cohort in cohorts:
            if cohort.name.strip().casefold() in _RESERVED:
                raise InvalidInput("lab.reserved_name", field="name", name=cohort.name)
            if cohort.cases.get_column("case").is_in(seen.implode()).any():
                raise InvalidInput("lab.cohorts_overlap", field="cohorts", name=cohort.name)
            seen = pl.concat([seen, cohort.cases.get_column("case")])
            parts.append(cohort.cases.with_columns(pl.lit(cohort.name).alias("group")))
        rest = self.cases.filter(~pl.col("case").is_in(seen.implode()))
        parts.append(rest.with_columns(pl.lit(REST).alias("group")))
        return pl.concat(parts)

    def wide(self, table: pl.DataFrame, value: str = "n_label", on: str = "step") -> pl.DataFrame:
        """A long table (``funnel``, ``quality``, a two-column ``count``) as one row per group and one
        column per value of ``on``, showing ``value`` (the labels, by default)."""
        key = next(c for c in ("group", "site") if c in table.columns and c != on)
        return table.pivot(on=on, index=key, values=value, aggregate_function="first", maintain_order=True)

    def follow(self, intervention: str) -> pl.DataFrame:
        """A pilot on the funnel against the rest, with each success criterion: met, not met or not shown."""
        cohort = self.pilot_cohort(intervention)
        table = self.funnel(cohort)
        row = self.interventions.filter(pl.col("intervention") == intervention)
        criteria = {c["step"]: c["at_least"] for c in json.loads(row.item(0, "success_criteria") or "[]")}
        verdict = (pl.when(pl.col("share").is_null()).then(pl.lit(t("lab.criterion.unknown")))
                   .when(pl.col("share") >= pl.col("at_least")).then(pl.lit(t("lab.criterion.met")))
                   .otherwise(pl.lit(t("lab.criterion.not_met"))))
        goals = pl.DataFrame({"step": list(criteria), "at_least": list(criteria.values())},
                             schema={"step": pl.String, "at_least": pl.Float64})
        return table.join(goals, on="step", how="left").with_columns(
            pl.when(pl.col("at_least").is_not_null() & (pl.col("group") == cohort.name)).then(verdict)
            .alias("criterion"))

    def quality(self) -> pl.DataFrame:
        """Data quality per site: missing measures, missing follow-ups and inconsistencies (suppressed counts)."""
        cases, measures = self.cases, self.measures
        baseline = measures.filter(pl.col("timepoint") == "baseline").get_column("case").implode()
        follow = measures.filter(pl.col("timepoint") == "follow_up").get_column("case").implode()
        has_baseline, has_follow = pl.col("case").is_in(baseline), pl.col("case").is_in(follow)
        escorted = pl.col("weeks_to_escort").is_not_null()
        checks: dict[str, pl.Expr] = {
            "cases": pl.col("case").is_not_null(),
            "no_baseline": pl.col("weeks_to_conversation").is_not_null() & ~has_baseline,
            "follow_up_without_baseline": has_follow & ~has_baseline,
            "escorted_no_follow_up": escorted & pl.col("attended").fill_null(False) & pl.col("still_4w").is_null()
            & pl.col("still_12w").is_null() & pl.col("closed"),
            "escort_without_conversation": escorted & pl.col("weeks_to_conversation").is_null(),
            "closed_without_reason": pl.col("closed") & pl.col("close_reason").is_null(),
        }
        sites = sorted(cases.get_column("site").unique().to_list())
        return self._per_step(cases, "site", sites, checks)

    def _per_step(self, rows: pl.DataFrame, key: str, groups: Sequence[str],
                  steps: Mapping[str, pl.Expr]) -> pl.DataFrame:
        """How many rows of each group (the column ``key``) meet each step's condition, and a total row;
        suppressed per step (the groups add up to the total). Groups and steps in the order given."""
        long = pl.concat([rows.group_by(key).agg(pl.lit(step).alias("step"), hit.sum().cast(pl.Int64).alias("n"))
                          for step, hit in steps.items()])
        totals = long.group_by("step").agg(pl.col("n").sum()).with_columns(pl.lit(TOTAL).alias(key))
        grid = pl.DataFrame({key: [*groups, TOTAL]}).with_row_index("g_no").join(
            pl.DataFrame({"step": list(steps)}).with_row_index("s_no"), how="cross")
        table = grid.join(pl.concat([long, totals.select(long.columns)]), on=[key, "step"], how="left").with_columns(
            pl.col("n").fill_null(0), (pl.col(key) == TOTAL).alias("is_total")).sort("g_no", "s_no")
        table = suppress_counts(table, "n", within="step", total="is_total", policy=self.policy)
        return table.select(key, "is_total", "step", "n", "n_label", "n_suppressed")

    def period(self, first: str, last: str) -> Cohort:
        """The cases referred within two months (``"2026-01"``, ``"2026-06"``, both included).

        A case whose referral period was widened (a quarter or a year) counts only when the whole
        quarter or year lies within; the cohort's name says the period.
        """
        for value, name in ((first, "first"), (last, "last")):
            if len(value) != 7 or value[4] != "-" or not (value[:4] + value[5:]).isdigit():
                raise InvalidInput("lab.period_format", field=name, value=value)
        if first > last:
            raise InvalidInput("lab.period_order", field="last")
        start, end = _period_bounds(pl.col("referral_period"))
        return self.cohort(f"{first}..{last}", (start >= first) & (end <= last))

    # -- templates, through the service --------------------------------------------------------------------

    def _service(self) -> Workbench:
        if self._wb is None:
            raise NotAllowed("lab.no_service")
        return self._wb

    def templates(self) -> pl.DataFrame:
        """The intervention templates as they are now in the store (name, version, steps, pilot sites)."""
        frame = self._service().interventions()
        return frame.select("id", "name", pl.col("template_version").fill_null(1).alias("version"),
                            "target_group", "pilot_sites", "forked_from", "started_on").sort("name", "version")

    def define(self, name: str, *, description: str = "", target_group: str | None = None,
               steps: Sequence[Mapping[str, Any]] = DEFAULT_STEPS,
               success_criteria: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
        """Store a new intervention template (version 1) as the signed-in user."""
        return self._service().define_template(name, description=description, target_group=target_group,
                                               steps=steps, success_criteria=success_criteria)

    def template(self, name: str, **fields: Any) -> dict[str, Any]:
        """The newest version of the template ``name`` with these fields: defined when new, forked when
        they differ from the newest version, returned as it is when they do not (a notebook can rerun)."""
        fields = {"steps": DEFAULT_STEPS, **fields}
        current = self._service().interventions().filter(pl.col("name") == name)
        if current.height == 0:
            return self.define(name, **fields)
        newest = current.sort(pl.col("template_version").fill_null(1)).to_dicts()[-1]
        wanted = {k: [dict(x) for x in v] if isinstance(v, Sequence) and not isinstance(v, str) else v
                  for k, v in fields.items()}
        if all(_same(newest.get(k), v) for k, v in wanted.items()):
            return {k: v for k, v in newest.items() if v is not None}
        return self.fork(str(newest["id"]), **wanted)

    def fork(self, intervention: str, **changes: Any) -> dict[str, Any]:
        """A new version of a template with ``changes`` (name, description, target_group, steps, success_criteria)."""
        return self._service().fork_template(intervention, **changes)

    def pilot(self, intervention: str, site: str) -> dict[str, Any]:
        """Pilot a template at a site: from now on its coordinators can put cases on it."""
        return self._service().pilot_template(intervention, site)

    # -- exports with provenance ----------------------------------------------------------------------------

    def provenance(self) -> str:
        """The line every export carries: the extract's id and the notebook's name."""
        return t("lab.provenance", id=self.id, created=self.extract.created, notebook=self.notebook)

    @property
    def exports(self) -> Path:
        """Where exports go: ``$WORKBENCH_EXPORTS``, else ``exports/`` beside the notebook."""
        return Path(os.environ.get("WORKBENCH_EXPORTS", "").strip() or "exports").resolve()

    def _target(self, name: str, suffix: str) -> Path:
        if not name or Path(name).name != name:
            raise InvalidInput("lab.export_name", field="name", name=name)
        self.exports.mkdir(parents=True, exist_ok=True)
        return self.exports / f"{self.notebook}-{name}{suffix}"

    def export_table(self, table: pl.DataFrame, name: str) -> Path:
        """Write a suppressed table as CSV, headed by a provenance comment line; refuses row-level tables."""
        if not any(c.endswith("_label") for c in table.columns):
            raise InvalidInput("lab.export_row_level", field="table")
        target = self._target(name, ".csv")
        shown = [c for c in table.columns if not c.endswith("_suppressed")]
        target.write_text(f"# {self.provenance()}\n" + table.select(shown).write_csv(), "utf-8")
        return target

    def funnel_chart(self, table: pl.DataFrame) -> alt.LayerChart:
        """A ``funnel`` table as bars: the share of each group's cases reaching each step (hidden shares leave a gap)."""
        names = {step: t(f"lab.step.{step}") for step in STEPS}
        frame = table.filter(pl.col("step") != "referred").with_columns(  # every group's referred share is 100 %
            pl.col("step").replace_strict(names).alias("step_name"),
            pl.col("group").replace({TOTAL: t("charts.total"), REST: t("lab.rest")}))
        order = [names[s] for s in STEPS[1:]]
        groups = frame.get_column("group").unique(maintain_order=True).to_list()
        data = alt.Data(values=frame.select("group", "step_name", "share", "share_label").to_dicts())  # type: ignore[no-untyped-call]
        base = alt.Chart(data).encode(
            x=alt.X("step_name:N", sort=order, title=None, axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("group:N", sort=groups),
            color=alt.Color("group:N", sort=groups, title=t("lab.chart.group")))
        bars = base.mark_bar().encode(y=alt.Y("share:Q", axis=alt.Axis(format="%"), title=t("lab.chart.share")),
                                      tooltip=["group:N", "step_name:N", "share_label:N"])
        text = base.mark_text(dy=-4, baseline="bottom", fontSize=9).encode(y="share:Q", text="share_label:N")
        return alt.LayerChart(layer=[bars, text], title=alt.TitleParams(t("lab.chart.funnel"), anchor="start"), width=600)

    def export_chart(self, chart: alt.TopLevelSpec, name: str) -> Path:
        """Write a chart as SVG with the provenance line under its title."""
        from workbench.reporting.charts import to_svg

        copy = chart.copy(deep=False)
        title = chart.title.to_dict() if isinstance(chart.title, alt.TitleParams) else {}
        copy.title = alt.TitleParams(title.get("text", ""), anchor="start", subtitle=[self.provenance()],
                                     subtitleFontSize=10)
        target = self._target(name, ".svg")
        target.write_text(to_svg(copy), "utf-8")
        return target

    def session_report(self, title: str, notes: str, tables: Mapping[str, pl.DataFrame], name: str = "session") -> Path:
        """A learning-lab session as one HTML page: the group's notes (as text) and suppressed tables."""
        parts = [f"<h1>{html.escape(title)}</h1>", f"<p><em>{html.escape(self.provenance())}</em></p>",
                 f"<h2>{html.escape(t('lab.report.notes'))}</h2>",
                 "".join(f"<p>{html.escape(line)}</p>" for line in notes.splitlines() if line.strip())]
        for heading, table in tables.items():
            shown = [c for c in table.columns if not c.endswith("_suppressed")]
            rows = "".join("<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row)
                           + "</tr>" for row in table.select(shown).iter_rows())
            head = "".join(f"<th>{html.escape(c)}</th>" for c in shown)
            parts.append(f"<h2>{html.escape(heading)}</h2><table><tr>{head}</tr>{rows}</table>")
        page = ("<!doctype html><html lang='da'><head><meta charset='utf-8'>"
                f"<title>{html.escape(title)}</title><style>table{{border-collapse:collapse}}"
                "td,th{border:1px solid #999;padding:2px 6px}</style></head><body>" + "".join(parts) + "</body></html>")
        target = self._target(name, ".html")
        target.write_text(page, "utf-8")
        return target


def _check_columns(frame: pl.DataFrame, columns: Sequence[str]) -> None:
    """Refuse (``InvalidInput``) a column the table does not have, naming the ones it has."""
    for column in columns:
        if column not in frame.columns:
            raise InvalidInput("lab.no_column", field="by", column=column, columns=", ".join(frame.columns))


def _same(stored: Any, wanted: Any) -> bool:
    """Whether a stored field (as the store's frame gives it back) equals a wanted one."""
    if isinstance(wanted, list):
        return [{k: v for k, v in dict(x).items() if v is not None} for x in stored or []] == [
            {k: v for k, v in x.items() if v is not None} for x in wanted]
    return bool(stored == wanted or (stored in (None, "") and wanted in (None, "")))


def _period_bounds(period: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """The first and last month ("YYYY-MM") a referral period (month, "YYYY-Qn" or year) covers."""
    year = period.str.slice(0, 4)
    quarter = period.str.slice(6, 1).cast(pl.Int32, strict=False)
    first_q = (year + "-" + ((quarter - 1) * 3 + 1).cast(pl.String).str.zfill(2))
    last_q = (year + "-" + (quarter * 3).cast(pl.String).str.zfill(2))
    start = (pl.when(period.str.len_chars() == 4).then(year + "-01")
             .when(period.str.contains("Q")).then(first_q).otherwise(period))
    end = (pl.when(period.str.len_chars() == 4).then(year + "-12")
           .when(period.str.contains("Q")).then(last_q).otherwise(period))
    return start, end


def open(path: str | Path | None = None, *, user: str | None = None, notebook: str = "notebook",
         extract: str | Path | None = None) -> Lab:
    """The newest extract of the data directory (or the folder ``extract``) for a lab, research or admin user."""
    wb = opening.open_workbench(path, user=user)
    if not any(wb.user.has(role) for role in _READERS):
        raise NotAllowed("lab.role", role=wb.user.role.value)
    folder = Path(extract) if extract is not None else wb.newest_extract()
    return Lab(read_extract(folder), wb, notebook=notebook)
