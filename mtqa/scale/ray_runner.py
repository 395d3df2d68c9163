"""``mtqa build --executor ray``: one Ray task per partition, then one merged manifest.

Each task is :func:`~mtqa.scale.partitions.run_partition` in a Ray worker: it loads the model
once and runs the same resumable, per-chunk build as ``mtqa build --num-shards N --shard-index
i``, into the shared ``--out``. A task whose worker dies (a killed process, a lost node) or
that raises is retried up to ``max_retries`` times, and resumes from its last finished chunk;
a user error (bad input, an unknown language) fails the same way every time, so it is
returned, not retried, and stops the build with its one line.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from mtqa.config import BuildConfig
from mtqa.errors import MtqaError, one_line
from mtqa.pipeline.manifest import Manifest
from mtqa.scale.config import ScaleConfig, TaskCache
from mtqa.scale.merge import merge_build
from mtqa.scale.partitions import TaskResult, run_partition

logger = logging.getLogger(__name__)

TASK_NAME = "mtqa-partition-{:05d}"  # what `ray list tasks` and the worker's process title show


@dataclass(slots=True)
class _UserError:
    message: str


def import_ray():
    """Ray, or one line naming the extra to install."""
    try:
        import ray
    except ModuleNotFoundError as e:
        if e.name != "ray":
            raise
        raise MtqaError("--executor ray needs Ray: pip install 'mtqa[ray]'") from None
    return ray


def _partition_task(config: BuildConfig, num_shards: int, shard_index: int, task_cache: TaskCache, workdir: str):
    # Relative source paths mean what they meant where the build was started, as with
    # Slurm's --chdir; on a node without that folder the task stays where Ray put it.
    if os.path.isdir(workdir):
        os.chdir(workdir)
    try:
        return run_partition(config, num_shards, shard_index, task_cache)
    except MtqaError as e:
        return _UserError(str(e))


def connect(ray_address: str | None):
    """Join the cluster at ``ray_address`` (``auto``: the running one) or, with None and no
    ``RAY_ADDRESS``, start a local one. Returns whether this call started Ray (and so should
    shut it down)."""
    ray = import_ray()
    if ray.is_initialized():
        return False
    try:
        ray.init(address=ray_address, include_dashboard=False,
                 logging_level=logging.INFO if logger.isEnabledFor(logging.INFO) else logging.ERROR,
                 log_to_driver=logger.isEnabledFor(logging.INFO))
    except ConnectionError as e:
        raise MtqaError(f"no Ray cluster at {ray_address!r} ({one_line(e)}); start one with `ray start --head`, "
                        "or leave out --ray-address for a local one") from None
    return True


def run_on_ray(config: BuildConfig, scale: ScaleConfig, progress: bool | None = None) -> tuple[Manifest, list[TaskResult]]:
    """Run the ``scale.tasks`` partitions of ``config`` as Ray tasks; return the merged
    manifest and what each task reported."""
    from tqdm.auto import tqdm

    ray = import_ray()
    started = connect(scale.ray_address)
    try:
        options = {"max_retries": scale.max_retries, "retry_exceptions": True, "num_gpus": scale.gpus_per_task}
        if scale.cpus_per_task is not None:
            options["num_cpus"] = scale.cpus_per_task
        task = ray.remote(_partition_task)
        pending = {
            task.options(name=TASK_NAME.format(i), **options).remote(config, scale.tasks, i, scale.task_cache,
                                                                     os.getcwd()): i
            for i in range(scale.tasks)
        }
        results: dict[int, TaskResult] = {}
        failures: dict[int, str] = {}
        user_error: tuple[int, str] | None = None
        bar = tqdm(total=scale.tasks, desc="partitions", unit="task",
                   disable=None if progress is None else not progress)
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    shard_index = pending.pop(ref)
                    bar.update(1)
                    try:
                        value = ray.get(ref)
                    except ray.exceptions.RayError as e:
                        if user_error is not None:  # cancelled below
                            continue
                        cause = getattr(e, "cause", None) or e
                        failures[shard_index] = f"failed after {scale.max_retries} retries: {one_line(cause)}"
                        continue
                    if isinstance(value, _UserError):
                        if user_error is None:
                            user_error = (shard_index, value.message)
                            for other in pending:  # the same input gives every partition the same error
                                ray.cancel(other)
                        continue
                    results[shard_index] = value
                    logger.info("partition %d done on %s: %d rows in %.1f s", shard_index, value.host, value.rows,
                                value.seconds or 0.0)
        finally:
            bar.close()
        if user_error is not None:
            raise MtqaError(user_error[1])
        if failures:
            first = min(failures)
            raise MtqaError(f"partition {first} of {scale.tasks}: {failures[first]}"
                            + (f" ({len(failures)} partitions failed)" if len(failures) > 1 else "")
                            + "; finished partitions are kept: rerun the same command to continue")
    finally:
        if started:
            ray.shutdown()
    # The last task to finish has merged already; merging here too makes sure of it where a
    # shared file system showed that task an older listing of the other nodes' manifests.
    _wait_visible(Path(config.out), scale.tasks)
    manifest = merge_build(config.out, scale.tasks)
    return manifest, [results[i] for i in range(scale.tasks)]


def _wait_visible(out: Path, num_shards: int, seconds: float = 30.0) -> None:
    """Give a shared file system a moment to show this machine the other nodes' manifests."""
    from mtqa.scale.merge import missing_partitions

    deadline = time.monotonic() + seconds
    while missing_partitions(out, num_shards) and time.monotonic() < deadline:
        time.sleep(0.5)
