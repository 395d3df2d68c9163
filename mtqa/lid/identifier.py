"""Language identification for the filter step: which language is each text in?

:class:`LanguageIdentifier` labels texts with ISO 639-1 codes as the pipeline spells them,
restricted by default to the languages a build can contain (its target languages and the
source language), with the probability of the label renormalised over that set, using the
backend :attr:`LidConfig.backend` names (see :class:`~mtqa.lid.base.LidBackend`). Large
inputs fan out over a reused :class:`~mtqa.lid.pool.LidWorkerPool`; small ones run in the
calling process, with identical labels and probabilities. The identifier pickles without its
model or pool, which load on first use.

:func:`sentence_majority` judges a passage by its sentences: the share of its characters
lying in sentences labelled with the expected language.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from mtqa.errors import MtqaError
from mtqa.lid.base import LidBackend, LidModel
from mtqa.lid.pool import LidWorkerPool, usable_cores
from mtqa.lid.registry import load_model

PLACEMENT = {"placement": True}  # field metadata: where the work runs, not what it gives


@dataclass
class LidConfig:
    """How texts are identified.

    backend: a :class:`LidBackend` or its value (``"py3langid"``, ``"langid"``,
        ``"fasttext"``); stored as the plain string, so the config dumps to YAML and JSON as is.
    restrict: candidates are the pipeline's languages plus the source language; ``False``
        lets the backend answer with any language it knows.
    processes: worker processes for large inputs; 0 = one per CPU core this process may use,
        1 = always in this process. Placement only: results are the same for every value.
    min_parallel: inputs with fewer texts than this run in this process (starting or feeding
        the pool costs more than it saves). Placement only.
    """

    backend: str = LidBackend.PY3LANGID.value
    restrict: bool = True
    processes: int = field(default=0, metadata=PLACEMENT)
    min_parallel: int = field(default=2000, metadata=PLACEMENT)

    def __post_init__(self) -> None:
        # Checked when the pipeline loads, so a typo fails even in builds that never run LID.
        try:
            self.backend = LidBackend(self.backend).value
        except ValueError:
            raise MtqaError(
                f"unknown language-ID backend {self.backend!r}: choose one of {', '.join(b.value for b in LidBackend)}"
            ) from None
        if self.processes < 0:
            raise MtqaError(f"lid processes must be >= 0 (0 = one per CPU core), got {self.processes}")
        if self.min_parallel < 0:
            raise MtqaError(f"lid min_parallel must be >= 0, got {self.min_parallel}")


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
        self._model: LidModel | None = None
        self._pool: LidWorkerPool | None = None

    @property
    def backend(self) -> LidBackend:
        """The backend the config names."""
        return LidBackend(self.config.backend)

    @property
    def model(self) -> LidModel:
        """The backend, loaded in this process (also the source of :meth:`supports`)."""
        if self._model is None:
            self._model = load_model(self.backend, self.requested if self.config.restrict else None)
        return self._model

    @property
    def candidates(self) -> tuple[str, ...] | None:
        """The languages a label can be (None = all the backend knows)."""
        return self.model.candidates

    @property
    def workers(self) -> int:
        """How many processes large inputs fan out to."""
        return self.config.processes or usable_cores()

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
        if self.workers <= 1 or len(texts) < max(self.config.min_parallel, 2) or model.candidates == ():
            return model.classify(texts)
        self.start()
        assert self._pool is not None
        return self._pool.classify(texts)

    def start(self) -> None:
        """Start the worker processes now (they otherwise start on the first large input)."""
        if self._pool is None:
            pool = LidWorkerPool(self.backend, self.model.candidates, self.workers)
            pool.start()
            self._pool = pool

    def close(self) -> None:
        """Stop the worker processes (a later large input starts new ones)."""
        if self._pool is not None:
            self._pool.close()
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
