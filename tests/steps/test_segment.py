import time

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mtqa.errors import MtqaError
from mtqa.pipeline.step import Chunk
from mtqa.pipeline.stats import CUT_SEGMENTS, LONG_PASSAGES
from mtqa.steps.segment import (
    LONG_TEXT_CHARS,
    MAX_SEGMENT_CHARS,
    SegmentConfig,
    SegmentStep,
    SentenceSplitter,
    cap_segment_lengths,
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


# -- long text: linear time, a stated cap -------------------------------------------------------
PROSE = ("The Normans were people of Normandy. Mr. Smith went to Washington D.C. in 1999. "
         "He left, and came back later! Why? Nobody knows. ")


def test_a_long_passage_segments_in_linear_time():
    text = (PROSE * 2000)[:200_000]  # pysbd alone: 39 s; quadratic
    started = time.perf_counter()
    lead, sentences, cut = SentenceSplitter("pysbd").segment(text)
    assert time.perf_counter() - started < 10
    assert rejoin(lead, sentences) == text and cut == 0
    rest = text[len(text) // len(PROSE) * len(PROSE):]  # "The Normans were ... Mr. Smith w": two more
    assert len(sentences) == len(text) // len(PROSE) * 5 + len(SentenceSplitter("pysbd").split(rest)[1])


def test_windows_find_what_pysbd_finds_on_the_whole_text():
    text = (PROSE * 220)[:LONG_TEXT_CHARS + 5_000]
    splitter = SentenceSplitter("pysbd")
    whole = [span.end for span in splitter._pysbd.segment(text)[:-1]]
    assert splitter.boundaries(text) == whole


@pytest.mark.parametrize("text", [
    "x" * 30_000,  # no whitespace at all
    "word " * 8_000,  # no sentence end
    ("One line. " * 30 + "\n\n") * 60,  # paragraphs
    "a" * 2_500 + " " + "b. " * 5_000,
], ids=["no whitespace", "no sentence end", "paragraphs", "a long word then prose"])
def test_long_texts_reassemble_exactly_with_every_segment_capped(text):
    lead, sentences, _ = SentenceSplitter("pysbd").segment(text)
    assert rejoin(lead, sentences) == text
    assert max(len(t) for t, _ in sentences) <= MAX_SEGMENT_CHARS


@given(st.text(alphabet=st.sampled_from("ab .\n"), max_size=300), st.lists(st.integers(0, 300), max_size=6),
       st.integers(4, 40))
def test_the_length_cap_keeps_the_text_and_every_piece_short(text, boundaries, limit):
    cuts, added = cap_segment_lengths(text, boundaries, limit)
    lead, sentences = split_with_whitespace(text, cuts)
    assert rejoin(lead, sentences) == text
    pieces = [b - a for a, b in zip([0, *cuts], [*cuts, len(text)])]
    assert max(pieces, default=0) <= limit
    assert added == len(cuts) - len({b for b in boundaries if 0 < b < len(text)})


def test_the_step_counts_long_passages_and_cut_segments():
    long_passage = "Short start. " + "y" * (LONG_TEXT_CHARS + 10)
    qa = qa_table([{"question": "q " * 700, "passage": long_passage},
                   {"question": "Normal?", "passage": long_passage}])
    step = SegmentStep()
    chunk = step.run([Chunk(index=0, qa=qa)]).__next__()
    texts = chunk.segments.column("text").to_pylist()
    assert max(map(len, texts)) <= MAX_SEGMENT_CHARS
    assert chunk.stats["segment"].counts[LONG_PASSAGES] == 1  # one distinct passage
    assert chunk.stats["segment"].counts[CUT_SEGMENTS] == 2 * 10 + 1  # the passage as listed twice, the question


def test_normal_passages_are_split_as_before():
    splitter = SentenceSplitter("pysbd")
    for passage in [PASSAGE, PROSE * 20]:
        assert splitter.boundaries(passage) == [span.end for span in splitter._pysbd.segment(passage)[:-1]]


def test_splits_are_reused_across_chunks_and_the_cache_is_bounded(monkeypatch):
    import mtqa.steps.segment as segment

    monkeypatch.setattr(segment, "SPLIT_CACHE_ENTRIES", 2)
    step = SegmentStep()
    calls = []
    real = step.splitter.segment
    monkeypatch.setattr(step.splitter, "segment", lambda text: calls.append(text) or real(text))
    passages = ["First one. Two.", "Second one. Two.", "Third one. Two."]
    first = step.process(Chunk(index=0, qa=qa_table([{"question": "Q?", "passage": p} for p in passages[:2]])))
    again = step.process(Chunk(index=1, qa=qa_table([{"question": "Q?", "passage": passages[1]},
                                                     {"question": "Q?", "passage": passages[2]},
                                                     {"question": "Q?", "passage": passages[0]}])))
    # passages[1] came from the cache; passages[0] was dropped (least recently used) once the third came.
    assert calls == [passages[0], passages[1], passages[2], passages[0]]
    assert again.segments.filter(pc.equal(again.segments["row"], 0)).column("text").to_pylist()[1:] == \
        first.segments.filter(pc.equal(first.segments["row"], 1)).column("text").to_pylist()[1:]
    long_passage = "Long start. " + "z" * (LONG_TEXT_CHARS + 10)
    for index in (2, 3):  # a long passage is counted in every chunk that has it, and not kept
        chunk = step.run([Chunk(index=index, qa=qa_table([{"question": "Q?", "passage": long_passage}]))]).__next__()
        assert chunk.stats["segment"].counts[LONG_PASSAGES] == 1
    assert long_passage not in step._splits and len(step._splits) == 2
