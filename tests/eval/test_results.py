"""The typed result records, the reports written from them and evaluate_and_write: the JSON
layout, reading it back, one-line errors for bad files, and a heatmap that leaves the
caller's matplotlib backend alone."""

from __future__ import annotations

import json
import sys

import matplotlib
import pytest

from mtqa.errors import MtqaError
from mtqa.eval.miracl import available_langs, evaluate_miracl
from mtqa.eval.records import LareqaResult, MiraclResult, load_result, result_from_dict
from mtqa.eval.results import (
    evaluate_and_write,
    lareqa_markdown,
    lareqa_summary_table,
    summary_markdown,
    write_heatmap,
)
from tests.eval.test_lareqa import key_vectors, write_lang
from tests.eval.test_miracl import write_tiny


@pytest.fixture
def toy_dir(tmp_path):
    # MLQA-style, with an es question that no other language has (so some settings are empty)
    folder = tmp_path / "toy"
    write_lang(folder, "en", [(["Alpha K1 fact.", "Filler one."], [("q1", "Question K1?", 0)]),
                              (["Beta K2 fact.", "Echo K3 repeated."], [("q2", "Question K2?", 0),
                                                                        ("q3", "Question K3?", 1)])])
    write_lang(folder, "de", [(["Alpha K1 Tatsache.", "Füller."], [("q1", "Frage K1?", 0)])])
    write_lang(folder, "es", [(["Alpha K4 hecho.", "Relleno."], [("q4", "Pregunta K4?", 0)])])
    return folder


@pytest.fixture
def toy_result(toy_dir, tmp_path):
    result, paths = evaluate_and_write(key_vectors, "mlqa-r", tmp_path / "out", data=toy_dir, langs=["en", "de", "es"],
                                      label="keys")
    return result, paths


def test_evaluate_and_write_returns_the_record_it_wrote(toy_result, tmp_path):
    result, paths = toy_result
    assert isinstance(result, LareqaResult) and result.model == "keys"
    assert [p.name for p in paths] == ["mlqa-r.json", "mlqa-r.md", "mlqa-r-mAP.png"]
    written = json.loads(paths[0].read_text(encoding="utf-8"))
    assert written == result.to_dict()
    assert set(written) == {"model", "benchmark", "encoder", "mtqa_version", "tie_rule", "data", "langs", "settings",
                            "matrices", "multilingual", "per_lang", "macro", "seconds"}
    assert set(written["macro"]) == {"mono", "cross", "multi", "rank_distance"}
    assert written["macro"]["multi"]["langs"] == 3 and written["macro"]["cross"]["settings"] == 2
    assert written["settings"]["es-en"] == {"query_lang": "es", "corpus_lang": "en", "queries": 0, "candidates": 4,
                                            "mAP": None, "R@1": None, "R@10": None}
    assert written["per_lang"]["es"]["cross_mAP"] is None and written["matrices"]["mAP"][2][0] is None
    assert set(written["multilingual"]["per_lang"]["en"]) == {"queries", "mAP", "R@1", "R@10", "relevant_per_query",
                                                              "rank_distance", "rank_distance_queries"}
    assert set(written["data"]["files"]["de"]) == {"file", "sha256", "questions", "candidates"}
    back = load_result(paths[0])
    assert back == result and LareqaResult.load(paths[0]) == result
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_markdown_and_summary_tables(toy_result):
    result, paths = toy_result
    md = paths[1].read_text(encoding="utf-8")
    assert md == lareqa_markdown(result)
    assert md.startswith("# MLQA-R: keys\n\n3 languages (en, de, es); 3 monolingual and 2 cross-lingual settings;")
    assert "| es | – | – | 0.500 |" in md  # the mAP matrix row of es: its question ties with "Relleno."
    row = result.summary_row()
    assert row == {"model": "keys", "mono mAP": result.mono.mean_ap, "cross mAP": result.cross.mean_ap,
                   "multi mAP": result.multi.mean_ap, "rank distance": result.rank_distance}
    table = lareqa_summary_table([result])
    assert table.splitlines()[2] == (f"| keys | {result.mono.mean_ap:.3f} | {result.cross.mean_ap:.3f} | "
                                     f"{result.multi.mean_ap:.3f} | {result.rank_distance:,.0f} |")
    assert table in md


def test_summary_markdown_groups_results_by_benchmark(toy_result, tmp_path):
    lareqa, _ = toy_result
    corpus = write_tiny(tmp_path / "m", {"1": "alpha"}, [("1", "d1", 1)], [{"docid": "d1", "title": "", "text": "a"}])
    miracl = evaluate_miracl(key_vectors_encoder(), langs=["sw"], topics_dir=tmp_path / "m", corpus=str(corpus),
                             cache=None, label="keys")
    other = result_from_dict({**lareqa.to_dict(), "model": "other"})
    md = summary_markdown([lareqa, miracl, other])
    assert md.startswith("### MLQA-R\n\n| model | mono mAP | cross mAP | multi mAP | rank distance |")
    assert md.index("| keys |") < md.index("| other |") < md.index("### MIRACL")
    assert "| model | nDCG@10 | R@100 |\n|---|---|---|\n| keys | 1.000 | 1.000 |" in md
    assert summary_markdown([miracl], heading_level=2).startswith("## MIRACL\n")


def key_vectors_encoder():
    from mtqa.eval.encoders import load_encoder

    return load_encoder(key_vectors, name="keys")


def test_heatmap_leaves_the_backend_and_pyplot_alone(toy_result, tmp_path, monkeypatch):
    result, _ = toy_result
    had_pyplot = "matplotlib.pyplot" in sys.modules
    backend = dict.__getitem__(matplotlib.rcParams, "backend")  # the raw value: reading it resolves nothing

    def no_switch(*args, **kwargs):
        raise AssertionError("library code switched the matplotlib backend")

    monkeypatch.setattr(matplotlib, "use", no_switch)
    write_heatmap(tmp_path / "h.png", result, measure="R@10")
    assert (tmp_path / "h.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert ("matplotlib.pyplot" in sys.modules) == had_pyplot
    assert dict.__getitem__(matplotlib.rcParams, "backend") == backend


@pytest.mark.parametrize("change, message", [
    (lambda d: d.pop("settings"), "missing key 'settings'"),
    (lambda d: d["settings"].pop("en-de"), "settings has no 'en-de'"),
    (lambda d: d["macro"]["mono"].update(mAP="high"), "macro.mono: 'mAP' has the wrong type"),
    (lambda d: d["data"]["files"]["en"].pop("sha256"), "data.files.en: missing key 'sha256'"),
    (lambda d: d.update(benchmark="xquad"), "unknown benchmark 'xquad'"),
    (lambda d: d.update(model=3), "'model' has the wrong type"),
])
def test_bad_result_files_are_one_line_errors(toy_result, tmp_path, change, message):
    result, _ = toy_result
    d = result.to_dict()
    change(d)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(d), encoding="utf-8")
    with pytest.raises(MtqaError, match=message) as info:
        load_result(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_unreadable_result_files_are_one_line_errors(tmp_path):
    with pytest.raises(MtqaError, match="cannot read"):
        load_result(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(MtqaError, match="malformed JSON"):
        MiraclResult.load(tmp_path / "bad.json")
    (tmp_path / "x.json").write_text('{"benchmark": "xquad-r"}', encoding="utf-8")
    with pytest.raises(MtqaError, match="is not 'miracl'"):
        MiraclResult.load(tmp_path / "x.json")


def test_data_is_required_and_says_where_to_get_it(tmp_path):
    for benchmark, where in (("xquad-r", "google-research-datasets/lareqa"),
                             ("mlqa-r", "then --data lareqa/mlqa-dev-r,"),
                             ("miracl", "huggingface.co/datasets/miracl/miracl")):
        with pytest.raises(MtqaError, match=f"{benchmark} needs --data DIR") as info:
            evaluate_and_write(key_vectors, benchmark, tmp_path / "out")
        assert where in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()


def test_miracl_reads_a_clone_of_the_hub_dataset(tmp_path):
    # huggingface.co/datasets/miracl/miracl keeps miracl-v1.0-{lang}/topics/ and .../qrels/
    for lang in ("sw", "yo"):
        base = tmp_path / f"miracl-v1.0-{lang}"
        (base / "topics").mkdir(parents=True)
        (base / "qrels").mkdir()
        (base / "topics" / f"topics.miracl-v1.0-{lang}-dev.tsv").write_text("1\tK1 swali\n", encoding="utf-8")
        (base / "qrels" / f"qrels.miracl-v1.0-{lang}-dev.tsv").write_text("1 Q0 d1 1\n", encoding="utf-8")
    assert available_langs(tmp_path) == ["sw", "yo"]
    corpus = tmp_path / "corpus-{lang}.jsonl"
    for lang in ("sw", "yo"):
        (tmp_path / f"corpus-{lang}.jsonl").write_text('{"docid": "d1", "title": "", "text": "K1"}\n'
                                                       '{"docid": "d2", "title": "", "text": "K2"}\n')
    result, paths = evaluate_and_write(key_vectors, "miracl", tmp_path / "out", data=tmp_path, corpus=str(corpus))
    assert sorted(result.per_lang) == ["sw", "yo"] and result.macro.ndcg_at_10 == 1.0
    assert load_result(paths[0]) == result
