"""The build manifest as typed records: written by the executor, read by everyone else.

``OUT/manifest.json`` (and each partition's ``OUT/manifests/shard-*.json``) is a
:class:`Manifest`. The summary, ``mtqa report``, ``mtqa train``'s model card and
``mtqa publish``'s dataset card read it through :meth:`Manifest.load` and the typed
accessors below, never by parsing stat keys back out of strings.
"""

from __future__ import annotations

import dataclasses
import json
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtqa.errors import MtqaError
from mtqa.pipeline import stats as S
from mtqa.pipeline.stats import StageStats

MANIFEST_FILE = "manifest.json"


@dataclass(slots=True)
class ShardFile:
    """One Arrow file a writer wrote for a chunk: where, how many rows, its bytes and hash."""

    path: str  # relative to the output directory
    rows: int
    bytes: int
    sha256: str
    langs: dict[str, int]
    rejected: dict[str, Any] | None = None  # the chunk's OUT/rejected/ file: path, rows, bytes, sha256, langs

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ShardFile:
        return cls(**{f.name: data.get(f.name) for f in dataclasses.fields(cls)})


@dataclass(slots=True)
class LanguageFilterCounts:
    """What the quality filter did to one language's rows."""

    lang: str
    rows: int
    kept: int
    failed: dict[str, int]  # reason -> rows failing it (a row failing two checks counts in both)

    @property
    def kept_share(self) -> float:
        return self.kept / self.rows if self.rows else 0.0


@dataclass(slots=True)
class Balance:
    """How evenly a partitioned build's work fell on its partitions (merged manifests only).

    A partition's ``seconds`` is the time its steps spent on its chunks, summed over every
    run that built them: the same whether the partition ran at once or was killed and
    resumed, and what its task takes on a machine like the one that ran it (a task adds its
    start-up and model loading to it). ``straggler_ratio`` is the slowest partition's seconds
    over the median's: with one task per partition, how long the build waits for its last
    task compared with a typical one (1.0: perfectly even). ``rows_ratio`` is the same for
    the rows written: a skewed source gives skewed partitions, since passages are assigned by
    a hash of their text. Each ratio is None when the median is 0 (empty partitions).
    """

    tasks: int
    rows: dict  # {"min", "median", "max"} rows written per partition
    seconds: dict  # {"min", "median", "max"} step seconds per partition
    straggler_ratio: float | None
    rows_ratio: float | None
    slowest: int | None  # shard index of the slowest partition

    @classmethod
    def of(cls, partitions: list[dict]) -> Balance:
        """From the merged manifest's ``partitions`` records (their ``rows`` and ``seconds``)."""
        rows = [p.get("rows", 0) for p in partitions]
        seconds = [p.get("seconds") or 0.0 for p in partitions]

        def spread(values: list) -> dict:
            return {"min": min(values), "median": statistics.median(values), "max": max(values)}

        def ratio(values: list) -> float | None:
            median = statistics.median(values)
            return round(max(values) / median, 3) if median else None

        slowest = max(range(len(partitions)), key=lambda i: seconds[i]) if partitions else None
        return cls(
            tasks=len(partitions),
            rows=spread(rows),
            seconds={k: round(v, 3) for k, v in spread(seconds).items()},
            straggler_ratio=ratio(seconds),
            rows_ratio=ratio(rows),
            slowest=partitions[slowest].get("shard_index") if slowest is not None else None,
        )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Balance:
        return cls(**{f.name: data.get(f.name) for f in dataclasses.fields(cls)})


@dataclass(slots=True)
class LanguageOriginCounts:
    """Where one language's rows came from: the source (``source``: the source language's own
    rows), the source's translations (``human``), machine translation (``mt``), and how many of
    the build's ids the source had no translation of in this language (``ids_missing``: the
    ``mt`` rows, plus the ids left out without machine translation)."""

    lang: str
    source: int
    human: int
    mt: int
    ids_missing: int

    @property
    def rows(self) -> int:
        return self.source + self.human + self.mt


@dataclass(slots=True)
class LanguageSpanCounts:
    """The answer spans of one language's given translations, as assemble checked them:
    ``answers`` given, of which ``indexed`` index their passage, ``relocated`` did not but their
    text occurs in it (moved to the nearest occurrence), ``not_found`` do not occur (start -1);
    ``answers_missing``: answerable rows whose translation has no answer; ``rows_flagged``:
    rows flagged ``answer_span`` for either."""

    lang: str
    answers: int
    indexed: int
    relocated: int
    not_found: int
    answers_missing: int
    rows_flagged: int


@dataclass(slots=True)
class LanguageProjectionCounts:
    """How one language's machine-translated answers were projected into their passages
    (``docs/projection.md``): by the markers of its marked sentence (``marker``), by its own
    translation found verbatim (``exact``) or normalised or similar (``fuzzy``), or not at all
    (``none``: ``answer_start`` -1); ``unlocated``: answers the source gives as free text (no
    span in English either), not projected."""

    lang: str
    marker: int
    exact: int
    fuzzy: int
    none: int
    unlocated: int

    @property
    def projected(self) -> int:
        """Answers given a span in the translated passage."""
        return self.marker + self.exact + self.fuzzy

    @property
    def answers(self) -> int:
        """Answers the projection tried (the source's located ones)."""
        return self.projected + self.none

    def by_method(self) -> dict[str, int]:
        """``{"marker": ..., "exact": ..., "fuzzy": ..., "none": ...}``, in method order."""
        return {"marker": self.marker, "exact": self.exact, "fuzzy": self.fuzzy, "none": self.none}


@dataclass(frozen=True, slots=True)
class TitleSplitRecord:
    """A build split by title: the titles it read (``kept``), those it left out (``held_out``),
    and the rule of each source (a title list or a seeded fraction, and ``complement``)."""

    kept: tuple[str, ...]
    held_out: tuple[str, ...]
    rules: tuple[dict, ...]


@dataclass
class Manifest:
    """A build (or one partition of it): its config, sources, model, counts and files."""

    mtqa_version: str
    pipeline: dict
    identity_sha256: str
    sources: list[dict]
    model: dict | None
    stages: dict[str, StageStats]
    langs: dict[str, int]
    rows: int
    rejected: dict
    files: list[ShardFile]
    partition: dict | None = None  # one partition's manifest: {"num_shards", "shard_index"}
    resumed: dict | None = None  # one partition: chunks and rows a rerun found done
    last_run_seconds: float | None = None
    partitions: list[dict] | None = None  # the merged manifest: each partition's rows and resume counts
    balance: Balance | None = None  # the merged manifest of a partitioned build: per-partition spread
    extra: dict = field(default_factory=dict)  # what steps add through Step.describe(), beyond sources
    #: Never written: what the run that returned this manifest did (an
    #: ``mtqa.pipeline.executor.RunRecord``: chunks resumed and built, partitions missing), for
    #: the summary. None for a manifest read from a file.
    this_run: Any = field(default=None, compare=False, repr=False)

    # -- counts ----------------------------------------------------------------------------
    def stage(self, name: str) -> StageStats:
        return self.stages.get(name) or StageStats(name)

    def count(self, stage: str, key: str) -> int:
        return int(self.stage(stage).counts.get(key, 0))

    @property
    def source_lang(self) -> str:
        return self.pipeline.get("source_lang", "en")

    @property
    def lang_order(self) -> list[str]:
        """The build's languages: the source language first, then the targets as configured."""
        return [self.source_lang, *[lang for lang in self.pipeline.get("langs", []) if lang != self.source_lang]]

    def filter_failures(self) -> dict[str, int]:
        """Rows failing each filter check, over all languages."""
        counts = self.stage("filter").counts
        return {k.removeprefix(S.FAILED_PREFIX): int(v) for k, v in sorted(counts.items())
                if k.startswith(S.FAILED_PREFIX)}

    def filter_by_language(self) -> list[LanguageFilterCounts]:
        """The filter's counts per language, in the build's language order."""
        stats = self.stages.get("filter")
        if stats is None:
            raise MtqaError("the manifest has no filter counts (a build without the filter step?)")
        if not stats.langs:
            raise MtqaError("the manifest's filter counts have no per-language rows (built by an older mtqa?)")
        reasons = sorted({k.removeprefix(S.FAILED_PREFIX) for c in stats.langs.values() for k in c
                          if k.startswith(S.FAILED_PREFIX)})
        order = self.lang_order
        langs = sorted(stats.langs, key=lambda lang: (order.index(lang) if lang in order else len(order), lang))
        return [LanguageFilterCounts(
            lang=lang,
            rows=stats.lang_count(lang, S.ROWS),
            kept=stats.lang_count(lang, S.KEPT),
            failed={r: stats.lang_count(lang, S.failed_key(r)) for r in reasons},
        ) for lang in langs]

    def origin_counts(self) -> list[LanguageOriginCounts]:
        """Rows per language by origin, and the ids the source lacks in each language (read
        from assemble's per-language counts), in the build's language order. Empty for a
        manifest without them (a build by an mtqa without origins)."""
        stats = self.stage("assemble")
        return [LanguageOriginCounts(
            lang=lang,
            source=stats.lang_count(lang, S.origin_key("source")),
            human=stats.lang_count(lang, S.origin_key("human")),
            mt=stats.lang_count(lang, S.origin_key("mt")),
            ids_missing=stats.lang_count(lang, S.IDS_MISSING),
        ) for lang in self._ordered(stats.langs)]

    def span_counts(self) -> list[LanguageSpanCounts]:
        """The checked answer spans of the given translations, per language that has any."""
        A = S
        stats = self.stage("assemble")
        return [LanguageSpanCounts(
            lang=lang,
            answers=stats.lang_count(lang, A.ANSWERS_GIVEN),
            indexed=stats.lang_count(lang, A.SPANS_INDEXED),
            relocated=stats.lang_count(lang, A.SPANS_RELOCATED),
            not_found=stats.lang_count(lang, A.SPANS_NOT_FOUND),
            answers_missing=stats.lang_count(lang, A.ANSWERS_MISSING),
            rows_flagged=stats.lang_count(lang, A.ROWS_FLAGGED_SPAN),
        ) for lang in self._ordered(stats.langs)
            if stats.lang_count(lang, A.ANSWERS_GIVEN) or stats.lang_count(lang, A.ROWS_FLAGGED_SPAN)]

    def projection_counts(self) -> list[LanguageProjectionCounts]:
        """Machine-translated answers per language and projection method (assemble's
        ``answers_{method}`` counts), for every language that has any, in the build's language
        order. Empty for a build without machine translation or by an mtqa without projection."""
        from mtqa.projection import Method

        stats = self.stage("assemble")
        keys = [m.stat_key for m in Method] + [S.ANSWERS_UNLOCATED]
        return [LanguageProjectionCounts(
            lang=lang, unlocated=stats.lang_count(lang, S.ANSWERS_UNLOCATED),
            **{m.value: stats.lang_count(lang, m.stat_key) for m in Method},
        ) for lang in self._ordered(stats.langs) if any(stats.lang_count(lang, k) for k in keys)]

    def not_in_source(self) -> dict[str, int]:
        """Per language, the questions a parallel source's translation files have and its
        source-language file lacks (not built: a row needs its source passage), summed over
        the sources (their ``describe()``)."""
        counts: Counter = Counter()
        for source in self.sources:
            counts.update(source.get("not_in_source") or {})
        return dict(sorted(counts.items()))

    def title_split(self) -> TitleSplitRecord | None:
        """The titles on each side of the build's split by title; None when it was not split."""
        splits = [s["title_split"] for s in self.sources if s.get("title_split")]
        if not splits:
            return None
        kept = sorted({t for s in splits for t in s.get("kept", [])})
        held_out = sorted({t for s in splits for t in s.get("held_out", [])})
        rules = tuple({k: v for k, v in s.items() if k not in ("kept", "held_out")} for s in splits)
        return TitleSplitRecord(tuple(kept), tuple(held_out), rules)

    def _ordered(self, langs) -> list[str]:
        order = self.lang_order
        return sorted(langs, key=lambda lang: (order.index(lang) if lang in order else len(order), lang))

    # -- files -----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        data = {
            "mtqa_version": self.mtqa_version,
            "pipeline": self.pipeline,
            "identity_sha256": self.identity_sha256,
            "sources": self.sources,
            "model": self.model,
            "stages": {name: stats.to_dict() for name, stats in self.stages.items()},
            "langs": dict(sorted(self.langs.items())),
            "rows": self.rows,
            "rejected": self.rejected,
            "files": [f.to_dict() for f in self.files],
            **self.extra,
        }
        for key in ("partition", "resumed", "last_run_seconds", "partitions"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.balance is not None:
            data["balance"] = self.balance.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict, where: str = "manifest") -> Manifest:
        if not isinstance(data, dict) or not isinstance(data.get("stages"), dict):
            raise MtqaError(f"{where} is not an mtqa build manifest (no 'stages')")
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        try:
            return cls(
                mtqa_version=data.get("mtqa_version", ""),
                pipeline=data.get("pipeline", {}),
                identity_sha256=data.get("identity_sha256", ""),
                sources=data.get("sources", []),
                model=data.get("model"),
                stages={name: StageStats.from_dict(name, s) for name, s in data["stages"].items()},
                langs=dict(data.get("langs", {})),
                rows=int(data.get("rows", 0)),
                rejected=data.get("rejected") or {"rows": 0, "langs": {}},
                files=[ShardFile.from_dict(f) for f in data.get("files", [])],
                partition=data.get("partition"),
                resumed=data.get("resumed"),
                last_run_seconds=data.get("last_run_seconds"),
                partitions=data.get("partitions"),
                balance=Balance.from_dict(data["balance"]) if data.get("balance") else None,
                extra={k: v for k, v in data.items() if k not in known},
            )
        except (TypeError, ValueError, AttributeError) as e:
            raise MtqaError(f"{where} is not a valid mtqa build manifest ({e})") from None

    @classmethod
    def read(cls, path: str | Path) -> Manifest:
        """A manifest file; a missing or garbled one is one clear line."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise MtqaError(f"{path} not found") from None
        except (ValueError, UnicodeDecodeError) as e:
            raise MtqaError(f"{path} is not valid JSON ({e})") from None
        except OSError as e:
            raise MtqaError(f"cannot read {path}: {e.strerror}") from None
        return cls.from_dict(data, str(path))

    @classmethod
    def load(cls, out_dir: str | Path) -> Manifest:
        """The merged manifest of a finished build directory."""
        path = Path(out_dir) / MANIFEST_FILE
        if not path.is_file():
            raise MtqaError(f"{path} not found: run `mtqa build --out {out_dir}` first (or finish all its partitions)")
        return cls.read(path)


def rejected_totals(files: list[ShardFile]) -> dict:
    """Rows under ``OUT/rejected/`` (the filter's failed rows in "drop" mode), per language."""
    langs: Counter = Counter()
    for f in files:
        if f.rejected:
            langs.update(f.rejected["langs"])
    return {"rows": sum(langs.values()), "langs": dict(sorted(langs.items()))}


def merge(parts: list[Manifest]) -> Manifest:
    """One build's manifest from its partitions' (each counted only its own rows, so every
    step's counts add up)."""
    stages: dict[str, StageStats] = {}
    langs: Counter = Counter()
    for part in parts:
        for name, stats in part.stages.items():
            stages.setdefault(name, StageStats(name)).merge(stats)
        langs.update(part.langs)
    first = parts[0]
    files = [f for p in parts for f in p.files]
    partitions = [{"shard_index": (p.partition or {}).get("shard_index"), "rows": p.rows, "resumed": p.resumed,
                   **partition_timing(p)} for p in parts]
    return Manifest(
        mtqa_version=first.mtqa_version,
        pipeline={k: v for k, v in first.pipeline.items() if k != "shard_index"},
        identity_sha256=first.identity_sha256,
        sources=first.sources,
        model=first.model,
        stages=stages,
        langs=dict(sorted(langs.items())),
        rows=sum(p.rows for p in parts),
        rejected=rejected_totals(files),
        files=files,
        partitions=partitions,
        balance=Balance.of(partitions) if len(parts) > 1 else None,
        extra=dict(first.extra),
    )


def partition_timing(part: Manifest) -> dict:
    """What a merged manifest records of one partition's work, beside its rows: the source
    rows it kept, its steps' seconds over every run (see :class:`Balance`) and the seconds of
    its last run."""
    return {
        "source_rows": part.count("source", S.ROWS_OUT),
        "seconds": round(sum(stats.seconds for stats in part.stages.values()), 3),
        "last_run_seconds": part.last_run_seconds,
    }
