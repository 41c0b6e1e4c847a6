"""The command line as scripts use it: exit codes, JSON output, plain errors, no tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from people import staff

import workbench
from workbench.service import users

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, data: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "WORKBENCH_DATA"}
    full_env.update({"PYTHONPATH": str(ROOT), "WORKBENCH_LANG": "da", **(env or {})})
    command = [sys.executable, "-m", "workbench.cli", *args]
    if data is not None:
        command += ["--data", str(data)]
    return subprocess.run(command, capture_output=True, text=True, env=full_env, timeout=120, check=False)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    wb = workbench.open(data, user=staff("test"))
    users.add(data, wb.user)  # the command line acts as the only user there is
    wb.add_site("ODE", "Frivilligcenter Odense", "Odense")
    wb.open_referral(site_id="ODE", citizen={"display_name": "=SUM(A1)", "postal_code": "5000"},
                     consents=[{"purpose": "case_work", "given": True}])
    return data


def test_check_reports_counts_as_json(store: Path) -> None:
    result = cli("check", "--json", data=store)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report == {"cases": 1, "events": 1, "citizens": 1, "volunteers": 0, "communities": 0, "problems": []}


def test_check_finds_a_broken_reference_and_exits_1(store: Path) -> None:
    wb = workbench.open(store, user=staff("test"))
    wb._store.transact("test", lambda s, tx: tx.put("events", {
        "id": "H999999", "case_id": "S404", "kind": "note", "on": "2026-01-01",
        "recorded_at": "2026-01-01T00:00:00+00:00", "recorded_by": "x", "text": "x"}))
    result = cli("check", data=store)
    assert result.returncode == 1
    assert "S404" in result.stdout and "Traceback" not in result.stdout + result.stderr


def test_backup_restore_and_export(store: Path, tmp_path: Path) -> None:
    target = tmp_path / "backup.json"
    assert cli("backup", "--to", str(target), data=store).returncode == 0
    assert json.loads(target.read_text())["format"] == "brobygning-workbench-backup"
    again = cli("backup", "--to", str(target), data=store)
    assert again.returncode == 1 and "findes allerede" in again.stderr
    assert cli("restore", str(target), data=store).returncode == 0
    exported = cli("export-citizen", "B000001", data=store)
    assert json.loads(exported.stdout)["citizen"]["display_name"] == "=SUM(A1)"
    as_csv = cli("export-citizen", "B000001", "--format", "csv", data=store)
    assert "'=SUM(A1)" in as_csv.stdout


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p.write_text("x"), "er en fil"),
        (lambda p: (p.mkdir(), (p / "notes.txt").write_text("x")), "ikke en workbench-datamappe"),
    ],
)
def test_unusable_data_directories_give_a_plain_error(tmp_path: Path, make, expected: str) -> None:
    target = tmp_path / "target"
    make(target)
    result = cli("check", data=target)
    assert result.returncode == 1
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_citizen_is_a_plain_error(store: Path) -> None:
    result = cli("export-citizen", "B424242", data=store)
    assert result.returncode == 1 and "B424242" in result.stderr and "Traceback" not in result.stderr


def test_data_directory_comes_from_the_environment(store: Path) -> None:
    result = cli("check", "--json", env={"WORKBENCH_DATA": str(store)})
    assert json.loads(result.stdout)["cases"] == 1


def test_english_on_request(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    result = cli("check", data=tmp_path / "f", env={"WORKBENCH_LANG": "en"})
    assert "is a file" in result.stderr


def test_in_a_checkout_the_command_line_uses_the_folder_make_demo_uses_and_reading_creates_nothing(
        tmp_path: Path) -> None:
    import shutil

    checkout = tmp_path / "checkout"  # a copy of the source checkout (its data/ is what `make demo` uses)
    shutil.copytree(ROOT / "workbench", checkout / "workbench", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "Makefile"):
        shutil.copyfile(ROOT / name, checkout / name)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "WORKBENCH_DATA"}
    env.update(PYTHONPATH=str(checkout), WORKBENCH_LANG="da")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "workbench.cli", *args], capture_output=True, text=True, env=env,
                              cwd=elsewhere, timeout=300, check=False, stdin=subprocess.DEVNULL)

    data = checkout / "data"
    for read in (("check", "--user", "demo.admin"), ("extract", "--user", "demo.admin"),
                 ("export-citizen", "x", "--user", "demo.admin"), ("backup", "--to", str(tmp_path / "b.zip"))):
        refused = run(*read)
        assert refused.returncode != 0, read
        assert f"Der er ingen workbench-data i {data}" in refused.stderr and "Traceback" not in refused.stderr, read
        assert not data.exists() and not list(elsewhere.iterdir()), read  # nothing created by reading
    assert run("demo", "--cases", "5").returncode == 0
    checked = run("check", "--user", "demo.admin")
    assert checked.returncode == 0, checked.stderr
    assert f"Datamappe: {data}" in checked.stderr
    assert checked.stdout.strip() == f"Ingen problemer fundet i {data} (5 forløb)."


def test_help_and_usage_errors_speak_the_users_language(tmp_path: Path) -> None:
    """``workbench --help`` and argparse's own errors come from the catalog, like every other message."""
    danish = cli("--help", data=tmp_path / "d")
    assert danish.returncode == 0
    assert "brug: workbench" in danish.stdout and "tilføj opdigtede demoforløb" in danish.stdout
    assert "show this help" not in danish.stdout and "usage:" not in danish.stdout
    check = cli("check", "--help", data=tmp_path / "d")
    assert "brug: workbench check" in check.stdout and "kontrollér" not in check.stdout.split("\n")[0]
    assert "svar som JSON" in check.stdout
    demo = cli("demo", "--help", data=tmp_path / "d")
    assert demo.stdout.count("valg:") == 1 and demo.stdout.index("  --data") > demo.stdout.index("valg:")
    missing = cli("backup", data=tmp_path / "d")
    assert missing.returncode == 2 and "workbench backup: fejl: disse skal angives: --to" in missing.stderr
    word = cli("demo", "--cases", "mange", data=tmp_path / "d")
    assert word.returncode == 2 and "'mange' er ikke et helt tal" in word.stderr
    assert not (tmp_path / "d").exists()  # a refused command wrote nothing
    english = cli("--help", data=tmp_path / "d", env={"WORKBENCH_LANG": "en"})
    assert "usage: workbench" in english.stdout and "add synthetic demo cases" in english.stdout
