"""Who may do what: every role × every public service method × own site / another site.

The matrix is generated from the service's public methods, so a new method without a rule in
``workbench.service.access.RULES`` (and an example call here) fails the test. A refusal raises
``NotAllowed``, writes one audit record naming the user, and changes nothing else.
"""

from __future__ import annotations

import inspect
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import workbench
from workbench.errors import NotAllowed, WorkbenchError
from workbench.service import Workbench, users
from workbench.service.access import RULES
from workbench.service.users import Role

TODAY = date(2026, 5, 1)
PEOPLE = {
    Role.coordinator: users.User(id="anna", name="Anna Koordinator", role=Role.coordinator, sites=("ODE",)),
    Role.lead: users.User(id="lars", name="Lars Leder", role=Role.lead),
    Role.admin: users.User(id="ada", name="Ada Admin", role=Role.admin),
    Role.lab: users.User(id="lea", name="Lea Lab", role=Role.lab),
    Role.researcher: users.User(id="rasmus", name="Rasmus Forsker", role=Role.researcher),
}
SVE_COORDINATOR = users.User(id="sven", name="Sven Koordinator", role=Role.coordinator, sites=("SVE",))


def _site_records(wb: Workbench, site: str) -> dict[str, str]:
    volunteer = wb.register_volunteer(site_id=site, name=f"Frivillig {site}", status="active", capacity=3)
    community = wb.add_community(site_id=site, name=f"Strikkecafé {site}", organiser="Biblioteket", kind="creative",
                                 postal_code="5000")
    case = wb.open_referral(site_id=site, citizen={"display_name": f"Borger {site}"},
                            consents=[{"purpose": "case_work", "given": True}], on=TODAY)
    return {"volunteer": volunteer["id"], "community": community["id"], "case": case["id"],
            "citizen": case["citizen_id"], "site": site}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, str]]]:
    root = tmp_path_factory.mktemp("access") / "data"
    admin = workbench.open(root, user=PEOPLE[Role.admin], today=lambda: TODAY)
    for site, name in (("ODE", "Odense"), ("SVE", "Svendborg")):
        admin.add_site(site, f"Frivilligcenter {name}", name)
    for person in (*PEOPLE.values(), SVE_COORDINATOR):
        users.add(root, person)
    ids = {"own": _site_records(workbench.open(root, user="anna", today=lambda: TODAY), "ODE"),
           "other": _site_records(workbench.open(root, user="sven", today=lambda: TODAY), "SVE")}
    ids["own"]["intervention"] = workbench.open(root, user="lars", today=lambda: TODAY).add_intervention("Gåtur")["id"]
    return root, ids


Call = Callable[[Workbench, dict[str, str], Path], Any]
EXAMPLES: dict[str, Call] = {
    "today": lambda wb, r, tmp: wb.today(),
    "frames": lambda wb, r, tmp: wb.frames,
    "batch": lambda wb, r, tmp: wb.batch(),
    "bulk": lambda wb, r, tmp: wb.bulk(),
    "add_site": lambda wb, r, tmp: wb.add_site("KGE", "Frivilligcenter Køge", "Køge"),
    "add_intervention": lambda wb, r, tmp: wb.add_intervention("Madklub"),
    "define_template": lambda wb, r, tmp: wb.define_template("Makkerskab"),
    "fork_template": lambda wb, r, tmp: wb.fork_template(r["intervention"], description="Ny version"),
    "pilot_template": lambda wb, r, tmp: wb.pilot_template(r["intervention"], r["site"]),
    "extract": lambda wb, r, tmp: wb.extract(),
    "newest_extract": lambda wb, r, tmp: wb.newest_extract(),
    "register_volunteer": lambda wb, r, tmp: wb.register_volunteer(site_id=r["site"], name="Ny Frivillig"),
    "update_volunteer": lambda wb, r, tmp: wb.update_volunteer(r["volunteer"], capacity=4),
    "volunteer_load": lambda wb, r, tmp: wb.volunteer_load(r["volunteer"]),
    "open_referral": lambda wb, r, tmp: wb.open_referral(site_id=r["site"], citizen={"display_name": "Ny Borger"},
                                                         consents=[{"purpose": "case_work", "given": True}]),
    "referral_status": lambda wb, r, tmp: wb.referral_status("webform-0001"),
    "open_case": lambda wb, r, tmp: wb.open_case(r["citizen"]),
    "citizen": lambda wb, r, tmp: wb.citizen(r["citizen"]),
    "update_citizen": lambda wb, r, tmp: wb.update_citizen(r["citizen"], display_name="Borger Ny"),
    "update_contact": lambda wb, r, tmp: wb.update_contact(r["citizen"], phone="20304050"),
    "record_consent": lambda wb, r, tmp: wb.record_consent(r["citizen"], "research", True),
    "add_community": lambda wb, r, tmp: wb.add_community(site_id=r["site"], name="Ny klub", organiser="IF",
                                                         kind="sport", postal_code="5000"),
    "update_community": lambda wb, r, tmp: wb.update_community(r["community"], organiser="Nyt IF"),
    "verify_community": lambda wb, r, tmp: wb.verify_community(r["community"]),
    "case_state": lambda wb, r, tmp: wb.case_state(r["case"]),
    "case_events": lambda wb, r, tmp: wb.case_events(r["case"]),
    "assign": lambda wb, r, tmp: wb.assign(r["case"], r["volunteer"]),
    "close_case": lambda wb, r, tmp: wb.close_case(r["case"], "declined"),
    "reopen_case": lambda wb, r, tmp: wb.reopen_case(r["case"]),
    "record_event": lambda wb, r, tmp: wb.record_event(r["case"], "note", text="En note"),
    "set_interventions": lambda wb, r, tmp: wb.set_interventions(r["case"], []),
    "record_measure": lambda wb, r, tmp: wb.record_measure(r["case"], instrument="ucla3", answers=[1, 2, 3],
                                                           timepoint="baseline", mode="self"),
    "set_target": lambda wb, r, tmp: wb.set_target(r["site"], 2026, "escorts", 20),
    "erase_citizen": lambda wb, r, tmp: wb.erase_citizen(r["citizen"]),
    "export_citizen": lambda wb, r, tmp: wb.export_citizen(r["citizen"]),
    "export_citizen_csv": lambda wb, r, tmp: wb.export_citizen_csv(r["citizen"]),
    "export_citizen_file": lambda wb, r, tmp: wb.export_citizen_file(r["citizen"], tmp / "export.json"),
    "backup": lambda wb, r, tmp: wb.backup(tmp / "backup.json"),
    "restore": lambda wb, r, tmp: wb.restore(tmp / "no-such-backup.json"),
    "check": lambda wb, r, tmp: wb.check(),
    "refresh": lambda wb, r, tmp: wb.refresh(),
    "sites": lambda wb, r, tmp: wb.sites(),
    "interventions": lambda wb, r, tmp: wb.interventions(),
    "targets": lambda wb, r, tmp: wb.targets(),
    "citizen_names": lambda wb, r, tmp: wb.citizen_names(),
    "case": lambda wb, r, tmp: wb.case(r["case"]),
    "volunteer": lambda wb, r, tmp: wb.volunteer(r["volunteer"]),
    "community": lambda wb, r, tmp: wb.community(r["community"]),
    "exports_folder": lambda wb, r, tmp: wb.exports_folder(),
    "lead_table": lambda wb, r, tmp: wb.lead_table("funnel"),
    "user_names": lambda wb, r, tmp: wb.user_names(),
    "tinydb": lambda wb, r, tmp: wb.tinydb(),
}


def public_methods() -> set[str]:
    return {name for name, _ in inspect.getmembers(Workbench) if not name.startswith("_")} - {"user", "actor"}


def test_every_public_method_has_a_rule_and_an_example() -> None:
    assert public_methods() == set(RULES) == set(EXAMPLES)


def _allowed(role: Role, method: str, where: str) -> bool:
    rule = RULES[method]
    return role in rule.roles and (role != Role.coordinator or rule.target is None or where == "own")


def _state(root: Path) -> dict[str, bytes]:
    """Every file of the data folder but the audit trail, by name."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name not in ("audit.ndjson", "store.lock") and not p.name.startswith("journal-")}


@pytest.mark.parametrize("where", ["own", "other"])
@pytest.mark.parametrize("method", sorted(RULES))
@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_role_method_site(template: tuple[Path, dict[str, dict[str, str]]], tmp_path: Path, role: Role,
                          method: str, where: str) -> None:
    source, ids = template
    root = tmp_path / "data"
    shutil.copytree(source, root)
    wb = workbench.open(root, user=PEOPLE[role].id, today=lambda: TODAY)
    records = {**ids["own"], **ids[where]}
    audit_before = list(wb._store.audit_trail())
    tables_before = wb._store.export_tables()
    if _allowed(role, method, where):
        try:
            EXAMPLES[method](wb, records, tmp_path)
        except NotAllowed as refused:
            pytest.fail(f"{role.value} may call {method} ({where} site): {refused.message}")
        except WorkbenchError:
            pass  # allowed through the door; the method's own rules may still say no
        return
    with pytest.raises(NotAllowed) as refused:
        EXAMPLES[method](wb, records, tmp_path)
    assert refused.value.message  # a sentence in the user's language
    audit = list(wb._store.audit_trail())
    new = audit[len(audit_before):]
    assert [(a["actor"], a["action"], a["fields"]) for a in new] == [(PEOPLE[role].id, "refused", [method])]
    assert wb._store.export_tables() == tables_before  # nothing else changed


def test_a_coordinator_cannot_move_a_record_to_another_site(template: tuple[Path, dict[str, dict[str, str]]],
                                                             tmp_path: Path) -> None:
    source, ids = template
    root = tmp_path / "data"
    shutil.copytree(source, root)
    anna = workbench.open(root, user="anna", today=lambda: TODAY)
    for call in (lambda: anna.update_volunteer(ids["own"]["volunteer"], site_id="SVE"),
                 lambda: anna.update_community(ids["own"]["community"], site_id="SVE")):
        with pytest.raises(NotAllowed):
            call()
    with pytest.raises(WorkbenchError):  # a citizen never moves site
        anna.update_citizen(ids["own"]["citizen"], site_id="SVE")
    assert anna._store.get("volunteers", ids["own"]["volunteer"])["site_id"] == "ODE"


def test_an_unknown_user_gets_no_handle(template: tuple[Path, dict[str, dict[str, str]]]) -> None:
    root, _ = template
    with pytest.raises(NotAllowed) as refused:
        workbench.open(root, user="mallory")
    assert "mallory" in refused.value.message and "workbench users add" in refused.value.message


def test_the_audit_trail_names_the_user(template: tuple[Path, dict[str, dict[str, str]]], tmp_path: Path) -> None:
    source, ids = template
    root = tmp_path / "data"
    shutil.copytree(source, root)
    anna = workbench.open(root, user="anna", today=lambda: TODAY)
    anna.record_event(ids["own"]["case"], "note", text="Ringede")
    assert list(anna._store.audit_trail())[-1]["actor"] == "anna"


def test_a_coordinators_frames_and_lists_hold_only_their_own_sites(
        template: tuple[Path, dict[str, dict[str, str]]]) -> None:
    root, ids = template
    anna = workbench.open(root, user="anna", today=lambda: TODAY)
    frames = anna.frames
    for name in ("cases", "events", "volunteers", "measures", "funnel"):
        assert set(getattr(frames, name).get_column("site").unique()) <= {"ODE"}, name
    assert set(frames.cases.get_column("case_id")) == {ids["own"]["case"]}
    assert set(frames.communities.get_column("site")) == {"ODE", "SVE"}  # the catalog is shared
    assert anna.citizen_names() == {ids["own"]["citizen"]: "Borger ODE"}
    assert set(anna.targets().get_column("site_id").to_list()) <= {"ODE"}


def test_the_leads_frames_hold_every_site_and_no_personal_column(
        template: tuple[Path, dict[str, dict[str, str]]]) -> None:
    from workbench.reporting.frames import PERSONAL_COLUMNS

    root, _ = template
    lars = workbench.open(root, user="lars", today=lambda: TODAY)
    frames = lars.frames
    assert set(frames.cases.get_column("site")) == {"ODE", "SVE"}
    for name, columns in PERSONAL_COLUMNS.items():
        assert not set(columns) & set(getattr(frames, name).columns), name
    everything = "".join(str(getattr(frames, name).to_dicts()) for name in PERSONAL_COLUMNS)
    for personal in ("Borger ODE", "Borger SVE", "Frivillig ODE", "anna", "sven"):
        assert personal not in everything


def test_a_user_with_two_roles_has_both_and_no_more(template: tuple[Path, dict[str, dict[str, str]]],
                                                    tmp_path: Path) -> None:
    source, ids = template
    root = tmp_path / "data"
    shutil.copytree(source, root)
    both = users.make_user(id="bo", name="Bo Begge", roles=("admin", "coordinator"), sites=("ODE",))
    users.add(root, both)
    bo = workbench.open(root, user="bo", today=lambda: TODAY)
    bo.record_event(ids["own"]["case"], "note", text="Ringede")  # coordinator of ODE
    assert bo.check().sound  # administrator
    with pytest.raises(NotAllowed):
        bo.record_event(ids["other"]["case"], "note", text="Ringede")  # not a coordinator of SVE
    with pytest.raises(NotAllowed):
        bo.set_interventions(ids["other"]["case"], [])
    assert "roles = [" in users.path(root).read_text()


def test_who_a_handle_acts_as_without_a_user_given(template: tuple[Path, dict[str, dict[str, str]]],
                                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source, _ = template
    monkeypatch.delenv("WORKBENCH_USER", raising=False)
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    with pytest.raises(NotAllowed) as refused:
        workbench.open(source)  # several users: nobody is guessed
    assert "anna" in refused.value.message and "--user" in refused.value.message
    monkeypatch.setenv("WORKBENCH_USER", "anna")
    assert workbench.open(source).user.id == "anna"
    monkeypatch.setenv("JUPYTERHUB_USER", "lars")  # under JupyterHub, the hub's user
    assert workbench.open(source).user.id == "lars"
    monkeypatch.delenv("WORKBENCH_USER")
    monkeypatch.delenv("JUPYTERHUB_USER")
    alone = tmp_path / "alone"
    workbench.init(alone)
    with pytest.raises(NotAllowed) as refused:
        workbench.open(alone)  # no users at all
    assert "workbench users add" in refused.value.message
    users.add(alone, users.make_user(id="eva", name="Eva Eneste", role="lead"))
    assert workbench.open(alone).user.id == "eva"  # the only user
    with pytest.raises(TypeError):
        Workbench(workbench.open(alone)._store, "eva")  # type: ignore[arg-type]
