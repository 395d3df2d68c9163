"""Peak RSS of `mtqa build` at 10k and 100k input rows: memory must stay flat as input grows.

The input is XQuAD English repeated with fresh ids: every row is new input, and both sizes
translate the same distinct segments (each from an empty cache), so the toy model's CPU time
does not dominate and the runs differ only in the rows streamed through. Each size runs in its own process; peak RSS is that process's maximum resident set.

    python benchmarks/bench_memory.py [--sizes 10000,100000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import XQUAD_EN, require


def write_input(path: Path, rows: int) -> None:
    data = json.loads(require(XQUAD_EN).read_text(encoding="utf-8"))
    base = [
        {"id": qa["id"], "title": article["title"], "question": qa["question"], "passage": p["context"], "answers": qa["answers"]}
        for article in data["data"]
        for p in article["paragraphs"]
        for qa in p["qas"]
    ]
    with path.open("w", encoding="utf-8") as f:
        for i in range(rows):
            row = dict(base[i % len(base)])
            row["id"] = f"{i // len(base)}-{row['id']}"
            f.write(json.dumps(row) + "\n")


def run(rows: int, tmp: Path) -> tuple[float, float]:
    src = tmp / f"in-{rows}.jsonl"
    write_input(src, rows)
    code = (
        "import resource, sys; from mtqa.cli import main; "
        "sys.argv=['mtqa','build','--no-progress','--sources',sys.argv[1],'--out',sys.argv[2]]; "
        "main(standalone_mode=False); "
        "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    # A fresh cache per size: both sizes translate the same distinct segments (all of
    # XQuAD's), so the larger run differs only in how many rows stream through.
    env = {**os.environ, "MTQA_CACHE": str(tmp / f"cache-{rows}")}
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code, str(src), str(tmp / f"out-{rows}")],
                            capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(result.stderr)
    peak_kb = int(next(line.split()[1] for line in result.stdout.splitlines() if line.startswith("PEAK_KB")))
    return peak_kb / 1024, seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        results = {rows: run(rows, Path(tmp)) for rows in sizes}
    for rows, (mb, seconds) in results.items():
        print(f"{rows:>8,} input rows: peak RSS {mb:7.1f} MB  ({seconds:.0f} s)")
    small, large = sizes[0], sizes[-1]
    print(f"peak RSS ratio {large:,} / {small:,} rows: {results[large][0] / results[small][0]:.2f} "
          f"(input ratio {large / small:.0f}x; flat memory means ~1.0)")


if __name__ == "__main__":
    main()
