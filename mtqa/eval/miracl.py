"""MIRACL dense-retrieval evaluation: nDCG@10 and Recall@100 per language and macro-averaged.

Topics (``qid TAB query``) and qrels (TREC: ``qid Q0 docid relevance``) come from a folder
holding files named like the official ones, ``topics.miracl-v1.0-{lang}-dev.tsv`` and
``qrels.miracl-v1.0-{lang}-dev.tsv`` (anserini-tools' ``topics-and-qrels/``), or from a clone of
the Hub dataset ``miracl/miracl`` (``miracl-v1.0-{lang}/topics/``, ``.../qrels/``). The corpus
comes from the Hub (``miracl/miracl-corpus``, streamed with ``datasets``) or from local JSONL
files (``docid``, ``title``, ``text``). Each passage is encoded as ``"title text"``, as the
MIRACL baselines do; queries and passages go through the encoder's query and passage
prefixes. Metrics are computed by ``ir_measures`` from a run of the top 100 passages per
query found by :func:`mtqa.eval.search.top_k`; :func:`evaluate_miracl` returns a
:class:`~mtqa.eval.records.MiraclResult`.

Which queries count: those with at least one qrels line (topics without judgements are not
encoded). A judged query with no relevant passage scores 0 and is kept in the mean, as
``ir_measures``/trec_eval do; every query of the MIRACL dev sets has at least one relevant passage.
"""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from mtqa.errors import MtqaError
from mtqa.eval.embedding_cache import EmbeddingCache, encode_texts
from mtqa.eval.encoders import Encoder
from mtqa.eval.records import MiraclLanguage, MiraclResult, MiraclScores
from mtqa.eval.search import top_k
from mtqa.langs import MIRACL_LANGS

logger = logging.getLogger(__name__)

RUN_DEPTH = 100
CORPUS_BATCH = 50_000
HUB_CORPUS = "miracl/miracl-corpus"
HUB_TOPICS = "miracl/miracl"


def missing_data_message() -> str:
    """What to pass, and where to get it, when MIRACL is asked for without ``--data``."""
    return ("miracl needs --data DIR: a folder with MIRACL's topics.miracl-v1.0-{lang}-dev.tsv and "
            f"qrels.miracl-v1.0-{{lang}}-dev.tsv files (git clone https://huggingface.co/datasets/{HUB_TOPICS}, "
            "or the topics-and-qrels folder of https://github.com/castorini/anserini-tools)")


def _find(topics_dir: Path, kind: str, lang: str) -> Path:
    exact = topics_dir / f"{kind}.miracl-v1.0-{lang}-dev.tsv"
    if exact.is_file():
        return exact
    hub_layout = topics_dir / f"miracl-v1.0-{lang}" / kind / exact.name  # a clone of the Hub dataset miracl/miracl
    if hub_layout.is_file():
        return hub_layout
    found = sorted(p for p in topics_dir.glob(f"{kind}*.tsv") if re.search(rf"(^|[.\-_]){lang}([.\-_]|$)", p.stem))
    if len(found) != 1:
        what = "no" if not found else f"{len(found)} ({', '.join(p.name for p in found)})"
        raise MtqaError(f"MIRACL {kind} for '{lang}': {what} file in {topics_dir} "
                        f"(expected {kind}.miracl-v1.0-{lang}-dev.tsv)")
    return found[0]


def available_langs(topics_dir: Path) -> list[str]:
    """MIRACL languages with both a topics and a qrels file in ``topics_dir``."""
    langs = []
    for lang in MIRACL_LANGS:
        try:
            _find(topics_dir, "topics", lang)
            _find(topics_dir, "qrels", lang)
        except MtqaError:
            continue
        langs.append(lang)
    return langs


def _lines(path: Path, what: str) -> list[tuple[int, str]]:
    """The non-blank lines of a text file with their 1-based numbers."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise MtqaError(f"cannot read {what} {path}: {e}") from None
    return [(number, line) for number, line in enumerate(lines, 1) if line.strip()]


def read_topics(path: Path) -> dict[str, str]:
    """``qid TAB query`` lines; blank lines skipped; anything else malformed is an error."""
    topics: dict[str, str] = {}
    for number, line in _lines(path, "topics"):
        fields = line.split("\t")
        if len(fields) != 2 or not fields[0].strip() or not fields[1].strip():
            raise MtqaError(f"{path}:{number}: malformed topic line (expected 'qid<TAB>query'): {line[:80]!r}")
        qid = fields[0].strip()
        if qid in topics:
            raise MtqaError(f"{path}:{number}: duplicate topic id {qid!r}")
        topics[qid] = fields[1].strip()
    return topics


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """TREC qrels ``qid Q0 docid relevance`` (whitespace-separated, integer relevance)."""
    qrels: dict[str, dict[str, int]] = {}
    for number, line in _lines(path, "qrels"):
        fields = line.split()
        if len(fields) != 4 or not re.fullmatch(r"-?\d+", fields[3]):
            raise MtqaError(f"{path}:{number}: malformed qrels line (expected 'qid Q0 docid relevance'): {line[:80]!r}")
        qid, _, docid, rel = fields
        judged = qrels.setdefault(qid, {})
        if docid in judged and judged[docid] != int(rel):
            raise MtqaError(f"{path}:{number}: conflicting judgements for {qid} {docid}")
        judged[docid] = int(rel)
    return qrels


def passage_text(title: str | None, text: str) -> str:
    """``"title text"``, the passage string the MIRACL baselines encode."""
    return f"{title} {text}".strip() if title else text


def _local_docs(template: str, lang: str) -> Iterator[tuple[str, str]]:
    path = Path(template.replace("{lang}", lang)).expanduser()
    if not path.is_file():
        raise MtqaError(f"MIRACL corpus for '{lang}' not found: {path}")
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except ValueError as e:
                raise MtqaError(f"{path}:{number}: not valid JSON ({e.msg})") from None
            if not isinstance(doc, dict) or not isinstance(doc.get("docid"), str) or not isinstance(doc.get("text"), str) \
                    or not isinstance(doc.get("title", ""), (str, type(None))):
                raise MtqaError(f"{path}:{number}: a corpus line needs string fields 'docid', 'title', 'text'")
            yield doc["docid"], passage_text(doc.get("title"), doc["text"])


def _hub_docs(lang: str) -> Iterator[tuple[str, str]]:
    try:
        import datasets
    except ImportError:
        raise MtqaError("the MIRACL corpus from the Hub needs the 'datasets' package: pip install datasets") from None
    try:
        try:
            stream = datasets.load_dataset(HUB_CORPUS, lang, split="train", streaming=True)
        except Exception:
            # datasets >= 4 no longer runs loading scripts: read the repository's JSONL files directly.
            files = f"hf://datasets/{HUB_CORPUS}/miracl-corpus-v1.0-{lang}/*.jsonl.gz"
            stream = datasets.load_dataset("json", data_files=files, split="train", streaming=True)
        for doc in stream:
            yield doc["docid"], passage_text(doc.get("title"), doc["text"])
    except MtqaError:
        raise
    except Exception as e:
        first = (str(e).strip().splitlines() or [""])[0]
        raise MtqaError(f"cannot stream {HUB_CORPUS} ({lang}) from the Hub: {type(e).__name__}: {first}") from None


def _corpus_embeddings(docs: Iterable[tuple[str, str]], docids: list[str], encoder: Encoder,
                       cache: EmbeddingCache | None, batch_size: int, progress: bool,
                       lang: str) -> Iterator[np.ndarray]:
    seen: set[str] = set()
    texts: list[str] = []
    started = time.perf_counter()

    def encode_batch() -> np.ndarray:
        vectors = encode_texts(encoder, texts, "passage", cache=cache, batch_size=batch_size, progress=progress)
        logger.info("MIRACL %s: %s passages encoded (%.0f s)", lang, f"{len(docids):,}", time.perf_counter() - started)
        return vectors

    for docid, text in docs:
        if docid in seen:
            raise MtqaError(f"MIRACL corpus: duplicate docid {docid!r}")
        seen.add(docid)
        docids.append(docid)
        texts.append(text)
        if len(texts) == CORPUS_BATCH:
            yield encode_batch()
            texts = []
    if texts:
        yield encode_batch()


def _scores(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]) -> dict[str, float]:
    import ir_measures
    from ir_measures import R, nDCG

    measures = [nDCG @ 10, R @ 100]
    qrels_list = [ir_measures.Qrel(q, d, r) for q, judged in qrels.items() for d, r in judged.items()]
    run_list = [ir_measures.ScoredDoc(q, d, s) for q, ranked in run.items() for d, s in ranked.items()]
    agg = ir_measures.calc_aggregate(measures, qrels_list, run_list)
    return {"nDCG@10": float(agg[nDCG @ 10]), "R@100": float(agg[R @ 100])}


def evaluate_miracl(encoder: Encoder, *, langs: list[str] | None, topics_dir: Path, corpus: str | None,
                    cache: EmbeddingCache | None, batch_size: int = 64, progress: bool = False,
                    label: str | None = None) -> MiraclResult:
    """nDCG@10 and Recall@100 of ``encoder`` on MIRACL, per language and macro-averaged.

    ``langs``: MIRACL codes, or None for every language with topics and qrels in ``topics_dir``.
    ``corpus``: None streams ``miracl/miracl-corpus`` from the Hub; otherwise a JSONL path, with
    ``{lang}`` standing for the language when there are several. ``label`` is the model's
    name in tables (:attr:`MiraclResult.model`).
    """
    from mtqa import __version__

    if topics_dir is None:
        raise MtqaError(missing_data_message())
    topics_dir = Path(topics_dir)
    if not topics_dir.is_dir():
        raise MtqaError(f"MIRACL topics folder not found: {topics_dir}")
    if langs is None:
        langs = available_langs(topics_dir)
        if not langs:
            raise MtqaError(f"no MIRACL topics/qrels files in {topics_dir}")
    if not langs:
        raise MtqaError("no MIRACL language to evaluate")
    for lang in langs:
        if lang not in MIRACL_LANGS:
            raise MtqaError(f"unknown MIRACL language {lang!r} (known: {', '.join(MIRACL_LANGS)})")
    if corpus is not None and len(langs) > 1 and "{lang}" not in str(corpus):
        raise MtqaError(f"corpus {corpus} serves several languages: put '{{lang}}' in the path")

    device = str(getattr(encoder, "device", "cpu"))
    search_device = device if device.startswith("cuda") else "cpu"
    per_lang: dict[str, MiraclLanguage] = {}
    for lang in langs:
        topics = read_topics(_find(topics_dir, "topics", lang))
        qrels = read_qrels(_find(topics_dir, "qrels", lang))
        missing = sorted(set(qrels) - set(topics))
        if missing:
            raise MtqaError(f"MIRACL '{lang}': {len(missing)} judged queries have no topic (first: {missing[0]!r})")
        qids = [q for q in topics if q in qrels]
        logger.info("MIRACL %s: %s judged queries; corpus from %s", lang, f"{len(qids):,}",
                    HUB_CORPUS if corpus is None else str(corpus).replace("{lang}", lang))
        query_vectors = encode_texts(encoder, [topics[q] for q in qids], "query", cache=cache, batch_size=batch_size,
                                     progress=progress)
        docids: list[str] = []
        docs = _hub_docs(lang) if corpus is None else _local_docs(str(corpus), lang)
        scores, ids = top_k(query_vectors,
                            _corpus_embeddings(docs, docids, encoder, cache, batch_size, progress, lang),
                            RUN_DEPTH, device=search_device)
        if not docids:
            raise MtqaError(f"MIRACL corpus for '{lang}' is empty")
        run = {q: {docids[j]: float(s) for s, j in zip(scores[i], ids[i])} for i, q in enumerate(qids)}
        measured = _scores(qrels, run)
        per_lang[lang] = MiraclLanguage(ndcg_at_10=measured["nDCG@10"], recall_at_100=measured["R@100"],
                                        queries=len(qids), corpus_size=len(docids))
    macro = MiraclScores(ndcg_at_10=float(np.mean([r.ndcg_at_10 for r in per_lang.values()])),
                         recall_at_100=float(np.mean([r.recall_at_100 for r in per_lang.values()])))
    return MiraclResult(per_lang=per_lang, macro=macro, model=label, encoder=getattr(encoder, "name", repr(encoder)),
                        mtqa_version=__version__, topics_dir=str(topics_dir),
                        corpus=None if corpus is None else str(corpus))
