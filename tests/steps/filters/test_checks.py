import pyarrow.compute as pc
import pytest

from mtqa.steps.filters import (
    CHECKS,
    CheckInputs,
    FilterConfig,
    QualityFilter,
    Reason,
    RowCheck,
    RowScores,
    copy_similarity,
    failed_reasons,
    repetition,
)
from mtqa.steps.filters.base import SCORE_FIELDS
from tests.steps.filters.rows import CONFIG, DE_P, DE_Q, EN_P, EN_Q, ES_P, ES_Q, judge, out_rows, quality


@pytest.mark.parametrize(
    "translation, reasons",
    [
        ({"question": "  ", "passage": DE_P}, ["empty", "length_ratio"]),
        ({"question": "Wer?", "passage": ""}, ["empty", "length_ratio"]),
        ({"question": "W", "passage": DE_P}, ["length_ratio", "too_short"]),
        ({"question": DE_Q, "passage": DE_P + " " + DE_P + " " + DE_P}, ["length_ratio"]),  # 3.4x, bound ~1.8
        ({"question": DE_Q, "passage": DE_P[:60]}, ["length_ratio"]),
        ({"question": DE_Q + " die" * 4, "passage": DE_P}, ["repetition"]),
        ({"question": EN_Q, "passage": DE_P}, ["copy", "wrong_language"]),  # copied question
        ({"question": DE_Q, "passage": EN_P}, ["copy", "wrong_language"]),  # copied passage
        ({"question": DE_Q, "passage": EN_P.replace("won", "gewann").replace("final", "Finale")}, ["copy", "wrong_language"]),
        ({"question": ES_Q, "passage": ES_P}, ["wrong_language"]),  # Spanish in the German row
    ],
)
def test_each_check_fails_what_it_should(translation, reasons):
    (row,) = judge([{"lang": "de", **translation}])
    assert row["filter_reasons"] == reasons
    assert row["keep"] is False


def test_short_sources_may_be_copied_and_are_not_ratio_judged():
    (row,) = judge([{"lang": "de", "question": "Tesla?", "passage": DE_P}], source={"question": "Tesla?"})
    assert row["copy_similarity"] < 0.6  # only the passage was comparable
    assert row["question_length_ratio"] is None
    assert "copy" not in row["filter_reasons"] and "length_ratio" not in row["filter_reasons"]


def test_answer_lost_only_for_answerable_rows_with_no_located_answer():
    lost = {"lang": "de", "question": DE_Q, "passage": DE_P, "answers": [{"text": "Broncos X", "answer_start": -1}]}
    found = {**lost, "answers": [{"text": "Broncos X", "answer_start": -1}, {"text": "Broncos", "answer_start": 10}]}
    impossible = {**lost, "is_impossible": True}
    rows = judge([lost])
    assert rows[0]["filter_reasons"] == ["answer_lost"]
    assert judge([found])[0]["keep"] is True
    assert judge([impossible])[0]["keep"] is True


def test_checks_can_be_switched_off():
    (row,) = judge([{"lang": "de", "question": "", "passage": EN_P}], FilterConfig(checks=["empty"]))
    assert row["filter_reasons"] == ["empty"]
    assert row["lid_question"] is None  # no wrong_language check: no language ID


def test_scores_of_hallucinations_and_copies():
    assert repetition("the cat sat on the mat", "en") == 1
    assert repetition("a b a b a b c", "en") == 3
    assert repetition("die die die die die", "de") == 5
    assert repetition("他说他说他说他说了", "zh") == 4
    assert repetition("1466年、1467年、1468年", "zh") == 1  # digits are one token, punctuation none
    assert copy_similarity("Hello  World", "hello world") == 1.0
    assert 0.0 <= copy_similarity(DE_P, EN_P) < 0.6


# ---- the template: declared inputs -------------------------------------------------------
def scores_of_bad_rows() -> tuple[QualityFilter, RowScores]:
    """Scores of rows that, together, fail every check (so every predicate path runs)."""
    table = out_rows([
        {"lang": "en", "question": EN_Q, "passage": EN_P, "answers": [{"text": "Broncos", "answer_start": 4}]},
        {"lang": "de", "question": "", "passage": EN_P, "answers": [{"text": "X", "answer_start": -1}]},
        {"lang": "de", "question": "W", "passage": DE_P + " die" * 5},
        {"lang": "es", "question": ES_Q, "passage": ES_P},
    ])
    q = quality()
    return q, q.score(table)


def test_every_check_declares_inputs_that_exist_and_reads_no_others():
    _, scores = scores_of_bad_rows()
    failed = set()
    for reason, cls in CHECKS.items():
        assert cls.reason == reason and cls.inputs and set(cls.inputs) <= SCORE_FIELDS, cls
        check = cls(CONFIG)
        # Only the declared fields are there: reading another would raise AttributeError.
        verdict = pc.fill_null(check.failures(CheckInputs(scores, cls.inputs, cls.__name__)), False).to_pylist()
        assert len(verdict) == 4
        if any(verdict):
            failed.add(reason)
    assert failed == set(Reason)  # every check found its row: every path above ran


def test_a_check_cannot_read_an_undeclared_input():
    class Sneaky(RowCheck):
        reason = Reason.COPY
        inputs = ("copy_similarity",)

        def failures(self, scores):
            return scores.repetition

    _, scores = scores_of_bad_rows()
    with pytest.raises(AttributeError, match=r"Sneaky reads 'repetition', which is not among its inputs \(copy_similarity\)"):
        failed_reasons([Sneaky(CONFIG)], scores)
    with pytest.raises(TypeError, match="RowScores does not have"):
        type("Typo", (RowCheck,), {"reason": Reason.COPY, "inputs": ("copy_similarty",), "failures": lambda self, s: None})


def test_the_written_scores_are_row_scores_fields_of_the_shard_types():
    from mtqa.schema import SHARD_SCHEMA

    q, scores = scores_of_bad_rows()
    table = out_rows([{"lang": "en", "question": EN_Q, "passage": EN_P}])
    assert q.evaluate(table).schema == SHARD_SCHEMA
    for name in ("lid_question", "lid_question_prob", "lid_passage_share", "question_length_ratio",
                 "passage_length_ratio", "repetition", "copy_similarity"):
        assert getattr(scores, name).type == SHARD_SCHEMA.field(name).type
    assert scores.translated.tolist() == [False, True, True, True]
    assert scores.answer_lost.to_pylist() == [None, True, None, None]  # only answerable translated rows
    assert scores.source_question_chars.to_pylist() == [None, len(EN_Q)] + [len(EN_Q)] * 2
