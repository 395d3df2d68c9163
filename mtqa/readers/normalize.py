"""Row normalisation shared by every reader: fields, answer spans, flags and ids.

A QA record is a dict with ``id`` (the original id or None), ``title``, ``question``,
``passage``, ``answers`` (``[{text, answer_start}]``) and ``is_impossible``; a reader turns
it into a row of ``mtqa.schema.QA_SCHEMA`` with :func:`row_id`. Bad values raise
:class:`~mtqa.errors.MtqaError` naming the field and ``where`` the row is.

Text that Python can hold but UTF-8 cannot encode: a JSON string may carry a lone surrogate
(``"\\ud83d"``, half of an emoji cut by a careless exporter), which Arrow refuses. The policy
is to **repair, not refuse**: every lone surrogate becomes U+FFFD (the replacement
character), in every text field and id (:func:`repair_text`, :func:`repair_record`); the
row is kept, and a reader that calls :func:`repair_record` counts it under
:data:`ROWS_REPAIRED`. A well-formed surrogate pair (``"\\ud83d\\ude00"``) is one character
by the time it reaches Python and is kept as it is.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from mtqa.errors import MtqaError

# Stat keys of the reader. Skipped Hub rows are counted under SKIPPED and skipped_key(reason).
SKIPPED = "skipped"
SKIP_EMPTY_QUESTION = "empty_question"
SKIP_EMPTY_PASSAGE = "empty_passage"
SKIP_NOT_POSITIVE = "not_positive"
SKIP_NO_SELECTED_PASSAGE = "no_selected_passage"
SKIP_ANSWER_NOT_FOUND = "answer_not_found"


#: Rows read with a lone surrogate in a text field, repaired to U+FFFD (see the module).
ROWS_REPAIRED = "rows_repaired"
#: Exact repeats of a row (same id, same content) dropped by the reader step.
SKIP_DUPLICATE_ID = "duplicate_id"

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def repair_text(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (the text itself when it has none)."""
    return _LONE_SURROGATE.sub("\ufffd", text) if _LONE_SURROGATE.search(text) else text


def repair_record(record: dict) -> bool:
    """Repair the text fields of a QA record in place (``id``, ``title``, ``question``,
    ``passage``, answer texts, and the same fields of each ``parallel`` translation); returns
    whether any held a lone surrogate."""
    repaired = False
    for item in [record, *[p for p in record.get("parallel") or [] if isinstance(p, dict)]]:
        for name in ("id", "title", "question", "passage"):
            value = item.get(name)
            if isinstance(value, str) and _LONE_SURROGATE.search(value):
                item[name] = repair_text(value)
                repaired = True
        for answer in item.get("answers") or []:
            text = answer.get("text") if isinstance(answer, dict) else None
            if isinstance(text, str) and _LONE_SURROGATE.search(text):
                answer["text"] = repair_text(text)
                repaired = True
    return repaired


def skipped_key(reason: str) -> str:
    """The stat key of rows skipped for one reason: ``skipped_{reason}``."""
    return f"{SKIPPED}_{reason}"


class SkipRow(Exception):
    """Raised by a Hub mapping function for a row that yields no QA pair (counted, not fatal)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- ids -----------------------------------------------------------------------------------


def short_hash(text: str, n: int = 12) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:n]


def pair_hash(question: str, passage: str) -> str:
    """The id of a row that has none: depends on its content only, not on its position."""
    return hashlib.sha1(f"{question}\n\x00{passage}".encode()).hexdigest()[:16]


def row_id(name: str, record: dict) -> str:
    """``f"{name}:{original id}"``, or ``f"{name}:{pair_hash}"`` without one; an id that
    already starts with ``f"{name}:"`` is kept, so QA rows written by mtqa and read back keep
    their ids."""
    original = record.get("id")
    original = None if original is None or original == "" else str(original)
    if original is not None and original.startswith(f"{name}:"):
        return original
    return f"{name}:{original or pair_hash(record['question'], record['passage'])}"


# -- answers ---------------------------------------------------------------------------------


def locate(passage: str, text: str, start: Any) -> int:
    """The char offset of ``text`` in ``passage``: ``start`` if it matches, else the first
    occurrence, else -1."""
    if isinstance(start, int) and not isinstance(start, bool) and start >= 0:
        if passage[start : start + len(text)] == text:
            return start
    return passage.find(text)


def answer_spans(passage: str, texts: list[str], starts: list[Any] | None = None) -> list[dict]:
    """Answers given as texts (and optional starts) as ``[{text, answer_start}]``, located in
    ``passage``; empty texts are dropped. For Hub mappers, whose rows are trusted in type."""
    starts = list(starts or [])
    starts += [None] * (len(texts) - len(starts))
    return [{"text": t, "answer_start": locate(passage, t, s)}
            for t, s in zip(texts, starts, strict=False) if t and t.strip()]


def answer_pairs(value: Any, where: str, field: str = "answers") -> list[tuple[str, Any]]:
    """The ``(text, start)`` pairs of answers given as ``[{text, answer_start}]``, ``{text:
    [...], answer_start: [...]}`` (the Hub's SQuAD layout), a list of strings or one string;
    starts are as given (None when absent) and empty texts are dropped."""
    pairs: list[tuple[Any, Any]]
    if value is None:
        return []
    if isinstance(value, str):
        pairs = [(value, None)]
    elif isinstance(value, dict) and "text" in value:
        texts, starts = value["text"], value.get("answer_start")
        if isinstance(texts, str):
            texts, starts = [texts], [starts]
        starts = list(starts) if isinstance(starts, list | tuple) else []
        pairs = list(zip(texts, starts + [None] * (len(texts) - len(starts)), strict=False))
    elif isinstance(value, list | tuple):
        pairs = []
        for item in value:
            if isinstance(item, str):
                pairs.append((item, None))
            elif isinstance(item, dict) and "text" in item:
                pairs.append((item["text"], item.get("answer_start", item.get("start"))))
            else:
                raise MtqaError(
                    f"{where}: field {field!r} must hold strings or {{text, answer_start}} "
                    f"objects, got {type(item).__name__}"
                )
    else:
        raise MtqaError(
            f"{where}: field {field!r} must be a list of {{text, answer_start}}, "
            f"got {type(value).__name__}"
        )
    for text, _ in pairs:
        if not isinstance(text, str):
            raise MtqaError(f"{where}: answer text must be a string, got {type(text).__name__}")
    return [(text, start) for text, start in pairs if text.strip()]


def parse_answers(value: Any, passage: str, where: str, field: str = "answers") -> list[dict]:
    """Answers in any layout :func:`answer_pairs` reads, each located in ``passage``."""
    return [{"text": text, "answer_start": locate(passage, text, start)}
            for text, start in answer_pairs(value, where, field)]


# -- fields ----------------------------------------------------------------------------------


def parse_flag(value: Any, where: str) -> bool:
    """``is_impossible``: absent is False; a bool, or 0/1."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise MtqaError(f"{where}: field 'is_impossible' must be true or false, got {value!r}")


def text_field(row: dict, names: tuple[str, ...], where: str) -> str:
    """The first of ``names`` that ``row`` holds, which must be a string."""
    for name in names:
        value = row.get(name)
        if value is not None:
            if not isinstance(value, str):
                raise MtqaError(f"{where}: field {name!r} must be a string, got {type(value).__name__}")
            return value
    raise MtqaError(f"{where}: missing field {names[0]!r}")


def normalize_row(row: dict, where: str) -> dict:
    """Map one row of the local-file layout to a QA record (without ``source``/``split``).

    Needs ``question`` and ``passage`` (or ``context``); reads optional ``id``, ``title``,
    ``answers`` (``[{text, answer_start}]``) or ``answer`` (a string or list of strings) and
    ``is_impossible``. Unanswerable rows get no answers.
    """
    question = text_field(row, ("question",), where)
    passage = text_field(row, ("passage", "context"), where)
    if row.get("answers") is not None:
        answers = parse_answers(row["answers"], passage, where)
    else:
        answers = parse_answers(row.get("answer"), passage, where, field="answer")
    impossible = parse_flag(row.get("is_impossible"), where)
    title = row.get("title")
    return {
        "id": row.get("id"),
        "title": None if title is None else str(title),
        "question": question,
        "passage": passage,
        "answers": [] if impossible else answers,
        "is_impossible": impossible,
    }
