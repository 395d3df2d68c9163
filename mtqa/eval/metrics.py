"""Exact ranks of relevant candidates, and the measures built on them (AP, R@k, rank distance).

Everything here works on ranks, and ranks are computed exactly from dot-product scores in
chunks of queries, so no full query x candidate score matrix is ever held in memory.

**Tie rule (pessimistic).** A relevant candidate is ranked *after* every irrelevant candidate
with the same score; relevant candidates tied with each other are ranked in candidate order
(which changes no measure here: AP, R@k and rank distance only see the set of positions they
occupy). So the rank of relevant candidate ``r`` is::

    rank(r) = #{j : s_j > s_r} + #{irrelevant j : s_j == s_r} + #{relevant j <= r : s_j == s_r}

A model cannot gain from ties: scoring everything the same gives the worst possible ranks.
trec_eval (and pytrec_eval, ir_measures) break ties by document id instead, in descending
order; naming irrelevant documents so that they sort after relevant ones reproduces this rule
there (see tests/eval/test_metrics.py).

**Measures**, for one query with relevant ranks ``r_1 < ... < r_n`` (every candidate is
ranked, so every relevant one has a rank):

- AP = (1/n) * sum_i i / r_i (with one relevant candidate: 1 / r_1),
- R@k = #{i : r_i <= k} / n,
- rank distance = r_n - r_1 (defined when n >= 2; lower is better).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from mtqa.errors import MtqaError

TIE_RULE = "pessimistic"
_PIECE = 65_535  # columns per uint16 count
TIE_RULE_TEXT = ("pessimistic: a relevant candidate is ranked after every irrelevant candidate with the same score; "
                 "tied relevant candidates keep candidate order")


@dataclass(frozen=True, slots=True)
class RelevantRanks:
    """Ranks of the relevant candidates of every query.

    ``block`` and ``pooled`` are ``(n_queries, n_blocks)`` int64 arrays, 0 where a query has no
    relevant candidate in that block. ``block[q, b]`` is the rank of query q's relevant candidate
    in block b among block b's candidates only (the cross-lingual or monolingual setting with
    that block as corpus); ``pooled[q, b]`` is the rank of the same candidate among all
    candidates of all blocks (the multilingual setting).
    """

    block: np.ndarray
    pooled: np.ndarray


def _check_embeddings(name: str, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2:
        raise MtqaError(f"{name} embeddings must be a 2-d array, got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        raise MtqaError(f"{name} embeddings must be floating point, got {x.dtype}")
    if not np.isfinite(x).all():
        raise MtqaError(f"{name} embeddings contain NaN or infinite values")
    return x


def relevant_ranks(
    queries: np.ndarray,
    candidates: np.ndarray,
    relevant: np.ndarray,
    blocks: Sequence[tuple[int, int]],
    *,
    candidate_rows: np.ndarray | None = None,
    chunk_size: int = 256,
    on_scores: Callable[[int, np.ndarray], None] | None = None,
) -> RelevantRanks:
    """Exact pessimistic ranks of each query's relevant candidates, per block and pooled.

    ``queries`` is ``(n_queries, d)``; the pooled corpus is ``candidates[candidate_rows]``
    (``candidate_rows`` lets identical candidates share one vector, so they tie exactly;
    ``None``: ``candidates`` as is), scored by dot product. ``blocks`` are contiguous
    ``(start, end)`` ranges of pooled positions that together cover the corpus (one per
    language). ``relevant[q, b]`` is the pooled position of query q's relevant candidate in
    block b, or -1 for none. ``on_scores(first_query, scores)`` is called with every chunk of
    score rows (``(n, n_candidates)`` float32), exactly the values the ranks come from.
    """
    queries = _check_embeddings("query", queries)
    candidates = _check_embeddings("candidate", candidates)
    if queries.shape[1] != candidates.shape[1]:
        raise MtqaError(f"query and candidate embeddings differ in dimension: {queries.shape[1]} vs {candidates.shape[1]}")
    dtype = np.result_type(queries.dtype, candidates.dtype, np.float32)
    queries = queries.astype(dtype, copy=False)
    candidates = candidates.astype(dtype, copy=False)
    same_as = None
    if candidate_rows is not None:
        candidate_rows = np.asarray(candidate_rows, dtype=np.int64)
        if len(candidate_rows) and (candidate_rows.min() < 0 or candidate_rows.max() >= candidates.shape[0]):
            raise MtqaError("candidate_rows point outside the candidate embeddings")
        # Score the pooled corpus directly, then copy each repeated candidate's column from its
        # first occurrence: a matrix product need not give bit-identical values to equal rows.
        first = np.full(candidates.shape[0], -1, dtype=np.int64)
        positions = np.arange(len(candidate_rows))
        first[candidate_rows[::-1]] = positions[::-1]
        repeats = np.flatnonzero(first[candidate_rows] != positions)
        same_as = (repeats, first[candidate_rows[repeats]]) if len(repeats) else None
        candidates = candidates[candidate_rows]
    n_cand = candidates.shape[0]
    relevant = np.asarray(relevant, dtype=np.int64)
    n_q, n_b = queries.shape[0], len(blocks)
    if relevant.shape != (n_q, n_b):
        raise MtqaError(f"relevant must be (n_queries, n_blocks) = ({n_q}, {n_b}), got {relevant.shape}")
    starts = np.array([s for s, _ in blocks], dtype=np.int64)
    ends = np.array([e for _, e in blocks], dtype=np.int64)
    if n_b and (starts[0] != 0 or ends[-1] != n_cand or (starts[1:] != ends[:-1]).any() or (ends < starts).any()):
        raise MtqaError(f"blocks must be contiguous ranges covering the {n_cand} candidates")
    valid = relevant >= 0
    if (valid & ((relevant < starts) | (relevant >= ends))).any():
        raise MtqaError("a relevant candidate lies outside its block")

    block_ranks = np.zeros((n_q, n_b), dtype=np.int64)
    pooled_ranks = np.zeros((n_q, n_b), dtype=np.int64)
    order = np.arange(n_b)
    candidates_t = np.ascontiguousarray(candidates.T)
    for first_q in range(0, n_q, chunk_size):
        stop = min(first_q + chunk_size, n_q)
        scores = queries[first_q:stop] @ candidates_t
        if same_as is not None:
            scores[:, same_as[0]] = scores[:, same_as[1]]
        # +0.0 turns -0.0 into 0.0 (they compare equal anyway; this keeps the values canonical)
        scores += dtype.type(0.0)
        if on_scores is not None:
            on_scores(first_q, scores)
        rel = relevant[first_q:stop]
        ok = valid[first_q:stop]
        rel_scores = np.take_along_axis(scores, np.where(ok, rel, 0), axis=1)
        rel_scores = np.where(ok, rel_scores, np.inf).astype(dtype, copy=False)
        # For every relevant candidate and block: how many of the block's candidates score at
        # least as high (itself, everything above, every tie). Counted in uint16 over column
        # pieces short enough not to overflow: bool -> uint8 sums are the fast path in numpy.
        at_least = np.zeros((stop - first_q, n_b), dtype=np.int64)
        for b, (s, e) in enumerate(blocks):
            in_block = np.zeros((stop - first_q, n_b), dtype=np.int64)
            for p in range(s, e, _PIECE):
                q = min(p + _PIECE, e)
                ge = scores[:, None, p:q] >= rel_scores[:, :, None]
                in_block += ge.view(np.uint8).sum(axis=-1, dtype=np.uint16)
            at_least += in_block
            block_ranks[first_q:stop, b] = in_block[:, b]
        # tied relevant candidates keep candidate order: remove the later ones from the count
        tied_later = ((rel_scores[:, None, :] == rel_scores[:, :, None]) & ok[:, None, :]
                      & (order[None, None, :] > order[None, :, None])).sum(axis=-1)
        pooled_ranks[first_q:stop] = at_least - tied_later
    block_ranks[~valid] = 0
    pooled_ranks[~valid] = 0
    return RelevantRanks(block=block_ranks, pooled=pooled_ranks)


def _sorted_ranks(ranks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ranks = np.atleast_2d(np.asarray(ranks, dtype=np.int64))
    present = ranks > 0
    ordered = np.sort(np.where(present, ranks, np.iinfo(np.int64).max), axis=1)
    return ordered, np.sort(~present, axis=1) == 0


def average_precision(ranks: np.ndarray) -> np.ndarray:
    """AP of each row of ``ranks`` (ranks of that query's relevant candidates, 0 = none).

    NaN for a row without any relevant candidate.
    """
    ordered, present = _sorted_ranks(ranks)
    n = present.sum(axis=1)
    position = np.cumsum(present, axis=1)
    precision = np.where(present, position / np.where(present, ordered, 1), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, precision.sum(axis=1) / n, np.nan)


def recall_at(ranks: np.ndarray, k: int) -> np.ndarray:
    """R@k of each row: the share of its relevant candidates ranked k or better; NaN without any."""
    ranks = np.atleast_2d(np.asarray(ranks, dtype=np.int64))
    present = ranks > 0
    n = present.sum(axis=1)
    hits = (present & (ranks <= k)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, hits / n, np.nan)


def rank_distance(ranks: np.ndarray) -> np.ndarray:
    """Highest minus lowest rank among each row's relevant candidates; NaN with fewer than two."""
    ranks = np.atleast_2d(np.asarray(ranks, dtype=np.int64))
    present = ranks > 0
    n = present.sum(axis=1)
    high = np.where(present, ranks, 0).max(axis=1)
    low = np.where(present, ranks, np.iinfo(np.int64).max).min(axis=1)
    return np.where(n >= 2, (high - low).astype(np.float64), np.nan)


def naive_relevant_ranks(scores: np.ndarray, relevant: Sequence[int]) -> np.ndarray:
    """Ranks of ``relevant`` positions in one full score row by a full sort (the reference rule).

    Sorts by score descending, irrelevant before relevant on ties, then candidate order;
    returns the 1-based positions of ``relevant`` in their given order. For tests and the
    benchmark's baseline: O(n log n) per query.
    """
    scores = np.asarray(scores) + 0.0
    is_rel = np.zeros(len(scores), dtype=bool)
    relevant = np.asarray(relevant, dtype=np.int64)
    is_rel[relevant] = True
    order = np.lexsort((np.arange(len(scores)), is_rel, -scores))
    position = np.empty(len(scores), dtype=np.int64)
    position[order] = np.arange(1, len(scores) + 1)
    return position[relevant]
