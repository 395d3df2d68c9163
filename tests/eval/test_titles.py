"""`mtqa eval --titles`: queries and candidates restricted to some articles, checked against a
brute-force computation on that subset."""

import json
import zlib

import numpy as np
import pytest
from click.testing import CliRunner

from mtqa.cli import main
from mtqa.eval.encoders import load_encoder
from mtqa.eval.lareqa import evaluate_lareqa, load_lareqa

# title -> (en sentences, de sentences, [(qid, en question, de question, answer sentence)])
ARTICLES = {
    "Alps": (["The Alps are high.", "Snow lies on the Alps."], ["Die Alpen sind hoch.", "Schnee liegt auf den Alpen."],
             [("a1", "How high are the Alps?", "Wie hoch sind die Alpen?", 0),
              ("a2", "What lies on the Alps?", "Was liegt auf den Alpen?", 1)]),
    "Rhine": (["The Rhine is a river.", "It flows north."], ["Der Rhein ist ein Fluss.", "Er fließt nach Norden."],
              [("r1", "Where does the Rhine flow?", "Wohin fließt der Rhein?", 1)]),
    "Bread": (["Bread is baked.", "Flour makes bread."], ["Brot wird gebacken.", "Mehl macht Brot."],
              [("b1", "What makes bread?", "Was macht Brot?", 1), ("b2", "Is bread baked?", "Wird Brot gebacken?", 0)]),
    "Paris": (["Paris is a city.", "The river Seine runs through Paris."],
              ["Paris ist eine Stadt.", "Die Seine fließt durch Paris."],
              [("p1", "Which river runs through Paris?", "Welcher Fluss fließt durch Paris?", 1)]),
}
KEPT = ["Rhine", "Paris"]


def write_lareqa(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for lang, side in (("en", 0), ("de", 1)):
        data = []
        for title, (en, de, qas) in ARTICLES.items():
            sentences = (en, de)[side]
            context, breaks = "", []
            for s in sentences:
                context += " " if context else ""
                breaks.append([len(context), len(context) + len(s)])
                context += s
            data.append({"title": title, "paragraphs": [{
                "context": context, "sentences": sentences, "sentence_breaks": breaks,
                "qas": [{"id": qid, "question": (q_en, q_de)[side],
                         "answers": [{"text": "x", "answer_start": breaks[a][0]}]} for qid, q_en, q_de, a in qas]}]})
        (folder / f"{lang}.json").write_text(json.dumps({"version": "1.1", "data": data}), encoding="utf-8")
    return folder


def bag_of_words(texts):
    """Deterministic vectors: each lower-cased word adds a fixed pseudo-random vector."""
    out = np.zeros((len(texts), 64), np.float32)
    for i, text in enumerate(texts):
        for word in text.lower().replace("?", "").replace(".", "").split():
            out[i] += np.random.default_rng(zlib.crc32(word.encode())).standard_normal(64)
    return out


def brute_force_map(folder, titles, encode):
    """mAP per (query language, candidate language) over the titled articles, by hand: every
    candidate of the pool scored, the answer sentence ranked pessimistically among them."""
    langs = ("en", "de")
    pools, queries = {}, {}
    for lang in langs:
        doc = json.loads((folder / f"{lang}.json").read_text(encoding="utf-8"))
        sentences, qs = [], {}
        for article in doc["data"]:
            if article["title"] not in titles:
                continue
            for par in article["paragraphs"]:
                base = len(sentences)
                sentences += par["sentences"]
                for qa in par["qas"]:
                    start = qa["answers"][0]["answer_start"]
                    answer = next(i for i, (a, b) in enumerate(par["sentence_breaks"]) if a <= start < b)
                    qs[qa["id"]] = (qa["question"], base + answer)
        pools[lang], queries[lang] = sentences, qs
    out = {}
    for x in langs:
        for y in langs:
            cand = encode(pools[y], "passage")
            cand /= np.linalg.norm(cand, axis=1, keepdims=True)
            aps = []
            for qid, (question, _) in queries[x].items():
                q = encode([question], "query")[0]
                scores = cand @ (q / np.linalg.norm(q))
                relevant = queries[y][qid][1]
                rank = 1 + int((scores > scores[relevant]).sum()) + int((scores == scores[relevant]).sum()) - 1
                aps.append(1.0 / rank)
            out[f"{x}-{y}"] = (float(np.mean(aps)), len(aps), len(pools[y]))
    return out


def test_titles_restrict_queries_and_candidates_and_agree_with_brute_force(tmp_path):
    folder = write_lareqa(tmp_path / "xquad-r")
    encoder = load_encoder(bag_of_words, name="bow")
    data = load_lareqa(folder, "xquad-r", langs=["en", "de"], titles=KEPT)
    assert data.titles == ("Rhine", "Paris")
    assert [len(d.questions) for d in data.by_lang.values()] == [2, 2]
    result = evaluate_lareqa(encoder, data)
    assert result.titles == ("Rhine", "Paris")
    saved = result.to_dict()
    assert saved["data"]["titles"] == ["Rhine", "Paris"]
    assert type(result).from_dict(saved).titles == ("Rhine", "Paris")
    expected = brute_force_map(folder, set(KEPT), lambda texts, kind: bag_of_words(list(texts)))
    for setting, (m_ap, queries, candidates) in expected.items():
        got = result.settings[setting]
        assert (got.queries, got.candidates) == (queries, candidates)
        assert got.mean_ap == pytest.approx(m_ap)
    whole = evaluate_lareqa(encoder, load_lareqa(folder, "xquad-r", langs=["en", "de"]))
    assert whole.settings["en-en"].queries == 6 and whole.settings["en-en"].candidates == 8
    assert "no questions in the 1 titles asked for" in str(pytest.raises(
        Exception, load_lareqa, folder, "xquad-r", langs=["en"], titles=["Nowhere"]).value)


@pytest.mark.slow  # loads the tiny sentence-transformers model
def test_eval_cli_with_the_held_out_titles_of_a_build(tmp_path, tiny_st_dir):
    folder = write_lareqa(tmp_path / "xquad-r")
    build = tmp_path / "build"
    build.mkdir()
    (build / "manifest.json").write_text(json.dumps({"stages": {}, "sources": [{"title_split": {
        "fraction": 0.5, "seed": 0, "complement": False, "kept": ["Alps", "Bread"], "held_out": KEPT}}]}))
    result = CliRunner().invoke(main, ["eval", "--no-progress", "--model", str(tiny_st_dir), "--data", str(folder),
                                       "--langs", "en,de", "--titles", str(build), "--no-cache",
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert f"restricted to the 2 titles of {build}: queries and candidates of those articles only " \
           "(4 questions, 8 candidates over 2 languages)" in result.output
    saved = json.loads((tmp_path / "out" / "xquad-r.json").read_text(encoding="utf-8"))
    assert sorted(saved["data"]["titles"]) == sorted(KEPT)  # the saved result says it was restricted
    assert "**Restricted** to the 2 articles" in (tmp_path / "out" / "xquad-r.md").read_text(encoding="utf-8")
    encoder = load_encoder(str(tiny_st_dir))
    expected = brute_force_map(folder, set(KEPT), lambda texts, kind: encoder.encode(list(texts), kind))
    for setting, (m_ap, queries, candidates) in expected.items():
        assert saved["settings"][setting]["queries"] == queries
        assert saved["settings"][setting]["candidates"] == candidates
        assert saved["settings"][setting]["mAP"] == pytest.approx(m_ap, abs=1e-6)
