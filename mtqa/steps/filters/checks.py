"""The seven checks and the per-text score functions behind them.

Each check is a :class:`~mtqa.steps.filters.base.RowCheck`: a reason, the
:class:`~mtqa.steps.filters.base.RowScores` fields it reads, and a column-wise predicate.
:data:`CHECKS` maps each :class:`~mtqa.steps.filters.config.Reason` to its check.
:func:`copy_similarity` and :func:`repetition` are the scores :class:`QualityFilter` computes
per distinct text; they work on plain strings and can be used on their own.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pyarrow.compute as pc

from mtqa.steps.filters.base import ArrowArray, CheckInputs, RowCheck
from mtqa.steps.filters.config import Reason

# Written without spaces between words: repetition counts characters, not words.
UNSPACED_LANGS = frozenset({"zh", "ja", "th", "lo", "km", "my", "bo"})
_WORD = re.compile(r"\w+")
_LETTER = re.compile(r"[^\W\d_]")
# Unspaced scripts: every character but punctuation and symbols is a token; a number, a
# Latin word or a run of whitespace is one token.
_CHAR_TOKEN = re.compile(r"\d+|[A-Za-z]+|\s+|\S")


# ---- scores of one text ------------------------------------------------------------------
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


def is_unspaced(lang: str) -> bool:
    """Whether ``lang`` is written without spaces between words (repetition counts characters)."""
    return lang.split("-")[0] in UNSPACED_LANGS


def repetition(text: str, lang: str, max_ngram: int = 4) -> int:
    """The most times one n-gram (n = 1..max_ngram words, or 2 * max_ngram characters for
    unspaced languages) repeats back to back: "a b a b a b" is 3, plain text is 1."""
    if is_unspaced(lang):
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


def letters(text: str) -> int:
    """How many letters ``text`` has (digits, punctuation and spaces left out)."""
    return len(_LETTER.findall(text))


# ---- the checks --------------------------------------------------------------------------
def _true(mask: ArrowArray) -> ArrowArray:
    return pc.fill_null(mask, False)


class EmptyCheck(RowCheck):
    """The translated question or passage is empty or only whitespace."""

    reason = Reason.EMPTY
    inputs = ("question", "passage")

    def failures(self, scores: CheckInputs) -> ArrowArray:
        def empty(text: ArrowArray) -> ArrowArray:
            return pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(text)), 0)

        return pc.or_(empty(scores.question), empty(scores.passage))


class TooShortCheck(RowCheck):
    """A non-empty question or passage of at most ``short_max_chars`` characters whose
    source has at least ``short_min_source_chars``."""

    reason = Reason.TOO_SHORT
    inputs = ("question", "passage", "source_question_chars", "source_passage_chars")

    def failures(self, scores: CheckInputs) -> ArrowArray:
        c = self.config

        def short(text: ArrowArray, source_chars: ArrowArray) -> ArrowArray:
            n = pc.utf8_length(pc.utf8_trim_whitespace(text))
            return pc.and_(pc.and_(pc.greater(n, 0), pc.less_equal(n, c.short_max_chars)),
                           pc.greater_equal(source_chars, c.short_min_source_chars))

        return pc.or_(_true(short(scores.question, scores.source_question_chars)),
                      _true(short(scores.passage, scores.source_passage_chars)))


class LengthRatioCheck(RowCheck):
    """Character-length ratio target/source of the question or passage outside the bounds
    of the language pair (null ratio: source too short to judge)."""

    reason = Reason.LENGTH_RATIO
    inputs = ("question_length_ratio", "question_ratio_min", "question_ratio_max",
              "passage_length_ratio", "passage_ratio_min", "passage_ratio_max")

    def failures(self, scores: CheckInputs) -> ArrowArray:
        def outside(ratio: ArrowArray, lo: ArrowArray, hi: ArrowArray) -> ArrowArray:
            return _true(pc.or_(pc.less(ratio, lo), pc.greater(ratio, hi)))

        return pc.or_(
            outside(scores.question_length_ratio, scores.question_ratio_min, scores.question_ratio_max),
            outside(scores.passage_length_ratio, scores.passage_ratio_min, scores.passage_ratio_max),
        )


class RepetitionCheck(RowCheck):
    """An n-gram repeated back to back ``repetition_max`` times or more (NMT hallucination)."""

    reason = Reason.REPETITION
    inputs = ("repetition",)

    def failures(self, scores: CheckInputs) -> ArrowArray:
        return pc.greater_equal(scores.repetition, float(self.config.repetition_max))


class CopyCheck(RowCheck):
    """The question or passage is the source (nearly) copied through."""

    reason = Reason.COPY
    inputs = ("copy_similarity",)

    def failures(self, scores: CheckInputs) -> ArrowArray:
        return pc.greater_equal(scores.copy_similarity, self.config.copy_threshold)


class WrongLanguageCheck(RowCheck):
    """The question is identified as another language with probability >= ``lid_min_prob``,
    or less than ``lid_min_share`` of the passage's characters are in target-language
    sentences. Rows whose language the identifier does not support have null scores."""

    reason = Reason.WRONG_LANGUAGE
    inputs = ("lang", "lid_question", "lid_question_prob", "lid_passage_share")

    def failures(self, scores: CheckInputs) -> ArrowArray:
        c = self.config
        label = scores.lid_question
        question = pc.and_(pc.and_(pc.not_equal(label, scores.lang), pc.not_equal(label, "")),
                           pc.greater_equal(scores.lid_question_prob, c.lid_min_prob))
        passage = pc.less(scores.lid_passage_share, c.lid_min_share)
        return pc.or_(_true(question), _true(passage))


class AnswerLostCheck(RowCheck):
    """An answerable extractive row none of whose translated answers occurs in the
    translated passage (every ``answer_start`` is -1)."""

    reason = Reason.ANSWER_LOST
    inputs = ("answer_lost",)

    def failures(self, scores: CheckInputs) -> ArrowArray:
        return scores.answer_lost


#: Every check, by its reason, in check order.
CHECKS: dict[Reason, type[RowCheck]] = {
    cls.reason: cls
    for cls in (EmptyCheck, TooShortCheck, LengthRatioCheck, RepetitionCheck, CopyCheck, WrongLanguageCheck,
                AnswerLostCheck)
}
