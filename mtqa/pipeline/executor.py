"""Run a list of steps on this machine: stream chunks through them, resumably.

The executor knows no step class. It calls ``steps[0].run`` (a reader) with an empty stream,
skips the chunks a previous run finished, passes the others through the remaining steps, and
learns what happened only through the step contract (:mod:`mtqa.pipeline.step`): each
chunk's ``stats`` and ``written`` record, and each step's ``identity()`` and ``describe()``.

Layout of an output directory::

    OUT/build.json                      what the shards are made of (refused if it differs)
    OUT/data/part-SSSSS-of-NNNNN-CCCCCC.arrow   one Arrow IPC file per chunk
    OUT/rejected/part-SSSSS-of-NNNNN-CCCCCC.arrow  the rows the filter failed ("drop" mode)
    OUT/progress/shard-SSSSS/chunk-CCCCCC.json  completion marker, written last
    OUT/manifests/shard-SSSSS-of-NNNNN.json     per-partition manifest
    OUT/manifest.json                   merged manifest, once every partition is done

A chunk is done when its marker exists; killed at any point and rerun, a build skips the
done chunks and redoes the others, and the translation cache makes the redone chunk cheap.
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

import mtqa
from mtqa.errors import MtqaError
from mtqa.io import write_json_atomic
from mtqa.pipeline.manifest import MANIFEST_FILE, Manifest, ShardFile, merge, rejected_totals
from mtqa.pipeline.stats import StageStats
from mtqa.pipeline.step import Chunk, Step

IDENTITY_FILE = "build.json"

logger = logging.getLogger(__name__)


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


@dataclass(frozen=True, slots=True)
class RunSpec:
    """What the executor records about a run, apart from its steps.

    ``pipeline``: the full config as plain data (for the manifest); ``identity``: the part of
    it that decides the output (what a resume must match); the partition this run builds.
    """

    out: Path
    pipeline: dict
    identity: dict
    num_shards: int = 1
    shard_index: int = 0


class LocalExecutor:
    """Runs ``steps`` for one partition into ``spec.out``; ``steps[0]`` reads the input."""

    def __init__(self, steps: list[Step], spec: RunSpec, progress: bool | None = None):
        if not steps:
            raise ValueError("a pipeline needs at least a reader step")
        self.steps = steps
        self.spec = spec
        self.out = Path(spec.out)
        self.progress = progress  # None: show bars only on a terminal
        self.marker_dir = self.out / "progress" / f"shard-{spec.shard_index:05d}"

    # -- identity and resume -------------------------------------------------------------
    def identity(self) -> dict:
        identity = {"pipeline": self.spec.identity}
        for step in self.steps:
            identity.update(step.identity())
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

    # -- running ---------------------------------------------------------------------------
    def run(self) -> Manifest:
        """Build (or finish building) this partition; returns the merged manifest once every
        partition is done, else this partition's."""
        reader, *transforms = self.steps
        for step in self.steps:
            step.prepare()
        identity = self.identity()
        self._claim_output_dir(identity)
        totals = {step.name: StageStats(step.name) for step in self.steps}
        files: dict[int, ShardFile] = {}
        skipped: Counter = Counter()
        disable = None if self.progress is None else not self.progress
        bars = {
            step.name: tqdm(desc=f"{step.name:<9}", unit="rows", position=i, disable=disable, leave=True,
                            dynamic_ncols=True)
            for i, step in enumerate(self.steps)
        }

        def todo() -> Iterator[Chunk]:
            for chunk in reader.run(iter(())):
                bars[reader.name].update(chunk.qa.num_rows)
                for name, stats in chunk.stats.items():
                    totals[name].merge(stats)
                marker = self._load_marker(chunk.index)
                if marker is None:
                    yield chunk
                    continue
                if marker["rows_in"] != chunk.qa.num_rows:
                    raise MtqaError(
                        f"the input changed since chunk {chunk.index} was built "
                        f"({marker['rows_in']} rows then, {chunk.qa.num_rows} now); use a new --out"
                    )
                for name, data in marker["stages"].items():
                    totals.setdefault(name, StageStats(name)).merge(StageStats.from_dict(name, data))
                files[chunk.index] = ShardFile.from_dict(marker["file"])
                skipped["chunks"] += 1
                skipped["rows"] += chunk.qa.num_rows
                for step in transforms:
                    bars[step.name].update(chunk.qa.num_rows)
                logger.debug("chunk %d: done in an earlier run, skipped", chunk.index)

        def counted(chunks: Iterator[Chunk], bar) -> Iterator[Chunk]:
            for chunk in chunks:
                bar.update(chunk.qa.num_rows)
                yield chunk

        stream: Iterator[Chunk] = todo()
        for step in transforms:
            stream = counted(step.run(stream), bars[step.name])

        started = time.time()
        try:
            for chunk in stream:
                done = {name: stats for name, stats in chunk.stats.items() if name != reader.name}
                for name, stats in done.items():
                    totals[name].merge(stats)
                if not isinstance(chunk.written, ShardFile):
                    raise RuntimeError(f"no step wrote chunk {chunk.index}: the pipeline needs a writer last")
                files[chunk.index] = chunk.written
                # The marker is written last: it is what says the chunk is done.
                write_json_atomic(
                    self._marker(chunk.index),
                    {"chunk": chunk.index, "rows_in": chunk.qa.num_rows, "file": chunk.written.to_dict(),
                     "stages": {name: stats.to_dict() for name, stats in done.items()}},
                )
                logger.info("chunk %d: %d rows in, %d rows written to %s", chunk.index, chunk.qa.num_rows,
                            chunk.written.rows, chunk.written.path)
        finally:
            for bar in bars.values():
                bar.close()
            for step in self.steps:
                step.close()

        spec = self.spec
        if not files and spec.num_shards == 1:
            # An empty input is almost always a mistake (wrong file, wrong split): say so.
            raise MtqaError(f"the sources gave no rows: {', '.join(spec.pipeline.get('sources', []))}")
        manifest = self._manifest(identity, totals, files, skipped, time.time() - started)
        write_json_atomic(self.out / "manifests" / f"shard-{spec.shard_index:05d}-of-{spec.num_shards:05d}.json",
                          manifest.to_dict())
        merged = merge_manifests(self.out, spec.num_shards)
        return merged if merged is not None else manifest

    def _manifest(self, identity: dict, totals: dict[str, StageStats], files: dict[int, ShardFile],
                  skipped: Counter, seconds: float) -> Manifest:
        langs: Counter = Counter()
        for f in files.values():
            langs.update(f.langs)
        ordered = [files[i] for i in sorted(files)]
        described: dict = {}
        for step in self.steps:
            described.update(step.describe())
        return Manifest(
            mtqa_version=code_version(),
            pipeline=self.spec.pipeline,
            identity_sha256=hashlib.sha256(repr(sorted(identity.items())).encode()).hexdigest(),
            sources=described.pop("sources", []),
            model=identity.get("model"),
            stages=totals,
            langs=dict(sorted(langs.items())),
            rows=sum(f.rows for f in ordered),
            rejected=rejected_totals(ordered),
            files=ordered,
            partition={"num_shards": self.spec.num_shards, "shard_index": self.spec.shard_index},
            resumed={"chunks_skipped": skipped["chunks"], "rows_skipped": skipped["rows"]},
            last_run_seconds=round(seconds, 3),
            extra=described,
        )


def _first_difference(old, new, prefix: str = "") -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                return _first_difference(old.get(key), new.get(key), f"{prefix}{key}.")
    return prefix.rstrip(".") or "the build description"


def merge_manifests(out: Path, num_shards: int) -> Manifest | None:
    """Write ``OUT/manifest.json`` once every partition's manifest exists; return it."""
    paths = [out / "manifests" / f"shard-{i:05d}-of-{num_shards:05d}.json" for i in range(num_shards)]
    if not all(p.exists() for p in paths):
        return None
    merged = merge([Manifest.read(p) for p in paths])
    write_json_atomic(out / MANIFEST_FILE, merged.to_dict())
    return merged
