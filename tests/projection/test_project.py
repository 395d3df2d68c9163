"""project_answer, its config, and the helpers the translate and assemble steps call."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtqa.errors import MtqaError
from mtqa.projection import (
    MarkedTranslation,
    Method,
    Projection,
    ProjectionConfig,
    answer_sentence,
    mark_answer,
    project_answer,
    sentence_anchor,
)

ENGLISH = "Super Bowl 50 was a game. The Denver Broncos won it. They beat the Panthers."
SENTENCES = [(0, "Super Bowl 50 was a game."), (26, "The Denver Broncos won it."), (53, "They beat the Panthers.")]
PASSAGE = "Der Super Bowl 50 war ein Spiel. Die Denver Broncos gewannen es. Sie schlugen die Panthers."
PLAIN = "Die Denver Broncos gewannen es."
OFFSET = PASSAGE.index(PLAIN)


def _marked(marked: str, offset: int = OFFSET) -> MarkedTranslation:
    index, start, end = answer_sentence(SENTENCES, ENGLISH.index("Denver Broncos"), "Denver Broncos")
    return MarkedTranslation(mark_answer(SENTENCES[index][1], start, end), marked, PLAIN, offset)


def test_answer_sentence_finds_the_sentence_and_the_offsets_within_it():
    assert answer_sentence(SENTENCES, ENGLISH.index("Denver Broncos"), "Denver Broncos") == (1, 4, 18)
    assert answer_sentence(SENTENCES, -1, "Denver Broncos") is None
    assert answer_sentence(SENTENCES, ENGLISH.index("game. The"), "game. The") is None  # crosses sentences
    assert answer_sentence(SENTENCES, 3, "Denver") is None  # the text is not where it says


def test_sentence_anchor_places_the_position_inside_the_translated_sentence():
    assert sentence_anchor(100, 40, 20, 0.5) == pytest.approx(0.5)
    assert sentence_anchor(100, 90, 20, 1.0) == 1.0
    assert sentence_anchor(0, 0, 0, 0.5) is None


def test_markers_first():
    projection = project_answer(PASSAGE, "Denver-Broncos", marked=_marked("Die [Denver Broncos] gewannen es."))
    assert projection == Projection("Denver Broncos", PASSAGE.index("Denver Broncos"), Method.MARKER)
    assert projection.to_answer() == {"text": "Denver Broncos", "answer_start": projection.start}


def test_marker_span_not_in_the_plain_translation_falls_back_to_the_answer():
    projection = project_answer(PASSAGE, "Denver Broncos", marked=_marked("Die [Broncos aus Denver] siegten."))
    assert projection.method is Method.EXACT and projection.text == "Denver Broncos"


def test_marker_span_at_a_wrong_offset_is_never_emitted_there():
    projection = project_answer(PASSAGE, "xyz", marked=_marked("Die [Denver Broncos] gewannen es.", offset=0))
    # The marker's span is not at offset 0 + 4; the fallback finds the marked text itself.
    assert projection.method is Method.EXACT
    assert PASSAGE[projection.start : projection.end] == "Denver Broncos"


def test_fallback_methods_and_none():
    assert project_answer(PASSAGE, "Denver Broncos").method is Method.EXACT
    assert project_answer(PASSAGE, "denver broncos.").method is Method.FUZZY
    assert project_answer(PASSAGE, "Panther").method is Method.FUZZY
    assert project_answer(PASSAGE, "Kansas City") == Projection("Kansas City", -1, Method.NONE)
    assert project_answer(PASSAGE, "Kansas City").end == -1


def test_switches():
    marked = _marked("Die [Denver Broncos] gewannen es.")
    assert project_answer(PASSAGE, "Denver Broncos", marked=marked, config=ProjectionConfig(enabled=False)) == \
        Projection("Denver Broncos", -1, Method.NONE)
    assert project_answer(PASSAGE, "Denver Broncos", marked=marked,
                          config=ProjectionConfig(markers=False)).method is Method.EXACT
    assert project_answer(PASSAGE, "denver broncos", config=ProjectionConfig(fuzzy=False)).method is Method.NONE


def test_method_stat_keys():
    assert [m.stat_key for m in Method] == ["answers_marker", "answers_exact", "answers_fuzzy", "answers_none"]
    assert Method("fuzzy") is Method.FUZZY and str(Method.MARKER) == "marker"


def test_config_per_model_overrides():
    config = ProjectionConfig(per_model={"facebook/nllb-*": {"markers": False},
                                         "toy": {"marker_pairs": [["<", ">"]]}})
    assert config.for_model("facebook/nllb-200-distilled-600M").markers is False
    assert config.for_model("toy").marker_pairs[0].open == "<"
    assert config.for_model("Helsinki-NLP/opus-mt-en-{lang}").marker_pairs[0].open == "["
    assert config.marker_pairs[0].open == "["


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"fuzzy_threshold": 0}, "fuzzy_threshold"),
        ({"fuzzy_threshold": 1.5}, "fuzzy_threshold"),
        ({"anchor_near": -0.1}, "anchor_near"),
        ({"anchor_margin": 1}, "anchor_margin"),
        ({"min_fuzzy_chars": 0}, "min_fuzzy_chars"),
        ({"enabled": "yes"}, "projection.enabled"),
        ({"marker_pairs": []}, "marker_pairs is empty"),
        ({"marker_pairs": "[]"}, "list of pairs"),
        ({"marker_pairs": [["[", "["]]}, "must differ"),
        ({"per_model": {"toy": {"colour": 1}}}, "unknown key 'colour'"),
        ({"per_model": {"toy": {"marker_pairs": [["x"]]}}}, "a marker pair is"),
        ({"per_model": {"toy": True}}, "must be a mapping"),
    ],
)
def test_bad_config_is_one_line_error(kwargs, message):
    with pytest.raises(MtqaError, match=message):
        ProjectionConfig(**kwargs)


_TEXT = st.text(st.sampled_from("ab Cé.,«»[]《》()%1中ไو "), max_size=60)


@settings(max_examples=300, deadline=None)
@given(
    passage=_TEXT,
    answer=_TEXT,
    marked=st.none() | _TEXT,
    plain=_TEXT,
    offset=st.integers(-5, 80),
    sentence=st.text(st.sampled_from("ab Cé.,"), min_size=1, max_size=30),
    bounds=st.tuples(st.integers(0, 30), st.integers(0, 30)),
    anchor=st.none() | st.floats(0, 1),
    threshold=st.floats(0.3, 1.0),
)
def test_every_emitted_projection_is_a_span_of_its_passage(
    passage, answer, marked, plain, offset, sentence, bounds, anchor, threshold
):
    source = mark_answer(sentence, min(bounds), max(bounds))
    translation = None
    if marked is not None and source is not None:
        translation = MarkedTranslation(source, marked, plain, offset)
    config = ProjectionConfig(fuzzy_threshold=threshold)
    projection = project_answer(passage, answer, anchor=anchor, marked=translation, config=config)
    if projection.method is Method.NONE:
        assert projection.start == -1 and projection.text == answer
    else:
        assert projection.start >= 0 and projection.text
        assert passage[projection.start : projection.start + len(projection.text)] == projection.text


@settings(max_examples=200, deadline=None)
@given(data=st.data(), passage=st.text(st.sampled_from("ab Cé.,[]中"), min_size=1, max_size=60))
def test_a_marked_span_of_the_passage_is_projected_by_the_marker(data, passage):
    """A 'translation' that keeps the sentence as it is: the marker must find the span exactly."""
    start = data.draw(st.integers(0, len(passage) - 1))
    end = data.draw(st.integers(start + 1, len(passage)))
    source = mark_answer(passage, start, end)
    if source is None or not any(ch.isalnum() for ch in source.span):
        return
    translation = MarkedTranslation(source, source.text, passage, 0)
    projection = project_answer(passage, "unrelated", marked=translation)
    assert passage[projection.start : projection.start + len(projection.text)] == projection.text
    if projection.method is Method.MARKER:
        assert source.start <= projection.start and projection.end <= source.end
