"""Filter: language identification and quality checks of the translated rows.

:class:`QualityFilter` scores a table of long-format rows (``mtqa.schema.OUTPUT_SCHEMA``,
the source-language row of every id included) and decides, per translated row, whether to
keep it and why not: it adds the columns of ``mtqa.schema.FILTER_FIELDS`` (``keep``,
``filter_reasons`` and the scores). It needs nothing from a build, so it also runs on any
parallel data (``QualityFilter(config, langs).evaluate(table, passage_sentences)``).

The template follows datatrove's filters: a check (:class:`RowCheck`) only declares a
``reason`` and a column-wise predicate over the scored table; :class:`FilterStage` is the
thin stage around :class:`QualityFilter` that counts rows, kept rows and failures per
reason and per language once, and either drops the failed rows into ``chunk.rejected``
(mode ``drop``: the writer puts them under ``OUT/rejected/``) or keeps them, flagged
(mode ``flag``). Source-language rows are never failed.
"""

from __future__ import annotations

import json
import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mtqa import stats as S
from mtqa.errors import MtqaError
from mtqa.lid import LanguageIdentifier, LidConfig, sentence_majority
from mtqa.schema import FILTER_FIELDS
from mtqa.stages.base import Chunk, PipelineStage

EMPTY = "empty"
TOO_SHORT = "too_short"
LENGTH_RATIO = "length_ratio"
REPETITION = "repetition"
COPY = "copy"
WRONG_LANGUAGE = "wrong_language"
ANSWER_LOST = "answer_lost"
REASONS = (EMPTY, TOO_SHORT, LENGTH_RATIO, REPETITION, COPY, WRONG_LANGUAGE, ANSWER_LOST)
MODES = ("drop", "flag")

# Written without spaces between words: repetition counts characters, not words.
UNSPACED_LANGS = frozenset({"zh", "ja", "th", "lo", "km", "my", "bo"})
_WORD = re.compile(r"\w+")
_LETTER = re.compile(r"[^\W\d_]")
# Unspaced scripts: every character but punctuation and symbols is a token; a number, a
# Latin word or a run of whitespace is one token.
_CHAR_TOKEN = re.compile(r"\d+|[A-Za-z]+|\s+|\S")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+")


@dataclass
class FilterConfig:
    """What the filter checks and what it does with rows that fail (docs/filter.md).

    ``mode``: ``"drop"`` writes failed rows to ``OUT/rejected/`` instead of ``OUT/data/``;
    ``"flag"`` writes every row to ``data/`` and readers use ``keep``. ``checks``: the
    reasons to check, any of :data:`REASONS`.
    """

    mode: str = "drop"
    checks: list[str] = field(default_factory=lambda: list(REASONS))
    short_max_chars: int = 2  # too_short: target of at most this many characters ...
    short_min_source_chars: int = 20  # ... while the source has at least this many
    length_ratios: str | None = None  # JSON table of bounds per pair; None = mtqa/data/length_ratios.json
    length_ratio_default: list[float] = field(default_factory=lambda: [0.25, 4.0])  # pairs not in the table
    length_ratio_min_source_chars: int = 20
    repetition_max: int = 4  # fail when one n-gram repeats this many times in a row
    repetition_max_ngram: int = 4  # words; characters for unspaced languages use twice as many
    copy_threshold: float = 0.9  # character-trigram similarity to the source
    copy_min_letters: int = 20  # only sources with at least this many letters can be copied
    lid_min_prob: float = 0.9  # question: another language identified with at least this probability
    lid_min_share: float = 0.5  # passage: share of characters in sentences in the target language
    lid: LidConfig = field(default_factory=LidConfig)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise MtqaError(f"filter.mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        unknown = [c for c in self.checks if c not in REASONS]
        if unknown:
            raise MtqaError(f"filter.checks: unknown check {unknown[0]!r} (known: {', '.join(REASONS)})")
        if len(self.length_ratio_default) != 2 or not 0 < self.length_ratio_default[0] < self.length_ratio_default[1]:
            raise MtqaError(f"filter.length_ratio_default must be [min, max] with 0 < min < max, got {self.length_ratio_default}")
        if not 0 < self.copy_threshold <= 1:
            raise MtqaError(f"filter.copy_threshold must be in (0, 1], got {self.copy_threshold}")
        if self.repetition_max < 2 or self.repetition_max_ngram < 1:
            raise MtqaError("filter.repetition_max must be >= 2 and filter.repetition_max_ngram >= 1")


def load_length_ratios(path: str | Path | None = None) -> dict[str, dict[str, tuple[float, float]]]:
    """``{"en-de": {"question": (min, max), "passage": (min, max)}}`` from a fitted table
    (``scripts/fit_length_ratios.py``); None reads the one shipped in the package."""
    try:
        if path is None:
            text = resources.files("mtqa").joinpath("data/length_ratios.json").read_text(encoding="utf-8")
        else:
            text = Path(path).read_text(encoding="utf-8")
        data = json.loads(text)
        return {
            pair: {kind: (float(b["min"]), float(b["max"])) for kind, b in bounds.items()}
            for pair, bounds in data["pairs"].items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise MtqaError(f"filter.length_ratios: cannot read {path or 'the packaged table'} ({e})") from None


# ---- scores ------------------------------------------------------------------------------
def _normal(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _trigrams(text: str) -> set[str]:
    return {text[i : i + 3] for i in range(len(text) - 2)} if len(text) >= 3 else {text}


def copy_similarity(target: str, source: str) -> float:
    """1.0 for a copy after normalisation (NFKC, case, whitespace); otherwise the Dice
    overlap of the two texts' character-trigram sets."""
    t, s = _normal(target), _normal(source)
    if t == s:
        return 1.0
    a, b = _trigrams(t), _trigrams(s)
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def repetition(text: str, lang: str, max_ngram: int = 4) -> int:
    """The most times one n-gram (n = 1..max_ngram words, or 2 * max_ngram characters for
    unspaced languages) repeats back to back: "a b a b a b" is 3, plain text is 1."""
    if lang.split("-")[0] in UNSPACED_LANGS:
        tokens = []
        for t in _CHAR_TOKEN.findall(text.casefold()):
            if t.isspace():
                if tokens and tokens[-1] != " ":
                    tokens.append(" ")
            elif len(t) > 1 or unicodedata.category(t)[0] not in "PS":
                tokens.append(t)
        max_ngram = 2 * max_ngram
    else:
        tokens = _WORD.findall(text.casefold())
    if len(tokens) < 2:
        return len(tokens)
    vocab: dict[str, int] = {}
    ids = np.fromiter((vocab.setdefault(t, len(vocab)) for t in tokens), dtype=np.int64, count=len(tokens))
    best = 1
    for n in range(1, min(max_ngram, len(ids) // 2) + 1):
        same = np.concatenate(([False], ids[:-n] == ids[n:], [False]))
        edges = np.flatnonzero(np.diff(same.astype(np.int8)))
        if len(edges):
            longest = int((edges[1::2] - edges[::2]).max())
            best = max(best, longest // n + 1)
    return best


def _letters(text: str) -> int:
    return len(_LETTER.findall(text))


def split_sentences(passage: str) -> list[str]:
    """A fallback sentence split (after . ! ? and their CJK forms) for passages given
    without their sentences."""
    return [s for s in _SENTENCE_END.split(passage) if s.strip()]


# ---- checks ------------------------------------------------------------------------------
def _col(table: pa.Table, name: str):
    return table.column(name)


def _true(mask) -> pa.ChunkedArray | pa.Array:
    return pc.fill_null(mask, False)


class RowCheck(ABC):
    """One quality check: a reason name and a column-wise predicate over the scored table."""

    reason: str

    def __init__(self, config: FilterConfig):
        self.config = config

    @abstractmethod
    def failures(self, table: pa.Table) -> pa.Array | pa.ChunkedArray:
        """True where the row fails this check (null counts as a pass)."""


class EmptyCheck(RowCheck):
    """The translated question or passage is empty or only whitespace."""

    reason = EMPTY

    def failures(self, table):
        def empty(column: str):
            return pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(_col(table, column))), 0)

        return pc.or_(empty("question"), empty("passage"))


class TooShortCheck(RowCheck):
    """A non-empty question or passage of at most ``short_max_chars`` characters whose
    source has at least ``short_min_source_chars``."""

    reason = TOO_SHORT

    def failures(self, table):
        c = self.config

        def short(column: str):
            n = pc.utf8_length(pc.utf8_trim_whitespace(_col(table, column)))
            src = _col(table, f"_source_{column}_chars")
            return pc.and_(pc.and_(pc.greater(n, 0), pc.less_equal(n, c.short_max_chars)),
                           pc.greater_equal(src, c.short_min_source_chars))

        return pc.or_(_true(short("question")), _true(short("passage")))


class LengthRatioCheck(RowCheck):
    """Character-length ratio target/source of the question or passage outside the bounds
    of the language pair (null ratio: source too short to judge)."""

    reason = LENGTH_RATIO

    def failures(self, table):
        out = None
        for kind in ("question", "passage"):
            ratio = _col(table, f"{kind}_length_ratio")
            bad = pc.or_(pc.less(ratio, _col(table, f"_{kind}_ratio_min")),
                         pc.greater(ratio, _col(table, f"_{kind}_ratio_max")))
            out = _true(bad) if out is None else pc.or_(out, _true(bad))
        return out


class RepetitionCheck(RowCheck):
    """An n-gram repeated back to back ``repetition_max`` times or more (NMT hallucination)."""

    reason = REPETITION

    def failures(self, table):
        return _true(pc.greater_equal(_col(table, "repetition"), float(self.config.repetition_max)))


class CopyCheck(RowCheck):
    """The question or passage is the source (nearly) copied through."""

    reason = COPY

    def failures(self, table):
        return _true(pc.greater_equal(_col(table, "copy_similarity"), self.config.copy_threshold))


class WrongLanguageCheck(RowCheck):
    """The question is identified as another language with probability >= ``lid_min_prob``,
    or less than ``lid_min_share`` of the passage's characters are in target-language
    sentences. Rows whose language the identifier does not support have null scores."""

    reason = WRONG_LANGUAGE

    def failures(self, table):
        c = self.config
        label = _col(table, "lid_question")
        question = pc.and_(pc.and_(pc.not_equal(label, _col(table, "lang")), pc.not_equal(label, "")),
                           pc.greater_equal(_col(table, "lid_question_prob"), c.lid_min_prob))
        passage = pc.less(_col(table, "lid_passage_share"), c.lid_min_share)
        return pc.or_(_true(question), _true(passage))


class AnswerLostCheck(RowCheck):
    """An answerable extractive row none of whose translated answers occurs in the
    translated passage (every ``answer_start`` is -1)."""

    reason = ANSWER_LOST

    def failures(self, table):
        return _true(_col(table, "_answer_lost"))


CHECKS: dict[str, type[RowCheck]] = {
    cls.reason: cls
    for cls in (EmptyCheck, TooShortCheck, LengthRatioCheck, RepetitionCheck, CopyCheck, WrongLanguageCheck, AnswerLostCheck)
}


# ---- the filter --------------------------------------------------------------------------
class QualityFilter:
    """Scores translated rows and decides which to keep.

    ``QualityFilter(config, langs, source_lang="en")``: ``langs`` are the build's languages
    (the language identifier's candidates, with the source language). :meth:`evaluate` takes
    a table with the columns ``id, lang, question, passage, answers, is_impossible`` that
    holds, for every id, the source-language row; it returns the table with the
    ``FILTER_FIELDS`` columns added (replaced if present). Close it (or use ``with``) to
    stop the language identifier's worker processes.
    """

    def __init__(self, config: FilterConfig | None = None, langs: Sequence[str] = (), source_lang: str = "en"):
        self.config = config or FilterConfig()
        self.source_lang = source_lang
        self.langs = [lang for lang in dict.fromkeys(langs) if lang != source_lang]
        self.ratios = load_length_ratios(self.config.length_ratios) if LENGTH_RATIO in self.config.checks else {}
        self.checks = [CHECKS[reason](self.config) for reason in REASONS if reason in self.config.checks]
        self._lid: LanguageIdentifier | None = None

    # -- language identification, created on first use ---------------------------------
    @property
    def lid(self) -> LanguageIdentifier:
        if self._lid is None:
            self._lid = LanguageIdentifier(self.config.lid, [*self.langs, self.source_lang])
        return self._lid

    def lid_supports(self, lang: str) -> bool:
        if WRONG_LANGUAGE not in self.config.checks or lang.startswith("x-"):
            return False
        return self.lid.supports(lang)

    def bounds(self, lang: str, kind: str) -> tuple[float, float]:
        pair = self.ratios.get(f"{self.source_lang}-{lang}")
        if pair is not None and kind in pair:
            return pair[kind]
        lo, hi = self.config.length_ratio_default
        return float(lo), float(hi)

    def close(self) -> None:
        if self._lid is not None:
            self._lid.close()

    def __enter__(self) -> QualityFilter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- scoring -------------------------------------------------------------------------
    def evaluate(self, table: pa.Table, passage_sentences: Sequence[Sequence[str] | None] | None = None) -> pa.Table:
        """``table`` with ``keep``, ``filter_reasons`` and the score columns.

        ``passage_sentences[i]``: the sentences of row ``i``'s passage for the passage LID
        (None, or a None entry: the passage is split at sentence punctuation).
        """
        c = self.config
        n = table.num_rows
        for name in ("id", "lang", "question", "passage", "answers", "is_impossible"):
            if name not in table.column_names:
                raise MtqaError(f"filter: the rows lack the column {name!r}")
        ids = table.column("id").to_pylist()
        langs = table.column("lang").to_pylist()
        questions = [q or "" for q in table.column("question").to_pylist()]
        passages = [p or "" for p in table.column("passage").to_pylist()]
        source_row: dict[str, int] = {}
        for i, (id_, lang) in enumerate(zip(ids, langs)):
            if lang == self.source_lang:
                source_row.setdefault(id_, i)
        translated = [lang != self.source_lang for lang in langs]
        src = [source_row.get(id_) if t else None for id_, t in zip(ids, translated)]

        cols: dict[str, list] = {name: [None] * n for name in (
            "question_length_ratio", "passage_length_ratio", "repetition", "copy_similarity",
            "_source_question_chars", "_source_passage_chars", "_question_ratio_min", "_question_ratio_max",
            "_passage_ratio_min", "_passage_ratio_max", "_answer_lost")}
        min_ratio_src = c.length_ratio_min_source_chars
        # A passage comes once per question on it: score each distinct text (pair) once.
        rep_memo: dict[tuple[str, bool], int] = {}
        copy_memo: dict[tuple[str, str], float] = {}
        letters_memo: dict[str, int] = {}

        def rep(text: str, lang: str) -> int:
            key = (text, lang.split("-")[0] in UNSPACED_LANGS)
            if key not in rep_memo:
                rep_memo[key] = repetition(text, lang, c.repetition_max_ngram)
            return rep_memo[key]

        def letters(text: str) -> int:
            if text not in letters_memo:
                letters_memo[text] = _letters(text)
            return letters_memo[text]

        def sim(target: str, source: str) -> float:
            key = (target, source)
            if key not in copy_memo:
                copy_memo[key] = copy_similarity(target, source)
            return copy_memo[key]

        for i in range(n):
            if not translated[i]:
                continue
            lang, q, p = langs[i], questions[i], passages[i]
            cols["repetition"][i] = float(max(rep(q, lang), rep(p, lang)))
            s = src[i]
            if s is None:
                continue
            sq, sp = questions[s], passages[s]
            cols["_source_question_chars"][i], cols["_source_passage_chars"][i] = len(sq.strip()), len(sp.strip())
            for kind, t, st in (("question", q, sq), ("passage", p, sp)):
                if len(st) >= min_ratio_src:
                    cols[f"{kind}_length_ratio"][i] = len(t) / len(st)
                    cols[f"_{kind}_ratio_min"][i], cols[f"_{kind}_ratio_max"][i] = self.bounds(lang, kind)
            sims = [sim(t, st) for t, st in ((q, sq), (p, sp)) if letters(st) >= c.copy_min_letters]
            cols["copy_similarity"][i] = max(sims) if sims else None
        answers = table.column("answers").to_pylist()
        impossible = table.column("is_impossible").to_pylist()
        for i in range(n):
            if translated[i] and answers[i] and not impossible[i]:
                cols["_answer_lost"][i] = all(a["answer_start"] is None or a["answer_start"] < 0 for a in answers[i])

        lid_q, lid_q_prob, lid_share = self._identify(langs, translated, questions, passages, passage_sentences)

        scored = table
        for name in [f.name for f in FILTER_FIELDS]:
            if name in scored.column_names:
                scored = scored.drop_columns([name])
        f32 = pa.float32()
        scores = {
            "lid_question": pa.array(lid_q, pa.string()),
            "lid_question_prob": pa.array(lid_q_prob, f32),
            "lid_passage_share": pa.array(lid_share, f32),
            "question_length_ratio": pa.array(cols["question_length_ratio"], f32),
            "passage_length_ratio": pa.array(cols["passage_length_ratio"], f32),
            "repetition": pa.array(cols["repetition"], f32),
            "copy_similarity": pa.array(cols["copy_similarity"], f32),
        }
        helpers = {name: pa.array(values, pa.bool_() if name == "_answer_lost" else pa.float64())
                   for name, values in cols.items() if name.startswith("_")}
        work = scored
        for name, array in {**scores, **helpers}.items():
            work = work.append_column(name, array)
        is_translated = pa.array(translated)
        reasons: list[list[str]] = [[] for _ in range(n)]
        for check in self.checks:
            failed = pc.and_(_true(check.failures(work)), is_translated)
            for i in np.flatnonzero(np.asarray(failed.to_numpy(zero_copy_only=False), dtype=bool)).tolist():
                reasons[i].append(check.reason)
        reasons = [sorted(r) for r in reasons]
        out = scored.append_column("keep", pa.array([not r for r in reasons], pa.bool_()))
        out = out.append_column("filter_reasons", pa.array(reasons, pa.list_(pa.string())))
        for name, array in scores.items():
            out = out.append_column(name, array)
        return out

    def _identify(self, langs, translated, questions, passages, passage_sentences):
        n = len(langs)
        lid_q: list[str | None] = [None] * n
        lid_q_prob: list[float | None] = [None] * n
        lid_share: list[float | None] = [None] * n
        rows = [i for i in range(n) if translated[i] and self.lid_supports(langs[i])]
        if not rows:
            return lid_q, lid_q_prob, lid_share
        # Every distinct text is identified once: a passage's questions share its sentences.
        texts: dict[str, int] = {}
        for i in rows:
            texts.setdefault(questions[i], len(texts))
        passage_groups: dict[tuple[str, str], list[str]] = {}
        for i in rows:
            key = (passages[i], langs[i])
            if key not in passage_groups:
                given = passage_sentences[i] if passage_sentences is not None else None
                sentences = [s for s in (given if given is not None else split_sentences(passages[i])) if s.strip()]
                passage_groups[key] = sentences
                for s in sentences:
                    texts.setdefault(s, len(texts))
        labels, probs = self.lid.classify(list(texts))
        keys = list(passage_groups)
        sentence_labels, sentence_lengths, groups = [], [], []
        for key in keys:
            sentences = passage_groups[key]
            groups.append(len(sentences))
            for s in sentences:
                sentence_labels.append(labels[texts[s]])
                sentence_lengths.append(len(s.strip()))
        shares = sentence_majority(sentence_labels, sentence_lengths, groups, [lang for _, lang in keys])
        share_of = {key: float(v) for key, v in zip(keys, shares)}
        for i in rows:
            k = texts[questions[i]]
            lid_q[i], lid_q_prob[i] = labels[k], float(probs[k])
            lid_share[i] = share_of[(passages[i], langs[i])] if passage_groups[(passages[i], langs[i])] else None
        return lid_q, lid_q_prob, lid_share


# ---- the stage ---------------------------------------------------------------------------
class FilterStage(PipelineStage):
    """Runs :class:`QualityFilter` on each chunk's rows and counts what it found.

    Counts (``mtqa.stats``): ``rows:{lang}``, ``kept:{lang}``, ``failed_{reason}`` and
    ``failed_{reason}:{lang}`` (a row failing two checks counts under both), and
    ``rows_in`` / ``rows_out`` (rows passed on to ``OUT/data/``).
    """

    name = "filter"

    def __init__(self, config: FilterConfig | None = None, source_lang: str = "en", langs: Sequence[str] = ()):
        super().__init__()
        self.config = config or FilterConfig()
        self.source_lang = source_lang
        self.quality = QualityFilter(self.config, langs, source_lang)

    def _passage_sentences(self, chunk: Chunk, table: pa.Table) -> list[list[str] | None] | None:
        """Each row's passage as its translated sentences, from the chunk's segments."""
        if chunk.segments is None or chunk.qa is None or "uid" not in chunk.segments.column_names:
            return None
        seg = chunk.segments.select(["row", "field", "part", "uid"]).to_pydict()
        uids_of_row: dict[int, list[int]] = {}
        for row, fld, part, uid in zip(seg["row"], seg["field"], seg["part"], seg["uid"]):
            if fld == "passage" and part == 0:
                uids_of_row.setdefault(row, []).append(uid)
        qa_row: dict[str, int] = {}
        for r, id_ in enumerate(chunk.qa.column("id").to_pylist()):
            qa_row.setdefault(id_, r)
        out: list[list[str] | None] = []
        for id_, lang in zip(table.column("id").to_pylist(), table.column("lang").to_pylist()):
            translated = chunk.translations.get(lang)
            r = qa_row.get(id_)
            if translated is None or r is None or r not in uids_of_row:
                out.append(None)
            else:
                out.append([translated[u] for u in uids_of_row[r]])
        return out

    def process(self, chunk: Chunk) -> Chunk:
        table = self.quality.evaluate(chunk.output, self._passage_sentences(chunk, chunk.output))
        self.stats.add(S.ROWS_IN, table.num_rows)
        langs = table.column("lang").to_pylist()
        keep = table.column("keep").to_pylist()
        for lang, kept, reasons in zip(langs, keep, table.column("filter_reasons").to_pylist()):
            self.stats.add(S.per_lang(S.ROWS, lang))
            if kept:
                self.stats.add(S.per_lang(S.KEPT, lang))
                self.stats.add(S.KEPT)
            else:
                self.stats.add(S.FAILED)
            for reason in reasons:
                self.stats.add(S.failed_key(reason))
                self.stats.add(S.failed_key(reason, lang))
        if self.config.mode == "drop":
            mask = table.column("keep")
            chunk.rejected = table.filter(pc.invert(mask))
            chunk.output = table.filter(mask)
        else:
            chunk.output = table
        self.stats.add(S.ROWS_OUT, chunk.output.num_rows)
        return chunk

    def close(self) -> None:
        self.quality.close()
