"""Translate: every distinct segment of a chunk into every target language, through the cache.

For each target language the step looks the chunk's distinct texts (``chunk.unique``) up in
the translation cache, translates only the misses with CTranslate2 and stores them, and sets
``chunk.translations[lang]`` aligned with ``chunk.unique``. Rows the source gave a translation
in ``lang`` (``qa.parallel``, see :mod:`mtqa.readers.parallel`) are not machine-translated into
it: only the segments of the other rows are looked up and translated (the rest stay ``""``,
counted as ``segments_given``). The model is resolved (and, for a Hugging Face model,
converted) on first use and loaded lazily, so the step pickles cheaply.

**Windows.** :meth:`TranslateStep.run` does not translate chunk by chunk: it pulls chunks from
its input until they hold ``window_translations`` translations to look up (distinct texts ×
target languages) or ``window_chunks`` chunks, and translates the window's cache misses in one
submission per language (a text two chunks of the window share is translated once). Fewer,
larger ``translate_batch`` calls keep CTranslate2's threads busy: per chunk, a build spent
1.32–1.39× the time of one raw call per language (docs/translate.md, "Windows and overlap").

**Overlap.** CTranslate2 translates on its own threads without the GIL
(:meth:`~mtqa.translation.engine.Ct2Translator.submit`), so while window *k* translates this
step pulls window *k + 1* (the reader, segment and dedup of its chunks run then) and yields
window *k − 1*'s chunks (assemble, filter and write run then). Only one window translates at
a time, and its translations are stored in the cache before its chunks are yielded: a build
killed at any point loses at most the translations of one window, and a rerun takes the rest
from the cache. The output does not depend on the window: a text's translation does not
depend on what it is batched with (docs/build.md, "Determinism and batch composition"), and
every chunk gets the same counts as it would alone (a text an earlier chunk of the window
also needs is a cache hit for the later one, as in a chunk-by-chunk run).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from mtqa.pipeline import stats as S
from mtqa.langs import check_lang
from mtqa.pipeline.stats import StageStats
from mtqa.pipeline.step import Chunk, Step
from mtqa.translation.cache import (
    TranslationCache,
    translation_key,
    translation_namespace,
)
from mtqa.translation.config import TranslateConfig
from mtqa.translation.engine import Ct2Translator, PendingTranslations
from mtqa.translation.models import default_cache_dir, is_template, resolve_model

SEGMENTS_GIVEN = "segments_given"  # distinct segments left untranslated in a language: the source gave their rows
#: A window closes once its chunks hold this many lookups (distinct texts x target languages) ...
WINDOW_TRANSLATIONS = 8192
#: ... or this many chunks (which bounds its memory when most texts are cache hits).
WINDOW_CHUNKS = 32


@dataclass(slots=True)
class _Lookup:
    """One chunk in one language: which of its texts are asked for, under which cache keys."""

    chunk: Chunk
    todo: list[int]
    keys: list[bytes]
    out: list[str]


@dataclass(slots=True)
class _Language:
    """A window's work in one language: the lookups, what the cache held, what was submitted."""

    lang: str
    lookups: list[_Lookup]
    hits: dict[bytes, str]
    missing: list[bytes]  # distinct keys the cache lacks, in first-seen order
    texts: list[str]
    pending: PendingTranslations | None = None


@dataclass(slots=True)
class _Window:
    chunks: list[Chunk]
    stats: list[StageStats]
    languages: list[_Language] = field(default_factory=list)
    seconds: float = 0.0


class TranslateStep(Step):
    """Fills ``chunk.translations`` for every target language (``langs`` minus ``source_lang``).

    ``window_translations`` / ``window_chunks``: how much :meth:`run` translates at a time
    (see the module; ``window_translations=0`` is chunk by chunk); ``overlap=False`` waits for
    each window's translations before pulling the next chunks. Neither changes the output.
    """

    name = "translate"

    def __init__(
        self, config: TranslateConfig | None = None, langs: Sequence[str] = (), source_lang: str = "en", *,
        window_translations: int = WINDOW_TRANSLATIONS, window_chunks: int = WINDOW_CHUNKS, overlap: bool = True,
    ) -> None:
        super().__init__()
        if window_translations < 0 or window_chunks < 1:
            raise ValueError("window_translations must be >= 0 and window_chunks >= 1")
        self.config = config if config is not None else TranslateConfig()
        self.source_lang = source_lang
        self.langs = [lang for lang in dict.fromkeys(langs) if lang != source_lang]
        self.cache_dir = Path(self.config.cache_dir).expanduser() if self.config.cache_dir else default_cache_dir()
        self.cache = TranslationCache(self.cache_dir)
        self.window_translations, self.window_chunks, self.overlap = window_translations, window_chunks, overlap
        self._translators: dict[str, Ct2Translator] = {}
        self._namespaces: dict[str, bytes] = {}

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

    # -- running -----------------------------------------------------------------------------
    def process(self, chunk: Chunk) -> Chunk:
        """One chunk on its own (no window, no overlap); ``self.stats`` are its counts after."""
        window = self._start([chunk])
        self._finish(window)
        return next(self._emit(window))

    def run(self, chunks: Iterable[Chunk]) -> Iterator[Chunk]:
        """The chunks in order, translated window by window (see the module)."""
        previous: _Window | None = None
        for chunks_of_window in self._windows(chunks):
            # Pulling this window ran the upstream steps while ``previous`` translated.
            if previous is not None:
                self._finish(previous)
            window = self._start(chunks_of_window)
            if previous is not None:
                yield from self._emit(previous)  # downstream steps run while ``window`` translates
            previous = window
            if not self.overlap:
                self._finish(window)
                yield from self._emit(window)
                previous = None
        if previous is not None:
            self._finish(previous)
            yield from self._emit(previous)

    def _windows(self, chunks: Iterable[Chunk]) -> Iterator[list[Chunk]]:
        window: list[Chunk] = []
        work = 0
        for chunk in chunks:
            window.append(chunk)
            work += len(chunk.unique or ()) * len(self.langs)
            if work >= self.window_translations or len(window) >= self.window_chunks:
                yield window
                window, work = [], 0
        if window:
            yield window

    def _namespace(self, lang: str) -> bytes:
        if lang not in self._namespaces:
            translator = self.translator(lang)
            settings = {**translator.decoding_settings(), "compute_type": translator.compute_type}
            self._namespaces[lang] = translation_namespace(translator.model.fingerprint, settings,
                                                           self.source_lang, lang)
        return self._namespaces[lang]

    def _start(self, chunks: list[Chunk]) -> _Window:
        """Look the window's texts up in the cache and submit the misses, per language."""
        started = time.perf_counter()
        window = _Window(chunks, [StageStats(self.name) for _ in chunks])
        for lang in self.langs:
            lookups: list[_Lookup] = []
            for chunk, stats in zip(chunks, window.stats, strict=True):
                texts = chunk.unique or []
                needed = self._needed(chunk, lang, len(texts))
                todo = [i for i, text in enumerate(texts) if text.strip() and (needed is None or needed[i])]
                if needed is not None:
                    stats.add(SEGMENTS_GIVEN, int((~needed).sum()))
                lookups.append(_Lookup(chunk, todo, [], [""] * len(texts)))
            if not any(lookup.todo for lookup in lookups):
                window.languages.append(_Language(lang, lookups, {}, [], []))
                continue
            namespace = self._namespace(lang)
            for lookup in lookups:
                texts = lookup.chunk.unique
                lookup.keys = [translation_key(namespace, texts[i]) for i in lookup.todo]
            asked = {key: None for lookup in lookups for key in lookup.keys}
            hits = self.cache.get_many(list(asked))
            missing: dict[bytes, str] = {}
            for lookup in lookups:
                for i, key in zip(lookup.todo, lookup.keys, strict=True):
                    if key not in hits and key not in missing:
                        missing[key] = lookup.chunk.unique[i]
            language = _Language(lang, lookups, hits, list(missing), list(missing.values()))
            if missing:
                language.pending = self.translator(lang).submit(language.texts, lang)
            window.languages.append(language)
        window.seconds += time.perf_counter() - started
        return window

    def _finish(self, window: _Window) -> None:
        """Wait for the window's translations, store them, and fill its chunks' translations
        and counts (each translation counted in the first chunk that asked for it)."""
        started = time.perf_counter()
        for language in window.languages:
            known = language.hits  # key -> translation, cached or translated in this window
            first: dict[bytes, int] = {}
            outputs: list[str] = []
            pending = language.pending
            if pending is not None:
                outputs = pending.result()
                self.cache.put_many(zip(language.missing, outputs, strict=True))
                first = {key: n for n, key in enumerate(language.missing)}
            for lookup, stats in zip(language.lookups, window.stats, strict=True):
                hits = 0
                for i, key in zip(lookup.todo, lookup.keys, strict=True):
                    n = first.pop(key, None)
                    if n is None:
                        lookup.out[i] = known[key]
                        hits += 1
                    else:
                        lookup.out[i] = known[key] = outputs[n]
                        stats.add(S.TRANSLATED)
                        stats.add(S.SOURCE_TOKENS, pending.source_tokens[n])
                        stats.add(S.TARGET_TOKENS, pending.target_tokens[n])
                if lookup.todo:
                    stats.add(S.CACHE_HITS, hits)
                lookup.chunk.translations[language.lang] = lookup.out
        window.seconds += time.perf_counter() - started

    def _emit(self, window: _Window) -> Iterator[Chunk]:
        """The window's chunks with their counts; the step's time split by translations."""
        work = [stats.counts.get(S.TRANSLATED, 0) for stats in window.stats]
        total = sum(work)
        for chunk, stats, share in zip(window.chunks, window.stats, work, strict=True):
            stats.seconds += window.seconds * (share / total if total else 1 / len(window.chunks))
            self._record(chunk, stats)
            yield chunk

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
