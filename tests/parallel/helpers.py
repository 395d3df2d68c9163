"""The build pipeline of a config with parallel sources, a title split or ``mt`` off.

``pipeline_for`` is what :func:`mtqa.pipeline.builder.build_pipeline` gives once it opens the
sources with :func:`mtqa.readers.build_sources.reader_for` and resolves the languages with
:func:`~mtqa.readers.build_sources.build_langs` (the change asked of the builder's owner);
until then the tests build the list here, from the same functions.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from mtqa.config import BuildConfig
from mtqa.pipeline.builder import run_build
from mtqa.pipeline.manifest import Manifest
from mtqa.pipeline.step import Step
from mtqa.readers.build_sources import build_langs, reader_for
from mtqa.steps.assemble import AssembleStep
from mtqa.steps.dedup import DedupStep
from mtqa.steps.filters import FilterStep
from mtqa.steps.segment import SegmentStep
from mtqa.steps.translate import TranslateStep
from mtqa.steps.write import ShardWriter


def pipeline_for(config: BuildConfig, translate: Step | None = None) -> list[Step]:
    reader = reader_for(config)
    langs = build_langs(config, reader.sources)
    steps: list[Step] = [reader, SegmentStep(config.segment), DedupStep()]
    if config.mt:
        steps.append(translate or TranslateStep(config.translate, langs, source_lang=config.source_lang))
    return steps + [AssembleStep(langs, config.source_lang), FilterStep(config.filter, config.source_lang, langs=langs),
                    ShardWriter(Path(config.out), config.shard_index, config.num_shards)]


def build(config: BuildConfig, translate: Step | None = None) -> Manifest:
    return run_build(config, progress=False, steps=pipeline_for(config, translate))


def shards(out: Path) -> pa.Table:
    return pa.concat_tables(pa.ipc.open_file(str(p)).read_all() for p in sorted((Path(out) / "data").glob("*.arrow")))


def squad_json(path: Path, articles: list[dict]) -> Path:
    """A SQuAD file: ``articles`` = [{title, paragraphs: [{context, qas: [...]}]}]."""
    path.write_text(json.dumps({"version": "1.1", "data": articles}, ensure_ascii=False), encoding="utf-8")
    return path
