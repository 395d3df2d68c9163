"""EmbeddingCache: only new texts are encoded, across processes; damaged shards are recovered."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest

from mtqa.errors import MtqaError
from mtqa.eval.embedding_cache import EmbeddingCache, encode_texts
from mtqa.eval.encoders import load_encoder


class Counting:
    """A deterministic callable encoder that records every text it is asked to encode."""

    def __init__(self):
        self.seen: list[str] = []

    def __call__(self, texts):
        self.seen.extend(texts)
        return np.array([[len(t) + 1.0, sum(map(ord, t)) % 97, t.count(" ")] for t in texts])


def test_cache_encodes_only_new_texts_once(tmp_path):
    fn = Counting()
    enc = load_encoder(fn, name="counting")
    cache = EmbeddingCache(tmp_path)
    texts = ["alpha", "beta gamma", "alpha", "delta"]
    first = cache.encode(enc, texts, "passage")
    assert sorted(fn.seen) == ["alpha", "beta gamma", "delta"]
    np.testing.assert_array_equal(first, enc.encode(texts, "passage"))
    fn.seen.clear()
    again = cache.encode(enc, ["delta", "alpha", "epsilon"], "passage")
    assert fn.seen == ["epsilon"]
    np.testing.assert_array_equal(again[:2], first[[3, 0]])
    fn.seen.clear()
    np.testing.assert_array_equal(cache.encode(enc, texts, "passage"), first)
    np.testing.assert_array_equal(EmbeddingCache(tmp_path).encode(enc, texts, "passage"), first)  # a new process
    assert fn.seen == []
    cache.encode(enc, ["alpha"], "query")  # another kind: its own keys
    assert fn.seen == ["alpha"]
    fn.seen.clear()
    cache.encode(load_encoder(fn, name="counting-v2"), ["alpha"], "passage")  # another encoder name
    assert fn.seen == ["alpha"]
    assert len(list(tmp_path.glob("*/name.txt"))) == 2


def test_cache_ignores_a_truncated_shard_and_recovers(tmp_path):
    fn = Counting()
    enc = load_encoder(fn, name="counting")
    cache = EmbeddingCache(tmp_path)
    expected = cache.encode(enc, ["one", "two"], "passage")
    (shard,) = tmp_path.glob("*/passage/shard-*.npz")
    shard.write_bytes(shard.read_bytes()[:40])  # as if a crash left half a file under its final name
    (shard.parent / ".shard-x.npz.tmp").write_bytes(b"junk")  # and a stray temporary file
    fn.seen.clear()
    with pytest.warns(UserWarning, match="unreadable shard"):
        result = cache.encode(enc, ["two", "one"], "passage")
    assert sorted(fn.seen) == ["one", "two"]
    np.testing.assert_array_equal(result, expected[::-1])
    fn.seen.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(cache.encode(enc, ["one", "two"], "passage"), expected)
    assert fn.seen == []

    (shard,) = tmp_path.glob("*/passage/shard-*.npz")  # the same damage, seen by a fresh process
    shard.write_bytes(shard.read_bytes()[:-30])
    with pytest.warns(UserWarning, match="unreadable shard"):
        result = EmbeddingCache(tmp_path).encode(enc, ["one", "two"], "passage")
    assert sorted(fn.seen) == ["one", "two"]
    np.testing.assert_array_equal(result, expected)
    assert len(list(tmp_path.glob("*/passage/*.corrupt"))) == 2


def test_cache_crash_during_write_leaves_nothing_half_written(tmp_path, monkeypatch):
    fn = Counting()
    enc = load_encoder(fn, name="counting")
    cache = EmbeddingCache(tmp_path, shard_size=2)

    real_savez = np.savez
    calls = []

    def crash_on_second(f, **arrays):
        calls.append(1)
        if len(calls) == 2:
            f.write(b"PK\x03\x04partial")
            raise KeyboardInterrupt("killed")
        real_savez(f, **arrays)

    monkeypatch.setattr(np, "savez", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        cache.encode(enc, ["a", "b", "c", "d"], "passage")
    monkeypatch.setattr(np, "savez", real_savez)
    shards = list(tmp_path.glob("*/passage/*"))
    assert len(shards) == 1 and shards[0].name.startswith("shard-")  # the first shard committed, no temp left
    fn.seen.clear()
    result = cache.encode(enc, ["a", "b", "c", "d"], "passage")
    assert fn.seen == ["c", "d"]
    np.testing.assert_array_equal(result, enc.encode(["a", "b", "c", "d"], "passage"))


def test_encode_texts_goes_through_the_cache_only_when_given(tmp_path, caplog):
    fn = Counting()
    enc = load_encoder(fn, name="counting")
    np.testing.assert_array_equal(encode_texts(enc, ["a", "b"], "query"), enc.encode(["a", "b"], "query"))
    assert not tmp_path.joinpath("cache").exists()
    cache = EmbeddingCache(tmp_path / "cache")
    with caplog.at_level(logging.INFO, logger="mtqa.eval.embedding_cache"):
        encode_texts(enc, ["a", "b"], "query", cache=cache)
        encode_texts(enc, ["a", "b", "c"], "query", cache=cache)
    # Only the cache's own lines: another test may have set the progress logger to INFO.
    assert [r.getMessage().split(": ", 1)[1] for r in caplog.records if r.name == "mtqa.eval.embedding_cache"] == [
        "0 of 2 distinct query texts cached, encoding 2", "2 of 3 distinct query texts cached, encoding 1"]
    fn.seen.clear()
    encode_texts(enc, ["c", "a"], "query", cache=cache)
    assert fn.seen == []


def test_a_changed_dimension_under_the_same_name_is_one_line_error(tmp_path):
    cache = EmbeddingCache(tmp_path)
    cache.encode(load_encoder(lambda t: np.ones((len(t), 3)), name="same"), ["a"], "passage")
    with pytest.raises(MtqaError, match="cached vectors have dimension 3, the encoder now returns 2") as info:
        cache.encode(load_encoder(lambda t: np.ones((len(t), 2)), name="same"), ["b"], "passage")
    assert "\n" not in str(info.value)
