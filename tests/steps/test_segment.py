import pytest
from hypothesis import given
from hypothesis import strategies as st

from mtqa.errors import MtqaError
from mtqa.pipeline.step import Chunk
from mtqa.steps.segment import (
    SegmentConfig,
    SegmentStep,
    SentenceSplitter,
    split_with_whitespace,
)
from tests.helpers import qa_table

PASSAGE = "  The Normans were people.  Mr. Smith went to Washington D.C. in 1999.\nHe left. "


def rejoin(lead, sentences):
    return lead + "".join(text + sep for text, sep in sentences)


@pytest.mark.parametrize("splitter", ["pysbd", "blingfire"])
def test_splitters_reassemble_exactly(splitter):
    lead, sentences = SentenceSplitter(splitter).split(PASSAGE)
    assert rejoin(lead, sentences) == PASSAGE
    assert lead == "  "
    assert sentences[0] == ("The Normans were people.", "  ")
    assert sentences[-1] == ("He left.", " ")
    assert all(text == text.strip() and text for text, _ in sentences)


def test_pysbd_keeps_abbreviations_together():
    _, sentences = SentenceSplitter("pysbd").split(PASSAGE)
    assert [t for t, _ in sentences] == [
        "The Normans were people.",
        "Mr. Smith went to Washington D.C. in 1999.",
        "He left.",
    ]


@given(st.text(alphabet=st.sampled_from("ab .\n\t!?"), max_size=60), st.lists(st.integers(-5, 70), max_size=8))
def test_any_boundaries_reassemble_exactly(text, boundaries):
    lead, sentences = split_with_whitespace(text, boundaries)
    assert rejoin(lead, sentences) == text
    assert all(t.strip() == t and t for t, _ in sentences)
    assert all(not sep.strip() for _, sep in sentences)


def test_unknown_splitter_is_one_clear_error():
    with pytest.raises(MtqaError, match="unknown sentence splitter 'nltk'"):
        SegmentConfig(splitter="nltk")


def test_segment_stage_lists_every_segment_in_order():
    qa = qa_table(
        [
            {"question": "Who left?", "passage": "A came. B left.", "answers": [{"text": "B", "answer_start": 8}]},
            {"question": " Who came? ", "passage": "A came. B left.", "answers": []},
        ]
    )
    stage = SegmentStep()
    chunk = stage.process(Chunk(index=0, qa=qa))
    seg = chunk.segments.to_pylist()
    assert [(s["row"], s["field"], s["part"], s["seg"], s["text"]) for s in seg] == [
        (0, "question", 0, 0, "Who left?"),
        (0, "passage", 0, 0, "A came."),
        (0, "passage", 0, 1, "B left."),
        (0, "answer", 0, 0, "B"),
        (1, "question", 0, 0, "Who came?"),
        (1, "passage", 0, 0, "A came."),
        (1, "passage", 0, 1, "B left."),
    ]
    assert (seg[4]["lead"], seg[4]["sep"]) == (" ", " ")
    assert stage.stats.counts["segments_passage"] == 4
    assert stage.stats.counts["segments"] == 7
