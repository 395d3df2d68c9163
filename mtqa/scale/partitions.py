"""One partition of a build as one task: its config, its translation cache, its run.

Every front end (one after another here, Ray, Slurm) runs the same thing per task:
:func:`run_build` on the config of partition ``i`` of ``N``, into the shared ``--out``. The
front ends know no step class; resume, completion markers and the per-partition manifest are
the executor's (``mtqa.pipeline.executor``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from mtqa.config import BuildConfig
from mtqa.pipeline.builder import run_build
from mtqa.pipeline.executor import partition_manifest_path
from mtqa.pipeline.manifest import Manifest
from mtqa.scale.config import TaskCache
from mtqa.translation.models import default_cache_dir

logger = logging.getLogger(__name__)

#: Under a cache directory, the folder of the per-partition translation caches.
PARTITIONS_DIR = "partitions"
#: What partition caches share with their base cache: converted models (read-only once written).
SHARED_SUBDIRS = ("ct2",)


def partition_name(num_shards: int, shard_index: int) -> str:
    """``shard-SSSSS-of-NNNNN``: the name the executor gives the partition's manifest, too."""
    return f"shard-{shard_index:05d}-of-{num_shards:05d}"


def partition_cache_dir(base: Path, num_shards: int, shard_index: int) -> Path:
    """Where partition ``shard_index`` of ``num_shards`` keeps its translation cache.

    Keyed by the partition, not by the build: a passage always falls in the same partition
    of N (a hash of its text), so another pipeline over the same sources and N finds its
    translations again."""
    return Path(base) / PARTITIONS_DIR / partition_name(num_shards, shard_index)


def prepare_partition_cache(base: Path, cache: Path) -> None:
    """Create ``cache`` with links to the base cache's converted models, so a Hugging Face
    model is converted once for all partitions (conversion renames into place atomically)."""
    cache.mkdir(parents=True, exist_ok=True)
    for name in SHARED_SUBDIRS:
        (base / name).mkdir(parents=True, exist_ok=True)
        link = cache / name
        if not link.exists() and not link.is_symlink():
            try:
                # Relative, so the link holds wherever the shared file system is mounted.
                link.symlink_to(os.path.relpath(base / name, cache), target_is_directory=True)
            except FileExistsError:  # another attempt of this partition made it meanwhile
                pass


def partition_config(config: BuildConfig, num_shards: int, shard_index: int,
                     task_cache: TaskCache = TaskCache.PARTITION) -> BuildConfig:
    """``config`` for partition ``shard_index`` of ``num_shards``.

    With the per-partition cache, the translate step's cache folder (a placement setting: it
    never changes the build's identity) becomes :func:`partition_cache_dir` of the configured
    one (``translate.cache_dir``, else ``$MTQA_CACHE`` or ``~/.cache/mtqa`` on the machine that
    runs the task)."""
    translate = config.translate
    if TaskCache(task_cache) is TaskCache.PARTITION:
        base = Path(translate.cache_dir).expanduser() if translate.cache_dir else default_cache_dir()
        cache = partition_cache_dir(base, num_shards, shard_index)
        prepare_partition_cache(base, cache)
        translate = dataclasses.replace(translate, cache_dir=str(cache))
    return dataclasses.replace(config, num_shards=num_shards, shard_index=shard_index, translate=translate)


@dataclass(slots=True)
class TaskResult:
    """What one task reports back: its partition, rows written, this run's seconds (wall, and
    CPU over all of the task's threads), chunks a previous attempt had finished, and where it ran."""

    shard_index: int
    rows: int
    seconds: float | None
    chunks_skipped: int
    host: str
    cpu_seconds: float = 0.0


def run_partition(config: BuildConfig, num_shards: int, shard_index: int,
                  task_cache: TaskCache = TaskCache.PARTITION) -> TaskResult:
    """Build (or finish) partition ``shard_index`` of ``num_shards`` into ``config.out``: the
    body of every task, whatever runs it. Partitions of one pipeline may run at the same time
    into one ``OUT``: the executor locks the directory for the claim and each partition for
    its run (``mtqa.pipeline.locks``)."""
    part = partition_config(config, num_shards, shard_index, task_cache)
    out = Path(part.out)
    cpu_started = time.process_time()
    run_build(part, progress=False)
    own = Manifest.read(partition_manifest_path(out, shard_index, num_shards))
    return TaskResult(shard_index, own.rows, own.last_run_seconds, (own.resumed or {}).get("chunks_skipped", 0),
                      os.uname().nodename, round(time.process_time() - cpu_started, 3))


def run_partitions_locally(config: BuildConfig, tasks: int, task_cache: TaskCache = TaskCache.PARTITION,
                           progress: bool | None = None) -> list[TaskResult]:
    """The ``tasks`` partitions one after another in this process (``--executor local``): the
    same bytes as any other executor, with no cluster."""
    from tqdm.auto import tqdm

    results = []
    for shard_index in tqdm(range(tasks), desc="partitions", unit="task",
                            disable=None if progress is None else not progress):
        results.append(run_partition(config, tasks, shard_index, task_cache))
        logger.info("partition %d of %d: %d rows", shard_index, tasks, results[-1].rows)
    return results
