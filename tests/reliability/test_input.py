"""Hostile input: lone surrogates (issue 13, item 5) and duplicate question ids (item 7)."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from mtqa.errors import MtqaError
from mtqa.readers import ReaderStep, open_source
from mtqa.readers.normalize import SKIP_DUPLICATE_ID, repair_record, repair_text, skipped_key
from tests.reliability.conftest import executor

SURROGATE = "\ud83d"  # half of an emoji: valid JSON ("\\ud83d"), not encodable as UTF-8


def all_rows(out):
    return pa.concat_tables(pa.ipc.open_file(str(p)).read_all() for p in sorted((out / "data").glob("*.arrow"))).to_pylist()


def test_repair_replaces_lone_surrogates_only():
    assert repair_text(f"caf{SURROGATE}é 😀") == "caf\ufffdé 😀"
    assert repair_text("plain") == "plain"
    record = {"id": f"x{SURROGATE}", "title": None, "question": f"Q{SURROGATE}?", "passage": "P.",
              "answers": [{"text": f"a{SURROGATE}", "answer_start": 0}],
              "parallel": [{"lang": "de", "question": f"F{SURROGATE}?", "answers": []}]}
    assert repair_record(record)
    assert (record["id"], record["question"], record["answers"][0]["text"], record["parallel"][0]["question"]) == \
        ("x\ufffd", "Q\ufffd?", "a\ufffd", "F\ufffd?")
    assert not repair_record(record)  # nothing left to repair


@pytest.mark.parametrize("kind", ["jsonl", "squad"])
def test_lone_surrogates_are_repaired_not_a_traceback(tmp_path, kind):
    passage = f"The emoji {SURROGATE} broke here. It has item 1."
    question = f"What broke {SURROGATE}?"
    if kind == "jsonl":
        path = tmp_path / "qa.jsonl"
        row = {"id": f"q{SURROGATE}1", "question": question, "passage": passage,
               "answers": [{"text": f"emoji {SURROGATE}", "answer_start": 4}]}
        path.write_text(json.dumps(row) + "\n" + json.dumps({"question": "Q2?", "passage": "Fine."}) + "\n")
    else:
        path = tmp_path / "qa.json"
        doc = {"data": [{"title": "T", "paragraphs": [{"context": passage, "qas": [
            {"id": f"q{SURROGATE}1", "question": question, "answers": [{"text": f"emoji {SURROGATE}", "answer_start": 4}]},
            {"id": "q2", "question": "Q2?", "answers": []}]}]}]}
        path.write_text(json.dumps(doc))  # json.dumps writes the surrogate as the escape "\ud83d"
    assert "\\ud83d" in path.read_text()
    out = tmp_path / "out"
    manifest = executor(path, out, mode="flag").run()
    # Counted in the manifest per row: in SQuAD both questions are on the damaged passage.
    assert manifest.count("source", "rows_repaired") == (1 if kind == "jsonl" else 2)
    english = [r for r in all_rows(out) if r["lang"] == "en"]
    first = next(r for r in english if "broke" in r["question"])
    assert first["question"] == "What broke \ufffd?" and first["passage"] == "The emoji \ufffd broke here. It has item 1."
    assert first["answers"] == [{"text": "emoji \ufffd", "answer_start": 4}]
    assert first["id"].endswith("q\ufffd1")
    assert len(english) == 2


def reader(path, **kw):
    return ReaderStep([open_source(str(path), batch_size=kw.pop("batch_size", 1000))], kw.pop("chunk_size", 4), **kw)


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_exact_duplicate_rows_are_dropped_and_counted(tmp_path):
    rows = [{"id": str(i), "question": f"Q{i}?", "passage": f"P{i % 3}."} for i in range(10)]
    duplicated = rows[:6] + [rows[2], rows[5]] + rows[6:] + [rows[9]]
    path = write_jsonl(tmp_path / "dup.jsonl", duplicated)
    for batch_size in (1000, 3):  # duplicates across source batches too
        chunks = list(reader(path, batch_size=batch_size).run())
        ids = [i for c in chunks for i in c.qa.column("id").to_pylist()]
        assert ids == [f"dup:{i}" for i in range(10)]
        counts = sum((c.stats["source"].counts for c in chunks), start=type(chunks[0].stats["source"].counts)())
        assert counts[skipped_key(SKIP_DUPLICATE_ID)] == 3 and counts["skipped"] == 3
        assert counts["rows_out"] == 10
    # Every partition drops the same rows: together they hold each id once.
    parts = [i for k in range(3) for c in reader(path, num_shards=3, shard_index=k).run()
             for i in c.qa.column("id").to_pylist()]
    assert sorted(parts) == sorted(f"dup:{i}" for i in range(10))


def test_conflicting_duplicate_ids_are_refused_naming_the_id(tmp_path):
    rows = [{"id": "a", "question": "Q1?", "passage": "P."}, {"id": "b", "question": "Q2?", "passage": "P."},
            {"id": "a", "question": "Q1, other?", "passage": "P."}]
    path = write_jsonl(tmp_path / "conflict.jsonl", rows)
    with pytest.raises(MtqaError, match=r"^question id 'conflict:a' appears twice with different content "
                                        r"\(rows 0 and 2 of .*conflict.jsonl, counting rows from 0\)"):
        list(reader(path).run())
    # The same id from two sources (two files of the same name) is caught too.
    other = tmp_path / "b"
    other.mkdir()
    write_jsonl(other / "conflict.jsonl", [{"id": "b", "question": "Other?", "passage": "P."}])
    step = ReaderStep([open_source(str(path)), open_source(str(other / "conflict.jsonl"))], 4)
    with pytest.raises(MtqaError, match=r"question id 'conflict:a'"):
        list(step.run())


def test_a_build_with_duplicates_writes_each_id_once(tmp_path):
    rows = [{"id": str(i), "question": f"Q{i}?", "passage": f"P{i}. Second."} for i in range(6)]
    path = write_jsonl(tmp_path / "d.jsonl", rows + rows[:2])
    out = tmp_path / "out"
    manifest = executor(path, out, mode="flag").run()
    keys = [(r["id"], r["lang"]) for r in all_rows(out)]
    assert len(keys) == len(set(keys)) == 6 * 3
    assert manifest.count("source", skipped_key(SKIP_DUPLICATE_ID)) == 2
