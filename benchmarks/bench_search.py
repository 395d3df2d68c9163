"""Streaming exact top-k (mtqa.eval.search.top_k) vs the full score matrix + argpartition.

A random unit-norm float32 corpus (default 1,000,000 x 384, 1.5 GB) and 1,000 queries, k=100.
top_k runs over the whole corpus with each backend (torch, numpy). The baseline
(``scores = Q @ C.T``; ``argpartition`` per row for the k best, then those k sorted: what a
numpy user writes; an earlier version used a full ``argsort``, which flattered mtqa, issue 14)
would need a 4 GB score matrix at this size, so it runs on a slice (default 100,000 passages)
and its time and memory are scaled linearly to the full corpus (both grow linearly in the
corpus size).
Each measurement runs in its own process; its peak memory is the process's peak RSS (reset
after the data is built, Linux /proc/self/clear_refs) minus the RSS of the data itself. The top_k
results on the slice are checked against the baseline's first: scores equal within 1e-5, and
ids equal except where two candidates' scores are within 1e-5 of each other (near-ties that
float32 kernels of torch and numpy may order either way); anything else fails the run. The
sides run ``--repeats`` times, interleaved, each run in its own process (median and min).

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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Measured, interleaved, load_average, peak_rss_mb  # noqa: E402

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
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    top = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -top), axis=1)  # score descending, then the lower id
    ids = np.take_along_axis(part, order, axis=1)
    return np.take_along_axis(scores, ids, axis=1), ids


TIE = 1e-5


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


def check(args) -> str:
    """top_k against the baseline on the slice (see the module); returns what was found."""
    queries, corpus = make_data(args.slice, args.dim, 50)
    expected_scores, expected = naive(queries, corpus, args.k)
    lines = []
    for backend in ("numpy", "torch"):
        scores, got = top_k(queries, corpus, args.k, corpus_chunk=8192, backend=backend)
        if not np.allclose(scores, expected_scores, atol=TIE, rtol=0):
            sys.exit(f"top_k ({backend}): scores differ from the baseline's by up to "
                     f"{np.abs(scores - expected_scores).max():.2e}")
        differ = np.argwhere(got != expected)
        for q, j in differ:
            # A swapped near-tie: the id the baseline has here is in top_k's list with a score
            # within TIE of this position's (and vice versa), recomputed exactly in float64.
            exact = corpus[[got[q, j], expected[q, j]]].astype(np.float64) @ queries[q].astype(np.float64)
            if abs(exact[0] - exact[1]) > TIE or expected[q, j] not in got[q] and j < args.k - 1:
                sys.exit(f"top_k ({backend}) disagrees with the baseline at query {q}, rank {j + 1}: ids "
                         f"{got[q, j]} vs {expected[q, j]}, scores {exact[0]:.7f} vs {exact[1]:.7f}")
        lines.append(f"{backend}: ids equal at {got.size - len(differ):,} of {got.size:,} positions"
                     + (f", {len(differ)} near-tie swaps (score gap <= {TIE})" if len(differ) else ""))
    return "; ".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--slice", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=1, help="interleaved runs of each side")
    parser.add_argument("--worker", choices=["naive", "numpy", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args)))
        return
    print(f"load average at start: {load_average()}")
    checked = check(args)
    common = [f"--n={args.n}", f"--dim={args.dim}", f"--queries={args.queries}", f"--k={args.k}", f"--slice={args.slice}"]

    def side(method):
        def run():
            out = subprocess.run([sys.executable, __file__, f"--worker={method}", *common], capture_output=True, text=True)
            if out.returncode:
                sys.exit(f"{method} failed: {out.stderr.strip().splitlines()[-1]}")
            result = json.loads(out.stdout.strip().splitlines()[-1])
            return Measured(result["seconds"], result)
        return run

    timing = interleaved({m: side(m) for m in ("torch", "numpy", "naive")}, repeats=args.repeats)
    results = {m: {**t.output, "seconds": t.median, "min": t.min, "load": f"{min(t.loads):.2f}-{max(t.loads):.2f}"}
               for m, t in timing.items()}
    scale = args.n / args.slice
    naive_s, naive_mb = results["naive"]["seconds"] * scale, results["naive"]["peak_mb"] * scale
    print(f"corpus {args.n:,} x {args.dim} float32 ({args.n * args.dim * 4 / 2**20:,.0f} MB), "
          f"{args.queries:,} queries, k={args.k}; checked on a {args.slice:,} slice: {checked}")
    print(f"baseline full matrix + argpartition: {results['naive']['seconds']:.2f} s (min {results['naive']['min']:.2f}) "
          f"and {results['naive']['peak_mb']:,.0f} MB on {args.slice:,} passages -> {naive_s:.1f} s, {naive_mb:,.0f} MB "
          f"scaled to {args.n:,}; load {results['naive']['load']}")
    for method in ("torch", "numpy"):
        r = results[method]
        print(f"top_k ({method}): {r['seconds']:.1f} s (min {r['min']:.1f}), peak +{r['peak_mb']:,.0f} MB above the "
              f"data; {naive_s / r['seconds']:.1f}x faster, {naive_mb / max(r['peak_mb'], 1):.0f}x less memory than the "
              f"baseline (medians; load {r['load']})")
    print(f"load average at end: {load_average()}")
    print(f"queries/s: torch {args.queries / results['torch']['seconds']:.1f}, "
          f"numpy {args.queries / results['numpy']['seconds']:.1f}, naive (scaled) {args.queries / naive_s:.1f}")


if __name__ == "__main__":
    main()
