"""Mark: each answer's English sentence once more, with the answer wrapped in markers.

The marker method of answer projection (``docs/projection.md``, EasyProject): the sentence
that holds an answer is translated a second time as ``... [answer span] ...``, and the markers
of that translation say where the answer went. This step only adds those marked sentences to
``chunk.segments``, one row per answer, so dedup, the translation cache and the translate step
treat them as any other text; the assemble step reads their translations back.

A marked segment has ``field`` ``"marked"``, ``part`` the answer's index, ``seg`` the index of
the passage sentence that holds the answer, ``text`` that sentence with the answer marked
(:func:`mtqa.projection.mark_answer`), and empty ``lead`` and ``sep`` (it is never joined
into a passage). Only answers the source locates (``answer_start >= 0``) and that lie inside
one sentence are marked; nothing is marked when projection or its markers are off for the
model, when the build has no target language, and for a row the source translated itself
into every target language (its translations carry their own spans).

Counts: ``segments_marked`` (marked segments added, before dedup) and ``answers_unmarked``
(located answers that could not be marked: across a sentence boundary, or every marker pair
already occurs in the sentence).
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa

from mtqa.pipeline import stats as S
from mtqa.pipeline.step import Chunk, Step
from mtqa.projection import MarkedSource, ProjectionConfig, answer_sentence, mark_answer

#: The ``field`` of a marked answer sentence in ``chunk.segments``.
MARKED_FIELD = "marked"
# Stat key of this step (beside mtqa.pipeline.stats').
ANSWERS_UNMARKED = S.ANSWERS_UNMARKED

__all__ = ["ANSWERS_UNMARKED", "MARKED_FIELD", "MarkAnswersStep", "marked_source", "sentence_offsets"]


def sentence_offsets(pieces: Sequence[tuple[str, str, str]]) -> list[tuple[int, str]]:
    """``(offset, text)`` of each sentence of a field rebuilt as ``lead + text + sep`` over its
    ``pieces`` (``[(lead, text, sep), ...]``, in order), as
    :func:`mtqa.projection.answer_sentence` wants them. The same for a translated field, with
    the translated texts: translations keep the sentences and the whitespace between them."""
    out = []
    offset = 0
    for lead, text, sep in pieces:
        offset += len(lead)
        out.append((offset, text))
        offset += len(text) + len(sep)
    return out


def marked_source(
    sentences: Sequence[tuple[int, str]], answer: dict, config: ProjectionConfig
) -> tuple[int, int, int, MarkedSource | None] | None:
    """Where ``answer`` (``{text, answer_start}``) lies in the English ``sentences``:
    ``(sentence index, start, end, marked source)``, the marked source None when markers are off
    or no pair is free; None when the answer is not located or crosses a sentence boundary.

    The mark step and the assemble step both call this, so the marked text the translate step
    saw is recomputed exactly, not stored."""
    start = answer.get("answer_start")
    text = answer.get("text") or ""
    if start is None or start < 0:
        return None
    found = answer_sentence(sentences, start, text)
    if found is None:
        return None
    index, begin, end = found
    source = None
    if config.enabled and config.markers:
        source = mark_answer(sentences[index][1], begin, end, config.marker_pairs)
    return index, begin, end, source


class MarkAnswersStep(Step):
    """Adds a ``marked`` segment per located answer to ``chunk.segments`` (module docstring).

    Needs ``chunk.segments`` from the segment step (before dedup, which gives them their
    ``uid``); ``config`` is the projection config for the build's model
    (``ProjectionConfig.for_model``), ``langs`` the build's languages.
    """

    name = "mark"

    def __init__(self, config: ProjectionConfig | None = None, langs: Sequence[str] = (),
                 source_lang: str = "en") -> None:
        super().__init__()
        self.config = config if config is not None else ProjectionConfig()
        self.target_langs = [lang for lang in dict.fromkeys(langs) if lang != source_lang]

    def process(self, chunk: Chunk) -> Chunk:
        if not (self.config.enabled and self.config.markers and self.target_langs) or chunk.segments is None:
            self.stats.add(S.SEGMENTS_MARKED, 0)
            return chunk
        if "uid" in chunk.segments.column_names:
            raise ValueError("the mark step runs before dedup: its marked sentences need uids too")
        seg = chunk.segments.to_pydict()
        passages: dict[int, list[tuple[str, str, str]]] = {}
        for row, field, text, lead, sep in zip(seg["row"], seg["field"], seg["text"], seg["lead"], seg["sep"]):
            if field == "passage":
                passages.setdefault(row, []).append((lead, text, sep))
        answers = chunk.qa.column("answers").to_pylist()
        covered = self._covered_rows(chunk)
        added: dict[str, list] = {name: [] for name in chunk.segments.schema.names}
        offsets_of: dict[tuple, list[tuple[int, str]]] = {}
        unmarked = 0
        for row, row_answers in enumerate(answers):
            if not row_answers or row in covered:
                continue
            pieces = tuple(passages.get(row, ()))
            if pieces not in offsets_of:
                offsets_of[pieces] = sentence_offsets(pieces)
            sentences = offsets_of[pieces]
            for part, answer in enumerate(row_answers):
                if answer.get("answer_start") is None or answer["answer_start"] < 0:
                    continue
                found = marked_source(sentences, answer, self.config)
                if found is None or found[3] is None:
                    unmarked += 1
                    continue
                for name, value in (("row", row), ("field", MARKED_FIELD), ("part", part), ("seg", found[0]),
                                    ("text", found[3].text), ("lead", ""), ("sep", "")):
                    added[name].append(value)
        if added["row"]:
            chunk.segments = pa.concat_tables(
                [chunk.segments, pa.table(added, schema=chunk.segments.schema)]).combine_chunks()
        self.stats.add(S.SEGMENTS_MARKED, len(added["row"]))
        if unmarked:
            self.stats.add(ANSWERS_UNMARKED, unmarked)
        return chunk

    def _covered_rows(self, chunk: Chunk) -> set[int]:
        """Rows the source translated into every target language: none of them is machine
        translated, so nothing of theirs needs marking."""
        if "parallel" not in chunk.qa.column_names:
            return set()
        wanted = set(self.target_langs)
        return {row for row, items in enumerate(chunk.qa.column("parallel").to_pylist())
                if items and wanted <= {t["lang"] for t in items}}
