"""Run a list of steps on this machine: stream chunks through them, resumably and safely
next to other runs.

The executor knows no step class. It calls ``steps[0].run`` (a reader) with an empty stream,
skips the chunks a previous run finished, passes the others through the remaining steps, and
learns what happened only through the step contract (:mod:`mtqa.pipeline.step`): each
chunk's ``stats`` and ``written`` record, and each step's ``identity()`` and ``describe()``.

Layout of an output directory::

    OUT/build.json                      what the shards are made of (refused if it differs)
    OUT/.lock                           the directory lock (held briefly; see mtqa.pipeline.locks)
    OUT/data/SPLIT-SSSSS-of-NNNNN-CCCCCC.arrow      one Arrow IPC file per chunk
    OUT/rejected/SPLIT-SSSSS-of-NNNNN-CCCCCC.arrow  the rows the filter failed ("drop" mode)
    OUT/progress/shard-SSSSS.lock       held by the run building partition SSSSS
    OUT/progress/shard-SSSSS/chunk-CCCCCC.json  completion marker, written last
    OUT/manifests/shard-SSSSS-of-NNNNN.json     per-partition manifest
    OUT/manifest.json                   merged manifest, once every partition is done

A chunk is done when its marker exists and the files it names still have the recorded size
and SHA-256; killed at any point and rerun, a build skips the done chunks and redoes the
others (a damaged one included), and the translation cache makes a redone chunk cheap.

Concurrency (docs/build.md, "Concurrent runs"): the partitions of one pipeline may run at
the same time into one ``OUT``; a second run of a partition that is running is refused; a run
of another pipeline is refused whenever ``OUT`` holds finished work or a run is under way.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import mtqa
from mtqa.errors import MtqaError
from mtqa.io import remove_stale_tmp, sha256_file, tmp_final_name, write_error, write_json_atomic
from mtqa.pipeline.locks import FileLock, LockBusy, is_locked
from mtqa.pipeline.manifest import MANIFEST_FILE, Manifest, ShardFile, merge, rejected_totals
from mtqa.pipeline.progress import BuildProgress
from mtqa.pipeline.stats import StageStats
from mtqa.pipeline.step import Chunk, Step

IDENTITY_FILE = "build.json"
LOCK_FILE = ".lock"
#: Shard files of every partition: ``SPLIT-SSSSS-of-NNNNN-CCCCCC.arrow`` (the writer's names).
SHARD_GLOB = "*-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9]-[0-9][0-9][0-9][0-9][0-9][0-9].arrow"
#: What a run writes in OUT itself besides build.json: the lock and our temporary files.
_OWN_TOP_LEVEL = {LOCK_FILE}
#: Manifest fields that describe the run that wrote it, not the build: a rerun that only
#: finds done chunks leaves a manifest alone when nothing else differs.
RUN_FIELDS = ("resumed", "last_run_seconds", "translation_cache")

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


@dataclass(slots=True)
class RunRecord:
    """What one run of one partition did (kept in memory, for the summary; never written).

    ``chunks_done_before``/``rows_done_before``: chunks an earlier run had finished (skipped
    now); ``chunks_built``/``rows_built``: chunks this run built; ``redone``: chunks whose
    marker or files were damaged, found and built again; ``missing_partitions``: partitions
    of the build with no manifest yet (empty once the build is complete); ``manifest_path``:
    the merged manifest, once it exists.
    """

    out: Path
    num_shards: int
    shard_index: int
    chunks_done_before: int = 0
    rows_done_before: int = 0
    chunks_built: int = 0
    rows_built: int = 0
    seconds: float = 0.0
    redone: list[str] = field(default_factory=list)
    missing_partitions: list[int] = field(default_factory=list)
    manifest_path: Path | None = None

    @property
    def chunks(self) -> int:
        return self.chunks_done_before + self.chunks_built


def partition_manifest_path(out: Path, shard_index: int, num_shards: int) -> Path:
    return out / "manifests" / f"shard-{shard_index:05d}-of-{num_shards:05d}.json"


class LocalExecutor:
    """Runs ``steps`` for one partition into ``spec.out``; ``steps[0]`` reads the input.

    ``progress``: True shows tqdm bars, False none, None bars only when stderr is a terminal;
    without bars, progress goes to the ``mtqa.pipeline.progress`` log every 30 s.
    """

    def __init__(self, steps: list[Step], spec: RunSpec, progress: bool | None = None):
        if not steps:
            raise ValueError("a pipeline needs at least a reader step")
        self.steps = steps
        self.spec = spec
        self.out = Path(spec.out)
        self.progress = progress
        self.marker_dir = self.out / "progress" / f"shard-{spec.shard_index:05d}"
        self.record = RunRecord(self.out, spec.num_shards, spec.shard_index)

    # -- identity ----------------------------------------------------------------------------
    def identity(self) -> dict:
        identity = {"pipeline": self.spec.identity}
        for step in self.steps:
            identity.update(step.identity())
        return identity

    @property
    def _partition(self) -> str:
        return f"partition {self.spec.shard_index} of {self.spec.num_shards}"

    # -- claiming the output directory ------------------------------------------------------
    def _ensure_out_dir(self) -> None:
        out = self.out
        if out.is_dir():
            return
        if out.exists() or out.is_symlink():
            raise MtqaError(f"--out {out} is a file, not a directory; choose another --out")
        try:
            out.mkdir(parents=True, exist_ok=True)  # another partition may create it at the same moment
        except FileExistsError:
            raise MtqaError(f"--out {out} is a file, not a directory; choose another --out") from None
        except NotADirectoryError:
            raise MtqaError(f"--out {out}: a parent of it is a file, not a directory") from None
        except OSError as e:
            raise write_error(out, e, "create") from None

    def _finished_work(self) -> bool:
        """Whether ``OUT`` holds anything a run finished: a chunk marker or a manifest."""
        return (any((self.out / "progress").glob("shard-*/chunk-*.json"))
                or any((self.out / "manifests").glob("shard-*.json"))
                or (self.out / MANIFEST_FILE).exists())

    def _running_partitions(self) -> list[str]:
        return sorted(p.stem for p in (self.out / "progress").glob("shard-*.lock") if is_locked(p))

    def _foreign_entries(self) -> list[str]:
        return sorted(p.name for p in self.out.iterdir()
                      if p.name not in _OWN_TOP_LEVEL and tmp_final_name(p.name) not in (IDENTITY_FILE, MANIFEST_FILE))

    def _check_identity(self, identity: dict) -> None:
        """Under the directory lock: accept ``OUT/build.json`` if it says ``identity``, claim
        a new directory, refuse anything else. Never rewrites an unchanged build.json."""
        path = self.out / IDENTITY_FILE
        # Only runs holding the directory lock write these two files: any temporary file of
        # theirs is a killed run's.
        remove_stale_tmp(self.out, IDENTITY_FILE)
        remove_stale_tmp(self.out, MANIFEST_FILE)
        if path.exists():
            try:
                existing = json.loads(path.read_text(encoding="utf-8"))
                damaged = not isinstance(existing, dict)
            except (ValueError, UnicodeDecodeError):
                existing, damaged = None, True
            except OSError as e:
                raise MtqaError(f"cannot read {path}: {os.strerror(e.errno or 0)}") from None
            if existing == identity:
                return
            if damaged and self._finished_work():
                # It alone says what the finished chunks are made of: never guess.
                raise MtqaError(f"{path} is damaged (not a JSON object); restore it, or use another --out")
            differs = _first_difference(existing, identity)
            running = self._running_partitions()
            if running:
                raise MtqaError(
                    f"{self.out} is being built by another run of a different pipeline ({differs} differs; "
                    f"running: {', '.join(running)}); use another --out"
                )
            if self._finished_work():
                raise MtqaError(
                    f"{self.out} holds a different pipeline's data ({differs} differs); "
                    "use another --out or delete that directory"
                )
            # Nothing finished and nobody running: the earlier claim left only unfinished
            # files (a run that failed on its input, say). Start over as this pipeline.
            logger.info("%s: no finished work of the earlier pipeline (%s differs); claiming it", self.out, differs)
            for folder in ("data", "rejected"):
                for orphan in (self.out / folder).glob(SHARD_GLOB):
                    orphan.unlink(missing_ok=True)
        else:
            foreign = self._foreign_entries()
            if foreign:
                raise MtqaError(
                    f"{self.out} is not empty and is not an mtqa build directory (it holds {foreign[0]}); "
                    "choose another --out"
                )
        write_json_atomic(path, identity)

    def _claim(self, identity: dict) -> FileLock:
        """Check or claim ``OUT`` and take this partition's lock; returns that lock (held)."""
        self._ensure_out_dir()
        spec = self.spec
        partition_lock = FileLock(self.out / "progress" / f"shard-{spec.shard_index:05d}.lock")
        with FileLock(self.out / LOCK_FILE):
            self._check_identity(identity)
            try:
                (self.out / "progress").mkdir(exist_ok=True)
            except OSError as e:
                if not (self.out / "progress").is_dir():
                    raise write_error(self.out / "progress", e, "create") from None
            try:
                # Taken under the directory lock, so a run of another pipeline that checks for
                # running partitions under that lock cannot miss this one.
                partition_lock.acquire(wait=False)
            except LockBusy as busy:
                raise MtqaError(
                    f"{self._partition} is already being built into {self.out} by "
                    f"{busy.holder or 'another process'}; wait for it to finish (or stop it) and rerun"
                ) from None
        if not partition_lock.read_only:
            try:
                self._remove_stale_tmp()
            except BaseException:
                partition_lock.release()
                raise
        return partition_lock

    def _remove_stale_tmp(self) -> None:
        """This partition's temporary files left by a killed run (only ours, only this
        partition's names: other partitions may be writing theirs right now)."""
        spec = self.spec
        mine = f"*-{spec.shard_index:05d}-of-{spec.num_shards:05d}-*.arrow"
        removed = (remove_stale_tmp(self.out / "data", mine) + remove_stale_tmp(self.out / "rejected", mine)
                   + remove_stale_tmp(self.marker_dir, "chunk-*.json")
                   + remove_stale_tmp(self.out / "manifests", f"shard-{spec.shard_index:05d}-of-{spec.num_shards:05d}.json"))
        if removed:
            logger.info("%s: removed %d temporary file(s) of a killed run", self._partition, removed)

    # -- completion markers ------------------------------------------------------------------
    def _marker(self, index: int) -> Path:
        return self.marker_dir / f"chunk-{index:06d}.json"

    def _load_marker(self, index: int) -> dict | None:
        """The chunk's marker if the chunk is done: the marker is whole and every file it names
        has its recorded size and SHA-256. A damaged chunk is logged and counted, and redone."""
        path = self._marker(index)
        if not path.exists():
            return None
        try:
            marker = json.loads(path.read_text(encoding="utf-8"))
            files = [marker["file"]] + ([marker["file"]["rejected"]] if marker["file"].get("rejected") else [])
            checks = [(str(f["path"]), int(f["bytes"]), str(f["sha256"])) for f in files]
            int(marker["rows_in"])
            dict(marker["stages"])
        except OSError as e:
            raise MtqaError(f"cannot read {path}: {os.strerror(e.errno or 0)}") from None
        except (ValueError, UnicodeDecodeError, KeyError, TypeError, AttributeError):
            return self._damaged(index, f"its completion marker {path} is damaged")
        for rel, size, digest in checks:
            data = self.out / rel
            try:
                if data.stat().st_size != size:
                    return self._damaged(index, f"{data} has {data.stat().st_size:,} bytes, not {size:,}")
                if sha256_file(data) != digest:
                    return self._damaged(index, f"{data} does not match its recorded SHA-256")
            except FileNotFoundError:
                return self._damaged(index, f"{data} is missing")
            except OSError as e:
                raise MtqaError(f"cannot read {data}: {os.strerror(e.errno or 0)}") from None
        return marker

    def _damaged(self, index: int, why: str) -> None:
        logger.warning("chunk %d: %s; building it again", index, why)
        self.record.redone.append(f"chunk {index}: {why}")
        return None

    # -- running ---------------------------------------------------------------------------
    def run(self) -> Manifest:
        """Build (or finish building) this partition; returns the merged manifest once every
        partition is done, else this partition's. ``manifest.this_run`` says what this run did."""
        reader, *transforms = self.steps
        for step in self.steps:
            step.prepare()
        identity = self.identity()
        partition_lock = self._claim(identity)
        try:
            return self._run(identity, reader, transforms)
        finally:
            partition_lock.release()

    def _run(self, identity: dict, reader: Step, transforms: list[Step]) -> Manifest:
        totals = {step.name: StageStats(step.name) for step in self.steps}
        files: dict[int, ShardFile] = {}
        record = self.record
        show_bars = sys.stderr.isatty() if self.progress is None else self.progress
        expected = _expected_rows(reader)
        progress = BuildProgress([step.name for step in self.steps], expected, bars=show_bars,
                                 desc=f"build {self._partition}" if self.spec.num_shards > 1 else "build")

        def todo() -> Iterator[Chunk]:
            for chunk in reader.run(iter(())):
                progress.update(reader.name, chunk.qa.num_rows)
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
                record.chunks_done_before += 1
                record.rows_done_before += chunk.qa.num_rows
                for step in transforms:
                    progress.update(step.name, chunk.qa.num_rows)
                progress.chunk_done(chunk.qa.num_rows, skipped=True)
                logger.debug("chunk %d: done in an earlier run, skipped", chunk.index)

        def counted(chunks: Iterator[Chunk], name: str) -> Iterator[Chunk]:
            for chunk in chunks:
                progress.update(name, chunk.qa.num_rows)
                yield chunk

        stream: Iterator[Chunk] = todo()
        for step in transforms:
            stream = counted(step.run(stream), step.name)

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
                record.chunks_built += 1
                record.rows_built += chunk.qa.num_rows
                progress.chunk_done(chunk.qa.num_rows)
                logger.info("chunk %d: %d rows in, %d rows written to %s", chunk.index, chunk.qa.num_rows,
                            chunk.written.rows, chunk.written.path)
        finally:
            progress.close()
            for step in self.steps:
                step.close()
        record.seconds = time.time() - started

        spec = self.spec
        if not files and spec.num_shards == 1:
            # An empty input is almost always a mistake (wrong file, wrong split): say so.
            raise MtqaError(f"the sources gave no rows: {', '.join(spec.pipeline.get('sources', []))}")
        manifest = self._manifest(identity, totals, files)
        path = partition_manifest_path(self.out, spec.shard_index, spec.num_shards)
        if not _same_build(path, manifest):
            write_json_atomic(path, manifest.to_dict())
        merged = merge_manifests(self.out, spec.num_shards)
        record.missing_partitions = missing_partitions(self.out, spec.num_shards)
        result = merged if merged is not None else manifest
        record.manifest_path = self.out / MANIFEST_FILE if merged is not None else None
        result.this_run = record
        return result

    def _manifest(self, identity: dict, totals: dict[str, StageStats], files: dict[int, ShardFile]) -> Manifest:
        langs: Counter = Counter()
        for f in files.values():
            langs.update(f.langs)
        ordered = [files[i] for i in sorted(files)]
        described: dict = {}
        for step in self.steps:
            described.update(step.describe())
        record = self.record
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
            resumed={"chunks_skipped": record.chunks_done_before, "rows_skipped": record.rows_done_before},
            last_run_seconds=round(record.seconds, 3),
            extra=described,
        )


def _expected_rows(reader: Step) -> int | None:
    """The rows the reader expects to give, if it can tell cheaply (``expected_rows()``)."""
    estimate = getattr(reader, "expected_rows", None)
    try:
        return estimate() if callable(estimate) else None
    except MtqaError:
        raise
    except Exception as e:  # an estimate is only for the progress bar: never fail a build on it
        logger.debug("no row estimate: %s", e)
        return None


def _without_run_fields(data: dict) -> dict:
    """A manifest's data without what only says how the latest run went: its ``RUN_FIELDS``
    and every stage's seconds (the reader's are this run's reading time)."""
    kept = {k: v for k, v in data.items() if k not in RUN_FIELDS}
    kept["stages"] = {name: {k: v for k, v in stats.items() if k != "seconds"}
                      for name, stats in (kept.get("stages") or {}).items()}
    return kept


def _same_build(path: Path, manifest: Manifest) -> bool:
    """Whether ``path`` already holds ``manifest`` but for the fields about the run itself."""
    try:
        existing = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return _without_run_fields(existing) == _without_run_fields(json.loads(json.dumps(manifest.to_dict())))


def _first_difference(old, new, prefix: str = "") -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                return _first_difference(old.get(key), new.get(key), f"{prefix}{key}.")
    return prefix.rstrip(".") or "the build description"


def missing_partitions(out: Path, num_shards: int) -> list[int]:
    """The partitions of ``out`` that have no manifest yet."""
    return [i for i in range(num_shards) if not partition_manifest_path(out, i, num_shards).exists()]


def merge_manifests(out: Path, num_shards: int) -> Manifest | None:
    """Write ``OUT/manifest.json`` once every partition's manifest exists (only if its content
    changed: a finished build on a read-only disk writes nothing); return it. Holds the
    directory lock meanwhile, so partitions finishing together merge one after the other."""
    out = Path(out)
    paths = [partition_manifest_path(out, i, num_shards) for i in range(num_shards)]
    with FileLock(out / LOCK_FILE):
        if not all(p.exists() for p in paths):
            return None
        merged = merge([Manifest.read(p) for p in paths])
        write_json_atomic(out / MANIFEST_FILE, merged.to_dict(), only_if_changed=True)
    return merged
