"""The ``langid`` backend: the original langid.py (97 labels), one text at a time; the slow
reference the other backends are measured against."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from mtqa.lid.base import known_candidates, no_labels, nonblank, one_blas_thread


@functools.cache
def _full_model():
    """langid.py's unrestricted identifier, read once per process (1.8 s); every
    :class:`LangidModel` restricts its own identifier built on these arrays."""
    from langid.langid import LanguageIdentifier, model

    return LanguageIdentifier.from_modelstring(model, norm_probs=True)


class LangidModel:
    """langid.py's model restricted to the candidates (``set_languages``)."""

    def __init__(self, requested: tuple[str, ...] | None):
        from langid.langid import LanguageIdentifier

        full = _full_model()
        self.reference = LanguageIdentifier(
            full.nb_ptc, full.nb_pc, full.nb_numfeats, full.nb_classes, full.tk_nextmove, full.tk_output,
            norm_probs=True,
        )
        self.labels = frozenset(self.reference.nb_classes)
        self.candidates = known_candidates(requested, self.labels)
        if self.candidates:
            self.reference.set_languages(list(self.candidates))

    def classify(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
        labels, probs = no_labels(len(texts))
        if self.candidates == ():
            return labels, probs
        classify = self.reference.classify
        with one_blas_thread():
            for i in nonblank(texts):
                labels[i], probs[i] = classify(texts[i])
        return labels, probs
