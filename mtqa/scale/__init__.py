"""Builds spread over many tasks: one partition per task, on this machine, Ray or Slurm.

``launch(config, ScaleConfig(executor, tasks, ...))`` runs a build's N partitions
(``--num-shards N --shard-index i``) as N tasks into one ``--out`` and merges their manifests;
``merge_build(out)`` merges them on its own (``mtqa merge OUT``). Every task runs the same
resumable per-partition build (:func:`mtqa.pipeline.builder.run_build`): the front ends know
no step class. docs/scale-out.md has the recipes and the measured trade-offs.
"""

from mtqa.scale.config import Executor, ScaleConfig, TaskCache
from mtqa.scale.launch import Launched, launch
from mtqa.scale.merge import merge_build, missing_partitions
from mtqa.scale.partitions import TaskResult, partition_cache_dir, partition_config, run_partition

__all__ = [
    "Executor",
    "Launched",
    "ScaleConfig",
    "TaskCache",
    "TaskResult",
    "launch",
    "merge_build",
    "missing_partitions",
    "partition_cache_dir",
    "partition_config",
    "run_partition",
]
