"""Peak RSS of `mtqa build` by input size and format: memory must stay flat as input grows.

Inputs from :mod:`make_synthetic` (XQuAD English repeated with fresh ids and titles, so every
size translates the same distinct segments, each from an empty cache): SQuAD JSON, JSONL and
Parquet at each ``--sizes`` question count. Each build runs ``mtqa build --no-progress`` in
its own process; its peak RSS is that process's ``ru_maxrss``. The baseline is the same build
at the smallest size: flat memory means a ratio near 1.0. Target: under 600 MB at every size.
The wall time and the load average are printed with every figure (2 shared cores).
``--reader-only`` runs the reader step alone (with the row estimate the executor asks for),
which isolates what streaming the input costs at sizes a whole build would take hours on.

    python benchmarks/bench_memory.py [--sizes 10000,100000,1000000] [--formats squad,jsonl,parquet]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import load_average
from make_synthetic import SUFFIX, write

CODE = (
    "import resource, sys; from mtqa.cli import main; "
    "sys.argv=['mtqa','build','--no-progress','--sources',sys.argv[1],'--out',sys.argv[2]]; "
    "main(standalone_mode=False); "
    "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
)
#: ``--reader-only``: the build's first step alone (what streaming the input costs), with the
#: row estimate the executor asks for first.
READER_CODE = (
    "import resource, sys; from mtqa.readers import ReaderStep; "
    "r = ReaderStep.from_specs([sys.argv[1]], 1000); r.expected_rows(); "
    "n = sum(c.qa.num_rows for c in r.run()); "
    "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
)


def run(path: Path, tmp: Path, tag: str, code: str = CODE) -> tuple[float, float, str]:
    env = {**os.environ, "MTQA_CACHE": str(tmp / f"cache-{tag}")}
    load = load_average()
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code, str(path), str(tmp / f"out-{tag}")],
                            capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(result.stderr[-3000:])
    peak_kb = int(next(line.split()[1] for line in result.stdout.splitlines() if line.startswith("PEAK_KB")))
    return peak_kb / 1024, seconds, load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--formats", default="squad,jsonl,parquet")
    parser.add_argument("--reader-only", action="store_true", help="the reader step alone, not the whole build")
    parser.add_argument("--tmp", type=Path, help="where inputs and outputs go (default: a temporary folder)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    formats = args.formats.split(",")
    with tempfile.TemporaryDirectory(dir=args.tmp) as name:
        tmp = Path(name)
        for fmt in formats:
            first = None
            for n in sizes:
                path = write(tmp / f"in-{n}{SUFFIX[fmt]}", fmt, n)
                mb, seconds, load = run(path, tmp, f"{fmt}-{n}", READER_CODE if args.reader_only else CODE)
                path.unlink()
                first = first or mb
                print(f"{fmt:8} {n:>9,} questions ({path.suffix}): peak RSS {mb:7.1f} MB  ratio {mb / first:4.2f}  "
                      f"{seconds:7.0f} s  load {load}", flush=True)
    print(f"load average at end: {load_average()}")


if __name__ == "__main__":
    main()
