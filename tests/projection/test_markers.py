"""Marker projection helpers: marking, normalising what models write, accepting the span."""

from __future__ import annotations

import pytest

from mtqa.errors import MtqaError
from mtqa.projection.markers import (
    DEFAULT_MARKERS,
    MarkerPair,
    accept,
    choose_pair,
    extract,
    mark,
    mark_answer,
    normalise_markers,
)

SQUARE = DEFAULT_MARKERS[0]
PLAIN = "Die Denver Broncos gewannen das Spiel."


def test_mark_wraps_the_span():
    assert mark("The Denver Broncos won.", 4, 18) == "The [Denver Broncos] won."
    assert mark("The Denver Broncos won.", 4, 18, MarkerPair("<a>", "</a>", ())) == "The <a>Denver Broncos</a> won."
    with pytest.raises(ValueError):
        mark("abc", 2, 2)


def test_mark_answer_keeps_whitespace_outside_the_markers_and_avoids_brackets_in_the_sentence():
    source = mark_answer("The  Denver Broncos won.", 4, 19)
    assert source.text == "The  [Denver Broncos] won." and source.span == "Denver Broncos"
    bracketed = mark_answer("The [sic] Denver Broncos won.", 10, 24)
    assert bracketed.pair.open == "{" and bracketed.text == "The [sic] {Denver Broncos} won."
    assert mark_answer("a [b] {c} <d>", 0, 1) is None  # every default pair is taken
    assert mark_answer("The team", 3, 4) is None  # a blank span


@pytest.mark.parametrize(
    "marked",
    [
        "Die [Denver Broncos] gewannen das Spiel.",
        "Die 《Denver Broncos》 gewannen das Spiel.",
        "Die 【Denver Broncos】 gewannen das Spiel.",
        "Die ［Denver Broncos］ gewannen das Spiel.",
        "Die [ Denver Broncos ] gewannen das Spiel.",  # spaces inside
        "Die[Denver Broncos]gewannen das Spiel.",  # no spaces outside
        "Die [[Denver Broncos]] gewannen das Spiel.",  # doubled
        "Die [ [Denver Broncos] ] gewannen das Spiel.",  # doubled with spaces
        "Die 《Denver Broncos] gewannen das Spiel.",  # mixed variants
    ],
)
def test_extract_normalises_what_models_write(marked):
    span = extract(marked, SQUARE, plain=PLAIN)
    assert span is not None and span.span == "Denver Broncos"
    assert span.text[span.start : span.end] == "Denver Broncos"


def test_extract_rebuilds_spacing_as_a_plain_translation_has_it():
    assert extract("Die [ Denver Broncos ] gewannen.", SQUARE).text == "Die Denver Broncos gewannen."
    assert extract("Sie gewannen [ das Spiel ] .", SQUARE).text == "Sie gewannen das Spiel."
    assert extract("[Denver] gewann.", SQUARE).start == 0


@pytest.mark.parametrize(
    "marked",
    [
        "Die Denver Broncos gewannen das Spiel.",  # markers lost
        "Die Denver Broncos] gewannen das Spiel.",  # opening missing
        "Die [Denver Broncos gewannen das Spiel.",  # closing missing
        "Die ]Denver Broncos[ gewannen das Spiel.",  # reversed
        "Die [Denver] [Broncos] gewannen das Spiel.",  # two spans
        "Die [ ] Denver Broncos gewannen das Spiel.",  # around nothing
    ],
)
def test_extract_gives_up_on_broken_markers(marked):
    assert extract(marked, SQUARE, plain=PLAIN) is None


def test_a_variant_the_plain_translation_uses_is_punctuation_not_a_marker():
    plain = "他读了《圣经》和其他书。"
    marked = "他读了《[圣经]》和其他书。"
    assert normalise_markers(marked, SQUARE, plain) == marked
    span = extract("他读了《[圣经]》和其他书。", SQUARE, plain=plain)
    assert span.span == "圣经"
    assert extract("他读了[《圣经》]和其他书。", SQUARE, plain=plain).span == "《圣经》"
    # Without the plain translation, the book-title marks read as doubled markers.
    assert extract("他读了《[圣经]》和其他书。", SQUARE).text == "他读了圣经和其他书。"


def test_markers_the_plain_translation_contains_cannot_be_told_apart():
    assert extract("Die [Broncos] [sic] gewannen.", SQUARE, plain="Die Broncos [sic] gewannen.") is None


def test_accept_needs_the_span_verbatim_in_the_plain_translation():
    assert accept("Denver Broncos", PLAIN).text == "Denver Broncos"
    assert accept("Denver Broncos", PLAIN).start == 4
    assert accept("denver broncos", PLAIN) is None  # another decoding's wording is not in the passage
    assert accept("Kansas", PLAIN) is None
    assert accept(" ... ", PLAIN) is None


def test_accept_trims_punctuation_the_english_span_did_not_have():
    source = mark_answer("The Denver Broncos won.", 4, 18)
    assert accept("Denver Broncos,", PLAIN, source=source).text == "Denver Broncos"
    won = mark_answer("They won 24–10.", 9, 14)
    assert accept("24–10.", "Sie gewannen 24–10.", source=won).text == "24–10"
    kept = mark_answer("He lived in the U.S.", 16, 20)
    assert accept("U.S.", "Er lebte in den U.S.", source=kept).text == "U.S."
    with_stop = mark_answer("They won 24–10.", 9, 15)
    assert accept("24–10.", "Sie gewannen 24–10.", source=with_stop).text == "24–10."


def test_accept_refuses_a_span_that_is_the_whole_sentence_unless_the_english_one_was():
    source = mark_answer("The Denver Broncos won.", 4, 18)
    assert accept(PLAIN, PLAIN, source=source) is None
    whole = mark_answer("Denver Broncos.", 0, 14)
    assert accept("Denver Broncos.", "Denver Broncos.", source=whole).text == "Denver Broncos"


def test_accept_picks_the_occurrence_nearest_the_marked_position():
    plain = "Broncos gegen Panthers: die Broncos gewannen."
    assert accept("Broncos", plain, near=0.0).start == 0
    assert accept("Broncos", plain, near=0.7).start == plain.rindex("Broncos")


def test_choose_pair_takes_the_first_free_pair():
    assert choose_pair("plain text") is SQUARE
    assert choose_pair("a 【b】 c").open == "{"  # a variant of [ ] counts as taken


@pytest.mark.parametrize(
    "value, message",
    [
        (["[", "["], "must differ"),
        (["", "]"], "non-blank"),
        ([" [", "]"], "whitespace"),
        (["<a>", "<a>x"], "contain each other"),
        ({"open": "["}, "needs 'open' and 'close'"),
        ({"open": "[", "close": "]", "colour": 1}, "unknown key 'colour'"),
        ("[]", "a marker pair is"),
    ],
)
def test_bad_marker_pairs_are_one_line_errors(value, message):
    with pytest.raises(MtqaError, match=message):
        MarkerPair.of(value)


def test_marker_pairs_from_config_data():
    assert MarkerPair.of(["[", "]"]) == SQUARE
    assert MarkerPair.of(["<a>", "</a>"]).variants == ()
    pair = MarkerPair.of({"open": "<a>", "close": "</a>", "variants": [["<A>", "</A>"]]})
    assert pair.variants == (("<A>", "</A>"),)
    assert extract("Die <A>Broncos</A> gewannen.", pair).span == "Broncos"
