"""``QASource``: what every reader of English QA rows provides.

A source turns records (``(where, record)`` pairs from :meth:`QASource._records`, see
:mod:`mtqa.readers.normalize`) into ``mtqa.schema.QA_SCHEMA`` record batches, gives every row
its id, applies ``limit`` and a split by title (:mod:`mtqa.readers.titles`), and counts what it
skipped. :meth:`QASource.read` also says where among the rows each skipped row was, so that the
reader step can count a skip in the chunk it belongs to. A record may carry ``parallel``: the
source's own translations of the row (``mtqa.schema.PARALLEL_TYPE``, see
:mod:`mtqa.readers.parallel`).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from mtqa.errors import MtqaError
from mtqa.pipeline.stats import ROWS_OUT, StageStats
from mtqa.readers.normalize import (
    ROWS_REPAIRED,
    SKIP_EMPTY_PASSAGE,
    SKIP_EMPTY_QUESTION,
    SKIPPED,
    normalize_row,
    repair_record,
    row_id,
    skipped_key,
)
from mtqa.readers.spans import given_answers
from mtqa.readers.titles import SKIP_TITLE_LEFT_OUT
from mtqa.schema import QA_SCHEMA

if TYPE_CHECKING:
    from mtqa.readers.titles import TitleSplit

NAME_RE = re.compile(r"[A-Za-z0-9_.\-]+")


@dataclass(slots=True)
class SourceBatch:
    """Rows of a source and the rows it skipped since the previous batch.

    ``skipped`` holds ``(offset, reason)``: the skipped row came right before row ``offset``
    of ``rows``; ``offset == rows.num_rows`` means after the last one (only the source's
    last batch has such skips, and it may then hold no rows at all).
    """

    rows: pa.RecordBatch
    skipped: list[tuple[int, str]]
    #: rows of ``rows`` whose text held lone surrogates, repaired to U+FFFD (counted per chunk)
    repaired: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SkippedRecord:
    """What :meth:`QASource._records` yields in place of a record for a row that gives no QA
    pair (counted under ``skipped_{reason}``, not fatal)."""

    reason: str


class _Columns:
    """Accumulates records column-wise and emits ``QA_SCHEMA`` record batches."""

    def __init__(self, source: str, split: str) -> None:
        self.source, self.split = source, split
        self._reset()

    def _reset(self) -> None:
        self.cols: dict[str, list] = {name: [] for name in QA_SCHEMA.names}

    def __len__(self) -> int:
        return len(self.cols["id"])

    def add(self, rid: str, rec: dict) -> None:
        c = self.cols
        c["id"].append(rid)
        c["source"].append(self.source)
        c["split"].append(self.split)
        c["title"].append(rec["title"])
        c["question"].append(rec["question"])
        c["passage"].append(rec["passage"])
        c["answers"].append(rec["answers"])
        c["is_impossible"].append(rec["is_impossible"])
        c["parallel"].append(rec.get("parallel") or None)

    def flush(self) -> pa.RecordBatch:
        batch = pa.RecordBatch.from_pydict(self.cols, schema=QA_SCHEMA)
        self._reset()
        return batch


class QASource(ABC):
    """A stream of English QA rows in ``mtqa.schema.QA_SCHEMA``.

    ``name`` is the id prefix; ``batches()`` reopens the source on every call and yields record
    batches of at most ``batch_size`` rows, ``limit`` rows in all; ``describe()`` is what the
    manifest records. ``stats`` counts rows out and skipped Hub rows (over every read).
    """

    #: Hub sources skip (and count) rows with an empty question or passage; files raise.
    skip_empty = False
    #: Set on the translation members of a parallel source: answers keep their starts as
    #: written, unchecked (:mod:`mtqa.readers.spans`), so that assemble can check and count them.
    given_spans = False

    def __init__(
        self, spec: str, name: str, split: str, *, limit: int | None = None, batch_size: int = 1000
    ) -> None:
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise MtqaError(f"limit must be a non-negative integer, got {limit!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise MtqaError(f"batch_size must be a positive integer, got {batch_size!r}")
        if not NAME_RE.fullmatch(name):
            raise MtqaError(f"source name {name!r} may only hold letters, digits, '_', '.', '-'")
        self.spec, self.name, self.split = spec, name, split
        self.limit, self.batch_size = limit, batch_size
        self.stats = StageStats("source")
        self.title_split: TitleSplit | None = None
        self._titles: list[str] = []

    @property
    def langs(self) -> tuple[str, ...]:
        """The languages this source gives rows in, the source language included; empty for
        a source of source-language rows only (a parallel source lists its own)."""
        return ()

    def _row_record(self, row: dict, where: str, position: Any) -> dict:
        """One row of the local-file layout (:func:`~mtqa.readers.normalize.normalize_row`) as
        a record, with its ``position`` (for joining the members of a parallel source)."""
        rec = normalize_row(row, where)
        if self.given_spans and not rec["is_impossible"]:
            value = row.get("answers") if row.get("answers") is not None else row.get("answer")
            rec["answers"] = given_answers(value, where)
        rec["position"] = position
        return rec

    @abstractmethod
    def _records(self) -> Iterator[tuple[str, dict]]:
        """Yield ``(where, record)`` in a deterministic order; ``where`` locates it for errors.
        A row that gives no QA pair is yielded as ``(where, SkippedRecord(reason))``."""

    @abstractmethod
    def what(self) -> str:
        """What the source is, in a few words, for the log (``SQuAD JSON file dev.json``)."""

    def _describe(self) -> dict:
        return {}

    def describe(self) -> dict:
        described = {"spec": self.spec, "name": self.name, "split": self.split, "limit": self.limit,
                     **self._describe()}
        if self.title_split is not None:
            described["title_split"] = self.title_split.describe(self._titles)
        return described

    def identity(self) -> dict:
        """What a resume must match: :meth:`describe` without the Hub revision the user did not
        pin, which is looked up online and may be unknown offline (it stays in the manifest)."""
        return {k: v for k, v in self.describe().items() if k != "revision"}

    def titles(self) -> list[str]:
        """The distinct titles of the source's rows, in first-seen order (a pass over all of
        them, ``limit`` aside). A row without a title cannot be split by title: an error."""
        seen: dict[str, None] = {}
        records = self._records()
        try:
            for where, rec in records:
                if isinstance(rec, SkippedRecord):
                    continue
                if rec["title"] is None:
                    raise MtqaError(f"{where}: no title, and a split by title needs one for every row")
                seen.setdefault(rec["title"], None)
        finally:
            records.close()
        return list(seen)

    def set_title_split(self, split: TitleSplit, titles: list[str]) -> None:
        """Read only the rows whose title ``split`` keeps; ``titles`` are this source's own
        (:meth:`titles`), for the manifest."""
        self.title_split, self._titles = split, list(titles)

    def read(self) -> Iterator[SourceBatch]:
        """The rows as :class:`SourceBatch` es, each with the skips since the one before.
        Every row (and skip) is counted in ``stats`` as it is read."""
        if self.limit == 0:
            return
        cols = _Columns(self.name, self.split)
        skipped: list[tuple[int, str]] = []
        repaired: list[int] = []
        count = 0
        records = self._records()
        try:
            for where, rec in records:
                if isinstance(rec, SkippedRecord):
                    skipped.append((len(cols), rec.reason))
                    self._count_skip(rec.reason)
                    continue
                if self.title_split is not None and not self.title_split.keeps(rec["title"]):
                    skipped.append((len(cols), SKIP_TITLE_LEFT_OUT))
                    self._count_skip(SKIP_TITLE_LEFT_OUT)
                    continue
                # The one place text is repaired (docs/source.md): counted, never a crash later.
                if repair_record(rec):
                    repaired.append(len(cols))
                    self.stats.add(ROWS_REPAIRED)
                rid = row_id(self.name, rec)
                empty = next((f for f in ("question", "passage") if not rec[f].strip()), None)
                if empty is not None:
                    if not self.skip_empty:
                        raise MtqaError(f"empty {empty} in {where} (id {rid})")
                    reason = SKIP_EMPTY_QUESTION if empty == "question" else SKIP_EMPTY_PASSAGE
                    skipped.append((len(cols), reason))
                    self._count_skip(reason)
                    continue
                cols.add(rid, rec)
                count += 1
                if len(cols) >= self.batch_size:
                    self.stats.add(ROWS_OUT, len(cols))
                    yield SourceBatch(cols.flush(), skipped, repaired)
                    skipped, repaired = [], []
                if self.limit is not None and count >= self.limit:
                    break
        finally:
            records.close()
        if len(cols) or skipped:
            self.stats.add(ROWS_OUT, len(cols))
            yield SourceBatch(cols.flush(), skipped, repaired)

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The rows as record batches of at most ``batch_size`` rows (none of them empty)."""
        for batch in self.read():
            if batch.rows.num_rows:
                yield batch.rows

    def _count_skip(self, reason: str) -> None:
        self.stats.add(SKIPPED)
        self.stats.add(skipped_key(reason))
