"""Users of a data directory (users.toml) and ``workbench users``: every bad input refused plainly,
the file written whole and private, an old config.json migrated once."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from people import staff
from test_cli import cli

import workbench
from workbench.errors import InvalidInput, StoreError
from workbench.i18n import t
from workbench.service import users


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    workbench.open(root, user=staff("test"))
    return root


def test_add_list_set_role_remove_through_the_command_line(data: Path) -> None:
    added = cli("users", "--data", str(data), "add", "anna", "--name", "Anna Ås", "--role", "coordinator",
                "--site", "ODE", "--site", "sve")
    assert added.returncode == 0, added.stderr
    assert "anna" in added.stdout and "koordinator" in added.stdout
    assert cli("users", "--data", str(data), "add", "lars", "--name", "Lars Leder", "--role", "lead").returncode == 0
    listed = cli("users", "--data", str(data), "list")
    assert listed.stdout.splitlines() == ["anna\tAnna Ås\tkoordinator\tODE,SVE\tda", "lars\tLars Leder\tprojektleder\t\tda"]
    changed = cli("users", "--data", str(data), "set-role", "lars", "admin")
    assert changed.returncode == 0 and "administrator" in changed.stdout
    assert users.load(data)["lars"].role == users.Role.admin
    assert cli("users", "--data", str(data), "remove", "anna").returncode == 0
    assert set(users.load(data)) == {"lars"}
    assert stat.S_IMODE((data / users.USERS_FILE).stat().st_mode) == 0o600
    workbench.open(data, user=staff("test"))  # the store still opens beside its users file


@pytest.mark.parametrize(("args", "expected"), [
    (("add", "A!", "--name", "X Y", "--role", "lead"), "Bruger-id skal være 2–32 tegn"),
    (("add", "bo", "--name", "X Y", "--role", "boss"), "Rollen skal være en af: coordinator, lead, lab, researcher, admin"),
    (("add", "bo", "--name", "X Y", "--role", "coordinator"), "En koordinator skal have mindst ét sted"),
    (("add", "bo", "--name", "X Y", "--role", "coordinator", "--site", "Odense by"), "Et sted skrives som sin kode"),
    (("add", "bo", "--name", "   ", "--role", "lead"), "navn"),
    (("add", "bo", "--name", "010203-1234", "--role", "lead"), "CPR"),
    (("add", "bo", "--name", "X Y", "--role", "lead", "--language", "de"), "Sproget skal være en af: da, en"),
    (("remove", "nobody"), "Der findes ingen bruger med id'et nobody"),
    (("set-role", "nobody", "lead"), "Der findes ingen bruger med id'et nobody"),
])
def test_bad_input_is_one_plain_sentence_and_changes_nothing(data: Path, args: tuple[str, ...], expected: str) -> None:
    users.add(data, users.make_user(id="lars", name="Lars Leder", role="lead"))
    before = (data / users.USERS_FILE).read_bytes()
    done = cli("users", "--data", str(data), *args)
    assert done.returncode == 1
    assert expected.lower() in done.stderr.lower(), done.stderr
    assert "Traceback" not in done.stderr
    assert (data / users.USERS_FILE).read_bytes() == before


def test_a_duplicate_id_is_refused(data: Path) -> None:
    users.add(data, users.make_user(id="anna", name="Anna", role="lead"))
    with pytest.raises(InvalidInput) as refused:
        users.add(data, users.make_user(id="anna", name="Anna To", role="lead"))
    assert refused.value.key == "users.exists" and refused.value.field == "id"
    assert users.load(data)["anna"].name == "Anna"


@pytest.mark.parametrize("content", ["[users.anna\nname = 1", "users = 3", "[users.anna]\nname = 'A B'\nrole = 'boss'",
                                     "[users]\nanna = 'x'", b"\xff\xfe"])
def test_a_broken_users_file_is_named_in_the_error(data: Path, content: str | bytes) -> None:
    file = data / users.USERS_FILE
    file.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(StoreError) as refused:
        users.load(data)
    assert str(file) in refused.value.message
    done = cli("users", "--data", str(data), "list")
    assert done.returncode == 1 and str(file) in done.stderr and "Traceback" not in done.stderr


def test_an_old_config_becomes_users_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "data"
    workbench.open(root, user=staff("test"))
    (root / "config.json").write_text(json.dumps({"user_name": "Demo Koordinator", "site": "ODE",
                                                  "lead_name": "Demo Projektleder"}), "utf-8")
    workbench.open(root, user=staff("test"))
    made = users.load(root)
    assert {u.id: (u.name, u.role, u.sites) for u in made.values()} == {
        "demo.koordinator": ("Demo Koordinator", users.Role.coordinator, ("ODE",)),
        "demo.projektleder": ("Demo Projektleder", users.Role.lead, ()),
    }
    assert any(t("users.migrated", config=str(root / "config.json"), path=str(root / users.USERS_FILE),
                 users="demo.koordinator (coordinator), demo.projektleder (lead)") == r.getMessage()
               for r in caplog.records)
    users.remove(root, "demo.projektleder")
    workbench.open(root, user=staff("test"))  # once: a removed user does not come back
    assert set(users.load(root)) == {"demo.koordinator"}


def test_users_may_be_added_before_the_store_is_created(tmp_path: Path) -> None:
    root = tmp_path / "fresh"
    root.mkdir()
    users.add(root, users.make_user(id="admin", name="Ada Admin", role="admin"))
    workbench.open(root, user=staff("test"))
    assert (root / "workbench.json").is_file()


def test_the_demo_has_two_coordinators_at_two_sites_a_lead_an_admin_and_lab_and_research(tmp_path: Path) -> None:
    root = tmp_path / "data"
    done = cli("demo", "--cases", "20", data=root)
    assert done.returncode == 0, done.stderr
    made = users.load(root)
    assert {(u.roles, u.sites) for u in made.values()} == {
        ((users.Role.coordinator,), ("ODE",)), ((users.Role.coordinator,), ("AAR",)), ((users.Role.lead,), ()),
        ((users.Role.admin,), ()), ((users.Role.admin, users.Role.coordinator), ("ODE", "AAR", "AAL", "ESB", "KGE")),
        ((users.Role.lab,), ()), ((users.Role.researcher,), ())}
    trail = list(workbench.open(root, user="demo.admin")._store.audit_trail())
    assert {a["actor"] for a in trail} == {"demo.indlaesning"}  # the demo data names who loaded it
    assert cli("demo", "--cases", "5", data=root).returncode == 0
    assert users.load(root) == made  # written once, never overwritten


def test_the_command_line_acts_as_a_user_and_refuses_what_the_role_does_not_allow(tmp_path: Path) -> None:
    root = tmp_path / "data"
    assert cli("demo", "--cases", "20", data=root).returncode == 0
    assert cli("check", "--user", "demo.admin", data=root).returncode == 0
    refused = cli("backup", "--to", str(tmp_path / "b.json"), "--user", "demo.koordinator", data=root)
    assert refused.returncode == 1
    assert "Det må du ikke som koordinator: backup" in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "b.json").exists()
    wb = workbench.open(root, user="demo.admin")
    trail = list(wb._store.audit_trail())
    assert (trail[-1]["actor"], trail[-1]["action"], trail[-1]["fields"]) == ("demo.koordinator", "refused", ["backup"])
    aarhus = workbench.open(root, user="demo.koordinator.aar").frames.cases.get_column("citizen_id")[0]
    for command in (("erase-citizen", aarhus), ("export-citizen", aarhus), ("restore", str(tmp_path / "b.json"))):
        refused = cli(*command, "--user", "demo.koordinator", data=root)
        assert refused.returncode == 1 and "Det må du ikke som koordinator" in refused.stderr, command
    assert workbench.open(root, user="demo.koordinator.aar").citizen(aarhus)["display_name"] != "[slettet]"
    unknown = cli("check", "--user", "mallory", data=root)
    assert unknown.returncode == 1 and "Brugeren mallory findes ikke" in unknown.stderr


def test_a_page_acts_as_the_signed_in_user_or_says_why_not(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ipywidgets as widgets
    from widget_tree import html_of

    from workbench.ui.coordinator.app import coordinator_app
    from workbench.ui.lead import lead_app

    root = tmp_path / "data"
    assert cli("demo", "--cases", "20", data=root).returncode == 0
    monkeypatch.setenv("WORKBENCH_USER", "demo.koordinator.aar")
    page = coordinator_app(str(root))
    assert "Logget ind som Demo Koordinator Aarhus · Frivilligcenter Aarhus" in html_of(page)
    assert f"Datamappe: {root}" in html_of(page)  # every page names the folder it works on
    refused = lead_app(str(root))
    assert isinstance(refused, widgets.HTML)
    assert "Denne side er for en projektleder. Du er logget ind som Demo Koordinator Aarhus (koordinator)." in refused.value
    monkeypatch.setenv("WORKBENCH_USER", "mallory")
    unknown = coordinator_app(str(root))
    assert isinstance(unknown, widgets.HTML) and "Brugeren mallory findes ikke" in unknown.value


def test_hub_groups_give_roles_and_sites_and_taking_them_away_ends_access(tmp_path: Path) -> None:
    root = tmp_path / "data"
    workbench.init(root)
    users.add(root, users.make_user(id="anna", name="Anna Ærø", role="lead", language="en"))
    made = users.from_groups(root, "anna", ["workbench-coordinator", "workbench-site-ODE", "andet-hold"])
    assert made is not None and made.roles == (users.Role.coordinator,) and made.sites == ("ODE",)
    assert users.known(root, "anna").name == "Anna Ærø" and users.known(root, "anna").language == "en"  # kept
    new = users.from_groups(root, "bo", ["workbench-lab", "workbench-researcher"])
    assert new is not None and users.known(root, "bo").roles == (users.Role.lab, users.Role.researcher)
    with pytest.raises(InvalidInput) as refused:  # a coordinator needs a site: nothing is written
        users.from_groups(root, "cia", ["workbench-coordinator"])
    assert refused.value.field == "sites" and "cia" not in users.load(root)
    assert users.from_groups(root, "anna", ["andet-hold"]) is None
    assert "anna" not in users.load(root) and "bo" in users.load(root)
    assert users.from_groups(root, "nobody", []) is None and "nobody" not in users.load(root)
