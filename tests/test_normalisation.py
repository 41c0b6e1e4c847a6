"""Input normalisation: CPR numbers in any script or with any separator, digits of other scripts,
blank reasons, questionnaire answers, Danish order and NFC searches.

Each case is a row of a table; a refusal must change nothing and name its field.
"""

from __future__ import annotations

import sys
import unicodedata
from typing import Any

import pytest

import workbench
from workbench.domain import instruments
from workbench.domain.text import ascii_digits, contains_cpr, danish_sorted, danish_sorted_by, search_text
from workbench.service import Workbench, users

NBSP, MINUS, FIGURE_DASH, NARROW_NBSP, EM_DASH, SOFT_HYPHEN = "\u00a0", "\u2212", "\u2012", "\u202f", "\u2014", "\u00ad"


@pytest.mark.parametrize(("text", "refused"), [
    (f"cpr 010190{NBSP}1234", True),
    (f"cpr 010190{MINUS}1234", True),
    (f"cpr 010190{FIGURE_DASH}1234", True),
    (f"cpr 010190{NARROW_NBSP}1234", True),
    (f"cpr 010190{EM_DASH}1234", True),
    (f"cpr 010190{SOFT_HYPHEN}1234", True),
    ("cpr 010190 - 1234", True),
    ("cpr ０１０１９０－１２３４", True),               # full-width digits and hyphen
    ("cpr ٠١٠١٩٠-١٢٣٤", True),                        # Arabic-Indic digits
    ("cpr ۰۱۰۱۹۰۱۲۳۴", True),                         # Extended Arabic-Indic, no separator
    ("cpr ⁰¹⁰¹⁹⁰-¹²³⁴", True),                        # superscripts are digits after NFKC
    ("cpr 010190\u200b1234", True),                  # a zero-width space is no separator to hide behind
    ("Mødes 01.01.90 kl. 10", False),
    ("Ring på 20 30 40 50", False),
    ("sag ODE-2026-0001", False),
    ("3213901234", False),                            # day 32 is no date
    ("12345678901", False),
])
def test_cpr_detection_sees_through_scripts_and_separators(text: str, refused: bool) -> None:
    assert contains_cpr(text) is refused


@pytest.mark.parametrize(("field", "typed", "stored"), [
    ("postal_code", "٨٦٠٠", "8600"),
    ("postal_code", "８６００", "8600"),
    ("postal_code", "۵۰۰۰", "5000"),
    ("phone", "+45١٢٣٤٥٦٧٨", "+4512345678"),
    ("phone", "２０ ３０ ４０ ５０", "+4520304050"),
    ("phone", f"20{NBSP}30{NBSP}40{NBSP}50", "+4520304050"),
    ("phone", f"20{MINUS}30{MINUS}40{MINUS}50", "+4520304050"),
])
def test_digits_of_any_script_are_stored_as_ascii(wb: Workbench, site: str, field: str, typed: str,
                                                  stored: str) -> None:
    volunteer = wb.register_volunteer(site_id=site, name="Anna", **{field: typed})
    assert volunteer[field] == stored
    assert wb._store.get("volunteers", volunteer["id"])[field] == stored


@pytest.mark.parametrize(("field", "typed", "key"), [
    ("postal_code", "8６0", "input.postal_code_digits"),
    ("postal_code", "٨٦٠٠٠", "input.postal_code_digits"),
    ("phone", "+45١٢٣٤٥٦٧", "input.phone"),
    ("name", f"Anna 010190{MINUS}1234", "input.cpr_refused"),
    ("name", f"Anna 010190{NBSP}1234", "input.cpr_refused"),
])
def test_bad_digits_are_refused_with_their_field(wb: Workbench, site: str, unchanged: Any, field: str, typed: str,
                                                key: str) -> None:
    with unchanged(wb), pytest.raises(workbench.InvalidInput) as refused:
        wb.register_volunteer(**{"site_id": site, "name": "Anna", field: typed})
    assert (refused.value.key, refused.value.field) == (key, field)


@pytest.mark.parametrize("reason", ["   ", "\t", NBSP, f" {NARROW_NBSP} "])
def test_a_blank_override_reason_is_no_reason(wb: Workbench, site: str, case: dict[str, Any], unchanged: Any,
                                              reason: str) -> None:
    paused = wb.register_volunteer(site_id=site, name="Pia Pause", status="paused")
    with unchanged(wb), pytest.raises(workbench.WorkflowRefused) as refused:
        wb.assign(case["id"], paused["id"], override_reason=reason)
    assert refused.value.key == "assign.status_paused"
    event = wb.assign(case["id"], paused["id"], override_reason="  Kender borgeren  ")
    assert event["override"] is True and event["override_reason"] == "Kender borgeren"


@pytest.mark.parametrize("name", ["010190-1234", f"Kim 010190{NBSP}1234", "   ", "Kim\nKoordinator"])
def test_a_users_name_is_never_a_cpr_number_or_blank(tmp_path: Any, name: str) -> None:
    with pytest.raises(workbench.InvalidInput) as refused:
        users.make_user(id="kim", name=name, role="lead")
    assert refused.value.field == "name"
    root = tmp_path / "data"
    workbench.init(root)
    (root / "users.toml").write_text(f'[users.kim]\nname = "{name.encode("unicode_escape").decode()}"\nrole = "lead"\n')
    with pytest.raises(workbench.StoreError) as unreadable:
        workbench.open(root, user="kim")  # a hand-edited users.toml is checked the same way
    assert unreadable.value.key == "users.unreadable"


@pytest.mark.parametrize(("typed", "answers"), [
    ("2, 3, 2", [2, 3, 2]), ("2 3 2", [2, 3, 2]), ("2;3;2", [2, 3, 2]), (" 2,3 ,2 ", [2, 3, 2]), ("", []),
])
def test_answers_typed_with_plain_digits(typed: str, answers: list[int]) -> None:
    assert instruments.parse_answers(typed) == answers


@pytest.mark.parametrize(("typed", "item"), [
    ("², 2, 2", 1), ("2, ٢, 2", 2), ("2, 2, ３", 3), ("2, 2.5, 2", 2), ("2, -1, 2", 2), ("2, x, 2", 2),
    ("2, 1e1, 2", 2), ("٢", 1),
])
def test_answers_in_other_digits_are_refused_naming_the_item(typed: str, item: int) -> None:
    with pytest.raises(workbench.InvalidInput) as refused:
        instruments.parse_answers(typed)
    assert (refused.value.key, refused.value.field, refused.value.params["item"]) == (
        "measure.answer_digits", "answers", item)
    assert str(item) in refused.value.message


NAMES = ["Zoë Zachariassen", "Åse Ågård", "Æbelø Æblerød", "Ólafur Ólafsson", "Øjvind Østergaard",
         "Aage Berg", "Anna Andersen", "Bodil Berg", "Ulla Ulrich"]
DANISH_ORDER = ["Anna Andersen", "Bodil Berg", "Ólafur Ólafsson", "Ulla Ulrich", "Zoë Zachariassen",
                "Æbelø Æblerød", "Øjvind Østergaard", "Aage Berg", "Åse Ågård"]


def test_danish_order_puts_ae_oe_aa_after_z_and_aa_as_aa() -> None:
    assert danish_sorted(NAMES) == DANISH_ORDER
    assert [r["name"] for r in danish_sorted_by(({"name": n} for n in reversed(NAMES)), lambda r: r["name"])] \
        == DANISH_ORDER


def test_a_decomposed_search_finds_the_composed_name() -> None:
    assert search_text("Ka\u030are ") == search_text("Kåre") == "kåre"


@pytest.fixture
def case(wb: Workbench, site: str, open_case: Any) -> dict[str, Any]:
    return open_case(wb)


def test_every_decimal_digit_of_every_script_reads_as_its_ascii_digit() -> None:
    """The CPR check and the digit fields read any script's digits: all of Unicode's, checked one by one."""
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        expected = str(unicodedata.decimal(char)) if char.isdecimal() else char
        assert ascii_digits(f"a{char}b") == f"a{expected}b", hex(code)
    assert contains_cpr("０１０１９０-１２３４") and contains_cpr("٠١٠١٩٠١٢٣٤")
    assert not contains_cpr("010190-123") and not contains_cpr("short")
