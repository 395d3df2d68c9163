"""The compact id record the reader checks duplicate ids against: it must answer as a dict would."""

from __future__ import annotations

import hashlib

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mtqa.readers.seen import IdRecord, id_hash


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=6), st.integers(0, 3)), max_size=120), st.integers(1, 9))
def test_the_record_finds_what_a_dict_finds(rows, flush_at):
    """Ids added in batches (flushed into runs of ``flush_at`` and merged) are found with the
    digest, source and row of their first addition, and ids never added are not found."""
    record, reference = IdRecord(flush_at=flush_at), {}
    for row, (qid, source) in enumerate(rows):
        hashed = id_hash(qid)
        found = record.find([hashed])
        assert found.get(hashed) == reference.get(qid)
        if qid not in reference:
            reference[qid] = (_digest(f"{qid}/{row}"), f"source-{source}", row)
            record.add(hashed, *reference[qid])
    assert len(record) == len(reference)
    assert len(record.runs) <= max(1, int(np.log2(max(1, len(reference)) / flush_at)) + 2)
    everything = record.find([id_hash(q) for q in reference] + [id_hash("never added")])
    assert everything == {id_hash(q): v for q, v in reference.items()}


def test_ids_whose_hashes_share_the_sort_key_stay_apart():
    """A 64-bit collision of the sort key between two ids: the check half tells them apart."""
    record = IdRecord(flush_at=2)
    key = (7).to_bytes(8, "little")
    first, second, third = key + b"\x01" * 8, key + b"\x02" * 8, key + b"\x03" * 8
    record.add(first, _digest("a"), "s", 0)
    record.add(second, _digest("b"), "s", 1)  # flushes both into one run
    assert not record.recent and len(record.runs) == 1
    assert record.find([second, first, third]) == {first: (_digest("a"), "s", 0), second: (_digest("b"), "s", 1)}


def test_each_id_takes_44_bytes_once_flushed():
    record = IdRecord()
    digest = _digest("row")
    for i in range(200_000):
        record.add(id_hash(f"q{i}"), digest, "file.jsonl", i)
    stored = sum(sum(getattr(run, f).nbytes for f in run.__slots__) for run in record.runs)
    assert stored / sum(len(run) for run in record.runs) == 44
    assert record.find([id_hash("q123456"), id_hash("q200000")]) == {id_hash("q123456"): (digest, "file.jsonl", 123456)}
