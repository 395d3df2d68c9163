"""Atomic file writes: a file either appears whole under its final name or not at all.

:func:`atomic_path` writes beside the final file, to ``.{final name}.{8 characters}.tmp``,
then fsyncs and renames it into place. Three properties the build relies on:

- **Permissions follow the umask**, like any file ``open()`` creates (``0o666 & ~umask``):
  a build on a shared file system is readable by whoever the umask lets read it.
- **Our temporary files are recognisable** (:func:`stale_tmp_files`): a process killed
  inside a write window leaves one behind, and the next run that owns that file removes it.
  Nothing else is ever matched: the name must be ``.NAME.XXXXXXXX.tmp`` for a final name the
  caller chose.
- **A failed write is one line** (:class:`WriteError`, an ``MtqaError`` and an ``OSError``):
  ``cannot write OUT/data/x.arrow: No space left on device``; the temporary file is removed
  and the final file is untouched.
"""

from __future__ import annotations

import errno
import fnmatch
import hashlib
import json
import os
import re
import secrets
from contextlib import contextmanager
from pathlib import Path

from mtqa.errors import MtqaError

#: ``.{final name}.{8 characters}.tmp``: what :func:`atomic_path` (and ``tempfile.mkstemp``
#: with that prefix and suffix, used before) names its temporary files.
_TMP_RE = re.compile(r"^\.(?P<final>.+)\.[a-z0-9_]{8}\.tmp$")
_TMP_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


class WriteError(MtqaError, OSError):
    """Writing a file failed (a full or read-only disk, a path that is a file): one line
    naming the path and the reason. Also an ``OSError``, so code that tolerates a failed
    optional write (``except OSError``) keeps doing so."""

    def __init__(self, message: str, code: int | None = None, filename: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errno = code
        self.filename = filename

    def __str__(self) -> str:  # OSError's would be "[Errno 28] None: 'path'"
        return self.message


def os_reason(error: OSError) -> str:
    """The reason of an ``OSError`` in a few words (``No space left on device``)."""
    if error.errno:
        return os.strerror(error.errno)
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def write_error(path: Path | str, error: OSError, what: str = "write") -> WriteError:
    """The one-line error for a failed write of ``path``."""
    if isinstance(error, WriteError):
        return error
    return WriteError(f"cannot {what} {path}: {os_reason(error)}", error.errno, str(path))


def tmp_final_name(name: str) -> str | None:
    """The final name a temporary file of ours stands for, or None if ``name`` is not one."""
    match = _TMP_RE.match(name)
    return match["final"] if match else None


def stale_tmp_files(directory: Path, final_pattern: str = "*") -> list[Path]:
    """Our temporary files in ``directory`` whose final name matches ``final_pattern`` (an
    ``fnmatch`` pattern). Only call this where no other process can be writing them (under
    the lock that covers those final names)."""
    try:
        entries = list(Path(directory).iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = []
    for entry in entries:
        final = tmp_final_name(entry.name)
        if final is not None and fnmatch.fnmatchcase(final, final_pattern) and entry.is_file():
            found.append(entry)
    return sorted(found)


def remove_stale_tmp(directory: Path, final_pattern: str = "*") -> int:
    """Remove :func:`stale_tmp_files`; returns how many were removed."""
    removed = 0
    for path in stale_tmp_files(directory, final_pattern):
        try:
            path.unlink()
            removed += 1
        except FileNotFoundError:
            pass
        except OSError as e:
            raise write_error(path, e, "remove") from None
    return removed


def _create_tmp(path: Path) -> Path:
    """Create an empty temporary file beside ``path``, mode ``0o666 & ~umask``."""
    for _ in range(100):
        token = "".join(secrets.choice(_TMP_ALPHABET) for _ in range(8))
        tmp = path.with_name(f".{path.name}.{token}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path))


@contextmanager
def atomic_path(path: Path):
    """Yield a temporary path beside ``path``; rename it into place only if the block succeeds.

    Any ``OSError`` (here or in the block) becomes a :class:`WriteError` naming ``path``.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _create_tmp(path)
    except OSError as e:
        raise write_error(path, e) from None
    try:
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        raise write_error(path, e) from None
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def json_text(data: dict) -> str:
    """How mtqa writes JSON files: sorted keys, two-space indent, UTF-8, a final newline."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_json_atomic(path: Path, data: dict, *, only_if_changed: bool = False) -> bool:
    """Write ``data`` as JSON to ``path`` atomically; returns whether the file was written.

    ``only_if_changed``: leave ``path`` alone when it already holds exactly this text, so
    rerunning a finished build writes nothing (and works on a read-only file system).
    """
    text = json_text(data)
    if only_if_changed:
        try:
            if Path(path).read_text(encoding="utf-8") == text:
                return False
        except (OSError, UnicodeDecodeError):
            pass
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return True


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
