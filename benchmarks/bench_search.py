"""Streaming exact top-k (mtqa.eval.search.top_k) vs the naive full score matrix + argsort.

A random unit-norm float32 corpus (default 1,000,000 x 384, 1.5 GB) and 1,000 queries, k=100.
top_k runs over the whole corpus with each backend (torch, numpy). The naive baseline
(``scores = Q @ C.T``; ``argsort`` per row) would need a 4 GB score matrix plus 8 GB of
argsort indices at this size, so it runs on a slice (default 100,000 passages) and its time
and memory are scaled linearly to the full corpus (both grow linearly in the corpus size).
Each measurement runs in its own process; its peak memory is the process's peak RSS (reset
after the data is built, Linux /proc/self/clear_refs) minus the RSS of the data itself. The top_k ids on the slice are
checked against the naive ones first.

    python benchmarks/bench_search.py [--n 1000000] [--dim 384] [--queries 1000] [--k 100] [--slice 100000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mtqa.eval.search import top_k  # noqa: E402


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak() -> float:
    """Reset the peak RSS (Linux: clear_refs 5) and return the current RSS in MB."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    return _status_mb("VmHWM")


def make_data(n: int, dim: int, nq: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    corpus = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        block = rng.standard_normal((min(100_000, n - start), dim), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        corpus[start:start + len(block)] = block
    queries = corpus[rng.choice(n, nq, replace=False)] + 0.5 * rng.standard_normal((nq, dim), dtype=np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    return queries.astype(np.float32), corpus


def naive(queries: np.ndarray, corpus: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = queries @ corpus.T
    ids = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, ids, axis=1), ids


def worker(method: str, args) -> dict:
    if method == "torch":
        import torch  # noqa: F401  (imported before the clock starts, as in a real evaluation)
    queries, corpus = make_data(args.n if method != "naive" else args.slice, args.dim, args.queries)
    before = reset_peak()
    start = time.perf_counter()
    if method == "naive":
        naive(queries, corpus, args.k)
    else:
        top_k(queries, corpus, args.k, backend=method)
    return {"seconds": time.perf_counter() - start, "peak_mb": peak_rss_mb() - before, "data_mb": before}


def check(args) -> None:
    queries, corpus = make_data(args.slice, args.dim, 50)
    expected = naive(queries, corpus, args.k)[1]
    for backend in ("numpy", "torch"):
        got = top_k(queries, corpus, args.k, corpus_chunk=8192, backend=backend)[1]
        if not np.array_equal(got, expected):
            sys.exit(f"top_k ({backend}) disagrees with the naive baseline")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--slice", type=int, default=100_000)
    parser.add_argument("--worker", choices=["naive", "numpy", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args)))
        return
    check(args)
    common = [f"--n={args.n}", f"--dim={args.dim}", f"--queries={args.queries}", f"--k={args.k}", f"--slice={args.slice}"]
    results = {}
    for method in ("torch", "numpy", "naive"):
        out = subprocess.run([sys.executable, __file__, f"--worker={method}", *common], capture_output=True, text=True)
        if out.returncode:
            sys.exit(f"{method} failed: {out.stderr.strip().splitlines()[-1]}")
        results[method] = json.loads(out.stdout.strip().splitlines()[-1])
    scale = args.n / args.slice
    naive_s, naive_mb = results["naive"]["seconds"] * scale, results["naive"]["peak_mb"] * scale
    print(f"corpus {args.n:,} x {args.dim} float32 ({args.n * args.dim * 4 / 2**20:,.0f} MB), "
          f"{args.queries:,} queries, k={args.k}; ids on a {args.slice:,} slice equal to the naive ones")
    print(f"naive full matrix + argsort: {results['naive']['seconds']:.2f} s and {results['naive']['peak_mb']:,.0f} MB "
          f"on {args.slice:,} passages -> {naive_s:.1f} s, {naive_mb:,.0f} MB scaled to {args.n:,}")
    for method in ("torch", "numpy"):
        r = results[method]
        print(f"top_k ({method}): {r['seconds']:.1f} s, peak +{r['peak_mb']:,.0f} MB above the data; "
              f"{naive_s / r['seconds']:.1f}x faster, {naive_mb / max(r['peak_mb'], 1):.0f}x less memory than naive")
    print(f"queries/s: torch {args.queries / results['torch']['seconds']:.1f}, "
          f"numpy {args.queries / results['numpy']['seconds']:.1f}, naive (scaled) {args.queries / naive_s:.1f}")


if __name__ == "__main__":
    main()
