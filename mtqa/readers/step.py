"""The reader step: the first step of a build, its sources cut into numbered chunks.

``ReaderStep(sources, chunk_size, num_shards, shard_index)`` reads its sources one after the
other, keeps the rows of its partition, and yields them as :class:`~mtqa.pipeline.step.Chunk`
objects of exactly ``chunk_size`` rows (the last may be shorter), numbered from 0 in input
order. It yields every chunk of the partition: skipping the chunks a resumed build has already
done is the executor's business, and it can only do so because the reader gives the same
chunks on every run.

The partition is a hash of the passage (:func:`shard_of`), so every question on a passage
lands in the same partition and dedup can share the passage's sentences across them; every
partition reads the whole input and keeps its own rows (docs/source.md, "Partitions").

``chunk.stats["source"]`` counts what the reading gave for that chunk: ``rows_out`` (its rows)
and each skipped Hub row (``skipped``, ``skipped_{reason}``) in the chunk of the row that
follows it in the input; rows skipped after the input's last row count in the chunk holding
that row, which is why a finished chunk is held until a later row has been read. Summed over
every chunk of every partition, the counts are the sources' own counts (``QASource.stats``),
plus the duplicate rows this step drops.

Duplicate ids: every partition reads the whole input, so the reader sees every row and keeps
each id with a digest of its row (:mod:`mtqa.readers.seen`: 44 bytes of memory per row read,
44 MB at 1M questions, plus the latest 65,536 ids in a dict). A row repeating an earlier row
exactly (same id, same content) is dropped and counted as skipped (``skipped_duplicate_id``);
a row with an earlier row's id and other content is refused with one line naming the id,
since no choice between the two is safe and a build with duplicate (id, language) rows cannot
be sampled.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from mtqa.errors import MtqaError
from mtqa.pipeline.stats import ROWS_OUT, StageStats
from mtqa.pipeline.step import Chunk, Step
from mtqa.readers.base import QASource, SourceBatch
from mtqa.readers.files import ScanningReader
from mtqa.readers.normalize import ROWS_REPAIRED, SKIP_DUPLICATE_ID, SKIPPED, skipped_key
from mtqa.readers.seen import IdRecord, id_hash
from mtqa.readers.spec import open_source
from mtqa.schema import QA_SCHEMA

log = logging.getLogger(__name__)

#: Rows per source batch at most; chunks are cut from batches, so this bounds only memory.
MAX_BATCH_SIZE = 1000


def shard_of(passage: str, num_shards: int) -> int:
    """The partition a passage belongs to: stable across runs, machines and Python versions."""
    return int.from_bytes(hashlib.sha1(passage.encode("utf-8")).digest()[:8], "big") % num_shards


def partition_mask(passages: pa.Array, num_shards: int, shard_index: int) -> np.ndarray:
    """For each row, whether its passage is in partition ``shard_index``. Each distinct
    passage of the batch is hashed once (SQuAD-style data has several questions per passage)."""
    encoded = passages.dictionary_encode()
    distinct = encoded.dictionary.to_pylist()
    keep = np.fromiter((shard_of(p, num_shards) == shard_index for p in distinct), dtype=bool,
                       count=len(distinct))
    return keep[encoded.indices.to_numpy(zero_copy_only=False)]


def _check_chunk_size(chunk_size: object) -> None:
    if not isinstance(chunk_size, int) or chunk_size < 1:
        raise MtqaError(f"chunk_size must be at least 1, got {chunk_size!r}")


class ReaderStep(Step):
    """Reads ``sources`` in order into chunks of ``chunk_size`` rows of partition
    ``shard_index`` of ``num_shards``.

    Needs open :class:`~mtqa.readers.base.QASource` objects (:func:`~mtqa.readers.open_source`,
    or :meth:`from_specs`); gives ``Chunk(index, qa)`` with ``qa`` in ``QA_SCHEMA``, one
    contiguous Arrow chunk per column. Use it as the first step: ``run`` ignores its input.
    """

    name = "source"

    def __init__(self, sources: Sequence[QASource], chunk_size: int, num_shards: int = 1,
                 shard_index: int = 0) -> None:
        super().__init__()
        if not sources:
            raise MtqaError("no sources given")
        _check_chunk_size(chunk_size)
        if not isinstance(num_shards, int) or num_shards < 1:
            raise MtqaError(f"num_shards must be at least 1, got {num_shards!r}")
        if not isinstance(shard_index, int) or not 0 <= shard_index < num_shards:
            raise MtqaError(
                f"shard index {shard_index} is outside 0..{num_shards - 1} (num_shards={num_shards})"
            )
        self.sources = list(sources)
        self.chunk_size, self.num_shards, self.shard_index = chunk_size, num_shards, shard_index

    @classmethod
    def from_specs(cls, specs: Iterable[str], chunk_size: int, *, limit: int | None = None,
                   split: str | None = None, num_shards: int = 1, shard_index: int = 0) -> ReaderStep:
        """Open each spec with :func:`~mtqa.readers.open_source` (``limit`` rows each, ``split``)
        and read them into chunks of ``chunk_size`` rows."""
        _check_chunk_size(chunk_size)
        batch_size = min(chunk_size, MAX_BATCH_SIZE)
        sources = [open_source(spec, limit=limit, batch_size=batch_size, split=split) for spec in specs]
        return cls(sources, chunk_size, num_shards, shard_index)

    def identity(self) -> dict:
        return {"sources": [s.identity() for s in self.sources]}

    def describe(self) -> dict:
        return {"sources": [s.describe() for s in self.sources]}

    def process(self, chunk: Chunk) -> Chunk:
        raise TypeError("ReaderStep is the first step of a build: call run(), which reads the sources")

    def expected_rows(self) -> int | None:
        """About how many rows this partition will give, when every source can tell cheaply
        (a Parquet file's metadata, a JSONL file's lines, a SQuAD file of at most
        :data:`COUNT_SQUAD_MAX_BYTES`); None otherwise. For the progress bar's total only."""
        total = 0
        for source in self.sources:
            rows = cheap_row_count(source)
            if rows is None:
                return None
            total += rows if source.limit is None else min(rows, source.limit)
        return total if self.num_shards == 1 else -(-total // self.num_shards)

    def run(self, chunks: Iterable[Chunk] = ()) -> Iterator[Chunk]:
        """Every chunk of this partition, in input order, numbered from 0 (``chunks`` is
        ignored: the reader is the first step)."""
        cutter = _ChunkCutter(self.name, self.chunk_size, self.num_shards, self.shard_index)
        ids = _SeenIds()
        started = time.perf_counter()
        for source in self.sources:
            for part in source.read():
                cutter.add(ids.drop_repeats(part, source.spec))
                for chunk in cutter.take():
                    self._timed(chunk, started)
                    yield chunk
                    # Time spent downstream while this generator was suspended is not reading.
                    started = time.perf_counter()
        cutter.finish()
        for chunk in cutter.take():
            self._timed(chunk, started)
            yield chunk
            started = time.perf_counter()

    def _timed(self, chunk: Chunk, started: float) -> float:
        """Give ``chunk`` the reading time since the previous chunk; return the time now."""
        now = time.perf_counter()
        self.stats = chunk.stats[self.name]
        self.stats.seconds += now - started
        log.debug("chunk %d: %d rows %s", chunk.index, chunk.qa.num_rows, dict(self.stats.counts))
        return now


#: Largest SQuAD JSON file whose questions :func:`cheap_row_count` counts (streamed with ijson,
#: 0.2 s for 100,000 questions in 35 MB here, docs/build.md; a larger file gets no total).
COUNT_SQUAD_MAX_BYTES = 1 << 30


def cheap_row_count(source: QASource) -> int | None:
    """The rows of a local file source, when that is cheap to know (see
    :meth:`ReaderStep.expected_rows`); None for Hub sources and compressed files."""
    path, kind = getattr(source, "path", None), getattr(source, "format", None)
    if path is None or str(path).endswith(".gz"):
        return None
    try:
        if kind == "parquet":
            return pq.ParquetFile(path).metadata.num_rows
        if kind == "jsonl":
            lines, last = 0, b"\n"
            with open(path, "rb") as f:
                while block := f.read(1 << 20):
                    lines += block.count(b"\n")
                    last = block[-1:]
            return lines + (last != b"\n")
        if kind in ("squad", "sample") and path.stat().st_size <= COUNT_SQUAD_MAX_BYTES:
            import ijson

            # Streamed, one paragraph's questions at a time: a whole parse held the file's size
            # several times over before the first chunk.
            with open(path, "rb") as f:
                try:
                    return sum(len(qas) for qas in ijson.items(ScanningReader(f), "data.item.paragraphs.item.qas")
                               if isinstance(qas, list))
                except ijson.JSONError:
                    return None  # the read reports where
    except (OSError, ValueError, TypeError, AttributeError, pa.ArrowException, ImportError):
        return None  # the read itself will report what is wrong with the file
    return None


class _SeenIds:
    """Every id read so far, over all sources, with a digest of its row (see the module)."""

    def __init__(self) -> None:
        self.record = IdRecord()
        self.rows: dict[str, int] = {}  # source spec -> rows read from it so far

    def drop_repeats(self, part: SourceBatch, spec: str) -> SourceBatch:
        """``part`` without the rows that repeat an earlier row exactly (each becomes a
        skipped row at its place); ``MtqaError`` for an id seen before with other content."""
        batch = part.rows
        first = self.rows.get(spec, 0)
        self.rows[spec] = first + batch.num_rows
        if not batch.num_rows:
            return part
        names = [n for n in batch.schema.names if n not in ("id", "source", "split")]
        columns = [batch.column(n).to_pylist() for n in names]
        ids = batch.column("id").to_pylist()
        hashes = [id_hash(rid) for rid in ids]
        earlier = self.record.find(list(dict.fromkeys(hashes)))  # and, below, this batch's first rows
        repeats: list[int] = []
        for i, (rid, hashed) in enumerate(zip(ids, hashes, strict=True)):
            digest = hashlib.blake2b(repr([c[i] for c in columns]).encode("utf-8", "surrogatepass"),
                                     digest_size=16).digest()
            seen = earlier.get(hashed)
            if seen is None:
                earlier[hashed] = (digest, spec, first + i)
                self.record.add(hashed, digest, spec, first + i)
            elif seen[0] == digest:
                repeats.append(i)
            else:
                where = (f"rows {seen[2]} and {first + i} of {spec}" if seen[1] == spec
                         else f"row {seen[2]} of {seen[1]} and row {first + i} of {spec}")
                raise MtqaError(f"question id {rid!r} appears twice with different content ({where}, "
                                "counting rows from 0); give the rows distinct ids or remove one")
        if not repeats:
            return part
        keep = np.ones(batch.num_rows, dtype=bool)
        keep[repeats] = False
        kept_before = np.concatenate([[0], np.cumsum(keep)])  # kept rows before each offset
        skipped = [(int(kept_before[offset]), reason) for offset, reason in part.skipped]
        skipped += [(int(kept_before[i]), SKIP_DUPLICATE_ID) for i in repeats]
        skipped.sort(key=lambda item: item[0])
        repaired = [int(kept_before[i]) for i in part.repaired if keep[i]]
        log.debug("%s: dropped %d exact repeat(s) of earlier rows", spec, len(repeats))
        return SourceBatch(batch.filter(pa.array(keep)), skipped, repaired)


class _ChunkCutter:
    """Cuts one partition's rows into chunks of ``size`` rows and counts, per chunk, its rows
    and the skipped rows that belong to it (each with the input's next row, or its last).

    Positions count this partition's rows from 0 over all sources: row ``p`` is in chunk
    ``p // size``. A chunk is handed out by :meth:`take` once it is cut and a later row of the
    input has been read (or the input has ended), because until then rows skipped after the
    chunk's last row may still belong to it.
    """

    def __init__(self, name: str, size: int, num_shards: int, shard_index: int) -> None:
        self.name, self.size, self.num_shards, self.shard_index = name, size, num_shards, shard_index
        self.pending: list[pa.RecordBatch] = []  # our rows not yet in a chunk
        self.pending_rows = 0
        self.mine = 0  # our rows read so far: the position of the next one
        self.last_mine: int | None = None  # position of the input's latest row, if it is ours
        self.carried: list[str] = []  # reasons of skipped rows waiting for the input's next row
        self.counts: dict[int, StageStats] = {}  # chunk index -> its counts so far
        self.ready: deque[tuple[int, pa.Table]] = deque()  # cut, not yet handed out
        self.index = 0

    def _stats(self, chunk_index: int) -> StageStats:
        return self.counts.setdefault(chunk_index, StageStats(self.name))

    def _count_skips(self, reasons: list[str], position: int) -> None:
        stats = self._stats(position // self.size)
        for reason in reasons:
            stats.add(SKIPPED)
            stats.add(skipped_key(reason))

    def add(self, part: SourceBatch) -> None:
        batch = part.rows if part.rows.schema == QA_SCHEMA else part.rows.cast(QA_SCHEMA)
        n = batch.num_rows
        keep = before = None
        if self.num_shards > 1 and n:
            keep = partition_mask(batch.column("passage"), self.num_shards, self.shard_index)
            before = np.cumsum(keep) - keep  # our rows before each row of the batch
            batch = batch.filter(pa.array(keep))
        k = batch.num_rows

        # A skipped row belongs to the input's next row, whichever partition that is in.
        waiting, self.carried = self.carried, []
        for offset, reason in part.skipped:
            if offset >= n:
                self.carried.append(reason)
            elif offset == 0:
                waiting.append(reason)
            elif keep is None:
                self._count_skips([reason], self.mine + offset)
            elif keep[offset]:
                self._count_skips([reason], self.mine + int(before[offset]))
        if n == 0:
            self.carried = waiting + self.carried
        elif waiting and (keep is None or keep[0]):
            self._count_skips(waiting, self.mine)

        for offset in part.repaired:  # repaired rows count in the chunk that holds them
            if keep is None:
                self._stats((self.mine + offset) // self.size).add(ROWS_REPAIRED)
            elif keep[offset]:
                self._stats((self.mine + int(before[offset])) // self.size).add(ROWS_REPAIRED)

        position, end = self.mine, self.mine + k
        while position < end:
            upto = min(end, (position // self.size + 1) * self.size)
            self._stats(position // self.size).add(ROWS_OUT, upto - position)
            position = upto
        if n:
            self.last_mine = end - 1 if keep is None or keep[n - 1] else None
        self.mine = end
        if k:
            self.pending.append(batch)
            self.pending_rows += k
        while self.pending_rows >= self.size:
            # The same slicing as before the reader was a step, so chunks stay byte-identical.
            table = pa.Table.from_batches(self.pending, schema=QA_SCHEMA)
            self.ready.append((self.index, table.slice(0, self.size).combine_chunks()))
            self.index += 1
            rest = table.slice(self.size)
            self.pending, self.pending_rows = rest.to_batches(), rest.num_rows

    def finish(self) -> None:
        """The input has ended: skips after its last row join that row's chunk, if ours."""
        if self.carried and self.last_mine is not None:
            self._count_skips(self.carried, self.last_mine)
        self.carried = []
        self.last_mine = None
        if self.pending_rows:
            self.ready.append((self.index, pa.Table.from_batches(self.pending, schema=QA_SCHEMA).combine_chunks()))
            self.index += 1
            self.pending, self.pending_rows = [], 0

    def take(self) -> Iterator[Chunk]:
        """The chunks no later skip can belong to, in order."""
        while self.ready and self.last_mine != (self.ready[0][0] + 1) * self.size - 1:
            index, table = self.ready.popleft()
            chunk = Chunk(index=index, qa=table)
            chunk.stats[self.name] = self.counts.pop(index, None) or StageStats(self.name)
            yield chunk
