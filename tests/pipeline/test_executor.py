"""The executor: chunking, resume after a crash, refusal of a different pipeline, partitions."""

import json

import pyarrow as pa
import pytest

from mtqa.config import BuildConfig
from mtqa.errors import MtqaError
from mtqa.pipeline.builder import run_spec
from mtqa.pipeline.executor import LocalExecutor
from mtqa.readers.step import shard_of
from tests.helpers import FakeTranslateStep, reverse_words, steps_with, write_qa_jsonl

LANGS = ["de", "es"]


@pytest.fixture
def jsonl(tmp_path):
    return write_qa_jsonl(tmp_path / "qa.jsonl")


def executor(jsonl, out, fail_at_chunk=None, **overrides):
    config = BuildConfig(sources=[str(jsonl)], langs=LANGS, out=str(out), chunk_size=5, **overrides)
    translate = FakeTranslateStep(config.langs, fail_at_chunk=fail_at_chunk)
    return DictExecutor(steps_with(config, translate), run_spec(config), progress=False), translate


class DictExecutor(LocalExecutor):
    """The executor, its manifest as the plain data written to manifest.json."""

    def run(self) -> dict:
        return super().run().to_dict()


def read_rows(out):
    tables = [pa.ipc.open_file(str(p)).read_all() for p in sorted((out / "data").glob("*.arrow"))]
    return pa.concat_tables(tables).to_pylist()


def file_bytes(out):
    return {p.name: p.read_bytes() for p in sorted((out / "data").glob("*.arrow"))}


def test_every_row_carries_its_own_translation(jsonl, tmp_path):
    ex, _ = executor(jsonl, tmp_path / "out")
    manifest = ex.run()
    rows = read_rows(tmp_path / "out")
    assert manifest["rows"] == len(rows) == 27 * 3
    assert manifest["langs"] == {"de": 27, "en": 27, "es": 27}
    by_key = {(r["id"], r["lang"]): r for r in rows}
    for (id_, lang), row in by_key.items():
        en = by_key[(id_, "en")]
        if lang == "en":
            continue
        assert row["question"] == reverse_words(en["question"], lang)
        sentences = [s if s.endswith(".") else s + "." for s in en["passage"].split(". ")]
        assert row["passage"] == " ".join(reverse_words(s, lang) for s in sentences)
        assert row["passage_id"] == en["passage_id"]
    assert len(manifest["files"]) == 6  # 27 rows in chunks of 5
    assert [f["path"] for f in manifest["files"]] == sorted(f["path"] for f in manifest["files"])
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["rows"] == 81


def test_crash_then_resume_is_byte_identical_and_redoes_only_unfinished_chunks(jsonl, tmp_path):
    clean, _ = executor(jsonl, tmp_path / "clean")
    clean.run()

    crashing, _ = executor(jsonl, tmp_path / "resumed", fail_at_chunk=3)
    with pytest.raises(RuntimeError, match="simulated crash"):
        crashing.run()
    assert len(list((tmp_path / "resumed" / "progress").glob("*/chunk-*.json"))) == 3
    assert not (tmp_path / "resumed" / "manifest.json").exists()

    resumed, translate = executor(jsonl, tmp_path / "resumed")
    manifest = resumed.run()
    assert file_bytes(tmp_path / "resumed") == file_bytes(tmp_path / "clean")
    assert manifest["partitions"][0]["resumed"] == {"chunks_skipped": 3, "rows_skipped": 15}
    segment = next(step for step in resumed.steps if step.name == "segment")
    assert segment.totals.counts["rows_in"] == 12  # this run segmented chunks 3..5 only
    assert manifest["stages"]["segment"]["counts"]["rows_in"] == 27  # totals include earlier runs
    clean_manifest = json.loads((tmp_path / "clean" / "manifest.json").read_text())
    assert manifest["files"] == clean_manifest["files"]
    assert manifest["langs"] == clean_manifest["langs"]


def test_a_different_pipeline_in_the_same_out_dir_is_refused(jsonl, tmp_path):
    executor(jsonl, tmp_path / "out")[0].run()
    config = BuildConfig(sources=[str(jsonl)], langs=["de"], out=str(tmp_path / "out"), chunk_size=5)
    with pytest.raises(MtqaError, match=r"holds a different pipeline's data \(pipeline.langs differs\)"):
        LocalExecutor(steps_with(config, FakeTranslateStep(["de"])), run_spec(config), progress=False).run()


def test_a_foreign_non_empty_directory_is_refused(jsonl, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    with pytest.raises(MtqaError, match="not empty and is not an mtqa build directory"):
        executor(jsonl, tmp_path / "out")[0].run()


def test_partitions_cover_the_input_once_and_keep_passages_together(jsonl, tmp_path):
    whole, _ = executor(jsonl, tmp_path / "whole")
    whole.run()
    manifests = [executor(jsonl, tmp_path / "parts", num_shards=3, shard_index=i)[0].run() for i in range(3)]
    assert "partitions" not in manifests[0] and "partitions" not in manifests[1]
    merged = manifests[2]
    assert [p["shard_index"] for p in merged["partitions"]] == [0, 1, 2]
    assert merged["rows"] == 27 * 3
    ids = []
    for path in sorted((tmp_path / "parts" / "data").glob("*.arrow")):
        shard_index = int(path.name.split("-")[1])
        rows = [r for r in pa.ipc.open_file(str(path)).read_all().to_pylist() if r["lang"] == "en"]
        assert {shard_of(r["passage"], 3) for r in rows} == {shard_index}
        ids += [r["id"] for r in rows]
    assert sorted(ids) == sorted(r["id"] for r in read_rows(tmp_path / "whole") if r["lang"] == "en")
    assert len({i.split("-")[0] for i in ids}) == 9


def test_a_resume_with_another_partition_count_is_refused(jsonl, tmp_path):
    executor(jsonl, tmp_path / "out", num_shards=2, shard_index=0)[0].run()
    with pytest.raises(MtqaError, match="num_shards differs"):
        executor(jsonl, tmp_path / "out", num_shards=3, shard_index=0)[0].run()
