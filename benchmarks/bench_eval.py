"""Full XQuAD-R evaluation from cached embeddings: mtqa's chunked exact ranks vs per-query full sorts.

The whole evaluation: 11 languages, 121 query x corpus settings (11 monolingual, 110
cross-lingual), the pooled multilingual setting (13,090 queries x 13,014 candidates, never held
as one score matrix) and the rank distance, from embeddings already in an
:class:`~mtqa.eval.embedding_cache.EmbeddingCache`. By default the embeddings come from a
deterministic hashed byte-trigram encoder (384 dimensions, like MiniLM / mE5-small), encoded
into a temporary cache first (not timed); ``--model M --cache-dir DIR`` uses a real model's
cached embeddings instead (encoding whatever is missing first, not timed). Target: < 10 s.

The baseline computes the same chunked score matrices and ranks each query by a full
``lexsort`` of its score row (pooled, then each of the 11 corpus languages) with the same
tie rule; the sorts run on every ``--naive-stride``-th query and their time is scaled to all
queries. Its ranks are compared with mtqa's for those queries (they must all be equal).

    python benchmarks/bench_eval.py [--model M --cache-dir DIR] [--naive-stride 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import SHARED_DATA, require  # noqa: E402

from mtqa.eval.embedding_cache import EmbeddingCache  # noqa: E402
from mtqa.eval.encoders import load_encoder  # noqa: E402
from mtqa.eval.lexical import hashed_trigrams  # noqa: E402
from mtqa.eval.lareqa import encode_unique, evaluate_lareqa, load_lareqa  # noqa: E402
from mtqa.eval.metrics import naive_relevant_ranks, relevant_ranks  # noqa: E402


def naive(data, encoder, cache, stride: int, chunk_size: int = 256) -> tuple[float, int, float, float]:
    """The baseline: the same chunked score matrices, then a full sort of every query's row.

    Scores are computed exactly as mtqa computes them (same chunks, same matrix product), so
    both see bit-identical scores. Sorting is timed on every ``stride``-th query and scaled to
    all queries; the matrix products are timed in full. Returns (seconds, sorted queries,
    share of block ranks and of pooled ranks equal to mtqa's on those queries).
    """
    questions, qlang, candidates, blocks, relevant = data.pooled()
    q_vectors, q_rows = encode_unique(encoder, cache, questions, "query", 64, False)
    c_vectors, c_rows = encode_unique(encoder, cache, candidates, "passage", 64, False)
    mine = relevant_ranks(q_vectors[q_rows], c_vectors, relevant, blocks, candidate_rows=c_rows, chunk_size=chunk_size)
    queries = q_vectors[q_rows]
    pool_t = np.ascontiguousarray(c_vectors[c_rows].T)
    first_of = {}
    for pos, row in enumerate(c_rows):
        first_of.setdefault(row, pos)
    repeats = np.array([pos for pos, row in enumerate(c_rows) if first_of[row] != pos], np.int64)
    originals = np.array([first_of[c_rows[pos]] for pos in repeats], np.int64)
    t_product = t_sort = 0.0
    same_block = same_pooled = n_sorted = 0
    for first in range(0, len(queries), chunk_size):
        t0 = time.perf_counter()
        scores = queries[first:first + chunk_size] @ pool_t
        scores[:, repeats] = scores[:, originals]
        t_product += time.perf_counter() - t0
        for q in range(first + (-first) % stride, min(first + chunk_size, len(queries)), stride):
            t0 = time.perf_counter()
            row = scores[q - first]
            pooled = naive_relevant_ranks(row, relevant[q])
            block = [naive_relevant_ranks(row[s:e], [relevant[q, b] - s])[0] for b, (s, e) in enumerate(blocks)]
            t_sort += time.perf_counter() - t0
            same_pooled += int(np.sum(pooled == mine.pooled[q]))
            same_block += int(np.sum(np.array(block) == mine.block[q]))
            n_sorted += 1
    seconds = t_product + t_sort * len(queries) / n_sorted
    n_ranks = n_sorted * len(blocks)
    return seconds, n_sorted, same_block / n_ranks, same_pooled / n_ranks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="use this model's cached embeddings (default: hashed trigrams)")
    parser.add_argument("--cache-dir", type=Path, help="embedding cache (default: a temporary folder)")
    parser.add_argument("--naive-stride", type=int, default=10, help="baseline on every N-th query (1: all)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of mtqa (the best is reported)")
    args = parser.parse_args()
    data = load_lareqa(require(SHARED_DATA / "xquad-r"), "xquad-r")
    with tempfile.TemporaryDirectory() as tmp:
        cache = EmbeddingCache(args.cache_dir or Path(tmp))
        encoder = (load_encoder(args.model, device="cpu") if args.model
                   else load_encoder(hashed_trigrams, name="bench-hashed-trigrams-384"))
        t0 = time.perf_counter()
        evaluate_lareqa(encoder, data, cache=cache)  # fills the cache (not timed)
        t_fill = time.perf_counter() - t0
        best_wall, best_cpu, result = float("inf"), float("inf"), None
        for _ in range(args.repeat):
            w0, c0 = time.perf_counter(), time.process_time()
            run = evaluate_lareqa(encoder, data, cache=cache)
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            if wall < best_wall:
                best_wall, best_cpu, result = wall, cpu, run
        t_naive, n_naive, same_block, same_pooled = naive(data, encoder, cache, args.naive_stride)
    n_q = sum(len(d.questions) for d in data.by_lang.values())
    naive_total = t_naive
    print(f"XQuAD-R: {len(data.langs)} languages, {len(result.settings)} settings + pooled "
          f"({n_q:,} queries x {result.pooled_candidates:,} candidates); encoder {encoder.name.split('|')[0]}; "
          f"cache filled in {t_fill:.1f} s (not timed)")
    print(f"mtqa evaluate_lareqa    {best_wall:6.2f} s wall, {best_cpu:6.2f} s CPU (best of {args.repeat}; "
          f"ranks {result.rank_seconds:.2f} s, cache reads {result.encode_seconds:.2f} s)  target < 10 s")
    scaled = "" if args.naive_stride == 1 else f" (sorts timed on {n_naive:,} queries, scaled x{n_q / n_naive:.1f})"
    print(f"naive per-query sorts   {naive_total:6.2f} s wall{scaled}")
    print(f"ratio {naive_total / best_wall:.1f}x; ranks equal to mtqa's on the {n_naive:,} baseline queries: "
          f"block {same_block:.4%}, pooled {same_pooled:.4%}")
    print(f"macro mAP mono {result.mono.mean_ap:.4f} cross {result.cross.mean_ap:.4f} "
          f"multi {result.multi.mean_ap:.4f}; rank distance {result.rank_distance:.1f}")
    print("(2 shared CPU cores: wall times are noisy)")


if __name__ == "__main__":
    main()
