"""A content-addressed translation cache on disk, shared by runs and pipelines.

A translation is stored under the sha256 of everything that decides it: the model's
fingerprint, the decoding settings that change the output, the source and target language
and the text. A rerun, a resumed build or another pipeline pointed at the same cache
directory translates only what no one has translated before.

The store is one SQLite file in WAL mode: readers never block the writer, every
``put_many`` is one transaction, and a process killed at any point (``kill -9`` included)
leaves every committed translation readable and nothing half-written.

A cache that cannot be written (a full or read-only disk, a directory that is a file) is one
:class:`~mtqa.errors.MtqaError` line naming the file and the problem; the transaction in
flight is rolled back, so nothing half-stored is ever read. :meth:`TranslationCache.describe`
says where the cache is and how many translations it held when this process first opened it
(what the manifest records as the cache state a build started from).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

from mtqa.errors import MtqaError

CACHE_FILE = "translations.sqlite3"
_BATCH = 500  # keys per SELECT; well under SQLite's limit on bound parameters


def translation_namespace(fingerprint: str, settings: dict, source_lang: str, target_lang: str) -> bytes:
    """The part of a cache key that is the same for every text of one (model, settings, pair)."""
    blob = json.dumps([fingerprint, settings, source_lang, target_lang], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).digest()


def translation_key(namespace: bytes, text: str) -> bytes:
    """The cache key of ``text`` under ``namespace`` (32 bytes)."""
    return hashlib.sha256(namespace + text.encode("utf-8")).digest()


class TranslationCache:
    """Translations by key, in ``<directory>/translations.sqlite3``.

    Opens its connection on first use and again after a fork or unpickling, so it can be
    held by a stage that is shipped to worker processes.
    """

    def __init__(self, directory: Path | str) -> None:
        self.path = Path(directory).expanduser() / CACHE_FILE
        self._conn: sqlite3.Connection | None = None
        self._pid: int | None = None
        self.entries_at_open: int | None = None  # translations held when first opened here

    def _error(self, error: Exception, doing: str) -> MtqaError:
        if isinstance(error, OSError):
            reason = os.strerror(error.errno) if error.errno else str(error)
        else:
            reason = str(error) or type(error).__name__
        return MtqaError(f"translation cache {self.path}: cannot {doing} ({reason}); it needs a writable disk "
                         "with free space, or choose another cache with --cache-dir")

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                # In WAL mode NORMAL loses nothing a killed process committed; only a power cut
                # can drop the last transactions, never corrupt the file.
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS translations (key BLOB PRIMARY KEY, text TEXT NOT NULL) WITHOUT ROWID"
                )
                entries = conn.execute("SELECT COUNT(*) FROM translations").fetchone()[0]
            except (sqlite3.Error, OSError) as e:
                raise self._error(e, "open it") from None
            if self.entries_at_open is None:
                self.entries_at_open = entries
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def get_many(self, keys: Sequence[bytes]) -> dict[bytes, str]:
        """The cached translations among ``keys``, by key (missing keys are absent)."""
        found: dict[bytes, str] = {}
        unique = list(dict.fromkeys(keys))
        conn = self.conn
        try:
            for start in range(0, len(unique), _BATCH):
                batch = unique[start : start + _BATCH]
                marks = ",".join("?" * len(batch))
                rows = conn.execute(f"SELECT key, text FROM translations WHERE key IN ({marks})", batch)
                found.update(rows)
        except sqlite3.Error as e:
            raise self._error(e, "read it") from None
        return found

    def put_many(self, items: Iterable[tuple[bytes, str]]) -> None:
        """Store ``(key, translation)`` pairs in one transaction; existing keys keep their text."""
        items = list(items)
        if not items:
            return
        conn = self.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("INSERT OR IGNORE INTO translations (key, text) VALUES (?, ?)", items)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as e:
            raise self._error(e, "store translations") from None

    def __len__(self) -> int:
        try:
            return self.conn.execute("SELECT COUNT(*) FROM translations").fetchone()[0]
        except sqlite3.Error as e:
            raise self._error(e, "read it") from None

    def describe(self) -> dict:
        """Where the cache is and what it held when this process opened it (None: not opened,
        as in a rerun that found every chunk done)."""
        return {"path": str(self.path), "entries_before_run": self.entries_at_open}

    def close(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None

    def __getstate__(self) -> dict:
        return {"path": self.path, "_conn": None, "_pid": None, "entries_at_open": self.entries_at_open}
