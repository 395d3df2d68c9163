"""The default build pipeline: which steps a :class:`~mtqa.config.BuildConfig` runs, in order.

This is the one place that knows the step classes. The executor (``mtqa.pipeline.executor``)
runs whatever list it is given; tests and other front ends (Ray, Slurm) build their own lists
or reuse this one.
"""

from __future__ import annotations

from pathlib import Path

from mtqa.config import BuildConfig
from mtqa.pipeline.executor import LocalExecutor, RunSpec
from mtqa.pipeline.manifest import Manifest
from mtqa.pipeline.step import Step
from mtqa.readers import ReaderStep
from mtqa.readers.build_sources import build_langs, reader_for
from mtqa.steps.assemble import AssembleStep
from mtqa.steps.dedup import DedupStep
from mtqa.steps.filters import FilterStep
from mtqa.steps.mark import MarkAnswersStep
from mtqa.steps.segment import SegmentStep
from mtqa.steps.translate import TranslateStep
from mtqa.steps.write import ShardWriter


def reader_step(config: BuildConfig) -> ReaderStep:
    """The step that reads the config's sources (title split applied), chunked and partitioned."""
    return reader_for(config)


def build_pipeline(config: BuildConfig) -> list[Step]:
    """reader → segment → mark → dedup → translate → assemble → filter → write (no mark or
    translate step with ``mt: false``: only the languages parallel sources give are written)."""
    reader = reader_step(config)
    langs = build_langs(config, reader.sources)
    translate = [TranslateStep(config.translate, langs, source_lang=config.source_lang)] if config.mt else []
    projection = config.projection.for_model(config.translate.model)
    mark = [MarkAnswersStep(projection, langs, config.source_lang)] if config.mt else []
    return [
        reader,
        SegmentStep(config.segment),
        *mark,
        DedupStep(),
        *translate,
        AssembleStep(langs, config.source_lang, projection),
        FilterStep(config.filter, config.source_lang, langs=langs),
        ShardWriter(Path(config.out), config.shard_index, config.num_shards),
    ]


def run_spec(config: BuildConfig) -> RunSpec:
    return RunSpec(out=Path(config.out), pipeline=config.to_dict(), identity=config.identity(),
                   num_shards=config.num_shards, shard_index=config.shard_index)


def run_build(config: BuildConfig, progress: bool | None = None, steps: list[Step] | None = None) -> Manifest:
    """Build (or finish building) ``config``'s partition into ``config.out``; ``steps`` replace
    the default pipeline (e.g. a fake translator in tests)."""
    return LocalExecutor(steps if steps is not None else build_pipeline(config), run_spec(config),
                         progress=progress).run()
