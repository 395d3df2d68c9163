"""Dedup: translate every distinct segment of a chunk once.

SQuAD-style data has about five questions per paragraph, so most passage sentences repeat.
This stage gives each segment a ``uid`` into ``chunk.unique``, the distinct texts in
first-seen order. Across chunks, the translation cache plays the same role: a text already
translated in an earlier chunk, run or pipeline is a cache hit, not a new translation.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from mtqa.pipeline import stats as S
from mtqa.pipeline.step import Chunk, Step


class DedupStep(Step):
    name = "dedup"

    def process(self, chunk: Chunk) -> Chunk:
        segments = chunk.segments
        texts = segments.column("text").combine_chunks()
        # dictionary_encode keeps first-seen order, so the unique list is deterministic.
        encoded = pc.dictionary_encode(texts)
        chunk.unique = encoded.dictionary.to_pylist()
        uid = encoded.indices.cast(pa.int32())
        chunk.segments = segments.append_column("uid", uid)
        self.stats.add(S.SEGMENTS, segments.num_rows)
        self.stats.add(S.UNIQUE_SEGMENTS, len(chunk.unique))
        passage = pc.equal(segments.column("field"), "passage")
        self.stats.add(S.SEGMENTS_PASSAGE, pc.sum(passage).as_py() or 0)
        passage_uids = pc.filter(uid, passage.combine_chunks())
        self.stats.add(S.UNIQUE_PASSAGE, len(pc.unique(passage_uids)))
        return chunk
