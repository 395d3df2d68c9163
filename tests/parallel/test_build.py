"""Builds from human-translated parallel QA: XQuAD without MT, SQuAD 2.0 joined with its
Portuguese translation, a split of XQuAD by title, human and machine rows mixed, and the
hybrid sampler pairing real translations."""

import json
from collections import Counter

import pytest
from click.testing import CliRunner

from mtqa.cli import main
from mtqa.config import load_pipeline
from mtqa.sampler import XY, HybridBatchSampler, HybridSamplerConfig
from tests.helpers import FakeTranslateStep, reverse_words
from tests.parallel.helpers import build, shards
from tests.readers.test_parallel import DE, EN, squad

XQUAD_LANGS = ["en", "ar", "de", "el", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh"]
# Language ID is what makes the filter slow, and not what these tests are about.
CHECKS = ["empty", "too_short", "length_ratio", "repetition", "copy", "answer_lost"]


def config(tmp_path, sources, **kw):
    return load_pipeline(None, sources=sources, out=str(tmp_path / "out"), **{"filter.checks": CHECKS, **kw})


def xquad_files(folder):
    """{(id, lang): (title, context, qa)} of the XQuAD files."""
    out = {}
    for lang in XQUAD_LANGS:
        for article in json.loads((folder / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"]:
            for p in article["paragraphs"]:
                for qa in p["qas"]:
                    out[(qa["id"], lang)] = (article["title"], p["context"], qa)
    return out


@pytest.fixture(scope="module")
def xquad_build(shared_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("xquad")
    manifest = build(config(out, [f"xquad:{shared_data / 'xquad'}"], mt=False, langs=["*"]))
    return out / "out", manifest, xquad_files(shared_data / "xquad")


@pytest.mark.slow  # a real build of 12k-14k rows: about 5 s on a quiet machine
def test_xquad_without_mt_is_twelve_languages_of_the_xquad_files_text(xquad_build):
    out, manifest, files = xquad_build
    rows = shards(out).to_pylist()
    assert Counter(r["lang"] for r in rows) == {lang: 1190 for lang in XQUAD_LANGS}
    assert all(len({r["id"] for r in rows if r["lang"] == lang}) == 1190 for lang in XQUAD_LANGS)
    for r in rows:
        title, context, qa = files[(r["id"].removeprefix("xquad:"), r["lang"])]
        assert (r["title"], r["question"], r["passage"]) == (title, qa["question"], context)
        assert r["answers"] == [{"text": a["text"], "answer_start": a["answer_start"]} for a in qa["answers"]]
        assert r["origin"] == ("source" if r["lang"] == "en" else "human")
    assert [(c.lang, c.source, c.human, c.mt, c.ids_missing) for c in manifest.origin_counts()] == [
        ("en", 1190, 0, 0, 0), *[(lang, 0, 1190, 0, 0) for lang in XQUAD_LANGS[1:]]]
    assert all((c.answers, c.indexed) == (1190, 1190) for c in manifest.span_counts())
    assert manifest.count("translate", "translated") == 0 and "translate" not in manifest.stages


@pytest.mark.slow  # a real build of 12k-14k rows: about 5 s on a quiet machine
def test_an_xy_batch_of_the_sampler_pairs_real_human_translations(xquad_build):
    out, _, files = xquad_build
    sampler = HybridBatchSampler(out, HybridSamplerConfig(batch_size=16, alpha=0.0, seed=0))
    batch = next(iter(sampler))
    assert batch.kind == XY and len(batch) == 16
    for rid, q, p, ql, pl in zip(batch.ids, batch.queries, batch.passages, batch.query_langs, batch.passage_langs,
                                 strict=True):
        assert ql != pl
        assert q == files[(rid.removeprefix("xquad:"), ql)][2]["question"]
        assert p == files[(rid.removeprefix("xquad:"), pl)][1]
    assert len(set(batch.ids)) == 16


def test_a_title_split_of_xquad_gives_two_halves_that_share_no_title(shared_data, tmp_path):
    spec = [f"xquad:{shared_data / 'xquad'}"]
    first = build(config(tmp_path / "a", spec, mt=False, langs=["de"], title_fraction=0.5, title_seed=1))
    second = build(config(tmp_path / "b", spec, mt=False, langs=["de"], title_fraction=0.5, title_seed=1,
                          title_complement=True))
    a, b = shards(tmp_path / "a" / "out"), shards(tmp_path / "b" / "out")
    titles_a, titles_b = set(a.column("title").to_pylist()), set(b.column("title").to_pylist())
    assert len(titles_a) == len(titles_b) == 24 and not titles_a & titles_b
    assert len(set(a.column("id").to_pylist()) | set(b.column("id").to_pylist())) == 1190
    assert not set(a.column("id").to_pylist()) & set(b.column("id").to_pylist())
    split_a, split_b = first.title_split(), second.title_split()
    assert set(split_a.kept) == titles_a and set(split_a.held_out) == titles_b
    assert (split_b.kept, split_b.held_out) == (split_a.held_out, split_a.kept)
    assert first.count("source", "skipped_title_left_out") == 1190 - a.num_rows // 2


@pytest.mark.slow  # a real build of 12k-14k rows: about 5 s on a quiet machine
def test_squad_v2_dev_with_its_portuguese_translation_keeps_only_spans_that_index(shared_data, tmp_path):
    spec = (f"parallel:en={shared_data / 'squad-v2' / 'dev-v2.0.json'}"
            f"+pt={shared_data / 'squad-v2-pt' / 'dev-v2.0.json'}+join=position")
    manifest = build(config(tmp_path, [spec], mt=False, langs=["pt"]))
    assert [(c.lang, c.source, c.human) for c in manifest.origin_counts()] == [("en", 6078, 0), ("pt", 0, 6078)]
    (spans,) = manifest.span_counts()
    # 2,910 answerable questions: 2,862 with a Portuguese answer, 58 of them not at their start.
    assert (spans.answers, spans.indexed, spans.relocated, spans.not_found) == (2862, 2804, 58, 0)
    assert (spans.answers_missing, spans.rows_flagged) == (48, 106)
    assert manifest.not_in_source() == {"pt": 5795}
    pt = [r for r in shards(tmp_path / "out").to_pylist() if r["lang"] == "pt"]
    assert len(pt) == 6078  # flagged, not dropped
    for r in pt:
        for a in r["answers"]:
            assert a["answer_start"] == -1 or r["passage"][a["answer_start"]:a["answer_start"] + len(a["text"])] == a["text"]
    assert sum(1 for r in pt if "answer_span" in r["filter_reasons"] and r["keep"] is False) == 106


def test_languages_the_source_lacks_are_machine_translated(tmp_path):
    squad(tmp_path / "xquad.en.json", EN)
    squad(tmp_path / "xquad.de.json", DE)
    cfg = config(tmp_path, [f"xquad:{tmp_path}"], langs=["de", "es"], **{"filter.mode": "flag"})
    manifest = build(cfg, FakeTranslateStep(["de", "es"]))
    rows = {(r["id"], r["lang"]): r for r in shards(tmp_path / "out").to_pylist()}
    assert rows[("xquad:q1", "de")]["origin"] == "human" and rows[("xquad:q1", "de")]["question"] == "Wo liegt Paris?"
    assert rows[("xquad:q1", "es")]["origin"] == "mt"
    assert rows[("xquad:q1", "es")]["question"] == reverse_words("Where is Paris?", "es")
    assert [(c.lang, c.human, c.mt, c.ids_missing) for c in manifest.origin_counts()] == [
        ("en", 0, 0, 0), ("de", 3, 0, 0), ("es", 0, 3, 3)]
    assert manifest.not_in_source() == {"de": 1}


def test_without_mt_a_language_no_source_has_is_refused(tmp_path):
    squad(tmp_path / "xquad.en.json", EN)
    squad(tmp_path / "xquad.de.json", DE)
    with pytest.raises(Exception, match="none has fr"):
        build(config(tmp_path, [f"xquad:{tmp_path}"], mt=False, langs=["de", "fr"]))


def test_the_cli_options_reach_the_config(tmp_path, monkeypatch):
    seen = {}

    def fake_run_build(config, progress=None):
        seen["config"] = config
        raise SystemExit(0)

    monkeypatch.setattr("mtqa.pipeline.builder.run_build", fake_run_build)
    result = CliRunner().invoke(main, ["build", "--sources", f"xquad:{tmp_path}", "--no-mt", "--split", "dev",
                                       "--title-fraction", "0.5", "--title-seed", "3", "--title-complement",
                                       "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    c = seen["config"]
    assert (c.mt, c.langs, c.split, c.title_fraction, c.title_seed, c.title_complement) == (
        False, ["*"], "dev", 0.5, 3, True)
    result = CliRunner().invoke(main, ["build", "--titles", "t.txt", "--title-fraction", "0.5"])
    assert result.exit_code == 2 and "two ways to split by title" in result.output
