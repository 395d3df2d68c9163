"""Per-stage counters and timings, with the stat keys as named constants."""

from __future__ import annotations

import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field

# Stat keys. Free strings drift; these do not.
ROWS_IN = "rows_in"
ROWS_OUT = "rows_out"
SEGMENTS = "segments"  # segments before dedup (what a naive pipeline would translate)
SEGMENTS_PASSAGE = "segments_passage"
SEGMENTS_QUESTION = "segments_question"
SEGMENTS_ANSWER = "segments_answer"
UNIQUE_SEGMENTS = "unique_segments"  # after dedup within a chunk
UNIQUE_PASSAGE = "unique_passage"
CACHE_HITS = "cache_hits"  # (segment, lang) pairs found in the translation cache
TRANSLATED = "translated"  # (segment, lang) pairs sent to the translator
SOURCE_TOKENS = "source_tokens"
TARGET_TOKENS = "target_tokens"
ROWS = "rows"  # filter: rows judged, per language as "rows:{lang}"
KEPT = "kept"  # filter: rows that passed every check ("kept:{lang}" per language)
FAILED = "failed"  # filter: rows that failed at least one check
FAILED_PREFIX = "failed_"  # filter: "failed_{reason}" and "failed_{reason}:{lang}"
REJECTED_ROWS = "rejected_rows"  # write: failed rows written to OUT/rejected/
BYTES_WRITTEN = "bytes_written"
SHARDS_WRITTEN = "shards_written"


def per_lang(key: str, lang: str) -> str:
    """The per-language form of a stat key: ``kept:de``."""
    return f"{key}:{lang}"


def failed_key(reason: str, lang: str | None = None) -> str:
    """``failed_{reason}``, or ``failed_{reason}:{lang}`` with a language."""
    key = f"{FAILED_PREFIX}{reason}"
    return key if lang is None else per_lang(key, lang)


@dataclass
class StageStats:
    """Counts and wall time of one stage; adds up across chunks, shards and resumed runs."""

    name: str
    counts: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def add(self, key: str, value: int = 1) -> None:
        self.counts[key] += value

    @contextmanager
    def timer(self):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - start

    def merge(self, other: StageStats) -> None:
        self.counts.update(other.counts)
        self.seconds += other.seconds

    def to_dict(self) -> dict:
        return {"counts": dict(sorted(self.counts.items())), "seconds": round(self.seconds, 4)}

    @classmethod
    def from_dict(cls, name: str, data: dict) -> StageStats:
        return cls(name=name, counts=Counter(data.get("counts", {})), seconds=data.get("seconds", 0.0))
