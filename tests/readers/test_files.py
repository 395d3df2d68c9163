"""Local files and the embedded sample: SQuAD JSON, JSONL, Parquet, gzip, real data, limits,
and one-line errors for bad input."""

from __future__ import annotations

import gzip
import hashlib
import json

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from mtqa.readers import SAMPLE_PATH, open_source
from tests.readers.helpers import assert_spans, error_of, read_all, write_jsonl


# -- the embedded sample ---------------------------------------------------------------------


def test_sample_is_a_small_real_xquad_excerpt():
    table = read_all("sample")
    rows = table.to_pylist()
    assert table.num_rows == 64
    assert len(set(table.column("passage").to_pylist())) == 12
    assert len(set(table.column("title").to_pylist())) == 12
    assert len(set(table.column("id").to_pylist())) == 64
    assert rows[0]["id"] == "sample:56bec6ac3aeaaa14008c93fd"
    assert rows[0]["question"] == "How many Grammys has Lady Gaga won?"
    assert rows[0]["answers"] == [{"text": "Six", "answer_start": 0}]
    assert {r["source"] for r in rows} == {"sample"} and {r["split"] for r in rows} == {"test"}
    assert not any(r["is_impossible"] for r in rows)
    assert assert_spans(rows) == 64
    assert SAMPLE_PATH.stat().st_size < 60_000
    readme = (SAMPLE_PATH.parent / "README.md").read_text(encoding="utf-8")
    assert "CC BY-SA 4.0" in readme and "google-deepmind/xquad" in readme


def test_sample_describe_records_file_and_checksum():
    desc = open_source("sample").describe()
    assert desc["name"] == "sample" and desc["kind"] == "sample"
    assert desc["path"] == "mtqa/data/sample/xquad-en-sample.json"
    assert desc["sha256"] == hashlib.sha256(SAMPLE_PATH.read_bytes()).hexdigest()
    assert desc["size"] == SAMPLE_PATH.stat().st_size
    assert desc["license"] == "CC-BY-SA-4.0"


# -- real data -------------------------------------------------------------------------------


def test_xquad_english_real(shared_data):
    table = read_all(str(shared_data / "xquad" / "xquad.en.json"))
    rows = table.to_pylist()
    assert table.num_rows == 1190
    assert len(set(table.column("passage").to_pylist())) == 240
    assert len(set(table.column("id").to_pylist())) == 1190
    assert rows[0]["id"] == "xquad_en:56beb4343aeaaa14008c925b"
    assert assert_spans(rows) == 1190


def test_squad_v2_dev_real(shared_data):
    spec = f"squad:{shared_data / 'squad-v2' / 'dev-v2.0.json'}"
    table = read_all(spec, split="validation", name="squad_v2")
    rows = table.to_pylist()
    impossible = [r for r in rows if r["is_impossible"]]
    assert table.num_rows == 6078 and len(impossible) == 3168
    assert all(r["answers"] == [] for r in impossible)
    assert all(r["answers"] for r in rows if not r["is_impossible"])
    assert len(set(table.column("passage").to_pylist())) == 646
    assert {r["split"] for r in rows} == {"validation"}
    assert rows[0]["id"].startswith("squad_v2:")
    assert assert_spans(rows) == 10052  # every answer of the 2,910 answerable questions


def test_nq_open_has_no_passage_and_says_so(shared_data):
    message = error_of(open_source, str(shared_data / "nq-open" / "NQ-open.dev.jsonl"))
    assert message.startswith(f"{shared_data / 'nq-open' / 'NQ-open.dev.jsonl'}: Natural Questions open has "
                              "questions and answers but no passages (fields: answer, question)")


# -- JSONL and Parquet round trips ------------------------------------------------------------


def test_jsonl_round_trip_with_every_field_form(tmp_path):
    rows = [
        {"id": "a1", "title": "T", "question": "Q one?", "passage": "Alpha beta gamma.",
         "answers": [{"text": "beta", "answer_start": 6}]},
        {"question": "Q two?", "context": "Delta epsilon.", "answer": "epsilon"},
        {"id": 7, "question": "Q three?", "passage": "Zeta eta.", "answers": ["theta"]},
        {"id": "a4", "question": "Q four?", "passage": "Iota.", "is_impossible": True,
         "answers": [{"text": "Iota", "answer_start": 0}]},
        {"id": "a5", "question": "Q five?", "passage": "Kappa lambda kappa.",
         "answers": [{"text": "kappa", "answer_start": 99}]},
    ]
    path = write_jsonl(tmp_path / "mine.jsonl", rows)
    (path.parent / "blank.jsonl").write_text("\n" + path.read_text() + "\n\n")
    out = read_all(str(path)).to_pylist()
    assert [r["id"] for r in out[:1] + out[2:]] == ["mine:a1", "mine:7", "mine:a4", "mine:a5"]
    assert out[1]["id"].startswith("mine:") and len(out[1]["id"]) == len("mine:") + 16
    assert out[0]["answers"] == [{"text": "beta", "answer_start": 6}]
    assert out[1]["passage"] == "Delta epsilon." and out[1]["answers"] == [{"text": "epsilon", "answer_start": 6}]
    assert out[2]["answers"] == [{"text": "theta", "answer_start": -1}]
    assert out[3]["is_impossible"] and out[3]["answers"] == []
    assert out[4]["answers"] == [{"text": "kappa", "answer_start": 13}]  # a wrong offset is relocated
    assert out[1]["title"] is None and out[0]["title"] == "T"
    assert read_all(str(path.parent / "blank.jsonl"), name="mine").to_pylist() == out


def test_ids_without_an_original_depend_on_content_not_position(tmp_path):
    rows = [{"question": f"Question {i}?", "passage": f"Passage {i}."} for i in range(5)]
    forward = read_all(str(write_jsonl(tmp_path / "f.jsonl", rows)), name="x")
    backward = read_all(str(write_jsonl(tmp_path / "b.jsonl", rows[::-1])), name="x")
    assert forward.column("id").to_pylist() == backward.column("id").to_pylist()[::-1]
    assert len(set(forward.column("id").to_pylist())) == 5


def test_gzipped_jsonl_and_squad(tmp_path):
    rows = [{"id": "g", "question": "Q?", "passage": "P."}]
    with gzip.open(tmp_path / "z.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write(json.dumps(rows[0]) + "\n")
    assert read_all(str(tmp_path / "z.jsonl.gz")).column("id").to_pylist() == ["z:g"]
    (tmp_path / "s.json.gz").write_bytes(gzip.compress(SAMPLE_PATH.read_bytes()))
    assert read_all(str(tmp_path / "s.json.gz")).num_rows == 64


def test_parquet_round_trip_in_record_batches(tmp_path):
    sample = read_all("sample")
    path = tmp_path / "qa.parquet"
    pq.write_table(sample.drop_columns(["source", "split"]), path, row_group_size=10)
    back = read_all(str(path), batch_size=7, name="sample", split="test")
    assert back.to_pylist() == sample.to_pylist()
    assert open_source(f"parquet:{path}").describe()["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_parquet_with_hub_squad_layout_and_context_column(tmp_path):
    table = pa.table({
        "id": ["q1", "q2"],
        "context": ["Paris is in France.", "No answer here."],
        "question": ["Where is Paris?", "What?"],
        "answers": [{"text": ["France"], "answer_start": [12]}, {"text": [], "answer_start": []}],
        "extra": [1, 2],
    })
    pq.write_table(table, tmp_path / "hf.parquet")
    rows = read_all(str(tmp_path / "hf.parquet")).to_pylist()
    assert rows[0]["answers"] == [{"text": "France", "answer_start": 12}]
    assert rows[1]["answers"] == [] and rows[0]["passage"] == "Paris is in France."


# -- limit, batch size, determinism ------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(limit=st.one_of(st.none(), st.integers(0, 80)), batch_size=st.integers(1, 70))
def test_limit_and_batch_size(limit, batch_size):
    full = read_all("sample").column("id").to_pylist()
    batches = list(open_source("sample", limit=limit, batch_size=batch_size).batches())
    sizes = [b.num_rows for b in batches]
    expected = 64 if limit is None else min(limit, 64)
    assert sum(sizes) == expected
    assert all(s == batch_size for s in sizes[:-1]) and all(0 < s <= batch_size for s in sizes)
    ids = [i for b in batches for i in b.column("id").to_pylist()]
    assert ids == full[:expected]  # a limit keeps the ids of the rows it keeps


def test_limit_stops_reading_a_stream(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_text(json.dumps({"question": "Q?", "passage": "P."}) + "\n" + "{broken\n", encoding="utf-8")
    assert read_all(str(path), limit=1).num_rows == 1  # never reaches the bad line


def test_two_reads_are_equal(tmp_path):
    sample = read_all("sample")
    pq.write_table(sample, tmp_path / "s.parquet", row_group_size=9)
    write_jsonl(tmp_path / "s.jsonl", sample.to_pylist())
    for spec in ["sample", str(tmp_path / "s.parquet"), str(tmp_path / "s.jsonl")]:
        src = open_source(spec, batch_size=10)
        first, second = list(src.batches()), list(src.batches())
        assert len(first) == 7 and all(a.equals(b) for a, b in zip(first, second, strict=True))
    assert src.stats.counts["rows_out"] == 128


# -- bad input ------------------------------------------------------------------------------


def test_file_not_found():
    assert error_of(open_source, "no/such/file.jsonl") == "file not found: no/such/file.jsonl"
    assert error_of(open_source, "squad:missing.json") == "file not found: missing.json"


def test_unknown_extension(tmp_path):
    (tmp_path / "data.csv").write_text("question,passage\n")
    message = error_of(open_source, str(tmp_path / "data.csv"))
    assert message.startswith(f"unknown extension .csv for {tmp_path / 'data.csv'}")
    assert "squad:/jsonl:/parquet:" in message


def test_malformed_json_names_line_and_column(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"data": [\n  {"title": "x",,}\n]}\n', encoding="utf-8")
    message = error_of(open_source, str(path))
    assert message.startswith(f"malformed JSON in {path} at line 2, column 17:")


def test_not_squad_format(tmp_path):
    path = tmp_path / "list.json"
    path.write_text("[1, 2]", encoding="utf-8")
    assert "not SQuAD format" in error_of(open_source, str(path))


def test_malformed_jsonl_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "Q?", "passage": "P."}\n{"question": oops}\n', encoding="utf-8")
    assert error_of(open_source, str(path)).startswith(f"malformed JSON in {path}:2 at column 14:")
    path.write_text('{"question": "Q?", "passage": "P."}\n[1, 2]\n', encoding="utf-8")
    assert error_of(open_source, str(path)) == f"{path}:2: expected a JSON object, got list"


def test_invalid_utf8(tmp_path):
    js = tmp_path / "latin.json"
    raw = b'{"data": [\n{"title": "caf\xe9", "paragraphs": []}]}'
    js.write_bytes(raw)
    assert raw.index(b"\xe9") == 25
    assert error_of(open_source, str(js)) == f"invalid UTF-8 in {js} at byte offset 25 (line 2)"
    jl = tmp_path / "latin.jsonl"
    jl.write_bytes(b'{"question": "Q?", "passage": "P."}\n{"question": "caf\xe9", "passage": "P."}\n')
    assert error_of(open_source, str(jl)) == f"invalid UTF-8 in {jl}:2 (byte offset 53)"


def test_missing_fields_name_field_and_place(tmp_path):
    jl = write_jsonl(tmp_path / "m.jsonl", [{"question": "Q?", "passage": "P."}, {"passage": "P."}])
    assert error_of(open_source, str(jl)) == f"{jl}:2: missing field 'question'"
    js = tmp_path / "m.json"
    js.write_text(json.dumps({"data": [{"title": "T", "paragraphs": [
        {"context": "C.", "qas": [{"id": "x9", "answers": []}]}]}]}), encoding="utf-8")
    assert error_of(open_source, str(js)) == f"{js}: data[0].paragraphs[0].qas[0] (id x9): missing field 'question'"
    js.write_text(json.dumps({"data": [{"title": "T", "paragraphs": [{"qas": []}]}]}), encoding="utf-8")
    assert error_of(open_source, str(js)) == f"{js}: data[0].paragraphs[0]: missing field 'context'"
    pq.write_table(pa.table({"question": ["Q?"], "text": ["P."]}), tmp_path / "m.parquet")
    assert error_of(open_source, str(tmp_path / "m.parquet")) == (
        f"{tmp_path / 'm.parquet'}: missing column 'passage' (has question, text)")
    pq.write_table(pa.table({"question": ["Q?", None], "passage": ["P.", "P."]}), tmp_path / "n.parquet")
    assert error_of(open_source, str(tmp_path / "n.parquet")) == (
        f"{tmp_path / 'n.parquet'} row 1: missing field 'question'")


def test_empty_question_or_passage_names_the_id(tmp_path):
    jl = write_jsonl(tmp_path / "e.jsonl", [{"id": "k1", "question": "  ", "passage": "P."}])
    assert error_of(open_source, str(jl)) == f"empty question in {jl}:1 (id e:k1)"
    jl = write_jsonl(tmp_path / "e.jsonl", [{"id": "k2", "question": "Q?", "context": ""}])
    assert error_of(open_source, str(jl)) == f"empty passage in {jl}:1 (id e:k2)"


def test_bad_field_types(tmp_path):
    jl = write_jsonl(tmp_path / "t.jsonl", [{"question": "Q?", "passage": "P.", "answers": 3}])
    assert "field 'answers' must be a list" in error_of(open_source, str(jl))
    jl = write_jsonl(tmp_path / "t.jsonl", [{"question": "Q?", "passage": "P.", "is_impossible": "yes"}])
    assert "field 'is_impossible' must be true or false" in error_of(open_source, str(jl))
    jl = write_jsonl(tmp_path / "t.jsonl", [{"question": ["Q?"], "passage": "P."}])
    assert error_of(open_source, str(jl)) == f"{jl}:1: field 'question' must be a string, got list"


def test_not_a_parquet_file(tmp_path):
    path = tmp_path / "fake.parquet"
    path.write_text("not parquet")
    assert error_of(open_source, str(path)).startswith(f"not a readable Parquet file: {path}")


# -- splits and unknown answers ----------------------------------------------------------------


def test_a_files_split_is_the_one_its_name_says(tmp_path):
    for name, split in [("dev-v2.0.json", "dev"), ("train-v2.0.json", "train"), ("NQ.test.jsonl", "test"),
                        ("validation.jsonl", "validation"), ("xquad.en.json", "train"), ("contest.json", "train")]:
        path = tmp_path / name
        if name.endswith(".json"):
            path.write_text(json.dumps({"data": [{"title": "T", "paragraphs": [
                {"context": "C.", "qas": [{"id": "1", "question": "Q?", "answers": []}]}]}]}))
        else:
            write_jsonl(path, [{"question": "Q?", "passage": "P."}])
        assert open_source(str(path)).split == split, name
        assert read_all(str(path), split="mine").column("split").to_pylist() == ["mine"]


def test_a_squad_file_without_answers_says_so_once_and_marks_them_unknown(tmp_path, caplog):
    """The official SQuAD test set's layout: questions with neither answers nor is_impossible."""
    path = tmp_path / "test-v2.0.json"
    path.write_text(json.dumps({"data": [{"title": "T", "paragraphs": [{"context": "Alpha beta.", "qas": [
        {"id": "1", "question": "Q one?"}, {"id": "2", "question": "Q two?"},
        {"id": "3", "question": "Q three?", "is_impossible": True, "answers": []},
        {"id": "4", "question": "Q four?", "answers": [{"text": "beta", "answer_start": 6}]}]}]}]}))
    rows = read_all(str(path)).to_pylist()
    assert [(r["is_impossible"], r["answers"]) for r in rows] == [
        (None, []), (None, []), (True, []), (False, [{"text": "beta", "answer_start": 6}])]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "2 questions have neither answers nor is_impossible" in warnings[0]
