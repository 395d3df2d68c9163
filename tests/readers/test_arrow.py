"""Arrow data as a source: datasets save_to_disk folders, Arrow files, mtqa's own builds."""

import pyarrow as pa
import pytest

from mtqa.readers import open_source
from tests.readers.helpers import error_of, read_all

ROWS = {"id": ["a", "b"], "title": ["T", "T"], "question": ["Q one?", "Q two?"],
        "context": ["Alpha beta.", "Gamma delta."],
        "answers": [{"text": ["beta"], "answer_start": [6]}, {"text": [], "answer_start": []}]}


def test_a_datasets_save_to_disk_folder_reads_like_a_file(tmp_path):
    datasets = pytest.importorskip("datasets")
    datasets.Dataset.from_dict(ROWS).save_to_disk(str(tmp_path / "ds"))
    rows = read_all(str(tmp_path / "ds")).to_pylist()
    assert [(r["id"], r["passage"], r["answers"]) for r in rows] == [
        ("ds:a", "Alpha beta.", [{"text": "beta", "answer_start": 6}]), ("ds:b", "Gamma delta.", [])]
    datasets.DatasetDict({"train": datasets.Dataset.from_dict(ROWS),
                          "validation": datasets.Dataset.from_dict(ROWS)}).save_to_disk(str(tmp_path / "dd"))
    assert "is a DatasetDict with splits train, validation: pick one with --split" in error_of(
        open_source, str(tmp_path / "dd"))
    src = open_source(f"arrow:{tmp_path / 'dd'}", split="validation")
    assert src.split == "validation" and len(read_all(f"arrow:{tmp_path / 'dd'}", split="validation")) == 2


def long_table() -> pa.Table:
    return pa.table({
        "id": ["x:1", "x:1", "x:1", "x:2", "x:3"],
        "lang": ["en", "de", "fr", "en", "de"],
        "source": ["x"] * 5,
        "question": ["Where?", "Wo?", "Où ?", "Who?", "Nur hier?"],
        "passage": ["In Paris.", "In Paris.", "À Paris.", "Anna did.", "Hier."],
        "answers": [[{"text": "Paris", "answer_start": 3}], [{"text": "Paris", "answer_start": 9}],
                    [{"text": "Paris", "answer_start": 2}], [], []],
        "origin": ["source", "human", "mt", "source", "human"],
    })


def test_long_format_arrow_is_parallel_data_joined_by_id(tmp_path):
    path = tmp_path / "rows.arrow"
    with pa.OSFile(str(path), "wb") as f, pa.ipc.new_file(f, long_table().schema) as w:
        w.write_table(long_table())
    src = open_source(str(path))
    assert src.langs == ("en", "de", "fr") and src.name == "x"  # the rows' own source name: ids unchanged
    rows = read_all(str(path)).to_pylist()
    assert [r["id"] for r in rows] == ["x:1", "x:2"]
    assert [(t["lang"], t["origin"], t["answers"]) for t in rows[0]["parallel"]] == [
        ("de", "human", [{"text": "Paris", "answer_start": 9}]),  # as given: assemble checks it
        ("fr", "mt", [{"text": "Paris", "answer_start": 2}])]
    list(src.batches())
    assert src.stats.counts["skipped_not_in_source_lang"] == 1  # x:3 has no English row


def test_an_arrow_stream_without_a_passage_names_its_columns(tmp_path):
    path = tmp_path / "q.arrow"
    table = pa.table({"question": ["Q?"], "answer": ["A"]})
    with pa.OSFile(str(path), "wb") as f, pa.ipc.new_stream(f, table.schema) as w:
        w.write_table(table)
    assert error_of(open_source, str(path)).endswith(
        "q.arrow: no passage column (columns: question, answer), and a build needs the question and passage of "
        "every row")
    (tmp_path / "empty").mkdir()
    assert "no Arrow data" in error_of(open_source, str(tmp_path / "empty"))
    (tmp_path / "junk.arrow").write_bytes(b"not arrow")
    assert "neither an Arrow IPC file nor an Arrow IPC stream" in error_of(open_source, str(tmp_path / "junk.arrow"))
