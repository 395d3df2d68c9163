"""Answer spans of human translations: read as the source wrote them, then checked.

A source-language row's answers are located by :func:`mtqa.readers.normalize.locate` as they
are read. A translation's are not: :func:`given_answers` keeps each ``answer_start`` exactly as
given (-1 when there is none), so that assemble can check it with :func:`check_span` and count
the spans that do not index their passage instead of mending them unseen.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from mtqa.errors import MtqaError
from mtqa.readers.normalize import answer_pairs


class SpanCheck(str, Enum):
    """What :func:`check_span` found."""

    INDEXED = "indexed"  # passage[start:start + len(text)] == text
    RELOCATED = "relocated"  # not at its start, but the text occurs in the passage: moved to the nearest occurrence
    NOT_FOUND = "not_found"  # the text does not occur in the passage: start -1


def _start(value: Any, where: str) -> int:
    if value is None:
        return -1
    if isinstance(value, bool) or not isinstance(value, int):
        raise MtqaError(f"{where}: answer_start must be an integer, got {value!r}")
    return value


def given_answers(value: Any, where: str) -> list[dict]:
    """Answers in any of the layouts :func:`~mtqa.readers.normalize.answer_pairs` reads, with
    their starts unchecked (-1 when there is none); empty texts are dropped."""
    return [{"text": text, "answer_start": _start(start, where)} for text, start in answer_pairs(value, where)]


def check_span(passage: str, text: str, start: int | None) -> tuple[int, SpanCheck]:
    """The start to emit for an answer given at ``start``, and what the check found: the given
    start if it indexes ``passage``; else the occurrence of ``text`` nearest to it; else -1."""
    if start is not None and start >= 0 and passage[start : start + len(text)] == text:
        return start, SpanCheck.INDEXED
    found, at = -1, passage.find(text)
    target = start if start is not None and start >= 0 else 0
    while at >= 0:
        if found < 0 or abs(at - target) < abs(found - target):
            found = at
        at = passage.find(text, at + 1)
    return found, (SpanCheck.RELOCATED if found >= 0 else SpanCheck.NOT_FOUND)
