"""Marker projection through the shipped toy cipher model: the markers survive the cipher
(it leaves punctuation as it is) and the marked span is recovered where the cipher puts it."""

from __future__ import annotations

import pytest

from mtqa.projection import MarkedTranslation, Method, answer_sentence, mark_answer, project_answer
from mtqa.toy_cipher import cipher
from mtqa.translation.engine import Ct2Translator
from mtqa.translation.models import resolve_model

# XQuAD's first English passage (CC BY-SA 4.0), split into sentences, and three answers.
SENTENCES = [
    "Super Bowl 50 was an American football game to determine the champion of the National "
    "Football League (NFL) for the 2015 season.",
    "The American Football Conference (AFC) champion Denver Broncos defeated the National "
    "Football Conference (NFC) champion Carolina Panthers 24–10 to earn their third Super Bowl title.",
    "The game was played on February 7, 2016, at Levi's Stadium in the San Francisco Bay Area "
    "at Santa Clara, California.",
]
ANSWERS = ["Denver Broncos", "February 7, 2016", "Santa Clara, California", "National Football League"]


@pytest.fixture(scope="module")
def translator():
    engine = Ct2Translator(resolve_model("toy"), device="cpu", beam_size=1)
    yield engine
    engine.close()


@pytest.mark.parametrize("lang", ["x-rot13", "x-atbash"])
def test_markers_survive_the_toy_model_and_the_span_is_recovered(translator, lang):
    passage = " ".join(SENTENCES)
    offsets = [passage.index(s) for s in SENTENCES]
    sources = []
    for answer in ANSWERS:
        index, start, end = answer_sentence(list(zip(offsets, SENTENCES)), passage.index(answer), answer)
        sources.append((index, mark_answer(SENTENCES[index], start, end)))
    plain = translator.translate(SENTENCES, lang)
    marked = translator.translate([source.text for _, source in sources], lang)
    assert plain == [cipher(s, lang) for s in SENTENCES]
    assert marked == [cipher(source.text, lang) for _, source in sources]  # "[" and "]" kept
    translated_passage = " ".join(plain)
    translated_offsets = [translated_passage.index(p) for p in plain]
    for (index, source), marked_text, answer in zip(sources, marked, ANSWERS):
        projection = project_answer(
            translated_passage,
            "(unusable standalone translation)",
            marked=MarkedTranslation(source, marked_text, plain[index], translated_offsets[index]),
        )
        assert projection.method is Method.MARKER
        assert projection.text == cipher(answer, lang)
        # The cipher keeps every length, so the span sits where the English one does.
        assert projection.start == passage.index(answer)
