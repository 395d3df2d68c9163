import json
import logging

import pyarrow as pa
import pytest
import yaml
from click.testing import CliRunner

from mtqa.cli import main
from mtqa.lid import LidConfig
from mtqa.pipeline.step import Chunk
from mtqa.schema import SHARD_SCHEMA
from mtqa.steps.filters import FilterConfig, FilterStep
from tests.steps.filters.rows import CONFIG, DE_Q, EN_P, EN_Q, ES_P, ES_Q, out_rows


def test_step_counts_per_language_and_reason_and_drops_into_rejected(caplog):
    table = out_rows([
        {"lang": "en", "question": EN_Q, "passage": EN_P},
        {"lang": "de", "question": "", "passage": EN_P},  # empty, copy, wrong language
        {"lang": "es", "question": ES_Q, "passage": ES_P},
    ])
    step = FilterStep(CONFIG, langs=["de", "es"])
    with caplog.at_level(logging.DEBUG, logger="mtqa.steps.filters.step"):
        (chunk,) = step.run([Chunk(index=0, qa=None, output=table)])
    step.close()
    assert chunk.output.column("lang").to_pylist() == ["en", "es"]
    assert chunk.rejected.column("filter_reasons").to_pylist() == [["copy", "empty", "length_ratio", "wrong_language"]]
    stats = chunk.stats["filter"]
    assert stats.counts == {"rows_in": 3, "rows_out": 2, "kept": 2, "failed": 1, "failed_copy": 1, "failed_empty": 1,
                            "failed_length_ratio": 1, "failed_wrong_language": 1}
    assert stats.langs == {
        "en": {"rows": 1, "kept": 1},
        "de": {"rows": 1, "kept": 0, "failed_copy": 1, "failed_empty": 1, "failed_length_ratio": 1,
               "failed_wrong_language": 1},
        "es": {"rows": 1, "kept": 1},
    }
    assert stats.to_dict()["langs"]["de"]["kept"] == 0  # what the report reads
    assert "filter chunk 0: 3 rows, 2 kept" in caplog.text
    flag = FilterStep(FilterConfig(mode="flag", lid=LidConfig(processes=1)), langs=["de", "es"])
    flagged = flag.process(Chunk(index=0, qa=None, output=table))
    assert flagged.output.column("keep").to_pylist() == [True, False, True] and flagged.rejected is None
    assert flagged.output.schema == SHARD_SCHEMA
    assert flag.stats.counts["rows_out"] == 3 and flag.stats.counts["failed"] == 1


def test_in_a_build_the_passage_is_judged_by_its_translated_segments():
    from mtqa.steps.assemble import AssembleStep
    from mtqa.steps.dedup import DedupStep
    from mtqa.steps.segment import SegmentStep
    from tests.helpers import FakeTranslateStep, qa_table

    german = dict(zip(
        ["Which team won the championship in the year 2016?",
         "The Denver Broncos won the championship in 2016.",
         "They beat the Carolina Panthers in the final game.",
         "The game was played in Santa Clara, California."],
        [DE_Q, "Die Denver Broncos gewannen die Meisterschaft im Jahr 2016.",
         "They beat the Carolina Panthers in the final game.",  # left in English
         "Das Spiel wurde in Santa Clara, Kalifornien, ausgetragen."]))
    chunk = Chunk(index=0, qa=qa_table([{"question": EN_Q, "passage": EN_P}]))
    for step in [SegmentStep(), DedupStep(), FakeTranslateStep(["de"], fn=lambda text, lang: german[text]),
                 AssembleStep(["de"])]:
        chunk = step.process(chunk)
    sentences = [german[s] for s in list(german)[1:]]
    assert chunk.passage_sentences == [None, sentences]
    step = FilterStep(CONFIG, langs=["de"])
    row = step.process(chunk).output.to_pylist()[1]
    english = len("They beat the Carolina Panthers in the final game.")
    total = sum(len(s) for s in sentences)
    # Judged as one text, the passage would have a share of 0 or 1.
    assert row["lid_passage_share"] == pytest.approx(1 - english / total, abs=1e-6)
    assert row["keep"] is True


# ---- end to end through `mtqa build` with the toy model --------------------------------
ROWS = [
    {"id": f"q{i}", "question": f"What did the author write in chapter number {i} of the book?",
     "passage": f"In chapter {i} the author wrote about the history of the river and its towns. "
                "Many people lived along the river for centuries.",
     "answers": [{"text": "the history of the river", "answer_start": 30 + len(str(i))}]}
    for i in range(6)
] + [
    {"id": "loop", "question": "Why do buffalo buffalo buffalo buffalo buffalo?",
     "passage": "Buffalo buffalo buffalo buffalo buffalo buffalo is a grammatical sentence about animals."},
]


def build(tmp_path, mode: str, out: str, *extra):
    source = tmp_path / "qa.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    pipeline = tmp_path / f"{mode}.yaml"
    pipeline.write_text(yaml.safe_dump({"sources": [str(source)], "filter": {"mode": mode}}))
    return CliRunner().invoke(main, ["build", "--no-progress", "--pipeline", str(pipeline), "--out", str(tmp_path / out),
                                     "--chunk-size", "3", *extra])


def read(paths):
    return pa.concat_tables(pa.ipc.open_file(str(p)).read_all() for p in sorted(paths))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MTQA_CACHE", str(tmp_path / "cache"))


def test_drop_mode_writes_failed_rows_to_rejected_and_counts_them(tmp_path, cache):
    result = build(tmp_path, "drop", "drop")
    assert result.exit_code == 0, result.output
    assert "filter" in result.output and "repetition 2" in result.output
    out = tmp_path / "drop"
    data = read((out / "data").glob("*.arrow"))
    rejected = read((out / "rejected").glob("*.arrow"))
    assert data.schema == SHARD_SCHEMA and rejected.schema == SHARD_SCHEMA
    assert all(data.column("keep").to_pylist())
    assert sorted(rejected.column("lang").to_pylist()) == ["x-atbash", "x-rot13"]
    assert set(rejected.column("id").to_pylist()) == {"qa:loop"}
    assert all("repetition" in r for r in rejected.column("filter_reasons").to_pylist())
    assert data.num_rows + rejected.num_rows == len(ROWS) * 3
    manifest = json.loads((out / "manifest.json").read_text())
    stats = manifest["stages"]["filter"]
    assert stats["counts"]["failed_repetition"] == 2 and stats["langs"]["x-rot13"]["failed_repetition"] == 1
    assert stats["langs"]["en"]["kept"] == len(ROWS) and stats["langs"]["x-atbash"]["rows"] == len(ROWS)
    assert manifest["rejected"] == {"rows": 2, "langs": {"x-atbash": 1, "x-rot13": 1}}
    entry = next(f for f in manifest["files"] if f["rejected"])
    assert entry["rejected"]["path"] == entry["path"].replace("data/", "rejected/", 1)  # the data file's name
    assert entry["rejected"]["rows"] == 2 and len(entry["rejected"]["sha256"]) == 64

    # A rerun with the rejected file gone redoes that chunk, byte-identically.
    before = {p.relative_to(out): p.read_bytes() for p in out.glob("*/*.arrow")}
    (out / entry["rejected"]["path"]).unlink()
    again = build(tmp_path, "drop", "drop")
    assert again.exit_code == 0, again.output
    assert {p.relative_to(out): p.read_bytes() for p in out.glob("*/*.arrow")} == before

    report = CliRunner().invoke(main, ["report", str(out)])
    assert report.exit_code == 0, report.output
    assert "failed: repetition" in report.output


def test_flag_mode_keeps_every_row_with_keep_false_and_the_sampler_skips_them(tmp_path, cache):
    from mtqa.sampler import HybridBatchSampler, HybridSamplerConfig

    result = build(tmp_path, "flag", "flag")
    assert result.exit_code == 0, result.output
    out = tmp_path / "flag"
    assert not (out / "rejected").exists()
    data = read((out / "data").glob("*.arrow"))
    assert data.num_rows == len(ROWS) * 3
    flagged = data.filter(pa.compute.invert(data.column("keep")))
    assert set(flagged.column("id").to_pylist()) == {"qa:loop"} and flagged.num_rows == 2
    sampler = HybridBatchSampler(out, HybridSamplerConfig(batch_size=2, alpha=1.0))
    assert sampler.table.num_rows == len(ROWS) * 3 - 2


def test_default_offline_build_keeps_nearly_every_row(tmp_path, cache):
    result = CliRunner().invoke(main, ["build", "--no-progress", "--out", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    counts = json.loads((tmp_path / "d" / "manifest.json").read_text())["stages"]["filter"]["counts"]
    assert counts["rows_in"] == 192
    assert counts["kept"] >= 0.99 * 192
