"""``mtqa build --executor local|ray|slurm --tasks N``: one entry point for every front end."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

from mtqa.config import BuildConfig
from mtqa.errors import MtqaError
from mtqa.pipeline.manifest import Manifest
from mtqa.scale.config import Executor, ScaleConfig
from mtqa.scale.merge import merge_build
from mtqa.scale.partitions import TaskResult, run_partitions_locally
from mtqa.scale.slurm import SlurmArray


@dataclass(slots=True)
class Launched:
    """What a front end did: the merged ``manifest`` and each task's report once the build is
    done here (local, Ray), or the submitted ``array`` (Slurm, which returns at once)."""

    executor: Executor
    seconds: float
    manifest: Manifest | None = None
    tasks: list[TaskResult] = field(default_factory=list)
    array: SlurmArray | None = None


def launch(config: BuildConfig, scale: ScaleConfig, progress: bool | None = None) -> Launched:
    """Build ``config``'s ``scale.tasks`` partitions with ``scale.executor``.

    ``config.num_shards`` must be 1 (its default) or equal ``scale.tasks``: one task per
    partition, so the partition count, and with it the output, is the same on every
    executor."""
    if config.num_shards not in (1, scale.tasks):
        raise MtqaError(f"--num-shards {config.num_shards} differs from --tasks {scale.tasks}: "
                        "each task builds one partition, give only --tasks")
    if config.shard_index != 0:
        raise MtqaError("--shard-index is for building one partition by hand; with --executor every task gets its own")
    # Absolute, so every task (on any node, in any folder) writes to the same place.
    config = dataclasses.replace(config, num_shards=scale.tasks, shard_index=0,
                                 out=str(Path(config.out).expanduser().resolve()))
    translate = config.translate
    if scale.cpus_per_task and translate.device == "cpu" and not translate.inter_threads:
        # On the CPU, CTranslate2's automatic threads are sized to the whole machine: give each
        # task the cores it asked the scheduler for (threads are placement: identity unchanged).
        config.translate = dataclasses.replace(translate, inter_threads=scale.cpus_per_task, intra_threads=1)
    started = time.perf_counter()
    if scale.executor is Executor.LOCAL:
        tasks = run_partitions_locally(config, scale.tasks, scale.task_cache, progress)
        manifest = merge_build(config.out, scale.tasks)
        return Launched(scale.executor, time.perf_counter() - started, manifest, tasks)
    if scale.executor is Executor.RAY:
        from mtqa.scale.ray_runner import run_on_ray

        manifest, tasks = run_on_ray(config, scale, progress)
        return Launched(scale.executor, time.perf_counter() - started, manifest, tasks)
    from mtqa.scale.slurm import run_on_slurm

    array = run_on_slurm(config, scale)
    return Launched(scale.executor, time.perf_counter() - started, array=array)


def describe(launched: Launched, out: str) -> str:
    """What ``mtqa build --executor`` prints after its summary table."""
    if launched.array is not None:
        array = launched.array
        if array.job_id is None:
            return (f"wrote {array.script} ({array.tasks} array tasks, config {array.config}); "
                    f"submit it with: sbatch {array.script}")
        return (f"submitted Slurm job {array.job_id}: {array.tasks} array tasks (script {array.script}, logs in "
                f"{array.logs}/); the last task to finish writes {out}/manifest.json (or run `mtqa merge {out}`)")
    manifest = launched.manifest
    lines = [f"wrote {out}/ ({manifest.rows:,} rows) with {len(launched.tasks)} {launched.executor} tasks in "
             f"{launched.seconds:.1f} s; manifest: {out}/manifest.json"]
    if manifest.balance is not None and manifest.balance.straggler_ratio is not None:
        b = manifest.balance
        lines.append(f"partition balance: rows {b.rows['min']:,}–{b.rows['max']:,}, straggler ratio "
                     f"{b.straggler_ratio:.2f} (slowest: partition {b.slowest})")
    return "\n".join(lines)
