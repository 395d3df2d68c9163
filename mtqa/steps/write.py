"""Write: Arrow IPC shards in long format, one file per chunk, written atomically.

A chunk's file appears under its final name only once it is complete (temporary file, then
rename). Rows the filter failed in "drop" mode go to a file of the same name under
``OUT/rejected/`` (same schema, with their reasons and scores), written before the data
file, so nothing is dropped silently. The writer records what it wrote in ``chunk.written``; the executor writes the chunk's
completion marker after this step returns, so a
file without a marker is simply rewritten on resume, with identical bytes.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from mtqa.pipeline import stats as S
from mtqa.io import atomic_path, sha256_file
from mtqa.schema import SHARD_SCHEMA, with_filter_columns
from mtqa.pipeline.manifest import ShardFile
from mtqa.pipeline.step import Chunk, Step


class ShardWriter(Step):
    name = "write"

    def __init__(self, out_dir: Path, shard_index: int = 0, num_shards: int = 1) -> None:
        super().__init__()
        self.out_dir = Path(out_dir)
        self.shard_index = shard_index
        self.num_shards = num_shards

    def relative_path(self, chunk_index: int) -> str:
        return f"data/part-{self.shard_index:05d}-of-{self.num_shards:05d}-{chunk_index:06d}.arrow"

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
        rejected = None
        if chunk.rejected is not None and chunk.rejected.num_rows:
            table = with_filter_columns(chunk.rejected)
            rel = self.relative_path(chunk.index).replace("data/", "rejected/", 1)
            size, digest, langs = self._write(table, rel)
            rejected = {"path": rel, "rows": table.num_rows, "bytes": size, "sha256": digest, "langs": langs}
            self.stats.add(S.REJECTED_ROWS, table.num_rows)
            self.stats.add(S.BYTES_WRITTEN, size)
        table = with_filter_columns(chunk.output)
        rel = self.relative_path(chunk.index)
        size, digest, langs = self._write(table, rel)
        shard = ShardFile(rel, table.num_rows, size, digest, langs, rejected)
        chunk.written = shard
        self.stats.add(S.ROWS_OUT, table.num_rows)
        self.stats.add(S.BYTES_WRITTEN, shard.bytes)
        self.stats.add(S.SHARDS_WRITTEN)
        return chunk
