"""Machine translation with CTranslate2: models, the engine and the translation cache.

- :func:`resolve_model` finds or converts a model and describes it (:class:`ModelInfo`).
- :class:`Ct2Translator` translates lists of texts with it, in input order.
- :class:`TranslationCache` keeps every finished translation on disk, by content.

Nothing here imports ctranslate2, torch or transformers until it is used.
"""

from mtqa.translation.cache import (
    TranslationCache,
    translation_key,
    translation_namespace,
)
from mtqa.translation.engine import Ct2Translator
from mtqa.translation.models import (
    ModelInfo,
    default_cache_dir,
    is_template,
    load_ct2_model,
    resolve_model,
)

__all__ = [
    "Ct2Translator",
    "ModelInfo",
    "TranslationCache",
    "default_cache_dir",
    "is_template",
    "load_ct2_model",
    "resolve_model",
    "translation_key",
    "translation_namespace",
]
