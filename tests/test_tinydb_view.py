"""The read-only TinyDB view sees exactly what the service wrote, and refuses writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from people import staff
from tinydb import Query

import workbench


def test_tinydb_reads_the_store_and_refuses_writes(tmp_path: Path) -> None:
    wb = workbench.open(tmp_path / "data", user=staff("test"))
    wb.add_site("ODE", "Frivilligcenter Odense", "Odense")
    wb.add_community(site_id="ODE", name="Løbeklubben Ø", organiser="DGI", postal_code="5000")
    wb.add_community(site_id="ODE", name="Strikkecafé", organiser="Ældre Sagen", postal_code="5700")
    wb._store.compact()
    wb.add_community(site_id="ODE", name="Kor", organiser="Kirken", postal_code="5000")  # in the journal
    admin = workbench.open(tmp_path / "data", user=staff("Ada Admin", roles=("admin",)))
    db = admin.tinydb()
    assert [(a["actor"], a["action"], a["entity"]) for a in admin._store.audit_trail()][-1] == (
        "ada.admin", "open", "store")
    found = db.table("communities").search(Query().postal_code == "5000")
    assert sorted(d["name"] for d in found) == ["Kor", "Løbeklubben Ø"]
    with pytest.raises(workbench.StoreError) as caught:
        db.table("communities").insert({"id": "K9", "name": "x"})
    assert caught.value.key == "store.read_only_tinydb"
    assert workbench.open(tmp_path / "data", user=staff()).frames.communities.height == 3


def test_only_an_administrator_gets_the_tinydb_view(tmp_path: Path) -> None:
    workbench.open(tmp_path / "data", user=staff()).add_site("ODE", "Frivilligcenter Odense", "Odense")
    for role in ("coordinator", "lead", "lab", "researcher"):
        with pytest.raises(workbench.NotAllowed):
            workbench.open(tmp_path / "data", user=staff("Kim", roles=(role,), sites=("ODE",))).tinydb()
