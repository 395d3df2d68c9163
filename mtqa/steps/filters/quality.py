"""Scoring and language identification of translated rows: :class:`QualityFilter`.

:class:`QualityFilter` scores a table of long-format rows (``mtqa.schema.OUTPUT_SCHEMA``,
the source-language row of every id included) once into a :class:`RowScores`, runs the
configured checks on it, and adds the columns of ``mtqa.schema.FILTER_FIELDS`` (``keep``,
``filter_reasons`` and the scores). It needs nothing from a build, so it also runs on any
parallel data (``QualityFilter(config, langs).evaluate(table, passage_sentences)``).
Source-language rows are never failed. Translations the source gave (``origin`` human) are
judged like machine translations; what happens to them when they fail is the step's business
(``FilterConfig.human_mode``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow as pa

from mtqa.errors import MtqaError
from mtqa.lid import LanguageIdentifier, sentence_majority
from mtqa.schema import FILTER_FIELDS
from mtqa.steps.filters.base import RowScores, failed_reasons
from mtqa.steps.filters.checks import CHECKS, copy_similarity, is_unspaced, letters, repetition
from mtqa.steps.filters.config import REASONS, FilterConfig, Reason

#: The columns :meth:`QualityFilter.evaluate` needs.
REQUIRED_COLUMNS = ("id", "lang", "question", "passage", "answers", "is_impossible")
#: The score columns of ``FILTER_FIELDS`` (all but ``keep`` and ``filter_reasons``), taken from :class:`RowScores`.
SCORE_COLUMNS = tuple(f.name for f in FILTER_FIELDS if f.name not in ("keep", "filter_reasons"))


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


class QualityFilter:
    """Scores translated rows and decides which to keep.

    ``QualityFilter(config, langs, source_lang="en")``: ``langs`` are the build's languages
    (the language identifier's candidates, with the source language). :meth:`evaluate` takes
    a table with the columns ``id, lang, question, passage, answers, is_impossible`` that
    holds, for every id, the source-language row; it returns the table with the
    ``FILTER_FIELDS`` columns added (replaced if present). :meth:`score` gives the scores
    the checks read, without judging. Close it (or use ``with``) to stop the language
    identifier's worker processes.
    """

    def __init__(self, config: FilterConfig | None = None, langs: Sequence[str] = (), source_lang: str = "en"):
        self.config = config or FilterConfig()
        self.source_lang = source_lang
        self.langs = [lang for lang in dict.fromkeys(langs) if lang != source_lang]
        checked = set(self.config.checks)
        self.ratios = load_length_ratios(self.config.length_ratios) if Reason.LENGTH_RATIO in checked else {}
        self.checks = [CHECKS[Reason(reason)](self.config) for reason in REASONS if reason in checked]
        self._lid: LanguageIdentifier | None = None

    # -- language identification, created on first use ---------------------------------
    @property
    def lid(self) -> LanguageIdentifier:
        if self._lid is None:
            self._lid = LanguageIdentifier(self.config.lid, [*self.langs, self.source_lang])
        return self._lid

    def lid_supports(self, lang: str) -> bool:
        if Reason.WRONG_LANGUAGE not in self.config.checks or lang.startswith("x-"):
            return False
        return self.lid.supports(lang)

    def bounds(self, lang: str, kind: str) -> tuple[float, float]:
        """The length-ratio bounds of ``source_lang``-``lang`` for ``kind`` (question or passage)."""
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

    # -- judging -------------------------------------------------------------------------
    def evaluate(self, table: pa.Table, passage_sentences: Sequence[Sequence[str] | None] | None = None,
                 row_flags: Sequence[Sequence[str]] | None = None) -> pa.Table:
        """``table`` with ``keep``, ``filter_reasons`` and the score columns (``FILTER_FIELDS``,
        in that order, after the table's own columns).

        ``passage_sentences[i]``: the sentences of row ``i``'s passage, for the passage
        language ID (in a build, its translated segments, ``chunk.passage_sentences``).
        Without them (None, or a None entry) the passage is identified as one text, so its
        ``lid_passage_share`` is 0 or 1. ``row_flags[i]``: reasons found before the filter
        (``chunk.row_flags``: assemble's ``answer_span``), added to row ``i``'s own.
        """
        scores = self.score(table, passage_sentences)
        reasons = failed_reasons(self.checks, scores)
        if row_flags is not None:
            if len(row_flags) != table.num_rows:
                raise ValueError(f"row_flags has {len(row_flags)} entries for {table.num_rows} rows")
            reasons = [sorted({*own, *extra}) if extra else own for own, extra in zip(reasons, row_flags)]
        out = table.drop_columns([f.name for f in FILTER_FIELDS if f.name in table.column_names])
        out = out.append_column("keep", pa.array([not r for r in reasons], pa.bool_()))
        out = out.append_column("filter_reasons", pa.array(reasons, pa.list_(pa.string())))
        for name in SCORE_COLUMNS:
            out = out.append_column(name, getattr(scores, name))
        return out

    def score(self, table: pa.Table, passage_sentences: Sequence[Sequence[str] | None] | None = None) -> RowScores:
        """Every score and check input of every row, computed once (see :meth:`evaluate`)."""
        c = self.config
        n = table.num_rows
        for name in REQUIRED_COLUMNS:
            if name not in table.column_names:
                raise MtqaError(f"filter: the rows lack the column {name!r}")
        if passage_sentences is not None and len(passage_sentences) != n:
            raise ValueError(f"passage_sentences has {len(passage_sentences)} entries for {n} rows")
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
            "source_question_chars", "source_passage_chars", "question_ratio_min", "question_ratio_max",
            "passage_ratio_min", "passage_ratio_max", "answer_lost")}
        # A passage comes once per question on it: score each distinct text (pair) once.
        rep_memo: dict[tuple[str, bool], int] = {}
        copy_memo: dict[tuple[str, str], float] = {}
        letters_memo: dict[str, int] = {}

        def rep(text: str, lang: str) -> int:
            key = (text, is_unspaced(lang))
            if key not in rep_memo:
                rep_memo[key] = repetition(text, lang, c.repetition_max_ngram)
            return rep_memo[key]

        def letters_of(text: str) -> int:
            if text not in letters_memo:
                letters_memo[text] = letters(text)
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
            cols["source_question_chars"][i], cols["source_passage_chars"][i] = len(sq.strip()), len(sp.strip())
            for kind, t, st in (("question", q, sq), ("passage", p, sp)):
                if len(st) >= c.length_ratio_min_source_chars:
                    cols[f"{kind}_length_ratio"][i] = len(t) / len(st)
                    cols[f"{kind}_ratio_min"][i], cols[f"{kind}_ratio_max"][i] = self.bounds(lang, kind)
            sims = [sim(t, st) for t, st in ((q, sq), (p, sp)) if letters_of(st) >= c.copy_min_letters]
            cols["copy_similarity"][i] = max(sims) if sims else None
        answers = table.column("answers").to_pylist()
        impossible = table.column("is_impossible").to_pylist()
        for i in range(n):
            if translated[i] and answers[i] and not impossible[i]:
                cols["answer_lost"][i] = all(a["answer_start"] is None or a["answer_start"] < 0 for a in answers[i])

        lid_q, lid_q_prob, lid_share = self._identify(langs, translated, questions, passages, passage_sentences)
        f32, f64, i64 = pa.float32(), pa.float64(), pa.int64()
        return RowScores(
            lang=table.column("lang"),
            question=table.column("question"),
            passage=table.column("passage"),
            translated=np.asarray(translated, dtype=bool),
            lid_question=pa.array(lid_q, pa.string()),
            lid_question_prob=pa.array(lid_q_prob, f32),
            lid_passage_share=pa.array(lid_share, f32),
            question_length_ratio=pa.array(cols["question_length_ratio"], f32),
            passage_length_ratio=pa.array(cols["passage_length_ratio"], f32),
            repetition=pa.array(cols["repetition"], f32),
            copy_similarity=pa.array(cols["copy_similarity"], f32),
            source_question_chars=pa.array(cols["source_question_chars"], i64),
            source_passage_chars=pa.array(cols["source_passage_chars"], i64),
            question_ratio_min=pa.array(cols["question_ratio_min"], f64),
            question_ratio_max=pa.array(cols["question_ratio_max"], f64),
            passage_ratio_min=pa.array(cols["passage_ratio_min"], f64),
            passage_ratio_max=pa.array(cols["passage_ratio_max"], f64),
            answer_lost=pa.array(cols["answer_lost"], pa.bool_()),
        )

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
                sentences = [s for s in (given if given is not None else [passages[i]]) if s.strip()]
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
