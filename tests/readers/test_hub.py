"""Hub sources streamed through a patched ``datasets.load_dataset``: ids, revisions, splits,
skipped rows and one-line failures."""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pytest

from mtqa.readers import HUB_SOURCES, open_source
from mtqa.readers import hub as hub_mod
from mtqa.schema import QA_SCHEMA
from tests.readers.helpers import assert_spans, error_of, read_all
from tests.readers.hub_rows import HUB_ROWS


@pytest.fixture
def fake_hub(monkeypatch):
    """``datasets.load_dataset`` answering from HUB_ROWS, recording its calls."""
    import datasets

    calls = []

    def load_dataset(path, name=None, *, split=None, streaming=False, revision=None, **kw):
        calls.append({"path": path, "name": name, "split": split, "streaming": streaming, "revision": revision})
        by_id = {HUB_SOURCES[key].hub_id: rows for key, rows in HUB_ROWS.items()}
        if path not in by_id:
            raise FileNotFoundError(f"Dataset '{path}' doesn't exist on the Hub\nor cannot be accessed.")
        return datasets.Dataset.from_list(by_id[path]).to_iterable_dataset()

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    monkeypatch.setattr(hub_mod, "resolve_revision", lambda hub_id, rev: rev or "f" * 40)
    return calls


@pytest.mark.parametrize(("name", "rows", "skipped"), [
    ("squad", 1, 0), ("squad_v2", 2, 0), ("nq", 1, 0), ("trivia_qa", 1, 1), ("ms_marco", 1, 1),
    ("wiki_qa", 1, 1), ("duorc", 2, 0), ("newsqa", 1, 0), ("yahoo_qa", 1, 0),
])
def test_hub_sources_stream_through_load_dataset(fake_hub, name, rows, skipped):
    src = open_source(name, batch_size=1)
    table = pa.Table.from_batches(list(src.batches()), schema=QA_SCHEMA)
    spec = HUB_SOURCES[name]
    assert fake_hub == [{"path": spec.hub_id, "name": spec.config, "split": "train", "streaming": True,
                         "revision": None}]
    assert table.num_rows == rows and src.stats.counts["skipped"] == skipped
    assert all(i.startswith(f"{name}:") for i in table.column("id").to_pylist())
    assert set(table.column("source").to_pylist()) == {name}
    assert_spans(table.to_pylist())
    desc = src.describe()
    assert desc["hub_id"] == spec.hub_id and desc["config"] == spec.config and desc["revision"] == "f" * 40


def test_hub_ids_are_stable_and_prefixed(fake_hub):
    squad = read_all("squad_v2").column("id").to_pylist()
    assert squad == ["squad_v2:56ddde6b9a695914005b9628", "squad_v2:5ad39d53604f3c001a3fe8d1"]
    wiki = read_all("wiki_qa").column("id").to_pylist()
    assert wiki == [f"wiki_qa:Q1#{hashlib.sha1(HUB_ROWS['wiki_qa'][1]['answer'].encode()).hexdigest()[:12]}"]
    assert read_all("nq").column("id").to_pylist() == read_all("nq", limit=1).column("id").to_pylist()


def test_hub_revision_split_and_skips(fake_hub):
    src = open_source("duorc@abc123", split="validation")
    assert src.describe()["requested_revision"] == "abc123" and src.describe()["revision"] == "abc123"
    HUB_ROWS["yahoo_qa"].append({"id": "e", "question": "", "answer": "A.", "nbestanswers": [], "main_category": ""})
    try:
        yahoo = open_source("yahoo_qa")
        assert read_all("yahoo_qa").num_rows == 1
        list(yahoo.batches())
        assert yahoo.stats.counts["skipped_empty_question"] == 1
    finally:
        HUB_ROWS["yahoo_qa"].pop()
    list(src.batches())
    assert fake_hub[-1]["split"] == "validation" and fake_hub[-1]["revision"] == "abc123"


def test_generic_hub_dataset_uses_the_file_layout(fake_hub, monkeypatch):
    rows_by_id = {"me/my-qa": [{"question": "Q?", "context": "Ctx.", "id": "r1"}]}
    import datasets

    monkeypatch.setattr(datasets, "load_dataset", lambda path, name=None, **kw:
                        datasets.Dataset.from_list(rows_by_id[path]).to_iterable_dataset())
    assert read_all("hub:me/my-qa").column("id").to_pylist() == ["my-qa:r1"]
    assert "bad Hub dataset id" in error_of(open_source, "hub:not-a-repo")


def test_hub_failures_are_one_line(fake_hub, monkeypatch):
    assert error_of(open_source, "hub:nobody/nothing") == (
        "cannot open Hub dataset nobody/nothing split 'train': "
        "FileNotFoundError: Dataset 'nobody/nothing' doesn't exist on the Hub")
    HUB_ROWS["squad"].append({"id": "x", "title": "T", "question": "Q?", "answers": {"text": [], "answer_start": []},
                              "context": None})
    try:
        message = error_of(open_source, "squad")
    finally:
        HUB_ROWS["squad"].pop()
    assert message == "squad (rajpurkar/squad (plain_text) split 'train') row 1: missing field 'passage'"
    monkeypatch.setitem(HUB_ROWS, "squad", [{"id": "x", "question": "Q?"}])
    assert error_of(open_source, "squad").endswith("row 0: missing field 'answers'")
    monkeypatch.setitem(HUB_ROWS, "squad", [{"id": "x", "question": "Q?", "context": "C.", "answers": None}])
    assert error_of(open_source, "squad").endswith(
        "row 0: unexpected row layout (TypeError: 'NoneType' object is not subscriptable)")
