"""Every message key used in the code exists in both languages, with the same placeholders."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from workbench import i18n
from workbench.domain.workflow import EventKind, Status
from workbench.errors import InvalidInput

PACKAGE = Path(__file__).resolve().parents[1] / "workbench"
KEY_IN_CODE = re.compile(r"""(?:InvalidInput|NotFound|WorkflowRefused|ConsentMissing|StaleEdit|StoreError|\bt)\(\s*f?["']([a-z_]+\.[a-z_0-9.]+)["']""")


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_the_same_keys() -> None:
    assert set(i18n.catalog("da")) == set(i18n.catalog("en"))


@pytest.mark.parametrize("key", sorted(i18n.catalog("da")))
def test_placeholders_match_between_languages(key: str) -> None:
    assert _placeholders(i18n.catalog("da")[key]) == _placeholders(i18n.catalog("en")[key])


def test_every_key_used_in_code_is_in_the_catalog() -> None:
    used = set()
    for path in PACKAGE.rglob("*.py"):
        used.update(KEY_IN_CODE.findall(path.read_text("utf-8")))
    assert used, "the scan found no keys at all; the pattern is broken"
    missing = sorted(k for k in used if k not in i18n.catalog("da"))
    assert missing == []


def test_every_status_and_event_kind_has_a_label() -> None:
    for lang in i18n.LANGUAGES:
        messages = i18n.catalog(lang)
        assert all(f"kind.{kind.value}" in messages for kind in EventKind)
        assert all(f"status.{status.value}" in messages for status in Status)


def test_errors_render_in_the_language_in_force(monkeypatch: pytest.MonkeyPatch) -> None:
    error = InvalidInput("input.postal_code_digits", field="postal_code")
    monkeypatch.setattr(i18n, "_current", None)
    monkeypatch.delenv("WORKBENCH_LANG", raising=False)
    assert error.message == "Postnummer skal være 4 cifre."
    monkeypatch.setenv("WORKBENCH_LANG", "en")
    assert error.message == "Postal code must be 4 digits."
    i18n.set_language("da")
    assert error.message == "Postnummer skal være 4 cifre."
    monkeypatch.setattr(i18n, "_current", None)


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError):
        i18n.set_language("sv")


def test_every_match_reason_has_a_message() -> None:
    from workbench.reporting.matching import MATCH_REASON_KEYS

    for lang in i18n.LANGUAGES:
        assert all(f"match.{key}" in i18n.catalog(lang) for key in MATCH_REASON_KEYS)


def test_no_key_is_defined_in_two_catalog_files() -> None:
    import json

    for lang in i18n.LANGUAGES:
        seen: dict[str, str] = {}
        for part in i18n.catalog_files(lang):
            for key in json.loads(part.read_text("utf-8")):
                assert key not in seen, f"{key} in {part.name} and {seen[key]}"
                seen[key] = part.name


def test_every_enum_value_has_a_label() -> None:
    from workbench.domain import model as m
    from workbench.reporting.frames import AGE_GROUPS

    enums = {"volunteer_status": m.VolunteerStatus, "recruitment": m.Recruitment,
             "referral_source": m.ReferralSource, "purpose": m.Purpose, "target_group": m.TargetGroup,
             "community_kind": m.CommunityKind, "community_status": m.CommunityStatus, "weekday": m.Weekday,
             "day_part": m.DayPart, "close_reason": m.CloseReason, "instrument": m.Instrument,
             "timepoint": m.Timepoint, "mode": m.AdministrationMode}
    for lang in i18n.LANGUAGES:
        messages = i18n.catalog(lang)
        for prefix, enum in enums.items():
            assert all(f"{prefix}.{v.value}" in messages for v in enum), prefix
        assert all(f"age_group.{g}" in messages for g in AGE_GROUPS)
