"""The de-identified research extract and the lab handle on it, on a real demo store in a temp dir."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from people import staff
from test_cli import cli

import workbench
import workbench.lab as lab_module
from workbench.demo import generate
from workbench.errors import InvalidInput, NotAllowed, StoreError
from workbench.reporting.suppression import STANDARD, count_label
from workbench.service import Workbench
from workbench.service import extract as ex
from workbench.service.users import Role

DEMO_CASES = 500


@dataclass
class Demo:
    root: Path
    admin: Workbench
    report: ex.ExtractReport


def _demo(root: Path) -> Demo:
    from workbench.demo import ensure_demo_users, loader

    workbench.init(root)
    ensure_demo_users(root)
    generate(workbench.open(root, user=loader()), DEMO_CASES, seed=7)
    admin = workbench.open(root, user="demo.admin")
    return Demo(root, admin, admin.extract())


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """A demo store with one extract; tests that change it use ``fresh_demo``."""
    return _demo(tmp_path_factory.mktemp("extract-demo"))


@pytest.fixture
def fresh_demo(tmp_path: Path) -> Demo:
    return _demo(tmp_path / "data")


def _store_tables(admin: Workbench) -> dict[str, list[dict[str, Any]]]:
    db = admin.tinydb()
    return {name: [dict(doc) for doc in db.table(name).all()] for name in db.tables()}


def _files(folder: Path) -> Iterator[Path]:
    return (p for p in sorted(folder.rglob("*")) if p.is_file())


def _cells(folder: Path) -> list[str]:
    """Every string value of every table (list elements included) and every text file, as strings."""
    out: list[str] = []
    for path in _files(folder):
        if path.suffix == ".parquet":
            frame = pl.read_parquet(path)
            for column, dtype in frame.schema.items():
                series = frame.get_column(column)
                if dtype == pl.List(pl.String):
                    series = series.explode()
                out += [str(v) for v in series.drop_nulls().to_list()]
        else:
            out.append(path.read_text("utf-8"))
    return out


# --- what is never written --------------------------------------------------------------------------------


def test_no_name_contact_note_postal_code_or_birth_year_of_any_citizen(demo: Demo) -> None:
    tables = _store_tables(demo.admin)
    citizens, contacts = tables["citizens"], tables["contacts"]
    assert len(citizens) >= DEMO_CASES * 0.9
    secrets: set[str] = set()
    for c in citizens:
        secrets.add(c["display_name"])
    for c in contacts:
        for key in ("phone", "email", "address"):
            if c.get(key):
                secrets.add(c[key])
                if key == "phone":
                    secrets.add(c[key].removeprefix("+45"))
    notes = {e["text"] for e in tables["events"] if e.get("text")}
    assert notes, "the demo writes notes on events"
    secrets |= notes
    folder = Path(demo.report.path)
    raw = b"".join(p.read_bytes() for p in _files(folder))
    found = sorted(s for s in secrets if s.encode() in raw)
    assert found == []
    # four-digit values (postal codes, birth years) would hit hex digits by chance in raw bytes:
    # search them as whole words in every decoded value and text file instead
    words = set(re.findall(r"(?<![0-9A-Za-z])\d{4}(?![0-9A-Za-z])", "\n".join(_cells(folder))))
    postal = {c["postal_code"] for c in citizens if c.get("postal_code")}
    births = {str(c["birth_year"]) for c in citizens if c.get("birth_year")}
    assert postal and births
    assert words & postal == set()
    assert words & births == set()
    # no integer column holds anything like a year or a postal code either
    for path in folder.glob("*.parquet"):
        frame = pl.read_parquet(path)
        for column, dtype in frame.schema.items():
            if dtype.is_integer() and column != "version":
                assert (frame.get_column(column).drop_nulls() < 1000).all(), (path.name, column)


def test_only_citizens_with_current_research_consent(demo: Demo) -> None:
    citizens = _store_tables(demo.admin)["citizens"]

    def research(c: dict[str, Any]) -> bool:
        given = [r["given"] for r in c.get("consents", []) if r["purpose"] == "research"]
        return bool(given and given[-1])

    key = ex._key(demo.root)
    yes = set(ex.pseudonyms(key, "cit", [c["id"] for c in citizens if research(c)]))
    no = set(ex.pseudonyms(key, "cit", [c["id"] for c in citizens if not research(c)]))
    found = set(pl.read_parquet(Path(demo.report.path) / "cases.parquet").get_column("citizen"))
    assert no and found
    assert found <= yes
    assert found.isdisjoint(no)
    assert demo.report.without_consent == len({c["id"] for c in citizens if not research(c)})


def test_a_withdrawn_consent_drops_the_citizen_from_the_next_extract(fresh_demo: Demo) -> None:
    key = ex._key(fresh_demo.root)
    cases = pl.read_parquet(Path(fresh_demo.report.path) / "cases.parquet")
    citizens = {c["id"]: c for c in _store_tables(fresh_demo.admin)["citizens"]}
    by_pseudonym = {ex.pseudonyms(key, "cit", [cid])[0]: cid for cid in citizens}
    pseudonym = cases.get_column("citizen")[0]
    citizen_id = by_pseudonym[pseudonym]
    site = citizens[citizen_id]["site_id"]
    coordinator = workbench.open(fresh_demo.root, user=staff("koord", roles=("coordinator",), sites=(site,)))
    coordinator.record_consent(citizen_id, "research", False)
    again = fresh_demo.admin.extract()
    assert again.extract_id != fresh_demo.report.extract_id
    assert pseudonym not in set(pl.read_parquet(Path(again.path) / "cases.parquet").get_column("citizen"))
    assert lab_module.open(fresh_demo.root, user="demo.lab").id == again.extract_id
    # the earlier extract, which held the citizen, is gone from the data directory
    assert not Path(fresh_demo.report.path).exists()
    assert [p.name for p in (fresh_demo.root / ex.FOLDER).iterdir() if p.is_dir()] == [again.extract_id]
    # consent given again: the same data as the first extract, so the same id
    coordinator.record_consent(citizen_id, "research", True)
    back = fresh_demo.admin.extract()
    assert back.extract_id == fresh_demo.report.extract_id
    assert lab_module.open(fresh_demo.root, user="demo.lab").id == fresh_demo.report.extract_id


def test_an_erasure_removes_every_extract(fresh_demo: Demo) -> None:
    citizen_id = _store_tables(fresh_demo.admin)["citizens"][0]["id"]
    fresh_demo.admin.erase_citizen(citizen_id)
    assert not Path(fresh_demo.report.path).exists()
    with pytest.raises(workbench.NotFound):
        lab_module.open(fresh_demo.root, user="demo.lab")
    pseudonym = ex.pseudonyms(ex._key(fresh_demo.root), "cit", [citizen_id])[0]
    report = fresh_demo.admin.extract()
    assert pseudonym not in set(pl.read_parquet(Path(report.path) / "cases.parquet").get_column("citizen"))


def test_measures_hold_only_the_cases_the_extract_holds(demo: Demo) -> None:
    folder = Path(demo.report.path)
    cases = set(pl.read_parquet(folder / "cases.parquet").get_column("case"))
    for name in ("measures", "measure_pairs"):
        assert set(pl.read_parquet(folder / f"{name}.parquet").get_column("case")) <= cases, name
    assert demo.report.left_out > 0 or demo.report.age_withheld >= 0


# --- pseudonyms and k-anonymity ---------------------------------------------------------------------------


def test_pseudonyms_are_stable_with_one_key_and_differ_with_another(fresh_demo: Demo, tmp_path: Path) -> None:
    first = pl.read_parquet(Path(fresh_demo.report.path) / "cases.parquet")
    # a later extract after more work: the same citizens and cases keep their pseudonyms
    generate(workbench.open(fresh_demo.root, user="demo.indlaesning"), 20, seed=99)
    second_report = fresh_demo.admin.extract()
    second = pl.read_parquet(Path(second_report.path) / "cases.parquet")
    assert second_report.extract_id != fresh_demo.report.extract_id
    assert second.height > first.height
    joined = first.select("case", "citizen").join(second.select("case", "citizen"), on="case", how="inner",
                                                  suffix="_later")
    assert joined.height >= first.height * 0.9
    assert (joined.get_column("citizen") == joined.get_column("citizen_later")).all()
    # another data directory with the same records but its own key: other pseudonyms
    other = tmp_path / "other"
    shutil.copytree(fresh_demo.root, other, ignore=shutil.ignore_patterns(ex.KEY_FILE, ex.FOLDER))
    third_report = workbench.open(other, user="demo.admin").extract()
    third = pl.read_parquet(Path(third_report.path) / "cases.parquet")
    assert set(third.get_column("citizen")).isdisjoint(set(second.get_column("citizen")))
    assert set(third.get_column("case")).isdisjoint(set(second.get_column("case")))
    assert ex.pseudonyms(b"a" * 32, "cit", ["B000001"]) != ex.pseudonyms(b"b" * 32, "cit", ["B000001"])


def test_the_key_is_owner_only_and_never_in_the_extract(demo: Demo) -> None:
    key_file = ex.key_path(demo.root)
    assert key_file.stat().st_mode & 0o077 == 0
    key_text = key_file.read_text().strip()
    assert all(key_text.encode() not in p.read_bytes() for p in _files(Path(demo.report.path)))


def test_k_anonymity_holds_on_the_quasi_identifiers(demo: Demo) -> None:
    cases = pl.read_parquet(Path(demo.report.path) / "cases.parquet")
    classes = cases.group_by(*ex.QUASI_IDENTIFIERS).agg(pl.col("citizen").n_unique().alias("n"))
    assert classes.get_column("n").min() >= ex.K  # type: ignore[operator]
    report = demo.report
    assert report.to_quarter > 0  # the small demo needs it: the report says how often
    assert report.cases == cases.height
    package = json.loads((Path(report.path) / ex.PACKAGE).read_text())
    assert package["workbench"]["left_out"] == count_label(report.left_out, STANDARD)  # "<5" for 1-4
    assert package["workbench"]["k"] == 5


def test_k_anonymous_widens_then_withholds_then_leaves_out() -> None:
    rows = ([("c1", "ODE", "adult", "2026-01")] * 1 + [(f"a{i}", "ODE", "adult", "2026-02") for i in range(4)]
            + [(f"b{i}", "ODE", "adult", "2026-04") for i in range(6)] + [("lone", "AAR", "youth", "2025-07")])
    cases = pl.DataFrame(rows, schema=["citizen", "site", "age_group", "referral_period"], orient="row")
    out, counts = ex.k_anonymous(cases, 5)
    assert counts == {"to_quarter": 6, "to_year": 1, "age_withheld": 1, "left_out": 1}
    assert sorted(out.get_column("referral_period").to_list()) == ["2026-04"] * 6 + ["2026-Q1"] * 5
    assert "lone" not in out.get_column("citizen").to_list()


# --- the package ------------------------------------------------------------------------------------------


def test_the_package_describes_every_column_and_checksums_every_file(demo: Demo) -> None:
    folder = Path(demo.report.path)
    package = json.loads((folder / ex.PACKAGE).read_text())
    assert package["profile"] == "tabular-data-package"
    assert package["id"] == demo.report.extract_id == folder.name
    assert package["created"]
    for resource in package["resources"]:
        frame = pl.read_parquet(folder / resource["path"])
        assert [f["name"] for f in resource["schema"]["fields"]] == frame.columns
        assert all(f["description"] and f["type"] in {"string", "integer", "number", "boolean", "array"}
                   for f in resource["schema"]["fields"])
        for f in resource["schema"]["fields"]:
            allowed = f.get("constraints", {}).get("enum")
            if allowed:
                assert set(frame.get_column(f["name"]).drop_nulls().to_list()) <= set(allowed), f["name"]
        assert resource["rows"] == frame.height
    markdown = (folder / ex.README).read_text()
    assert demo.report.extract_id in markdown and "| `weeks_to_escort` | integer |" in markdown


def test_the_same_data_gives_the_same_extract(demo: Demo) -> None:
    again = demo.admin.extract()
    assert again.unchanged and again.extract_id == demo.report.extract_id
    assert again.created == demo.report.created
    assert not list((demo.root / ex.FOLDER).glob(".writing-*"))


def test_a_damaged_extract_is_named_not_read(fresh_demo: Demo) -> None:
    path = Path(fresh_demo.report.path) / "measures.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError) as caught:
        lab_module.read_extract(fresh_demo.report.path)
    assert "measures.parquet" in caught.value.message
    with pytest.raises(StoreError):
        lab_module.read_extract(fresh_demo.root)  # not an extract at all


# --- who may --------------------------------------------------------------------------------------------


def test_only_an_administrator_writes_an_extract_and_only_lab_and_research_read_it(demo: Demo) -> None:
    for user in ("demo.koordinator", "demo.lab", "demo.projektleder"):
        with pytest.raises(NotAllowed):
            workbench.open(demo.root, user=user).extract()
    for user in ("demo.koordinator", "demo.projektleder"):  # the lead sees aggregated, suppressed tables only
        with pytest.raises(NotAllowed):
            lab_module.open(demo.root, user=user)
    for user in ("demo.lab", "demo.forsker"):
        assert lab_module.open(demo.root, user=user).id == demo.report.extract_id


def test_k_below_five_is_refused(demo: Demo) -> None:
    for k in (0, 1, 4):
        with pytest.raises(InvalidInput) as refused:
            demo.admin.extract(k=k)
        assert "5" in refused.value.message
    done = cli("extract", "--k", "3", "--user", "demo.admin", data=demo.root)
    assert done.returncode == 1 and "mindst 5" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("content", ["", "\n", "abcd\n", "zz" * 32, "00" * 31 + "\n"])
def test_a_damaged_or_short_key_is_refused_never_used(tmp_path: Path, content: str) -> None:
    ex.key_path(tmp_path).write_text(content)
    with pytest.raises(StoreError) as refused:
        ex._key(tmp_path)
    assert str(ex.key_path(tmp_path)) in refused.value.message
    assert ex.key_path(tmp_path).read_text() == content  # never replaced


def test_no_extract_yet_says_how_to_make_one(tmp_path: Path) -> None:
    from workbench.demo import ensure_demo_users

    workbench.init(tmp_path)
    ensure_demo_users(tmp_path)
    with pytest.raises(workbench.NotFound) as caught:
        lab_module.open(tmp_path, user="demo.lab")
    assert "workbench extract" in caught.value.message


def test_the_command_line_writes_an_extract_and_names_the_data_folder(demo: Demo) -> None:
    done = cli("extract", "--user", "demo.admin", data=demo.root)
    assert done.returncode == 0, done.stderr
    assert demo.report.extract_id in done.stdout
    assert str(demo.root) in done.stderr
    refused = cli("extract", "--user", "demo.koordinator", data=demo.root)
    assert refused.returncode != 0
    assert "Traceback" not in refused.stderr and refused.stderr.strip()


# --- the lab handle ----------------------------------------------------------------------------------------


LABELS = re.compile(r"^(0|[5-9]|[1-9]\d+|<5|\.\.)$")


def test_every_lab_table_passes_the_disclosure_gate(demo: Demo) -> None:
    lab = lab_module.open(demo.root, user="demo.lab", notebook="test")
    youth = lab.cohort("unge", pl.col("age_group") == "youth")
    for table in (lab.count(youth), lab.count(by=["site", "referral_source"]), lab.funnel(youth),
                  lab.funnel(by="site"), lab.quality()):
        labels = [c for c in table.columns if c.endswith("_label") and c.removesuffix("_label") in table.columns
                  and not c.startswith("share")]
        assert labels
        for column in labels:
            assert all(LABELS.match(v) for v in table.get_column(column).to_list()), column


def test_a_cohort_of_three_never_shows_a_three(demo: Demo) -> None:
    lab = lab_module.open(demo.root, user="demo.lab", notebook="test")
    three = lab.cases.filter(pl.col("weeks_to_escort").is_not_null()).head(3).get_column("case")
    cohort = lab.cohort("tre", pl.col("case").is_in(three.implode()))
    assert "3" not in repr(cohort) and "<5" in repr(cohort)
    table = lab.funnel(cohort)
    mine = table.filter(pl.col("group") == "tre")
    assert "3" not in mine.get_column("n_label").to_list()
    rest = table.filter(pl.col("group") == "rest")
    total = table.filter(pl.col("group") == "total")
    for step in ("referred", "escorted"):
        shown = [frame.filter(pl.col("step") == step).item(0, "n") for frame in (rest, total)]
        assert None in shown, f"{step}: the cohort's 3 would be total minus rest"
    counted = lab.count(cohort)
    assert "3" not in counted.get_column("cases_label").to_list()


def test_templates_are_stored_forked_and_piloted_through_the_service(fresh_demo: Demo) -> None:
    lab = lab_module.open(fresh_demo.root, user="demo.lab", notebook="test")
    first = lab.define("Makkerskab", description="En makker de første fire uger", target_group="loneliness",
                       success_criteria=[{"step": "lasting_12w", "at_least": 0.5}])
    assert first["template_version"] == 1 and [s["day"] for s in first["steps"]] == [0, 14, 28, 84]
    with pytest.raises(InvalidInput) as taken:
        lab.define("makkerskab")
    assert taken.value.field == "name"
    with pytest.raises(InvalidInput):
        lab.define("Ugyldig", steps=[{"name": "Samtale", "day": -1}])
    with pytest.raises(InvalidInput):
        lab.define("Ugyldig", success_criteria=[{"step": "lasting_12w", "at_least": 1.5}])
    second = lab.fork(first["id"], success_criteria=[{"step": "lasting_12w", "at_least": 0.3}])
    assert second["template_version"] == 2 and second["forked_from"] == first["id"] and second["name"] == "Makkerskab"
    assert lab.pilot(second["id"], "ODE")["pilot_sites"] == ["ODE"]
    with pytest.raises(NotAllowed):
        workbench.open(fresh_demo.root, user="demo.koordinator.aar").pilot_template(second["id"], "ODE")
    aarhus = workbench.open(fresh_demo.root, user="demo.koordinator.aar")
    aarhus_case = aarhus.frames.cases.item(0, "case_id")
    with pytest.raises(InvalidInput) as not_here:
        aarhus.set_interventions(aarhus_case, [second["id"]])
    assert "ODE" in not_here.value.message and "AAR" in not_here.value.message
    versions = lab.templates().filter(pl.col("name") == "Makkerskab")
    assert versions.get_column("version").to_list() == [1, 2]
    # a coordinator at the pilot site puts cases on it; the next extract follows them
    coordinator = workbench.open(fresh_demo.root, user="demo.koordinator")
    consenting = coordinator.frames.cases.filter(pl.col("research_consent")).head(12)
    for case_id, current in consenting.select("case_id", "interventions").iter_rows():
        coordinator.set_interventions(case_id, [*current, second["id"]])
    fresh_demo.admin.extract()
    lab = lab_module.open(fresh_demo.root, user="demo.lab", notebook="test")
    followed = lab.follow(second["id"])
    pilot = followed.filter(pl.col("group") == "Makkerskab v2")
    n = lab.pilot_cohort(second["id"]).cases.height
    assert 5 <= n <= 12  # the twelve put on it, less any k-anonymity left out
    assert pilot.filter(pl.col("step") == "referred").item(0, "n_label") == str(n)
    assert pilot.filter(pl.col("step") == "lasting_12w").item(0, "criterion") in {"opfyldt", "ikke opfyldt",
                                                                                  "kan ikke vises (for få)"}


def test_cross_tables_keep_their_margins_and_reserved_names_are_refused(demo: Demo) -> None:
    lab = lab_module.open(demo.root, user="demo.lab", notebook="test")
    # A/x = 12, A/y = 1, B/x = 5, B/y = 10: the margins A = 13 and x = 17 are shown (as count(by="site")
    # shows them), so every inner cell must be hidden, or A/y = 13 - 12 would give the one away
    rows = ([("A", "x")] * 12 + [("A", "y")] + [("B", "x")] * 5 + [("B", "y")] * 10)
    frame = pl.DataFrame(rows, schema=["site", "kind"], orient="row").with_row_index("case").with_columns(
        pl.col("case").cast(pl.String))
    table = lab.count(frame, by=["site", "kind"])
    inner = table.filter((pl.col("site") != "total") & (pl.col("kind") != "total"))
    assert inner.get_column("cases_suppressed").all()
    margins = dict(zip(table.select(pl.col("site") + "/" + pl.col("kind")).to_series(), table["cases_label"],
                       strict=True))
    assert (margins["A/total"], margins["total/x"], margins["total/total"]) == ("13", "17", "28")
    # a case with several rows (questionnaires) counts once
    twice = lab.count(lab.measures, by="site")
    assert twice.filter(pl.col("is_total")).item(0, "cases") == lab.measures.get_column("case").n_unique()
    for name in ("total", "rest", " Total "):
        with pytest.raises(InvalidInput):
            lab.cohort(name)
    with pytest.raises(InvalidInput) as no_column:
        lab.count(by="no_such_column")
    assert "site" in no_column.value.message
    with pytest.raises(InvalidInput):
        lab.funnel(by="interventions")
    with pytest.raises(InvalidInput):
        lab.funnel(within=lab.cohort("alle"))
    youth = lab.cohort("unge", pl.col("age_group") == "youth")
    with pytest.raises(InvalidInput):
        lab.funnel(youth, lab.cohort("Unge", pl.col("age_group") == "adult"))


def test_a_cohort_of_all_but_three_does_not_give_the_three_away(demo: Demo) -> None:
    lab = lab_module.open(demo.root, user="demo.lab", notebook="test")
    three = lab.cases.head(3).get_column("case").implode()
    all_but = lab.cohort("næsten alle", ~pl.col("case").is_in(three))
    assert str(lab.cases.height - 3) not in repr(all_but) and ".." in repr(all_but)


def test_lab_roles_cannot_change_cases() -> None:
    from workbench.service.access import RULES

    writers = {name for name, rule in RULES.items() if rule.roles & {Role.lab, Role.researcher}}
    assert writers == {"today", "refresh", "interventions", "define_template", "fork_template", "pilot_template",
                       "newest_extract"}


def test_periods_and_exports_carry_provenance(demo: Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_EXPORTS", str(tmp_path))
    lab = lab_module.open(demo.root, user="demo.lab", notebook="05_laeringslab")
    with pytest.raises(InvalidInput):
        lab.period("2026-1", "2026-06")
    with pytest.raises(InvalidInput):
        lab.period("2026-06", "2026-01")
    year = lab.period("2025-01", "2025-12")
    assert set(year.cases.get_column("referral_period").str.slice(0, 4).to_list()) == {"2025"}
    table = lab.funnel(by="site", within=year)
    written = lab.export_table(table, "tragt")
    assert written == tmp_path / "05_laeringslab-tragt.csv"
    first_line = written.read_text().splitlines()[0]
    assert demo.report.extract_id in first_line and "05_laeringslab" in first_line
    with pytest.raises(InvalidInput):
        lab.export_table(lab.cases, "rows")
    with pytest.raises(InvalidInput):
        lab.export_table(table, "../outside")
    svg = lab.export_chart(lab.funnel_chart(table), "tragt").read_text()
    assert demo.report.extract_id in svg and "05_laeringslab" in svg
    report = lab.session_report("Læringslab <i>marts</i>", "Vi lærte <script>alert(1)</script>",
                                {"Tragt": table}, "session")
    page = report.read_text()
    assert "<script>alert" not in page and "&lt;script&gt;" in page and demo.report.extract_id in page


def test_a_template_rerun_with_the_same_fields_is_not_a_new_version(fresh_demo: Demo) -> None:
    lab = lab_module.open(fresh_demo.root, user="demo.lab", notebook="test")
    first = lab.template("Fælles gåtur", target_group="loneliness",
                         success_criteria=[{"step": "attended", "at_least": 0.6}])
    assert lab.template("Fælles gåtur", target_group="loneliness",
                        success_criteria=[{"step": "attended", "at_least": 0.6}])["id"] == first["id"]
    changed = lab.template("Fælles gåtur", target_group="loneliness",
                           success_criteria=[{"step": "attended", "at_least": 0.7}])
    assert changed["template_version"] == 2 and changed["forked_from"] == first["id"]


def test_load_ext_gives_a_ready_lab_and_the_magic_lists_tables(demo: Demo, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setenv("WORKBENCH_DATA", str(demo.root))
    monkeypatch.setenv("WORKBENCH_USER", "demo.forsker")
    shell = InteractiveShell.instance()
    try:
        shell.run_line_magic("load_ext", "workbench")
        assert shell.user_ns["lab"].id == demo.report.extract_id
        schemas = shell.run_line_magic("workbench", "")
        out = capsys.readouterr().out
        assert demo.report.extract_id in out and str(demo.root) in out
        assert set(schemas.get_column("table")) == set(ex.TABLES)
        monkeypatch.setenv("WORKBENCH_USER", "demo.koordinator")
        shell.user_ns.pop("lab")
        shell.run_line_magic("reload_ext", "workbench")
        assert "lab" not in shell.user_ns
        assert "forskningsudtrækket" in capsys.readouterr().out
    finally:
        InteractiveShell.clear_instance()


def test_a_relative_data_folder_is_made_absolute_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.config import data_dir

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WORKBENCH_DATA", "data")
    assert data_dir() == tmp_path / "data"
    assert os.environ["WORKBENCH_DATA"] == str(tmp_path / "data")
    monkeypatch.chdir("/")
    assert data_dir() == tmp_path / "data"  # a kernel started elsewhere finds the same folder
