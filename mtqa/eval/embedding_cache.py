"""Embeddings on disk, keyed by (encoder name, kind, sha256 of the text), so that a rerun
encodes only what is new. See docs/encoders.md for the layout."""

from __future__ import annotations

import hashlib
import logging
import os
import time
import uuid
import warnings
import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np

from mtqa.errors import MtqaError, one_line
from mtqa.eval.encoders import Encoder, check_kind
from mtqa.io import atomic_path

logger = logging.getLogger(__name__)


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
            # numpy strips trailing NUL bytes from S32 items: pad back to the 32-byte digest
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
                if keys_only:  # the header gives the shape without reading the vectors
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

    def __repr__(self) -> str:
        return f"EmbeddingCache({str(self.root)!r})"

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
        check_kind(kind)
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
        if missing:
            logger.info("embedding cache %s: %s of %s distinct %s texts cached, encoding %s", index.folder.parent.name,
                        f"{len(unique) - len(missing):,}", f"{len(unique):,}", kind, f"{len(missing):,}")
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


def encode_texts(encoder: Encoder, texts: Sequence[str], kind: str, *, cache: EmbeddingCache | None = None,
                 batch_size: int = 64, progress: bool = False) -> np.ndarray:
    """``encoder.encode(texts, kind)``, through ``cache`` when one is given."""
    if cache is not None:
        return cache.encode(encoder, texts, kind, batch_size=batch_size, progress=progress)
    return encoder.encode(texts, kind, batch_size=batch_size, progress=progress)
