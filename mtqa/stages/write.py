"""Write: Arrow IPC shards in long format, one file per chunk, written atomically.

A chunk's file appears under its final name only once it is complete (temporary file, then
rename). The executor writes the chunk's completion marker after this stage returns, so a
file without a marker is simply rewritten on resume, with identical bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from mtqa import stats as S
from mtqa.io import atomic_path, sha256_file
from mtqa.schema import OUTPUT_SCHEMA
from mtqa.stages.base import Chunk, PipelineStage


@dataclass
class WrittenShard:
    path: str  # relative to the output directory
    rows: int
    bytes: int
    sha256: str
    langs: dict[str, int]


class ShardWriter(PipelineStage):
    name = "write"

    def __init__(self, out_dir: Path, shard_index: int = 0, num_shards: int = 1) -> None:
        super().__init__()
        self.out_dir = Path(out_dir)
        self.shard_index = shard_index
        self.num_shards = num_shards
        self.written: dict[int, WrittenShard] = {}

    def relative_path(self, chunk_index: int) -> str:
        return f"data/part-{self.shard_index:05d}-of-{self.num_shards:05d}-{chunk_index:06d}.arrow"

    def process(self, chunk: Chunk) -> Chunk:
        table = chunk.output.cast(OUTPUT_SCHEMA)
        rel = self.relative_path(chunk.index)
        path = self.out_dir / rel
        with atomic_path(path) as tmp:
            # No compression options: the IPC file format's bytes depend only on the data,
            # which is what makes a resumed build byte-identical to an uninterrupted one.
            with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, OUTPUT_SCHEMA) as writer:
                writer.write_table(table, max_chunksize=64 * 1024)
        counts = pc.value_counts(table.column("lang")).to_pylist() if table.num_rows else []
        langs = {item["values"]: item["counts"] for item in counts}
        shard = WrittenShard(rel, table.num_rows, path.stat().st_size, sha256_file(path), langs)
        self.written[chunk.index] = shard
        self.stats.add(S.ROWS_OUT, table.num_rows)
        self.stats.add(S.BYTES_WRITTEN, shard.bytes)
        self.stats.add(S.SHARDS_WRITTEN)
        return chunk
