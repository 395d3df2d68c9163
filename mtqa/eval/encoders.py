"""Text encoders for retrieval evaluation, and an on-disk embedding cache.

:func:`load_encoder` turns a model reference into an :class:`Encoder`: an object with a stable
``name`` and ``encode(texts, kind)`` that returns float32, L2-normalised rows. Three kinds:

* a sentence-transformers folder (``modules.json`` present), or a Hub id whose repository has
  one: loaded with ``SentenceTransformer``; its ``prompts["query"]`` / ``prompts["passage"]``
  are the default prefixes (mE5's ``"query: "`` / ``"passage: "``);
* any other Hugging Face encoder folder or Hub id: ``AutoModel`` + ``AutoTokenizer``,
  attention-masked mean pooling, L2 norm;
* a callable ``encode(list[str]) -> np.ndarray`` for other engines.

:class:`EmbeddingCache` stores embeddings by (encoder name, kind, sha256 of the text) so that
a rerun encodes only what is new. See docs/encoders.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
import warnings
import zipfile
from pathlib import Path
from typing import Callable, Literal, Protocol, Sequence, runtime_checkable

import numpy as np

from mtqa.errors import MtqaError, one_line
from mtqa.io import atomic_path

Kind = Literal["query", "passage"]
KINDS = ("query", "passage")
EVAL_EXTRA = "pip install 'mtqa[eval]'"
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".h5", ".msgpack", ".onnx")


@runtime_checkable
class Encoder(Protocol):
    """Anything that embeds texts for retrieval.

    ``name`` identifies the embedding function for the cache: two encoders with the same name
    must return the same vectors. ``encode`` returns float32 ``(n, d)`` rows of unit L2 norm.
    """

    name: str

    def encode(self, texts: Sequence[str], kind: Kind, *, batch_size: int = 64,
               progress: bool = False) -> np.ndarray: ...


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise MtqaError(f"unknown text kind {kind!r}: expected 'query' or 'passage'")


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


_FINGERPRINTS: dict[tuple, str] = {}


def weights_fingerprint(folder: Path) -> str:
    """sha256 over the weight files of a model folder (names and contents), memoised by size and mtime."""
    files = sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.name.endswith(WEIGHT_SUFFIXES))
    if not files:
        raise MtqaError(f"no model weights (*.safetensors, *.bin, ...) found in {folder}")
    key = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    if key not in _FINGERPRINTS:
        digest = hashlib.sha256()
        for p in files:
            digest.update(str(p.relative_to(folder)).encode() + b"\0")
            with open(p, "rb") as f:
                while block := f.read(1 << 22):
                    digest.update(block)
        _FINGERPRINTS[key] = digest.hexdigest()
    return _FINGERPRINTS[key]


def _length_sorted_batches(texts: Sequence[str], batch_size: int) -> list[np.ndarray]:
    order = np.argsort([-len(t) for t in texts], kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def _progress_bar(total: int, enabled: bool, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, desc=desc, unit="text")


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
        _check_kind(kind)
        texts = list(texts)
        if batch_size < 1:
            raise MtqaError(f"batch_size must be at least 1, got {batch_size}")
        prefix = self.prefixes[kind]
        prefixed = [prefix + t for t in texts] if prefix else texts
        if not prefixed:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return _normalise(self._encode(prefixed, batch_size, progress, kind))


class SentenceTransformerEncoder(_ModelEncoder):
    """A sentence-transformers model; prefixes are prepended to the text (as its prompts are)."""

    kind_label = "sentence-transformers"

    def __init__(self, model, ref: str, fingerprint: str, query_prefix: str, passage_prefix: str,
                 max_length: int, device: str):
        self.model = model
        modules = [type(m).__name__ for m in model]
        super().__init__(ref, fingerprint, query_prefix, passage_prefix, max_length, "+".join(modules[1:]) or "none", device)
        dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dimension = dimension()

    def _encode(self, texts: list[str], batch_size: int, progress: bool, kind: str) -> np.ndarray:
        # SentenceTransformer.encode sorts by length itself and restores the input order.
        return self.model.encode(texts, batch_size=batch_size, show_progress_bar=progress,
                                 convert_to_numpy=True, normalize_embeddings=False)


class HFMeanPoolingEncoder(_ModelEncoder):
    """``AutoModel`` + ``AutoTokenizer`` with attention-masked mean pooling over the last hidden state."""

    kind_label = "hf-mean"

    def __init__(self, model, tokenizer, ref: str, fingerprint: str, query_prefix: str, passage_prefix: str,
                 max_length: int, device: str):
        self.model = model
        self.tokenizer = tokenizer
        super().__init__(ref, fingerprint, query_prefix, passage_prefix, max_length, "mean", device)
        self.dimension = int(model.config.hidden_size)

    def _encode(self, texts: list[str], batch_size: int, progress: bool, kind: str) -> np.ndarray:
        torch = _import_torch()
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        with _progress_bar(len(texts), progress, f"encode {kind}") as bar, torch.inference_mode():
            for idx in _length_sorted_batches(texts, batch_size):
                batch = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                       max_length=self.max_length, return_tensors="pt")
                batch = {k: v.to(self.device) for k, v in batch.items()}
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out[idx] = pooled.float().cpu().numpy()
                bar.update(len(idx))
        return out


class CallableEncoder:
    """Wraps ``fn(list[str]) -> array (n, d)``; prefixes, batching and L2 normalisation are added here."""

    def __init__(self, fn: Callable[[list[str]], np.ndarray], *, name: str | None = None,
                 query_prefix: str | None = None, passage_prefix: str | None = None):
        self.fn = fn
        self.prefixes = {"query": query_prefix or "", "passage": passage_prefix or ""}
        base = name or f"{getattr(fn, '__module__', None) or '?'}.{getattr(fn, '__qualname__', None) or type(fn).__qualname__}"
        self.name = f"callable:{base}|query={self.prefixes['query']!r}|passage={self.prefixes['passage']!r}"

    def __repr__(self) -> str:
        return f"<CallableEncoder {self.name}>"

    def encode(self, texts: Sequence[str], kind: Kind, *, batch_size: int = 64, progress: bool = False) -> np.ndarray:
        _check_kind(kind)
        if batch_size < 1:
            raise MtqaError(f"batch_size must be at least 1, got {batch_size}")
        prefix = self.prefixes[kind]
        texts = [prefix + t for t in texts]
        parts = []
        with _progress_bar(len(texts), progress, f"encode {kind}") as bar:
            for start in range(0, len(texts), batch_size):
                batch = texts[start:start + batch_size]
                vectors = np.asarray(self.fn(batch))
                if vectors.ndim != 2 or vectors.shape[0] != len(batch):
                    raise MtqaError(f"encoder {self.name} returned shape {vectors.shape} for {len(batch)} texts: "
                                    "expected (n, d)")
                parts.append(vectors.astype(np.float32, copy=False))
                bar.update(len(batch))
        if not parts:
            return np.zeros((0, 0), dtype=np.float32)
        return _normalise(np.concatenate(parts))


def _is_hub_id(ref: str) -> bool:
    parts = ref.split("/")
    return (not ref.startswith((".", "/", "~")) and 1 <= len(parts) <= 2 and all(parts)
            and not os.path.exists(ref))


def _hub_has_modules_json(ref: str) -> bool:
    try:
        from huggingface_hub import hf_hub_download
        hf_hub_download(ref, "modules.json")
        return True
    except Exception:  # not a sentence-transformers repository, or the Hub is unreachable
        return False


def _st_prompts(folder: Path) -> dict:
    config = folder / "config_sentence_transformers.json"
    if not config.is_file():
        return {}
    try:
        return json.loads(config.read_text(encoding="utf-8")).get("prompts") or {}
    except (OSError, ValueError) as e:
        raise MtqaError(f"unreadable {config}: {e}") from None


def hashed_trigrams(texts: Sequence[str], dim: int = 384) -> np.ndarray:
    """A model-free lexical encoder: hashed counts of each text's lower-cased UTF-8 byte
    trigrams, ``(n, dim)`` float32. Deterministic and cheap, with many exact ties (texts in
    different scripts share no trigram), which is what metric cross-checks and timing runs
    want; ``load_encoder(hashed_trigrams, name=...)`` makes it an :class:`Encoder`."""
    out = np.zeros((len(texts), dim), np.float32)
    for i, text in enumerate(texts):
        b = np.frombuffer(text.lower().encode("utf-8"), np.uint8).astype(np.uint64)
        if len(b) >= 3:
            code = (b[:-2] << np.uint64(16)) | (b[1:-1] << np.uint64(8)) | b[2:]
            out[i] = np.bincount(((code * np.uint64(2654435761)) % np.uint64(dim)).astype(np.int64), minlength=dim)
    return out


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
    folder = Path(ref)
    is_local = folder.is_dir()
    if not is_local and not _is_hub_id(ref):
        raise MtqaError(f"model not found: {ref} is neither a folder nor a Hugging Face Hub id")
    _import_torch()
    device = _resolve_device(device)

    if (is_local and (folder / "modules.json").is_file()) or (not is_local and _hub_has_modules_json(ref)):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise MtqaError(f"sentence-transformers models need sentence-transformers: {EVAL_EXTRA}") from None
        import torch

        # float16 weights run slowly on a CPU: load them as float32 there.
        kwargs = {"model_kwargs": {"dtype": torch.float32}} if device == "cpu" else {}
        try:
            st = SentenceTransformer(str(folder.resolve()) if is_local else ref, device=device, **kwargs)
        except Exception as e:
            raise MtqaError(f"cannot load sentence-transformers model {ref}: {one_line(e)}") from None
        if device == "cpu":
            st.float()
        st.default_prompt_name = None  # prefixes are applied here, once, never again by encode()
        prompts = _st_prompts(folder) if is_local else dict(getattr(st, "prompts", {}) or {})
        if query_prefix is None:
            query_prefix = prompts.get("query", "")
        if passage_prefix is None:
            passage_prefix = prompts.get("passage", "")
        own = st.max_seq_length
        st.max_seq_length = min(max_length, own) if own else max_length
        if is_local:
            fingerprint = "sha256:" + weights_fingerprint(folder)
            ident = str(folder.resolve())
        else:
            config = getattr(getattr(st[0], "auto_model", None), "config", None)
            fingerprint = "rev:" + str(getattr(config, "_commit_hash", None) or "unknown")
            ident = ref
        st.eval()
        return SentenceTransformerEncoder(st, ident, fingerprint, query_prefix, passage_prefix,
                                          st.max_seq_length, device)

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
    if tok_max and tok_max < 1_000_000:
        limits.append(tok_max)
    effective = min(x for x in limits if x)
    if is_local:
        fingerprint = "sha256:" + weights_fingerprint(folder)
        ident = str(folder.resolve())
    else:
        fingerprint = "rev:" + str(getattr(hf.config, "_commit_hash", None) or "unknown")
        ident = ref
    return HFMeanPoolingEncoder(hf, tokenizer, ident, fingerprint, query_prefix or "", passage_prefix or "",
                                effective, device)


class _ShardIndex:
    """Where each cached text of one (encoder, kind) folder lives: digest -> (shard number, row)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.shards: list[Path | None] = []  # None: found unreadable
        self.known: set[str] = set()
        self.where: dict[bytes, int] = {}  # digest -> shard number << 32 | row
        self.dim: int | None = None

    def add(self, path: Path, keys: np.ndarray, dim: int) -> None:
        number = len(self.shards)
        self.shards.append(path)
        self.known.add(path.name)
        self.dim = dim
        base = number << 32
        for row, key in enumerate(keys.tolist()):
            self.where[key.ljust(32, b"\0")] = base | row

    def refresh(self) -> None:
        """Pick up shards written since the last look (by this or another process)."""
        if not self.folder.is_dir():
            return
        for path in sorted(self.folder.glob("shard-*.npz")):
            if path.name in self.known:
                continue
            loaded = _load_shard(path, keys_only=True)
            if loaded is not None:
                self.add(path, loaded[0], loaded[1])


def _load_shard(path: Path, keys_only: bool = False):
    """(keys, dim) or (keys, vectors) of a shard; None, with a warning, when it cannot be read."""
    try:
        with zipfile.ZipFile(path) as archive:
            with archive.open("keys.npy") as f:
                keys = np.lib.format.read_array(f, allow_pickle=False)
            with archive.open("vectors.npy") as f:
                if keys_only:
                    version = np.lib.format.read_magic(f)
                    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                                   else np.lib.format.read_array_header_2_0)
                    shape, _, dtype = read_header(f)
                else:
                    vectors = np.lib.format.read_array(f, allow_pickle=False)
                    shape, dtype = vectors.shape, vectors.dtype
        if keys.dtype != np.dtype("S32") or len(shape) != 2 or shape[0] != len(keys) or dtype != np.float32:
            raise ValueError("unexpected arrays")
        return (keys, shape[1]) if keys_only else (keys, vectors)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        warnings.warn(f"embedding cache: ignoring unreadable shard {path} ({one_line(e)})", stacklevel=4)
        try:
            os.replace(path, path.with_name(path.name + ".corrupt"))
        except OSError:
            pass
        return None


class EmbeddingCache:
    """Embeddings on disk, keyed by (encoder name, kind, sha256 of the text).

    Layout::

        ROOT/<sha256(encoder.name)[:32]>/name.txt            the encoder name, for humans
        ROOT/<sha256(encoder.name)[:32]>/<kind>/shard-*.npz   keys: (n,) S32 sha256 digests,
                                                              vectors: (n, d) float32

    Each call encodes only the texts not cached yet (duplicates once) and commits them in
    shards of at most ``shard_size`` texts, each written to a temporary file and renamed into
    place, so a kill loses at most the shard in progress. Unreadable shards (a crash outside
    this code, a truncated copy) are reported, moved aside as ``*.corrupt`` and re-encoded.
    The digests of an (encoder, kind) are indexed in memory on first use (~150 bytes per
    cached text); a lookup then reads only the shards that hold hits.
    """

    def __init__(self, root: Path, *, shard_size: int = 50_000):
        self.root = Path(root)
        self.shard_size = shard_size
        self._indexes: dict[Path, _ShardIndex] = {}

    def _index(self, encoder: Encoder, kind: str) -> _ShardIndex:
        base = self.root / hashlib.sha256(encoder.name.encode("utf-8")).hexdigest()[:32]
        name_file = base / "name.txt"
        if not name_file.is_file():
            with atomic_path(name_file) as tmp:
                tmp.write_text(encoder.name + "\n", encoding="utf-8")
        folder = base / kind
        if folder not in self._indexes:
            self._indexes[folder] = _ShardIndex(folder)
        index = self._indexes[folder]
        index.refresh()
        return index

    def encode(self, encoder: Encoder, texts: Sequence[str], kind: str, *, batch_size: int = 64,
               progress: bool = False) -> np.ndarray:
        """Embeddings of ``texts`` (float32, ``(n, d)``), encoding only the ones not cached."""
        _check_kind(kind)
        texts = list(texts)
        digests = [hashlib.sha256(t.encode("utf-8")).digest() for t in texts]
        position: dict[bytes, int] = {}
        unique: list[int] = []
        for i, d in enumerate(digests):
            if d not in position:
                position[d] = len(unique)
                unique.append(i)
        index = self._index(encoder, kind)
        unique_digests = [digests[i] for i in unique]
        have = np.zeros(len(unique), dtype=bool)
        table: np.ndarray | None = None
        by_shard: dict[int, tuple[list[int], list[int]]] = {}
        for u, digest in enumerate(unique_digests):
            packed = index.where.get(digest)
            if packed is not None:
                us, rows = by_shard.setdefault(packed >> 32, ([], []))
                us.append(u)
                rows.append(packed & 0xFFFFFFFF)
        for number, (us, rows) in by_shard.items():
            path = index.shards[number]
            loaded = None if path is None else _load_shard(path)
            if loaded is None:  # went bad since it was indexed: its texts are encoded again
                index.shards[number] = None
                continue
            keys, vectors = loaded
            us, rows = np.array(us), np.array(rows)
            ok = keys[rows] == np.array([unique_digests[u] for u in us], dtype="S32")
            if table is None:
                table = np.empty((len(unique), vectors.shape[1]), dtype=np.float32)
            table[us[ok]] = vectors[rows[ok]]
            have[us[ok]] = True
        missing = np.flatnonzero(~have).tolist()
        for start in range(0, len(missing), self.shard_size):
            part = missing[start:start + self.shard_size]
            vectors = np.asarray(encoder.encode([texts[unique[u]] for u in part], kind,
                                                batch_size=batch_size, progress=progress), dtype=np.float32)
            if vectors.ndim != 2 or vectors.shape[0] != len(part):
                raise MtqaError(f"encoder {encoder.name} returned shape {vectors.shape} for {len(part)} texts")
            dim = index.dim if index.dim is not None else (table.shape[1] if table is not None else None)
            if dim is not None and vectors.shape[1] != dim:
                raise MtqaError(f"embedding cache {index.folder}: cached vectors have dimension {dim}, "
                                f"the encoder now returns {vectors.shape[1]} (same name, different model?)")
            keys = np.array([unique_digests[u] for u in part], dtype="S32")
            shard = index.folder / f"shard-{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}.npz"
            with atomic_path(shard) as tmp:
                with open(tmp, "wb") as f:
                    np.savez(f, keys=keys, vectors=vectors)
            index.add(shard, keys, vectors.shape[1])
            if table is None:
                table = np.empty((len(unique), vectors.shape[1]), dtype=np.float32)
            table[part] = vectors
        if table is None:
            return np.zeros((0, index.dim or 0), dtype=np.float32)
        return table[[position[d] for d in digests]]
