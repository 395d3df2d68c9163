"""top_k against brute force: exact scores, the lower-index tie rule, streaming chunks, both backends."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtqa.errors import MtqaError
from mtqa.eval.search import top_k

BACKENDS = ["numpy"] + (["torch"] if __import__("importlib").util.find_spec("torch") else [])


def brute_force(queries: np.ndarray, corpus: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Full score matrix, sorted by (score desc, index asc)."""
    scores = queries @ corpus.T
    index = np.broadcast_to(np.arange(corpus.shape[0]), scores.shape)
    order = np.lexsort((index, -scores), axis=1)[:, :k]
    return np.take_along_axis(scores, order, axis=1), order.astype(np.int64)


@st.composite
def problems(draw):
    dim = draw(st.integers(1, 4))
    n = draw(st.integers(1, 70))
    nq = draw(st.integers(1, 6))
    # small integer entries: many exact ties, and dot products exact in float32 on every backend
    corpus = np.array(draw(st.lists(st.integers(-2, 2), min_size=n * dim, max_size=n * dim)), dtype=np.float32)
    queries = np.array(draw(st.lists(st.integers(-2, 2), min_size=nq * dim, max_size=nq * dim)), dtype=np.float32)
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=4)))
    return (queries.reshape(nq, dim), corpus.reshape(n, dim), cuts, draw(st.integers(1, 30)),
            draw(st.integers(1, 9)), draw(st.integers(1, 4)))


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=60, deadline=None)
@given(problem=problems())
def test_top_k_equals_brute_force_with_ties_and_chunks(backend, problem):
    queries, corpus, cuts, k, corpus_chunk, query_chunk = problem
    chunks = [corpus[a:b] for a, b in zip([0, *cuts], [*cuts, len(corpus)])]
    expected_scores, expected_ids = brute_force(queries, corpus, k)
    scores, ids = top_k(queries, iter(chunks), k, corpus_chunk=corpus_chunk, query_chunk=query_chunk, backend=backend)
    assert scores.dtype == np.float32 and ids.dtype == np.int64
    assert scores.shape == (len(queries), min(k, len(corpus)))
    np.testing.assert_array_equal(ids, expected_ids)
    np.testing.assert_array_equal(scores, expected_scores)
    whole_scores, whole_ids = top_k(queries, corpus, k, corpus_chunk=corpus_chunk, backend=backend)
    np.testing.assert_array_equal(whole_ids, expected_ids)


@pytest.mark.parametrize("backend", BACKENDS)
def test_all_equal_scores_rank_lowest_indices_first(backend):
    corpus = np.ones((50, 3), dtype=np.float32)
    scores, ids = top_k(np.ones((2, 3), dtype=np.float32), corpus, 5, corpus_chunk=7, backend=backend)
    assert ids.tolist() == [[0, 1, 2, 3, 4]] * 2
    assert scores.tolist() == [[3.0] * 5] * 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_random_float_corpus_matches_brute_force(backend):
    rng = np.random.default_rng(7)
    corpus = rng.standard_normal((5000, 32), dtype=np.float32)
    queries = rng.standard_normal((40, 32), dtype=np.float32)
    scores, ids = top_k(queries, corpus, 100, corpus_chunk=512, query_chunk=16, backend=backend)
    expected_scores, expected_ids = brute_force(queries, corpus, 100)
    np.testing.assert_array_equal(ids, expected_ids)
    np.testing.assert_allclose(scores, expected_scores, rtol=1e-5, atol=1e-5)


def test_backends_agree_on_random_floats():
    pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    corpus = rng.standard_normal((3000, 16), dtype=np.float32)
    queries = rng.standard_normal((20, 16), dtype=np.float32)
    a = top_k(queries, corpus, 10, corpus_chunk=1000, backend="numpy")
    b = top_k(queries, corpus, 10, corpus_chunk=1000, backend="torch")
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_allclose(a[0], b[0], rtol=1e-5, atol=1e-5)


def test_bad_input_raises_one_line_errors():
    q = np.zeros((2, 3), dtype=np.float32)
    with pytest.raises(MtqaError, match="dimension 4"):
        top_k(q, np.zeros((5, 4), dtype=np.float32), 2)
    with pytest.raises(MtqaError, match="k must be"):
        top_k(q, np.zeros((5, 3), dtype=np.float32), 0)
    with pytest.raises(MtqaError, match="2-d"):
        top_k(np.zeros(3), np.zeros((5, 3)), 1)


def test_empty_corpus_gives_empty_results():
    scores, ids = top_k(np.ones((2, 3), dtype=np.float32), iter([]), 5)
    assert scores.shape == (2, 0) and ids.shape == (2, 0)
