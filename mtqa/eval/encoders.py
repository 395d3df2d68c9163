"""Text encoders for retrieval evaluation.

:func:`load_encoder` turns a model reference into an :class:`Encoder`: an object with a stable
``name`` and ``encode(texts, kind)`` that returns float32, L2-normalised rows. Three kinds:

* a sentence-transformers folder (``modules.json`` present), or a Hub id whose repository has
  one: :class:`SentenceTransformerEncoder`; its ``prompts["query"]`` / ``prompts["passage"]``
  are the default prefixes (mE5's ``"query: "`` / ``"passage: "``);
* any other Hugging Face encoder folder or Hub id: :class:`HFMeanPoolingEncoder`
  (``AutoModel`` + ``AutoTokenizer``, attention-masked mean pooling, L2 norm);
* a callable ``encode(list[str]) -> np.ndarray`` for other engines: :class:`CallableEncoder`.

The name is the identity an :class:`~mtqa.eval.embedding_cache.EmbeddingCache` stores
embeddings under. See docs/encoders.md.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Callable, Literal, Protocol, Sequence, runtime_checkable

import numpy as np

from mtqa.errors import MtqaError, one_line
from mtqa.eval.fingerprint import model_fingerprint
from mtqa.eval.hub_probe import hub_has_modules_json, looks_like_hub_id
from mtqa.eval.progress import EncodeProgress

logger = logging.getLogger(__name__)

Kind = Literal["query", "passage"]
KINDS = ("query", "passage")
EVAL_EXTRA = "pip install 'mtqa[eval]'"
# sentence-transformers encodes this many batches per call, so that progress can be counted
# between calls; its own length sorting within a call then matches a global one.
_BATCHES_PER_CALL = 8


@runtime_checkable
class Encoder(Protocol):
    """Anything that embeds texts for retrieval.

    ``name`` identifies the embedding function for the cache: two encoders with the same name
    must return the same vectors. ``encode`` returns float32 ``(n, d)`` rows of unit L2 norm.
    """

    name: str

    def encode(self, texts: Sequence[str], kind: Kind, *, batch_size: int = 64,
               progress: bool = False) -> np.ndarray: ...


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise MtqaError(f"unknown text kind {kind!r}: expected 'query' or 'passage'")


def _check_batch_size(batch_size: int) -> None:
    if batch_size < 1:
        raise MtqaError(f"batch_size must be at least 1, got {batch_size}")


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, np.float32(1e-12))


def _import_torch():
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as e:
        raise MtqaError(f"model encoders need torch and transformers ({e.name} is missing): {EVAL_EXTRA}") from None
    return torch


def _resolve_device(device: str) -> str:
    if device != "auto":
        return device
    torch = _import_torch()
    return "cuda" if torch.cuda.is_available() else "cpu"


def _length_sorted_batches(texts: Sequence[str], batch_size: int) -> list[np.ndarray]:
    """Positions of ``texts`` in batches, longest first (less padding); order restored by the caller."""
    order = np.argsort([-len(t) for t in texts], kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


class _ModelEncoder:
    """Shared bits of the model-backed encoders: prefixes, batching, the name."""

    kind_label = "model"

    def __init__(self, ref: str, fingerprint: str, query_prefix: str, passage_prefix: str,
                 max_length: int, pooling: str, device: str):
        self.ref = ref
        self.fingerprint = fingerprint
        self.prefixes = {"query": query_prefix, "passage": passage_prefix}
        self.max_length = max_length
        self.pooling = pooling
        self.device = device
        self.name = (f"{self.kind_label}:{ref}@{fingerprint}|query={query_prefix!r}|passage={passage_prefix!r}"
                     f"|max_length={max_length}|pooling={pooling}")

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    def encode(self, texts: Sequence[str], kind: Kind, *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        check_kind(kind)
        texts = list(texts)
        _check_batch_size(batch_size)
        prefix = self.prefixes[kind]
        prefixed = [prefix + t for t in texts] if prefix else texts
        if not prefixed:
            return np.zeros((0, self.dimension), dtype=np.float32)
        out = np.empty((len(prefixed), self.dimension), dtype=np.float32)
        with EncodeProgress(len(prefixed), f"encode {kind}", bar=progress) as counter:
            self._encode_into(out, prefixed, batch_size, counter)
        return _normalise(out)


class SentenceTransformerEncoder(_ModelEncoder):
    """A sentence-transformers model; prefixes are prepended to the text (as its prompts are)."""

    kind_label = "sentence-transformers"

    def __init__(self, model, ref: str, fingerprint: str, query_prefix: str, passage_prefix: str,
                 max_length: int, device: str):
        self.model = model
        modules = [type(m).__name__ for m in model]
        pooling = "+".join(modules[1:]) or "none"
        super().__init__(ref, fingerprint, query_prefix, passage_prefix, max_length, pooling, device)
        dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dimension = dimension()

    def _encode_into(self, out: np.ndarray, texts: list[str], batch_size: int, counter: EncodeProgress) -> None:
        order = np.concatenate(_length_sorted_batches(texts, batch_size))
        step = batch_size * _BATCHES_PER_CALL
        for start in range(0, len(order), step):
            idx = order[start:start + step]
            out[idx] = self.model.encode([texts[i] for i in idx], batch_size=batch_size, show_progress_bar=False,
                                         convert_to_numpy=True, normalize_embeddings=False)
            counter.update(len(idx))


class HFMeanPoolingEncoder(_ModelEncoder):
    """``AutoModel`` + ``AutoTokenizer`` with attention-masked mean pooling over the last hidden state."""

    kind_label = "hf-mean"

    def __init__(self, model, tokenizer, ref: str, fingerprint: str, query_prefix: str, passage_prefix: str,
                 max_length: int, device: str):
        self.model = model
        self.tokenizer = tokenizer
        super().__init__(ref, fingerprint, query_prefix, passage_prefix, max_length, "mean", device)
        self.dimension = int(model.config.hidden_size)

    def _encode_into(self, out: np.ndarray, texts: list[str], batch_size: int, counter: EncodeProgress) -> None:
        torch = _import_torch()
        with torch.inference_mode():
            for idx in _length_sorted_batches(texts, batch_size):
                batch = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                       max_length=self.max_length, return_tensors="pt")
                batch = {k: v.to(self.device) for k, v in batch.items()}
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out[idx] = pooled.float().cpu().numpy()
                counter.update(len(idx))


class CallableEncoder:
    """Wraps ``fn(list[str]) -> array (n, d)``; prefixes, batching and L2 normalisation are added here."""

    def __init__(self, fn: Callable[[list[str]], np.ndarray], *, name: str | None = None,
                 query_prefix: str | None = None, passage_prefix: str | None = None):
        self.fn = fn
        self.prefixes = {"query": query_prefix or "", "passage": passage_prefix or ""}
        qualname = getattr(fn, "__qualname__", None) or type(fn).__qualname__
        base = name or f"{getattr(fn, '__module__', None) or '?'}.{qualname}"
        self.name = f"callable:{base}|query={self.prefixes['query']!r}|passage={self.prefixes['passage']!r}"

    def __repr__(self) -> str:
        return f"<CallableEncoder {self.name}>"

    def encode(self, texts: Sequence[str], kind: Kind, *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        check_kind(kind)
        _check_batch_size(batch_size)
        prefix = self.prefixes[kind]
        texts = [prefix + t for t in texts]
        parts = []
        with EncodeProgress(len(texts), f"encode {kind}", bar=progress) as counter:
            for start in range(0, len(texts), batch_size):
                batch = texts[start:start + batch_size]
                vectors = np.asarray(self.fn(batch))
                if vectors.ndim != 2 or vectors.shape[0] != len(batch):
                    raise MtqaError(f"encoder {self.name} returned shape {vectors.shape} for {len(batch)} texts: "
                                    "expected (n, d)")
                parts.append(vectors.astype(np.float32, copy=False))
                counter.update(len(batch))
        if not parts:
            return np.zeros((0, 0), dtype=np.float32)
        return _normalise(np.concatenate(parts))


def _st_prompts(folder: Path) -> dict:
    config = folder / "config_sentence_transformers.json"
    if not config.is_file():
        return {}
    try:
        return json.loads(config.read_text(encoding="utf-8")).get("prompts") or {}
    except (OSError, ValueError) as e:
        raise MtqaError(f"unreadable {config}: {e}") from None


def _load_sentence_transformer(ref: str, folder: Path | None, *, query_prefix: str | None,
                               passage_prefix: str | None, device: str, max_length: int) -> SentenceTransformerEncoder:
    """``folder``: the local folder, or None for Hub id ``ref``."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise MtqaError(f"sentence-transformers models need sentence-transformers: {EVAL_EXTRA}") from None
    import torch

    # float16 weights run slowly on a CPU: load them as float32 there.
    kwargs = {"model_kwargs": {"dtype": torch.float32}} if device == "cpu" else {}
    try:
        st = SentenceTransformer(str(folder.resolve()) if folder else ref, device=device, **kwargs)
    except Exception as e:
        raise MtqaError(f"cannot load sentence-transformers model {ref}: {one_line(e)}") from None
    if device == "cpu":
        st.float()
    st.default_prompt_name = None  # prefixes are applied here, once, never again by encode()
    prompts = _st_prompts(folder) if folder else dict(getattr(st, "prompts", {}) or {})
    if query_prefix is None:
        query_prefix = prompts.get("query", "")
    if passage_prefix is None:
        passage_prefix = prompts.get("passage", "")
    own = st.max_seq_length
    st.max_seq_length = min(max_length, own) if own else max_length
    config = getattr(getattr(st[0], "auto_model", None), "config", None)
    st.eval()
    return SentenceTransformerEncoder(st, str(folder.resolve()) if folder else ref, model_fingerprint(folder, config),
                                      query_prefix, passage_prefix, st.max_seq_length, device)


def _load_hf_mean(ref: str, folder: Path | None, *, query_prefix: str | None, passage_prefix: str | None,
                  device: str, max_length: int) -> HFMeanPoolingEncoder:
    from transformers import AutoModel, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(ref)
        hf = AutoModel.from_pretrained(ref)
    except Exception as e:
        raise MtqaError(f"cannot load Hugging Face model {ref}: {one_line(e)}") from None
    if device == "cpu":
        hf = hf.float()
    try:
        hf = hf.to(device).eval()
    except Exception as e:
        raise MtqaError(f"cannot move {ref} to device {device!r}: {one_line(e)}") from None
    limits = [max_length, getattr(hf.config, "max_position_embeddings", None)]
    tok_max = getattr(tokenizer, "model_max_length", None)
    if tok_max and tok_max < 1_000_000:  # tokenizers without a limit report a huge sentinel
        limits.append(tok_max)
    effective = min(x for x in limits if x)
    return HFMeanPoolingEncoder(hf, tokenizer, str(folder.resolve()) if folder else ref,
                                model_fingerprint(folder, hf.config), query_prefix or "", passage_prefix or "",
                                effective, device)


def load_encoder(model: str | os.PathLike | Callable[[list[str]], np.ndarray], *, query_prefix: str | None = None,
                 passage_prefix: str | None = None, device: str = "auto", max_length: int = 512,
                 name: str | None = None) -> Encoder:
    """Load an :class:`Encoder` from a folder, a Hub id or a callable.

    ``query_prefix`` / ``passage_prefix`` are prepended to every query / passage; when None a
    sentence-transformers model uses its ``prompts["query"]`` / ``prompts["passage"]`` and
    other models use no prefix. ``device="auto"`` picks cuda when available. ``max_length``
    caps the tokens per text (for a sentence-transformers model, also capped by its own
    ``max_seq_length``). ``name`` overrides the cache identity of a callable.
    """
    if callable(model) and not isinstance(model, (str, os.PathLike)):
        return CallableEncoder(model, name=name, query_prefix=query_prefix, passage_prefix=passage_prefix)
    if not isinstance(model, (str, os.PathLike)):
        raise MtqaError(f"model must be a folder, a Hub id or a callable, not {type(model).__name__}")
    if max_length < 1:
        raise MtqaError(f"max_length must be at least 1, got {max_length}")
    ref = os.path.expanduser(os.fspath(model))
    folder = Path(ref) if Path(ref).is_dir() else None
    if folder is None and not looks_like_hub_id(ref):
        raise MtqaError(f"model not found: {ref} is neither a folder nor a Hugging Face Hub id")
    _import_torch()
    device = _resolve_device(device)
    started = time.perf_counter()
    is_st = (folder / "modules.json").is_file() if folder else hub_has_modules_json(ref)
    load = _load_sentence_transformer if is_st else _load_hf_mean
    encoder = load(ref, folder, query_prefix=query_prefix, passage_prefix=passage_prefix, device=device,
                   max_length=max_length)
    logger.info("loaded %s on %s in %.1f s", encoder.name, device, time.perf_counter() - started)
    return encoder
