"""Formats users hit that are not the local-file layout: TyDi QA, MKQA, Natural Questions open.

- **TyDi QA** (primary task, ``tydiqa-v1.0-dev.jsonl.gz``): ``question_text`` and the whole
  ``document_plaintext``, passages given as byte offsets (``passage_answer_candidates``) and
  answers as byte offsets too (``annotations``). :class:`TydiSource` reads it: the passage of
  a question is the candidate its first annotation marks (``passage_answer.candidate_index``),
  decoded from the UTF-8 bytes; its answers are the minimal answers marked in that candidate,
  as character offsets into it. Questions no annotation gives a passage for are skipped
  (``skipped_no_passage_answer``); yes/no questions have no span (``answers`` empty). TyDi QA
  is not parallel: each question is in one ``language``, and only the source language's are
  read (the others are counted, ``skipped_other_language``). TyDi's GoldP task is SQuAD JSON
  and reads as any SQuAD file.
- **MKQA** (``mkqa.jsonl.gz``: ``query``, ``queries`` and ``answers`` per language) and
  **Natural Questions open** (``NQ-open.dev.jsonl``: ``question``, ``answer``) have no
  passages, so a build refuses them with one line that says so and names the fields found.
  :func:`read_parallel_queries` reads them as what they are, (parallel) queries with answers,
  e.g. for evaluation.

:func:`sniff_jsonl` tells these apart by a file's first line.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from mtqa.errors import MtqaError, one_line
from mtqa.readers.base import SkippedRecord
from mtqa.readers.files import FileSource, _open_binary
from mtqa.readers.normalize import pair_hash

SKIP_NO_PASSAGE_ANSWER = "no_passage_answer"
SKIP_OTHER_LANGUAGE = "other_language"

#: TyDi QA's ``language`` values and their ISO 639-1 codes.
TYDI_LANGUAGES = {"arabic": "ar", "bengali": "bn", "english": "en", "finnish": "fi", "indonesian": "id",
                  "japanese": "ja", "korean": "ko", "russian": "ru", "swahili": "sw", "telugu": "te", "thai": "th"}

#: The schema :func:`read_parallel_queries` gives.
QUERY_SCHEMA = pa.schema([("id", pa.string()), ("lang", pa.string()), ("question", pa.string()),
                          ("answers", pa.list_(pa.string()))])


def _first_object(path: Path, shown: str) -> dict | None:
    """The first non-blank line of a JSONL file, parsed; None for an empty file (or one whose
    first line is not a JSON object: the reader reports that with its line and column)."""
    try:
        with _open_binary(path) as f:
            for raw in f:
                line = raw.decode("utf-8", errors="replace").removeprefix("\ufeff")
                if line.strip():
                    try:
                        obj = json.loads(line)
                    except ValueError:
                        return None
                    return obj if isinstance(obj, dict) else None
    except (OSError, EOFError, zlib.error) as e:
        raise MtqaError(f"cannot read {shown}: {one_line(e)}") from None
    return None


def sniff_jsonl(path: Path, shown: str) -> str | None:
    """``"tydiqa"`` for a TyDi QA file, None for the local-file layout (or a file the JSONL
    reader will report on); raises the one-line refusal for MKQA, NQ-open and any other layout
    whose first row has a question but no passage."""
    obj = _first_object(path, shown)
    if obj is None or "passage" in obj or "context" in obj:
        return None
    fields = ", ".join(sorted(obj))
    if "question_text" in obj and "document_plaintext" in obj:
        return "tydiqa"
    if isinstance(obj.get("queries"), dict) and "answers" in obj:
        raise MtqaError(f"{shown}: MKQA has questions and answers in {len(obj['queries'])} languages but no "
                        f"passages (fields: {fields}), and a build needs the passage of every question; "
                        "read its queries with mtqa.readers.formats.read_parallel_queries")
    if "question" in obj and "answer" in obj:
        raise MtqaError(f"{shown}: Natural Questions open has questions and answers but no passages "
                        f"(fields: {fields}), and a build needs the passage of every question; use the "
                        "registered source 'nq' (questions with their Wikipedia paragraph) or "
                        "mtqa.readers.formats.read_parallel_queries")
    if "question" in obj or "query" in obj:
        raise MtqaError(f"{shown}:1: no passage ('passage' or 'context') in the first row (fields: {fields}), "
                        "and a build needs the passage of every question")
    return None


def _decode(data: bytes, where: str, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise MtqaError(f"{where}: the byte offsets of the {what} cut a UTF-8 character (byte {e.start})") from None


def _byte_span(value: Any, where: str, what: str) -> tuple[int, int]:
    if not isinstance(value, dict):
        raise MtqaError(f"{where}: {what} must be an object with plaintext_start_byte and plaintext_end_byte")
    start, end = value.get("plaintext_start_byte"), value.get("plaintext_end_byte")
    if not isinstance(start, int) or not isinstance(end, int):
        raise MtqaError(f"{where}: {what} needs integer plaintext_start_byte and plaintext_end_byte")
    return start, end


def tydi_record(obj: dict, where: str, source_lang: str = "en") -> dict | SkippedRecord:
    """One TyDi QA example as a QA record (see the module docstring), or the reason it is skipped."""
    for name in ("example_id", "language", "question_text", "document_plaintext", "passage_answer_candidates",
                 "annotations"):
        if name not in obj:
            raise MtqaError(f"{where}: missing field {name!r} (a TyDi QA primary-task row has it)")
    lang = TYDI_LANGUAGES.get(str(obj["language"]).lower())
    if lang != source_lang:
        return SkippedRecord(SKIP_OTHER_LANGUAGE)
    doc = obj["document_plaintext"]
    if not isinstance(doc, str):
        raise MtqaError(f"{where}: document_plaintext must be a string")
    data = doc.encode("utf-8")
    candidates = obj["passage_answer_candidates"]
    annotations = obj["annotations"] or []
    chosen = next((a["passage_answer"]["candidate_index"] for a in annotations
                   if isinstance(a, dict) and isinstance(a.get("passage_answer"), dict)
                   and isinstance(a["passage_answer"].get("candidate_index"), int)
                   and a["passage_answer"]["candidate_index"] >= 0), None)
    if chosen is None:
        return SkippedRecord(SKIP_NO_PASSAGE_ANSWER)
    if not isinstance(candidates, list) or chosen >= len(candidates):
        raise MtqaError(f"{where}: passage_answer candidate_index {chosen} is not among the "
                        f"{len(candidates) if isinstance(candidates, list) else 0} passage_answer_candidates")
    p_start, p_end = _byte_span(candidates[chosen], where, f"passage_answer_candidates[{chosen}]")
    passage_bytes = data[p_start:p_end]
    passage = _decode(passage_bytes, where, "passage")
    answers, seen = [], set()
    for a in annotations:
        minimal = a.get("minimal_answer") if isinstance(a, dict) else None
        if (a.get("passage_answer") or {}).get("candidate_index") != chosen or not isinstance(minimal, dict):
            continue
        m_start, m_end = _byte_span(minimal, where, "minimal_answer")
        if m_start < 0 or not p_start <= m_start < m_end <= p_end or (m_start, m_end) in seen:
            continue
        seen.add((m_start, m_end))
        text = _decode(data[m_start:m_end], where, "minimal answer")
        start = len(_decode(passage_bytes[: m_start - p_start], where, "minimal answer"))
        answers.append({"text": text, "answer_start": start})
    title = obj.get("document_title")
    return {"id": obj["example_id"], "title": None if title is None else str(title),
            "question": obj["question_text"], "passage": passage, "answers": answers, "is_impossible": False}


class TydiSource(FileSource):
    """TyDi QA's primary-task JSONL (``.jsonl.gz``), read line by line (module docstring)."""

    format = "tydiqa"
    label = "TyDi QA JSONL file"
    source_lang = "en"

    def _records(self) -> Iterator[tuple[str, dict | SkippedRecord]]:
        try:
            with _open_binary(self.path) as f:
                for lineno, raw in enumerate(f, 1):
                    where = f"{self.path}:{lineno}"
                    if not raw.strip():
                        continue
                    try:
                        obj = json.loads(raw)
                    except ValueError as e:
                        raise MtqaError(f"malformed JSON in {where}: {one_line(e)}") from None
                    if not isinstance(obj, dict):
                        raise MtqaError(f"{where}: expected a JSON object, got {type(obj).__name__}")
                    rec = tydi_record(obj, where, self.source_lang)
                    if isinstance(rec, dict):
                        rec["position"] = lineno
                    yield where, rec
        except (OSError, EOFError, zlib.error) as e:
            raise MtqaError(f"cannot read {self.path}: {one_line(e)}") from None


def _answer_texts(value: Any) -> list[str]:
    """MKQA answers (``[{type, text, aliases}]``) or NQ-open's list of strings, as texts."""
    out: list[str] = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            out += [t for t in [item.get("text"), *(item.get("aliases") or [])] if isinstance(t, str)]
    return [t for t in dict.fromkeys(out) if t.strip()]


def read_parallel_queries(path: str | Path) -> pa.Table:
    """Questions with their answers and no passages, one row per (id, language) in
    :data:`QUERY_SCHEMA`: MKQA (every language of ``queries``; ids ``mkqa:EXAMPLE_ID``) or
    NQ-open (English; ids ``nq_open:HASH`` of the question). For evaluation, where a build
    has no use for questions without passages."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise MtqaError(f"file not found: {path}")
    cols: dict[str, list] = {name: [] for name in QUERY_SCHEMA.names}

    def add(rid: str, lang: str, question: str, answers: list[str]) -> None:
        cols["id"].append(rid)
        cols["lang"].append(lang)
        cols["question"].append(question)
        cols["answers"].append(answers)

    try:
        with _open_binary(path) as f:
            for lineno, raw in enumerate(f, 1):
                if not raw.strip():
                    continue
                where = f"{path}:{lineno}"
                try:
                    obj = json.loads(raw)
                except ValueError as e:
                    raise MtqaError(f"malformed JSON in {where}: {one_line(e)}") from None
                if isinstance(obj, dict) and isinstance(obj.get("queries"), dict):
                    answers = obj.get("answers") if isinstance(obj.get("answers"), dict) else {}
                    for lang, query in sorted(obj["queries"].items()):
                        if isinstance(query, str) and query.strip():
                            add(f"mkqa:{obj.get('example_id')}", lang, query, _answer_texts(answers.get(lang)))
                elif isinstance(obj, dict) and isinstance(obj.get("question"), str):
                    add(f"nq_open:{pair_hash(obj['question'], '')}", "en", obj["question"],
                        _answer_texts(obj.get("answer")))
                else:
                    found = ", ".join(sorted(obj)) if isinstance(obj, dict) else type(obj).__name__
                    raise MtqaError(f"{where}: neither MKQA (queries, answers) nor NQ-open (question, answer): {found}")
    except (OSError, EOFError, zlib.error) as e:
        raise MtqaError(f"cannot read {path}: {one_line(e)}") from None
    return pa.table(cols, schema=QUERY_SCHEMA)
