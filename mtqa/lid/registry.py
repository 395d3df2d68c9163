"""Which class serves each :class:`~mtqa.lid.base.LidBackend`, and loading one.

The backend modules import their third-party packages only when a model is built, so importing
this module costs numpy and nothing more.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from mtqa.errors import MtqaError
from mtqa.lid.base import LidBackend, LidModel
from mtqa.lid.fasttext_lid import FastTextModel
from mtqa.lid.langid_py import LangidModel
from mtqa.lid.py3langid_nb import Py3LangidModel

logger = logging.getLogger(__name__)

MODEL_CLASSES: dict[LidBackend, Callable[[tuple[str, ...] | None], LidModel]] = {
    LidBackend.PY3LANGID: Py3LangidModel,
    LidBackend.LANGID: LangidModel,
    LidBackend.FASTTEXT: FastTextModel,
}


def load_model(backend: LidBackend, candidates: tuple[str, ...] | None) -> LidModel:
    """The backend's model restricted to ``candidates`` (``None`` = unrestricted).

    A missing package raises :class:`MtqaError` naming what to install.
    """
    start = time.perf_counter()
    try:
        model = MODEL_CLASSES[backend](candidates)
    except ImportError as e:
        raise MtqaError(f"the {backend} language-ID backend needs {e.name}: {backend.install_hint}") from None
    logger.debug(
        "loaded language-ID backend %s in %.2f s: %d labels, candidates %s",
        backend, time.perf_counter() - start, len(model.labels),
        "all" if model.candidates is None else ",".join(model.candidates) or "none",
    )
    return model
