"""Assemble: one long-format row per (id, language), from the source's own translations where
it has them and from the machine translations otherwise.

For every QA row the output has one row per language, the source language first and then the
target languages in the configured order, each with its ``origin`` (``mtqa.schema.Origin``):

- ``source``: the source-language row as read;
- ``human`` (or ``mt`` for rows read back from a build): the translation the source gave
  (``qa.parallel``), with its own question, passage and answer spans. Every span is checked
  (``passage[start:start + len(text)] == text``, :func:`mtqa.readers.spans.check_span`): one
  that does not index its passage is moved to the nearest occurrence of its text, or gets -1
  when the text does not occur, and the row is flagged ``answer_span`` for the filter
  (``chunk.row_flags``), as is an answerable row whose translation has no answer. No wrong
  span is written, and none is mended unseen;
- ``mt``: rebuilt from the translated segments with the original whitespace; each answer is
  projected into the translated passage (:func:`mtqa.projection.project_answer`,
  ``docs/projection.md``): by the markers of its marked sentence's translation (the ``marked``
  segments of :mod:`mtqa.steps.mark`), else by its own translation found exactly or fuzzily
  near the position of its English sentence's translation, else not at all (``answer_start``
  -1, the text as translated on its own: the quality filter decides what to do then). An
  emitted answer's text is always the passage's own substring at ``answer_start``. An answer
  the source does not locate (``answer_start`` -1 in English, free text) is not projected.

A language with neither (the source lacks the id, and the build translates nothing, as with
``--no-mt``) gets no row for that id. Every row keeps the source row's ``title`` (the article's
name in every language), ``is_impossible`` and ``passage_id``.

Counts (per language, ``stats.langs``): ``rows_source`` / ``rows_human`` / ``rows_mt`` (also in
total), ``ids_missing`` (ids the source has no translation of in that language, whether MT
filled them or not), and for translations given by the source ``answers_given``,
``spans_indexed``, ``spans_relocated``, ``spans_not_found``, ``answers_missing`` and
``rows_flagged_span``; for machine-translated rows ``answers_{method}`` (``answers_marker``,
``answers_exact``, ``answers_fuzzy``, ``answers_none``: :attr:`mtqa.projection.Method.stat_key`)
and ``answers_unlocated`` (answers the source does not locate, not projected); in total
``answers_unknown`` (source rows whose answers are unknown, ``is_impossible`` null).
:class:`mtqa.pipeline.manifest.Manifest` reads them back (``origin_counts()``,
``span_counts()``, ``projection_counts()``).
"""

from __future__ import annotations

import re
from collections import defaultdict

import pyarrow as pa

from mtqa.pipeline import stats as S
from mtqa.pipeline.step import Chunk, Step
from mtqa.projection import (
    MarkedTranslation,
    Method,
    Projection,
    ProjectionConfig,
    normalise,
    project_answer,
    sentence_anchor,
)
from mtqa.projection.fuzzy import Normalised
from mtqa.readers.spans import SpanCheck, check_span
from mtqa.schema import OUTPUT_SCHEMA, Origin, passage_id
from mtqa.steps.mark import MARKED_FIELD, marked_source, sentence_offsets

# Stat keys of this step (named in mtqa.pipeline.stats; see the module docstring).
IDS_MISSING = S.IDS_MISSING
ANSWERS_GIVEN = S.ANSWERS_GIVEN
SPANS_INDEXED = S.SPANS_INDEXED
SPANS_RELOCATED = S.SPANS_RELOCATED
SPANS_NOT_FOUND = S.SPANS_NOT_FOUND
ANSWERS_MISSING = S.ANSWERS_MISSING
ROWS_FLAGGED_SPAN = S.ROWS_FLAGGED_SPAN
ANSWERS_UNKNOWN = S.ANSWERS_UNKNOWN
ANSWERS_UNLOCATED = S.ANSWERS_UNLOCATED
SPAN_KEYS = {SpanCheck.INDEXED: SPANS_INDEXED, SpanCheck.RELOCATED: SPANS_RELOCATED,
             SpanCheck.NOT_FOUND: SPANS_NOT_FOUND}
#: The reason a row is flagged for when a given answer span did not index its passage, or an
#: answerable row's translation has no answer (in ``filter_reasons``).
ANSWER_SPAN = "answer_span"

# Sentence ends of the scripts XQuAD and MLQA use: the filter's passage language ID judges a
# given translation sentence by sentence (a Greek passage holding an English sentence).
_SENTENCE_END = re.compile(r"(?<=[.!?;؟।።])\s+|(?<=[。！？])")


def origin_key(origin: Origin | str) -> str:
    """The stat key of rows of one origin: ``rows_source``, ``rows_human``, ``rows_mt``."""
    return S.origin_key(Origin(origin).value)


def split_sentences(text: str) -> list[str]:
    """``text`` cut after sentence-final punctuation (a light, script-agnostic splitter for
    translations the source gave, which the segment step never sees)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


class AssembleStep(Step):
    """Gives ``chunk.output`` (``OUTPUT_SCHEMA``), ``chunk.passage_sentences`` and
    ``chunk.row_flags`` from ``chunk.qa``, ``chunk.segments`` and ``chunk.translations``.

    A target language is machine-translated where ``chunk.translations`` has it (the translate
    step ran for it); without a translate step only the given translations are written.
    ``projection`` is the projection config for the build's model
    (``ProjectionConfig.for_model``); the mark step must have had the same one.
    """

    name = "assemble"

    def __init__(self, langs: list[str], source_lang: str = "en", projection: ProjectionConfig | None = None) -> None:
        super().__init__()
        self.source_lang = source_lang
        self.target_langs = [lang for lang in langs if lang != source_lang]
        self.projection = projection if projection is not None else ProjectionConfig()

    def process(self, chunk: Chunk) -> Chunk:
        qa = chunk.qa.to_pydict()
        n = chunk.qa.num_rows
        parallel = qa.get("parallel") or [None] * n
        seg = chunk.segments.to_pydict() if chunk.segments is not None else {}
        # (row, field, part) -> [(uid, lead, sep)] in segment order; the segment stage
        # emits segments in order, so appending keeps it. The marked answer sentences are
        # kept apart, (row, answer index) -> (sentence index, uid): they are never joined
        # into a passage, a question or an answer.
        fields: dict[tuple[int, str, int], list[tuple[int, str, str]]] = defaultdict(list)
        marked: dict[tuple[int, int], tuple[int, int]] = {}
        for row, field, part, number, uid, lead, sep in zip(
            seg.get("row", []), seg.get("field", []), seg.get("part", []), seg.get("seg", []), seg.get("uid", []),
            seg.get("lead", []), seg.get("sep", [])
        ):
            if field == MARKED_FIELD:
                marked[(row, part)] = (number, uid)
            else:
                fields[(row, field, part)].append((uid, lead, sep))
        unique = chunk.unique or []
        # Translated passages are shared by a passage's questions: normalised once per text.
        norms: dict[str, Normalised] = {}

        def rebuild(key: tuple[int, str, int], translated: list[str]) -> str:
            pieces = fields.get(key, ())
            return "".join(lead + translated[uid] + sep for uid, lead, sep in pieces)

        out: dict[str, list] = {name: [] for name in OUTPUT_SCHEMA.names}
        # The filter's passage language ID judges a passage by its sentences.
        passage_sentences: list[list[str] | None] = []
        row_flags: list[list[str]] = []
        for row in range(n):
            pid = passage_id(qa["source"][row], qa["passage"][row])
            impossible = qa["is_impossible"][row]
            if impossible is None:
                self.stats.add(ANSWERS_UNKNOWN)
            given = {t["lang"]: t for t in parallel[row] or []}
            for lang in [self.source_lang, *self.target_langs]:
                flags: list[str] = []
                if lang == self.source_lang:
                    question, passage, answers = qa["question"][row], qa["passage"][row], qa["answers"][row]
                    origin, sentences = Origin.SOURCE, None
                elif lang in given:
                    item = given[lang]
                    question, passage = item["question"], item["passage"]
                    origin = Origin(item["origin"] or Origin.HUMAN)
                    answers = [] if impossible else self._checked(item["answers"] or [], passage, lang)
                    if any(a["answer_start"] != g["answer_start"] for a, g in zip(answers, item["answers"] or [])):
                        flags.append(ANSWER_SPAN)
                    elif impossible is False and qa["answers"][row] and not answers:
                        self.stats.add(ANSWERS_MISSING, lang=lang)
                        flags.append(ANSWER_SPAN)
                    if flags:
                        self.stats.add(ROWS_FLAGGED_SPAN, lang=lang)
                    sentences = split_sentences(passage)
                elif lang in chunk.translations:
                    translated = chunk.translations[lang]
                    pieces = fields.get((row, "passage", 0), ())
                    sentences = [translated[uid] for uid, _, _ in pieces]
                    question = rebuild((row, "question", 0), translated)
                    passage = rebuild((row, "passage", 0), translated)
                    english = sentence_offsets([(lead, unique[uid], sep) for uid, lead, sep in pieces])
                    plain = sentence_offsets([(lead, translated[uid], sep) for uid, lead, sep in pieces])
                    answers = []
                    for part, answer in enumerate(qa["answers"][row] or []):
                        text = rebuild((row, "answer", part), translated)
                        mark = marked.get((row, part))
                        projection = self._project(
                            answer, text, passage, english, plain, len(qa["passage"][row]),
                            None if mark is None else (mark[0], unique[mark[1]], translated[mark[1]]), norms, lang)
                        answers.append(projection.to_answer())
                    origin = Origin.MT
                else:
                    origin = None
                if lang != self.source_lang and lang not in given:
                    self.stats.add(IDS_MISSING, lang=lang)
                if origin is None:
                    continue
                self.stats.add(origin_key(origin))
                self.stats.add(origin_key(origin), lang=lang)
                passage_sentences.append(sentences)
                row_flags.append(flags)
                out["id"].append(qa["id"][row])
                out["lang"].append(lang)
                out["source"].append(qa["source"][row])
                out["split"].append(qa["split"][row])
                out["title"].append(qa["title"][row])
                out["question"].append(question)
                out["passage"].append(passage)
                out["answers"].append(answers)
                out["is_impossible"].append(impossible)
                out["passage_id"].append(pid)
                out["origin"].append(origin.value)
        chunk.output = pa.table(out, schema=OUTPUT_SCHEMA)
        chunk.passage_sentences = passage_sentences
        chunk.row_flags = row_flags
        self.stats.add(S.ROWS_IN, n)
        self.stats.add(S.ROWS_OUT, chunk.output.num_rows)
        return chunk

    def _project(
        self,
        answer: dict,
        translation: str,
        passage: str,
        english: list[tuple[int, str]],
        plain: list[tuple[int, str]],
        english_len: int,
        marked: tuple[int, str, str] | None,
        norms: dict[str, Normalised],
        lang: str,
    ) -> Projection:
        """One English ``answer`` in the translated ``passage`` (module docstring), counted.

        ``translation``: the answer translated on its own; ``english`` and ``plain``: the
        ``(offset, text)`` of the passage's English and translated sentences; ``marked``: the
        answer's marked segment as ``(sentence index, English text, translation)``, or None."""
        start = answer.get("answer_start")
        if start is None or start < 0:
            self.stats.add(ANSWERS_UNLOCATED, lang=lang)
            return Projection(translation, -1, Method.NONE)
        config = self.projection
        anchor = min(1.0, (start + len(answer["text"]) / 2) / english_len) if english_len else None
        marked_translation = None
        found = marked_source(english, answer, config)
        if found is not None and found[0] < len(plain):
            index, begin, end, source = found
            offset, sentence = plain[index]
            relative = source.relative if source is not None else (begin + end) / 2 / len(english[index][1])
            anchor = sentence_anchor(len(passage), offset, len(sentence), relative)
            # The marked text is recomputed; it must be the one that was translated.
            if source is not None and marked is not None and marked[:2] == (index, source.text):
                marked_translation = MarkedTranslation(source, marked[2], sentence, offset)
        if config.enabled and passage and passage not in norms:
            norms[passage] = normalise(passage)
        projection = project_answer(passage, translation, anchor=anchor, marked=marked_translation, config=config,
                                    passage_norm=norms.get(passage))
        if projection.start >= 0 and passage[projection.start : projection.end] != projection.text:
            projection = Projection(translation, -1, Method.NONE)  # never emit a span that does not match
        self.stats.add(projection.method.stat_key, lang=lang)
        return projection

    def _checked(self, answers: list[dict], passage: str, lang: str) -> list[dict]:
        """A translation's answers with every span checked against its passage (module docstring)."""
        out = []
        for answer in answers:
            start, found = check_span(passage, answer["text"], answer["answer_start"])
            self.stats.add(ANSWERS_GIVEN, lang=lang)
            self.stats.add(SPAN_KEYS[found], lang=lang)
            out.append({"text": answer["text"], "answer_start": start})
        return out
