"""Run a build on this machine: stream the input in chunks through the stages, resumably.

Layout of an output directory::

    OUT/build.json                      what the shards are made of (refused if it differs)
    OUT/data/part-SSSSS-of-NNNNN-CCCCCC.arrow   one Arrow IPC file per chunk
    OUT/rejected/part-SSSSS-of-NNNNN-CCCCCC.arrow  the rows the filter failed ("drop" mode)
    OUT/progress/shard-SSSSS/chunk-CCCCCC.json  completion marker, written last
    OUT/manifests/shard-SSSSS-of-NNNNN.json     per-partition manifest
    OUT/manifest.json                   merged manifest, once every partition is done

A chunk is done when its marker exists; killed at any point and rerun, a build skips the
done chunks and redoes the others, and the translation cache makes the redone chunk cheap.
The partition (``num_shards``, ``shard_index``) assigns every passage to one shard by a hash
of its text, so questions on the same passage stay together and dedup stays effective.
"""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pyarrow as pa
from tqdm.auto import tqdm

import mtqa
from mtqa.config import BuildConfig
from mtqa.errors import MtqaError
from mtqa.io import write_json_atomic
from mtqa.schema import QA_SCHEMA
from mtqa.stages.assemble import AssembleStage
from mtqa.stages.base import Chunk, PipelineStage
from mtqa.stages.dedup import DedupStage
from mtqa.stages.filter import FilterStage
from mtqa.stages.segment import SegmentStage
from mtqa.stages.source import open_source
from mtqa.stages.translate import TranslateStage
from mtqa.stages.write import ShardWriter
from mtqa.stats import StageStats

IDENTITY_FILE = "build.json"
MANIFEST_FILE = "manifest.json"


def shard_of(passage: str, num_shards: int) -> int:
    """The partition a passage belongs to: stable across runs, machines and Python versions."""
    return int.from_bytes(hashlib.sha1(passage.encode("utf-8")).digest()[:8], "big") % num_shards


def code_version() -> str:
    version = mtqa.__version__
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(mtqa.__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{version}+g{commit}" if commit else version


class LocalExecutor:
    """Builds one partition of a pipeline into ``config.out``."""

    def __init__(self, config: BuildConfig, progress: bool | None = None, stages: list[PipelineStage] | None = None):
        self.config = config
        self.out = Path(config.out)
        self.progress = progress  # None: show bars only on a terminal
        self.sources = [
            open_source(spec, limit=config.limit, batch_size=min(config.chunk_size, 1000), split=config.split)
            for spec in config.sources
        ]
        self.writer = ShardWriter(self.out, config.shard_index, config.num_shards)
        if stages is None:
            translate = TranslateStage(config.translate, config.langs, source_lang=config.source_lang)
            translate.check_langs()
            stages = [
                SegmentStage(config.segment),
                DedupStage(),
                translate,
                AssembleStage(config.langs, config.source_lang),
                FilterStage(config.filter, config.source_lang, langs=config.langs),
            ]
        self.stages = [*stages, self.writer]
        self.marker_dir = self.out / "progress" / f"shard-{config.shard_index:05d}"

    # -- identity and resume -------------------------------------------------------------
    def identity(self) -> dict:
        # A Hub revision the user did not pin is looked up online and may be unknown offline:
        # it goes into the manifest, not into what a resume must match.
        sources = [{k: v for k, v in s.describe().items() if k != "revision"} for s in self.sources]
        identity = {"pipeline": self.config.identity(), "sources": sources}
        for stage in self.stages:
            if hasattr(stage, "fingerprint_dict"):
                identity["model"] = stage.fingerprint_dict()
        return identity

    def _claim_output_dir(self, identity: dict) -> None:
        path = self.out / IDENTITY_FILE
        if path.exists():
            try:
                existing = json.loads(path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                existing = None
            if existing != identity and any((self.out / "progress").glob("shard-*/chunk-*.json")):
                differs = _first_difference(existing, identity)
                raise MtqaError(
                    f"{self.out} holds a different pipeline's data ({differs} differs); "
                    "use another --out or delete that directory"
                )
        elif self.out.exists() and any(self.out.iterdir()):
            raise MtqaError(f"{self.out} is not empty and is not an mtqa build directory; choose another --out")
        write_json_atomic(path, identity)

    def _marker(self, index: int) -> Path:
        return self.marker_dir / f"chunk-{index:06d}.json"

    def _load_marker(self, index: int) -> dict | None:
        path = self._marker(index)
        if not path.exists():
            return None
        marker = json.loads(path.read_text(encoding="utf-8"))
        data = self.out / marker["file"]["path"]
        if not data.exists() or data.stat().st_size != marker["file"]["bytes"]:
            return None
        rejected = marker["file"].get("rejected")
        if rejected and not ((self.out / rejected["path"]).exists()
                             and (self.out / rejected["path"]).stat().st_size == rejected["bytes"]):
            return None
        return marker

    # -- streaming -------------------------------------------------------------------------
    def _rows(self) -> Iterator[pa.RecordBatch]:
        cfg = self.config
        for source in self.sources:
            for batch in source.batches():
                batch = batch.cast(QA_SCHEMA) if batch.schema != QA_SCHEMA else batch
                if cfg.num_shards > 1:
                    mask = [shard_of(p, cfg.num_shards) == cfg.shard_index for p in batch.column("passage").to_pylist()]
                    batch = batch.filter(pa.array(mask))
                if batch.num_rows:
                    yield batch

    def _chunks(self) -> Iterator[tuple[int, pa.Table]]:
        size = self.config.chunk_size
        pending: list[pa.RecordBatch] = []
        rows = 0
        index = 0
        for batch in self._rows():
            pending.append(batch)
            rows += batch.num_rows
            while rows >= size:
                table = pa.Table.from_batches(pending, schema=QA_SCHEMA)
                yield index, table.slice(0, size).combine_chunks()
                index += 1
                rest = table.slice(size)
                pending, rows = rest.to_batches(), rest.num_rows
        if rows:
            yield index, pa.Table.from_batches(pending, schema=QA_SCHEMA).combine_chunks()

    def run(self) -> dict:
        """Build (or finish building) this partition; returns its manifest."""
        identity = self.identity()
        self._claim_output_dir(identity)
        totals = {stage.name: StageStats(stage.name) for stage in self.stages}
        files: dict[int, dict] = {}
        skipped = Counter()
        show = self.progress if self.progress is not None else None
        disable = None if show is None else not show
        bars = {
            name: tqdm(desc=f"{name:<9}", unit="rows", position=i, disable=disable, leave=True, dynamic_ncols=True)
            for i, name in enumerate(["source", *[s.name for s in self.stages]])
        }

        def todo() -> Iterator[Chunk]:
            for index, table in self._chunks():
                bars["source"].update(table.num_rows)
                marker = self._load_marker(index)
                if marker is not None:
                    if marker["rows_in"] != table.num_rows:
                        raise MtqaError(
                            f"the input changed since chunk {index} was built "
                            f"({marker['rows_in']} rows then, {table.num_rows} now); use a new --out"
                        )
                    for name, data in marker["stages"].items():
                        totals.setdefault(name, StageStats(name)).merge(StageStats.from_dict(name, data))
                    files[index] = marker["file"]
                    skipped["chunks"] += 1
                    skipped["rows"] += table.num_rows
                    for bar in bars.values():
                        if bar is not bars["source"]:
                            bar.update(table.num_rows)
                    continue
                yield Chunk(index=index, qa=table)

        def counted(chunks: Iterator[Chunk], bar) -> Iterator[Chunk]:
            for chunk in chunks:
                bar.update(chunk.qa.num_rows)
                yield chunk

        stream: Iterator[Chunk] = todo()
        for stage in self.stages:
            stream = counted(stage.run(stream), bars[stage.name])

        started = time.time()
        before = {stage.name: copy.deepcopy(stage.stats) for stage in self.stages}
        try:
            for chunk in stream:
                delta = {}
                for stage in self.stages:
                    now = stage.stats
                    prev = before[stage.name]
                    d = StageStats(stage.name, now.counts - prev.counts, now.seconds - prev.seconds)
                    delta[stage.name] = d.to_dict()
                    totals[stage.name].merge(d)
                    before[stage.name] = copy.deepcopy(now)
                shard = asdict(self.writer.written.pop(chunk.index))
                files[chunk.index] = shard
                # The marker is written last: it is what says the chunk is done.
                write_json_atomic(
                    self._marker(chunk.index),
                    {"chunk": chunk.index, "rows_in": chunk.qa.num_rows, "file": shard, "stages": delta},
                )
        finally:
            for bar in bars.values():
                bar.close()
            for stage in self.stages:
                stage.close()

        if not files and self.config.num_shards == 1:
            # An empty input is almost always a mistake (wrong file, wrong split): say so.
            raise MtqaError(f"the sources gave no rows: {', '.join(self.config.sources)}")
        # Every run reads the whole input (done chunks too), so the sources' own counts
        # (rows read, Hub rows skipped and why) are complete for this run.
        source_stats = StageStats("source")
        for source in self.sources:
            source_stats.merge(source.stats)
        totals = {"source": source_stats, **totals}
        manifest = self._manifest(identity, totals, files, skipped, time.time() - started)
        cfg = self.config
        write_json_atomic(self.out / "manifests" / f"shard-{cfg.shard_index:05d}-of-{cfg.num_shards:05d}.json", manifest)
        merged = merge_manifests(self.out, cfg.num_shards)
        return merged if merged is not None else manifest

    def _manifest(self, identity, totals, files, skipped, seconds) -> dict:
        langs = Counter()
        for f in files.values():
            langs.update(f["langs"])
        ordered = [files[i] for i in sorted(files)]
        return {
            "mtqa_version": code_version(),
            "pipeline": self.config.to_dict(),
            "identity_sha256": hashlib.sha256(repr(sorted(identity.items())).encode()).hexdigest(),
            "sources": [s.describe() for s in self.sources],
            "model": identity.get("model"),
            "partition": {"num_shards": self.config.num_shards, "shard_index": self.config.shard_index},
            "stages": {name: stats.to_dict() for name, stats in totals.items()},
            "langs": dict(sorted(langs.items())),
            "rows": sum(f["rows"] for f in ordered),
            "rejected": _rejected_totals(ordered),
            "files": ordered,
            "resumed": {"chunks_skipped": skipped["chunks"], "rows_skipped": skipped["rows"]},
            "last_run_seconds": round(seconds, 3),
        }


def _first_difference(old, new, prefix: str = "") -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                return _first_difference(old.get(key), new.get(key), f"{prefix}{key}.")
    return prefix.rstrip(".") or "the build description"


def _rejected_totals(files: list[dict]) -> dict:
    """Rows under ``OUT/rejected/`` (the filter's failed rows in "drop" mode), per language."""
    langs = Counter()
    for f in files:
        if f.get("rejected"):
            langs.update(f["rejected"]["langs"])
    return {"rows": sum(langs.values()), "langs": dict(sorted(langs.items()))}


def merge_manifests(out: Path, num_shards: int) -> dict | None:
    """Write ``OUT/manifest.json`` once every partition's manifest exists; return it."""
    paths = [out / "manifests" / f"shard-{i:05d}-of-{num_shards:05d}.json" for i in range(num_shards)]
    if not all(p.exists() for p in paths):
        return None
    parts = [json.loads(p.read_text(encoding="utf-8")) for p in paths]
    stages: dict[str, StageStats] = {}
    langs = Counter()
    for part in parts:
        for name, data in part["stages"].items():
            if name == "source" and name in stages:
                continue  # every partition reads the whole input: count it once
            stages.setdefault(name, StageStats(name)).merge(StageStats.from_dict(name, data))
        langs.update(part["langs"])
    merged = dict(parts[0])
    merged.pop("partition")
    merged.pop("resumed")
    merged.pop("last_run_seconds")
    merged["pipeline"] = {k: v for k, v in merged["pipeline"].items() if k != "shard_index"}
    merged["partitions"] = [
        {"shard_index": p["partition"]["shard_index"], "rows": p["rows"], "resumed": p["resumed"]} for p in parts
    ]
    merged["stages"] = {name: s.to_dict() for name, s in stages.items()}
    merged["langs"] = dict(sorted(langs.items()))
    merged["rows"] = sum(p["rows"] for p in parts)
    merged["files"] = [f for p in parts for f in p["files"]]
    merged["rejected"] = _rejected_totals(merged["files"])
    write_json_atomic(out / MANIFEST_FILE, merged)
    return merged
