"""Language ID over a pool of "spawn" worker processes, each loading its model once.

"spawn", because fork is unsafe once CTranslate2 or torch threads run. Scripts that start a
pool need ``if __name__ == "__main__":`` (spawned workers re-import the main module).
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

import numpy as np

from mtqa.errors import MtqaError
from mtqa.lid.base import LidBackend, LidModel, no_labels, one_blas_thread
from mtqa.lid.registry import load_model

logger = logging.getLogger(__name__)

BLOCKS_PER_WORKER = 4
BROKEN_POOL = (
    "a language-ID worker process died (out of memory, or a script without "
    "`if __name__ == '__main__':`); set lid processes to 1 to identify in this process"
)


def usable_cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


_WORKER: LidModel | None = None


def _init_worker(backend: LidBackend, candidates: tuple[str, ...] | None) -> None:
    global _WORKER
    one_blas_thread()  # for the worker's whole life: N workers share the cores
    _WORKER = load_model(backend, candidates)


def _classify_block(texts: list[str]) -> tuple[list[str], np.ndarray]:
    assert _WORKER is not None
    return _WORKER.classify(texts)


class LidWorkerPool:
    """``workers`` processes running one backend restricted to ``candidates``.

    :meth:`classify` gives exactly what the backend gives in this process: each text's result
    depends on that text alone, and results come back in input order. The processes start on
    :meth:`start` or the first :meth:`classify` and run until :meth:`close`.
    """

    def __init__(self, backend: LidBackend, candidates: tuple[str, ...] | None, workers: int):
        self.backend = backend
        self.candidates = candidates
        self.workers = workers
        self._executor: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Spawn the workers and wait until each has loaded its model."""
        if self._executor is not None:
            return
        logger.debug("starting %d language-ID worker processes (%s)", self.workers, self.backend)
        self._executor = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=get_context("spawn"),
            initializer=_init_worker,
            initargs=(self.backend, self.candidates),
        )
        try:
            list(self._executor.map(_classify_block, [[] for _ in range(self.workers)]))
        except BrokenProcessPool:
            self.close()
            raise MtqaError(BROKEN_POOL) from None

    def classify(self, texts: list[str]) -> tuple[list[str], np.ndarray]:
        """Labels and float32 probabilities, in input order."""
        if not texts:
            return no_labels(0)
        self.start()
        assert self._executor is not None
        # Blocks of similar length and equal character mass: py3langid's scorer steps a block
        # byte position by byte position, so a block costs about its longest text.
        nblocks = self.workers * BLOCKS_PER_WORKER
        chars = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        order = np.argsort(-chars, kind="stable")
        mass = np.cumsum(chars[order] + 16)  # + a per-text cost
        cuts = np.searchsorted(mass, mass[-1] * np.arange(1, nblocks) / nblocks)
        pieces = [p for p in np.split(order, np.unique(cuts)) if p.size]
        logger.debug("identifying %d texts in %d blocks over %d workers", len(texts), len(pieces), self.workers)
        labels, probs = no_labels(len(texts))
        try:
            results = self._executor.map(_classify_block, [[texts[i] for i in p.tolist()] for p in pieces])
            for piece, (block_labels, block_probs) in zip(pieces, results):
                for i, label in zip(piece.tolist(), block_labels):
                    labels[i] = label
                probs[piece] = block_probs
        except BrokenProcessPool:
            self.close()
            raise MtqaError(BROKEN_POOL) from None
        return labels, probs

    def close(self) -> None:
        """Stop the workers (a later :meth:`classify` starts new ones)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
