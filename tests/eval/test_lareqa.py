"""The LAReQA loader and evaluation: real XQuAD-R, a hand-checked MLQA-style toy, bad files,
and every measure cross-checked against ir_measures (pytrec_eval) on real data."""

import json

import ir_measures
import numpy as np
import pytest
from ir_measures import AP, R

from mtqa.errors import MtqaError
from mtqa.eval import lexical
from mtqa.eval.encoders import load_encoder
from mtqa.eval.lareqa import encode_unique, evaluate_lareqa, load_lareqa, summarise
from mtqa.eval.records import LareqaResult
from mtqa.eval.metrics import average_precision, recall_at, relevant_ranks

XQUAD_R_CANDIDATES = {"ar": 1222, "de": 1276, "el": 1234, "en": 1180, "es": 1215, "hi": 1244, "ru": 1219,
                      "th": 852, "tr": 1167, "vi": 1209, "zh": 1196}


def write_lang(folder, lang, paragraphs):
    """paragraphs: [(sentences, [(qid, question, answer sentence index), ...]), ...] -> <folder>/<lang>.json"""
    out = []
    for sentences, qas in paragraphs:
        context, breaks = "", []
        for s in sentences:
            if context:
                context += " "
            breaks.append([len(context), len(context) + len(s)])
            context += s
        out.append({"context": context, "sentences": sentences, "sentence_breaks": breaks,
                    "qas": [{"id": qid, "question": q, "answers": [{"answer_start": breaks[a][0] + 1, "text": "x"}]}
                            for qid, q, a in qas]})
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{lang}.json").write_text(json.dumps({"version": "1.1", "data": [{"title": "T", "paragraphs": out}]}),
                                         encoding="utf-8")


def key_vectors(texts):
    """One-hot on the key K1/K2/K3 in the text (a fourth dimension for texts without one)."""
    out = np.zeros((len(texts), 4), np.float32)
    for i, t in enumerate(texts):
        out[i, next((k for k in range(3) if f"K{k + 1}" in t), 3)] = 1.0
    return out


@pytest.fixture
def toy(tmp_path):
    # MLQA-style: q1 is in en, de, es; q2 only in en and de; q3 only in en and es. The en answer
    # sentence of q3 is repeated word for word in another paragraph, which has no question.
    write_lang(tmp_path, "en", [(["Alpha K1 fact.", "Filler one."], [("q1", "Question K1?", 0)]),
                                (["Beta K2 fact.", "Echo K3 repeated."], [("q2", "Question K2?", 0),
                                                                          ("q3", "Question K3?", 1)]),
                                (["Echo K3 repeated.", "Filler two."], [])])
    write_lang(tmp_path, "de", [(["Alpha K1 Tatsache.", "Füller."], [("q1", "Frage K1?", 0)]),
                                (["Beta K2 Tatsache."], [("q2", "Frage K2?", 0)])])
    write_lang(tmp_path, "es", [(["Alpha K1 hecho.", "Relleno."], [("q1", "Pregunta K1?", 0)]),
                                (["Eco K3 repetido."], [("q3", "Pregunta K3?", 0)])])
    return tmp_path


def test_toy_relevance_settings_and_bias_by_hand(toy):
    data = load_lareqa(toy, "mlqa-r", langs=["en", "de", "es"])
    questions, qlang, candidates, blocks, relevant = data.pooled()
    assert blocks == [(0, 6), (6, 9), (9, 12)]
    assert candidates[2:4] == ["Beta K2 fact.", "Echo K3 repeated."] and candidates[4] == candidates[3]
    # en q1, q2, q3; de q1, q2; es q1, q3 -> pooled positions of the relevant candidate per language
    assert relevant.tolist() == [[0, 6, 9], [2, 8, -1], [3, -1, 11],
                                 [0, 6, 9], [2, 8, -1],
                                 [0, 6, 9], [3, -1, 11]]
    result = evaluate_lareqa(load_encoder(key_vectors, name="keys"), data)
    assert isinstance(result, LareqaResult) and result.model is None and result.label == result.encoder
    s = result.settings
    # en-en: q1, q2 at rank 1; q3 ties with its irrelevant copy -> rank 2 (pessimistic)
    assert s["en-en"].mean_ap == pytest.approx((1 + 1 + 0.5) / 3) and s["en-en"].queries == 3
    assert s["en-en"].recall_at_1 == pytest.approx(2 / 3)
    assert (s["en-de"].queries, s["en-es"].queries, s["de-es"].queries, s["es-de"].queries) == (2, 2, 1, 1)
    assert s["en-de"].mean_ap == 1.0 and s["es-en"].mean_ap == pytest.approx((1 + 0.5) / 2)
    multi = result.pooled
    # en q3 pooled: the irrelevant copy first, then its en and es answers at ranks 2 and 3
    q3 = (1 / 2 + 2 / 3) / 2
    assert multi["en"].mean_ap == pytest.approx((1 + 1 + q3) / 3)
    assert multi["en"].rank_distance == pytest.approx((2 + 1 + 1) / 3)  # q1: ranks 1-3; q2: 1-2; q3: 2-3
    assert multi["de"].rank_distance == 1.5 and multi["es"].rank_distance == 1.5
    assert result.rank_distance == pytest.approx((4 / 3 + 1.5 + 1.5) / 3)
    assert result.cross.count == 6
    assert result.per_lang["de"].mono_mean_ap == 1.0
    # the JSON layout of <benchmark>.json, and back
    d = result.to_dict()
    assert d["settings"]["en-en"]["mAP"] == s["en-en"].mean_ap and d["macro"]["cross"]["settings"] == 6
    assert d["multilingual"]["per_lang"]["en"]["rank_distance"] == multi["en"].rank_distance
    assert d["matrices"]["mAP"][0][1] == s["en-de"].mean_ap and "model" not in d
    assert LareqaResult.from_dict(d) == result


@pytest.fixture(scope="module")
def xquad_r(xquad_r_dir):
    return load_lareqa(xquad_r_dir, "xquad-r")


def test_real_xquad_r_sizes_and_answer_sentences(xquad_r, xquad_r_dir):
    data = xquad_r
    assert data.langs == tuple(sorted(XQUAD_R_CANDIDATES))
    for lang, d in data.by_lang.items():
        assert len(d.questions) == 1190 and len(d.candidates) == XQUAD_R_CANDIDATES[lang], lang
        assert set(d.question_ids) == set(data.by_lang["en"].question_ids)
        raw = json.loads(d.path.read_text(encoding="utf-8"))
        answers = [q["answers"][0]["text"] for a in raw["data"] for p in a["paragraphs"] for q in p["qas"]]
        inside = sum(a in d.candidates[i] for a, i in zip(answers, d.answers))
        assert inside >= 0.98 * 1190, (lang, inside)  # the rest are answers that cross a sentence break
    en = data.by_lang["en"]
    assert "308" in en.candidates[en.answers[en.question_ids.index("56beb4343aeaaa14008c925b")]]
    # candidates are (paragraph, sentence) items: zh repeats a few sentence texts, and keeps them
    zh = data.by_lang["zh"]
    assert len(set(zh.candidates)) < len(zh.candidates) == len(set(zh.candidate_keys))
    limited = load_lareqa(xquad_r_dir, "xquad-r", langs=["de", "en"], limit=3)
    raw_en = json.loads(en.path.read_text(encoding="utf-8"))["data"][0]["paragraphs"][:3]
    assert limited.langs == ("de", "en")
    assert limited.by_lang["en"].candidates == tuple(s for p in raw_en for s in p["sentences"])
    assert limited.by_lang["en"].question_ids == tuple(q["id"] for p in raw_en for q in p["qas"])
    assert {k[0] for k in limited.by_lang["en"].candidate_keys} == {0, 1, 2}


def hashed_trigrams(texts):
    """A deterministic cheap encoder with many exact ties (e.g. 0 across scripts)."""
    return lexical.hashed_trigrams(texts, dim=256)


NAMES = np.array([[f"{tag}-{j:05d}" for j in range(20_000)] for tag in (1, 0)])  # [0]: irrelevant, [1]: relevant


def trec_run(scores, relevant_local):
    """A run that trec_eval orders exactly as mtqa does: it breaks ties by document id, descending,
    so relevant documents are named '0-…' and irrelevant ones '1-…' (irrelevant first on ties).
    Documents below both the lowest relevant score and the 10th-best score change no AP or R@≤10,
    and are left out to keep the run small."""
    relevant_local = np.asarray(relevant_local)
    cut = min(scores[relevant_local].min(), np.sort(scores)[-min(10, len(scores))])
    keep = np.flatnonzero(scores >= cut)
    is_rel = np.isin(keep, relevant_local).astype(int)
    run = dict(zip(NAMES[is_rel, keep].tolist(), scores[keep].tolist()))
    return run, {name: 1 for name in NAMES[1, relevant_local].tolist()}


def test_measures_match_ir_measures_on_real_xquad_r(xquad_r):
    data = xquad_r
    langs = list(data.langs)
    questions, qlang, candidates, blocks, relevant = data.pooled()
    first_of = {x: int(np.flatnonzero(qlang == i)[0]) for i, x in enumerate(langs)}
    # (query lang, corpus lang): mono, same-script and cross-script pairs, each over the first n
    # queries of its query language plus the 5 pooled ones; pooled: 5 queries per language.
    checks = [("en", "en"), ("zh", "zh"), ("en", "de"), ("th", "th"), ("es", "en"), ("ar", "en"), ("ru", "zh")]
    first_n = {"en": 1190, "zh": 300, "th": 200, "es": 200, "ar": 100, "ru": 100}
    pooled_queries = sorted(first_of[x] + k for x in langs for k in range(0, 1190, 238))
    chosen = sorted(set(pooled_queries) | {first_of[x] + k for x, n in first_n.items() for k in range(n)})
    encoder = load_encoder(hashed_trigrams, name="test-trigrams-256")
    q_vectors, q_rows = encode_unique(encoder, None, [questions[q] for q in chosen], "query", 4096, False)
    c_vectors, c_rows = encode_unique(encoder, None, candidates, "passage", 4096, False)
    scores_of: dict[int, np.ndarray] = {}

    def keep(first, scores):
        for k, row in enumerate(scores):
            scores_of[chosen[first + k]] = row.astype(np.float64)

    ranks = relevant_ranks(q_vectors[q_rows], c_vectors, relevant[chosen], blocks, candidate_rows=c_rows,
                           on_scores=keep)
    summary = summarise(data, ranks, qlang[chosen], blocks)
    position = {q: k for k, q in enumerate(chosen)}
    provider = ir_measures.providers.registry["pytrec_eval"]
    measures = [AP, R @ 1, R @ 10]
    worst = 0.0
    for x, y in checks:
        yi, (s, e) = langs.index(y), blocks[langs.index(y)]
        queries = [q for q in chosen if qlang[q] == langs.index(x)]
        qrels, run = {}, {}
        for q in queries:
            run[str(q)], qrels[str(q)] = trec_run(scores_of[q][s:e], [relevant[q, yi] - s])
        theirs = {(m.query_id, str(m.measure)): m.value for m in provider.iter_calc(measures, qrels, run)}
        for q in queries:
            mine = ranks.block[position[q], yi]
            worst = max(worst, abs(theirs[str(q), "AP"] - 1 / mine), abs(theirs[str(q), "R@1"] - (mine <= 1)),
                        abs(theirs[str(q), "R@10"] - (mine <= 10)))
        agg = provider.calc_aggregate(measures, qrels, run)  # the setting numbers mtqa reports are these means
        for m, name in zip(measures, ("mAP", "R@1", "R@10")):
            worst = max(worst, abs(agg[m] - summary.settings[f"{x}-{y}"].get(name)))
    # pooled: each query's 11 relevant candidates (one per language) among all 13,014 candidates
    qrels, run = {}, {}
    for q in pooled_queries:
        run[str(q)], qrels[str(q)] = trec_run(scores_of[q], relevant[q])
    theirs = {(m.query_id, str(m.measure)): m.value for m in provider.iter_calc(measures, qrels, run)}
    mine = ranks.pooled[[position[q] for q in pooled_queries]]
    ap, r1, r10 = average_precision(mine), recall_at(mine, 1), recall_at(mine, 10)
    for k, q in enumerate(pooled_queries):
        worst = max(worst, abs(theirs[str(q), "AP"] - ap[k]), abs(theirs[str(q), "R@1"] - r1[k]),
                    abs(theirs[str(q), "R@10"] - r10[k]))
    assert worst <= 1e-9
    # not vacuous: exact ties at zero across scripts push cross-script ranks deep; mono works a bit
    assert ranks.block[[position[q] for q in chosen if qlang[q] == langs.index("ar")], langs.index("en")].mean() > 100
    assert 0.1 < summary.settings["en-en"].mean_ap < 0.9


@pytest.mark.parametrize("content, message", [
    ("{not json", "malformed JSON"),
    ('{"version": "1"}', "missing field 'data'"),
    ('{"data": [{"paragraphs": [{"context": "A b.", "sentences": ["A b."], "qas": []}]}]}',
     "missing field 'sentence_breaks'"),
    ('{"data": [{"paragraphs": [{"context": "A b. C d.", "sentences": ["A b.", "C d."], "sentence_breaks": [[0, 4]],'
     ' "qas": []}]}]}', "2 sentences but 1 sentence_breaks"),
    ('{"data": [{"paragraphs": [{"context": "A b. C d.", "sentences": ["A b."], "sentence_breaks": [[0, 4]],'
     ' "qas": [{"id": "q", "question": "?", "answers": [{"answer_start": 7, "text": "d"}]}]}]}]}',
     "answer_start 7 lies in no sentence span"),
    ('{"data": [{"paragraphs": [{"context": "A b.", "sentences": ["A b."], "sentence_breaks": [[0, 4]],'
     ' "qas": [{"id": "q", "question": "?", "answers": [{"answer_start": 0}]},'
     ' {"id": "q", "question": "?", "answers": [{"answer_start": 0}]}]}]}]}', "appears twice"),
    ('{"data": [{"paragraphs": [{"context": "A b.", "sentences": ["A b."], "sentence_breaks": [[0, 4]],'
     ' "qas": [{"id": "q", "question": "?", "answers": []}]}]}]}', "has no answers"),
    ('{"data": []}', "no questions"),
])
def test_malformed_files_are_one_line_errors(tmp_path, content, message):
    (tmp_path / "en.json").write_text(content, encoding="utf-8")
    with pytest.raises(MtqaError, match=message) as e:
        load_lareqa(tmp_path, "xquad-r", langs=["en"])
    assert "\n" not in str(e.value)


def test_bad_languages_and_folders(toy, tmp_path):
    with pytest.raises(MtqaError, match="unknown language code 'xx'"):
        load_lareqa(toy, "mlqa-r", langs=["en", "xx"])
    with pytest.raises(MtqaError, match="mlqa-r has no language 'ru'"):
        load_lareqa(toy, "mlqa-r", langs=["ru"])
    with pytest.raises(MtqaError, match="missing file .*ar.json"):
        load_lareqa(toy, "mlqa-r")
    with pytest.raises(MtqaError, match="needs --data"):
        load_lareqa(None, "mlqa-r")
    with pytest.raises(MtqaError, match=r"xquad-r needs --data DIR: .*github.com/google-research-datasets/lareqa") as e:
        load_lareqa(None, "xquad-r")  # no default folder: library code does not know where a checkout is
    assert "\n" not in str(e.value)
    with pytest.raises(MtqaError, match="data folder not found"):
        load_lareqa(tmp_path / "nowhere", "xquad-r")
    with pytest.raises(MtqaError, match="unknown LAReQA benchmark"):
        load_lareqa(toy, "xquad")
