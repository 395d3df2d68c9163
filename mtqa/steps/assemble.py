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
  translated on its own and located in the translated passage (``answer_start`` -1 when it
  does not occur there verbatim: the quality filter decides what to do then).

A language with neither (the source lacks the id, and the build translates nothing, as with
``--no-mt``) gets no row for that id. Every row keeps the source row's ``title`` (the article's
name in every language), ``is_impossible`` and ``passage_id``.

Counts (per language, ``stats.langs``): ``rows_source`` / ``rows_human`` / ``rows_mt`` (also in
total), ``ids_missing`` (ids the source has no translation of in that language, whether MT
filled them or not), and for translations given by the source ``answers_given``,
``spans_indexed``, ``spans_relocated``, ``spans_not_found``, ``answers_missing`` and
``rows_flagged_span``; in total ``answers_unknown`` (source rows whose answers are unknown,
``is_impossible`` null). :class:`mtqa.pipeline.manifest.Manifest` reads them back
(``origin_counts()``, ``span_counts()``).
"""

from __future__ import annotations

import re
from collections import defaultdict

import pyarrow as pa

from mtqa.pipeline import stats as S
from mtqa.pipeline.step import Chunk, Step
from mtqa.readers.spans import SpanCheck, check_span
from mtqa.schema import OUTPUT_SCHEMA, Origin, passage_id

# Stat keys of this step (see the module docstring).
IDS_MISSING = "ids_missing"
ANSWERS_GIVEN = "answers_given"
SPANS_INDEXED = "spans_indexed"
SPANS_RELOCATED = "spans_relocated"
SPANS_NOT_FOUND = "spans_not_found"
ANSWERS_MISSING = "answers_missing"
ROWS_FLAGGED_SPAN = "rows_flagged_span"
ANSWERS_UNKNOWN = "answers_unknown"
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
    return f"rows_{Origin(origin).value}"


def split_sentences(text: str) -> list[str]:
    """``text`` cut after sentence-final punctuation (a light, script-agnostic splitter for
    translations the source gave, which the segment step never sees)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


class AssembleStep(Step):
    """Gives ``chunk.output`` (``OUTPUT_SCHEMA``), ``chunk.passage_sentences`` and
    ``chunk.row_flags`` from ``chunk.qa``, ``chunk.segments`` and ``chunk.translations``.

    A target language is machine-translated where ``chunk.translations`` has it (the translate
    step ran for it); without a translate step only the given translations are written.
    """

    name = "assemble"

    def __init__(self, langs: list[str], source_lang: str = "en") -> None:
        super().__init__()
        self.source_lang = source_lang
        self.target_langs = [lang for lang in langs if lang != source_lang]

    def process(self, chunk: Chunk) -> Chunk:
        qa = chunk.qa.to_pydict()
        n = chunk.qa.num_rows
        parallel = qa.get("parallel") or [None] * n
        seg = chunk.segments.to_pydict() if chunk.segments is not None else {}
        # (row, field, part) -> [(uid, lead, sep)] in segment order; the segment stage
        # emits segments in order, so appending keeps it.
        fields: dict[tuple[int, str, int], list[tuple[int, str, str]]] = defaultdict(list)
        for row, field, part, uid, lead, sep in zip(
            seg.get("row", []), seg.get("field", []), seg.get("part", []), seg.get("uid", []),
            seg.get("lead", []), seg.get("sep", [])
        ):
            fields[(row, field, part)].append((uid, lead, sep))

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
                    sentences = [translated[uid] for uid, _, _ in fields.get((row, "passage", 0), ())]
                    question = rebuild((row, "question", 0), translated)
                    passage = rebuild((row, "passage", 0), translated)
                    answers = []
                    for part in range(len(qa["answers"][row] or [])):
                        text = rebuild((row, "answer", part), translated)
                        answers.append({"text": text, "answer_start": passage.find(text) if text else -1})
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

    def _checked(self, answers: list[dict], passage: str, lang: str) -> list[dict]:
        """A translation's answers with every span checked against its passage (module docstring)."""
        out = []
        for answer in answers:
            start, found = check_span(passage, answer["text"], answer["answer_start"])
            self.stats.add(ANSWERS_GIVEN, lang=lang)
            self.stats.add(SPAN_KEYS[found], lang=lang)
            out.append({"text": answer["text"], "answer_start": start})
        return out
