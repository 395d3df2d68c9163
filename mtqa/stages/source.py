"""The source stage: English QA datasets as a stream of ``QA_SCHEMA`` record batches.

Use :func:`open_source` with a spec string and iterate :meth:`QASource.batches`::

    src = open_source("sample", limit=100, batch_size=32)
    for batch in src.batches():   # pyarrow.RecordBatch, mtqa.schema.QA_SCHEMA
        ...
    manifest["source"] = src.describe()

A spec is one of

- ``sample``: the embedded excerpt of XQuAD English (``mtqa/data/sample``);
- a registered Hub dataset (``squad``, ``squad_v2``, ``nq``, ``trivia_qa``, ``ms_marco``,
  ``wiki_qa``, ``duorc``, ``duorc_paraphrase``, ``newsqa``, ``yahoo_qa``), optionally pinned as
  ``NAME@REVISION``; read with ``datasets.load_dataset(..., streaming=True)``;
- ``hub:OWNER/NAME[@REVISION]``: any Hub dataset whose columns follow the local-file layout;
- a local file, by extension or with an explicit prefix: ``squad:PATH`` / ``*.json``
  (SQuAD v1.1 or v2.0), ``jsonl:PATH`` / ``*.jsonl``, ``parquet:PATH`` / ``*.parquet``
  (``.json.gz`` and ``.jsonl.gz`` are read through gzip).

Every row gets a stable, source-prefixed id, ``f"{source.name}:{original_id}"`` (an id that
already starts with ``f"{source.name}:"`` is kept, so QA rows read back keep their ids); a row
without an id gets a hash of its question and passage, never a row number. Rows come out in
file (or Hub) order, so two reads give identical batches. JSONL, Parquet and Hub sources
stream; only SQuAD JSON is parsed whole. Bad local input raises :class:`~mtqa.errors.MtqaError`
with one line naming the problem and where it is; Hub rows whose question or passage is empty,
or that a retrieval set marks as not positive, are skipped and counted in ``source.stats``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from mtqa.errors import MtqaError, one_line
from mtqa.io import parse_json_bytes
from mtqa.schema import QA_SCHEMA
from mtqa.stats import ROWS_OUT, StageStats

__all__ = [
    "HUB_SOURCES",
    "SAMPLE_PATH",
    "HubSource",
    "QASource",
    "SkipRow",
    "list_sources",
    "normalize_row",
    "open_source",
]

SAMPLE_PATH = Path(__file__).resolve().parent.parent / "data" / "sample" / "xquad-en-sample.json"

# Stat keys of the source. Skipped Hub rows are counted under SKIPPED and f"{SKIPPED}_{reason}".
SKIPPED = "skipped"
SKIP_EMPTY_QUESTION = "empty_question"
SKIP_EMPTY_PASSAGE = "empty_passage"
SKIP_NOT_POSITIVE = "not_positive"
SKIP_NO_SELECTED_PASSAGE = "no_selected_passage"
SKIP_ANSWER_NOT_FOUND = "answer_not_found"

_FILE_FORMATS = ("squad", "jsonl", "parquet")
_EXTENSIONS = {".json": "squad", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
_PARQUET_COLUMNS = ("id", "title", "question", "passage", "context", "answers", "answer", "is_impossible")
_NAME_RE = re.compile(r"[A-Za-z0-9_.\-]+")
_SHA_RE = re.compile(r"[0-9a-f]{40}")


class SkipRow(Exception):
    """Raised by a Hub mapping function for a row that yields no QA pair (counted, not fatal)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _short_hash(text: str, n: int = 12) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:n]


def _pair_hash(question: str, passage: str) -> str:
    """The id of a row that has none: depends on its content only, not on its position."""
    return hashlib.sha1(f"{question}\n\x00{passage}".encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------
# Row normalisation, shared by every kind of source


def _locate(passage: str, text: str, start: Any) -> int:
    """The char offset of ``text`` in ``passage``: ``start`` if it matches, else the first
    occurrence, else -1."""
    if isinstance(start, int) and not isinstance(start, bool) and start >= 0:
        if passage[start : start + len(text)] == text:
            return start
    return passage.find(text)


def _answers(value: Any, passage: str, where: str, field: str = "answers") -> list[dict]:
    """Normalise answers given as ``[{text, answer_start}]``, ``{text: [...], answer_start:
    [...]}`` (the Hub's SQuAD layout), a list of strings or one string."""
    pairs: list[tuple[Any, Any]]
    if value is None:
        return []
    if isinstance(value, str):
        pairs = [(value, None)]
    elif isinstance(value, dict) and "text" in value:
        texts, starts = value["text"], value.get("answer_start")
        if isinstance(texts, str):
            texts, starts = [texts], [starts]
        starts = list(starts) if isinstance(starts, list | tuple) else [None] * len(texts)
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
    out = []
    for text, start in pairs:
        if not isinstance(text, str):
            raise MtqaError(f"{where}: answer text must be a string, got {type(text).__name__}")
        if text.strip():
            out.append({"text": text, "answer_start": _locate(passage, text, start)})
    return out


def _flag(value: Any, where: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise MtqaError(f"{where}: field 'is_impossible' must be true or false, got {value!r}")


def _text(row: dict, names: tuple[str, ...], where: str) -> str:
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
    question = _text(row, ("question",), where)
    passage = _text(row, ("passage", "context"), where)
    if row.get("answers") is not None:
        answers = _answers(row["answers"], passage, where)
    else:
        answers = _answers(row.get("answer"), passage, where, field="answer")
    impossible = _flag(row.get("is_impossible"), where)
    title = row.get("title")
    return {
        "id": row.get("id"),
        "title": None if title is None else str(title),
        "question": question,
        "passage": passage,
        "answers": [] if impossible else answers,
        "is_impossible": impossible,
    }


class _Columns:
    """Accumulates records column-wise and emits ``QA_SCHEMA`` record batches."""

    def __init__(self, source: str, split: str) -> None:
        self.source, self.split = source, split
        self._reset()

    def _reset(self) -> None:
        self.cols: dict[str, list] = {name: [] for name in QA_SCHEMA.names}

    def __len__(self) -> int:
        return len(self.cols["id"])

    def add(self, row_id: str, rec: dict) -> None:
        c = self.cols
        c["id"].append(row_id)
        c["source"].append(self.source)
        c["split"].append(self.split)
        c["title"].append(rec["title"])
        c["question"].append(rec["question"])
        c["passage"].append(rec["passage"])
        c["answers"].append(rec["answers"])
        c["is_impossible"].append(rec["is_impossible"])

    def flush(self) -> pa.RecordBatch:
        batch = pa.RecordBatch.from_pydict(self.cols, schema=QA_SCHEMA)
        self._reset()
        return batch


# ---------------------------------------------------------------------------------------------
# Sources


class QASource(ABC):
    """A stream of English QA rows in ``mtqa.schema.QA_SCHEMA``.

    ``name`` is the id prefix; ``batches()`` reopens the source on every call and yields record
    batches of at most ``batch_size`` rows, ``limit`` rows in all; ``describe()`` is what the
    manifest records. ``stats`` counts rows out and skipped Hub rows.
    """

    #: Hub sources skip (and count) rows with an empty question or passage; files raise.
    skip_empty = False

    def __init__(
        self, spec: str, name: str, split: str, *, limit: int | None = None, batch_size: int = 1000
    ) -> None:
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise MtqaError(f"limit must be a non-negative integer, got {limit!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise MtqaError(f"batch_size must be a positive integer, got {batch_size!r}")
        if not _NAME_RE.fullmatch(name):
            raise MtqaError(f"source name {name!r} may only hold letters, digits, '_', '.', '-'")
        self.spec, self.name, self.split = spec, name, split
        self.limit, self.batch_size = limit, batch_size
        self.stats = StageStats("source")

    @abstractmethod
    def _records(self) -> Iterator[tuple[str, dict]]:
        """Yield ``(where, record)`` in a deterministic order; ``where`` locates it for errors."""

    def _describe(self) -> dict:
        return {}

    def describe(self) -> dict:
        return {"spec": self.spec, "name": self.name, "split": self.split, "limit": self.limit,
                **self._describe()}

    def _skip(self, reason: str) -> None:
        self.stats.add(SKIPPED)
        self.stats.add(f"{SKIPPED}_{reason}")

    def batches(self) -> Iterator[pa.RecordBatch]:
        if self.limit == 0:
            return
        cols = _Columns(self.name, self.split)
        count = 0
        records = self._records()
        try:
            for where, rec in records:
                original = rec.get("id")
                original = None if original is None or original == "" else str(original)
                if original is not None and original.startswith(f"{self.name}:"):
                    row_id = original  # already ours: reading back QA rows keeps their ids
                else:
                    row_id = f"{self.name}:{original or _pair_hash(rec['question'], rec['passage'])}"
                empty = next((f for f in ("question", "passage") if not rec[f].strip()), None)
                if empty is not None:
                    if not self.skip_empty:
                        raise MtqaError(f"empty {empty} in {where} (id {row_id})")
                    self._skip(SKIP_EMPTY_QUESTION if empty == "question" else SKIP_EMPTY_PASSAGE)
                    continue
                cols.add(row_id, rec)
                count += 1
                if len(cols) >= self.batch_size:
                    self.stats.add(ROWS_OUT, len(cols))
                    yield cols.flush()
                if self.limit is not None and count >= self.limit:
                    break
        finally:
            records.close()
        if len(cols):
            self.stats.add(ROWS_OUT, len(cols))
            yield cols.flush()


def _file_stat(path: Path, shown: str) -> dict:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"path": shown, "size": path.stat().st_size, "sha256": digest.hexdigest()}


def _open_binary(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


class FileSource(QASource):
    """A local file; ``describe()`` records its path (as given, so that the record does not
    depend on the machine), size and sha256."""

    format: str

    def __init__(self, spec: str, path: Path, name: str, split: str, *, shown_path: str | None = None,
                 **kw: Any) -> None:
        super().__init__(spec, name, split, **kw)
        self.path = path
        self.shown_path = shown_path or str(path)
        self._stat: dict | None = None

    def _describe(self) -> dict:
        if self._stat is None:
            try:
                self._stat = _file_stat(self.path, self.shown_path)
            except OSError as e:
                raise MtqaError(f"cannot read {self.path}: {one_line(e)}") from None
        return {"kind": self.format, **self._stat}


class SquadSource(FileSource):
    """SQuAD v1.1 / v2.0 JSON (``data`` → ``paragraphs`` → ``qas``), parsed whole."""

    format = "squad"

    def _load(self) -> Any:
        try:
            with _open_binary(self.path) as f:
                raw = f.read()
        except (OSError, EOFError, zlib.error) as e:
            raise MtqaError(f"cannot read {self.path}: {one_line(e)}") from None
        return parse_json_bytes(raw, self.path)

    def _records(self) -> Iterator[tuple[str, dict]]:
        doc = self._load()
        if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
            raise MtqaError(f"{self.path}: not SQuAD format (expected an object with a 'data' list)")
        for a, article in enumerate(doc["data"]):
            at = f"{self.path}: data[{a}]"
            if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
                raise MtqaError(f"{at}: missing field 'paragraphs'")
            title = article.get("title")
            for p, para in enumerate(article["paragraphs"]):
                pt = f"{at}.paragraphs[{p}]"
                if not isinstance(para, dict):
                    raise MtqaError(f"{pt}: expected an object, got {type(para).__name__}")
                passage = _text(para, ("context",), pt)
                qas = para.get("qas")
                if not isinstance(qas, list):
                    raise MtqaError(f"{pt}: missing field 'qas'")
                for q, qa in enumerate(qas):
                    where = f"{pt}.qas[{q}]"
                    if not isinstance(qa, dict):
                        raise MtqaError(f"{where}: expected an object, got {type(qa).__name__}")
                    if qa.get("id") is not None:
                        where += f" (id {qa['id']})"
                    impossible = _flag(qa.get("is_impossible"), where)
                    yield where, {
                        "id": qa.get("id"),
                        "title": None if title is None else str(title),
                        "question": _text(qa, ("question",), where),
                        "passage": passage,
                        "answers": [] if impossible else _answers(qa.get("answers"), passage, where),
                        "is_impossible": impossible,
                    }


class SampleSource(SquadSource):
    """The embedded XQuAD English excerpt (CC BY-SA 4.0, see ``mtqa/data/sample/README.md``)."""

    format = "sample"

    def _describe(self) -> dict:
        return {**super()._describe(), "origin": "google-deepmind/xquad xquad.en.json (excerpt)",
                "license": "CC-BY-SA-4.0"}


class JsonlSource(FileSource):
    """One JSON object per line, read line by line; blank lines are ignored."""

    format = "jsonl"

    def _records(self) -> Iterator[tuple[str, dict]]:
        offset = 0
        try:
            with _open_binary(self.path) as f:
                for lineno, raw in enumerate(f, 1):
                    where = f"{self.path}:{lineno}"
                    try:
                        line = raw.decode("utf-8")
                    except UnicodeDecodeError as e:
                        raise MtqaError(
                            f"invalid UTF-8 in {where} (byte offset {offset + e.start})"
                        ) from None
                    offset += len(raw)
                    if lineno == 1:
                        line = line.removeprefix("\ufeff")
                    if not line.strip():
                        continue
                    try:
                        obj = json.loads(line)
                    except json.JSONDecodeError as e:
                        raise MtqaError(
                            f"malformed JSON in {where} at column {e.colno}: {e.msg}"
                        ) from None
                    if not isinstance(obj, dict):
                        raise MtqaError(f"{where}: expected a JSON object, got {type(obj).__name__}")
                    yield where, normalize_row(obj, where)
        except (OSError, EOFError, zlib.error) as e:
            raise MtqaError(f"cannot read {self.path}: {one_line(e)}") from None


class ParquetSource(FileSource):
    """A Parquet file read in record batches; only the known columns are loaded."""

    format = "parquet"

    def _records(self) -> Iterator[tuple[str, dict]]:
        try:
            pf = pq.ParquetFile(self.path)
        except (pa.ArrowException, OSError) as e:
            raise MtqaError(f"not a readable Parquet file: {self.path} ({one_line(e)})") from None
        names = pf.schema_arrow.names
        if "question" not in names:
            raise MtqaError(f"{self.path}: missing column 'question' (has {', '.join(names)})")
        if "passage" not in names and "context" not in names:
            raise MtqaError(f"{self.path}: missing column 'passage' (has {', '.join(names)})")
        columns = [c for c in _PARQUET_COLUMNS if c in names]
        row = 0
        try:
            for batch in pf.iter_batches(batch_size=max(self.batch_size, 256), columns=columns):
                for obj in batch.to_pylist():
                    where = f"{self.path} row {row}"
                    yield where, normalize_row(obj, where)
                    row += 1
        except (pa.ArrowException, OSError) as e:
            raise MtqaError(f"cannot read {self.path} at row {row}: {one_line(e)}") from None


# ---------------------------------------------------------------------------------------------
# Hugging Face Hub: one mapping function per dataset, from its row layout to a QA record.

Mapper = Callable[[dict], list[dict]]


def _qa(row_id: Any, title: Any, question: str, passage: str, answers: list[dict],
        impossible: bool = False) -> dict:
    return {"id": row_id, "title": title, "question": question, "passage": passage,
            "answers": answers, "is_impossible": impossible}


def _spans(passage: str, texts: list[str], starts: list[Any] | None = None) -> list[dict]:
    starts = list(starts or [])
    starts += [None] * (len(texts) - len(starts))
    return [{"text": t, "answer_start": _locate(passage, t, s)}
            for t, s in zip(texts, starts, strict=False) if t and t.strip()]


def _as_columns(value: Any, keys: tuple[str, ...]) -> dict[str, list]:
    """A sequence of records from a Hub row as columns: ``datasets`` gives a dict of lists for
    legacy ``Sequence`` features and a list of dicts for ``List`` features."""
    if isinstance(value, dict):
        return {k: list(value.get(k) or []) for k in keys}
    records = list(value or [])
    return {k: [r.get(k) for r in records] for k in keys}


def map_squad(row: dict) -> list[dict]:
    """``rajpurkar/squad``: id, title, context, question, answers {text[], answer_start[]}."""
    a = row["answers"]
    return [_qa(row["id"], row.get("title"), row["question"], row["context"],
                _spans(row["context"], a["text"], a["answer_start"]))]


def map_squad_v2(row: dict) -> list[dict]:
    """``rajpurkar/squad_v2``: as SQuAD; a question with no answers is unanswerable."""
    (rec,) = map_squad(row)
    rec["is_impossible"] = not rec["answers"]
    return [rec]


def map_natural_questions(row: dict) -> list[dict]:
    """``sentence-transformers/natural-questions``: query (the card also says question) and
    answer, a Wikipedia paragraph (title first) that answers it; no span, no id."""
    question = row["query"] if "query" in row else row["question"]
    return [_qa(None, None, question, row["answer"], [])]


def map_trivia_qa(row: dict) -> list[dict]:
    """``mandarjoshi/trivia_qa`` (rc.wikipedia): the passage is the first paragraph of the
    question's Wikipedia evidence pages that contains the answer or one of its aliases."""
    answer = row["answer"] or {}
    names = [answer.get("value") or ""] + list(answer.get("aliases") or [])
    names = [n for n in dict.fromkeys(names) if n and n.strip()]
    pages = _as_columns(row["entity_pages"], ("title", "wiki_context"))
    for title, context in zip(pages["title"], pages["wiki_context"], strict=False):
        for para in (context or "").split("\n"):
            para = para.strip()
            for name in names:
                start = para.find(name)
                if start >= 0:
                    return [_qa(row["question_id"], title, row["question"], para,
                                [{"text": name, "answer_start": start}])]
    raise SkipRow(SKIP_ANSWER_NOT_FOUND)


def map_ms_marco(row: dict) -> list[dict]:
    """``microsoft/ms_marco``: one row per selected passage (``is_selected == 1``); its
    free-text answers are kept, located in the passage where they occur (else -1)."""
    passages = _as_columns(row["passages"], ("is_selected", "passage_text"))
    texts = [a for a in row.get("answers") or [] if a and a != "No Answer Present."]
    out = [
        _qa(f"{row['query_id']}#{_short_hash(text)}", None, row["query"], text, _spans(text, texts))
        for selected, text in zip(passages["is_selected"], passages["passage_text"], strict=False)
        if selected == 1
    ]
    if not out:
        raise SkipRow(SKIP_NO_SELECTED_PASSAGE)
    return out


def map_wiki_qa(row: dict) -> list[dict]:
    """``microsoft/wiki_qa``: one row per candidate sentence; positives (label 1) become the
    passage, negatives are skipped. A question may have several positives, hence the hash."""
    if int(row["label"]) != 1:
        raise SkipRow(SKIP_NOT_POSITIVE)
    return [_qa(f"{row['question_id']}#{_short_hash(row['answer'])}", row.get("document_title"),
                row["question"], row["answer"], [])]


def map_duorc(row: dict) -> list[dict]:
    """``ibm/duorc``: the movie plot is the passage; answers are free text (located if
    verbatim); ``no_answer`` rows are flagged unanswerable."""
    impossible = bool(row.get("no_answer"))
    answers = [] if impossible else _spans(row["plot"], list(row["answers"] or []))
    return [_qa(row["question_id"], row.get("title"), row["question"], row["plot"], answers, impossible)]


def map_newsqa(row: dict) -> list[dict]:
    """``lucadiliello/newsqa``: context, question, answers [str], labels [{start[], end[]}],
    key. ``key`` names the article, not the question, so the id is the content hash."""
    starts = [(s or [None])[0] for s in _as_columns(row.get("labels"), ("start",))["start"]]
    answers = _spans(row["context"], list(row["answers"] or []), starts)
    return [_qa(None, None, row["question"], row["context"], answers, not answers)]


def map_yahoo_answers_qa(row: dict) -> list[dict]:
    """``yahoo_answers_qa``: id, question, answer (the best answer, used as the passage),
    nbestanswers, main_category."""
    return [_qa(row["id"], None, row["question"], row["answer"], [])]


@dataclass(frozen=True, slots=True)
class HubDataset:
    """A registered Hub dataset: where it lives, how its rows map to QA_SCHEMA, and whether
    its id and column layout were checked (offline, against its dataset card or public code)."""

    name: str
    hub_id: str | None
    config: str | None
    split: str
    mapper: Mapper | None  # None: rows already in the local-file layout (see normalize_row)
    verified: bool
    description: str


HUB_SOURCES: dict[str, HubDataset] = {
    d.name: d
    for d in [
        HubDataset("squad", "rajpurkar/squad", "plain_text", "train", map_squad, True,
                   "SQuAD v1.1: Wikipedia paragraphs, extractive answers"),
        HubDataset("squad_v2", "rajpurkar/squad_v2", "squad_v2", "train", map_squad_v2, True,
                   "SQuAD v2.0: SQuAD v1.1 plus unanswerable questions (flagged)"),
        HubDataset("nq", "sentence-transformers/natural-questions", "pair", "train",
                   map_natural_questions, True,
                   "Natural Questions: Google queries with the Wikipedia paragraph answering them"),
        HubDataset("trivia_qa", "mandarjoshi/trivia_qa", "rc.wikipedia", "train", map_trivia_qa, True,
                   "TriviaQA: trivia questions; the evidence paragraph holding the answer"),
        HubDataset("ms_marco", "microsoft/ms_marco", "v2.1", "train", map_ms_marco, True,
                   "MS MARCO QA: Bing queries with their selected web passages"),
        HubDataset("wiki_qa", "microsoft/wiki_qa", None, "train", map_wiki_qa, True,
                   "WikiQA: Bing queries with the Wikipedia sentences that answer them"),
        HubDataset("duorc", "ibm/duorc", "SelfRC", "train", map_duorc, True,
                   "DuoRC SelfRC: questions on a movie plot (Wikipedia)"),
        HubDataset("duorc_paraphrase", "ibm/duorc", "ParaphraseRC", "train", map_duorc, True,
                   "DuoRC ParaphraseRC: questions asked on one version of a plot, answered from the other"),
        HubDataset("newsqa", "lucadiliello/newsqa", None, "train", map_newsqa, True,
                   "NewsQA: questions on CNN articles, extractive answers"),
        HubDataset("yahoo_qa", "community-datasets/yahoo_answers_qa", None, "train",
                   map_yahoo_answers_qa, False,
                   "Yahoo Answers (non-factoid): the best answer is the passage"),
        HubDataset("entity_questions", None, None, "train", None, False,
                   "EntityQuestions: no Hub version with passages (questions and answers only)"),
    ]
}


def _resolve_revision(hub_id: str, revision: str | None) -> str | None:
    """The commit sha a Hub read used, when the Hub can be asked; None otherwise."""
    if revision and _SHA_RE.fullmatch(revision):
        return revision
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return revision
    try:
        from huggingface_hub import HfApi

        return HfApi().dataset_info(hub_id, revision=revision, timeout=10).sha
    except Exception:
        return None


class HubSource(QASource):
    """A Hub dataset streamed with ``datasets.load_dataset(..., streaming=True)``."""

    skip_empty = True

    def __init__(self, spec: str, dataset: HubDataset, revision: str | None, name: str,
                 split: str, **kw: Any) -> None:
        super().__init__(spec, name, split, **kw)
        self.dataset, self.revision = dataset, revision
        self._resolved: str | None = None

    @property
    def resolved_revision(self) -> str | None:
        if self._resolved is None:
            self._resolved = _resolve_revision(self.dataset.hub_id, self.revision)
        return self._resolved

    def _describe(self) -> dict:
        d = self.dataset
        return {"kind": "hub", "hub_id": d.hub_id, "config": d.config,
                "requested_revision": self.revision, "revision": self.resolved_revision}

    def _records(self) -> Iterator[tuple[str, dict]]:
        d = self.dataset
        where_ds = f"{d.hub_id}" + (f" ({d.config})" if d.config else "") + f" split {self.split!r}"
        try:
            import datasets
        except ImportError:
            raise MtqaError("Hub sources need the 'datasets' package: pip install datasets") from None
        try:
            ds = datasets.load_dataset(d.hub_id, d.config, split=self.split, streaming=True,
                                       revision=self.revision)
            rows = iter(ds)
        except Exception as e:
            raise MtqaError(f"cannot open Hub dataset {where_ds}: {one_line(e)}") from None
        _ = self.resolved_revision
        index = 0
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except Exception as e:
                raise MtqaError(f"cannot read Hub dataset {where_ds} at row {index}: {one_line(e)}") from None
            where = f"{self.name} ({where_ds}) row {index}"
            index += 1
            try:
                recs = [normalize_row(row, where)] if d.mapper is None else d.mapper(row)
            except SkipRow as skip:
                self._skip(skip.reason)
                continue
            except KeyError as e:
                raise MtqaError(f"{where}: missing field {e.args[0]!r}") from None
            except (TypeError, ValueError, AttributeError, IndexError) as e:
                raise MtqaError(f"{where}: unexpected row layout ({one_line(e)})") from None
            for rec in recs:
                rec = dict(rec)
                for field in ("question", "passage"):
                    if not isinstance(rec[field], str):
                        if rec[field] is None:
                            raise MtqaError(f"{where}: missing field {field!r}")
                        raise MtqaError(f"{where}: field {field!r} must be a string")
                rec["title"] = None if rec["title"] is None else str(rec["title"])
                yield where, rec


# ---------------------------------------------------------------------------------------------
# Spec parsing


def _known() -> str:
    hub = [n for n, d in HUB_SOURCES.items() if d.hub_id]
    return ", ".join(["sample", *hub])


def _file_name(path: Path) -> str:
    stem = path.name
    for suffix in (".gz", *_EXTENSIONS):
        stem = stem.removesuffix(suffix)
    return re.sub(r"[^a-z0-9_]+", "_", stem.lower()).strip("_") or "file"


def _open_file(spec: str, fmt: str | None, raw_path: str, name: str | None, split: str | None,
               **kw: Any) -> QASource:
    path = Path(raw_path).expanduser()
    if fmt is None:
        suffixes = [s.lower() for s in path.suffixes]
        gz = suffixes[-1:] == [".gz"]
        ext = "".join(suffixes[-2:]) if gz else (suffixes or [""])[-1]
        fmt = _EXTENSIONS.get(ext.removesuffix(".gz")) if ext != ".parquet.gz" else None
        if fmt is None:
            shown = ext or "(none)"
            raise MtqaError(
                f"unknown extension {shown} for {raw_path}: use .json (SQuAD), .jsonl, .parquet "
                f"(or .json.gz, .jsonl.gz), or a squad:/jsonl:/parquet: prefix"
            )
    if not path.exists():
        raise MtqaError(f"file not found: {raw_path}")
    if path.is_dir():
        raise MtqaError(f"{raw_path} is a directory, not a {fmt} file")
    cls = {"squad": SquadSource, "jsonl": JsonlSource, "parquet": ParquetSource}[fmt]
    return cls(spec, path, name or _file_name(path), split or "train", shown_path=raw_path, **kw)


def open_source(spec: str, *, limit: int | None = None, batch_size: int = 1000,
                split: str | None = None, name: str | None = None) -> QASource:
    """Open a QA source by spec (see the module docstring and :func:`list_sources`).

    ``limit`` caps the rows of the source; ``batch_size`` caps the rows of a batch; ``split``
    picks a Hub split (default: the dataset's training split) and labels the rows of a local
    file (default ``train``); ``name`` overrides the id prefix. Nothing is read until
    ``batches()`` is iterated, except that a local file must exist.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise MtqaError(f"empty source spec: expected one of {_known()} or a file path")
    spec = spec.strip()
    kw = {"limit": limit, "batch_size": batch_size}
    if spec == "sample":
        return SampleSource(spec, SAMPLE_PATH, name or "sample", split or "test",
                            shown_path="mtqa/data/sample/xquad-en-sample.json", **kw)
    prefix, sep, rest = spec.partition(":")
    if sep and prefix in _FILE_FORMATS and rest:
        return _open_file(spec, prefix, rest, name, split, **kw)
    if sep and prefix == "hub" and rest:
        hub_id, _, revision = rest.partition("@")
        if not re.fullmatch(r"[\w.\-]+/[\w.\-]+", hub_id):
            raise MtqaError(f"bad Hub dataset id {hub_id!r} in {spec!r}: expected hub:OWNER/NAME[@REVISION]")
        dataset = HubDataset(hub_id.split("/")[1], hub_id, None, "train", None, False, "")
        auto = re.sub(r"[^A-Za-z0-9_.\-]+", "_", dataset.name)
        return HubSource(spec, dataset, revision or None, name or auto, split or "train", **kw)
    key, _, revision = spec.partition("@")
    if key in HUB_SOURCES:
        dataset = HUB_SOURCES[key]
        if dataset.hub_id is None:
            raise MtqaError(
                f"{key}: {dataset.description}; write question/passage/answers rows to a JSONL "
                f"file and use jsonl:PATH"
            )
        return HubSource(spec, dataset, revision or None, name or key, split or dataset.split, **kw)
    if "/" in spec or os.sep in spec or "." in Path(spec).name or Path(spec).exists():
        return _open_file(spec, None, spec, name, split, **kw)
    raise MtqaError(f"unknown source {spec!r}: expected one of {_known()}, a file path, "
                    f"or a squad:/jsonl:/parquet:/hub: prefix")


def list_sources() -> list[dict]:
    """The source specs ``open_source`` accepts, for ``--help`` and the docs."""
    out: list[dict] = [{
        "name": "sample", "kind": "embedded", "hub_id": None, "config": None, "split": "test",
        "verified": True, "description": "12 paragraphs, 64 questions of XQuAD English (CC BY-SA 4.0)",
    }]
    for d in HUB_SOURCES.values():
        out.append({"name": d.name, "kind": "hub" if d.hub_id else "unavailable", "hub_id": d.hub_id,
                    "config": d.config, "split": d.split, "verified": d.verified,
                    "description": d.description})
    for fmt, text in [
        ("squad", "squad:PATH or *.json[.gz]: SQuAD v1.1 / v2.0 JSON"),
        ("jsonl", "jsonl:PATH or *.jsonl[.gz]: one {question, passage|context, ...} per line"),
        ("parquet", "parquet:PATH or *.parquet: columns question, passage|context, ..."),
        ("hub", "hub:OWNER/NAME[@REVISION]: a Hub dataset with the local-file columns"),
    ]:
        out.append({"name": f"{fmt}:", "kind": "pattern", "hub_id": None, "config": None,
                    "split": "train", "verified": True, "description": text})
    return out
