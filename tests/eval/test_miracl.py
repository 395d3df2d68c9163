"""MIRACL: reading the real topics/qrels, validation, and evaluate_miracl end to end against pytrec_eval."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

from mtqa.errors import MtqaError
from mtqa.eval.embedding_cache import EmbeddingCache
from mtqa.eval.encoders import load_encoder
from mtqa.eval.miracl import available_langs, evaluate_miracl, read_qrels, read_topics
from mtqa.eval.records import MiraclResult, MiraclScores


def hashed_words(texts: list[str]) -> np.ndarray:
    """A cheap deterministic encoder: hashed bag of lower-cased words, 512 dimensions."""
    out = np.zeros((len(texts), 512), dtype=np.float32)
    for i, text in enumerate(texts):
        for word in text.lower().split():
            out[i, int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "little") % 512] += 1.0
    out[:, 0] += 1e-3  # no all-zero rows
    return out


def miracl_dir(shared_data: Path) -> Path:
    folder = shared_data / "miracl-topics-qrels"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    return folder


def nonblank_lines(path: Path) -> int:
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


@pytest.mark.parametrize("lang", ["sw", "yo", "de", "ja"])
def test_real_topics_and_qrels_read_completely(shared_data, lang):
    folder = miracl_dir(shared_data)
    topics_file = folder / f"topics.miracl-v1.0-{lang}-dev.tsv"
    qrels_file = folder / f"qrels.miracl-v1.0-{lang}-dev.tsv"
    topics, qrels = read_topics(topics_file), read_qrels(qrels_file)
    assert len(topics) == nonblank_lines(topics_file)
    assert sum(len(j) for j in qrels.values()) == nonblank_lines(qrels_file)
    assert set(qrels) == set(topics)
    assert all(any(r > 0 for r in judged.values()) for judged in qrels.values())
    assert set(available_langs(folder)) >= {"sw", "yo", "de", "ja", "en", "zh"}


def test_sw_counts_match_miracl(shared_data):
    folder = miracl_dir(shared_data)
    assert len(read_topics(folder / "topics.miracl-v1.0-sw-dev.tsv")) == 482
    assert read_topics(folder / "topics.miracl-v1.0-sw-dev.tsv")["6"] == "Bandari kubwa nchini Kenya iko wapi?"
    assert read_qrels(folder / "qrels.miracl-v1.0-sw-dev.tsv")["6"]["32589#0"] == 1


@pytest.mark.parametrize("line, kind, match", [
    ("1 Q0 doc", "qrels", "malformed qrels line"),
    ("1 Q0 doc high", "qrels", "malformed qrels line"),
    ("1\tQ0\tdoc\t1\textra", "qrels", "malformed qrels line"),
    ("just-a-query-without-id", "topics", "malformed topic line"),
    ("1\t", "topics", "malformed topic line"),
    ("1\ta\tb", "topics", "malformed topic line"),
])
def test_malformed_lines_are_one_line_errors(tmp_path, line, kind, match):
    path = tmp_path / f"{kind}.tsv"
    good = "1 Q0 d1 1\n" if kind == "qrels" else "1\tquestion\n"
    path.write_text(good + line + "\n", encoding="utf-8")
    reader = read_qrels if kind == "qrels" else read_topics
    with pytest.raises(MtqaError, match=match) as info:
        reader(path)
    assert f"{path}:2:" in str(info.value) and "\n" not in str(info.value)


def write_tiny(folder: Path, topics: dict, qrels: list[tuple], docs: list[dict], lang: str = "sw") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"topics.miracl-v1.0-{lang}-dev.tsv").write_text("".join(f"{q}\t{t}\n" for q, t in topics.items()))
    (folder / f"qrels.miracl-v1.0-{lang}-dev.tsv").write_text("".join(f"{q} Q0 {d} {r}\n" for q, d, r in qrels))
    corpus = folder / f"corpus-{lang}.jsonl"
    corpus.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    return corpus


def test_hand_checked_tiny_case(tmp_path):
    vectors = {"q1": [1, 0, 0], "q2": [0, 1, 0], "q3": [0, 0, 1],
               "d1": [0.9, 0.1, 0], "d3": [0.5, 0.8, 0], "d2": [0.2, 0, 0.9]}

    def lookup(texts):
        return np.array([vectors[t] for t in texts], dtype=np.float32)

    docs = [{"docid": d, "title": "", "text": d} for d in ("d1", "d2", "d3")]
    qrels = [("1", "d1", 1), ("1", "d2", 1), ("2", "d3", 1), ("3", "d1", 0)]
    corpus = write_tiny(tmp_path, {"1": "q1", "2": "q2", "3": "q3", "4": "unjudged"}, qrels, docs)
    result = evaluate_miracl(load_encoder(lookup), langs=["sw"], topics_dir=tmp_path, corpus=str(corpus), cache=None)
    # q1 ranks d1 (rel), d3, d2 (rel): DCG = 1 + 1/log2(4); ideal = 1 + 1/log2(3). q2: d3 first -> 1.
    # q3 has judgements but nothing relevant: 0, counted. "4" has no judgements: not evaluated.
    ndcg_q1 = 1.5 / (1 + 1 / math.log2(3))
    sw = result.per_lang["sw"]
    assert sw.queries == 3 and sw.corpus_size == 3
    assert sw.ndcg_at_10 == pytest.approx((ndcg_q1 + 1 + 0) / 3)
    assert sw.recall_at_100 == pytest.approx(2 / 3)
    assert result.macro == MiraclScores(ndcg_at_10=sw.ndcg_at_10, recall_at_100=sw.recall_at_100)
    d = result.to_dict()
    assert d["per_lang"]["sw"] == {"nDCG@10": sw.ndcg_at_10, "R@100": sw.recall_at_100, "queries": 3, "corpus_size": 3}
    assert d["macro"] == {"nDCG@10": sw.ndcg_at_10, "R@100": sw.recall_at_100}
    assert d["data"] == {"topics_dir": str(tmp_path), "corpus": str(corpus)} and d["benchmark"] == "miracl"
    assert MiraclResult.from_dict(d) == result


def test_end_to_end_on_real_topics_matches_pytrec_eval(shared_data, tmp_path):
    pytrec_eval = pytest.importorskip("pytrec_eval")
    folder = miracl_dir(shared_data)
    topics = read_topics(folder / "topics.miracl-v1.0-sw-dev.tsv")
    qrels = read_qrels(folder / "qrels.miracl-v1.0-sw-dev.tsv")
    qids = list(qrels)[:40]
    rng = np.random.default_rng(0)
    vocabulary = sorted({w for q in qids for w in topics[q].split()})
    docs, seen = [], set()
    for n, q in enumerate(qids):
        for docid, rel in qrels[q].items():
            if docid in seen:
                continue
            seen.add(docid)
            words = list(rng.choice(vocabulary, 8))
            if rel > 0 and n % 3:  # two thirds of the queries: relevant passages contain the question
                words = topics[q].split() + words
            docs.append({"docid": docid, "title": "Kichwa", "text": " ".join(words)})
    docs += [{"docid": f"noise#{i}", "title": "", "text": " ".join(rng.choice(vocabulary, 6))} for i in range(300)]
    sub = tmp_path / "miracl"
    corpus = write_tiny(sub, {q: topics[q] for q in qids}, [(q, d, r) for q in qids for d, r in qrels[q].items()], docs)

    encoder = load_encoder(hashed_words, name="hashed-words")
    cache = EmbeddingCache(tmp_path / "cache")
    result = evaluate_miracl(encoder, langs=["sw"], topics_dir=sub, corpus=str(sub / "corpus-{lang}.jsonl"),
                             cache=cache, batch_size=50)
    sw = result.per_lang["sw"]
    assert sw.queries == 40 and sw.corpus_size == len(docs)

    # independently: full score matrix, top 100 per query, trec_eval measures through pytrec_eval
    passages = encoder.encode([f"{d['title']} {d['text']}".strip() for d in docs], "passage")
    queries = encoder.encode([topics[q] for q in qids], "query")
    scores = queries @ passages.T
    run = {q: {docs[j]["docid"]: float(scores[i, j]) for j in np.argsort(-scores[i], kind="stable")[:100]}
           for i, q in enumerate(qids)}
    evaluator = pytrec_eval.RelevanceEvaluator({q: qrels[q] for q in qids}, {"ndcg_cut.10", "recall.100"})
    per_query = evaluator.evaluate(run)
    assert sw.ndcg_at_10 == pytest.approx(np.mean([m["ndcg_cut_10"] for m in per_query.values()]), abs=1e-9)
    assert sw.recall_at_100 == pytest.approx(np.mean([m["recall_100"] for m in per_query.values()]), abs=1e-9)
    assert 0.3 < sw.ndcg_at_10 < 0.95  # the planted two thirds are found, the rest mostly not

    assert len(list((tmp_path / "cache").glob("*/passage/shard-*.npz"))) == 1
    again = evaluate_miracl(encoder, langs=["sw"], topics_dir=sub, corpus=str(corpus), cache=cache)
    assert (again.per_lang, again.macro, again.corpus) == (result.per_lang, result.macro, str(corpus))


def test_bad_requests_are_one_line_errors(tmp_path):
    corpus = write_tiny(tmp_path, {"1": "q"}, [("1", "d1", 1)], [{"docid": "d1", "title": "", "text": "q"}])
    enc = load_encoder(hashed_words)
    with pytest.raises(MtqaError, match="unknown MIRACL language 'xx'"):
        evaluate_miracl(enc, langs=["xx"], topics_dir=tmp_path, corpus=str(corpus), cache=None)
    with pytest.raises(MtqaError, match="MIRACL topics for 'fi'"):
        evaluate_miracl(enc, langs=["fi"], topics_dir=tmp_path, corpus=str(corpus), cache=None)
    with pytest.raises(MtqaError, match=r"put '\{lang\}'"):
        evaluate_miracl(enc, langs=["sw", "fi"], topics_dir=tmp_path, corpus=str(corpus), cache=None)
    corpus.write_text('{"docid": "d1", "title": "", "text": "q"}\n{"docid": "d2", "text": 5}\n')
    with pytest.raises(MtqaError, match=r"corpus-sw.jsonl:2: a corpus line needs"):
        evaluate_miracl(enc, langs=["sw"], topics_dir=tmp_path, corpus=str(corpus), cache=None)
    corpus.write_text('{"docid": "d1", "title": "", "text": "q"}\n{"docid": \n')
    with pytest.raises(MtqaError, match=r"corpus-sw.jsonl:2: not valid JSON"):
        evaluate_miracl(enc, langs=["sw"], topics_dir=tmp_path, corpus=str(corpus), cache=None)
    corpus.write_text('{"docid": "d1", "title": "", "text": "q"}\n{"docid": "d1", "title": "", "text": "r"}\n')
    with pytest.raises(MtqaError, match="duplicate docid 'd1'"):
        evaluate_miracl(enc, langs=["sw"], topics_dir=tmp_path, corpus=str(corpus), cache=None)
    with pytest.raises(MtqaError, match="not found"):
        evaluate_miracl(enc, langs=["sw"], topics_dir=tmp_path, corpus=str(tmp_path / "none-{lang}.jsonl"), cache=None)


def test_hub_corpus_unreachable_is_one_line_error(shared_data):
    datasets = pytest.importorskip("datasets")
    if not datasets.config.HF_HUB_OFFLINE:
        pytest.skip("set HF_HUB_OFFLINE=1: this test checks the error when the Hub corpus cannot be streamed")
    with pytest.raises(MtqaError, match=r"cannot stream miracl/miracl-corpus \(yo\)") as info:
        evaluate_miracl(load_encoder(hashed_words), langs=["yo"], topics_dir=miracl_dir(shared_data), corpus=None,
                        cache=None)
    assert "\n" not in str(info.value)
