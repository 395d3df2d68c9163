"""Answer projection in the build: random QA rows through segment → mark → dedup → translate →
assemble, with the toy cipher and with translators that damage the markers; the builder's
wiring and the config's guard."""

from __future__ import annotations

import random
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtqa.config import BuildConfig, load_pipeline
from mtqa.errors import MtqaError
from mtqa.pipeline.builder import build_pipeline
from mtqa.pipeline.step import Chunk
from mtqa.projection import Method, ProjectionConfig
from mtqa.steps.assemble import AssembleStep
from mtqa.steps.dedup import DedupStep
from mtqa.steps.mark import MarkAnswersStep
from mtqa.steps.segment import SegmentStep
from mtqa.toy_cipher import cipher
from tests.helpers import FakeTranslateStep, qa_table, reverse_words

LANGS = ["x-rot13", "x-atbash"]
WORDS = ["the", "Denver", "Broncos", "won", "10%", "in", "2016", "game", "Bay", "Area", "(NFL)", "e.g.",
         "[note]", "{x}", "Über", "café", "it's", "Santa", "Clara", "won", "the"]


def _rng(text: str, lang: str) -> random.Random:
    return random.Random(zlib.crc32(f"{lang}\0{text}".encode()))


def damaging(text: str, lang: str) -> str:
    """The cipher, then what real models do, chosen by a hash of the text: markers lost, one
    lost, as a CJK variant, doubled, moved; the case changed; a word dropped or added."""
    rng = _rng(text, lang)
    out = cipher(text, lang)
    for _ in range(rng.randint(0, 2)):
        kind = rng.randrange(8)
        if kind == 0:
            out = out.replace("[", "").replace("]", "")
        elif kind == 1:
            out = out.replace("]", "", 1)
        elif kind == 2:
            out = out.replace("[", "【").replace("]", "】")
        elif kind == 3:
            out = out.replace("[", "[[ ")
        elif kind == 4 and "[" in out:
            out = "[" + out.replace("[", "", 1)
        elif kind == 5:
            out = out.upper() if rng.random() < 0.5 else out.lower()
        elif kind == 6 and " " in out:
            words = out.split(" ")
            del words[rng.randrange(len(words))]
            out = " ".join(words)
        else:
            out = out + " " + rng.choice(["zz", "Qb", "qb."])
    return out


TRANSLATORS = {"cipher": cipher, "damaging": damaging, "reverse_words": reverse_words}


@st.composite
def qa_rows(draw):
    """A few rows sharing passages of random sentences; answers are random spans (within a
    sentence or across two), some not located (``answer_start`` -1)."""
    passages = []
    for _ in range(draw(st.integers(1, 2))):
        sentences = []
        for _ in range(draw(st.integers(1, 4))):
            words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=9))
            sentences.append(" ".join(words) + draw(st.sampled_from([".", "?", "!"])))
        passages.append(draw(st.sampled_from([" ", "  ", "\n"])).join(sentences))
    rows = []
    for i in range(draw(st.integers(1, 4))):
        passage = draw(st.sampled_from(passages))
        answers = []
        for _ in range(draw(st.integers(0, 2))):
            start = draw(st.integers(0, len(passage) - 1))
            end = draw(st.integers(start + 1, min(len(passage), start + 40)))
            text = passage[start:end]
            located = draw(st.booleans()) or draw(st.booleans())
            answers.append({"text": text, "answer_start": start if located else -1})
        rows.append({"id": f"r{i}", "question": f"Question {i}?", "passage": passage, "answers": answers})
    return rows


def run(rows, fn, projection: ProjectionConfig | None = None) -> Chunk:
    projection = projection or ProjectionConfig()
    chunk = Chunk(index=0, qa=qa_table(rows))
    for step in (SegmentStep(), MarkAnswersStep(projection, LANGS), DedupStep(), FakeTranslateStep(LANGS, fn=fn),
                 AssembleStep(LANGS, projection=projection)):
        (chunk,) = step.run([chunk])
    return chunk


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=qa_rows(), translator=st.sampled_from(sorted(TRANSLATORS)), fuzzy=st.booleans())
def test_every_emitted_answer_is_its_passages_substring(rows, translator, fuzzy):
    chunk = run(rows, TRANSLATORS[translator], ProjectionConfig(fuzzy=fuzzy))
    english = {r["id"]: r["answers"] for r in rows}
    counted = {lang: 0 for lang in LANGS}
    for row in chunk.output.to_pylist():
        assert len(row["answers"]) == len(english[row["id"]])
        for answer, source in zip(row["answers"], english[row["id"]]):
            start, text = answer["answer_start"], answer["text"]
            if start >= 0:
                assert row["passage"][start:start + len(text)] == text
            if row["lang"] == "en":
                assert answer == source
            elif source["answer_start"] >= 0:
                counted[row["lang"]] += 1
            else:
                assert start == -1  # free text is never given a span
    langs = chunk.stats["assemble"].langs
    for lang in LANGS:
        methods = sum(langs.get(lang, {}).get(m.stat_key, 0) for m in Method)
        assert methods == counted[lang]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=qa_rows())
def test_through_the_cipher_the_marker_method_recovers_every_span_inside_a_sentence(rows):
    """The toy model's cipher keeps punctuation and every length: an answer inside one sentence
    with a letter or digit is found by its markers, at exactly the English offsets (whitespace
    at the span's edges stays outside the markers)."""
    chunk = run(rows, cipher)
    marked = {(r["row"], r["part"]) for r in chunk.segments.to_pylist() if r["field"] == "marked"}
    out = chunk.output.to_pylist()
    for i, row in enumerate(rows):
        for lang in LANGS:
            (translated,) = [r for r in out if r["id"] == row["id"] and r["lang"] == lang]
            for part, (answer, source) in enumerate(zip(translated["answers"], row["answers"])):
                if (i, part) in marked and any(c.isalnum() for c in source["text"]):
                    text = source["text"].strip()
                    start = source["answer_start"] + source["text"].index(text)
                    assert answer == {"text": cipher(text, lang), "answer_start": start}
    for lang in LANGS:
        assert chunk.stats["assemble"].langs[lang].get("answers_marker", 0) >= sum(
            1 for i, row in enumerate(rows) for part, a in enumerate(row["answers"])
            if (i, part) in marked and any(c.isalnum() for c in a["text"]))


def test_the_builder_puts_mark_after_segment_with_the_models_projection(shared_data):
    names = [step.name for step in build_pipeline(BuildConfig())]
    assert names == ["source", "segment", "mark", "dedup", "translate", "assemble", "filter", "write"]
    config = load_pipeline(None, **{"projection.per_model": {"to*": {"markers": False}}})
    steps = {step.name: step for step in build_pipeline(config)}
    assert steps["mark"].config.markers is False and steps["assemble"].projection.markers is False
    no_mt = BuildConfig(mt=False, sources=[f"xquad:{shared_data / 'xquad'}"], langs=["de"])
    assert "mark" not in [step.name for step in build_pipeline(no_mt)]


def test_projection_off_with_the_answer_lost_check_is_refused():
    with pytest.raises(MtqaError, match="remove answer_lost from filter.checks"):
        load_pipeline(None, **{"projection.enabled": False})
    config = load_pipeline(None, **{"projection.enabled": False, "filter.checks": ["empty", "copy"]})
    assert config.identity()["projection"]["enabled"] is False
    assert config.identity() != BuildConfig().identity()  # every projection field is identity
