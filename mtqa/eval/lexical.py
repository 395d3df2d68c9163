"""A model-free lexical encoder, for metric cross-checks, tests and timing runs."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def hashed_trigrams(texts: Sequence[str], dim: int = 384) -> np.ndarray:
    """Hashed counts of each text's lower-cased UTF-8 byte trigrams, ``(n, dim)`` float32.

    Deterministic and cheap, with many exact ties (texts in different scripts share no
    trigram), which is what metric cross-checks and timing runs want;
    ``load_encoder(hashed_trigrams, name=...)`` makes it an :class:`~mtqa.eval.encoders.Encoder`.
    """
    out = np.zeros((len(texts), dim), np.float32)
    for i, text in enumerate(texts):
        b = np.frombuffer(text.lower().encode("utf-8"), np.uint8).astype(np.uint64)
        if len(b) >= 3:
            code = (b[:-2] << np.uint64(16)) | (b[1:-1] << np.uint64(8)) | b[2:]
            out[i] = np.bincount(((code * np.uint64(2654435761)) % np.uint64(dim)).astype(np.int64), minlength=dim)
    return out
