"""Language identification: which language is each text in?

One backend per module, each a :class:`LidModel` named by a :class:`LidBackend`:

- ``py3langid`` (:mod:`mtqa.lid.py3langid_nb`, the default; a core dependency): py3langid
  0.4's naive-Bayes byte n-gram model, scored with numpy, many texts at once.
- ``langid`` (:mod:`mtqa.lid.langid_py`): the original langid.py; the slow reference.
- ``fasttext`` (:mod:`mtqa.lid.fasttext_lid`): fastText's compact ``lid.176.ftz`` read by
  ``fasttext-predict``: ``pip install 'mtqa[lid-fasttext]'``.

:mod:`mtqa.lid.registry` maps each name to its class; :mod:`mtqa.lid.pool` runs a backend in
worker processes; :mod:`mtqa.lid.identifier` holds what the pipeline uses:
:class:`LanguageIdentifier`, its :class:`LidConfig`, and :func:`sentence_majority`.
"""

from mtqa.lid.base import LidBackend, LidModel
from mtqa.lid.identifier import LanguageIdentifier, LidConfig, sentence_majority
from mtqa.lid.registry import MODEL_CLASSES, load_model

__all__ = [
    "MODEL_CLASSES",
    "LanguageIdentifier",
    "LidBackend",
    "LidConfig",
    "LidModel",
    "load_model",
    "sentence_majority",
]
