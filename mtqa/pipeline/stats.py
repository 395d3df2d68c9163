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
LONG_PASSAGES = "long_passages"  # segment: distinct passages of a chunk that took the linear path
CUT_SEGMENTS = "cut_segments"  # segment: segments (as listed, like "segments") cut for being over the cap
UNIQUE_PASSAGE = "unique_passage"
CACHE_HITS = "cache_hits"  # (segment, lang) pairs found in the translation cache
TRANSLATED = "translated"  # (segment, lang) pairs sent to the translator
SOURCE_TOKENS = "source_tokens"
TARGET_TOKENS = "target_tokens"
ROWS = "rows"  # filter: rows judged (also per language)
KEPT = "kept"  # filter: rows that passed every check (also per language)
FAILED = "failed"  # filter: rows that failed at least one check
FAILED_PREFIX = "failed_"  # filter: "failed_{reason}" (also per language)
SEGMENTS_MARKED = "segments_marked"  # answer sentences translated once more with the answer marked
ANSWERS_PREFIX = "answers_"  # assemble: "answers_{method}" per language (marker, exact, fuzzy, none)
ANSWERS_UNLOCATED = "answers_unlocated"  # assemble, MT rows: answers the source gives as free text (start -1)
ANSWERS_UNMARKED = "answers_unmarked"  # mark: answers not marked (across sentences, or no free marker pair)
# assemble, rows of parallel sources: ids the source lacks per language, checked given spans
IDS_MISSING = "ids_missing"
ANSWERS_GIVEN = "answers_given"
SPANS_INDEXED = "spans_indexed"
SPANS_RELOCATED = "spans_relocated"
SPANS_NOT_FOUND = "spans_not_found"
ANSWERS_MISSING = "answers_missing"
ROWS_FLAGGED_SPAN = "rows_flagged_span"
ANSWERS_UNKNOWN = "answers_unknown"
ORIGIN_PREFIX = "rows_"  # assemble: "rows_{origin}" per language (source, human, mt)
REJECTED_ROWS = "rejected_rows"  # write: failed rows written to OUT/rejected/
BYTES_WRITTEN = "bytes_written"
SHARDS_WRITTEN = "shards_written"


def origin_key(origin: str) -> str:
    """The stat key of rows of one origin: ``rows_source``, ``rows_human``, ``rows_mt``."""
    return f"{ORIGIN_PREFIX}{getattr(origin, 'value', origin)}"


def failed_key(reason: str) -> str:
    """The stat key of rows failing one check: ``failed_{reason}``."""
    return f"{FAILED_PREFIX}{reason}"


@dataclass
class StageStats:
    """Counts and wall time of one stage; adds up across chunks, shards and resumed runs."""

    name: str
    counts: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    #: the same keys per language (``{"de": {"kept": 10}}``), for the counts a step splits by language
    langs: dict[str, Counter] = field(default_factory=dict)

    def add(self, key: str, value: int = 1, lang: str | None = None) -> None:
        """Add to ``key``; with ``lang``, to that language's count only (not the total)."""
        if lang is None:
            self.counts[key] += value
        else:
            self.langs.setdefault(lang, Counter())[key] += value

    def lang_count(self, lang: str, key: str) -> int:
        return self.langs.get(lang, Counter()).get(key, 0)

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
        for lang, counts in other.langs.items():
            self.langs.setdefault(lang, Counter()).update(counts)

    def to_dict(self) -> dict:
        data = {"counts": dict(sorted(self.counts.items())), "seconds": round(self.seconds, 4)}
        if self.langs:
            data["langs"] = {lang: dict(sorted(c.items())) for lang, c in sorted(self.langs.items())}
        return data

    @classmethod
    def from_dict(cls, name: str, data: dict) -> StageStats:
        langs = {lang: Counter(c) for lang, c in (data.get("langs") or {}).items()}
        return cls(name=name, counts=Counter(data.get("counts", {})), seconds=data.get("seconds", 0.0), langs=langs)
