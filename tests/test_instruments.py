"""Scoring of UCLA-3 and SWEMWBS: worked examples, the conversion table, refusals, properties."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.domain import instruments as ins
from workbench.errors import InvalidInput

# --- worked examples --------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "total", "severe"),
    [
        ([1, 1, 1], 3, False),
        ([3, 3, 3], 9, True),
        ([2, 3, 2], 7, True),
        ([2, 2, 2], 6, False),
        ([1, 2, 3], 6, False),
        ([3, 3, 1], 7, True),
        ([3, 3, 2], 8, True),
    ],
)
def test_ucla3_worked_examples(answers: list[int], total: int, severe: bool) -> None:
    assert ins.score_ucla3(answers) == total
    assert ins.ucla3_severe(total) is severe


def test_ucla3_severe_cut_is_exactly_seven() -> None:
    assert [t for t in range(3, 10) if ins.ucla3_severe(t)] == [7, 8, 9]


def test_ucla3_accepts_a_tuple() -> None:
    assert ins.score_ucla3((1, 3, 2)) == 6


def test_swemwbs_all_ones_is_the_floor() -> None:
    raw = ins.score_swemwbs([1] * 7)
    assert raw == 7
    assert ins.swemwbs_metric(raw) == pytest.approx(7.00)


def test_swemwbs_all_fives_is_the_ceiling() -> None:
    raw = ins.score_swemwbs([5] * 7)
    assert raw == 35
    assert ins.swemwbs_metric(raw) == pytest.approx(35.00)


def test_swemwbs_mid_example_against_the_table() -> None:
    # 3+4+3+3+4+3+3 = 23, published metric 20.73
    raw = ins.score_swemwbs([3, 4, 3, 3, 4, 3, 3])
    assert raw == 23
    assert ins.swemwbs_metric(raw) == pytest.approx(20.73)


@pytest.mark.parametrize(
    ("raw", "metric"),
    [(8, 9.51), (14, 15.32), (21, 19.25), (28, 25.03), (29, 26.02), (33, 30.70), (34, 32.55)],
)
def test_swemwbs_metric_spot_values(raw: int, metric: float) -> None:
    assert ins.swemwbs_metric(raw) == pytest.approx(metric)


def test_generic_entry_point_ucla3_has_no_metric() -> None:
    assert ins.score("ucla3", [2, 3, 2]) == ins.Score(raw=7, metric=None)


def test_generic_entry_point_swemwbs_has_raw_and_metric() -> None:
    result = ins.score("swemwbs", [4, 4, 4, 4, 4, 4, 4])
    assert result.raw == 28
    assert result.metric == pytest.approx(25.03)


def test_score_is_frozen() -> None:
    result = ins.score("ucla3", [1, 1, 1])
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.raw = 9  # type: ignore[misc]


# --- the conversion table ---------------------------------------------------------


def test_table_covers_exactly_7_to_35() -> None:
    assert sorted(ins.SWEMWBS_CONVERSION) == list(range(7, 36))


def test_table_is_strictly_increasing() -> None:
    values = [ins.SWEMWBS_CONVERSION[raw] for raw in range(7, 36)]
    assert all(a < b for a, b in itertools.pairwise(values))


def test_table_end_points_equal_raw() -> None:
    assert ins.SWEMWBS_CONVERSION[7] == 7.0
    assert ins.SWEMWBS_CONVERSION[35] == 35.0


def test_table_cannot_be_changed_at_runtime() -> None:
    with pytest.raises(TypeError):
        ins.SWEMWBS_CONVERSION[20] = 0.0  # type: ignore[index]


# --- default texts ----------------------------------------------------------------


def test_default_item_texts_match_item_counts() -> None:
    assert len(ins.UCLA3_ITEMS_EN) == 3
    assert len(ins.SWEMWBS_ITEMS_EN) == 7
    assert len(set(ins.UCLA3_ITEMS_EN)) == 3
    assert len(set(ins.SWEMWBS_ITEMS_EN)) == 7
    assert all(text.strip() for text in ins.UCLA3_ITEMS_EN + ins.SWEMWBS_ITEMS_EN)


def test_copyright_names_the_scale_and_rights() -> None:
    assert "SWEMWBS" in ins.SWEMWBS_COPYRIGHT
    assert "©" in ins.SWEMWBS_COPYRIGHT
    assert "University of Warwick" in ins.SWEMWBS_COPYRIGHT
    assert "all rights reserved" in ins.SWEMWBS_COPYRIGHT


# --- refusals ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instrument", "answers", "expected"),
    [
        ("ucla3", [], 3),
        ("ucla3", [1, 1], 3),
        ("ucla3", [1, 1, 1, 1], 3),
        ("swemwbs", [3] * 6, 7),
        ("swemwbs", [3] * 8, 7),
        ("swemwbs", [], 7),
    ],
)
def test_wrong_number_of_answers(instrument: str, answers: list[int], expected: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        ins.score(instrument, answers)
    exc = caught.value
    assert exc.key == "measure.answer_count"
    assert exc.field == "answers"
    assert exc.params == {"expected": expected, "got": len(answers)}


BAD_VALUES: list[Any] = [0, 6, -1, True, False, 2.5, 2.0, "3", None, 10**9]


@pytest.mark.parametrize("bad", BAD_VALUES, ids=repr)
@pytest.mark.parametrize("position", [0, 2])
def test_bad_ucla3_answer_names_the_item(bad: Any, position: int) -> None:
    answers: list[Any] = [2, 2, 2]
    answers[position] = bad
    with pytest.raises(InvalidInput) as caught:
        ins.score_ucla3(answers)
    exc = caught.value
    assert exc.key == "measure.answer_range"
    assert exc.field == "answers"
    assert exc.params == {"item": position + 1, "low": 1, "high": 3}


@pytest.mark.parametrize("bad", BAD_VALUES, ids=repr)
@pytest.mark.parametrize("position", [0, 6])
def test_bad_swemwbs_answer_names_the_item(bad: Any, position: int) -> None:
    answers: list[Any] = [3] * 7
    answers[position] = bad
    with pytest.raises(InvalidInput) as caught:
        ins.score("swemwbs", answers)
    exc = caught.value
    assert exc.key == "measure.answer_range"
    assert exc.field == "answers"
    assert exc.params == {"item": position + 1, "low": 1, "high": 5}


def test_four_is_refused_on_ucla3_but_fine_on_swemwbs() -> None:
    with pytest.raises(InvalidInput) as caught:
        ins.score_ucla3([1, 4, 1])
    assert caught.value.key == "measure.answer_range"
    assert caught.value.params["item"] == 2
    assert ins.score_swemwbs([4, 1, 1, 1, 1, 1, 1]) == 10


def test_first_bad_item_is_reported() -> None:
    with pytest.raises(InvalidInput) as caught:
        ins.score_swemwbs([3, 0, 3, 9, 3, 3, 3])
    assert caught.value.params["item"] == 2


def test_count_is_checked_before_values() -> None:
    with pytest.raises(InvalidInput) as caught:
        ins.score_ucla3([0, 0])
    assert caught.value.key == "measure.answer_count"


@pytest.mark.parametrize("name", ["", "UCLA3", "ucla-3", "wemwbs", " swemwbs", None, 3])
def test_unknown_instrument(name: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        ins.score(name, [1, 1, 1])
    exc = caught.value
    assert exc.key == "measure.instrument"
    assert exc.field == "instrument"


@pytest.mark.parametrize("raw", [6, 36, 0, -7, 100, True, 7.0, 20.5, "20", None])
def test_swemwbs_metric_refuses_raw_out_of_range(raw: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        ins.swemwbs_metric(raw)
    exc = caught.value
    assert exc.key == "measure.raw_range"
    assert exc.field == "raw_score"
    assert exc.params == {"low": 7, "high": 35}


@pytest.mark.parametrize("total", [2, 10, 0, True, 7.0, "7", None])
def test_ucla3_severe_refuses_impossible_totals(total: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        ins.ucla3_severe(total)
    assert caught.value.key == "measure.raw_range"
    assert caught.value.params == {"low": 3, "high": 9}


@pytest.mark.parametrize("answers", ["123", b"\x01\x01\x01", None, 3, {1: 1, 2: 1, 3: 1}])
def test_non_sequence_answers_are_a_programming_error(answers: Any) -> None:
    with pytest.raises(TypeError):
        ins.score_ucla3(answers)


# --- properties -------------------------------------------------------------------

ucla3_answers = st.lists(st.integers(1, 3), min_size=3, max_size=3)
swemwbs_answers = st.lists(st.integers(1, 5), min_size=7, max_size=7)


@given(ucla3_answers)
def test_any_valid_ucla3_scores_in_range(answers: list[int]) -> None:
    total = ins.score_ucla3(answers)
    assert 3 <= total <= 9
    assert total == sum(answers)
    assert ins.ucla3_severe(total) == (total >= 7)
    assert ins.score("ucla3", answers) == ins.Score(raw=total, metric=None)


@given(swemwbs_answers)
def test_any_valid_swemwbs_scores_in_range(answers: list[int]) -> None:
    result = ins.score("swemwbs", answers)
    assert 7 <= result.raw <= 35
    assert result.raw == sum(answers)
    assert result.metric is not None
    assert 7.0 <= result.metric <= 35.0


@given(swemwbs_answers, swemwbs_answers)
def test_swemwbs_metric_is_monotone_in_raw(a: list[int], b: list[int]) -> None:
    raw_a, raw_b = ins.score_swemwbs(a), ins.score_swemwbs(b)
    metric_a, metric_b = ins.swemwbs_metric(raw_a), ins.swemwbs_metric(raw_b)
    if raw_a < raw_b:
        assert metric_a < metric_b
    elif raw_a == raw_b:
        assert metric_a == metric_b
    else:
        assert metric_a > metric_b


@given(swemwbs_answers, st.integers(0, 6))
def test_raising_one_answer_never_lowers_the_metric(answers: list[int], index: int) -> None:
    before = ins.score("swemwbs", answers)
    if answers[index] < 5:
        answers[index] += 1
        after = ins.score("swemwbs", answers)
        assert after.raw == before.raw + 1
        assert after.metric is not None and before.metric is not None
        assert after.metric > before.metric


@given(st.lists(st.integers(1, 3), min_size=0, max_size=10).filter(lambda xs: len(xs) != 3))
def test_any_wrong_length_is_refused(answers: list[int]) -> None:
    with pytest.raises(InvalidInput) as caught:
        ins.score_ucla3(answers)
    assert caught.value.params == {"expected": 3, "got": len(answers)}
