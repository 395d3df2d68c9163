"""How a partitioned build is spread over tasks: the typed settings of ``mtqa build --executor``.

None of these settings changes what the build writes (they are all placement): the same
``--tasks N`` gives the same bytes on Ray, on a Slurm array or one partition after another.
"""

from __future__ import annotations

from dataclasses import dataclass

from mtqa.config_fields import StrEnum
from mtqa.errors import MtqaError


class Executor(StrEnum):
    """Where the N partitions run."""

    LOCAL = "local"  # one after another, in this process
    RAY = "ray"  # one Ray task per partition, on a local or an existing cluster
    SLURM = "slurm"  # one sbatch array task per partition


class TaskCache(StrEnum):
    """Which translation cache each partition uses.

    ``partition``: ``<cache_dir>/partitions/shard-SSSSS-of-NNNNN/`` (converted models shared
    through a link), so one SQLite file has one writer at a time: safe on NFS, and a
    partition's output does not depend on what other partitions translated first.
    ``shared``: every task opens ``<cache_dir>/translations.sqlite3``; safe only where every
    task sees that file on a local disk of one machine (SQLite's locks do not hold over NFS).
    """

    PARTITION = "partition"
    SHARED = "shared"


@dataclass
class ScaleConfig:
    """``executor``: where the ``tasks`` partitions run (one partition per task).

    Ray: ``ray_address`` None starts a local cluster, ``"auto"`` joins the running one;
    ``cpus_per_task`` and ``gpus_per_task`` are the task's resource request (a task loads the
    model once); a task that dies or raises anything but a user error is retried up to
    ``max_retries`` times. Slurm: ``partition``, ``time`` (sbatch's ``--time``), the same
    per-task resources; ``dry_run`` writes the sbatch script without submitting it.
    """

    executor: Executor = Executor.LOCAL
    tasks: int = 1
    ray_address: str | None = None
    cpus_per_task: int | None = None  # None: Ray's default (1), Slurm's default
    gpus_per_task: float = 0
    max_retries: int = 3
    partition: str | None = None
    time: str | None = None
    dry_run: bool = False
    task_cache: TaskCache = TaskCache.PARTITION

    def __post_init__(self) -> None:
        try:
            self.executor = Executor(self.executor)
        except ValueError:
            raise MtqaError(f"executor must be one of {', '.join(Executor.values())}, got '{self.executor}'") from None
        try:
            self.task_cache = TaskCache(self.task_cache)
        except ValueError:
            raise MtqaError(
                f"task cache must be one of {', '.join(TaskCache.values())}, got '{self.task_cache}'") from None
        if not isinstance(self.tasks, int) or self.tasks < 1:
            raise MtqaError(f"--tasks must be at least 1, got {self.tasks!r}")
        if self.cpus_per_task is not None and (not isinstance(self.cpus_per_task, int) or self.cpus_per_task < 1):
            raise MtqaError(f"--cpus-per-task must be at least 1, got {self.cpus_per_task!r}")
        if not isinstance(self.gpus_per_task, int | float) or self.gpus_per_task < 0:
            raise MtqaError(f"--gpus-per-task must be 0 or more, got {self.gpus_per_task!r}")
        if not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise MtqaError(f"max_retries must be 0 or more, got {self.max_retries!r}")
        if self.executor is Executor.SLURM and self.gpus_per_task != int(self.gpus_per_task):
            raise MtqaError(f"Slurm gives whole GPUs: --gpus-per-task {self.gpus_per_task} is not an integer")
        slurm_only = {"--partition": self.partition, "--time": self.time, "--dry-run": self.dry_run or None}
        given = [name for name, value in slurm_only.items() if value is not None]
        if given and self.executor is not Executor.SLURM:
            raise MtqaError(f"{', '.join(given)} only apply to --executor slurm")
        if self.ray_address is not None and self.executor is not Executor.RAY:
            raise MtqaError("--ray-address only applies to --executor ray")
        if self.gpus_per_task and self.executor is Executor.LOCAL:
            raise MtqaError("--gpus-per-task needs --executor ray or slurm (locally, use --device)")
