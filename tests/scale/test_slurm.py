"""``--executor slurm``: the array script (dry run), the script run by hand task by task, and a
real single-node Slurm running a 3-task array (benchmarks/bench_slurm.py) where one can start."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from mtqa.cli import main
from mtqa.config import load_pipeline
from mtqa.pipeline.manifest import Manifest
from mtqa.scale import Executor, ScaleConfig, launch
from mtqa.scale.slurm import slurm_dir, write_array
from tests.scale.conftest import output_bytes, toy_config

ROOT = Path(__file__).resolve().parents[2]
BASH = shutil.which("bash") or "/bin/bash"


def test_dry_run_writes_the_array_beside_the_output_and_submits_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "/nonexistent")  # no sbatch to call, even by mistake
    result = CliRunner().invoke(main, ["build", "--executor", "slurm", "--tasks", "3", "--partition", "gpu",
                                       "--gpus-per-task", "1", "--cpus-per-task", "8", "--time", "04:00:00",
                                       "--out", "out/run", "--dry-run"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "out" / "run.slurm"
    assert f"wrote {folder / 'array.sbatch'}" in result.output
    assert not (tmp_path / "out" / "run").exists()
    script = (folder / "array.sbatch").read_text()
    for directive in ("--array=0-2", "--partition=gpu", "--time=04:00:00", "--gres=gpu:1", "--cpus-per-task=8",
                      f"--output={folder / 'logs'}/%A_%a.out", f"--chdir={tmp_path}"):
        assert f"#SBATCH {directive}\n" in script
    assert '--num-shards 3 --shard-index "$shard"' in script
    assert "mtqa.cli.merge \"$out\" --num-shards 3 --if-complete" in script
    assert subprocess.run([BASH, "-n", str(folder / "array.sbatch")]).returncode == 0
    # Every task builds the pipeline of the command that wrote the array.
    written = load_pipeline(str(folder / "build.yaml"))
    asked = load_pipeline(None, out=str(tmp_path / "out" / "run"), num_shards=3)
    assert written.identity() == asked.identity()
    assert written.out == str(tmp_path / "out" / "run")


def test_submitting_without_sbatch_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    result = CliRunner().invoke(main, ["build", "--executor", "slurm", "--tasks", "2", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "mtqa: error: sbatch not found: submit from a Slurm login node, or write the script only with --dry-run"]


@pytest.mark.slow  # each task is two fresh Python processes (~10 s in all)
def test_the_array_script_run_task_by_task_builds_and_merges_the_partitions(toy, tmp_path):
    """What each Slurm array task does, run by hand: the bytes of --executor local, the
    partitions' own caches, and the merged manifest written by the last task."""
    tasks = 2
    expected_config = toy("local")
    launch(expected_config, ScaleConfig(executor=Executor.LOCAL, tasks=tasks))
    config = dataclasses.replace(expected_config, out=str(tmp_path / "array"),
                                 translate=dataclasses.replace(expected_config.translate, cache_dir=None))
    array = write_array(config, ScaleConfig(executor=Executor.SLURM, tasks=tasks, dry_run=True), workdir=ROOT)
    cache = tmp_path / "cache-array"
    env = {**os.environ, "MTQA_CACHE": str(cache)}
    for shard in range(tasks):
        done = subprocess.run([BASH, str(array.script)], env={**env, "SLURM_ARRAY_TASK_ID": str(shard)},
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        merged = (tmp_path / "array" / "manifest.json").exists()
        assert merged == (shard == tasks - 1), done.stdout  # only the last task merges
    assert output_bytes(tmp_path / "array") == output_bytes(Path(expected_config.out))
    assert sorted(p.name for p in (cache / "partitions").iterdir()) == [
        f"shard-{i:05d}-of-{tasks:05d}" for i in range(tasks)]
    assert (cache / "partitions" / f"shard-00000-of-{tasks:05d}" / "ct2").resolve() == (cache / "ct2").resolve()
    assert Manifest.load(tmp_path / "array").rows == Manifest.load(expected_config.out).rows == 192


@pytest.mark.slow
def test_a_real_single_node_slurm_runs_a_three_task_array_and_merges(tmp_path):
    """Starts munged, slurmctld and slurmd here (root, Debian's slurm-wlm and munge), submits
    `mtqa build --executor slurm --tasks 3` and waits for the merged manifest."""
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_slurm.py"), "--keep", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=420)
    if done.returncode == 77:
        pytest.skip(f"no Slurm here: {done.stdout.strip().removeprefix('SKIP: ')}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK: 17 shard files byte-identical" in done.stdout
    manifest = Manifest.load(tmp_path / "out")
    assert [p["shard_index"] for p in manifest.partitions] == [0, 1, 2]
    assert manifest.balance is not None and manifest.balance.tasks == 3
    assert slurm_dir(tmp_path / "out").joinpath("logs").is_dir()
