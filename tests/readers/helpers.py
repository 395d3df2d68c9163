"""Helpers shared by the reader tests."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pytest

from mtqa.errors import MtqaError
from mtqa.readers import open_source
from mtqa.schema import QA_SCHEMA


def read_all(spec, **kw) -> pa.Table:
    src = open_source(spec, **kw)
    batches = list(src.batches())
    for batch in batches:
        assert batch.schema == QA_SCHEMA
    return pa.Table.from_batches(batches, schema=QA_SCHEMA)


def assert_spans(rows):
    located = 0
    for row in rows:
        for ans in row["answers"]:
            if ans["answer_start"] >= 0:
                start = ans["answer_start"]
                assert row["passage"][start : start + len(ans["text"])] == ans["text"]
                located += 1
    return located


def error_of(func, *args, **kw) -> str:
    with pytest.raises(MtqaError) as info:
        result = func(*args, **kw)
        if hasattr(result, "batches"):
            list(result.batches())
    message = str(info.value)
    assert "\n" not in message and message
    return message


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path
