"""A done chunk is trusted only if its marker is whole and its files match their recorded
SHA-256 (issue 13, item 3): a damaged one is found, named and built again."""

from __future__ import annotations

import json

import pytest

from mtqa.errors import MtqaError
from mtqa.io import sha256_file
from tests.reliability.conftest import executor, markers, shard_bytes


def flip_one_bit(path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def rebuilt(jsonl, out, expected):
    manifest = executor(jsonl, out).run()
    assert shard_bytes(out) == expected
    for f in manifest.files:
        assert sha256_file(out / f.path) == f.sha256
    assert json.loads((out / "manifest.json").read_text())["files"] == [f.to_dict() for f in manifest.files]
    return manifest.this_run


@pytest.fixture
def built(jsonl, tmp_path):
    out = tmp_path / "out"
    executor(jsonl, out).run()
    return out, shard_bytes(out)


def test_a_shard_with_one_bit_flipped_is_rebuilt(jsonl, built):
    out, expected = built
    shard = sorted((out / "data").glob("*.arrow"))[2]
    flip_one_bit(shard, shard.stat().st_size // 2)  # same size: a size check cannot see it
    run = rebuilt(jsonl, out, expected)
    assert run.chunks_built == 1 and run.chunks_done_before == 5
    assert run.redone == [f"chunk 2: {shard} does not match its recorded SHA-256"]


def test_a_damaged_rejected_file_is_rebuilt(jsonl, built):
    out, expected = built
    rejected = sorted((out / "rejected").glob("*.arrow"))[0]
    flip_one_bit(rejected, 100)
    run = rebuilt(jsonl, out, expected)
    assert run.chunks_built == 1 and "does not match its recorded SHA-256" in run.redone[0]


@pytest.mark.parametrize("content", [b"", b"{", b"[]", b'{"chunk": 1}', b"\xff\xfe"],
                         ids=["emptied", "cut", "not an object", "fields missing", "not UTF-8"])
def test_a_damaged_marker_means_the_chunk_is_built_again(jsonl, built, content):
    out, expected = built
    marker = markers(out)[1]
    marker.write_bytes(content)
    run = rebuilt(jsonl, out, expected)
    assert run.chunks_built == 1
    assert run.redone == [f"chunk 1: its completion marker {marker} is damaged"]
    assert json.loads(marker.read_text())["chunk"] == 1  # written again, whole


def test_a_missing_shard_is_rebuilt(jsonl, built):
    out, expected = built
    missing = sorted((out / "data").glob("*.arrow"))[-1]
    missing.unlink()
    run = rebuilt(jsonl, out, expected)
    assert run.redone == [f"chunk 5: {missing} is missing"]


def test_a_damaged_build_json_with_finished_chunks_is_one_line(jsonl, built):
    out, _ = built
    (out / "build.json").write_text("")
    with pytest.raises(MtqaError, match=r"build.json is damaged \(not a JSON object\); restore it"):
        executor(jsonl, out).run()
