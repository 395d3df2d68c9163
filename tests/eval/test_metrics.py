"""Ranks, AP, R@k and rank distance: hand-computed cases, the tie rule, and a brute-force property check."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtqa.errors import MtqaError
from mtqa.eval.lareqa import LareqaData, summarise
from mtqa.eval.metrics import (
    RelevantRanks,
    average_precision,
    naive_relevant_ranks,
    rank_distance,
    recall_at,
    relevant_ranks,
)


def ranks_for_scores(scores, relevant, blocks, **kw):
    """One query whose dot-product scores are exactly ``scores`` (1-d embeddings, query = [1])."""
    cands = np.asarray(scores, dtype=np.float32)[:, None]
    return relevant_ranks(np.ones((1, 1), np.float32), cands, np.array([relevant]), blocks, **kw)


def test_hand_computed_ties_are_pessimistic():
    # block A = candidates 0-2, block B = 3-5; relevant: 1 in A, 4 in B, both scoring 0.5,
    # tied with each other and with the irrelevant candidate 2.
    r = ranks_for_scores([0.9, 0.5, 0.5, 0.7, 0.5, 0.1], [1, 4], [(0, 3), (3, 6)])
    # A alone: 0.9, then the tied irrelevant 2, then 1 -> rank 3 (by candidate index it would be 2).
    # B alone: 0.7, then 4 -> rank 2.
    assert r.block.tolist() == [[3, 2]]
    # pooled: 0.9 (0), 0.7 (3), 0.5 irrelevant (2), then the tied relevant in candidate order: 1, 4
    assert r.pooled.tolist() == [[4, 5]]
    assert average_precision(r.block[:, :1]).tolist() == [pytest.approx(1 / 3)]
    assert average_precision(r.pooled).tolist() == [pytest.approx((1 / 4 + 2 / 5) / 2)]
    assert recall_at(r.pooled, 4).tolist() == [0.5]
    assert recall_at(r.pooled, 10).tolist() == [1.0]
    assert rank_distance(r.pooled).tolist() == [1.0]


def test_everything_tied_gives_the_worst_ranks():
    r = ranks_for_scores([0.0] * 6, [0, 5], [(0, 3), (3, 6)])
    assert r.block.tolist() == [[3, 3]]
    assert r.pooled.tolist() == [[5, 6]]  # four irrelevant first, then the two relevant


def test_negative_zero_ties_with_zero():
    r = ranks_for_scores([-0.0, 0.0, 0.0], [0], [(0, 3)])
    assert r.block.tolist() == [[3]]


def test_missing_relevant_and_repeated_candidates():
    # candidates 0 and 2 share one vector (candidate_rows), so they tie exactly
    vectors = np.array([[1.0, 0.0], [0.6, 0.8]], np.float32)
    rows = np.array([0, 1, 0, 1])
    q = np.array([[0.6, 0.8]], np.float32)
    r = relevant_ranks(q, vectors, np.array([[2, -1]]), [(0, 3), (3, 4)], candidate_rows=rows)
    # scores: 0.6, 1.0, 0.6 | 1.0; relevant 2 ties with irrelevant 0 -> after it
    assert r.block.tolist() == [[3, 0]]
    assert r.pooled.tolist() == [[4, 0]]
    assert np.isnan(rank_distance(r.pooled)[0])
    assert average_precision(np.array([[0, 0]]))[0] != average_precision(np.array([[0, 0]]))[0]  # NaN


def test_ap_recall_distance_by_hand():
    ranks = np.array([[1, 3, 0], [2, 0, 10], [7, 1, 4]])
    assert average_precision(ranks) == pytest.approx([(1 / 1 + 2 / 3) / 2, (1 / 2 + 2 / 10) / 2,
                                                      (1 / 1 + 2 / 4 + 3 / 7) / 3])
    assert recall_at(ranks, 1) == pytest.approx([0.5, 0.0, 1 / 3])
    assert recall_at(ranks, 4) == pytest.approx([1.0, 0.5, 2 / 3])
    assert rank_distance(ranks).tolist() == [2.0, 8.0, 6.0]


def test_rank_distance_macro_by_hand():
    # en: two queries, pooled ranks (1, 4) and (10, 2) -> distances 3 and 8, mean 5.5
    # de: one query, pooled ranks (6, 2) -> 4; macro over query languages: (5.5 + 4) / 2 = 4.75
    data = LareqaData(benchmark="xquad-r", folder=Path("."), langs=("en", "de"), by_lang={})
    pooled = np.array([[1, 4], [10, 2], [6, 2]])
    block = np.array([[1, 1], [3, 2], [2, 1]])
    out = summarise(data, RelevantRanks(block=block, pooled=pooled), np.array([0, 0, 1]), [(0, 20), (20, 40)])
    assert out.pooled["en"].rank_distance == 5.5
    assert out.pooled["de"].rank_distance == 4.0
    assert out.rank_distance == 4.75
    # settings: en-en ranks (1, 3) -> mAP (1 + 1/3) / 2; de-en rank 2 -> 0.5; cross = mean(en-de, de-en)
    assert out.settings["en-en"].mean_ap == pytest.approx(2 / 3)
    assert out.settings["de-en"].mean_ap == 0.5
    assert out.settings["en-de"].mean_ap == pytest.approx((1 + 1 / 2) / 2)
    assert out.cross.mean_ap == pytest.approx((0.75 + 0.5) / 2)
    assert out.mono.mean_ap == pytest.approx((2 / 3 + 1.0) / 2)
    assert out.settings["en-en"].recall_at_1 == 0.5
    # pooled en: AP((1,4)) = (1 + 2/4)/2, AP((2,10)) = (1/2 + 2/10)/2; de: AP((2,6)) = (1/2 + 2/6)/2
    en = ((1 + 0.5) / 2 + (0.5 + 0.2) / 2) / 2
    de = (0.5 + 2 / 6) / 2
    assert out.multi.mean_ap == pytest.approx((en + de) / 2)
    assert out.matrix("mAP")[1][0] == 0.5


def test_bad_inputs_are_one_line_errors():
    q = np.ones((1, 2), np.float32)
    c = np.ones((3, 2), np.float32)
    with pytest.raises(MtqaError, match="NaN"):
        relevant_ranks(np.array([[np.nan, 1.0]], np.float32), c, np.array([[0]]), [(0, 3)])
    with pytest.raises(MtqaError, match="dimension"):
        relevant_ranks(q, np.ones((3, 4), np.float32), np.array([[0]]), [(0, 3)])
    with pytest.raises(MtqaError, match="outside its block"):
        relevant_ranks(q, c, np.array([[0, 1]]), [(0, 2), (2, 3)])
    with pytest.raises(MtqaError, match="contiguous"):
        relevant_ranks(q, c, np.array([[0]]), [(0, 2)])


def brute_force_rank(scores, relevant_set, r):
    """The tie rule written out literally."""
    s = scores[r]
    return (sum(1 for j in range(len(scores)) if scores[j] > s)
            + sum(1 for j in range(len(scores)) if scores[j] == s and j not in relevant_set)
            + sum(1 for j in relevant_set if scores[j] == s and j <= r))


@st.composite
def problems(draw):
    sizes = draw(st.lists(st.integers(1, 6), min_size=1, max_size=4))
    blocks, start = [], 0
    for n in sizes:
        blocks.append((start, start + n))
        start += n
    n_q = draw(st.integers(1, 5))
    dim = draw(st.integers(1, 3))
    values = st.sampled_from([-1.0, 0.0, 0.5, 1.0])  # few values: many exact ties
    n_unique = draw(st.integers(1, start))
    vectors = np.array(draw(st.lists(st.lists(values, min_size=dim, max_size=dim), min_size=n_unique,
                                     max_size=n_unique)), np.float32)
    rows = np.array(draw(st.lists(st.integers(0, n_unique - 1), min_size=start, max_size=start)))
    queries = np.array(draw(st.lists(st.lists(values, min_size=dim, max_size=dim), min_size=n_q, max_size=n_q)),
                       np.float32)
    relevant = np.array([[draw(st.one_of(st.just(-1), st.integers(s, e - 1))) for s, e in blocks]
                         for _ in range(n_q)])
    chunk = draw(st.integers(1, 4))
    return queries, vectors, rows, relevant, blocks, chunk


@settings(max_examples=150, deadline=None)
@given(problems())
def test_chunked_ranks_match_brute_force_and_full_sort(problem):
    queries, vectors, rows, relevant, blocks, chunk = problem
    r = relevant_ranks(queries, vectors, relevant, blocks, candidate_rows=rows, chunk_size=chunk)
    pooled = vectors[rows]
    for q in range(len(queries)):
        scores = (pooled @ queries[q]).astype(np.float64)
        rel = [int(x) for x in relevant[q] if x >= 0]
        for b, (s, e) in enumerate(blocks):
            if relevant[q, b] < 0:
                assert r.block[q, b] == 0 and r.pooled[q, b] == 0
                continue
            x = int(relevant[q, b])
            assert r.pooled[q, b] == brute_force_rank(scores, set(rel), x)
            assert r.block[q, b] == brute_force_rank(scores[s:e], {x - s}, x - s)
        if rel:
            assert r.pooled[q][relevant[q] >= 0].tolist() == naive_relevant_ranks(scores, rel).tolist()
