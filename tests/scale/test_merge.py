"""``--executor local`` and ``mtqa merge``: the bytes of partitions built by hand, partitions
missing or of another pipeline named, per-partition rows and seconds and the straggler ratio."""

from __future__ import annotations

import json
import shutil
import statistics

import pytest
from click.testing import CliRunner

from mtqa.cli.merge import merge as merge_command
from mtqa.errors import MtqaError
from mtqa.pipeline.builder import run_build
from mtqa.pipeline.manifest import Balance, Manifest
from mtqa.scale import Executor, ScaleConfig, launch, merge_build
from tests.scale.conftest import output_bytes, toy_config

TASKS = 3


@pytest.fixture(scope="module")
def local_build(tmp_path_factory):
    root = tmp_path_factory.mktemp("local")
    launched = launch(toy_config(root / "out", root / "cache"), ScaleConfig(executor=Executor.LOCAL, tasks=TASKS))
    return root / "out", launched


@pytest.fixture
def build_copy(local_build, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(local_build[0], out)
    return out


def test_local_tasks_write_the_bytes_of_plain_partition_builds(local_build, tmp_path):
    out, launched = local_build
    for i in range(TASKS):
        run_build(toy_config(tmp_path / "plain", tmp_path / "cache", num_shards=TASKS, shard_index=i), progress=False)
    assert output_bytes(out) == output_bytes(tmp_path / "plain")
    assert [t.shard_index for t in launched.tasks] == [0, 1, 2]
    assert sum(t.rows for t in launched.tasks) == launched.manifest.rows == 192


def test_the_merged_manifest_reports_each_partition_and_the_straggler_ratio(local_build):
    manifest = Manifest.load(local_build[0])
    parts = [Manifest.read(local_build[0] / "manifests" / f"shard-{i:05d}-of-{TASKS:05d}.json") for i in range(TASKS)]
    seconds = [round(sum(s.seconds for s in p.stages.values()), 3) for p in parts]
    assert [p["rows"] for p in manifest.partitions] == [p.rows for p in parts]
    assert [p["seconds"] for p in manifest.partitions] == seconds
    assert sum(p["source_rows"] for p in manifest.partitions) == 64  # every question in exactly one partition
    assert [p["last_run_seconds"] for p in manifest.partitions] == [p.last_run_seconds for p in parts]
    balance = manifest.balance
    assert balance.tasks == TASKS
    assert balance.straggler_ratio == round(max(seconds) / statistics.median(seconds), 3)
    assert balance.slowest == seconds.index(max(seconds))
    assert balance.rows == {"min": min(p.rows for p in parts), "median": statistics.median(p.rows for p in parts),
                            "max": max(p.rows for p in parts)}
    assert Manifest.from_dict(manifest.to_dict()).balance == balance


def test_balance_of_skewed_and_of_empty_partitions():
    skewed = Balance.of([{"shard_index": 0, "rows": 10, "seconds": 2.0}, {"shard_index": 1, "rows": 30, "seconds": 6.0},
                         {"shard_index": 2, "rows": 20, "seconds": 4.0}])
    assert (skewed.straggler_ratio, skewed.rows_ratio, skewed.slowest) == (1.5, 1.5, 1)
    empty = Balance.of([{"shard_index": 0, "rows": 0, "seconds": 0.0}, {"shard_index": 1, "rows": 0, "seconds": 0.0}])
    assert (empty.straggler_ratio, empty.rows_ratio) == (None, None)


def test_mtqa_merge_rewrites_the_same_manifest(build_copy):
    before = json.loads((build_copy / "manifest.json").read_text())
    (build_copy / "manifest.json").unlink()
    result = CliRunner().invoke(merge_command, [str(build_copy)])
    assert result.exit_code == 0, result.output
    assert f"merged 3 partitions into {build_copy}/manifest.json: 192 rows" in result.output
    assert "straggler ratio" in result.output
    assert json.loads((build_copy / "manifest.json").read_text()) == before


def test_missing_partitions_are_named_or_waited_for(build_copy):
    (build_copy / "manifest.json").unlink()
    (build_copy / "manifests" / "shard-00001-of-00003.json").unlink()
    with pytest.raises(MtqaError, match=r"1 of 3 partitions have no manifest yet \(partition 1\)"):
        merge_build(build_copy)
    assert merge_build(build_copy, if_complete=True) is None
    result = CliRunner().invoke(merge_command, [str(build_copy)])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    result = CliRunner().invoke(merge_command, [str(build_copy), "--if-complete"])
    assert result.exit_code == 0
    assert "2 of 3 partitions done; not merged yet" in result.output
    assert not (build_copy / "manifest.json").exists()


def test_partitions_of_another_pipeline_or_with_lost_files_are_refused(build_copy):
    path = build_copy / "manifests" / "shard-00002-of-00003.json"
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "identity_sha256": "0" * 64}))
    with pytest.raises(MtqaError, match="different pipelines"):
        merge_build(build_copy)
    path.write_text(json.dumps(data))
    lost = build_copy / data["files"][0]["path"]
    lost.unlink()
    with pytest.raises(MtqaError, match=f"partition 2's manifest lists {lost}, which is missing"):
        merge_build(build_copy)


def test_merge_of_a_directory_without_partitions_is_one_line(tmp_path):
    with pytest.raises(MtqaError, match="holds no partition manifest"):
        merge_build(tmp_path)
    result = CliRunner().invoke(merge_command, [str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "is not a directory" in result.output
