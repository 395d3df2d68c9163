"""The CLI end to end on the embedded default, and every bad input: one line, exit 2, nothing marked done."""

import json
import os
import subprocess
import sys

import pyarrow as pa
import pytest
from click.testing import CliRunner

from mtqa.cli import main
from mtqa.toy_cipher import cipher


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("MTQA_CACHE", str(tmp_path / "cache"))
    return tmp_path


def build(*args):
    return CliRunner().invoke(main, ["build", "--no-progress", *args])


def test_default_build_translates_every_row_of_its_own_input(env):
    out = env / "out"
    result = build("--out", str(out))
    assert result.exit_code == 0, result.output
    assert "translate" in result.output and "x-rot13" in result.output
    table = pa.concat_tables(pa.ipc.open_file(str(p)).read_all() for p in sorted((out / "data").glob("*.arrow")))
    rows = table.to_pylist()
    english = {r["id"]: r for r in rows if r["lang"] == "en"}
    assert len(english) == 64
    assert len(rows) == 64 * 3
    exact = 0
    for row in rows:
        if row["lang"] == "en":
            continue
        en = english[row["id"]]
        exact += row["question"] == cipher(en["question"], row["lang"]) and row["passage"] == cipher(en["passage"], row["lang"])
    # The toy model is near-perfect; misordering anywhere would make nearly every row wrong.
    assert exact >= 0.95 * 128
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["langs"] == {"en": 64, "x-atbash": 64, "x-rot13": 64}
    assert manifest["model"]["fingerprint"]
    assert all(len(f["sha256"]) == 64 for f in manifest["files"])
    # Rerunning a finished build does nothing and changes nothing.
    before = {p.name: p.read_bytes() for p in (out / "data").glob("*.arrow")}
    again = build("--out", str(out))
    assert again.exit_code == 0
    assert {p.name: p.read_bytes() for p in (out / "data").glob("*.arrow")} == before


def assert_one_line_exit_2(result, message):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("mtqa: error: ")
    assert message in lines[0], lines[0]


def nothing_done(out):
    return not list(out.glob("progress/*/chunk-*.json")) and not (out / "manifest.json").exists()


def test_unknown_language_code(env):
    result = build("--langs", "de,xx", "--out", str(env / "o"))
    assert_one_line_exit_2(result, "'xx'")
    assert nothing_done(env / "o")


def test_language_the_model_cannot_produce(env):
    result = build("--langs", "de", "--out", str(env / "o"))
    assert_one_line_exit_2(result, "model mtqa-toy-cipher does not translate into 'de' (it supports: x-atbash, x-rot13)")
    assert nothing_done(env / "o")


def test_missing_model_directory(env):
    result = build("--model", str(env / "no-model"), "--out", str(env / "o"))
    assert_one_line_exit_2(result, "no-model")
    assert nothing_done(env / "o")


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("bad.json", b'{"data": [', "bad.json"),
        ("bad.jsonl", b'{"question": "Q?", "passage": "P."}\n{"question": \n', "bad.jsonl:2"),
        ("utf8.jsonl", b'{"question": "Q?", "passage": "caf\xe9"}\n', "UTF-8"),
        ("missing.jsonl", b'{"question": "Q?"}\n', "passage"),
        ("empty.jsonl", b'{"id": "e1", "question": "  ", "passage": "P."}\n', "empty"),
        ("nothing.jsonl", b"", "the sources gave no rows"),
    ],
)
def test_bad_input_files(env, name, content, message):
    path = env / name
    path.write_bytes(content)
    out = env / "o"
    result = build("--sources", str(path), "--out", str(out))
    assert_one_line_exit_2(result, message)
    assert nothing_done(out)


def test_out_dir_of_a_different_pipeline(env):
    out = env / "o"
    assert build("--out", str(out), "--limit", "3").exit_code == 0
    result = build("--out", str(out), "--limit", "4")
    assert_one_line_exit_2(result, "holds a different pipeline's data (pipeline.limit differs)")


def test_no_traceback_from_a_real_process(env):
    result = subprocess.run(
        [sys.executable, "-m", "mtqa.cli", "build", "--langs", "zz", "--out", str(env / "o")],
        capture_output=True, text=True, env={**os.environ},
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1


def test_filter_mode_flag_keeps_every_row_with_its_verdict(env):
    out = env / "out"
    result = build("--out", str(out), "--filter-mode", "flag")
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["pipeline"]["filter"]["mode"] == "flag"
    table = pa.concat_tables(pa.ipc.open_file(str(p)).read_all() for p in sorted((out / "data").glob("*.arrow")))
    assert table.num_rows == 192 and "keep" in table.column_names
    assert not (out / "rejected").exists()


def test_help_lists_every_option():
    result = CliRunner().invoke(main, ["build", "--help"])
    for option in ["--pipeline", "--langs", "--sources", "--model", "--device", "--out", "--limit", "--num-shards", "--shard-index", "--filter-mode"]:
        assert option in result.output


def test_a_lone_surrogate_in_the_input_is_repaired_not_a_traceback(env):
    path = env / "s.jsonl"
    path.write_text('{"id": "s1", "question": "Why \\ud83d?", "passage": "Because \\ud83d. It is so."}\n')
    out = env / "o"
    result = build("--sources", str(path), "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = pa.concat_tables(pa.ipc.open_file(str(p)).read_all() for p in (out / "data").glob("*.arrow")).to_pylist()
    assert {r["question"] for r in rows if r["lang"] == "en"} == {"Why \ufffd?"}
