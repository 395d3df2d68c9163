"""Segment: split passages into sentences so translations reassemble exactly and in order.

Each question is one segment, each answer text is one segment, and each passage is split
into sentences. A segment keeps the whitespace around it (``lead`` before the first
sentence, ``sep`` after each one), so joining ``lead + text + sep`` over a passage's
segments gives back the passage byte for byte, and joining the *translated* texts with the
same whitespace gives the translated passage.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cached_property

import pyarrow as pa

from mtqa.pipeline import stats as S
from mtqa.errors import MtqaError
from mtqa.pipeline.step import Chunk, Step

SEGMENTS_SCHEMA = pa.schema(
    [
        ("row", pa.int32()),  # index of the QA row within the chunk
        ("field", pa.string()),  # "question" | "passage" | "answer"
        ("part", pa.int32()),  # answer index for "answer", else 0
        ("seg", pa.int32()),  # sentence index within the field
        ("text", pa.string()),
        ("lead", pa.string()),  # whitespace before the first segment of a field
        ("sep", pa.string()),  # whitespace after this segment
    ]
)


class Splitter(str, Enum):
    """Sentence splitters. ``pysbd`` handles abbreviations well; ``blingfire`` is ~10× faster."""

    PYSBD = "pysbd"
    BLINGFIRE = "blingfire"


@dataclass
class SegmentConfig:
    splitter: Splitter = Splitter.PYSBD
    language: str = "en"  # the language of the source text, for the splitter's rules

    def __post_init__(self) -> None:
        try:
            self.splitter = Splitter(self.splitter)
        except ValueError:
            known = ", ".join(s.value for s in Splitter)
            raise MtqaError(f"unknown sentence splitter '{self.splitter}' (known: {known})") from None


def split_with_whitespace(text: str, boundaries: list[int]) -> tuple[str, list[tuple[str, str]]]:
    """Cut ``text`` at ``boundaries`` and return ``(lead, [(sentence, following_whitespace)])``.

    Whatever the splitter returns, the pieces always concatenate back to ``text``: the
    boundaries only choose where to cut. Pieces that are only whitespace fold into the
    previous separator.
    """
    cuts = sorted({b for b in boundaries if 0 < b < len(text)})
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)])]
    lead = ""
    out: list[tuple[str, str]] = []
    for piece in pieces:
        core = piece.strip()
        if not core:
            if out:
                out[-1] = (out[-1][0], out[-1][1] + piece)
            else:
                lead += piece
            continue
        start = piece.index(core[0])
        before, after = piece[:start], piece[start + len(core) :]
        if out:
            out[-1] = (out[-1][0], out[-1][1] + before)
        else:
            lead += before
        out.append((core, after))
    return lead, out


class SentenceSplitter:
    """Finds sentence boundaries (character offsets) with pysbd or blingfire."""

    def __init__(self, splitter: Splitter, language: str = "en") -> None:
        self.splitter = Splitter(splitter)
        self.language = language

    @cached_property
    def _pysbd(self):
        import pysbd

        return pysbd.Segmenter(language=self.language, clean=False, char_span=True)

    @cached_property
    def _blingfire(self):
        try:
            import blingfire
        except ImportError:
            raise MtqaError("the blingfire splitter needs: pip install 'mtqa[fast-segment]'") from None
        return blingfire

    def boundaries(self, text: str) -> list[int]:
        if self.splitter is Splitter.BLINGFIRE:
            _, offsets = self._blingfire.text_to_sentences_and_offsets(text)
            return [start for start, _ in offsets[1:]]
        return [span.end for span in self._pysbd.segment(text)[:-1]]

    def split(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        return split_with_whitespace(text, self.boundaries(text))


class SegmentStep(Step):
    """QA rows → segments (``SEGMENTS_SCHEMA``), one row per segment occurrence.

    A passage shared by several questions is split once but listed once per question: that
    listing is what a naive pipeline would translate, and the dedup stage counts the saving.
    """

    name = "segment"

    def __init__(self, config: SegmentConfig | None = None) -> None:
        super().__init__()
        self.config = config or SegmentConfig()
        self.splitter = SentenceSplitter(self.config.splitter, self.config.language)

    def process(self, chunk: Chunk) -> Chunk:
        cols: dict[str, list] = {name: [] for name in SEGMENTS_SCHEMA.names}

        def emit(row: int, field: str, part: int, lead: str, sentences: list[tuple[str, str]]) -> None:
            for seg, (text, sep) in enumerate(sentences):
                cols["row"].append(row)
                cols["field"].append(field)
                cols["part"].append(part)
                cols["seg"].append(seg)
                cols["text"].append(text)
                cols["lead"].append(lead if seg == 0 else "")
                cols["sep"].append(sep)

        split_cache: dict[str, tuple[str, list[tuple[str, str]]]] = {}
        qa = chunk.qa
        counts = {"question": 0, "passage": 0, "answer": 0}
        for row, (question, passage, answers) in enumerate(
            zip(qa.column("question").to_pylist(), qa.column("passage").to_pylist(), qa.column("answers").to_pylist())
        ):
            lead, sentences = split_with_whitespace(question, [])
            emit(row, "question", 0, lead, sentences)
            counts["question"] += len(sentences)
            if passage not in split_cache:
                split_cache[passage] = self.splitter.split(passage)
            lead, sentences = split_cache[passage]
            emit(row, "passage", 0, lead, sentences)
            counts["passage"] += len(sentences)
            for part, answer in enumerate(answers or []):
                lead, sentences = split_with_whitespace(answer["text"], [])
                emit(row, "answer", part, lead, sentences)
                counts["answer"] += len(sentences)
        chunk.segments = pa.table(cols, schema=SEGMENTS_SCHEMA)
        self.stats.add(S.ROWS_IN, qa.num_rows)
        self.stats.add(S.SEGMENTS, chunk.segments.num_rows)
        self.stats.add(S.SEGMENTS_QUESTION, counts["question"])
        self.stats.add(S.SEGMENTS_PASSAGE, counts["passage"])
        self.stats.add(S.SEGMENTS_ANSWER, counts["answer"])
        return chunk
