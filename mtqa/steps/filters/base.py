"""The check template: what a check declares, what it may read, and how its verdicts combine.

A check (:class:`RowCheck`) writes only its predicate. It names a ``reason`` and the fields
of :class:`RowScores` it reads (``inputs``), and :meth:`RowCheck.failures` gets a view that
holds those fields and nothing else, so a check cannot come to depend on a value it does
not declare. :func:`failed_reasons` runs the checks once per table: only translated rows
can fail, a null verdict is a pass, and each row gets its reasons sorted. Counting and the
rejected output live once, in :class:`mtqa.steps.filters.FilterStep`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mtqa.steps.filters.config import FilterConfig, Reason

ArrowArray = pa.Array | pa.ChunkedArray


@dataclass(slots=True)
class RowScores:
    """Everything a check may read, one array per field, aligned with the rows of the table
    being filtered; computed once per table by :meth:`QualityFilter.score`.

    Null means "not judged": a source-language row, a source too short for the score, a
    language the identifier does not support. The seven fields named like columns of
    ``mtqa.schema.FILTER_FIELDS`` are written to the shards as they are (same names, same
    types); the others exist only for the checks.
    """

    # The rows as given.
    lang: ArrowArray  # string
    question: ArrowArray  # string
    passage: ArrowArray  # string
    translated: np.ndarray  # bool: not the source language; only these rows can fail
    # Written to the shards (mtqa.schema.FILTER_FIELDS).
    lid_question: pa.Array  # string: the question's identified language
    lid_question_prob: pa.Array  # float32
    lid_passage_share: pa.Array  # float32: share of passage characters in target-language sentences
    question_length_ratio: pa.Array  # float32: characters, target / source
    passage_length_ratio: pa.Array  # float32
    repetition: pa.Array  # float32: most back-to-back repeats of one n-gram, question or passage
    copy_similarity: pa.Array  # float32: similarity to the source, the larger of question and passage
    # For the checks only.
    source_question_chars: pa.Array  # int64: the source row's question, stripped, in characters
    source_passage_chars: pa.Array  # int64
    question_ratio_min: pa.Array  # float64: the language pair's bounds, where the ratio is judged
    question_ratio_max: pa.Array  # float64
    passage_ratio_min: pa.Array  # float64
    passage_ratio_max: pa.Array  # float64
    answer_lost: pa.Array  # bool: answerable, has answers, and none occurs in the passage


#: The names a check may declare in ``inputs``.
SCORE_FIELDS: frozenset[str] = frozenset(f.name for f in fields(RowScores))


class CheckInputs:
    """The fields of a :class:`RowScores` that one check declared, as attributes; reading any
    other field raises ``AttributeError`` naming the check."""

    __slots__ = ("_values", "_owner")

    def __init__(self, scores: RowScores, names: Sequence[str], owner: str) -> None:
        self._values = {name: getattr(scores, name) for name in names}
        self._owner = owner

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            declared = ", ".join(self._values) or "none"
            raise AttributeError(f"{self._owner} reads {name!r}, which is not among its inputs ({declared})") from None


class RowCheck(ABC):
    """One quality check. A subclass sets ``reason`` (a :class:`Reason`) and ``inputs`` (the
    :class:`RowScores` fields it reads) and implements :meth:`failures`; nothing else.

    ``inputs`` are checked when the subclass is defined: naming a field that
    :class:`RowScores` lacks is a ``TypeError`` at import time.
    """

    reason: ClassVar[Reason]
    inputs: ClassVar[tuple[str, ...]]

    def __init__(self, config: FilterConfig) -> None:
        self.config = config

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        unknown = [name for name in getattr(cls, "inputs", ()) if name not in SCORE_FIELDS]
        if unknown:
            raise TypeError(f"{cls.__name__}.inputs names {unknown}, which RowScores does not have")

    @abstractmethod
    def failures(self, scores: CheckInputs) -> ArrowArray:
        """True where the row fails this check; null counts as a pass. ``scores`` holds only
        the fields named in ``inputs``."""


def failed_reasons(checks: Sequence[RowCheck], scores: RowScores) -> list[list[str]]:
    """Each row's failed reasons (plain strings, sorted; empty: kept). Every check sees only
    its declared inputs; source-language rows never fail."""
    n = len(scores.translated)
    reasons: list[list[str]] = [[] for _ in range(n)]
    for check in checks:
        verdict = check.failures(CheckInputs(scores, check.inputs, type(check).__name__))
        failed = np.asarray(pc.fill_null(verdict, False).to_numpy(zero_copy_only=False), dtype=bool)
        if failed.shape != (n,):
            raise ValueError(f"{type(check).__name__}.failures gave {failed.size} verdicts for {n} rows")
        for i in np.flatnonzero(failed & scores.translated).tolist():
            reasons[i].append(check.reason.value)
    return [sorted(r) for r in reasons]
