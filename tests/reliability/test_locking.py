"""Concurrent runs on one --out: partitions of one pipeline together, a partition twice, and
another pipeline (issue 13, item 1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

from mtqa.cli import main
from mtqa.errors import MtqaError
from mtqa.io import sha256_file
from mtqa.pipeline.locks import FileLock
from tests.reliability.conftest import executor, shard_bytes
from tests.reliability.run_cli_start import release_together

ROOT = Path(__file__).resolve().parents[2]


def start_together(tmp_path: Path, runs: list[list[str]], cache: Path) -> list[subprocess.CompletedProcess]:
    """Start one process per argument list, let them all begin at the same moment, wait."""
    go = tmp_path / f"go-{time.monotonic_ns()}"
    env = {**os.environ, "MTQA_CACHE": str(cache), "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-m", "tests.reliability.run_cli", str(go), *args], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for args in runs]
    release_together(go, procs)
    results = []
    for proc, args in zip(procs, runs, strict=True):
        stdout, stderr = proc.communicate(timeout=180)
        results.append(subprocess.CompletedProcess(args, proc.returncode, stdout, stderr))
    return results


def rows_by_key(out: Path) -> dict[tuple[str, str], dict]:
    table = pa.concat_tables(pa.ipc.open_file(str(p)).read_all() for p in sorted((out / "data").glob("*.arrow")))
    rows = table.to_pylist()
    keys = [(r["id"], r["lang"]) for r in rows]
    assert len(keys) == len(set(keys)), "a row is written twice"
    return dict(zip(keys, rows, strict=True))


def assert_checksums_hold(out: Path) -> dict:
    manifest = json.loads((out / "manifest.json").read_text())
    listed = {f["path"] for f in manifest["files"]}
    assert listed == {str(p.relative_to(out)) for p in (out / "data").glob("*.arrow")}  # nothing else in data/
    for f in manifest["files"]:
        assert sha256_file(out / f["path"]) == f["sha256"]
    return manifest


@pytest.mark.slow
def test_four_partitions_started_together_into_one_new_out(tmp_path):
    out = tmp_path / "parts"
    base = ["build", "--chunk-size", "8", "--no-progress", "--out", str(out), "--num-shards", "4"]
    results = start_together(tmp_path, [[*base, "--shard-index", str(i)] for i in range(4)], tmp_path / "cache")
    for result in results:
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
    manifest = assert_checksums_hold(out)
    assert [p["shard_index"] for p in manifest["partitions"]] == [0, 1, 2, 3]
    # Exactly one of them merged the manifest; each of the others said what was missing then.
    last = [r for r in results if "manifest: " in r.stdout]
    assert len(last) >= 1 and all("still missing" in r.stdout for r in results if r not in last)

    whole = tmp_path / "whole"
    assert CliRunner().invoke(main, ["build", "--chunk-size", "8", "--no-progress", "--out", str(whole)],
                              env={"MTQA_CACHE": str(tmp_path / "cache-whole")}).exit_code == 0
    assert rows_by_key(out) == rows_by_key(whole)  # the same rows, translations included


@pytest.mark.slow
def test_two_pipelines_started_together_on_one_out(tmp_path):
    out = tmp_path / "o"
    base = ["build", "--chunk-size", "8", "--no-progress", "--out", str(out)]
    results = start_together(tmp_path, [base, [*base, "--langs", "x-rot13"]], tmp_path / "cache")
    codes = sorted(r.returncode for r in results)
    assert codes == [0, 2], [r.stderr for r in results]
    winner = next(r for r in results if r.returncode == 0)
    loser = next(r for r in results if r.returncode == 2)
    lines = [line for line in loser.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("mtqa: error: ") and "different pipeline" in lines[0], lines
    manifest = assert_checksums_hold(out)
    langs = {"en", "x-rot13"} if "--langs" in winner.args else {"en", "x-rot13", "x-atbash"}
    assert set(manifest["langs"]) == langs
    assert {lang for _, lang in rows_by_key(out)} == langs  # no chunk of the other pipeline
    assert f"({manifest['rows']:,} rows)" in winner.stdout


def test_a_second_run_of_a_running_partition_is_refused(jsonl, tmp_path):
    out = tmp_path / "out"
    executor(jsonl, out, num_shards=2, shard_index=1).run()
    with FileLock(out / "progress" / "shard-00001.lock"):  # "another process" builds partition 1
        with pytest.raises(MtqaError, match=r"^partition 1 of 2 is already being built into .* by pid \d+ on "):
            executor(jsonl, out, num_shards=2, shard_index=1).run()
        executor(jsonl, out, num_shards=2, shard_index=0).run()  # the other partition is free
    assert (out / "manifest.json").exists()


def test_another_pipeline_is_refused_while_a_run_is_under_way(jsonl, tmp_path):
    out = tmp_path / "out"
    first = executor(jsonl, out)
    first._claim(first.identity()).release()  # claimed, nothing finished yet
    with FileLock(out / "progress" / "shard-00000.lock"):  # and that run is still going
        with pytest.raises(MtqaError, match=r"being built by another run of a different pipeline \(pipeline.limit"):
            executor(jsonl, out, limit=10).run()
    # Once nobody runs there and nothing was finished, the directory may be claimed again.
    assert executor(jsonl, out, limit=10).run().rows > 0
    with pytest.raises(MtqaError, match=r"holds a different pipeline's data \(pipeline.limit differs\)"):
        executor(jsonl, out).run()


def test_a_rerun_of_a_finished_build_does_not_rewrite_anything(jsonl, tmp_path):
    out = tmp_path / "out"
    executor(jsonl, out).run()
    def files():  # lock files aside: their holder writes its pid in them
        return {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.rglob("*")
                if p.is_file() and not p.name.endswith(".lock")}

    before = files()
    manifest = executor(jsonl, out).run()
    after = files()
    assert after == before
    assert manifest.this_run.chunks_built == 0 and manifest.this_run.chunks_done_before == 6
    assert shard_bytes(out)
