"""XQuAD-R and MLQA-R (LAReQA): load the files, decide relevance, evaluate an encoder.

The LAReQA files (github.com/google-research-datasets/lareqa) are SQuAD JSON, one file per
language (``ar.json``, ``de.json``, ...), with two extra fields per paragraph: ``sentences``
(the paragraph split into sentences) and ``sentence_breaks`` (each sentence's ``[start, end)``
character span in ``context``). Question ids are shared across languages: the same id is the
same question, translated.

**Candidates** are the sentences of every paragraph of a language, one per (paragraph,
sentence index), in file order; identical texts in different paragraphs stay separate
candidates (XQuAD-R has a handful, e.g. 4 in ``zh``), and the text is the ``sentences``
entry. **Relevance**: the candidate relevant to a question in language Y is the sentence of
the paragraph that holds that question id in Y's file whose span contains the question's
answer start (the first answer's ``answer_start``, moved past any whitespace). So in
XQuAD-R each question has exactly one relevant candidate per language; in MLQA-R only the
languages whose file has that question id have one.

:func:`evaluate_lareqa` encodes every question and candidate once, ranks the relevant
candidates exactly (see :mod:`mtqa.eval.metrics` for the pessimistic tie rule) and returns
every number as a :class:`~mtqa.eval.records.LareqaResult`: per-setting mAP / R@1 / R@10, the
multilingual (pooled) setting, rank distance and the paper's macro-averages. docs/eval.md
defines each of them. The data folder is always given (``--data``): the LAReQA repository's
``xquad-r`` or ``mlqa-dev-r`` folder.

``titles`` restricts an evaluation to the articles so named (``mtqa eval --titles``, e.g. the
titles a build held out, :func:`mtqa.readers.titles.read_titles`): only their paragraphs are
read, so both the queries and the candidate pool are those articles'.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Sequence

import numpy as np

from mtqa.errors import MtqaError
from mtqa.eval.embedding_cache import EmbeddingCache, encode_texts
from mtqa.eval.encoders import Encoder
from mtqa.eval.metrics import TIE_RULE_TEXT, RelevantRanks, average_precision, rank_distance, recall_at, relevant_ranks
from mtqa.eval.records import (
    LAREQA_TITLES,
    LanguageSummary,
    LareqaFile,
    LareqaResult,
    LareqaScores,
    MacroAverage,
    MeasureSet,
    PooledLanguage,
    SettingResult,
)
from mtqa.io import parse_json_bytes
from mtqa.langs import check_lang

logger = logging.getLogger(__name__)

BENCHMARK_LANGS: dict[str, tuple[str, ...]] = {
    "xquad-r": ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"),
    "mlqa-r": ("ar", "de", "en", "es", "hi", "vi", "zh"),
}
BENCHMARK_TITLES = LAREQA_TITLES
LAREQA_URL = "https://github.com/google-research-datasets/lareqa"
# the benchmark's folder in that repository (MLQA-R is built from MLQA's dev set)
LAREQA_FOLDERS = {"xquad-r": "xquad-r", "mlqa-r": "mlqa-dev-r"}
CUTOFFS = (1, 10)


@dataclass(frozen=True, slots=True)
class LareqaLanguage:
    """One language file: its questions, its candidate sentences and each question's answer sentence."""

    lang: str
    path: Path
    sha256: str
    question_ids: tuple[str, ...]
    questions: tuple[str, ...]
    candidates: tuple[str, ...]
    candidate_keys: tuple[tuple[int, int], ...]  # (paragraph number in the file, sentence index)
    answers: np.ndarray  # per question: the index of its answer sentence in ``candidates``


@dataclass(frozen=True, slots=True)
class LareqaData:
    """A LAReQA benchmark restricted to ``langs`` (in that order)."""

    benchmark: str
    folder: Path
    langs: tuple[str, ...]
    by_lang: dict[str, LareqaLanguage]
    limit: int | None = None
    titles: tuple[str, ...] | None = None  # only the articles with these titles were read

    def pooled(self) -> tuple[list[str], np.ndarray, list[str], list[tuple[int, int]], np.ndarray]:
        """Everything in pooled order (languages in ``langs`` order).

        Returns (question texts, each question's language index, candidate texts, candidate
        blocks ``(start, end)`` per language, relevant ``(n_questions, n_langs)``: the pooled
        position of each question's relevant candidate in each language, -1 for none).
        """
        starts, blocks, texts = {}, [], []
        for lang in self.langs:
            d = self.by_lang[lang]
            starts[lang] = len(texts)
            blocks.append((len(texts), len(texts) + len(d.candidates)))
            texts.extend(d.candidates)
        answer_of = {lang: dict(zip(d.question_ids, d.answers.tolist())) for lang, d in self.by_lang.items()}
        questions, qlang, rows = [], [], []
        for li, lang in enumerate(self.langs):
            d = self.by_lang[lang]
            questions.extend(d.questions)
            qlang.extend([li] * len(d.questions))
            for qid in d.question_ids:
                rows.append([starts[y] + answer_of[y][qid] if qid in answer_of[y] else -1 for y in self.langs])
        relevant = np.array(rows, dtype=np.int64).reshape(len(questions), len(self.langs))
        return questions, np.array(qlang, dtype=np.int64), texts, blocks, relevant


def missing_data_message(benchmark: str) -> str:
    """What to pass, and where to get it, when a LAReQA benchmark is asked for without ``--data``."""
    folder = LAREQA_FOLDERS[benchmark]
    return (f"{benchmark} needs --data DIR: the {folder} folder of the LAReQA repository "
            f"(git clone {LAREQA_URL}; then --data lareqa/{folder}, holding ar.json, de.json, ...); "
            "there is no Hugging Face Hub copy to download")


def check_benchmark(benchmark: str) -> str:
    if benchmark not in BENCHMARK_LANGS:
        raise MtqaError(f"unknown LAReQA benchmark {benchmark!r} (known: {', '.join(BENCHMARK_LANGS)})")
    return benchmark


def _field(obj, key: str, kind, where: str):
    if not isinstance(obj, dict):
        raise MtqaError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    if key not in obj:
        raise MtqaError(f"{where}: missing field {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise MtqaError(f"{where}: field {key!r} must be {names}, got {type(value).__name__}")
    return value


def _answer_sentence(context: str, breaks: list, start: int, where: str) -> int:
    while start < len(context) and context[start].isspace():
        start += 1
    for i, (s, e) in enumerate(breaks):
        if s <= start < e:
            return i
    raise MtqaError(f"{where}: answer_start {start} lies in no sentence span of sentence_breaks")


def load_language(path: Path, lang: str, *, limit: int | None = None,
                  titles: frozenset[str] | None = None) -> LareqaLanguage:
    """Read and validate one LAReQA language file (``limit``: only its first N paragraphs;
    ``titles``: only the articles with these titles, before the limit)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise MtqaError(f"missing file {path}") from None
    except OSError as e:
        raise MtqaError(f"cannot read {path}: {e.strerror}") from None
    doc = parse_json_bytes(raw, path)
    articles = _field(doc, "data", list, str(path))
    ids, questions, candidates, keys, answers = [], [], [], [], []
    seen: set[str] = set()
    n_par = 0
    for ai, article in enumerate(articles):
        if limit is not None and n_par >= limit:
            break
        if titles is not None and article.get("title") not in titles:
            continue
        paragraphs = _field(article, "paragraphs", list, f"{path.name}: data[{ai}]")
        for pi, par in enumerate(paragraphs):
            if limit is not None and n_par >= limit:
                break
            where = f"{path.name}: data[{ai}].paragraphs[{pi}]"
            context = _field(par, "context", str, where)
            sentences = _field(par, "sentences", list, where)
            breaks = _field(par, "sentence_breaks", list, where)
            if len(sentences) != len(breaks):
                raise MtqaError(f"{where}: {len(sentences)} sentences but {len(breaks)} sentence_breaks")
            for si, (text, span) in enumerate(zip(sentences, breaks)):
                if not isinstance(text, str):
                    raise MtqaError(f"{where}: sentences[{si}] must be a string")
                if (not isinstance(span, list) or len(span) != 2 or not all(isinstance(x, int) for x in span)
                        or span[0] > span[1]):
                    raise MtqaError(f"{where}: sentence_breaks[{si}] must be [start, end] with start <= end, got {span!r}")
            base = len(candidates)
            candidates.extend(sentences)
            keys.extend((n_par, si) for si in range(len(sentences)))
            for qi, qa in enumerate(_field(par, "qas", list, where)):
                qwhere = f"{where}.qas[{qi}]"
                qid = _field(qa, "id", str, qwhere)
                if qid in seen:
                    raise MtqaError(f"{qwhere}: question id {qid!r} appears twice in {path.name}")
                seen.add(qid)
                text = _field(qa, "question", str, qwhere)
                answer_list = _field(qa, "answers", list, qwhere)
                if not answer_list:
                    raise MtqaError(f"{qwhere}: question {qid!r} has no answers")
                start = _field(answer_list[0], "answer_start", int, f"{qwhere}.answers[0]")
                ids.append(qid)
                questions.append(text)
                answers.append(base + _answer_sentence(context, breaks, start, f"{qwhere} ({qid})"))
            n_par += 1
    if not questions:
        raise MtqaError(f"{path}: no questions" + (f" in the {len(titles)} titles asked for" if titles else ""))
    return LareqaLanguage(lang=lang, path=path, sha256=hashlib.sha256(raw).hexdigest(), question_ids=tuple(ids),
                          questions=tuple(questions), candidates=tuple(candidates), candidate_keys=tuple(keys),
                          answers=np.array(answers, dtype=np.int64))


def load_lareqa(folder: Path | None, benchmark: str, *, langs: Sequence[str] | None = None,
                limit: int | None = None, titles: Sequence[str] | None = None) -> LareqaData:
    """Load ``<folder>/<lang>.json`` for each language of ``benchmark`` (or of ``langs``).

    ``folder`` is the benchmark's folder of the LAReQA repository (``lareqa/xquad-r``,
    ``lareqa/mlqa-dev-r``); None is an error saying so. ``limit`` keeps only the first N
    paragraphs of every file: a quick check, not comparable with full results. ``titles``
    keeps only those articles (queries and candidates), e.g. the ones a build held out.
    """
    check_benchmark(benchmark)
    if folder is None:
        raise MtqaError(missing_data_message(benchmark))
    folder = Path(folder)
    if not folder.is_dir():
        raise MtqaError(f"data folder not found: {folder}")
    allowed = BENCHMARK_LANGS[benchmark]
    if langs is None:
        chosen = list(allowed)
    else:
        chosen = []
        for code in langs:
            code = check_lang(code)
            if code not in allowed:
                raise MtqaError(f"{benchmark} has no language {code!r} (it has {', '.join(allowed)})")
            if code not in chosen:
                chosen.append(code)
        if not chosen:
            raise MtqaError("--langs names no language")
    if limit is not None and limit < 1:
        raise MtqaError(f"limit must be at least 1, got {limit}")
    kept = None
    if titles is not None:
        kept = tuple(dict.fromkeys(titles))
        if not kept:
            raise MtqaError("the title list holds no titles")
    by_lang = {lang: load_language(folder / f"{lang}.json", lang, limit=limit,
                                   titles=frozenset(kept) if kept else None) for lang in chosen}
    if kept:
        logger.info("restricted to %d titles: %s questions, %s candidates", len(kept),
                    f"{sum(len(d.questions) for d in by_lang.values()):,}",
                    f"{sum(len(d.candidates) for d in by_lang.values()):,}")
    return LareqaData(benchmark=benchmark, folder=folder, langs=tuple(chosen), by_lang=by_lang, limit=limit,
                      titles=kept)


def encode_unique(encoder: Encoder, cache: EmbeddingCache | None, texts: list[str], kind: str, batch_size: int,
                  progress: bool) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings of the distinct texts, and for each text its row among them."""
    index: dict[str, int] = {}
    rows = np.array([index.setdefault(t, len(index)) for t in texts], dtype=np.int64)
    unique = list(index)
    logger.info("%s %s texts, %s distinct", f"{len(texts):,}", kind, f"{len(unique):,}")
    vectors = np.asarray(encode_texts(encoder, unique, kind, cache=cache, batch_size=batch_size, progress=progress))
    if vectors.ndim != 2 or vectors.shape[0] != len(unique):
        raise MtqaError(f"encoder {getattr(encoder, 'name', encoder)!r} returned shape {vectors.shape} "
                        f"for {len(unique)} {kind} texts: expected ({len(unique)}, d)")
    return vectors, rows


def _mean(values) -> float | None:
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return float(np.mean(values)) if values else None


def _measures(ranks: np.ndarray) -> dict[str, float | None]:
    """Mean AP and R@k (as :class:`MeasureSet` keywords) over the queries (rows) that have a relevant candidate."""
    if ranks.ndim == 1:
        ranks = ranks[:, None]
    ranks = ranks[(ranks > 0).any(axis=1)]
    if not len(ranks):
        return {"mean_ap": None, "recall_at_1": None, "recall_at_10": None}
    return {"mean_ap": float(np.mean(average_precision(ranks))),
            "recall_at_1": float(np.mean(recall_at(ranks, 1))),
            "recall_at_10": float(np.mean(recall_at(ranks, 10)))}


def _macro(parts: list[MeasureSet], count: int) -> MacroAverage:
    return MacroAverage(mean_ap=_mean(p.mean_ap for p in parts), recall_at_1=_mean(p.recall_at_1 for p in parts),
                        recall_at_10=_mean(p.recall_at_10 for p in parts), count=count)


def summarise(data: LareqaData, ranks: RelevantRanks, query_lang: np.ndarray, blocks: list[tuple[int, int]]
              ) -> LareqaScores:
    """Every number of the LAReQA evaluation from the ranks of the relevant candidates."""
    langs = list(data.langs)
    settings: dict[str, SettingResult] = {}
    for x, qx in enumerate(langs):
        mine = query_lang == x
        for y, cy in enumerate(langs):
            r = ranks.block[mine, y]
            r = r[r > 0]
            settings[f"{qx}-{cy}"] = SettingResult(query_lang=qx, corpus_lang=cy, queries=int(len(r)),
                                                   candidates=blocks[y][1] - blocks[y][0], **_measures(r))
    pooled: dict[str, PooledLanguage] = {}
    for x, qx in enumerate(langs):
        rows = ranks.pooled[query_lang == x]
        rows = rows[(rows > 0).any(axis=1)]
        distance = rank_distance(rows) if len(rows) else np.array([])
        distance = distance[~np.isnan(distance)]
        pooled[qx] = PooledLanguage(
            queries=int(len(rows)), **_measures(rows),
            relevant_per_query=float((rows > 0).sum(axis=1).mean()) if len(rows) else None,
            rank_distance=float(distance.mean()) if len(distance) else None,
            rank_distance_queries=int(len(distance)))
    per_lang = {qx: LanguageSummary(
        mono_mean_ap=settings[f"{qx}-{qx}"].mean_ap,
        cross_mean_ap=_mean(settings[f"{qx}-{cy}"].mean_ap for cy in langs if cy != qx),
        cross_mean_ap_as_corpus=_mean(settings[f"{cx}-{qx}"].mean_ap for cx in langs if cx != qx),
        multi_mean_ap=pooled[qx].mean_ap,
        rank_distance=pooled[qx].rank_distance) for qx in langs}
    mono = [settings[f"{x}-{x}"] for x in langs]
    cross = [settings[f"{x}-{y}"] for x in langs for y in langs if x != y]
    multi = [pooled[x] for x in langs]
    return LareqaScores(
        langs=tuple(langs), settings=settings, pooled=pooled, pooled_candidates=blocks[-1][1] if blocks else 0,
        per_lang=per_lang,
        mono=_macro(mono, sum(s.queries > 0 for s in mono)),
        cross=_macro(cross, sum(s.queries > 0 for s in cross)),
        multi=_macro(multi, sum(p.queries > 0 for p in multi)),
        rank_distance=_mean(p.rank_distance for p in multi))


def evaluate_lareqa(encoder: Encoder, data: LareqaData, *, cache: EmbeddingCache | None = None, batch_size: int = 64,
                    progress: bool = False, chunk_size: int = 256, on_scores=None,
                    label: str | None = None) -> LareqaResult:
    """Encode ``data`` with ``encoder`` (through ``cache`` when given) and compute every number.

    Each distinct question text is encoded once as a query and each distinct sentence once
    as a passage; identical candidate texts therefore get one vector and tie exactly.
    ``on_scores(first_query, scores)`` sees every chunk of pooled score rows, in the order of
    :meth:`LareqaData.pooled` (for cross-checks; see :func:`mtqa.eval.metrics.relevant_ranks`).
    ``label`` is the model's name in tables (:attr:`LareqaResult.model`).
    """
    from mtqa import __version__

    questions, query_lang, candidates, blocks, relevant = data.pooled()
    title = BENCHMARK_TITLES[data.benchmark]
    logger.info("%s: %d language%s, %s questions, %s candidates", title, len(data.langs),
                "s" if len(data.langs) != 1 else "", f"{len(questions):,}", f"{len(candidates):,}")
    t0 = time.perf_counter()
    q_vectors, q_rows = encode_unique(encoder, cache, questions, "query", batch_size, progress)
    c_vectors, c_rows = encode_unique(encoder, cache, candidates, "passage", batch_size, progress)
    t1 = time.perf_counter()
    ranks = relevant_ranks(q_vectors[q_rows], c_vectors, relevant, blocks, candidate_rows=c_rows,
                           chunk_size=chunk_size, on_scores=on_scores)
    t2 = time.perf_counter()
    logger.info("%s: encoded in %.1f s, ranked in %.1f s", title, t1 - t0, t2 - t1)
    scores = summarise(data, ranks, query_lang, blocks)
    return LareqaResult(
        benchmark=data.benchmark, model=label, encoder=getattr(encoder, "name", repr(encoder)),
        mtqa_version=__version__, tie_rule=TIE_RULE_TEXT, data_folder=str(data.folder),
        limit_paragraphs=data.limit, titles=data.titles,
        files={lang: LareqaFile(file=d.path.name, sha256=d.sha256, questions=len(d.questions),
                                candidates=len(d.candidates)) for lang, d in data.by_lang.items()},
        encode_seconds=round(t1 - t0, 3), rank_seconds=round(t2 - t1, 3),
        **{f.name: getattr(scores, f.name) for f in fields(LareqaScores)})
