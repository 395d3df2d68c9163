"""The mark step: one marked answer sentence per located answer, as a segment of its own."""

from __future__ import annotations

import pyarrow as pa

from mtqa.pipeline.step import Chunk
from mtqa.projection import ProjectionConfig
from mtqa.schema import QA_SCHEMA
from mtqa.steps.assemble import AssembleStep
from mtqa.steps.dedup import DedupStep
from mtqa.steps.mark import ANSWERS_UNMARKED, MARKED_FIELD, MarkAnswersStep, sentence_offsets
from mtqa.steps.segment import SegmentStep
from tests.helpers import FakeTranslateStep, qa_table

PASSAGE = "Paris is big.  It is old [and grey].\nRome too."


def rows():
    return qa_table([
        {"id": "a", "question": "What is big?", "passage": PASSAGE,
         "answers": [{"text": "Paris", "answer_start": 0},
                     {"text": "old", "answer_start": PASSAGE.index("old")},  # "[" taken: marked with { }
                     {"text": "big.  It", "answer_start": PASSAGE.index("big.")},  # across two sentences
                     {"text": "somewhere", "answer_start": -1}]},  # free text: not located
        {"id": "b", "question": "What too?", "passage": PASSAGE,
         "answers": [{"text": "Rome", "answer_start": PASSAGE.index("Rome")}]},
        {"id": "c", "question": "Nothing?", "passage": PASSAGE, "is_impossible": True},
    ])


def marked(qa, step=None) -> tuple[Chunk, list[dict]]:
    chunk = SegmentStep().process(Chunk(index=0, qa=qa))
    plain = chunk.segments
    step = step or MarkAnswersStep(ProjectionConfig(), ["en", "de"])
    (chunk,) = step.run([chunk])
    # The segment step's rows stay first, unchanged and in order; marked ones are appended.
    assert chunk.segments.slice(0, plain.num_rows).equals(plain)
    segments = chunk.segments.to_pylist()[plain.num_rows :]
    assert all(s["field"] == MARKED_FIELD for s in segments)
    return chunk, segments


def test_each_located_answer_inside_one_sentence_gets_its_marked_sentence():
    chunk, rows_marked = marked(rows())
    assert rows_marked == [
        {"row": 0, "field": "marked", "part": 0, "seg": 0, "text": "[Paris] is big.", "lead": "", "sep": ""},
        {"row": 0, "field": "marked", "part": 1, "seg": 1, "text": "It is {old} [and grey].", "lead": "", "sep": ""},
        {"row": 1, "field": "marked", "part": 0, "seg": 2, "text": "[Rome] too.", "lead": "", "sep": ""},
    ]
    assert chunk.stats["mark"].counts == {"segments_marked": 3, ANSWERS_UNMARKED: 1}


def test_nothing_is_marked_when_projection_or_its_markers_are_off():
    qa = rows()
    plain = SegmentStep().process(Chunk(index=0, qa=qa)).segments
    per_model = ProjectionConfig(per_model={"Helsinki-NLP/*": {"markers": False}})
    for config in (ProjectionConfig(enabled=False), ProjectionConfig(markers=False),
                   per_model.for_model("Helsinki-NLP/opus-mt-en-de")):
        chunk, rows_marked = marked(qa, MarkAnswersStep(config, ["en", "de"]))
        assert rows_marked == [] and chunk.segments.equals(plain)
        assert chunk.stats["mark"].counts["segments_marked"] == 0
    assert marked(qa, MarkAnswersStep(per_model.for_model("toy"), ["de"]))[1]  # other models keep them
    assert marked(qa, MarkAnswersStep(ProjectionConfig(), ["en"]))[1] == []  # no target language


def test_rows_the_source_translated_into_every_target_language_are_not_marked():
    qa = rows()
    given = {"origin": "human", "title": "T", "question": "?", "passage": "P.", "answers": []}
    parallel = [[{**given, "lang": "de"}, {**given, "lang": "es"}],  # a: every target language given
                [{**given, "lang": "de"}],  # b: es still machine-translated
                None]
    qa = qa.set_column(qa.schema.get_field_index("parallel"), "parallel",
                       pa.array(parallel, QA_SCHEMA.field("parallel").type))
    _, rows_marked = marked(qa, MarkAnswersStep(ProjectionConfig(), ["en", "de", "es"]))
    assert [(r["row"], r["part"]) for r in rows_marked] == [(1, 0)]


def test_sentence_offsets_follow_the_whitespace():
    pieces = [("  ", "A b.", " "), ("", "C.", "\n"), ("", "D", "")]
    assert sentence_offsets(pieces) == [(2, "A b."), (7, "C."), (10, "D")]


def test_dedup_and_translate_take_marked_sentences_as_any_text_and_nothing_leaks_into_rows():
    """The marked sentences are translated (dedup gives them ids, the translator sees them),
    but the rebuilt questions, passages and answers are the same as without them."""
    qa = rows()
    translate = FakeTranslateStep(["de"], fn=lambda text, lang: text.upper())
    with_marks = Chunk(index=0, qa=qa)
    for step in (SegmentStep(), MarkAnswersStep(ProjectionConfig(), ["de"]), DedupStep(), translate,
                 AssembleStep(["de"])):
        with_marks = step.process(with_marks)
    assert "[Paris] is big." in translate.translated_texts and "[Paris] is big." in with_marks.unique
    marked_uids = [u for f, u in zip(with_marks.segments.column("field").to_pylist(),
                                     with_marks.segments.column("uid").to_pylist()) if f == MARKED_FIELD]
    assert [with_marks.translations["de"][u] for u in marked_uids] == [
        "[PARIS] IS BIG.", "IT IS {OLD} [AND GREY].", "[ROME] TOO."]
    without = Chunk(index=0, qa=qa)
    for step in (SegmentStep(), DedupStep(), FakeTranslateStep(["de"], fn=lambda text, lang: text.upper()),
                 AssembleStep(["de"])):
        without = step.process(without)
    columns = ["id", "lang", "question", "passage"]
    assert with_marks.output.select(columns).equals(without.output.select(columns))
    assert with_marks.passage_sentences == without.passage_sentences
    assert not any("[PARIS]" in p or "{OLD}" in p for p in with_marks.output.column("passage").to_pylist())
