"""What a build leaves and says: file modes (issue 13, item 9), shard names, the summary's
last lines, progress totals and lines, --cache-dir (item 10)."""

from __future__ import annotations

import codecs
import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from mtqa.cli import main
from mtqa.io import atomic_path
from mtqa.pipeline.progress import BuildProgress
from mtqa.readers import ReaderStep, open_source
from mtqa.steps.write import chunk_split
from mtqa.summary import format_outcome
from tests.helpers import FakeTranslateStep, qa_table
from tests.reliability.conftest import executor, markers

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def umask():
    old = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("mask", "expected"), [(0o002, 0o664), (0o022, 0o644), (0o077, 0o600)])
def test_files_follow_the_umask(jsonl, tmp_path, umask, mask, expected):
    umask(mask)
    with atomic_path(tmp_path / "a.txt") as tmp:
        tmp.write_text("x")
    assert mode(tmp_path / "a.txt") == expected
    out = tmp_path / "out"
    executor(jsonl, out).run()
    written = [out / "build.json", out / "manifest.json", *markers(out), *(out / "data").glob("*.arrow"),
               *(out / "rejected").glob("*.arrow"), *(out / "manifests").glob("*.json")]
    assert len(written) > 15 and {p.name: mode(p) for p in written} == {p.name: expected for p in written}


def test_shard_names_give_datasets_the_build_split(tmp_path):
    out = tmp_path / "out"
    manifest = executor("sample", out, mode="flag", chunk_size=16).run()
    names = sorted(p.name for p in (out / "data").glob("*.arrow"))
    assert names == [f"test-00000-of-00001-00000{c}.arrow" for c in range(4)]  # the sample is XQuAD's test split
    datasets = pytest.importorskip("datasets")
    loaded = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "hf"))
    assert list(loaded) == ["test"] and loaded["test"].num_rows == manifest.rows

    parts = tmp_path / "parts"
    for i in range(2):
        executor("sample", parts, mode="flag", num_shards=2, shard_index=i, chunk_size=16).run()
    names = sorted(p.name for p in (parts / "data").glob("*.arrow"))
    assert names[0] == "test-00000-of-00002-000000.arrow" and names[-1].startswith("test-00001-of-00002-")
    loaded = datasets.load_dataset(str(parts), cache_dir=str(tmp_path / "hf"))
    assert list(loaded) == ["test"] and loaded["test"].num_rows == 64 * 3


def test_the_split_a_chunk_is_named_after():
    assert chunk_split(qa_table([{"question": "Q", "passage": "P", "split": "validation"}])) == "validation"
    assert chunk_split(qa_table([{"question": "Q", "passage": "P", "split": "dev"},
                                 {"question": "Q", "passage": "P", "split": "train"}])) == "train"  # mixed
    assert chunk_split(qa_table([{"question": "Q", "passage": "P", "split": "dev-v2.0"}])) == "train"  # not a word


def test_the_last_lines_say_what_was_resumed_and_what_is_missing(jsonl, tmp_path):
    out = tmp_path / "out"
    crashing = executor(jsonl, out)
    position = [step.name for step in crashing.steps].index("translate")
    crashing.steps[position] = FakeTranslateStep(["de", "es"], fail_at_chunk=4)
    with pytest.raises(RuntimeError):
        crashing.run()
    resumed = executor(jsonl, out).run()
    assert format_outcome(resumed, str(out)).splitlines()[0].startswith(
        "resumed: 4 of 6 chunks (20 of 27 QA rows) were done by earlier runs; this run built 2 chunk(s) (7 QA rows) in ")
    finished = executor(jsonl, out).run()
    assert format_outcome(finished, str(out)).splitlines() == [
        "already finished: the build's 6 chunk(s) (27 QA rows) were built by earlier runs; nothing was rebuilt. "
        "The seconds above are those earlier runs'.",
        f"wrote {out}/ ({finished.rows:,} rows); manifest: {out}/manifest.json",
    ]

    parts = tmp_path / "parts"
    first = executor(jsonl, parts, num_shards=2, shard_index=0).run()
    lines = format_outcome(first, str(parts)).splitlines()
    assert lines[-1] == (f"wrote {parts}/ ({first.rows:,} rows of partition 0 of 2); still missing: partition 1 of 2. "
                         f"{parts}/manifest.json is written when the last partition finishes.")
    assert not (parts / "manifest.json").exists()
    last = executor(jsonl, parts, num_shards=2, shard_index=1).run()
    assert format_outcome(last, str(parts)).endswith(f"manifest: {parts}/manifest.json")


def test_expected_rows_of_local_files(jsonl, tmp_path):
    pq.write_table(pa.table({"question": ["Q?"] * 7, "passage": ["P."] * 7}), tmp_path / "qa.parquet")
    assert ReaderStep([open_source(str(jsonl))], 5).expected_rows() == 27
    assert ReaderStep([open_source(str(jsonl), limit=10)], 5).expected_rows() == 10
    assert ReaderStep([open_source("sample"), open_source(str(tmp_path / "qa.parquet"))], 5).expected_rows() == 71
    assert ReaderStep([open_source(str(jsonl))], 5, num_shards=4, shard_index=1).expected_rows() == 7  # an estimate


def test_expected_rows_of_squad_files_are_counted_streaming(tmp_path):
    doc = {"data": [{"title": f"T{a}", "paragraphs": [
        {"context": "Some text.", "qas": [{"id": f"{a}-{p}-{q}", "question": "What?", "answers": []}
                                         for q in range(p + 1)]} for p in range(3)]} for a in range(4)]}
    path = tmp_path / "squad.json"
    path.write_bytes(codecs.BOM_UTF8 + json.dumps(doc).encode())  # a BOM, as some editors write
    assert ReaderStep([open_source(str(path))], 5).expected_rows() == 4 * (1 + 2 + 3)
    path.write_text(json.dumps(doc)[:-40], encoding="utf-8")  # cut short: no total, the read reports it
    assert ReaderStep([open_source(str(path))], 5).expected_rows() is None


def test_bars_have_a_total_and_log_lines_stand_in_for_them(caplog):
    progress = BuildProgress(["source", "write"], 100, bars=True, desc="build")
    assert {bar.total for bar in progress._bars.values()} == {100}
    progress.close()
    caplog.set_level(logging.INFO, logger="mtqa.pipeline.progress")
    progress = BuildProgress(["source"], 100, bars=False, desc="build", every_s=0)
    progress.chunk_done(20, skipped=True)
    progress.chunk_done(30)
    lines = [r.getMessage() for r in caplog.records if r.name == "mtqa.pipeline.progress"]
    assert lines[0] == "build: 1 chunks (1 done earlier), 20 of ~100 rows (20%), 0.0 rows/s"
    assert lines[1].startswith("build: 2 chunks (1 done earlier), 50 of ~100 rows (50%), ") and lines[1].endswith(" left")


def test_a_build_without_a_terminal_logs_progress_lines_by_default(tmp_path):
    code = ("import mtqa.pipeline.progress as p; p.LOG_EVERY_SECONDS = 0; from mtqa.cli import main; "
            f"main(['build', '--chunk-size', '16', '--out', {str(tmp_path / 'out')!r}])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                            env={**os.environ, "MTQA_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if "mtqa.pipeline.progress" in line]
    assert len(lines) == 4, result.stderr
    assert "build: 1 chunks, 16 of ~64 rows (25%), " in lines[0] and lines[0].endswith(" left")
    assert "build: 4 chunks, 64 of ~64 rows (100%), " in lines[-1]


def test_build_takes_a_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MTQA_CACHE", str(tmp_path / "elsewhere"))
    result = CliRunner().invoke(main, ["build", "--no-progress", "--limit", "8", "--out", str(tmp_path / "out"),
                                       "--cache-dir", str(tmp_path / "mine")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "mine" / "translations.sqlite3").is_file()
    assert not (tmp_path / "elsewhere" / "translations.sqlite3").exists()


def test_a_partition_does_not_point_at_a_manifest_that_does_not_exist(tmp_path, monkeypatch):
    monkeypatch.setenv("MTQA_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["build", "--no-progress", "--out", str(out), "--num-shards", "2",
                                       "--shard-index", "0"])
    assert result.exit_code == 0, result.output
    assert "manifest.json" not in result.output.replace(f"{out}/manifest.json is written when", "")
    assert "still missing: partition 1 of 2" in result.output


def test_progress_loggers_are_shown_without_verbose_and_the_rest_stays_quiet():
    from mtqa.cli.common import setup_logging

    setup_logging(0)
    for name in ("mtqa.pipeline.progress", "mtqa.eval.progress"):  # build and eval progress lines
        assert logging.getLogger(name).isEnabledFor(logging.INFO)
    assert not logging.getLogger("mtqa.pipeline.executor").isEnabledFor(logging.INFO)
