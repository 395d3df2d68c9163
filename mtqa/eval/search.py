"""Exact inner-product top-k search that streams over the corpus.

:func:`top_k` never holds more than one ``query_chunk x corpus_chunk`` score block: each block's
best k are merged into a running top-k, so a corpus of millions of passages can be given as
an iterable of embedding chunks (for instance straight from the encoder).

Tie rule: among equal scores the lower corpus index ranks first, so results do not depend on
the chunk sizes. With torch installed the scoring runs in torch (on the device of
``device``); otherwise in numpy. Both use the same selection rule; the scores themselves can
differ in the last bits between BLAS libraries, so near-ties may order differently across
backends, exact ties (equal dot products) never do.
"""

from __future__ import annotations

import warnings
from typing import Iterable, Iterator

import numpy as np

from mtqa.errors import MtqaError


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def _tensor(torch, array: np.ndarray, device: str):
    with warnings.catch_warnings():  # read-only inputs (memory maps) are fine: nothing writes to them
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(array).to(device)


def _as_matrix(x, what: str, dim: int | None = None) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2:
        raise MtqaError(f"top_k: {what} must be a 2-d array (n, d), got shape {x.shape}")
    if dim is not None and x.shape[1] != dim:
        raise MtqaError(f"top_k: {what} has dimension {x.shape[1]}, the queries have {dim}")
    return np.ascontiguousarray(x, dtype=np.float32)


def _chunks(corpus, corpus_chunk: int, dim: int) -> Iterator[np.ndarray]:
    if isinstance(corpus, np.ndarray):
        corpus = _as_matrix(corpus, "corpus", dim)
        for start in range(0, len(corpus), corpus_chunk):
            yield corpus[start:start + corpus_chunk]
    else:
        for part in corpus:
            part = _as_matrix(part, "a corpus chunk", dim)
            for start in range(0, len(part), corpus_chunk):
                yield part[start:start + corpus_chunk]


def _block_top_numpy(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Best k of each row, ordered by (score desc, column asc)."""
    rows, n = scores.shape
    if n > k:
        cut = np.partition(scores, n - k - 1, axis=1)[:, n - k - 1:n - k]  # the (k+1)-th largest
        keep = scores > cut
        counts = keep.sum(axis=1)
        for r in np.flatnonzero(counts < k):  # ties at the cut: keep the lowest columns among the tied
            tied = np.flatnonzero(scores[r] == cut[r, 0])[: k - counts[r]]
            keep[r, tied] = True
        _, cols = np.nonzero(keep)  # row-major: columns ascending within each row
        cand = cols.reshape(rows, k)
        cand_scores = np.take_along_axis(scores, cand, axis=1)
    else:
        cand = np.broadcast_to(np.arange(n), scores.shape)
        cand_scores = scores
    order = np.argsort(-cand_scores, axis=1, kind="stable")
    return np.take_along_axis(cand_scores, order, axis=1), np.take_along_axis(cand, order, axis=1)


def _block_top_torch(torch, scores, k: int):
    n = scores.shape[1]
    if n > k:
        values, cand = torch.topk(scores, k + 1, dim=1, sorted=True)
        cut = values[:, k]
        cand_scores, cand = values[:, :k].clone(), cand[:, :k].clone()
        for r in torch.nonzero(values[:, k - 1] == cut).flatten().tolist():  # ties at the cut
            row = scores[r]
            above = torch.nonzero(row > cut[r]).flatten()
            tied = torch.nonzero(row == cut[r]).flatten()[: k - len(above)]
            cand[r] = torch.cat([above, tied])
            cand_scores[r] = row[cand[r]]
        cand, by_col = torch.sort(cand, dim=1, stable=True)
        cand_scores = torch.gather(cand_scores, 1, by_col)
    else:
        cand = torch.arange(n, device=scores.device).expand(scores.shape[0], n)
        cand_scores = scores
    cand_scores, order = torch.sort(cand_scores, dim=1, descending=True, stable=True)
    return cand_scores, torch.gather(cand, 1, order)


def top_k(queries: np.ndarray, corpus: np.ndarray | Iterable[np.ndarray], k: int, *, query_chunk: int = 1024,
          corpus_chunk: int = 65536, backend: str = "auto", device: str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k by inner product.

    ``queries``: ``(nq, d)``; ``corpus``: ``(n, d)`` or an iterable of ``(n_i, d)`` chunks, read
    once, in order (row ``j`` of the concatenation is corpus index ``j``). Returns ``scores``
    float32 ``(nq, k')`` descending and ``ids`` int64 ``(nq, k')``, ``k' = min(k, n)``; equal
    scores rank the lower corpus index first. ``backend``: ``"auto"`` (torch when installed),
    ``"torch"`` or ``"numpy"``; ``device`` is the torch device for scoring (``"cuda"``).
    """
    if k < 1:
        raise MtqaError(f"top_k: k must be at least 1, got {k}")
    if query_chunk < 1 or corpus_chunk < 1:
        raise MtqaError("top_k: query_chunk and corpus_chunk must be at least 1")
    queries = _as_matrix(queries, "queries")
    nq, dim = queries.shape
    if backend not in ("auto", "torch", "numpy"):
        raise MtqaError(f"top_k: unknown backend {backend!r} (auto, torch, numpy)")
    torch = _torch() if backend in ("auto", "torch") else None
    if backend == "torch" and torch is None:
        raise MtqaError("top_k: backend 'torch' needs torch: pip install 'mtqa[eval]'")

    best_scores: list = [None] * ((nq + query_chunk - 1) // query_chunk)
    best_ids: list = [None] * len(best_scores)
    if torch is not None:
        q_parts = [_tensor(torch, queries[s:s + query_chunk], device) for s in range(0, nq, query_chunk)]
    else:
        q_parts = [queries[s:s + query_chunk] for s in range(0, nq, query_chunk)]
    offset = 0
    for block in _chunks(corpus, corpus_chunk, dim):
        if len(block) == 0:
            continue
        if torch is not None:
            c = _tensor(torch, block, device)
        for qi, q in enumerate(q_parts):
            if torch is not None:
                s, i = _block_top_torch(torch, q @ c.T, k)
                i = i + offset
                if best_scores[qi] is not None:
                    s = torch.cat([best_scores[qi], s], 1)
                    i = torch.cat([best_ids[qi], i], 1)
                    s, order = torch.sort(s, dim=1, descending=True, stable=True)
                    s, i = s[:, :k], torch.gather(i, 1, order[:, :k])
            else:
                s, i = _block_top_numpy(q @ block.T, k)
                i = i.astype(np.int64) + offset
                if best_scores[qi] is not None:
                    s = np.concatenate([best_scores[qi], s], 1)
                    i = np.concatenate([best_ids[qi], i], 1)
                    order = np.argsort(-s, axis=1, kind="stable")[:, :k]
                    s, i = np.take_along_axis(s, order, 1), np.take_along_axis(i, order, 1)
            best_scores[qi], best_ids[qi] = s, i
        offset += len(block)
    if offset == 0 or nq == 0:
        return np.zeros((nq, 0), dtype=np.float32), np.zeros((nq, 0), dtype=np.int64)
    if torch is not None:
        best_scores = [s.cpu().numpy() for s in best_scores]
        best_ids = [i.cpu().numpy() for i in best_ids]
    return (np.concatenate(best_scores).astype(np.float32, copy=False),
            np.concatenate(best_ids).astype(np.int64, copy=False))
