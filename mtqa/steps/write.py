"""Write: Arrow IPC shards in long format, one file per chunk, written atomically.

A chunk's file is ``OUT/data/SPLIT-SSSSS-of-NNNNN-CCCCCC.arrow``: the split, the partition
(SSSSS of NNNNN) and the chunk. ``SPLIT-SSSSS-of-NNNNN`` is the pattern ``datasets`` reads a
split from (``load_dataset("OUT")`` gives a ``test`` split for a build of a test set, not
"part"); the chunk number keeps every chunk its own file. The split is the one the chunk's
rows have (their ``split`` column), or ``train`` when they disagree or it is not a plain word.

A chunk's file appears under its final name only once it is complete (temporary file, then
rename, :mod:`mtqa.io`). Rows the filter failed in "drop" mode go to a file of the same name
under ``OUT/rejected/`` (same schema, with their reasons and scores), written before the data
file, so nothing is dropped silently. The writer records what it wrote in ``chunk.written``;
the executor writes the chunk's completion marker after this step returns, so a file without
a marker is simply rewritten on resume, with identical bytes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from mtqa.pipeline import stats as S
from mtqa.io import atomic_path, sha256_file
from mtqa.schema import SHARD_SCHEMA, with_filter_columns
from mtqa.pipeline.manifest import ShardFile
from mtqa.pipeline.step import Chunk, Step


#: A split name ``datasets`` accepts and that cannot be confused with the rest of the name.
_SPLIT_NAME = re.compile(r"[A-Za-z0-9_]+")
DEFAULT_SPLIT = "train"


def shard_name(split: str, shard_index: int, num_shards: int, chunk_index: int) -> str:
    """``SPLIT-SSSSS-of-NNNNN-CCCCCC.arrow``, the name of one chunk's file."""
    return f"{split}-{shard_index:05d}-of-{num_shards:05d}-{chunk_index:06d}.arrow"


def chunk_split(qa: pa.Table) -> str:
    """The split a chunk's files are named after: the one its rows share, else ``train``."""
    if "split" not in qa.column_names or not qa.num_rows:
        return DEFAULT_SPLIT
    values = pc.unique(qa.column("split")).to_pylist()
    if len(values) == 1 and isinstance(values[0], str) and _SPLIT_NAME.fullmatch(values[0]):
        return values[0]
    return DEFAULT_SPLIT


class ShardWriter(Step):
    """Writes each chunk's rows to ``OUT/data/`` (and the filter's failed rows to
    ``OUT/rejected/``). ``split`` names the files; None: each chunk's own (:func:`chunk_split`)."""

    name = "write"

    def __init__(self, out_dir: Path, shard_index: int = 0, num_shards: int = 1, split: str | None = None) -> None:
        super().__init__()
        if split is not None and not _SPLIT_NAME.fullmatch(split):
            raise ValueError(f"a split name may hold only letters, digits and '_', got {split!r}")
        self.out_dir = Path(out_dir)
        self.shard_index = shard_index
        self.num_shards = num_shards
        self.split = split

    def relative_path(self, chunk_index: int, split: str = DEFAULT_SPLIT) -> str:
        return f"data/{shard_name(split, self.shard_index, self.num_shards, chunk_index)}"

    def _write(self, table: pa.Table, rel: str) -> tuple[int, str, dict[str, int]]:
        path = self.out_dir / rel
        with atomic_path(path) as tmp:
            # No compression options: the IPC file format's bytes depend only on the data,
            # which is what makes a resumed build byte-identical to an uninterrupted one.
            with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, SHARD_SCHEMA) as writer:
                writer.write_table(table, max_chunksize=64 * 1024)
        counts = pc.value_counts(table.column("lang")).to_pylist() if table.num_rows else []
        return path.stat().st_size, sha256_file(path), {item["values"]: item["counts"] for item in counts}

    def process(self, chunk: Chunk) -> Chunk:
        split = self.split or chunk_split(chunk.qa)
        rejected = None
        if chunk.rejected is not None and chunk.rejected.num_rows:
            table = with_filter_columns(chunk.rejected)
            rel = self.relative_path(chunk.index, split).replace("data/", "rejected/", 1)
            size, digest, langs = self._write(table, rel)
            rejected = {"path": rel, "rows": table.num_rows, "bytes": size, "sha256": digest, "langs": langs}
            self.stats.add(S.REJECTED_ROWS, table.num_rows)
            self.stats.add(S.BYTES_WRITTEN, size)
        table = with_filter_columns(chunk.output)
        rel = self.relative_path(chunk.index, split)
        size, digest, langs = self._write(table, rel)
        shard = ShardFile(rel, table.num_rows, size, digest, langs, rejected)
        chunk.written = shard
        self.stats.add(S.ROWS_OUT, table.num_rows)
        self.stats.add(S.BYTES_WRITTEN, shard.bytes)
        self.stats.add(S.SHARDS_WRITTEN)
        return chunk
