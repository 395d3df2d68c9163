"""Translate texts with a CTranslate2 model, in the shape CTranslate2's docs recommend.

Texts are tokenised with SentencePiece outside the engine, given the family's language
tokens, sorted by length, grouped into a few length buckets and passed to
``translate_batch(..., max_batch_size=N, batch_type="tokens", asynchronous=True)`` once per
bucket, so CTranslate2 rebatches each bucket by a token budget and the maximum decoding
length follows the input's length. :meth:`Ct2Translator.submit` queues every bucket at once
and returns; the translate step uses that to translate a window of chunks while the other
steps run (:mod:`mtqa.steps.translate`); :meth:`Ct2Translator.translate` waits at once.

A text's translation does not depend on which other texts share its batch (measured: 0 of
3,557 SQuAD sentences on the toy model, 0 of 598 on a random NLLB-shaped model, against
546 of 598 before; docs/translate.md, "Batch composition"). Two rules make it so: the
decoding length cap is computed from the text's length *bucket* (a power of two), never
from the longest text it happens to be batched with; and texts over :data:`SOLO_TOKENS`
tokens are translated one at a time, since int8 kernels were seen to change such a text's
output with the padding its batch-mates add. What each family gets (source tokens / target
prefix):

======  ==========================================  ==============  ====================
family  source tokens                               target prefix   output
======  ==========================================  ==============  ====================
marian  ``pieces + </s>``                           none            as is
marian  ``>>de<< + pieces + </s>`` (multi-target)   none            as is
m2m100  ``__en__ + pieces + </s>``                  ``__de__``      first token dropped
nllb    ``eng_Latn + pieces + </s>``                ``deu_Latn``    first token dropped
======  ==========================================  ==============  ====================

This matches what transformers' tokenizers produce for the same families (``MarianTokenizer``,
``M2M100Tokenizer`` with ``src_lang``, ``NllbTokenizer`` with ``legacy_behaviour=False``).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence

from mtqa.errors import MtqaError
from mtqa.langs import LANGUAGES, check_lang
from mtqa.translation.config import COMPUTE_TYPES, TranslateConfig  # noqa: F401 (re-exported)
from mtqa.translation.models import ModelInfo

EOS = "</s>"
_CONTROL_TOKENS = {"<s>", "</s>", "<pad>"}
# Length buckets are powers of two from here on: at most a dozen translate_batch calls per text list.
_MIN_BUCKET = 16
#: Inputs longer than this many tokens are translated alone (see the module).
SOLO_TOKENS = 256


@dataclasses.dataclass(slots=True)
class _Submitted:
    """``translate_batch`` calls in flight: per length bucket, the input indices and their
    asynchronous results."""

    target_prefix: list[str]
    buckets: list[tuple[list[int], list]]


class PendingTranslations:
    """Translations submitted by :meth:`Ct2Translator.submit`; :meth:`result` waits for them.

    ``source_tokens[i]`` and, once done, ``target_tokens[i]`` are the token counts of the i-th
    input (0 for an empty one), so a caller can attribute them to whatever asked for it.
    """

    def __init__(self, engine: Ct2Translator, count: int, todo: list[int], sources: list[list[str]],
                 submitted: _Submitted) -> None:
        self._engine, self._count, self._todo, self._sources = engine, count, todo, sources
        self._submitted: _Submitted | None = submitted
        self._texts: list[str] | None = None
        self.source_tokens = [0] * count
        self.target_tokens = [0] * count
        for i, tokens in zip(todo, sources, strict=True):
            self.source_tokens[i] = len(tokens)

    def result(self) -> list[str]:
        """The translations in input order (waits for CTranslate2 the first time)."""
        if self._texts is None:
            outputs = self._engine._collect_tokens(self._sources, self._submitted)
            texts = [""] * self._count
            for i, tokens in zip(self._todo, outputs, strict=True):
                texts[i] = self._engine.detokenize(tokens)
                self.target_tokens[i] = len(tokens)
            self._texts, self._submitted, self._sources = texts, None, []
        return self._texts


class Ct2Translator:
    """One CTranslate2 model, loaded on first use (so a stage holding it pickles cheaply).

    Needs a resolved :class:`~mtqa.translation.models.ModelInfo`. ``device="auto"`` takes
    CUDA when CTranslate2 sees a GPU (all of them unless ``device_index`` says otherwise),
    else the CPU; ``compute_type="auto"`` is ``int8_float16`` on GPU and ``int8`` on CPU.
    The maximum decoding length of an input of ``n`` tokens is
    ``max_length_ratio * n + max_length_offset``, capped at ``max_decoding_length``.
    ``source_token_count`` and ``target_token_count`` add up over all calls.
    """

    def __init__(
        self,
        model: ModelInfo,
        config: TranslateConfig | None = None,
        *,
        source_lang: str = "en",
        max_decoding_length: int = 512,
        **settings,
    ) -> None:
        # ``settings`` override fields of ``config`` (``beam_size=1``); ``replace`` re-runs the
        # config's validation, the only place settings are checked.
        config = config if config is not None else TranslateConfig()
        if settings:
            unknown = sorted(set(settings) - {f.name for f in dataclasses.fields(TranslateConfig)})
            if unknown:
                raise TypeError(f"Ct2Translator got unknown setting(s): {', '.join(unknown)}")
            config = dataclasses.replace(config, **settings)
        if max_decoding_length < 1:
            raise MtqaError(f"max_decoding_length must be at least 1, got {max_decoding_length}")
        self.config = config
        self.model = model
        self.source_lang = source_lang
        self.requested_device = config.device
        self.requested_compute_type = config.compute_type
        self.requested_device_index = config.device_index
        self.beam_size = config.beam_size
        self.max_batch_tokens = config.max_batch_tokens
        self.max_length_ratio = config.max_length_ratio
        self.max_length_offset = config.max_length_offset
        self.max_decoding_length = max_decoding_length
        self.no_repeat_ngram_size = config.no_repeat_ngram_size
        self.repetition_penalty = config.repetition_penalty
        self.inter_threads = config.inter_threads
        self.intra_threads = config.intra_threads
        self.source_token_count = 0
        self.target_token_count = 0
        self._placement: tuple[str, int | list[int], str] | None = None
        self._translator = None
        self._source_sp = None
        self._target_sp = None

    # -- placement ---------------------------------------------------------------------------
    @property
    def device(self) -> str:
        return self._resolve_placement()[0]

    @property
    def device_index(self) -> int | list[int]:
        return self._resolve_placement()[1]

    @property
    def compute_type(self) -> str:
        """The compute type the model runs with, known without loading it."""
        return self._resolve_placement()[2]

    def _resolve_placement(self) -> tuple[str, int | list[int], str]:
        if self._placement is None:
            import ctranslate2

            gpus = ctranslate2.get_cuda_device_count()
            device = self.requested_device
            if device == "auto":
                device = "cuda" if gpus > 0 else "cpu"
            if device == "cuda" and gpus == 0:
                raise MtqaError("device 'cuda' asked for, but CTranslate2 sees no CUDA GPU; use --device cpu")
            index = self.requested_device_index
            if index is None:
                index = list(range(gpus)) if device == "cuda" else 0
            first = index[0] if isinstance(index, list | tuple) else index
            if isinstance(index, tuple):
                index = list(index)
            supported = ctranslate2.get_supported_compute_types(device, first)
            compute_type = self.requested_compute_type
            if compute_type == "auto":
                preferred = ("int8_float16", "float16", "float32") if device == "cuda" else ("int8", "float32")
                compute_type = next((c for c in preferred if c in supported), "default")
            elif compute_type != "default" and compute_type not in supported:
                raise MtqaError(
                    f"compute type '{compute_type}' is not supported on {device} "
                    f"(supported: {', '.join(sorted(supported))})"
                )
            self._placement = (device, index, compute_type)
        return self._placement

    # -- languages ---------------------------------------------------------------------------
    @property
    def supported_langs(self) -> list[str] | None:
        """The target languages this model translates into; None when it does not say."""
        langs = self.model.target_langs
        return sorted(langs) if langs is not None else None

    def check_langs(self, langs: Sequence[str]) -> None:
        """Raise ``MtqaError`` when the model cannot translate ``source_lang`` into one of ``langs``.

        A code that is neither a known ISO 639-1 code nor one of the model's own (the toy's
        ``x-rot13``) is reported as unknown before any known code the model lacks.
        """
        supported = set(self.supported_langs or ())
        for lang in langs:
            if lang not in LANGUAGES and lang not in supported:
                check_lang(lang)
        self._source_prefix_token()
        for lang in langs:
            if lang != self.source_lang:
                self._target_token(lang)

    def _source_prefix_token(self) -> str | None:
        model = self.model
        if model.family == "marian":
            if model.source_lang and model.source_lang != self.source_lang:
                raise MtqaError(
                    f"model {model.name} translates from '{model.source_lang}', not from '{self.source_lang}'"
                )
            return None
        if self.source_lang not in LANGUAGES:
            check_lang(self.source_lang)
        token = model.lang_tokens.get(self.source_lang)
        if token is None:
            raise MtqaError(f"model {model.name} cannot read source language '{self.source_lang}'")
        return token

    def _target_token(self, lang: str) -> str | None:
        """The language token of ``lang`` (None for a single-pair Marian model)."""
        model = self.model
        if model.family != "marian" and lang not in LANGUAGES:
            check_lang(lang)
        supported = self.supported_langs
        if supported is not None and lang not in supported:
            raise MtqaError(
                f"model {model.name} does not translate into '{lang}' (it supports: {', '.join(supported)})"
            )
        if model.family == "marian" and not model.lang_tokens:
            return None
        token = model.lang_tokens.get(lang)
        if token is None:
            raise MtqaError(f"model {model.name} has no language token for '{lang}'")
        return token

    # -- tokens ------------------------------------------------------------------------------
    def _processors(self):
        if self._source_sp is None:
            import sentencepiece as spm

            try:
                self._source_sp = spm.SentencePieceProcessor(model_file=str(self.model.source_spm))
                self._target_sp = spm.SentencePieceProcessor(model_file=str(self.model.target_spm))
            except (OSError, RuntimeError) as e:
                raise MtqaError(f"could not load the SentencePiece models of {self.model.name}: {e}") from None
        return self._source_sp, self._target_sp

    def source_tokens(self, texts: Sequence[str], target_lang: str) -> list[list[str]]:
        """What the encoder reads for each text (see the module's table)."""
        target = self._target_token(target_lang)
        if self.model.family == "marian":
            prefix = [target] if target is not None else []
        else:
            prefix = [self._source_prefix_token()]
        source_sp, _ = self._processors()
        return [[*prefix, *pieces, EOS] for pieces in source_sp.encode(list(texts), out_type=str)]

    def target_prefix(self, target_lang: str) -> list[str]:
        """The tokens the decoder is forced to start with (dropped from the output)."""
        if self.model.family == "marian":
            return []
        return [self._target_token(target_lang)]

    def detokenize(self, tokens: Sequence[str]) -> str:
        _, target_sp = self._processors()
        drop = self.model.control_tokens
        return target_sp.decode([t for t in tokens if t not in drop and t not in _CONTROL_TOKENS])

    def _threads(self, device: str) -> dict:
        """``inter_threads=0`` (auto): on the CPU, batches in parallel, one core each (a small
        model is 3.5x faster that way on 2 cores than one batch at a time on both); on a GPU,
        one batch at a time per device."""
        if self.inter_threads or self.intra_threads:
            return {"inter_threads": self.inter_threads or 1, "intra_threads": self.intra_threads}
        if device == "cpu":
            return {"inter_threads": max(1, min(4, os.cpu_count() or 1)), "intra_threads": 1}
        return {"inter_threads": 1, "intra_threads": 0}

    # -- translation -------------------------------------------------------------------------
    @property
    def translator(self):
        """The ``ctranslate2.Translator``, created on first access."""
        if self._translator is None:
            import ctranslate2

            device, index, compute_type = self._resolve_placement()
            try:
                self._translator = ctranslate2.Translator(
                    str(self.model.path),
                    device=device,
                    device_index=index,
                    compute_type=compute_type,
                    **self._threads(device),
                )
            except (RuntimeError, ValueError, OSError) as e:
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise MtqaError(f"could not load CTranslate2 model {self.model.path}: {first}") from None
        return self._translator

    def translate(self, texts: Sequence[str], target_lang: str) -> list[str]:
        """Translate ``texts`` into ``target_lang``; the i-th output is the i-th input's translation.

        Empty (or whitespace-only) texts give empty strings without reaching the model.
        """
        return self.submit(texts, target_lang).result()

    def submit(self, texts: Sequence[str], target_lang: str) -> PendingTranslations:
        """Start translating ``texts`` into ``target_lang`` and return at once; the
        translations are :meth:`PendingTranslations.result`. CTranslate2 runs them on its own
        threads without the GIL, so Python work (the next chunks' segmentation, say) goes on
        meanwhile, and every bucket of every submitted call is queued at once: the worker
        threads do not wait for each other between buckets or languages."""
        self.check_langs([target_lang])
        todo = [i for i, text in enumerate(texts) if text.strip()]
        sources = self.source_tokens([texts[i] for i in todo], target_lang) if todo else []
        return PendingTranslations(self, len(texts), todo, sources, self._submit_tokens(sources, self.target_prefix(target_lang)))

    def translate_tokens(self, sources: list[list[str]], target_prefix: list[str]) -> list[list[str]]:
        """Translate token lists, in input order, with ``target_prefix`` forced and then removed."""
        return self._collect_tokens(sources, self._submit_tokens(sources, target_prefix))

    def _submit_tokens(self, sources: list[list[str]], target_prefix: list[str]) -> _Submitted:
        """Queue ``sources`` on the CTranslate2 worker threads, one ``translate_batch`` per
        length bucket (see :meth:`_buckets`); returns what :meth:`_collect_tokens` waits on."""
        order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
        submitted = []
        for bound, bucket in self._buckets(order, sources):
            batch = [sources[i] for i in bucket]
            # From the bucket's bound, not from its longest text: a text's cap (and so its
            # output) must not depend on the other texts it is batched with.
            max_length = min(
                self.max_decoding_length,
                math.ceil(self.max_length_ratio * bound) + self.max_length_offset,
            ) + len(target_prefix)
            hypotheses = self.translator.translate_batch(
                batch,
                target_prefix=[list(target_prefix)] * len(batch) if target_prefix else None,
                max_batch_size=self.max_batch_tokens,
                batch_type="tokens",
                asynchronous=True,
                beam_size=self.beam_size,
                num_hypotheses=1,
                max_decoding_length=max_length,
                no_repeat_ngram_size=self.no_repeat_ngram_size,
                repetition_penalty=self.repetition_penalty,
            )
            submitted.append((bucket, hypotheses))
        return _Submitted(list(target_prefix), submitted)

    def _collect_tokens(self, sources: list[list[str]], submitted: _Submitted) -> list[list[str]]:
        """Wait for what :meth:`_submit_tokens` queued; the output tokens in input order."""
        prefix = submitted.target_prefix
        results: list[list[str] | None] = [None] * len(sources)
        for bucket, hypotheses in submitted.buckets:
            for i, pending in zip(bucket, hypotheses, strict=True):
                tokens = list(pending.result().hypotheses[0])
                if prefix and tokens[: len(prefix)] == prefix:
                    tokens = tokens[len(prefix) :]
                results[i] = tokens
        self.source_token_count += sum(len(s) for s in sources)
        self.target_token_count += sum(len(r) for r in results)
        return results

    @staticmethod
    def bucket_bound(length: int) -> int:
        """The length bucket of an input of ``length`` tokens: the next power of two, at least 16."""
        return max(_MIN_BUCKET, 1 << (length - 1).bit_length())

    @classmethod
    def _buckets(cls, order: list[int], sources: list[list[str]]) -> list[tuple[int, list[int]]]:
        """Split length-sorted indices where the length passes a power of two (16, 32, 64, ...);
        each input over :data:`SOLO_TOKENS` gets a batch of its own. ``(bound, indices)``."""
        buckets: list[tuple[int, list[int]]] = []
        for i in order:
            length = len(sources[i])
            bound = cls.bucket_bound(length)
            if not buckets or bound != buckets[-1][0] or length > SOLO_TOKENS:
                buckets.append((bound, []))
            buckets[-1][1].append(i)
        return buckets

    # -- identity and lifetime ---------------------------------------------------------------
    def decoding_settings(self) -> dict:
        """The settings that change what the model outputs (they go into cache keys)."""
        return {
            # How the decoding length cap is chosen (from the length bucket): changing the rule
            # changes outputs, so it is part of the cache key and of the build identity.
            "length_cap": "bucket",
            "beam_size": self.beam_size,
            "max_length_ratio": self.max_length_ratio,
            "max_length_offset": self.max_length_offset,
            "max_decoding_length": self.max_decoding_length,
            "no_repeat_ngram_size": self.no_repeat_ngram_size,
            "repetition_penalty": self.repetition_penalty,
        }

    def close(self) -> None:
        """Release the model (it is loaded again if used after this)."""
        if self._translator is not None:
            self._translator.unload_model()
        self._translator = None
        self._source_sp = self._target_sp = None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.update(_translator=None, _source_sp=None, _target_sp=None, _placement=None)
        return state
