"""The stage contract.

A build reads its input as a stream of :class:`Chunk` objects (a few thousand QA rows each)
and passes every chunk through the stages in order. A stage only implements
:meth:`PipelineStage.process`; counting and timing live here once. Stages hold no state
across chunks that the output depends on, which is what lets the executor skip finished
chunks on resume and still produce byte-identical shards.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar

import pyarrow as pa

from mtqa.stats import StageStats


@dataclass(slots=True)
class Chunk:
    """One slice of a shard's input and everything the stages derive from it.

    - ``qa``: the English rows (``mtqa.schema.QA_SCHEMA``), set by the source.
    - ``segments``: one row per segment (``row``, ``field``, ``part``, ``seg``, ``text``,
      ``lead``, ``sep``), set by the segment stage; dedup adds ``uid``.
    - ``unique``: the distinct segment texts of the chunk, in first-seen order (dedup).
    - ``translations``: ``{lang: [translation of unique[i], ...]}`` (translate).
    - ``output``: the long-format rows (``mtqa.schema.OUTPUT_SCHEMA``), set by assemble;
      the filter adds its columns (``SHARD_SCHEMA``) and, in "drop" mode, keeps only the
      rows that passed. The writer writes it to ``OUT/data/``.
    - ``rejected``: the rows the filter failed in "drop" mode, with their reasons and scores;
      the writer writes them to ``OUT/rejected/``.
    """

    index: int
    qa: pa.Table
    segments: pa.Table | None = None
    unique: list[str] | None = None
    translations: dict[str, list[str]] = field(default_factory=dict)
    output: pa.Table | None = None
    rejected: pa.Table | None = None


class PipelineStage(ABC):
    """A step of the build. Subclasses set ``name`` and implement ``process``."""

    name: ClassVar[str]

    def __init__(self) -> None:
        self.stats = StageStats(self.name)

    @abstractmethod
    def process(self, chunk: Chunk) -> Chunk:
        """Transform one chunk; raise ``MtqaError`` on bad input."""

    def run(self, chunks: Iterable[Chunk]) -> Iterator[Chunk]:
        for chunk in chunks:
            with self.stats.timer():
                chunk = self.process(chunk)
            yield chunk

    def close(self) -> None:
        """Release resources (models, files). Called once by the executor."""
