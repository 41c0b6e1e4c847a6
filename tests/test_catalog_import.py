"""CSV import of the community catalog: reading, per-row checks, duplicates, all-or-nothing writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from workbench import i18n
from workbench.errors import InvalidInput
from workbench.i18n import t
from workbench.service import Workbench
from workbench.service import catalog_import as ci

SAMPLE = Path(__file__).resolve().parents[1] / "docs" / "fællesskaber-eksempel.csv"
HEADER = "navn;arrangør;type;postnummer;ugedage/tider;målgrupper"
CPR = "010190-1234"


def csv_text(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def site_communities(wb: Workbench) -> pl.DataFrame:
    return wb.frames.communities.filter(pl.col("site") == "ODE")


# -- a good file ----------------------------------------------------------------------------------

def test_the_sample_file_imports_every_row(wb: Workbench, site: str) -> None:
    preview = ci.parse_csv(SAMPLE.read_text("utf-8"), ci.existing_keys(wb, site))
    assert preview.errors == [] and preview.duplicates == []
    assert preview.delimiter == ";"
    assert ci.apply(wb, preview, site) == 5
    frame = site_communities(wb)
    assert frame.height == 5
    walk = frame.filter(pl.col("name") == "Gåklubben i Fruens Bøge").row(0, named=True)
    assert walk["kind"] == "sport" and walk["postal_code"] == "5250" and walk["age_min"] == 60
    assert walk["weekdays"] == ["mon", "thu"] and walk["target_groups"] == ["loneliness", "grief"]
    young = frame.filter(pl.col("name") == "Ungegruppen Snak & Spil").row(0, named=True)
    assert (young["age_min"], young["age_max"]) == (15, 25)
    assert set(young["target_groups"]) == {"anxiety", "depression", "adhd", "autism"}
    stored = wb._store.get("communities", walk["community_id"])
    assert stored is not None
    assert stored["schedule"] == [{"weekday": "mon", "start": "09:30", "end": "11:00"},
                                  {"weekday": "thu", "start": "09:30", "end": "11:00"}]
    assert stored["source"] == "Opringning til arrangøren"
    assert "last_verified_on" not in stored  # an import is not a verification


def test_comma_separated_file_with_quoted_cells(wb: Workbench, site: str) -> None:
    text = ('navn,arrangør,type,postnummer,ugedage/tider,målgrupper\n'
            'Strikkecafé,Biblioteket,Kreativt,5000,"tir 10:00-12:00, tor 14:00-16:00","Ensomhed, Angst"\n'
            '"Mandagsklubben, Bolbro",Kirken,Mødested,5200,man 13:00-15:00,\n')
    preview = ci.parse_csv(text)
    assert preview.delimiter == ","
    assert preview.errors == []
    assert [r.fields["name"] for r in preview.valid] == ["Strikkecafé", "Mandagsklubben, Bolbro"]
    assert preview.valid[0].fields["target_groups"] == ["loneliness", "anxiety"]
    assert [s["weekday"] for s in preview.valid[0].fields["schedule"]] == ["tue", "thu"]
    assert ci.apply(wb, preview, site) == 2
    assert sorted(site_communities(wb)["name"]) == ["Mandagsklubben, Bolbro", "Strikkecafé"]


def test_tab_separated_and_crlf_lines() -> None:
    text = "navn\tarrangør\tpostnummer\r\nGåtur\tDGI\t5000\r\n"
    preview = ci.parse_csv(text)
    assert preview.delimiter == "\t" and preview.errors == []
    assert preview.valid[0].fields == {"name": "Gåtur", "organiser": "DGI", "postal_code": "5000"}


def test_byte_order_mark_is_ignored(wb: Workbench, site: str) -> None:
    raw = ("\ufeff" + csv_text("Gåtur;DGI;Motion og sport;5000;;")).encode("utf-8")
    text = ci.decode(raw)
    preview = ci.parse_csv(text)
    assert preview.errors == []
    assert preview.valid[0].fields["name"] == "Gåtur"
    # a BOM left in the text (read without utf-8-sig) is dropped too
    assert ci.parse_csv("\ufeff" + csv_text("Gåtur;DGI;Motion og sport;5000;;")).errors == []
    assert ci.apply(wb, preview, site) == 1


def test_kind_and_target_groups_accept_danish_labels_codes_and_english(wb: Workbench, site: str) -> None:
    text = csv_text(
        "A;X;Spisefællesskab;5000;;Kognitive udfordringer",
        "B;X;self_help;5000;;\"depression; grief\"",
        "C;X;Intergenerational;5000;;Loneliness",
        "D;X;  samtalegruppe ;5000;;ensomhed,ANGST",
        "E;X;;5000;;",
    )
    preview = ci.parse_csv(text)
    assert preview.errors == []
    fields = {r.fields["name"]: r.fields for r in preview.valid}
    assert fields["A"]["kind"] == "dining" and fields["A"]["target_groups"] == ["cognitive"]
    assert fields["B"]["kind"] == "self_help" and fields["B"]["target_groups"] == ["depression", "grief"]
    assert fields["C"]["kind"] == "intergenerational" and fields["C"]["target_groups"] == ["loneliness"]
    assert fields["D"]["kind"] == "conversation_group" and fields["D"]["target_groups"] == ["loneliness", "anxiety"]
    assert "kind" not in fields["E"]  # the model's default (other)
    ci.apply(wb, preview, site)
    assert site_communities(wb).filter(pl.col("name") == "E")["kind"].to_list() == ["other"]


def test_header_names_are_forgiving_and_english_aliases_work() -> None:
    text = ("Name,Organiser,Postal code,Schedule,Age from,Age to,Target groups,Cost\n"
            "Gåtur,DGI,5000,Tue 10:00-11:00,18,30,grief,free\n")
    preview = ci.parse_csv(text)
    assert preview.errors == []
    assert preview.valid[0].fields == {"name": "Gåtur", "organiser": "DGI", "postal_code": "5000",
                                       "schedule": [{"weekday": "tue", "start": "10:00", "end": "11:00"}],
                                       "age_min": 18, "age_max": 30, "target_groups": ["grief"], "cost": "free"}
    spaced = ci.parse_csv(" NAVN ; Arrangør;POSTNUMMER ; Ugedage / tider\nGåtur;DGI;5000;tir 10:00-11:00\n")
    assert spaced.errors == [] and spaced.valid[0].fields["schedule"][0]["weekday"] == "tue"


# -- bad rows ----------------------------------------------------------------------------------------

BAD_FILE = csv_text(
    "Strikkecafé;Biblioteket;Kreativt;5000;tir 10:00-12:00;Ensomhed",
    "Gåtur;DGI;Motion og sport;500;;",
    f"Spisning;Beboerhuset;Spisefællesskab;5240;ons 17:00-19:00;Ensomhed {CPR}",
    "Snak;Headspace;Samtalegruppe;5000;fre 25:00-26:00;Angst",
    "Naturen;DN;Natur;5200;lør 10:00-13:00;",
)


def test_bad_rows_are_reported_by_row_and_column(wb: Workbench, site: str) -> None:
    preview = ci.parse_csv(BAD_FILE)
    assert [(e.row, e.field) for e in preview.errors] == [(3, "postnummer"), (4, "målgrupper"), (5, "ugedage/tider")]
    messages = [e.message for e in preview.errors]
    assert messages == [t("input.postal_code_digits"), t("input.cpr_refused"), t("input.clock")]
    assert all(CPR not in e.message for e in preview.errors)
    assert [r.row for r in preview.valid] == [2, 6]
    assert preview.bad_rows == [3, 4, 5]


def test_nothing_is_stored_with_errors_unless_bad_rows_are_skipped(wb: Workbench, site: str, unchanged: Any) -> None:
    preview = ci.parse_csv(BAD_FILE)
    with unchanged(wb), pytest.raises(InvalidInput) as refused:
        ci.apply(wb, preview, site, skip_bad_rows=False)
    assert refused.value.key == "import.has_errors"
    assert "3" in refused.value.message
    assert site_communities(wb).height == 0
    assert ci.apply(wb, preview, site, skip_bad_rows=True) == 2
    assert sorted(site_communities(wb)["name"]) == ["Naturen", "Strikkecafé"]


def test_every_problem_of_a_row_is_reported_at_once() -> None:
    preview = ci.parse_csv(csv_text("; ;Bålhygge;12;man 10:00;Glæde"))
    assert [(e.row, e.field) for e in preview.errors] == [
        (2, "navn"), (2, "arrangør"), (2, "type"), (2, "postnummer"), (2, "ugedage/tider"), (2, "målgrupper")]
    kind_error = preview.errors[2].message
    assert "Bålhygge" in kind_error and t("community_kind.dining") in kind_error


def test_cpr_number_in_any_column_is_refused_and_never_repeated() -> None:
    text = csv_text(f"Gåtur;DGI {CPR};Motion og sport;5000;;", f"Gåtur 2;DGI;{CPR};5000;;",
                    header=HEADER)
    preview = ci.parse_csv(text)
    assert [(e.row, e.field, e.message) for e in preview.errors] == [
        (2, "arrangør", t("input.cpr_refused")), (3, "type", t("input.cpr_refused"))]
    described = ci.parse_csv("navn;arrangør;postnummer;beskrivelse\n"
                             f"Gåtur;DGI;5000;Tilmelding med cpr {CPR.replace('-', '')}\n")
    assert [(e.row, e.field) for e in described.errors] == [(2, "beskrivelse")]


def test_age_rules_are_the_models() -> None:
    text = "navn;arrangør;postnummer;alder fra;alder til\nA;X;5000;60;18\nB;X;5000;atten;\nC;X;5000;;130\n"
    preview = ci.parse_csv(text)
    assert [(e.row, e.field, e.message) for e in preview.errors] == [
        (2, "alder til", t("input.age_range")),
        (3, "alder fra", t("import.whole_number")),
        (4, "alder til", t("input.number_range")),
    ]


def test_a_row_with_more_cells_than_the_header_is_refused() -> None:
    preview = ci.parse_csv("navn;arrangør;postnummer\nGåtur;DGI;5000;ekstra\nGåtur 2;DGI;5000;;\n")
    assert [(e.row, e.field) for e in preview.errors] == [(2, "")]
    assert [r.row for r in preview.valid] == [3]  # empty trailing cells are fine


def test_short_rows_and_blank_lines() -> None:
    preview = ci.parse_csv("navn;arrangør;postnummer;kilde\n\nGåtur;DGI;5000\n;;;\n")
    assert preview.errors == [] and preview.rows_read == 1
    assert preview.valid[0].row == 3


def test_messages_follow_the_language_in_force(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "_current", "en")
    preview = ci.parse_csv(csv_text("Gåtur;DGI;Motion og sport;500;;"))
    assert preview.errors[0].message == "Postal code must be 4 digits."


# -- duplicates --------------------------------------------------------------------------------------

def test_duplicates_of_the_catalog_and_of_earlier_rows_are_flagged(wb: Workbench, site: str,
                                                                    community: dict[str, Any]) -> None:
    text = csv_text(
        "strikkecafé på BIBLIOTEKET;Nogen andre;Kreativt;5000;;",  # the fixture's community
        "Gåtur;DGI;Motion og sport;5000;;",
        "Gåtur;DGI;Motion og sport;5000;;",
        "Gåtur;DGI;Motion og sport;5200;;",  # another postal code: not a duplicate
    )
    preview = ci.parse_csv(text, ci.existing_keys(wb, site))
    assert [(d.row, d.earlier_row) for d in preview.duplicates] == [(2, None), (4, 3)]
    assert [r.row for r in preview.valid] == [3, 5]
    assert ci.apply(wb, preview, site) == 2
    assert site_communities(wb).height == 3


def test_another_sites_communities_are_not_duplicates(wb: Workbench, site: str) -> None:
    wb.add_site("AAR", "Frivilligcenter Aarhus", "Aarhus")
    wb.add_community(site_id="AAR", name="Gåtur", organiser="DGI", postal_code="5000")
    wb.add_community(name="Fælles gåtur", organiser="DGI", postal_code="5000")  # shared by every site
    keys = ci.existing_keys(wb, site)
    assert ci.community_key("Fælles gåtur", "5000") in keys
    assert ci.community_key("Gåtur", "5000") not in keys


# -- files that cannot be read -------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "key"), [
    ("", "import.empty"),
    ("   \n\n", "import.empty"),
    ("navn;arrangør;postnummer\n", "import.no_rows"),
    ("navn;arrangør;postnummer\n;;\n", "import.no_rows"),
])
def test_empty_files_get_a_clear_message(text: str, key: str) -> None:
    preview = ci.parse_csv(text)
    assert [e.message for e in preview.errors] == [t(key)]
    assert preview.valid == []


def test_wrong_header_names_every_problem() -> None:
    preview = ci.parse_csv("Navn;Organisation;Postnummer;Postnummer;Noter\nA;B;5000;5000;x\n")
    assert [(e.row, e.field) for e in preview.errors] == [
        (1, "Organisation"), (1, "Postnummer"), (1, "Noter"), (1, "arrangør")]
    assert preview.errors[0].message.startswith(t("import.unknown_column", column="Organisation", allowed="")[:30])
    assert "arrangør" in preview.errors[0].message  # the allowed names are listed
    assert preview.errors[-1].message == t("import.missing_column", column="arrangør")
    assert preview.valid == []


def test_a_header_with_a_blank_name_in_the_middle_is_refused_but_trailing_blanks_are_not() -> None:
    assert [e.message for e in ci.parse_csv("navn;;arrangør;postnummer\nA;;B;5000\n").errors] == [
        t("import.empty_header", number=2)]
    assert ci.parse_csv("navn;arrangør;postnummer;;\nA;B;5000;;\n").errors == []


def test_broken_quoting_is_reported() -> None:
    preview = ci.parse_csv('navn;arrangør;postnummer\n"Gåtur" i skoven;DGI;5000\n')
    assert [e.message for e in preview.errors] == [t("import.csv_broken")]


def test_applying_a_file_without_good_rows_is_refused(wb: Workbench, site: str, unchanged: Any) -> None:
    for text in ("", "foo;bar\n1;2\n"):
        preview = ci.parse_csv(text)
        with unchanged(wb), pytest.raises(InvalidInput) as refused:
            ci.apply(wb, preview, site, skip_bad_rows=True)
        assert refused.value.key == "import.nothing_to_import"
        with unchanged(wb), pytest.raises(InvalidInput) as refused:
            ci.apply(wb, preview, site)
        assert refused.value.key == "import.has_errors"


def test_decode_refuses_large_and_non_utf8_files() -> None:
    with pytest.raises(InvalidInput) as large:
        ci.decode(b"a" * (ci.MAX_BYTES + 1))
    assert large.value.key == "import.too_large" and "2 MB" in large.value.message
    for raw in ("navn;arrangør\nGåtur;Ældre Sagen\n".encode("cp1252"),
                "navn;arrangør\n".encode("utf-16"), b"navn\x00;x"):
        with pytest.raises(InvalidInput) as wrong:
            ci.decode(raw)
        assert wrong.value.key == "import.not_utf8"
    assert ci.decode("Gåtur".encode()) == "Gåtur"


# -- all or nothing ------------------------------------------------------------------------------------

def test_a_failure_in_the_middle_of_apply_leaves_nothing(wb: Workbench, site: str, unchanged: Any) -> None:
    preview = ci.parse_csv(csv_text("A;X;Mødested;5000;;", "B;X;Mødested;5000;;", "C;X;Mødested;5000;;"))
    assert len(preview.valid) == 3
    preview.valid[1].fields["site_id"] = "ZZZ"  # passes every check, fails only at write time
    before = wb._store.token()
    with unchanged(wb), pytest.raises(InvalidInput) as failed:
        ci.apply(wb, preview, site)
    assert failed.value.key == "import.row_failed"
    assert "3" in failed.value.message and "ZZZ" in failed.value.message
    assert wb._store.token() == before
    assert wb.frames.communities.height == 0
    # and the store still works afterwards
    del preview.valid[1].fields["site_id"]
    assert ci.apply(wb, preview, site) == 3
    assert wb.frames.communities.height == 3


def test_apply_adds_all_rows_in_one_batch(wb: Workbench, site: str, monkeypatch: pytest.MonkeyPatch) -> None:
    preview = ci.parse_csv(csv_text(*(f"Fællesskab {i};X;Mødested;5000;;" for i in range(20))))
    batches = []
    original = wb.batch

    def counting_batch() -> Any:
        batches.append(1)
        return original()

    monkeypatch.setattr(wb, "batch", counting_batch)
    assert ci.apply(wb, preview, site) == 20
    assert batches == [1]
    assert site_communities(wb).height == 20


# -- schedules ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("tir 10:00-12:00; tor 14:00-16:00", [("tue", "10:00", "12:00"), ("thu", "14:00", "16:00")]),
    ("Tirsdag 9.30 – 11.00", [("tue", "09:30", "11:00")]),
    ("lør 10:00-13:00, søn 10:00-13:00", [("sat", "10:00", "13:00"), ("sun", "10:00", "13:00")]),
    ("Mon 08:00-09:00\nfri 8:00-9:00", [("mon", "08:00", "09:00"), ("fri", "08:00", "09:00")]),
    ("ons. 17:00-19:00; ons 17:00-19:00", [("wed", "17:00", "19:00")]),
    ("", []),
])
def test_schedule_short_form(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert [(s["weekday"], s["start"], s["end"]) for s in ci.parse_schedule(text)] == expected


@pytest.mark.parametrize(("text", "key"), [
    ("tir 10-12", "import.schedule_format"),
    ("tirsdag", "import.schedule_format"),
    ("10:00-12:00", "import.schedule_format"),
    ("tis 10:00-12:00", "import.schedule_weekday"),
    ("tir 24:00-25:00", "input.clock"),
    ("tir 12:00-10:00", "import.schedule_order"),
    ("tir 10:00-10:00", "import.schedule_order"),
])
def test_schedule_short_form_is_strict(text: str, key: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        ci.parse_schedule(text)
    assert refused.value.key == key
    assert refused.value.field == "schedule"


def test_schedule_round_trips_through_its_short_form() -> None:
    slots = [{"weekday": "tue", "start": "10:00", "end": "12:00"}, {"weekday": "sat", "start": "09:00", "end": "10:30"}]
    assert ci.parse_schedule(ci.format_schedule(slots)) == slots
