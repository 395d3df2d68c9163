"""The reader step: chunk sizes and numbering, per-chunk counts that add up to the sources'
own (skips after the last row included), partitions that together give the input once, the
identity without the looked-up revision, and the rows the pre-restructure reader gave."""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter

import pyarrow as pa
import pytest

from mtqa.errors import MtqaError
from mtqa.readers import ReaderStep, open_source
from mtqa.readers import hub as hub_mod
from mtqa.readers.step import partition_mask, shard_of
from mtqa.schema import QA_SCHEMA
from tests.readers.helpers import read_all, write_jsonl


def chunks_of(step: ReaderStep) -> list:
    chunks = list(step.run(iter(())))
    for chunk in chunks:
        assert chunk.qa.schema == QA_SCHEMA
        assert all(column.num_chunks == 1 for column in chunk.qa.columns)  # combined
        assert chunk.stats["source"].counts["rows_out"] == chunk.qa.num_rows
    return chunks


def ids(chunks) -> list[str]:
    return [i for chunk in chunks for i in chunk.qa.column("id").to_pylist()]


def total(chunks) -> Counter:
    counts = Counter()
    for chunk in chunks:
        counts.update(chunk.stats["source"].counts)
    return counts


@pytest.mark.parametrize(("chunk_size", "batch_size", "sizes"), [
    (10, 10, [10] * 6 + [4]), (10, 3, [10] * 6 + [4]), (64, 1000, [64]), (100, 7, [64]), (1, 1000, [1] * 64),
    (27, 5, [27, 27, 10]),
])
def test_chunks_have_chunk_size_rows_in_input_order(chunk_size, batch_size, sizes):
    step = ReaderStep([open_source("sample", batch_size=batch_size)], chunk_size)
    chunks = chunks_of(step)
    assert [c.index for c in chunks] == list(range(len(sizes)))
    assert [c.qa.num_rows for c in chunks] == sizes
    assert pa.concat_tables([c.qa for c in chunks]).equals(read_all("sample"))


def test_chunks_run_across_sources(tmp_path):
    path = write_jsonl(tmp_path / "extra.jsonl", [{"question": f"Q{i}?", "passage": f"P{i}."} for i in range(15)])
    step = ReaderStep.from_specs(["sample", str(path)], 25, limit=40)
    chunks = chunks_of(step)
    assert [c.qa.num_rows for c in chunks] == [25, 25, 5]
    assert ids(chunks) == (read_all("sample", limit=40).column("id").to_pylist()
                           + read_all(str(path)).column("id").to_pylist())
    assert chunks[1].qa.column("source").to_pylist() == ["sample"] * 15 + ["extra"] * 10
    assert total(chunks) == Counter(rows_out=55)


def test_run_ignores_its_input_and_rereads_the_same_chunks():
    step = ReaderStep([open_source("sample")], 30)
    first = chunks_of(step)
    again = list(step.run([object()]))  # the input stream is not read
    assert [c.index for c in again] == [0, 1, 2]
    assert all(a.qa.equals(b.qa) for a, b in zip(first, again, strict=True))
    with pytest.raises(TypeError, match="first step"):
        step.process(first[0])


def test_bad_arguments_are_one_line():
    sample = [open_source("sample")]
    for args, message in [
        (([], 10), "no sources given"),
        ((sample, 0), "chunk_size must be at least 1, got 0"),
        ((sample, 10, 0), "num_shards must be at least 1, got 0"),
        ((sample, 10, 3, 3), "shard index 3 is outside 0..2 (num_shards=3)"),
    ]:
        with pytest.raises(MtqaError) as info:
            ReaderStep(*args)
        assert str(info.value) == message
    with pytest.raises(MtqaError, match="chunk_size must be at least 1"):
        ReaderStep.from_specs(["sample"], 0)


# -- counts per chunk: Hub rows skipped, attributed to the chunk of the row after them --------

# "S" is a Hub row with an empty question (skipped), "Rn" a good row with passage n.
PATTERN = ["S", "R0", "R1", "S", "R2", "R3", "S", "S", "R4", "R5", "R6", "S", "S"]


def hub_rows(pattern):
    return [{"id": f"s{i}", "question": "", "context": "Skipped."} if tok == "S"
            else {"id": tok, "question": f"Question {tok}?", "context": f"Passage {tok[1:]}."}
            for i, tok in enumerate(pattern)]


@pytest.fixture
def fake_hub(monkeypatch):
    """``datasets.load_dataset`` streaming ``hub_rows(pattern)`` for ``hub:me/qa`` (PATTERN
    unless the test calls the fixture's value with another)."""
    import datasets

    def serve(pattern):
        monkeypatch.setattr(datasets, "load_dataset", lambda path, name=None, **kw:
                            datasets.Dataset.from_list(hub_rows(pattern)).to_iterable_dataset())

    serve(PATTERN)
    monkeypatch.setattr(hub_mod, "resolve_revision", lambda hub_id, rev: rev or "f" * 40)
    return serve


def expected_skips(pattern, chunk_size, num_shards=1, shard_index=0) -> dict[int, int]:
    """Each skip counts in the chunk (of its partition) of the next good row, or of the last
    good row when none follows."""
    good = [(i, tok) for i, tok in enumerate(pattern) if tok != "S"]
    shard = {tok: shard_of(f"Passage {tok[1:]}.", num_shards) for _, tok in good}
    position, mine = {}, 0
    for _, tok in good:
        if shard[tok] == shard_index:
            position[tok] = mine
            mine += 1
    out = Counter()
    for i, tok in enumerate(pattern):
        if tok == "S":
            owner = next((t for j, t in good if j > i), good[-1][1])
            if shard[owner] == shard_index:
                out[position[owner] // chunk_size] += 1
    return dict(out)


@pytest.mark.parametrize("batch_size", [1, 2, 3, 1000])
def test_skips_count_in_the_chunk_of_the_next_row_and_trailing_ones_in_the_last(fake_hub, batch_size):
    source = open_source("hub:me/qa", batch_size=batch_size)
    chunks = chunks_of(ReaderStep([source], 2))
    assert [c.qa.num_rows for c in chunks] == [2, 2, 2, 1]
    skipped = [c.stats["source"].counts["skipped"] for c in chunks]
    assert skipped == [1, 1, 2, 2]  # the two after R6, the input's last row, are in its chunk
    assert {i: s for i, s in enumerate(skipped) if s} == expected_skips(PATTERN, 2)
    assert total(chunks) == source.stats.counts == Counter(
        rows_out=7, skipped=6, skipped_empty_question=6)


def test_skips_after_the_last_full_chunk_wait_for_it(fake_hub):
    """R0 R1 | R2 R3 then skips: the last chunk is full when the skips come, so it must be held."""
    fake_hub(["R0", "R1", "R2", "R3", "S", "S", "S"])
    chunks = chunks_of(ReaderStep([open_source("hub:me/qa", batch_size=2)], 2))
    assert [c.stats["source"].counts["skipped"] for c in chunks] == [0, 3]


@pytest.mark.parametrize(("num_shards", "batch_size"), [(2, 2), (2, 1000), (3, 3), (3, 1000)])
def test_partition_counts_add_up_to_the_sources_counts(fake_hub, num_shards, batch_size):
    totals, rows = Counter(), []
    for index in range(num_shards):
        source = open_source("hub:me/qa", batch_size=batch_size)
        chunks = chunks_of(ReaderStep([source], 2, num_shards, index))
        skipped = {i: c.stats["source"].counts["skipped"] for i, c in enumerate(chunks)
                   if c.stats["source"].counts["skipped"]}
        assert skipped == expected_skips(PATTERN, 2, num_shards, index)
        assert source.stats.counts == Counter(rows_out=7, skipped=6, skipped_empty_question=6)  # read it all
        totals.update(total(chunks))
        rows += ids(chunks)
    assert totals == Counter(rows_out=7, skipped=6, skipped_empty_question=6)  # each row counted once
    assert sorted(rows) == sorted(f"qa:R{i}" for i in range(7))


# -- partitions ----------------------------------------------------------------------------


def test_partitions_together_give_every_row_once_and_keep_passages_together():
    full = read_all("sample")
    order = {row_id: i for i, row_id in enumerate(full.column("id").to_pylist())}
    seen: list[str] = []
    for index in range(3):
        chunks = chunks_of(ReaderStep([open_source("sample", batch_size=7)], 5, 3, index))
        part = ids(chunks)
        assert [c.index for c in chunks] == list(range(len(chunks)))
        assert all(c.qa.num_rows == 5 for c in chunks[:-1])
        assert part == sorted(part, key=order.get)  # input order within the partition
        passages = {p for c in chunks for p in c.qa.column("passage").to_pylist()}
        assert {shard_of(p, 3) for p in passages} == {index}
        seen += part
    assert sorted(seen) == sorted(order) and len(seen) == len(set(seen)) == 64


def test_partition_mask_hashes_distinct_passages():
    passages = pa.array(["b", "a", "b", "c", "a"])
    for index in range(3):
        mask = partition_mask(passages, 3, index).tolist()
        assert mask == [shard_of(p, 3) == index for p in passages.to_pylist()]


def test_real_partitions_match_the_full_build(shared_data):
    spec = str(shared_data / "xquad" / "xquad.en.json")
    full = ids(chunks_of(ReaderStep([open_source(spec)], 500)))
    parts = [ids(chunks_of(ReaderStep([open_source(spec)], 500, 4, i))) for i in range(4)]
    assert sorted(i for part in parts for i in part) == sorted(full) and len(full) == 1190
    assert all(len(part) < 1190 for part in parts)


# -- identity, describe, logging ------------------------------------------------------------


def test_identity_leaves_out_the_looked_up_revision(fake_hub, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [{"question": "Q?", "passage": "P."}])
    step = ReaderStep([open_source("hub:me/qa"), open_source(str(path))], 10)
    hub_id, file_id = step.identity()["sources"]
    assert "revision" not in hub_id and hub_id["requested_revision"] is None and hub_id["hub_id"] == "me/qa"
    hub_desc, file_desc = step.describe()["sources"]
    assert hub_desc["revision"] == "f" * 40 and {k: v for k, v in hub_desc.items() if k != "revision"} == hub_id
    assert file_id == file_desc and file_desc["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    pinned = ReaderStep([open_source("hub:me/qa@v1.0")], 10)
    assert pinned.identity()["sources"][0]["requested_revision"] == "v1.0"


def test_logs_each_source_and_each_chunk(caplog):
    with caplog.at_level(logging.DEBUG, logger="mtqa.readers"):
        chunks_of(ReaderStep.from_specs(["sample"], 40))
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("source sample: embedded XQuAD English sample mtqa/data/sample/") for m in messages)
    assert [m for m in messages if m.startswith("chunk ")] == [
        "chunk 0: 40 rows {'rows_out': 40}", "chunk 1: 24 rows {'rows_out': 24}"]


# -- the rows of the pre-restructure reader --------------------------------------------------


def test_real_chunks_are_the_rows_the_old_reader_gave(shared_data):
    """sha256 of each chunk's rows as JSON, from mtqa.stages.source + LocalExecutor._chunks
    (commit b8b3b3c), for ``--sources dev-v2.0.json --limit 1500`` and its partition 1 of 3.
    That reader labelled every local file ``train`` (now the name's split, so it is asked for
    here) and had no ``parallel`` column (null for a file of one language)."""
    spec = str(shared_data / "squad-v2" / "dev-v2.0.json")

    def digests(**kw):
        step = ReaderStep.from_specs([spec], 1000, limit=1500, split="train", **kw)
        chunks = chunks_of(step)
        assert all(c.qa.column("parallel").null_count == c.qa.num_rows for c in chunks)
        return [(c.index, c.qa.num_rows, hashlib.sha256(json.dumps(
            c.qa.drop_columns(["parallel"]).to_pylist(), ensure_ascii=False, sort_keys=True).encode()).hexdigest())
            for c in chunks]

    assert digests() == [
        (0, 1000, "6ffdff8177c828dc3d09b123238ff7a92e9ede227e370f733cc476f3d03856bc"),
        (1, 500, "4d9665c1e8097b917df3354fd83c8cbed2c65db68cdffa8d6acf7780db329e65"),
    ]
    assert digests(num_shards=3, shard_index=1) == [
        (0, 477, "31fd9bed7346fa5bd9589fad4bdae86fcc1e1660b05a1777c35877a874f50cc4"),
    ]
