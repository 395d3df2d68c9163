"""The record of every question id a build has read, in 44 bytes an id.

The reader checks each row's id against every earlier row's (:class:`~mtqa.readers.step.ReaderStep`,
"Duplicate ids"), so the record grows with the input. A dict of id strings with their row
digests costs about 260 bytes a row (260 MB at 1M questions, the largest part of a build's
memory there); this record costs 44: each id is kept as a 128-bit hash (BLAKE2b) with its
row's 128-bit digest and where it was first read, in a few sorted numpy arrays ("runs")
merged as a log-structured merge tree does (equal-sized runs merge, so there are at most
log2(n / flush_at) + 1 of them and n ids cost O(n log n) to insert). The latest ``flush_at``
ids stay in a dict until they fill a run. Two distinct ids collide with probability about
n² / 2^129 (1.5e-27 at 1M ids); the row digest was already a 128-bit hash. At 10^8 ids
the record holds 4.4 GB, in every partition (each reads the whole input).
"""

from __future__ import annotations

import hashlib

import numpy as np

#: How the first 16 bytes of a hash are split: a sort key and a check of the rest.
_KEY_CHECK = np.dtype([("key", "<u8"), ("check", "<u8")])


def id_hash(question_id: str) -> bytes:
    """The 16-byte hash the record keeps for ``question_id``."""
    return hashlib.blake2b(question_id.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class _Run:
    """Ids sorted by the first 8 bytes of their hash, one numpy column per field."""

    __slots__ = ("key", "check", "digest", "source", "row")

    def __init__(self, key, check, digest, source, row) -> None:
        order = np.argsort(key, kind="stable")
        self.key, self.check = key[order], check[order]
        self.digest, self.source, self.row = digest[order], source[order], row[order]

    def __len__(self) -> int:
        return len(self.key)

    @classmethod
    def merged(cls, a: _Run, b: _Run) -> _Run:
        return cls(*(np.concatenate([getattr(a, f), getattr(b, f)]) for f in cls.__slots__))


class IdRecord:
    """Every id added so far, each with ``(digest, source, row)`` of its first row."""

    def __init__(self, flush_at: int = 1 << 16) -> None:
        self.flush_at = flush_at
        self.sources: list[str] = []
        self._source_index: dict[str, int] = {}
        self.recent: dict[bytes, tuple[bytes, str, int]] = {}  # id hash -> (digest, source, row)
        self.runs: list[_Run] = []

    def __len__(self) -> int:
        return len(self.recent) + sum(len(run) for run in self.runs)

    def find(self, hashes: list[bytes]) -> dict[bytes, tuple[bytes, str, int]]:
        """The ``(digest, source, row)`` recorded for each of ``hashes`` that was added before."""
        found = {h: self.recent[h] for h in hashes if h in self.recent}
        rest = [h for h in hashes if h not in found]
        if not rest or not self.runs:
            return found
        query = np.frombuffer(b"".join(rest), dtype=_KEY_CHECK)
        for run in self.runs:
            low = np.searchsorted(run.key, query["key"], "left")
            high = np.searchsorted(run.key, query["key"], "right")
            for j in np.flatnonzero(high > low):
                # Equal keys are almost always the same id; the check tells a 64-bit collision apart.
                for k in range(low[j], high[j]):
                    if run.check[k] == query["check"][j]:
                        found[rest[j]] = (run.digest[k].tobytes(), self.sources[run.source[k]], int(run.row[k]))
        return found

    def add(self, hashed_id: bytes, digest: bytes, source: str, row: int) -> None:
        """Record an id not recorded before (its :func:`id_hash`), with its row's 16-byte digest."""
        self.recent[hashed_id] = (digest, source, row)
        if len(self.recent) >= self.flush_at:
            self._flush()

    def _flush(self) -> None:
        items = self.recent
        key_check = np.frombuffer(b"".join(items), dtype=_KEY_CHECK)
        digests = np.frombuffer(b"".join(d for d, _, _ in items.values()), dtype="V16")
        sources = np.fromiter((self._index(s) for _, s, _ in items.values()), dtype="<u4", count=len(items))
        rows = np.fromiter((r for _, _, r in items.values()), dtype="<u8", count=len(items))
        self.runs.append(_Run(key_check["key"].copy(), key_check["check"].copy(), digests.copy(), sources, rows))
        self.recent = {}
        while len(self.runs) > 1 and len(self.runs[-2]) <= len(self.runs[-1]):
            newer = self.runs.pop()
            older = self.runs.pop()
            self.runs.append(_Run.merged(older, newer))

    def _index(self, source: str) -> int:
        if source not in self._source_index:
            self._source_index[source] = len(self.sources)
            self.sources.append(source)
        return self._source_index[source]
