"""Answer projection: keep extractive answers valid through translation (docs/projection.md).

- :mod:`mtqa.projection.markers`: mark the answer in its English sentence, and read the
  marked translation back (variants normalised, span accepted only inside the plain one);
- :mod:`mtqa.projection.fuzzy`: the fallback, the answer translated on its own found in the
  passage by exact, normalised or fuzzy matching near the projected position;
- :mod:`mtqa.projection.project`: :func:`project_answer`, the one entry point, and its
  :class:`ProjectionConfig`.
"""

from mtqa.projection.fuzzy import Match, find_span, normalise
from mtqa.projection.markers import (
    DEFAULT_MARKERS,
    MarkedSource,
    MarkedSpan,
    MarkerPair,
    accept,
    extract,
    mark,
    mark_answer,
)
from mtqa.projection.project import (
    MarkedTranslation,
    Method,
    Projection,
    ProjectionConfig,
    answer_sentence,
    project_answer,
    sentence_anchor,
)

__all__ = [
    "DEFAULT_MARKERS",
    "MarkedSource",
    "MarkedSpan",
    "MarkedTranslation",
    "MarkerPair",
    "Match",
    "Method",
    "Projection",
    "ProjectionConfig",
    "accept",
    "answer_sentence",
    "extract",
    "find_span",
    "mark",
    "mark_answer",
    "normalise",
    "project_answer",
    "sentence_anchor",
]
