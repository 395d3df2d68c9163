"""Weight fingerprints: what identifies a model folder's weights in an encoder's cache name.

Retraining a model into the same folder changes its fingerprint, so embeddings cached for the
old weights are never reused for the new ones.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from mtqa.errors import MtqaError

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".h5", ".msgpack", ".onnx")

# (path, size, mtime) of every weight file -> digest: hashing a 470 MB model takes seconds.
_MEMO: dict[tuple, str] = {}


def weights_fingerprint(folder: Path) -> str:
    """sha256 (hex) over the weight files of a model folder, names and contents.

    Weight files are those ending in one of :data:`WEIGHT_SUFFIXES`, found recursively (a
    sentence-transformers folder keeps Dense weights in sub-folders). Memoised by each file's
    size and modification time. A folder without weights is an :class:`MtqaError`.
    """
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name.endswith(WEIGHT_SUFFIXES))
    if not files:
        raise MtqaError(f"no model weights (*.safetensors, *.bin, ...) found in {folder}")
    key = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    if key not in _MEMO:
        digest = hashlib.sha256()
        for p in files:
            digest.update(str(p.relative_to(folder)).encode() + b"\0")
            with open(p, "rb") as f:
                while block := f.read(1 << 22):
                    digest.update(block)
        _MEMO[key] = digest.hexdigest()
    return _MEMO[key]


def model_fingerprint(folder: Path | None, config) -> str:
    """``sha256:<weights digest>`` for a local folder; ``rev:<commit>`` for a Hub model.

    ``config`` is the loaded model's ``transformers`` config; for a Hub model its
    ``_commit_hash`` is the revision the weights came from (``rev:unknown`` when absent).
    """
    if folder is not None:
        return "sha256:" + weights_fingerprint(folder)
    return "rev:" + str(getattr(config, "_commit_hash", None) or "unknown")
