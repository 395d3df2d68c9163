"""Kill -9 a real build (toy model, embedded sample) at several points; the rerun's shards
must be byte-identical to an uninterrupted build's, with no row lost or doubled."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest

BUILD = [sys.executable, "-m", "mtqa.cli", "build", "--chunk-size", "4", "--no-progress"]


def run_build(out: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([*BUILD, "--out", str(out)], env=env, capture_output=True, text=True, timeout=300)


def data_files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "data").glob("*.arrow"))}


def markers(out: Path) -> int:
    return len(list((out / "progress").glob("shard-*/chunk-*.json")))


@pytest.fixture(scope="module")
def clean_build(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume")
    env = {**os.environ, "MTQA_CACHE": str(root / "cache-clean")}
    result = run_build(root / "clean", env)
    assert result.returncode == 0, result.stderr
    return root, data_files(root / "clean")


@pytest.mark.slow
@pytest.mark.parametrize("kill_after_markers", [0, 2, 5])
def test_killed_build_resumes_to_identical_shards(clean_build, kill_after_markers):
    root, expected = clean_build
    total = len(expected)
    assert total >= 8  # the sample gives enough chunks for the kill points to be mid-build
    out = root / f"killed-{kill_after_markers}"
    # A fresh cache: the killed run really is interrupted mid-translation, not replaying.
    env = {**os.environ, "MTQA_CACHE": str(root / f"cache-{kill_after_markers}")}
    proc = subprocess.Popen([*BUILD, "--out", str(out)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    cache_dir = Path(env["MTQA_CACHE"])

    def reached() -> bool:
        if kill_after_markers == 0:
            # The cache is opened as the first chunk's translation starts: kill right there.
            return any(cache_dir.glob("**/translations.sqlite3*"))
        return markers(out) >= kill_after_markers

    while not reached() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_at_kill = markers(out)
    assert done_at_kill < total, "the build finished before it could be killed; use smaller chunks"
    if kill_after_markers == 0:
        assert done_at_kill == 0  # killed inside the first chunk's translation

    result = run_build(out, env)
    assert result.returncode == 0, result.stderr
    assert data_files(out) == expected
    rows = pa.concat_tables(pa.ipc.open_file(str(p)).read_all() for p in sorted((out / "data").glob("*.arrow")))
    keys = list(zip(rows.column("id").to_pylist(), rows.column("lang").to_pylist()))
    assert len(keys) == len(set(keys))
