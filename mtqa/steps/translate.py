"""Translate: every distinct segment of a chunk into every target language, through the cache.

For each target language the stage looks the chunk's distinct texts (``chunk.unique``) up in
the translation cache, translates only the misses with CTranslate2 and stores them, and sets
``chunk.translations[lang]`` aligned with ``chunk.unique``. Rows the source gave a translation
in ``lang`` (``qa.parallel``, see :mod:`mtqa.readers.parallel`) are not machine-translated into
it: only the segments of the other rows are looked up and translated (the rest stay ``""``,
counted as ``segments_given``). The model is resolved (and, for a Hugging Face model,
converted) on first use and loaded lazily, so the stage pickles cheaply.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from mtqa.pipeline import stats as S
from mtqa.errors import MtqaError
from mtqa.langs import check_lang
from mtqa.pipeline.step import Chunk, Step
from mtqa.translation.cache import (
    TranslationCache,
    translation_key,
    translation_namespace,
)
from mtqa.translation.config import TranslateConfig
from mtqa.translation.engine import Ct2Translator
from mtqa.translation.models import default_cache_dir, is_template, resolve_model

CACHE_SLICE = 2048  # texts translated between two writes to the cache
SEGMENTS_GIVEN = "segments_given"  # distinct segments left untranslated in a language: the source gave their rows


class TranslateStep(Step):
    """Fills ``chunk.translations`` for every target language (``langs`` minus ``source_lang``)."""

    name = "translate"

    def __init__(
        self, config: TranslateConfig | None = None, langs: Sequence[str] = (), source_lang: str = "en"
    ) -> None:
        super().__init__()
        self.config = config if config is not None else TranslateConfig()
        self.source_lang = source_lang
        self.langs = [lang for lang in dict.fromkeys(langs) if lang != source_lang]
        self.cache_dir = Path(self.config.cache_dir).expanduser() if self.config.cache_dir else default_cache_dir()
        self.cache = TranslationCache(self.cache_dir)
        self._translators: dict[str, Ct2Translator] = {}

    def translator(self, lang: str) -> Ct2Translator:
        """The translator for ``lang``: one shared by all languages, or one per pair for a template."""
        key = lang if is_template(self.config.model) else ""
        if key not in self._translators:
            cfg = self.config
            info = resolve_model(cfg.model, self.cache_dir, lang=lang if key else None)
            self._translators[key] = Ct2Translator(info, cfg, source_lang=self.source_lang)
        return self._translators[key]

    def prepare(self) -> None:
        """Resolve the model(s) and raise ``MtqaError`` for a language they cannot translate into,
        so a bad language or model fails in seconds, not after the first chunk."""
        if is_template(self.config.model):
            for lang in self.langs:
                check_lang(lang)
            pairs = [(self.translator(lang), [lang]) for lang in self.langs]
        else:
            pairs = [(self.translator(self.source_lang), self.langs)]
        for translator, langs in pairs:
            translator.check_langs(langs)
            _ = translator.compute_type  # a device or compute type that cannot work fails here

    def process(self, chunk: Chunk) -> Chunk:
        texts = chunk.unique or []
        for lang in self.langs:
            needed = self._needed(chunk, lang, len(texts))
            chunk.translations[lang] = self._translate(texts, lang, needed)
        return chunk

    @staticmethod
    def _needed(chunk: Chunk, lang: str, count: int) -> np.ndarray | None:
        """Which of ``chunk.unique`` a row without a given ``lang`` translation uses; None: all."""
        if "parallel" not in chunk.qa.column_names or chunk.qa.column("parallel").null_count == chunk.qa.num_rows:
            return None
        given = [any(t["lang"] == lang for t in items or []) for items in chunk.qa.column("parallel").to_pylist()]
        if not any(given):
            return None
        rows = chunk.segments.column("row").to_numpy()
        uids = pc.fill_null(chunk.segments.column("uid"), 0).to_numpy()
        needed = np.zeros(count, dtype=bool)
        needed[uids[~np.asarray(given, dtype=bool)[rows]]] = True
        return needed

    def _translate(self, texts: list[str], lang: str, needed: np.ndarray | None = None) -> list[str]:
        out = [""] * len(texts)
        todo = [i for i, text in enumerate(texts) if text.strip() and (needed is None or needed[i])]
        if needed is not None:
            self.stats.add(SEGMENTS_GIVEN, int((~needed).sum()))
            if not todo:
                return out
        translator = self.translator(lang)
        settings = {**translator.decoding_settings(), "compute_type": translator.compute_type}
        namespace = translation_namespace(translator.model.fingerprint, settings, self.source_lang, lang)
        keys = {i: translation_key(namespace, texts[i]) for i in todo}
        hits = self.cache.get_many(list(keys.values()))
        misses = []
        for i in todo:
            if keys[i] in hits:
                out[i] = hits[keys[i]]
            else:
                misses.append(i)
        self.stats.add(S.CACHE_HITS, len(todo) - len(misses))
        # Length-sorted slices, each stored as soon as it is done: a build killed mid-chunk
        # keeps all but the slice in flight, and each slice still batches similar lengths.
        misses.sort(key=lambda i: len(texts[i]))
        for start in range(0, len(misses), CACHE_SLICE):
            part = misses[start : start + CACHE_SLICE]
            source_tokens, target_tokens = translator.source_token_count, translator.target_token_count
            for i, translation in zip(part, translator.translate([texts[i] for i in part], lang), strict=True):
                out[i] = translation
            self.cache.put_many((keys[i], out[i]) for i in part)
            self.stats.add(S.TRANSLATED, len(part))
            self.stats.add(S.SOURCE_TOKENS, translator.source_token_count - source_tokens)
            self.stats.add(S.TARGET_TOKENS, translator.target_token_count - target_tokens)
        return out

    def describe(self) -> dict:
        """The translation cache this run used (path, entries when opened), for the manifest:
        the cache state is part of what reproduces a build byte for byte (docs/build.md)."""
        return {"translation_cache": self.cache.describe()}

    def identity(self) -> dict:
        """What decides the translations: ``{"model": ...}`` with the model(s) and the decoding
        settings. Where it runs (device, compute type, threads) is left out."""
        return {"model": self.fingerprint_dict()}

    def fingerprint_dict(self) -> dict:
        data: dict = {"model": self.config.model}
        if is_template(self.config.model):
            translators = [self.translator(lang) for lang in self.langs]
            data["models"] = {lang: _describe(t.model) for lang, t in zip(self.langs, translators, strict=True)}
        else:
            translators = [self.translator(self.source_lang)]
            data.update(_describe(translators[0].model))
        if translators:
            data["decoding"] = translators[0].decoding_settings()
        return data

    def close(self) -> None:
        for translator in self._translators.values():
            translator.close()
        self.cache.close()


def _describe(model) -> dict:
    return {"name": model.name, "family": model.family, "fingerprint": model.fingerprint}
