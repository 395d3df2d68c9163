"""Repeat the reliability experiments of issue 13 many times and count the outcomes.

    python -m tests.reliability.stress --races 17 --partition-rounds 3 --random-kills 22 --window-kills 3

Not collected by pytest (the tests in this folder are the quick versions). Every build uses the
embedded sample and the toy model, with small chunks so that kills land mid-build.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.reliability.run_cli_start import release_together

ROOT = Path(__file__).resolve().parents[2]
BUILD = ["build", "--chunk-size", "4", "--no-progress"]


def env(cache: Path) -> dict:
    return {**os.environ, "MTQA_CACHE": str(cache), "PYTHONPATH": str(ROOT)}


def cli(args: list[str], cache: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mtqa.cli", *args], cwd=ROOT, env=env(cache), capture_output=True,
                          text=True, timeout=600)


def together(runs: list[list[str]], cache: Path, work: Path) -> list[subprocess.CompletedProcess]:
    go = work / f"go-{time.monotonic_ns()}"
    procs = [subprocess.Popen([sys.executable, "-m", "tests.reliability.run_cli", str(go), *args], cwd=ROOT,
                              env=env(cache), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for args in runs]
    release_together(go, procs)
    out = []
    for proc, args in zip(procs, runs, strict=True):
        stdout, stderr = proc.communicate(timeout=600)
        out.append(subprocess.CompletedProcess(args, proc.returncode, stdout, stderr))
    return out


def shards(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes()
            for folder in ("data", "rejected") for p in sorted((out / folder).glob("*.arrow"))}


def consistent(out: Path) -> bool:
    """manifest.json lists exactly the files in data/, each with its checksum."""
    from mtqa.io import sha256_file

    manifest = json.loads((out / "manifest.json").read_text())
    listed = {f["path"] for f in manifest["files"]}
    if listed != {str(p.relative_to(out)) for p in (out / "data").glob("*.arrow")}:
        return False
    return all(sha256_file(out / f["path"]) == f["sha256"] for f in manifest["files"])


def one_error_line(result: subprocess.CompletedProcess, text: str) -> bool:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    return len(lines) == 1 and lines[0].startswith("mtqa: error: ") and text in lines[0]


def races(n: int, work: Path) -> dict:
    ok = 0
    for i in range(n):
        out = work / f"race-{i}"
        base = [*BUILD, "--out", str(out)]
        results = together([base, [*base, "--langs", "x-rot13"]], work / "cache", work)
        winners = [r for r in results if r.returncode == 0]
        losers = [r for r in results if r.returncode == 2 and one_error_line(r, "different pipeline")]
        if len(winners) == 1 and len(losers) == 1 and consistent(out):
            langs = set(json.loads((out / "manifest.json").read_text())["langs"])
            expected = {"en", "x-rot13"} if "--langs" in winners[0].args else {"en", "x-rot13", "x-atbash"}
            ok += langs == expected and f"({json.loads((out / 'manifest.json').read_text())['rows']:,} rows)" \
                in winners[0].stdout
    return {"tried": n, "passed": ok, "failed": n - ok}


def partition_rounds(n: int, work: Path) -> dict:
    whole = work / "whole"
    assert cli([*BUILD, "--out", str(whole)], work / "cache-whole").returncode == 0
    expected = sorted(_rows(whole))
    ok = 0
    for i in range(n):
        out = work / f"parts-{i}"
        runs = [[*BUILD, "--out", str(out), "--num-shards", "4", "--shard-index", str(k)] for k in range(4)]
        results = together(runs, work / f"cache-parts-{i}", work)
        ok += all(r.returncode == 0 for r in results) and consistent(out) and sorted(_rows(out)) == expected
    return {"tried": n, "passed": ok, "failed": n - ok}


def _rows(out: Path) -> list[str]:
    import pyarrow as pa

    table = pa.concat_tables(pa.ipc.open_file(str(p)).read_all() for p in sorted((out / "data").glob("*.arrow")))
    return [json.dumps(r, sort_keys=True, default=str) for r in table.drop_columns(
        [c for c in table.column_names if c.endswith("_score") or c in ("passage_length_ratio", "copy_similarity")]
    ).to_pylist()]


def random_kills(n: int, work: Path, seed: int = 0) -> dict:
    clean = work / "clean"
    assert cli([*BUILD, "--out", str(clean)], work / "cache-clean").returncode == 0
    expected = shards(clean)
    rng = random.Random(seed)
    ok = 0
    for i in range(n):
        out, cache = work / f"kill-{i}", work / f"cache-kill-{i}"
        proc = subprocess.Popen([sys.executable, "-m", "mtqa.cli", *BUILD, "--out", str(out)], cwd=ROOT,
                                env=env(cache), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.8, 3.5))  # imports take about 0.8 s, the build about 2.5 s more
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        rerun = cli([*BUILD, "--out", str(out)], cache)
        ok += rerun.returncode == 0 and shards(out) == expected and not list(out.rglob(".*.tmp")) and consistent(out)
    return {"tried": n, "passed": ok, "failed": n - ok}


def window_kills(per_window: int, work: Path) -> dict:
    from tests.reliability.conftest import executor, shard_bytes, tmp_files, write_qa_jsonl
    from tests.reliability.test_kill_windows import WINDOWS, killed_inside

    source = write_qa_jsonl(work / "qa.jsonl")
    executor(source, work / "window-clean").run()
    expected = shard_bytes(work / "window-clean")
    tried = ok = 0
    for window, _, pattern, nth in WINDOWS:
        for j in range(per_window):
            # Later chunks' files: a chunk renames a rejected and a data file, then its marker.
            occurrence = nth + (2 * j if pattern == "*.arrow" else j)
            out = work / f"window-{window.replace(' ', '-')}-{j}"
            killed_inside(source, out, pattern, occurrence)
            left = bool(tmp_files(out))
            executor(source, out).run()
            tried += 1
            ok += left and shard_bytes(out) == expected and not tmp_files(out)
            if pattern in ("build.json", "manifest.json", "shard-*.json"):
                break  # written once per build: one kill is the whole window
    return {"tried": tried, "passed": ok, "failed": tried - ok}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--races", type=int, default=17)
    parser.add_argument("--partition-rounds", type=int, default=3)
    parser.add_argument("--random-kills", type=int, default=22)
    parser.add_argument("--window-kills", type=int, default=3, help="kills per repeated write window")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mtqa-stress-"))
    try:
        report = {}
        if args.window_kills:
            report["kills inside write windows"] = window_kills(args.window_kills, work)
        if args.races:
            report["two pipelines started together"] = races(args.races, work)
        if args.partition_rounds:
            report["4 partitions started together"] = partition_rounds(args.partition_rounds, work)
        if args.random_kills:
            report["kill -9 at random moments"] = random_kills(args.random_kills, work)
        for name, counts in report.items():
            print(f"{name}: {counts['tried']} tried, {counts['passed']} passed, {counts['failed']} failed")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
