"""The ``py3langid`` backend: py3langid 0.4's naive-Bayes byte n-gram model, scored by
:class:`BatchNaiveBayes` (numpy, many texts at once) instead of py3langid's per-byte loop."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from mtqa.errors import MtqaError
from mtqa.lid.base import known_candidates, no_labels, nonblank


@functools.cache
def _full_model():
    """py3langid's unrestricted identifier, read once per process (0.9 s); every
    :class:`Py3LangidModel` restricts its own identifier built on these arrays."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


class Py3LangidModel:
    """py3langid's model (142 labels) restricted to the candidates, scored in batches.

    ``reference`` is py3langid's own identifier with the same restriction: the scorer's
    definition of the right answer, and the faster path for a single long text.
    """

    def __init__(self, requested: tuple[str, ...] | None):
        from py3langid.langid import LanguageIdentifier

        full = _full_model()
        if not hasattr(full, "tk_row"):
            raise MtqaError("the py3langid language-ID backend needs py3langid >= 0.4: pip install -U py3langid")
        self.reference = LanguageIdentifier(
            full.nb_ptc, full.nb_pc, full.nb_classes, full.tk_nextmove, full.tk_output, norm_probs=True,
            tk_row=full.tk_row,
        )
        self.labels = frozenset(self.reference.nb_classes)
        self.candidates = known_candidates(requested, self.labels)
        if self.candidates:
            self.reference.set_languages(list(self.candidates))
        self.scorer = BatchNaiveBayes(self.reference)

    def classify(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
        labels, probs = no_labels(len(texts))
        if self.candidates == ():
            return labels, probs
        self.scorer.classify(texts, nonblank(texts), labels, probs)
        return labels, probs


class BatchNaiveBayes:
    """py3langid's model applied to many texts at once, with numpy instead of a Python loop
    per byte: the n-gram automaton steps every text of a block forward together, one byte
    position at a time, and the naive-Bayes sums run per text over its sorted features.

    Same encoding, features, scores, temperature and softmax as
    ``py3langid.langid.LanguageIdentifier.classify`` (only float rounding in the sums differs),
    on py3langid 0.4's model layout: one feature per automaton state, rows shared via ``tk_row``.
    Each text's result depends on that text alone, never on the block it was scored in.
    """

    BLOCK = 4096  # texts walked together
    GRID = 1 << 24  # bytes of a block's byte grid (longest text x texts)
    CELLS = 1 << 22  # features x languages scored together
    LONG = 4096  # bytes; longer texts go through py3langid's own loop, which is faster for one text

    def __init__(self, reference):
        """``reference``: a py3langid >= 0.4 ``LanguageIdentifier`` (restricted or not)."""
        self.reference = reference
        self.encode = reference._encode
        self.nextmove = np.frombuffer(reference.tk_nextmove, dtype=np.dtype(reference.tk_nextmove.typecode))
        self.rowbase = np.frombuffer(reference.tk_row, dtype=np.dtype(reference.tk_row.typecode)).astype(np.intp) << 8
        self.output = np.asarray(reference.tk_output, dtype=np.intp)
        self.features = int(self.output.max()) + 1
        self.classes = list(reference.nb_classes)
        self.table = np.ascontiguousarray(reference.nb_ptc)  # features x languages, float16
        self.prior = np.asarray(reference.nb_pc, dtype=np.float32)
        first: dict[str, int] = {}
        self.aliases = []
        for i, c in enumerate(self.classes):
            if c in first:
                self.aliases.append((first[c], i))
            else:
                first[c] = i

    def classify(self, texts, todo, labels, probs) -> None:
        """Fill ``labels[i]`` and ``probs[i]`` for every index ``i`` in ``todo``."""
        encoded = [self.encode(texts[i]) for i in todo]
        lengths = np.fromiter(map(len, encoded), dtype=np.intp, count=len(encoded))
        order = np.argsort(-lengths, kind="stable")
        b = int(np.searchsorted(-lengths[order], -self.LONG, side="left"))  # lengths > LONG first
        for i in order[:b].tolist():
            labels[todo[i]], probs[todo[i]] = self.reference.classify(texts[todo[i]])
        while b < len(order):
            size = max(1, min(self.BLOCK, self.GRID // max(int(lengths[order[b]]), 1)))
            block = order[b : b + size]
            b += size
            best, prob = self._score([encoded[i] for i in block], lengths[block])
            for i, c, p in zip(block.tolist(), best.tolist(), prob):
                labels[todo[i]] = self.classes[c]
                probs[todo[i]] = p

    def _walk(self, encoded: list[bytes], lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(text, feature) for every feature occurrence; texts sorted longest first."""
        n, longest = len(encoded), int(lengths[0])
        flat = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        column = np.repeat(np.arange(n), lengths)
        row = np.arange(flat.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        grid = np.zeros((longest, n), dtype=np.uint8)
        grid[row, column] = flat
        active = n - np.searchsorted(lengths[::-1], np.arange(longest), side="right")  # longer than j
        offsets = np.cumsum(active) - active
        visited = np.empty(flat.size, dtype=np.intp)  # every state reached, step by step
        state = np.zeros(n, dtype=np.intp)
        nextmove, rowbase = self.nextmove, self.rowbase
        for j, k, o in zip(range(longest), active.tolist(), offsets.tolist()):
            s = nextmove[rowbase[state[:k]] + grid[j, :k]]
            state[:k] = s
            visited[o : o + k] = s
        feature = self.output[visited]
        hit = np.flatnonzero(feature >= 0)
        text = hit - np.repeat(offsets, active)[hit]
        return text, feature[hit]

    def _score(self, encoded: list[bytes], lengths: np.ndarray) -> tuple[np.ndarray, list[float]]:
        n, ncols = len(encoded), len(self.classes)
        text, feature = self._walk(encoded, lengths)
        keys, counts = np.unique(text * self.features + feature, return_counts=True)
        text, feature = keys // self.features, keys % self.features
        weight = np.log1p(counts.astype(np.float32))
        starts = np.flatnonzero(np.r_[True, text[1:] != text[:-1]]) if text.size else text
        scores = np.zeros((n, ncols), dtype=np.float32)  # no features: uniform, as py3langid
        step = max(1, self.CELLS // ncols)
        bounds = np.r_[starts, text.size]
        g = 0
        while g < len(starts):
            h = int(np.searchsorted(bounds, bounds[g] + step, side="right")) - 1
            h = max(h, g + 1)
            lo, hi = int(bounds[g]), int(bounds[h])
            part = np.take(self.table, feature[lo:hi], axis=0) * weight[lo:hi, None]
            sums = np.add.reduceat(part, starts[g:h] - lo, axis=0)
            scores[text[starts[g:h]]] = sums + self.prior
            g = h
        scale = (1.0 / np.sqrt(np.maximum(lengths, 1).astype(np.float64))).astype(np.float32)
        scores *= scale[:, None]
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        for i, j in self.aliases:
            scores[:, i] += scores[:, j]
            scores[:, j] = 0.0
        best = scores.argmax(axis=1)
        return best, scores[np.arange(n), best].tolist()
