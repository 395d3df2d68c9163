"""``--executor ray`` on a local Ray cluster: 4 tasks give the bytes of the 4 partitions built one
after another; a task killed mid-run is retried, resumes, and the bytes are still the same; a
user error comes back as its one line, not retried."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from mtqa.errors import MtqaError
from mtqa.pipeline.builder import run_build
from mtqa.pipeline.manifest import Manifest
from mtqa.scale import Executor, ScaleConfig, launch
from mtqa.scale.ray_runner import TASK_NAME
from tests.scale.conftest import output_bytes, toy_config

ray = pytest.importorskip("ray", reason="--executor ray needs Ray: pip install 'mtqa[ray]'")

pytestmark = pytest.mark.slow  # a local Ray cluster takes ~10 s to start

TASKS = 4
CHUNK = 2  # small chunks: the largest partition has enough of them to be killed in the middle


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def one_after_another(tmp_path_factory):
    """The 4 partitions built one after another in this process, as plain `mtqa build
    --num-shards 4 --shard-index i` runs sharing one translation cache."""
    root = tmp_path_factory.mktemp("sequential")
    config = toy_config(root / "out", root / "cache", chunk_size=CHUNK, num_shards=TASKS)
    for i in range(TASKS):
        config.shard_index = i
        run_build(config, progress=False)
    parts = [Manifest.read(root / "out" / "manifests" / f"shard-{i:05d}-of-{TASKS:05d}.json") for i in range(TASKS)]
    return output_bytes(root / "out"), parts


def ray_scale(**kw) -> ScaleConfig:
    return ScaleConfig(executor=Executor.RAY, tasks=TASKS, **kw)


def test_four_ray_tasks_write_the_bytes_of_four_partitions_run_one_after_another(cluster, one_after_another, tmp_path):
    expected, parts = one_after_another
    launched = launch(toy_config(tmp_path / "out", tmp_path / "cache", chunk_size=CHUNK), ray_scale())
    assert output_bytes(tmp_path / "out") == expected
    manifest = Manifest.load(tmp_path / "out")
    assert manifest.rows == sum(p.rows for p in parts) == 192
    assert [p["shard_index"] for p in manifest.partitions] == list(range(TASKS))
    assert [p["rows"] for p in manifest.partitions] == [p.rows for p in parts]
    assert [t.rows for t in launched.tasks] == [p.rows for p in parts]
    # Each task translated through its own cache (placement only: the identity is unchanged).
    caches = sorted(p.name for p in (tmp_path / "cache" / "partitions").iterdir())
    assert caches == [f"shard-{i:05d}-of-{TASKS:05d}" for i in range(TASKS)]
    assert manifest.balance is not None and manifest.balance.tasks == TASKS
    assert manifest.balance.rows["max"] == max(p.rows for p in parts)


def _worker_of(name: str) -> int | None:
    """The pid of the Ray worker running the task ``name`` (Ray titles it ``ray::NAME``)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            title = cmdline.read_bytes().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        if title.startswith(f"ray::{name}"):
            return int(cmdline.parent.name)
    return None


def test_a_task_killed_mid_run_is_retried_and_the_bytes_are_the_same(cluster, one_after_another, tmp_path):
    expected, parts = one_after_another
    victim = max(range(TASKS), key=lambda i: parts[i].rows)  # the partition with the most chunks
    chunks = len(parts[victim].files)
    assert chunks >= 8
    out = tmp_path / "out"
    config = toy_config(out, tmp_path / "cache", chunk_size=CHUNK)
    markers = out / "progress" / f"shard-{victim:05d}"
    killed: dict = {}

    def kill_mid_run():
        deadline = time.time() + 60
        while time.time() < deadline:
            done = len(list(markers.glob("chunk-*.json"))) if markers.is_dir() else 0
            if done >= 3:
                pid = _worker_of(TASK_NAME.format(victim))
                if pid is not None:
                    killed["after_chunks"] = done
                    os.kill(pid, signal.SIGKILL)
                    return
            time.sleep(0.005)

    killer = threading.Thread(target=kill_mid_run)
    killer.start()
    launched = launch(config, ray_scale(max_retries=2))
    killer.join()

    assert killed, "the partition finished before it could be killed"
    assert 3 <= killed["after_chunks"] < chunks
    assert output_bytes(out) == expected
    # The retry resumed the killed partition: the chunks done before the kill were skipped.
    retried = next(t for t in launched.tasks if t.shard_index == victim)
    assert retried.chunks_skipped >= killed["after_chunks"]
    merged = Manifest.load(out)
    assert merged.partitions[victim]["resumed"]["chunks_skipped"] == retried.chunks_skipped
    assert merged.rows == 192


def test_a_user_error_is_one_line_and_not_retried(cluster, tmp_path):
    config = toy_config(tmp_path / "out", tmp_path / "cache", langs=["x-rot13", "zz"])
    started = time.time()
    with pytest.raises(MtqaError, match="zz") as caught:
        launch(config, ray_scale(max_retries=3))
    assert "\n" not in str(caught.value)
    assert "retries" not in str(caught.value)
    assert time.time() - started < 30
    assert (tmp_path / "cache" / "partitions").is_dir()  # it came from the tasks, not from the driver
    assert not Path(tmp_path / "out" / "manifest.json").exists()
