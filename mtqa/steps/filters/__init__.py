"""The quality filter: language identification and quality checks of translated rows.

- :class:`FilterStep` (``step.py``): the build's filter step; counts, and drops or flags.
- :class:`QualityFilter` (``quality.py``): scores a table once and judges it; runs on any
  parallel data, not only inside a build.
- :class:`RowCheck`, :class:`RowScores` (``base.py``): the check template; a check declares
  a reason and its inputs and writes only its predicate.
- the seven checks and their score functions (``checks.py``).
- :class:`FilterConfig`, :class:`FilterMode`, :class:`Reason` (``config.py``).

See docs/filter.md.
"""

from mtqa.steps.filters.base import CheckInputs, RowCheck, RowScores, failed_reasons
from mtqa.steps.filters.checks import (
    CHECKS,
    AnswerLostCheck,
    CopyCheck,
    EmptyCheck,
    LengthRatioCheck,
    RepetitionCheck,
    TooShortCheck,
    WrongLanguageCheck,
    copy_similarity,
    repetition,
)
from mtqa.steps.filters.config import REASONS, FilterConfig, FilterMode, Reason
from mtqa.steps.filters.quality import QualityFilter, load_length_ratios
from mtqa.steps.filters.step import FilterStep

__all__ = [
    "CHECKS",
    "REASONS",
    "AnswerLostCheck",
    "CheckInputs",
    "CopyCheck",
    "EmptyCheck",
    "FilterConfig",
    "FilterMode",
    "FilterStep",
    "LengthRatioCheck",
    "QualityFilter",
    "Reason",
    "RepetitionCheck",
    "RowCheck",
    "RowScores",
    "TooShortCheck",
    "WrongLanguageCheck",
    "copy_similarity",
    "failed_reasons",
    "load_length_ratios",
    "repetition",
]
