"""Scale-out settings: bad combinations are one line; a partition's cache is placement only."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from mtqa.cli import main
from mtqa.errors import MtqaError
from mtqa.scale import Executor, ScaleConfig, TaskCache, launch, partition_config
from tests.scale.conftest import toy_config


@pytest.mark.parametrize("kwargs, message", [
    ({"tasks": 0}, "--tasks must be at least 1"),
    ({"executor": "spark"}, "executor must be one of local, ray, slurm"),
    ({"executor": "ray", "partition": "gpu"}, "--partition only apply to --executor slurm"),
    ({"executor": "local", "dry_run": True}, "--dry-run only apply to --executor slurm"),
    ({"executor": "slurm", "ray_address": "auto"}, "--ray-address only applies to --executor ray"),
    ({"executor": "slurm", "gpus_per_task": 0.5}, "Slurm gives whole GPUs"),
    ({"executor": "local", "gpus_per_task": 1}, "--gpus-per-task needs --executor ray or slurm"),
    ({"task_cache": "nfs"}, "task cache must be one of partition, shared"),
])
def test_bad_settings_are_one_line(kwargs, message):
    with pytest.raises(MtqaError, match=message):
        ScaleConfig(**kwargs)


@pytest.mark.parametrize("args, message", [
    (["--tasks", "2"], "--tasks need --executor local, ray or slurm"),
    (["--executor", "ray", "--num-shards", "2", "--shard-index", "1"], "--shard-index builds one partition by hand"),
    (["--executor", "local", "--tasks", "2", "--num-shards", "3"], "--num-shards 3 differs from --tasks 2"),
    (["--executor", "local", "--partition", "gpu"], "--partition only apply to --executor slurm"),
])
def test_cli_refuses_mixed_options_with_one_line(args, message, tmp_path):
    result = CliRunner().invoke(main, ["build", "--out", str(tmp_path / "o"), *args])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mtqa: error: ") and message in lines[0]
    assert not (tmp_path / "o").exists()


def test_a_partition_translates_through_its_own_cache_without_changing_the_identity(tmp_path):
    config = toy_config(tmp_path / "out", tmp_path / "cache")
    part = partition_config(config, 4, 2)
    assert part.translate.cache_dir == str(tmp_path / "cache" / "partitions" / "shard-00002-of-00004")
    assert (part.num_shards, part.shard_index) == (4, 2)
    assert part.identity() == partition_config(config, 4, 0).identity()
    link = tmp_path / "cache" / "partitions" / "shard-00002-of-00004" / "ct2"
    assert link.is_symlink() and not os.path.isabs(os.readlink(link))
    assert link.resolve() == (tmp_path / "cache" / "ct2").resolve()
    shared = partition_config(config, 4, 2, TaskCache.SHARED)
    assert shared.translate.cache_dir == str(tmp_path / "cache")
    assert config.translate.cache_dir == str(tmp_path / "cache")  # the caller's config is left alone


def test_launch_refuses_a_partition_count_other_than_the_tasks(tmp_path):
    config = toy_config(tmp_path / "out", tmp_path / "cache", num_shards=3)
    with pytest.raises(MtqaError, match="--num-shards 3 differs from --tasks 2"):
        launch(config, ScaleConfig(executor=Executor.LOCAL, tasks=2))


def test_cpu_tasks_get_the_threads_they_ask_the_scheduler_for(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = toy_config(tmp_path / "out", tmp_path / "cache", **{"translate.device": "cpu"})
    launched = launch(config, ScaleConfig(executor=Executor.SLURM, tasks=2, cpus_per_task=3, dry_run=True))
    import yaml

    written = yaml.safe_load(launched.array.config.read_text())
    assert (written["translate"]["inter_threads"], written["translate"]["intra_threads"]) == (3, 1)
    assert "#SBATCH --cpus-per-task=3\n" in launched.array.script.read_text()
    assert config.translate.inter_threads == 0  # the caller's config is left alone
