import pytest

from mtqa.errors import MtqaError
from mtqa.lid import LidConfig
from mtqa.steps.filters import FilterConfig, QualityFilter, load_length_ratios
from tests.steps.filters.rows import CONFIG, DE_P, DE_Q, EN_P, EN_Q, ES_P, ES_Q, judge, out_rows, quality


def test_real_translations_pass_with_their_scores():
    de, es = judge([{"lang": "de", "question": DE_Q, "passage": DE_P}, {"lang": "es", "question": ES_Q, "passage": ES_P}])
    for row, lang in ((de, "de"), (es, "es")):
        assert row["keep"] is True and row["filter_reasons"] == []
        assert row["lid_question"] == lang and row["lid_question_prob"] > 0.9
        assert row["lid_passage_share"] == pytest.approx(1.0)
        assert 0.8 < row["question_length_ratio"] < 1.3 and 0.8 < row["passage_length_ratio"] < 1.3
        assert row["repetition"] == 1.0
        assert row["copy_similarity"] < 0.6


def test_one_quoted_english_sentence_does_not_reject_a_german_passage():
    passage = DE_P + ' Der Slogan lautete "We are the champions of the world".'
    (row,) = judge([{"lang": "de", "question": DE_Q, "passage": passage}])
    assert row["keep"] is True
    assert 0.5 < row["lid_passage_share"] < 1.0


def test_without_its_sentences_a_passage_is_identified_as_one_text():
    passage = DE_P + ' Der Slogan lautete "We are the champions of the world".'
    german, english = judge([{"lang": "de", "question": DE_Q, "passage": passage},
                             {"lang": "de", "id": "i", "question": DE_Q, "passage": EN_P}], split=False)
    assert german["lid_passage_share"] == 1.0 and german["keep"] is True
    assert english["lid_passage_share"] == 0.0 and "wrong_language" in english["filter_reasons"]
    # A None entry means the same for that row only.
    table = out_rows([{"lang": "en", "question": EN_Q, "passage": EN_P},
                      {"lang": "de", "question": DE_Q, "passage": passage}])
    split = quality().evaluate(table, [None, [DE_P, 'Der Slogan lautete "We are the champions of the world".']])
    whole = quality().evaluate(table, [None, None])
    assert 0.5 < split.column("lid_passage_share")[1].as_py() < 1.0
    assert whole.column("lid_passage_share")[1].as_py() == 1.0


def test_wrong_language_question_needs_a_confident_label():
    row = {"lang": "de", "question": "Engineering News-Record?", "passage": DE_P}
    strict = judge([row])[0]
    assert strict["lid_question"] == "en" and "wrong_language" in strict["filter_reasons"]
    lenient = FilterConfig(lid=LidConfig(processes=1), lid_min_prob=1.01)
    assert "wrong_language" not in judge([row], lenient)[0]["filter_reasons"]


def test_pseudo_languages_skip_language_id_but_not_the_other_checks():
    table = out_rows([
        {"lang": "en", "question": EN_Q, "passage": EN_P},
        {"lang": "x-rot13", "question": "JUvpu grnz jba?", "passage": "Gur Qraire Oebapbf jba. " * 6},
        {"lang": "x-rot13", "id": "j", "question": EN_Q, "passage": EN_P},
        {"lang": "en", "id": "j", "question": EN_Q, "passage": EN_P},
    ])
    with QualityFilter(CONFIG, ["x-rot13"]) as q:
        rows = q.evaluate(table).to_pylist()
    assert rows[1]["lid_question"] is None and rows[1]["lid_passage_share"] is None
    assert rows[1]["filter_reasons"] == ["repetition"]
    assert rows[2]["filter_reasons"] == ["copy"]
    assert q._lid is None  # no language to identify: the identifier never loaded


def test_length_ratio_table_is_fitted_per_pair_and_falls_back():
    table = load_length_ratios()
    assert {"en-de", "en-zh", "en-th"} <= set(table)
    lo, hi = table["en-zh"]["passage"]
    assert 0 < lo < hi < 1.2  # Chinese is much shorter in characters
    q = QualityFilter(FilterConfig(length_ratio_default=[0.5, 2.0]), ["de", "sw"])
    assert q.bounds("sw", "question") == (0.5, 2.0)
    assert q.bounds("de", "passage") == table["en-de"]["passage"]


def test_rows_it_cannot_judge_are_refused():
    table = out_rows([{"lang": "en", "question": EN_Q, "passage": EN_P}])
    with pytest.raises(MtqaError, match="the rows lack the column 'answers'"):
        quality().evaluate(table.drop_columns(["answers"]))
    with pytest.raises(ValueError, match="passage_sentences has 2 entries for 1 rows"):
        quality().evaluate(table, [None, None])


def test_existing_filter_columns_are_replaced_not_duplicated():
    table = out_rows([{"lang": "en", "question": EN_Q, "passage": EN_P},
                      {"lang": "de", "question": "", "passage": DE_P}])
    once = quality().evaluate(table)
    again = quality().evaluate(once)
    assert again.equals(once)
