"""Typed evaluation results: what :func:`~mtqa.eval.lareqa.evaluate_lareqa` and
:func:`~mtqa.eval.miracl.evaluate_miracl` return, what ``<benchmark>.json`` holds.

Every reader (the Markdown report, the heatmap, the CLI table, a model card) uses these
records. ``to_dict()`` gives the JSON layout of ``<benchmark>.json`` (docs/eval.md lists its
keys) and ``from_dict()`` / ``load(path)`` read it back: ``from_dict(r.to_dict()) == r``.
Measures that are undefined (a setting without queries, a rank distance without two relevant
candidates) are ``None`` here and ``null`` in JSON.

The JSON keys keep the papers' names (``mAP``, ``R@1``, ``R@10``, ``nDCG@10``, ``R@100``);
the attributes spell them out (``mean_ap``, ``recall_at_1``, ...); :meth:`MeasureSet.get`
reads one by its JSON name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from mtqa.errors import MtqaError
from mtqa.io import parse_json_bytes

__all__ = ["EvalResult", "LanguageSummary", "LareqaFile", "LareqaResult", "LareqaScores", "MacroAverage", "MeasureSet",
           "MiraclLanguage", "MiraclResult", "MiraclScores", "PooledLanguage", "SettingResult", "load_result",
           "result_from_dict"]

LAREQA_TITLES = {"xquad-r": "XQuAD-R", "mlqa-r": "MLQA-R"}
TITLES = {**LAREQA_TITLES, "miracl": "MIRACL"}
MEASURES = ("mAP", "R@1", "R@10")
_MEASURE_ATTRS = {"mAP": "mean_ap", "R@1": "recall_at_1", "R@10": "recall_at_10"}


def _json_safe(value):
    """NaN and infinities become None; numpy scalars become Python numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return _json_safe(value.item())
    return value


def _get(obj: Any, key: str, where: str, kinds: type | tuple = object, *, optional: bool = False):
    """``obj[key]`` checked: a missing key or a value of the wrong type is one ``MtqaError`` line."""
    if not isinstance(obj, Mapping):
        raise MtqaError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    if key not in obj:
        raise MtqaError(f"{where}: missing key {key!r}")
    value = obj[key]
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise MtqaError(f"{where}: {key!r} has the wrong type ({type(value).__name__})")
    return value


def _number(obj, key: str, where: str) -> float | None:
    value = _get(obj, key, where, (int, float), optional=True)
    return None if value is None else float(value)


def _count(obj, key: str, where: str) -> int:
    return _get(obj, key, where, int)


def _read_json(path: Path) -> dict:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise MtqaError(f"cannot read {path}: {e.strerror or e}") from None
    return parse_json_bytes(raw, path)


# --- LAReQA: XQuAD-R and MLQA-R ------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class MeasureSet:
    """mAP, R@1 and R@10 over a set of queries (means; None when there were no queries)."""

    mean_ap: float | None
    recall_at_1: float | None
    recall_at_10: float | None

    def get(self, measure: str) -> float | None:
        """A measure by its JSON name: ``"mAP"``, ``"R@1"`` or ``"R@10"``."""
        if measure not in _MEASURE_ATTRS:
            raise MtqaError(f"unknown measure {measure!r} (known: {', '.join(MEASURES)})")
        return getattr(self, _MEASURE_ATTRS[measure])

    def measures_dict(self) -> dict:
        return {m: getattr(self, attr) for m, attr in _MEASURE_ATTRS.items()}

    @staticmethod
    def _read(d, where: str) -> dict:
        return {attr: _number(d, m, where) for m, attr in _MEASURE_ATTRS.items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class MacroAverage(MeasureSet):
    """A macro-average of the measures over ``count`` settings (mono, cross) or query languages (multi)."""

    count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SettingResult(MeasureSet):
    """One query language x corpus language setting (``X-Y``): the X questions that have a
    relevant candidate among the Y candidates, ranked against those candidates only."""

    query_lang: str
    corpus_lang: str
    queries: int
    candidates: int

    def to_dict(self) -> dict:
        return {"query_lang": self.query_lang, "corpus_lang": self.corpus_lang, "queries": self.queries,
                "candidates": self.candidates, **self.measures_dict()}

    @classmethod
    def from_dict(cls, d, where: str) -> "SettingResult":
        return cls(query_lang=_get(d, "query_lang", where, str), corpus_lang=_get(d, "corpus_lang", where, str),
                   queries=_count(d, "queries", where), candidates=_count(d, "candidates", where),
                   **MeasureSet._read(d, where))


@dataclass(frozen=True, slots=True, kw_only=True)
class PooledLanguage(MeasureSet):
    """The multilingual (pooled) setting for the questions of one query language: every
    relevant candidate, one per language that has the question, ranked among all candidates.

    ``rank_distance`` is the mean over the ``rank_distance_queries`` questions with at least
    two relevant candidates of (worst rank - best rank)."""

    queries: int
    relevant_per_query: float | None
    rank_distance: float | None
    rank_distance_queries: int

    def to_dict(self) -> dict:
        return {"queries": self.queries, **self.measures_dict(), "relevant_per_query": self.relevant_per_query,
                "rank_distance": self.rank_distance, "rank_distance_queries": self.rank_distance_queries}

    @classmethod
    def from_dict(cls, d, where: str) -> "PooledLanguage":
        return cls(queries=_count(d, "queries", where), relevant_per_query=_number(d, "relevant_per_query", where),
                   rank_distance=_number(d, "rank_distance", where),
                   rank_distance_queries=_count(d, "rank_distance_queries", where), **MeasureSet._read(d, where))


@dataclass(frozen=True, slots=True, kw_only=True)
class LanguageSummary:
    """One language's row of the per-language table: mono X-X, cross as query language (mean
    over Y of X-Y), cross as corpus language (mean over Y of Y-X), pooled mAP, rank distance."""

    mono_mean_ap: float | None
    cross_mean_ap: float | None
    cross_mean_ap_as_corpus: float | None
    multi_mean_ap: float | None
    rank_distance: float | None

    _KEYS = {"mono_mAP": "mono_mean_ap", "cross_mAP": "cross_mean_ap", "cross_mAP_as_corpus": "cross_mean_ap_as_corpus",
             "multi_mAP": "multi_mean_ap", "rank_distance": "rank_distance"}

    def to_dict(self) -> dict:
        return {key: getattr(self, attr) for key, attr in self._KEYS.items()}

    @classmethod
    def from_dict(cls, d, where: str) -> "LanguageSummary":
        return cls(**{attr: _number(d, key, where) for key, attr in cls._KEYS.items()})


@dataclass(frozen=True, slots=True, kw_only=True)
class LareqaScores:
    """Every number of a LAReQA evaluation, as :func:`~mtqa.eval.lareqa.summarise` computes them.

    ``settings["X-Y"]`` for every pair of ``langs``; ``pooled[X]`` the multilingual setting per
    query language, over ``pooled_candidates`` candidates; ``per_lang[X]`` the per-language
    table; ``mono``, ``cross``, ``multi`` and ``rank_distance`` the paper's macro-averages
    (docs/eval.md defines them).
    """

    langs: tuple[str, ...]
    settings: dict[str, SettingResult]
    pooled: dict[str, PooledLanguage]
    pooled_candidates: int
    per_lang: dict[str, LanguageSummary]
    mono: MacroAverage
    cross: MacroAverage
    multi: MacroAverage
    rank_distance: float | None

    def setting(self, query_lang: str, corpus_lang: str) -> SettingResult:
        return self.settings[f"{query_lang}-{corpus_lang}"]

    def matrix(self, measure: str = "mAP") -> list[list[float | None]]:
        """Rows: query language, columns: corpus language, both in ``langs`` order."""
        return [[self.setting(x, y).get(measure) for y in self.langs] for x in self.langs]

    def scores_dict(self) -> dict:
        def macro(average: MacroAverage, count_key: str) -> dict:
            return {**average.measures_dict(), count_key: average.count}

        return {
            "langs": list(self.langs),
            "settings": {key: s.to_dict() for key, s in self.settings.items()},
            "matrices": {m: self.matrix(m) for m in MEASURES},
            "multilingual": {"candidates": self.pooled_candidates,
                             "per_lang": {x: p.to_dict() for x, p in self.pooled.items()}},
            "per_lang": {x: p.to_dict() for x, p in self.per_lang.items()},
            "macro": {"mono": macro(self.mono, "settings"), "cross": macro(self.cross, "settings"),
                      "multi": macro(self.multi, "langs"), "rank_distance": self.rank_distance},
        }

    @staticmethod
    def _read_scores(d, where: str) -> dict:
        langs = tuple(_get(d, "langs", where, list))
        settings = {key: SettingResult.from_dict(s, f"{where}: settings.{key}")
                    for key, s in _get(d, "settings", where, dict).items()}
        multilingual = _get(d, "multilingual", where, dict)
        pooled = {x: PooledLanguage.from_dict(p, f"{where}: multilingual.per_lang.{x}")
                  for x, p in _get(multilingual, "per_lang", f"{where}: multilingual", dict).items()}
        per_lang = {x: LanguageSummary.from_dict(p, f"{where}: per_lang.{x}")
                    for x, p in _get(d, "per_lang", where, dict).items()}
        macro = _get(d, "macro", where, dict)

        def average(key: str, count_key: str) -> MacroAverage:
            part = _get(macro, key, f"{where}: macro", dict)
            inner = f"{where}: macro.{key}"
            return MacroAverage(count=_count(part, count_key, inner), **MeasureSet._read(part, inner))

        missing = [f"{x}-{y}" for x in langs for y in langs if f"{x}-{y}" not in settings]
        if missing:
            raise MtqaError(f"{where}: settings has no {missing[0]!r}")
        return dict(langs=langs, settings=settings, pooled=pooled,
                    pooled_candidates=_count(multilingual, "candidates", f"{where}: multilingual"),
                    per_lang=per_lang, mono=average("mono", "settings"), cross=average("cross", "settings"),
                    multi=average("multi", "langs"), rank_distance=_number(macro, "rank_distance", f"{where}: macro"))


@dataclass(frozen=True, slots=True, kw_only=True)
class LareqaFile:
    """One language file the evaluation read: its name, sha256 and sizes."""

    file: str
    sha256: str
    questions: int
    candidates: int

    def to_dict(self) -> dict:
        return {"file": self.file, "sha256": self.sha256, "questions": self.questions, "candidates": self.candidates}

    @classmethod
    def from_dict(cls, d, where: str) -> "LareqaFile":
        return cls(file=_get(d, "file", where, str), sha256=_get(d, "sha256", where, str),
                   questions=_count(d, "questions", where), candidates=_count(d, "candidates", where))


@dataclass(frozen=True, slots=True, kw_only=True)
class LareqaResult(LareqaScores):
    """A LAReQA evaluation with its provenance: what was evaluated, on which files, how.

    ``model`` is the label shown in tables (None until one is given: :attr:`label` then
    falls back to the encoder name); ``encoder`` the encoder's cache identity (weights hash,
    prefixes, max length); ``limit_paragraphs`` set when only the first N paragraphs of each
    file were read (not comparable with full results).
    """

    benchmark: str
    encoder: str
    mtqa_version: str
    tie_rule: str
    data_folder: str
    limit_paragraphs: int | None
    files: dict[str, LareqaFile]
    encode_seconds: float
    rank_seconds: float
    model: str | None = None
    titles: tuple[str, ...] | None = None  # only these articles were evaluated (mtqa eval --titles)

    @property
    def label(self) -> str:
        return self.model or self.encoder

    @property
    def title(self) -> str:
        return TITLES.get(self.benchmark, self.benchmark)

    def summary_row(self) -> dict[str, Any]:
        """The paper's Table 1 row: model, mono / cross / multi mAP, rank distance (raw numbers)."""
        return {"model": self.label, "mono mAP": self.mono.mean_ap, "cross mAP": self.cross.mean_ap,
                "multi mAP": self.multi.mean_ap, "rank distance": self.rank_distance}

    def to_dict(self) -> dict:
        """The content of ``<benchmark>.json``."""
        out = {
            "model": self.model,
            "benchmark": self.benchmark,
            "encoder": self.encoder,
            "mtqa_version": self.mtqa_version,
            "tie_rule": self.tie_rule,
            "data": {"folder": self.data_folder, "limit_paragraphs": self.limit_paragraphs,
                     **({"titles": list(self.titles)} if self.titles is not None else {}),
                     "files": {lang: f.to_dict() for lang, f in self.files.items()}},
            **self.scores_dict(),
            "seconds": {"encode": self.encode_seconds, "rank": self.rank_seconds},
        }
        if self.model is None:
            del out["model"]
        return _json_safe(out)

    @classmethod
    def from_dict(cls, d, where: str = "LAReQA result") -> "LareqaResult":
        benchmark = _get(d, "benchmark", where, str)
        if benchmark not in LAREQA_TITLES:
            raise MtqaError(f"{where}: benchmark {benchmark!r} is not a LAReQA benchmark "
                            f"({', '.join(LAREQA_TITLES)})")
        data = _get(d, "data", where, dict)
        seconds = _get(d, "seconds", where, dict)
        files = {lang: LareqaFile.from_dict(f, f"{where}: data.files.{lang}")
                 for lang, f in _get(data, "files", f"{where}: data", dict).items()}
        model = _get(d, "model", where, str, optional=True) if "model" in d else None
        return cls(benchmark=benchmark, model=model, encoder=_get(d, "encoder", where, str),
                   mtqa_version=_get(d, "mtqa_version", where, str), tie_rule=_get(d, "tie_rule", where, str),
                   data_folder=_get(data, "folder", f"{where}: data", str),
                   limit_paragraphs=_get(data, "limit_paragraphs", f"{where}: data", int, optional=True),
                   titles=tuple(_get(data, "titles", f"{where}: data", list)) if "titles" in data else None,
                   files=files, encode_seconds=_number(seconds, "encode", f"{where}: seconds"),
                   rank_seconds=_number(seconds, "rank", f"{where}: seconds"), **cls._read_scores(d, where))

    @classmethod
    def load(cls, path: Path) -> "LareqaResult":
        """Read an ``xquad-r.json`` / ``mlqa-r.json`` written by ``mtqa eval``."""
        return cls.from_dict(_read_json(path), str(path))


# --- MIRACL ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class MiraclScores:
    """nDCG@10 and R@100 (means over the judged queries, or macro-averages over languages)."""

    ndcg_at_10: float | None
    recall_at_100: float | None

    def scores_dict(self) -> dict:
        return {"nDCG@10": self.ndcg_at_10, "R@100": self.recall_at_100}

    @staticmethod
    def _read(d, where: str) -> dict:
        return {"ndcg_at_10": _number(d, "nDCG@10", where), "recall_at_100": _number(d, "R@100", where)}


@dataclass(frozen=True, slots=True, kw_only=True)
class MiraclLanguage(MiraclScores):
    """One MIRACL language: its measures, the judged queries evaluated and the corpus size."""

    queries: int
    corpus_size: int

    def to_dict(self) -> dict:
        return {**self.scores_dict(), "queries": self.queries, "corpus_size": self.corpus_size}

    @classmethod
    def from_dict(cls, d, where: str) -> "MiraclLanguage":
        return cls(queries=_count(d, "queries", where), corpus_size=_count(d, "corpus_size", where),
                   **MiraclScores._read(d, where))


@dataclass(frozen=True, slots=True, kw_only=True)
class MiraclResult:
    """A MIRACL evaluation: per language and the unweighted macro-average over languages.

    ``topics_dir`` is the topics/qrels folder; ``corpus`` the local JSONL path template, or
    None when the corpus was streamed from the Hub.
    """

    per_lang: dict[str, MiraclLanguage]
    macro: MiraclScores
    encoder: str
    mtqa_version: str
    topics_dir: str
    corpus: str | None
    model: str | None = None

    benchmark = "miracl"
    title = "MIRACL"

    @property
    def label(self) -> str:
        return self.model or self.encoder

    def summary_row(self) -> dict[str, Any]:
        """Model, macro nDCG@10 and R@100 (raw numbers)."""
        return {"model": self.label, "nDCG@10": self.macro.ndcg_at_10, "R@100": self.macro.recall_at_100}

    def to_dict(self) -> dict:
        """The content of ``miracl.json``."""
        out = {"benchmark": "miracl", "model": self.model, "encoder": self.encoder, "mtqa_version": self.mtqa_version,
               "data": {"topics_dir": self.topics_dir, "corpus": self.corpus},
               "per_lang": {lang: v.to_dict() for lang, v in self.per_lang.items()},
               "macro": self.macro.scores_dict()}
        if self.model is None:
            del out["model"]
        return _json_safe(out)

    @classmethod
    def from_dict(cls, d, where: str = "MIRACL result") -> "MiraclResult":
        if _get(d, "benchmark", where, str) != "miracl":
            raise MtqaError(f"{where}: benchmark {d['benchmark']!r} is not 'miracl'")
        data = _get(d, "data", where, dict)
        return cls(per_lang={lang: MiraclLanguage.from_dict(v, f"{where}: per_lang.{lang}")
                             for lang, v in _get(d, "per_lang", where, dict).items()},
                   macro=MiraclScores(**MiraclScores._read(_get(d, "macro", where, dict), f"{where}: macro")),
                   model=_get(d, "model", where, str, optional=True) if "model" in d else None,
                   encoder=_get(d, "encoder", where, str),
                   mtqa_version=_get(d, "mtqa_version", where, str),
                   topics_dir=_get(data, "topics_dir", f"{where}: data", str),
                   corpus=_get(data, "corpus", f"{where}: data", str, optional=True))

    @classmethod
    def load(cls, path: Path) -> "MiraclResult":
        """Read a ``miracl.json`` written by ``mtqa eval``."""
        return cls.from_dict(_read_json(path), str(path))


EvalResult = LareqaResult | MiraclResult


def result_from_dict(d, where: str = "evaluation result") -> EvalResult:
    """A :class:`LareqaResult` or :class:`MiraclResult`, by the dict's ``benchmark``."""
    benchmark = _get(d, "benchmark", where, str)
    if benchmark == "miracl":
        return MiraclResult.from_dict(d, where)
    if benchmark in LAREQA_TITLES:
        return LareqaResult.from_dict(d, where)
    raise MtqaError(f"{where}: unknown benchmark {benchmark!r} (known: {', '.join(TITLES)})")


def load_result(path: Path) -> EvalResult:
    """Read any ``<benchmark>.json`` written by ``mtqa eval``."""
    return result_from_dict(_read_json(path), str(path))
