"""The step contract: what every reader, transform and writer of a build implements.

A build is a list of steps (:func:`mtqa.pipeline.builder.build_pipeline`). The first step is
a reader: its :meth:`Step.run` is called with an empty stream and yields :class:`Chunk`
objects (a few thousand QA rows each, numbered from 0 in input order). Every later step
transforms the chunks it is given. A step only implements :meth:`Step.process`; timing and
the per-chunk stats live here once. Steps hold no state across chunks that the output
depends on, which is what lets the executor skip finished chunks on resume and still produce
byte-identical shards.

A step reports to the executor through four things only, never through attributes the
executor would have to know:

- ``chunk.stats[step.name]``: the step's counts and time for that chunk (set by :meth:`run`);
- ``chunk.written``: what a writer put on disk for the chunk (a writer sets it);
- :meth:`Step.identity`: what decides the step's output (a model fingerprint, the sources),
  recorded in ``OUT/build.json`` and matched on resume;
- :meth:`Step.describe`: what the manifest should say about the step (e.g. resolved revisions).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa

from mtqa.pipeline.stats import StageStats


@dataclass(slots=True)
class Chunk:
    """One slice of a partition's input and everything the steps derive from it.

    - ``qa``: the English rows (``mtqa.schema.QA_SCHEMA``), set by the reader.
    - ``segments``: one row per segment (``row``, ``field``, ``part``, ``seg``, ``text``,
      ``lead``, ``sep``), set by the segment step; dedup adds ``uid``.
    - ``unique``: the distinct segment texts of the chunk, in first-seen order (dedup).
    - ``translations``: ``{lang: [translation of unique[i], ...]}`` (translate).
    - ``output``: the long-format rows (``mtqa.schema.OUTPUT_SCHEMA``), set by assemble;
      the filter adds its columns (``SHARD_SCHEMA``) and, in "drop" mode, keeps only the
      rows that passed. The writer writes it to ``OUT/data/``.
    - ``passage_sentences``: for each row of ``output``, its passage as the list of its
      translated sentences (None for source-language rows), set by assemble for the filter's
      passage language ID.
    - ``row_flags``: for each row of ``output``, the reasons assemble flags it for (``answer_span``:
      a span given by the source did not index its passage); the filter adds them to its own.
    - ``rejected``: the rows the filter failed in "drop" mode, with their reasons and scores;
      the writer writes them to ``OUT/rejected/``.
    - ``stats``: ``{step name: StageStats}`` of this chunk, one entry per step it went through.
    - ``written``: the writer's record of the files it wrote for this chunk.
    """

    index: int
    qa: pa.Table
    segments: pa.Table | None = None
    unique: list[str] | None = None
    translations: dict[str, list[str]] = field(default_factory=dict)
    output: pa.Table | None = None
    passage_sentences: list[list[str] | None] | None = None
    row_flags: list[list[str]] | None = None
    rejected: pa.Table | None = None
    stats: dict[str, StageStats] = field(default_factory=dict)
    written: Any = None


class Step(ABC):
    """A step of the build. Subclasses set ``name`` and implement ``process``.

    ``self.stats`` is the current chunk's :class:`StageStats` while :meth:`process` runs:
    add counts to it there; ``self.totals`` adds them up over this run. Heavy resources (models, pools) load lazily or in
    :meth:`prepare`, so a step constructs and pickles cheaply.
    """

    name: ClassVar[str]

    def __init__(self) -> None:
        self.stats = StageStats(self.name)
        self.totals = StageStats(self.name)

    def prepare(self) -> None:
        """Check what can be checked and load what must be loaded before the first chunk
        (e.g. resolve a model and check its languages). Called once by the executor,
        before :meth:`identity`; raise ``MtqaError`` on bad settings."""

    def identity(self) -> dict[str, Any]:
        """What decides this step's output beyond the pipeline config (merged into the
        build identity that a resume must match). Empty for most steps."""
        return {}

    def describe(self) -> dict[str, Any]:
        """What the manifest records about this step (merged into the manifest)."""
        return {}

    def expected_rows(self) -> int | None:
        """A reader's number of input rows when it can tell cheaply (for progress totals and
        ETAs), else None."""
        return None

    @abstractmethod
    def process(self, chunk: Chunk) -> Chunk:
        """Transform one chunk; raise ``MtqaError`` on bad input."""

    def run(self, chunks: Iterable[Chunk]) -> Iterator[Chunk]:
        for chunk in chunks:
            self.stats = StageStats(self.name)
            with self.stats.timer():
                chunk = self.process(chunk)
            self._record(chunk, self.stats)
            yield chunk

    def _record(self, chunk: Chunk, stats: StageStats) -> None:
        """Give ``chunk`` this step's ``stats`` and add them to the run's totals (a step that
        overrides :meth:`run` calls this for every chunk it yields)."""
        chunk.stats[self.name] = stats
        self.stats = stats
        self.totals.merge(stats)

    def close(self) -> None:
        """Release resources (models, files, worker processes). Called once by the executor."""
