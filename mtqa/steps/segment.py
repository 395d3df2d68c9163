"""Segment: split passages into sentences so translations reassemble exactly and in order.

Each question is one segment, each answer text is one segment, and each passage is split
into sentences. A segment keeps the whitespace around it (``lead`` before the first
sentence, ``sep`` after each one), so joining ``lead + text + sep`` over a passage's
segments gives back the passage byte for byte, and joining the *translated* texts with the
same whitespace gives the translated passage.

Long text stays linear-time. pysbd's time grows with the square of its input (25k characters
0.8 s, 200k 39 s), so a text over :data:`LONG_TEXT_CHARS` is first cut at its line breaks and
each block over that length is segmented in windows of :data:`WINDOW_CHARS` (from each window,
the boundaries up to :data:`WINDOW_MARGIN` characters before its end are kept, and the next
window starts at the last of them). Shorter texts, every normal passage, go to the splitter
whole, as before. Then any segment of any field over :data:`MAX_SEGMENT_CHARS` is cut at its
last whitespace before that length (anywhere in its second half; a hard cut if it has none
there): translation models truncate inputs and outputs of a few hundred tokens, so a longer
segment would come back cut anyway, and mid-word. The step counts both (``long_passages``,
``cut_segments``).
"""

from __future__ import annotations

import re
from collections import OrderedDict
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


#: Texts longer than this take the linear path (line breaks, then windows); see the module.
LONG_TEXT_CHARS = 10_000
#: The window pysbd sees at a time on the linear path, and the right context it keeps.
WINDOW_CHARS = 2_000
WINDOW_MARGIN = 300
#: Segments longer than this are cut at whitespace.
MAX_SEGMENT_CHARS = 1_000
#: Passages whose split the segment step keeps across chunks (least recently used dropped);
#: only passages of at most LONG_TEXT_CHARS, so the memory stays under about 60 MB.
SPLIT_CACHE_ENTRIES = 2048

# Stat keys of this step (beside mtqa.pipeline.stats').

_LINE_BREAKS = re.compile(r"\n\s*")
_SPACE = re.compile(r"\s")


def _length_cut(text: str, start: int, limit: int) -> int:
    """Where a piece of ``text`` from ``start`` that is over ``limit`` long is cut: after its
    last whitespace in ``(limit/2, limit]`` characters, else at ``limit``."""
    window = text[start + limit // 2 + 1 : start + limit + 1]
    spaces = [m.start() for m in _SPACE.finditer(window)]
    return start + limit // 2 + 1 + spaces[-1] if spaces else start + limit


def cap_segment_lengths(text: str, boundaries: list[int], limit: int = MAX_SEGMENT_CHARS) -> tuple[list[int], int]:
    """``boundaries`` plus the cuts that make every piece of ``text`` at most ``limit``
    characters long (:func:`_length_cut`); returns the sorted cuts and how many were added."""
    cuts = sorted({b for b in boundaries if 0 < b < len(text)})
    out: list[int] = []
    added = 0
    for start, end in zip([0, *cuts], [*cuts, len(text)]):
        while end - start > limit:
            start = _length_cut(text, start, limit)
            out.append(start)
            added += 1
        if end < len(text):
            out.append(end)
    return out, added


class Splitter(str, Enum):
    """Sentence splitters. ``blingfire`` (the default) is 24x faster than ``pysbd`` and found
    English sentence boundaries more accurately (boundary F1 0.993 against 0.975 on XQuAD-R);
    ``pysbd`` has rules per language and is the one to use for a Hindi source (blingfire does
    not split at the danda). Measured per language: docs/segment.md."""

    PYSBD = "pysbd"
    BLINGFIRE = "blingfire"


@dataclass
class SegmentConfig:
    splitter: Splitter = Splitter.BLINGFIRE
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
            raise MtqaError("the blingfire splitter needs the blingfire package: pip install 'blingfire>=0.1.8' "
                           "(or choose segment.splitter: pysbd)") from None
        return blingfire

    def _splitter_boundaries(self, text: str) -> list[int]:
        if self.splitter is Splitter.BLINGFIRE:
            _, offsets = self._blingfire.text_to_sentences_and_offsets(text)
            return [start for start, _ in offsets[1:]]
        return [span.end for span in self._pysbd.segment(text)[:-1]]

    def boundaries(self, text: str) -> list[int]:
        """Sentence boundaries of ``text``, in time linear in its length (see the module)."""
        return self._boundaries(text)[0]

    def _boundaries(self, text: str) -> tuple[list[int], int]:
        """The boundaries, and how many of them are length cuts made on the linear path."""
        if len(text) <= LONG_TEXT_CHARS or self.splitter is Splitter.BLINGFIRE:
            return self._splitter_boundaries(text), 0
        cuts: list[int] = []
        forced = 0
        start = 0
        for match in [*_LINE_BREAKS.finditer(text), None]:
            end = match.start() if match else len(text)
            if end > start:
                block, block_forced = self._block_boundaries(text, start, end)
                cuts.extend(block)
                forced += block_forced
                if match:
                    cuts.append(end)
            if match:
                start = match.end()
        return cuts, forced

    def _block_boundaries(self, text: str, start: int, end: int) -> tuple[list[int], int]:
        """Boundaries inside ``text[start:end]`` (a block without line breaks), and how many
        are length cuts."""
        cuts: list[int] = []
        forced = 0
        while end - start > LONG_TEXT_CHARS:
            window = text[start : start + WINDOW_CHARS]
            found = [start + b for b in self._splitter_boundaries(window) if b <= WINDOW_CHARS - WINDOW_MARGIN]
            last = found[-1] if found else start
            if last - start < MAX_SEGMENT_CHARS // 2:
                # What follows ``last`` is one sentence of over MAX_SEGMENT_CHARS: cut it here as
                # the length cap would, so that every window moves on by at least half a
                # segment and the whole stays linear.
                found.append(_length_cut(text, last, MAX_SEGMENT_CHARS))
                forced += 1
            cuts.extend(found)
            start = found[-1]
        cuts.extend(start + b for b in self._splitter_boundaries(text[start:end]))
        return cuts, forced

    def segment(self, text: str) -> tuple[str, list[tuple[str, str]], int]:
        """``(lead, [(sentence, following whitespace)], segments cut for length)``."""
        boundaries, forced = self._boundaries(text)
        cuts, added = cap_segment_lengths(text, boundaries)
        lead, sentences = split_with_whitespace(text, cuts)
        return lead, sentences, forced + added

    def split(self, text: str) -> tuple[str, list[tuple[str, str]]]:
        lead, sentences, _ = self.segment(text)
        return lead, sentences


class SegmentStep(Step):
    """QA rows → segments (``SEGMENTS_SCHEMA``), one row per segment occurrence.

    A passage shared by several questions is split once but listed once per question: that
    listing is what a naive pipeline would translate, and the dedup stage counts the saving.
    Splits are kept across chunks too (the last :data:`SPLIT_CACHE_ENTRIES` passages), so a
    passage whose questions straddle two chunks, or that comes back later, is not split again.
    The counts stay per chunk: ``long_passages`` counts a chunk's distinct long passages
    whether or not an earlier chunk split them.
    """

    name = "segment"

    def __init__(self, config: SegmentConfig | None = None) -> None:
        super().__init__()
        self.config = config or SegmentConfig()
        self.splitter = SentenceSplitter(self.config.splitter, self.config.language)
        self._splits: OrderedDict[str, tuple[str, list[tuple[str, str]], int]] = OrderedDict()

    def split_passage(self, passage: str) -> tuple[str, list[tuple[str, str]], int]:
        """:meth:`SentenceSplitter.segment` of ``passage``, through the cross-chunk cache."""
        found = self._splits.get(passage)
        if found is not None:
            self._splits.move_to_end(passage)
            return found
        found = self.splitter.segment(passage)
        if len(passage) <= LONG_TEXT_CHARS:
            self._splits[passage] = found
            if len(self._splits) > SPLIT_CACHE_ENTRIES:
                self._splits.popitem(last=False)
        return found

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

        split_cache: dict[str, tuple[str, list[tuple[str, str]], int]] = {}
        qa = chunk.qa
        counts = {"question": 0, "passage": 0, "answer": 0}
        cut = long_passages = 0

        def whole(text: str) -> tuple[str, list[tuple[str, str]], int]:
            cuts, added = cap_segment_lengths(text, [])
            return (*split_with_whitespace(text, cuts), added)

        for row, (question, passage, answers) in enumerate(
            zip(qa.column("question").to_pylist(), qa.column("passage").to_pylist(), qa.column("answers").to_pylist())
        ):
            lead, sentences, added = whole(question)
            emit(row, "question", 0, lead, sentences)
            counts["question"] += len(sentences)
            if passage not in split_cache:
                split_cache[passage] = self.split_passage(passage)
                long_passages += len(passage) > LONG_TEXT_CHARS
            lead, sentences, passage_cut = split_cache[passage]
            emit(row, "passage", 0, lead, sentences)
            counts["passage"] += len(sentences)
            cut += added + passage_cut
            for part, answer in enumerate(answers or []):
                lead, sentences, added = whole(answer["text"])
                emit(row, "answer", part, lead, sentences)
                counts["answer"] += len(sentences)
                cut += added
        chunk.segments = pa.table(cols, schema=SEGMENTS_SCHEMA)
        self.stats.add(S.ROWS_IN, qa.num_rows)
        self.stats.add(S.SEGMENTS, chunk.segments.num_rows)
        self.stats.add(S.SEGMENTS_QUESTION, counts["question"])
        self.stats.add(S.SEGMENTS_PASSAGE, counts["passage"])
        self.stats.add(S.SEGMENTS_ANSWER, counts["answer"])
        if long_passages:
            self.stats.add(S.LONG_PASSAGES, long_passages)
        if cut:
            self.stats.add(S.CUT_SEGMENTS, cut)
        return chunk
