"""Atomic file writes: a file either appears whole under its final name or not at all."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from mtqa.errors import MtqaError


@contextmanager
def atomic_path(path: Path):
    """Yield a temporary path beside ``path``; rename it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json_atomic(path: Path, data: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def sha256_file(path: Path, block_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(block_size):
            digest.update(block)
    return digest.hexdigest()


def parse_json_bytes(raw: bytes, where: str | Path):
    """A whole JSON document from a file's bytes (a UTF-8 BOM allowed); bad UTF-8 or JSON is
    one ``MtqaError`` line naming ``where`` and the position."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise MtqaError(f"invalid UTF-8 in {where} at byte offset {e.start} (line {line})") from None
    try:
        return json.loads(text.removeprefix("\ufeff"))
    except json.JSONDecodeError as e:
        raise MtqaError(f"malformed JSON in {where} at line {e.lineno}, column {e.colno}: {e.msg}") from None
