"""What every language-ID backend is: its name (:class:`LidBackend`), its contract
(:class:`LidModel`), and the pieces the backends share.

Which class serves which name lives in :mod:`mtqa.lid.registry`, one level above the backend
modules, so that they can import this module without a cycle.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from enum import Enum
from typing import Protocol, runtime_checkable

import numpy as np


class LidBackend(str, Enum):
    """The language-ID backends, by the names configs and the CLI use.

    A ``str`` enum: ``LidBackend("fasttext")`` parses a YAML value, ``[b.value for b in
    LidBackend]`` lists the click choices, and a member compares equal to its value.
    """

    PY3LANGID = "py3langid"
    LANGID = "langid"
    FASTTEXT = "fasttext"

    def __str__(self) -> str:
        return self.value

    @property
    def install_hint(self) -> str:
        """The command that installs what this backend needs."""
        return _INSTALL_HINTS[self]


_INSTALL_HINTS = {
    LidBackend.PY3LANGID: "pip install py3langid",
    LidBackend.LANGID: "pip install langid",
    LidBackend.FASTTEXT: "pip install 'mtqa[lid-fasttext]'",
}


@runtime_checkable
class LidModel(Protocol):
    """One loaded backend, restricted to its candidates.

    A backend class is built from the requested candidate languages (``None`` = no
    restriction) and keeps those it knows, in the requested order.
    """

    labels: frozenset[str]
    """Every language the backend can answer, as ISO 639-1 codes where one exists."""

    candidates: tuple[str, ...] | None
    """The languages a label can be; ``None`` = all of :attr:`labels`."""

    def classify(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """Per text, in order: the most probable candidate and its float32 probability
        renormalised over the candidates; ``""`` and 0.0 for empty or whitespace-only text
        and when no candidate is known."""
        ...


def known_candidates(requested: Iterable[str] | None, labels: frozenset[str]) -> tuple[str, ...] | None:
    """The requested languages the backend knows, in order (``None`` stays ``None``)."""
    return None if requested is None else tuple(c for c in requested if c in labels)


def no_labels(n: int) -> tuple[list[str], np.ndarray]:
    """``n`` unlabelled results: ``""`` and 0.0, the starting point every backend fills in."""
    return [""] * n, np.zeros(n, dtype=np.float32)


def nonblank(texts: Sequence[str]) -> list[int]:
    """Indices of the texts with something to identify (not empty, not only whitespace)."""
    return [i for i, t in enumerate(texts) if t and not t.isspace()]


def one_blas_thread() -> contextlib.AbstractContextManager:
    """Limit BLAS to one thread, where threadpoolctl is installed (the limit holds from this
    call until the returned context exits, or for good if it is never entered).

    langid.py multiplies every text's 7,480-feature vector by its whole model with BLAS;
    OpenBLAS threads on a busy machine made that 10x slower (93 against 971 texts/s on two
    shared cores), and worker processes each running a BLAS thread per core oversubscribe it.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1)
