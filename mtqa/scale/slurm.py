"""``mtqa build --executor slurm``: an sbatch array with one task per partition.

The array's script is plain and readable: each task runs ``mtqa build --pipeline BUILD.yaml
--num-shards N --shard-index $SLURM_ARRAY_TASK_ID`` (the resolved config of the command that
wrote it, so every task builds the same pipeline), then ``mtqa merge OUT --if-complete``,
which writes ``OUT/manifest.json`` once the last partition is done. Requeued or resubmitted,
a task resumes its partition from its last finished chunk. The script, the config and the
tasks' logs live beside the output, in ``OUT.slurm/`` (inside ``OUT`` they would make a new
``--out`` look like someone else's directory).
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from mtqa.config import BuildConfig
from mtqa.errors import MtqaError, one_line
from mtqa.scale.config import ScaleConfig, TaskCache
from mtqa.scale.partitions import PARTITIONS_DIR, SHARED_SUBDIRS

SCRIPT_NAME = "array.sbatch"
CONFIG_NAME = "build.yaml"


@dataclass(slots=True)
class SlurmArray:
    """The files of one array (``script``, ``config``, the ``logs`` folder) and, once
    submitted, its job id."""

    script: Path
    config: Path
    logs: Path
    tasks: int
    job_id: str | None = None


def slurm_dir(out: str | Path) -> Path:
    """``OUT.slurm``: where the array's script, config and logs go."""
    out = Path(out).expanduser().resolve()
    return out.with_name(out.name + ".slurm")


def array_config(config: BuildConfig, scale: ScaleConfig) -> dict:
    """The config every task builds, as plain data: ``out`` absolute (tasks may start
    anywhere), the partition count set, the index left to the task's command line. With
    per-partition caches the cache folder comes from the task's ``MTQA_CACHE``."""
    data = config.to_dict()
    data["out"] = str(Path(config.out).expanduser().resolve())
    data["num_shards"] = scale.tasks
    data.pop("shard_index", None)
    if scale.task_cache is TaskCache.PARTITION:
        data["translate"]["cache_dir"] = None
    return data


def render_script(config: BuildConfig, scale: ScaleConfig, config_path: Path, logs: Path,
                  python: str = sys.executable, workdir: Path | None = None) -> str:
    """The sbatch script of the array (one task per partition)."""
    q = shlex.quote
    n = scale.tasks
    out = Path(config.out).expanduser().resolve()
    directives = {
        "job-name": f"mtqa-{config.name}",
        "array": f"0-{n - 1}",
        "output": str(logs / "%A_%a.out"),
        "chdir": str((workdir or Path.cwd()).resolve()),
        "partition": scale.partition,
        "time": scale.time,
        "cpus-per-task": scale.cpus_per_task,
        "gres": f"gpu:{int(scale.gpus_per_task)}" if scale.gpus_per_task else None,
    }
    lines = [
        "#!/bin/bash",
        "# mtqa build as a Slurm array, one task per partition (written by `mtqa build --executor slurm`).",
        f"# Submit or resubmit with: sbatch {q(str(config_path.parent / SCRIPT_NAME))}",
        "# (a task that runs again resumes its partition from its last finished chunk).",
        *(f"#SBATCH --{key}={value}" for key, value in directives.items() if value is not None),
        "set -euo pipefail",
        "export PYTHONUNBUFFERED=1",
        'shard="$SLURM_ARRAY_TASK_ID"',
        f"out={q(str(out))}",
        f"mtqa=({q(python)} -m mtqa.cli)",
    ]
    if scale.task_cache is TaskCache.PARTITION:
        configured = config.translate.cache_dir
        base = q(str(Path(configured).expanduser().resolve())) if configured else '"${MTQA_CACHE:-$HOME/.cache/mtqa}"'
        lines += [
            "# One translation cache per partition: one SQLite writer per file, which holds on NFS;",
            "# converted models are shared through a link (docs/scale-out.md).",
            f"cache_base={base}",
            f'export MTQA_CACHE="$cache_base/{PARTITIONS_DIR}/$(printf \'shard-%05d-of-%05d\' "$shard" {n})"',
            'mkdir -p "$MTQA_CACHE"',
            *(f'mkdir -p "$cache_base/{d}"; [ -e "$MTQA_CACHE/{d}" ] || ln -s ../../{d} "$MTQA_CACHE/{d}"'
              for d in SHARED_SUBDIRS),
        ]
    lines += [
        f'"${{mtqa[@]}}" build --pipeline {q(str(config_path))} --num-shards {n} --shard-index "$shard" --no-progress',
        "# The last task to finish writes OUT/manifest.json (the others find partitions missing).",
        f'{q(python)} -m mtqa.cli.merge "$out" --num-shards {n} --if-complete  # = mtqa merge',
    ]
    return "\n".join(lines) + "\n"


def write_array(config: BuildConfig, scale: ScaleConfig, python: str = sys.executable,
                workdir: Path | None = None) -> SlurmArray:
    """Write ``OUT.slurm/build.yaml`` and ``OUT.slurm/array.sbatch``; submit nothing."""
    folder = slurm_dir(config.out)
    logs = folder / "logs"
    try:
        logs.mkdir(parents=True, exist_ok=True)
        config_path = folder / CONFIG_NAME
        config_path.write_text(
            "# The pipeline every task of the array builds (written by `mtqa build --executor slurm`).\n"
            + yaml.safe_dump(array_config(config, scale), sort_keys=False, allow_unicode=True),
            encoding="utf-8")
        script = folder / SCRIPT_NAME
        script.write_text(render_script(config, scale, config_path, logs, python, workdir), encoding="utf-8")
        script.chmod(0o755)
    except OSError as e:
        raise MtqaError(f"cannot write the Slurm array into {folder}: {e.strerror}") from None
    return SlurmArray(script=script, config=config_path, logs=logs, tasks=scale.tasks)


def submit(array: SlurmArray, *extra_args: str) -> str:
    """``sbatch`` the array; return its job id."""
    try:
        done = subprocess.run(["sbatch", "--parsable", *extra_args, str(array.script)], capture_output=True,
                              text=True, timeout=120)
    except FileNotFoundError:
        raise MtqaError("sbatch not found: submit from a Slurm login node, or write the script only with "
                        "--dry-run") from None
    except subprocess.TimeoutExpired:
        raise MtqaError("sbatch did not answer within 120 s; is slurmctld up? (`sinfo`)") from None
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()
        raise MtqaError(f"sbatch refused the array: {message[0] if message else f'exit {done.returncode}'} "
                        f"(script: {array.script})")
    job_id = done.stdout.strip().split(";")[0]
    if not job_id:
        raise MtqaError(f"sbatch gave no job id for {array.script}")
    array.job_id = job_id
    return job_id


def run_on_slurm(config: BuildConfig, scale: ScaleConfig) -> SlurmArray:
    """Write the array and, unless ``scale.dry_run``, submit it."""
    array = write_array(config, scale)
    if not scale.dry_run:
        try:
            submit(array)
        except OSError as e:
            raise MtqaError(f"cannot run sbatch: {one_line(e)}") from None
    return array
