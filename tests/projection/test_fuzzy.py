"""The fallback matcher: exact, normalised and fuzzy lookups, anchors, edges, distances."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtqa.projection.fuzzy import find_span, levenshtein, normalise, similarity, trim

PASSAGE = (
    "Super Bowl 50 was played by the Denver Broncos (AFC) and the Carolina Panthers in the U.S. "
    "on February 7, 2016. The Broncos won 24–10; about 56,2% watched the Broncos at home."
)


def _reference_levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(prev[j - 1] + (a[i - 1] != b[j - 1]), prev[j] + 1, row[j - 1] + 1)
        prev = row
    return prev[-1]


@settings(max_examples=300, deadline=None)
@given(st.text("abcé", max_size=70), st.text("abcdé", max_size=70))
def test_levenshtein_matches_the_textbook_recurrence(a, b):
    assert levenshtein(a, b) == _reference_levenshtein(a, b)


def test_similarity_is_one_minus_distance_over_the_longer():
    assert similarity("Broncos", "Broncos") == 1.0
    assert similarity("Broncos", "Bronco") == pytest.approx(1 - 1 / 7)
    assert similarity("", "") == 1.0


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("Denver Broncos", "Denver Broncos"),  # verbatim
        ("denver broncos", "Denver Broncos"),  # case
        ("Denver Broncos.", "Denver Broncos"),  # a full stop the answer gained
        ("«Carolina Panthers»", "Carolina Panthers"),  # quotes the passage does not have
        ("Carolina Panther", "Carolina Panthers"),  # an ending
        ("Carolina Pantherz", "Carolina Panthers"),  # another ending
        ("February 7 2016", "February 7, 2016"),  # punctuation dropped
        ("ＡＦＣ", "AFC"),  # full-width forms
        ("AFC)", "(AFC)"),  # a bracket the answer has brings its pair
        ("the US", "the U.S."),  # the abbreviation keeps its final period
        ("56.2 %", "56,2%"),  # the percent sign is content; the separator is not
    ],
)
def test_finds_the_passage_span_for_a_perturbed_answer(answer, expected):
    match = find_span(answer, PASSAGE)
    assert match is not None and match.text == expected
    assert PASSAGE[match.start : match.end] == match.text


def test_verbatim_answers_are_exact_and_normalised_ones_are_not():
    assert find_span("Denver Broncos", PASSAGE).exact
    assert not find_span("denver broncos", PASSAGE).exact


def test_decomposed_accents_match_precomposed_ones():
    passage = "Thành phố Hồ Chí Minh là thành phố lớn nhất."
    answer = unicodedata.normalize("NFD", "Hồ Chí Minh")
    match = find_span(answer, passage)
    assert match is not None and match.text == "Hồ Chí Minh"


def test_other_digits_never_match():
    assert find_span("February 7, 2015", PASSAGE) is None
    assert find_span("24–11", PASSAGE) is None


def test_a_short_answer_is_not_found_inside_a_word_nor_fuzzily():
    assert find_span("ten", "It happens often.") is None
    assert find_span("Bronc", "The Broncos won.") is not None  # five letters: an inflected form
    assert find_span("Brx", "The Broncos won.") is None


def test_the_nearest_occurrence_to_the_anchor_wins():
    first = PASSAGE.index("Broncos")
    last = PASSAGE.rindex("Broncos")
    assert find_span("Broncos", PASSAGE, anchor=0.0).start == first
    assert find_span("Broncos", PASSAGE, anchor=1.0).start == last
    assert find_span("Broncos", PASSAGE).start == first  # no anchor: the first


def test_a_similar_word_near_the_anchor_beats_the_same_word_far_away():
    passage = "Ford built cars for decades. " + "Many words stand here in between. " * 6 + "It was Fords idea."
    near_end = find_span("Ford", passage, anchor=0.97)
    assert near_end.text == "Fords"
    assert find_span("Ford", passage, anchor=0.0).text == "Ford"


def test_arabic_answer_behind_a_proclitic():
    passage = "قابل الرئيس وجورج ستيجلر في المدينة."
    match = find_span("جورج ستيجلر", passage)
    assert match is not None and match.text == "جورج ستيجلر"


def test_chinese_answer_with_full_width_digits():
    passage = "超级碗50于2016年2月7日举行，丹佛野马队获胜。"
    match = find_span("２０１６年２月７日", passage)
    assert match is not None and match.text == "2016年2月7日"


def test_the_fuzzy_switch_stops_after_the_verbatim_lookup():
    assert find_span("denver broncos", PASSAGE, fuzzy=False) is None
    assert find_span("Denver Broncos", PASSAGE, fuzzy=False).text == "Denver Broncos"


def test_threshold_decides_how_similar_a_fuzzy_window_must_be():
    assert find_span("Carolina Pantherszz", PASSAGE, threshold=0.8) is not None
    assert find_span("Carolina Pantherszz", PASSAGE, threshold=0.95) is None


def test_nothing_to_find():
    assert find_span("", PASSAGE) is None
    assert find_span(" . ", PASSAGE) is None
    assert find_span("Denver", "") is None
    assert find_span("Kansas City Chiefs", PASSAGE) is None


def test_trim_keeps_abbreviations_and_paired_quotes():
    assert trim(" Denver. ") == "Denver"
    assert trim("U.S.") == "U.S."
    assert trim("«Denver»") == "«Denver»"
    assert trim("Denver»") == "Denver"
    assert trim("(AFC)") == "(AFC)"


def test_normalise_maps_every_character_back_to_its_grapheme():
    text = "İstanbul’da 1.000 Tiếng Việt ५%"
    norm = normalise(text)
    assert norm.chars == "istanbulda1000tiếngviệt5%"
    for k, ch in enumerate(norm.chars):
        source = unicodedata.normalize("NFKC", text[norm.src_start[k] : norm.src_end[k]]).casefold()
        assert ch in source or ch.isdigit()
    assert norm.digits == "10005"


@settings(max_examples=200, deadline=None)
@given(
    passage=st.text(st.sampled_from("ab cé.,«»[]()%1Ø中文ไทยو "), max_size=120),
    answer=st.text(st.sampled_from("ab cé.,«»%1中ไو"), max_size=20),
    anchor=st.none() | st.floats(0, 1),
)
def test_a_match_is_always_a_span_of_the_passage(passage, answer, anchor):
    match = find_span(answer, passage, anchor=anchor, threshold=0.5)
    if match is not None:
        assert passage[match.start : match.end] == match.text
        assert 0 <= match.start < match.end <= len(passage)
