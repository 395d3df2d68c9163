"""Full XQuAD-R evaluation from cached embeddings: mtqa's chunked exact ranks vs per-query full sorts.

The whole evaluation: 11 languages, 121 query x corpus settings (11 monolingual, 110
cross-lingual), the pooled multilingual setting (13,090 queries x 13,014 candidates, never held
as one score matrix) and the rank distance, from embeddings already in an
:class:`~mtqa.eval.embedding_cache.EmbeddingCache`. By default the embeddings come from a
deterministic hashed byte-trigram encoder (384 dimensions, like MiniLM / mE5-small), encoded
into a temporary cache first (not timed); ``--model M --cache-dir DIR`` uses a real model's
cached embeddings instead (encoding whatever is missing first, not timed). Target: < 10 s.

The baseline computes the same chunked score matrices and ranks every query's relevant
candidates the way a careful numpy user would, in O(n) per query as ``argpartition`` is:
vectorised counts over the chunk (``scores > s_rel``, and ties with the same rule: irrelevant
before relevant, then candidate order), pooled and per corpus language. An earlier version
used a full ``lexsort`` per query (``--full-sort`` keeps that row, on every
``--naive-stride``-th query, scaled), which flattered mtqa by 2.5-3.7x (issue 14). The
baseline's ranks are compared with mtqa's for every query (they must all be equal). Both
sides run ``--repeat`` times, interleaved; medians and mins are reported.

    python benchmarks/bench_eval.py [--model M --cache-dir DIR] [--repeat 3] [--full-sort]
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
from _harness import interleaved, load_average, ratio_line  # noqa: E402

from mtqa.eval.embedding_cache import EmbeddingCache  # noqa: E402
from mtqa.eval.encoders import load_encoder  # noqa: E402
from mtqa.eval.lexical import hashed_trigrams  # noqa: E402
from mtqa.eval.lareqa import encode_unique, evaluate_lareqa, load_lareqa  # noqa: E402
from mtqa.eval.metrics import naive_relevant_ranks, relevant_ranks  # noqa: E402


def _inputs(data, encoder, cache):
    questions, qlang, candidates, blocks, relevant = data.pooled()
    q_vectors, q_rows = encode_unique(encoder, cache, questions, "query", 64, False)
    c_vectors, c_rows = encode_unique(encoder, cache, candidates, "passage", 64, False)
    return q_vectors, q_rows, c_vectors, c_rows, blocks, relevant


def baseline(inputs, chunk_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """The same chunked score matrices, then each relevant candidate's rank by vectorised
    counting (O(n) per query). Returns (block ranks, pooled ranks)."""
    q_vectors, q_rows, c_vectors, c_rows, blocks, relevant = inputs
    queries = q_vectors[q_rows]
    pool_t = np.ascontiguousarray(c_vectors[c_rows].T)
    first_of: dict = {}
    for pos, row in enumerate(c_rows):
        first_of.setdefault(row, pos)
    repeats = np.array([pos for pos, row in enumerate(c_rows) if first_of[row] != pos], np.int64)
    originals = np.array([first_of[c_rows[pos]] for pos in repeats], np.int64)
    n_blocks = len(blocks)
    block_ranks = np.empty((len(queries), n_blocks), np.int64)
    pooled_ranks = np.empty((len(queries), n_blocks), np.int64)
    for first in range(0, len(queries), chunk_size):
        scores = queries[first:first + chunk_size] @ pool_t
        scores[:, repeats] = scores[:, originals]
        rel = relevant[first:first + chunk_size]
        rows = np.arange(len(scores))[:, None]
        rel_scores = scores[rows, rel]  # (chunk, blocks)
        for b, (s, e) in enumerate(blocks):
            mine = rel_scores[:, b:b + 1]
            sub = scores[:, s:e]
            block_ranks[first:first + len(scores), b] = ((sub > mine).sum(1) + (sub == mine).sum(1))
            ties_rel = rel_scores == mine
            before = (ties_rel & (rel < rel[:, b:b + 1])).sum(1)
            pooled_ranks[first:first + len(scores), b] = ((scores > mine).sum(1) + (scores == mine).sum(1)
                                                          - ties_rel.sum(1) + before + 1)
    return block_ranks, pooled_ranks


def full_sort(inputs, stride: int, chunk_size: int = 256) -> float:
    """The earlier baseline: a full lexsort per query (every ``stride``-th, scaled)."""
    q_vectors, q_rows, c_vectors, c_rows, blocks, relevant = inputs
    queries = q_vectors[q_rows]
    pool_t = np.ascontiguousarray(c_vectors[c_rows].T)
    t_product = t_sort = 0.0
    n_sorted = 0
    for first in range(0, len(queries), chunk_size):
        t0 = time.perf_counter()
        scores = queries[first:first + chunk_size] @ pool_t
        t_product += time.perf_counter() - t0
        for q in range(first + (-first) % stride, min(first + chunk_size, len(queries)), stride):
            t0 = time.perf_counter()
            row = scores[q - first]
            naive_relevant_ranks(row, relevant[q])
            for b, (s, e) in enumerate(blocks):
                naive_relevant_ranks(row[s:e], [relevant[q, b] - s])
            t_sort += time.perf_counter() - t0
            n_sorted += 1
    return t_product + t_sort * len(queries) / n_sorted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="use this model's cached embeddings (default: hashed trigrams)")
    parser.add_argument("--cache-dir", type=Path, help="embedding cache (default: a temporary folder)")
    parser.add_argument("--naive-stride", type=int, default=10, help="--full-sort on every N-th query (1: all)")
    parser.add_argument("--full-sort", action="store_true", help="also time the earlier full-sort baseline")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs of each side")
    args = parser.parse_args()
    print(f"load average at start: {load_average()}")
    data = load_lareqa(require(SHARED_DATA / "xquad-r"), "xquad-r")
    with tempfile.TemporaryDirectory() as tmp:
        cache = EmbeddingCache(args.cache_dir or Path(tmp))
        encoder = (load_encoder(args.model, device="cpu") if args.model
                   else load_encoder(hashed_trigrams, name="bench-hashed-trigrams-384"))
        t0 = time.perf_counter()
        evaluate_lareqa(encoder, data, cache=cache)  # fills the cache (not timed)
        t_fill = time.perf_counter() - t0
        inputs = _inputs(data, encoder, cache)
        q_vectors, q_rows, c_vectors, c_rows, blocks, relevant = inputs
        mine = relevant_ranks(q_vectors[q_rows], c_vectors, relevant, blocks, candidate_rows=c_rows, chunk_size=256)
        timing = interleaved({"mtqa evaluate_lareqa": lambda: evaluate_lareqa(encoder, data, cache=cache),
                              "baseline (vectorised counts)": lambda: baseline(inputs)}, repeats=args.repeat)
        result = timing["mtqa evaluate_lareqa"].output
        block, pooled = timing["baseline (vectorised counts)"].output
        t_full = full_sort(inputs, args.naive_stride) if args.full_sort else None
    n_q = sum(len(d.questions) for d in data.by_lang.values())
    same_block = float(np.mean(block == mine.block))
    same_pooled = float(np.mean(pooled == mine.pooled))
    print(f"XQuAD-R: {len(data.langs)} languages, {len(result.settings)} settings + pooled "
          f"({n_q:,} queries x {result.pooled_candidates:,} candidates); encoder {encoder.name.split('|')[0]}; "
          f"cache filled in {t_fill:.1f} s (not timed)")
    for t in timing.values():
        print(t.line())
    print(ratio_line(timing["baseline (vectorised counts)"], timing["mtqa evaluate_lareqa"]) + "  (target: mtqa < 10 s)")
    print(f"(mtqa's time is the whole evaluation: 121 settings' metrics, pooled, rank distance; the baseline only "
          f"ranks) ranks equal to mtqa's on all {n_q:,} queries: block {same_block:.4%}, pooled {same_pooled:.4%}")
    if same_block < 1 or same_pooled < 1:
        raise SystemExit("the baseline's ranks differ from mtqa's")
    if t_full is not None:
        print(f"earlier baseline, full lexsort per query: {t_full:.2f} s (sorts on every {args.naive_stride}-th query, scaled)")
    print(f"macro mAP mono {result.mono.mean_ap:.4f} cross {result.cross.mean_ap:.4f} "
          f"multi {result.multi.mean_ap:.4f}; rank distance {result.rank_distance:.1f}")
    print(f"load average at end: {load_average()}")


if __name__ == "__main__":
    main()
