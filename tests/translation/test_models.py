import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from mtqa.errors import MtqaError
from mtqa.translation import models
from mtqa.translation.models import (
    FINGERPRINT_FILE,
    MODEL_FILE,
    converted_dir,
    load_ct2_model,
    model_fingerprint,
    resolve_model,
)
from tests.translation.conftest import MARIAN_TARGET_TOKENS


@pytest.mark.parametrize(
    ("name", "family", "spm"),
    [
        ("marian", "marian", ("source.spm", "target.spm")),
        ("marian-multi", "marian", ("source.spm", "target.spm")),
        ("m2m100", "m2m100", ("sentencepiece.bpe.model", "sentencepiece.bpe.model")),
        ("nllb", "nllb", ("sentencepiece.bpe.model", "sentencepiece.bpe.model")),
    ],
)
def test_hf_checkpoint_is_converted_into_the_cache(tiny, name, family, spm):
    info = resolve_model(str(tiny.hf[name]), tiny.cache_dir)
    assert info.family == family
    assert info.path.parent == tiny.cache_dir / "ct2"
    assert re.fullmatch(rf"{re.escape(tiny.hf[name].name)}-[0-9a-f]{{12}}", info.path.name)
    assert (info.source_spm.name, info.target_spm.name) == spm
    assert info.source_spm.parent == info.path
    assert re.fullmatch(r"[0-9a-f]{64}", info.fingerprint)
    assert not list(info.path.parent.glob(".*tmp*"))  # nothing left of the temporary directory


def test_second_resolve_does_not_convert_again(tiny, monkeypatch):
    first = resolve_model(str(tiny.hf["nllb"]), tiny.cache_dir)

    def fail(*args, **kwargs):
        raise AssertionError("converted again")

    monkeypatch.setattr(models, "convert_checkpoint", fail)
    again = resolve_model(str(tiny.hf["nllb"]), tiny.cache_dir)
    assert again == first


def test_conversion_happens_once_per_spec_and_quantization(tiny, tmp_path, monkeypatch):
    calls = []
    real = models.convert_checkpoint
    monkeypatch.setattr(models, "convert_checkpoint", lambda *a, **k: calls.append(k) or real(*a, **k))
    a = resolve_model(str(tiny.hf["marian"]), tmp_path)
    b = resolve_model(str(tiny.hf["marian"]), tmp_path)
    c = resolve_model(str(tiny.hf["marian"]), tmp_path, quantization="int8")
    assert calls == [{"quantization": None}, {"quantization": "int8"}]
    assert a.path == b.path != c.path
    assert a.fingerprint != c.fingerprint


def test_metadata_of_converted_models(tiny):
    single = json.loads((tiny.ct2("marian") / MODEL_FILE).read_text())
    assert {k: single[k] for k in ("format", "family", "name", "source_lang", "target_langs")} == {
        "format": 1,
        "family": "marian",
        "name": "hf-marian-en-de",
        "source_lang": "en",
        "target_langs": ["de"],
    }
    assert "target_tokens" not in single
    multi = json.loads((tiny.ct2("marian-multi") / MODEL_FILE).read_text())
    assert multi["target_tokens"] == {
        "de": ">>de<<",
        "fr": ">>fra<<",
        "x-atbash": ">>x-atbash<<",
        "x-rot13": ">>x-rot13<<",
    }
    assert multi["target_langs"] is None
    nllb = json.loads((tiny.ct2("nllb") / MODEL_FILE).read_text())
    assert (nllb["family"], nllb["source_lang"], nllb["target_langs"], nllb["source_spm"]) == (
        "nllb",
        None,
        None,
        "sentencepiece.bpe.model",
    )


def test_languages_of_each_family(tiny):
    single = resolve_model(str(tiny.hf["marian"]), tiny.cache_dir)
    assert (single.source_lang, single.target_langs, single.lang_tokens, single.multi_target) == (
        "en",
        ("de",),
        {},
        False,
    )
    multi = resolve_model(str(tiny.hf["marian-multi"]), tiny.cache_dir)
    assert multi.multi_target
    assert multi.target_tokens == {
        "de": ">>de<<", "fr": ">>fra<<", "x-atbash": ">>x-atbash<<", "x-rot13": ">>x-rot13<<",
    }
    assert multi.target_langs == ("de", "fr", "x-atbash", "x-rot13")
    assert multi.control_tokens == frozenset(MARIAN_TARGET_TOKENS)
    m2m = resolve_model(str(tiny.hf["m2m100"]), tiny.cache_dir)
    assert (m2m.lang_tokens["de"], m2m.lang_tokens["zh"], m2m.source_lang) == ("__de__", "__zh__", None)
    assert {"ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh"} <= set(m2m.target_langs)
    assert "madeupword0" in m2m.control_tokens and "__ast__" in m2m.control_tokens
    nllb = resolve_model(str(tiny.hf["nllb"]), tiny.cache_dir)
    assert (nllb.lang_tokens["de"], nllb.lang_tokens["zh"], nllb.lang_tokens["ar"]) == (
        "deu_Latn",
        "zho_Hans",
        "arb_Arab",
    )
    assert "br" not in nllb.target_langs  # no FLORES-200 code
    assert "prs_Arab" in nllb.control_tokens  # a language mtqa has no ISO code for is still never output


def test_m2m100_vocabulary_keeps_the_language_tokens(tiny):
    """transformers 5's M2M100Tokenizer.get_vocab() leaves them out; the conversion adds them back."""
    vocab = json.loads((tiny.ct2("m2m100") / "shared_vocabulary.json").read_text())
    assert vocab[-108:-8] == [f"__{c}__" for c in _m2m100_codes()]
    assert vocab[-8:] == [f"madeupword{i}" for i in range(8)]
    assert vocab[:4] == ["<s>", "<pad>", "</s>", "<unk>"]


def _m2m100_codes():
    from transformers.models.m2m_100.tokenization_m2m_100 import FAIRSEQ_LANGUAGE_CODES

    return FAIRSEQ_LANGUAGE_CODES["m2m100"]


@pytest.mark.parametrize(
    ("name", "family"), [("marian", "marian"), ("marian-multi", "marian"), ("m2m100", "m2m100"), ("nllb", "nllb")]
)
def test_ct2_directory_without_metadata_is_read_off_its_vocabulary(tiny, tmp_path, name, family):
    bare = tmp_path / "bare"
    shutil.copytree(tiny.ct2(name), bare)
    (bare / MODEL_FILE).unlink()
    info = resolve_model(str(bare))
    with_meta = resolve_model(str(tiny.ct2(name)))
    assert (info.family, info.name, info.path) == (family, "bare", bare)
    assert info.source_spm == bare / with_meta.source_spm.name
    assert info.lang_tokens == with_meta.lang_tokens
    assert info.fingerprint == with_meta.fingerprint  # same files, same fingerprint
    assert info.source_lang is None  # only the metadata knows a Marian model's source language


def test_spm_files_are_found_by_their_usual_names(tiny, tmp_path):
    bare = tmp_path / "bare"
    shutil.copytree(tiny.ct2("marian"), bare)
    (bare / MODEL_FILE).unlink()
    (bare / "target.spm").unlink()
    (bare / "source.spm").rename(bare / "spm.model")
    info = load_ct2_model(bare)
    assert (info.source_spm.name, info.target_spm.name) == ("spm.model", "spm.model")
    (bare / "spm.model").rename(bare / "opus.model")
    assert load_ct2_model(bare).source_spm.name == "opus.model"


def test_template_resolves_one_model_per_language(tiny, tmp_path):
    for lang in ("de", "fr"):
        shutil.copytree(tiny.hf["marian"], tmp_path / f"opus-mt-en-{lang}")
    de = resolve_model(str(tmp_path / "opus-mt-en-{lang}"), tiny.cache_dir, lang="de")
    fr = resolve_model(str(tmp_path / "opus-mt-en-{lang}"), tiny.cache_dir, lang="fr")
    assert de.path != fr.path
    assert (de.family, de.target_langs, fr.target_langs) == ("marian", ("de",), ("fr",))
    with pytest.raises(MtqaError, match="needs a target language"):
        resolve_model(str(tmp_path / "opus-mt-en-{lang}"), tiny.cache_dir)


def test_converted_dir_names():
    out = converted_dir("facebook/nllb-200-distilled-600M", "/c", None, None)
    assert re.fullmatch(r"/c/ct2/facebook--nllb-200-distilled-600M-[0-9a-f]{12}", str(out))
    assert converted_dir("facebook/nllb-200-distilled-600M", "/c", "int8", None) != out
    assert converted_dir("facebook/nllb-200-distilled-600M", "/c", None, None) == out


def test_default_cache_dir_follows_env(monkeypatch, tmp_path):
    monkeypatch.setenv("MTQA_CACHE", str(tmp_path / "c"))
    assert models.default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("MTQA_CACHE")
    assert models.default_cache_dir().parts[-2:] == (".cache", "mtqa")


# -- fingerprint -----------------------------------------------------------------------------
def test_fingerprint_changes_with_any_model_file(tiny, tmp_path):
    copy = tmp_path / "m"
    shutil.copytree(tiny.ct2("marian"), copy)
    before = load_ct2_model(copy).fingerprint
    assert load_ct2_model(copy).fingerprint == before
    with open(copy / "target.spm", "ab") as f:
        f.write(b"\0")
    assert load_ct2_model(copy).fingerprint != before


def test_fingerprint_memo_is_used_while_files_are_unchanged(tiny, tmp_path, monkeypatch):
    copy = tmp_path / "m"
    shutil.copytree(tiny.ct2("marian"), copy)
    files = [copy / "model.bin", copy / "config.json"]
    first = model_fingerprint(copy, files, memo_min_bytes=0)
    memo = json.loads((copy / FINGERPRINT_FILE).read_text())
    assert memo["sha256"] == first
    assert sorted(memo["files"]) == ["config.json", "model.bin"]

    def no_hashing(path):
        raise AssertionError(f"rehashed {path}")

    monkeypatch.setattr(models, "sha256_file", no_hashing)
    assert model_fingerprint(copy, files, memo_min_bytes=0) == first
    with open(copy / "config.json", "a") as f:
        f.write(" ")
    with pytest.raises(AssertionError, match="rehashed"):
        model_fingerprint(copy, files, memo_min_bytes=0)


def test_small_models_get_no_memo(tiny):
    assert not (tiny.ct2("marian") / FINGERPRINT_FILE).exists()


def test_fingerprint_memo_is_skipped_where_the_directory_is_read_only(tiny, tmp_path, monkeypatch):
    copy = tmp_path / "m"
    shutil.copytree(tiny.ct2("marian"), copy)

    def read_only(path, data):
        raise PermissionError(13, "Read-only file system", str(path))

    monkeypatch.setattr(models, "write_json_atomic", read_only)
    expected = model_fingerprint(copy, [copy / "model.bin"], memo_min_bytes=10**12)
    assert model_fingerprint(copy, [copy / "model.bin"], memo_min_bytes=0) == expected
    assert not (copy / FINGERPRINT_FILE).exists()


# -- bad input -------------------------------------------------------------------------------
def one_line_error(func, *args, **kwargs) -> str:
    with pytest.raises(MtqaError) as e:
        func(*args, **kwargs)
    assert "\n" not in str(e.value)
    return str(e.value)


def test_missing_path(tmp_path):
    assert one_line_error(resolve_model, str(tmp_path / "nope")) == (
        f"model '{tmp_path / 'nope'}' not found: expected 'toy', a model directory or a Hub id like "
        "facebook/nllb-200-distilled-600M"
    )
    assert one_line_error(resolve_model, "nllb").startswith("model 'nllb' not found")


def test_path_that_is_no_model(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    assert one_line_error(resolve_model, str(tmp_path / "file.txt")).endswith("is a file; expected a model directory")
    assert one_line_error(resolve_model, str(tmp_path)) == (
        f"{tmp_path} is neither a CTranslate2 model (no model.bin) nor a Hugging Face checkpoint (no config.json)"
    )


def test_ct2_model_without_spm(tiny, tmp_path):
    bare = tmp_path / "bare"
    shutil.copytree(tiny.ct2("nllb"), bare)
    (bare / MODEL_FILE).unlink()
    (bare / "sentencepiece.bpe.model").unlink()
    assert one_line_error(resolve_model, str(bare)).startswith(f"{bare} has no SentencePiece model")


def test_hf_checkpoint_without_spm(tiny, tmp_path):
    src = tmp_path / "hf"
    shutil.copytree(tiny.hf["nllb"], src)
    (src / "sentencepiece.bpe.model").unlink()
    assert one_line_error(resolve_model, str(src), tmp_path / "cache").startswith(f"{src} has no SentencePiece model")


def test_metadata_of_an_unknown_format(tiny, tmp_path):
    copy = tmp_path / "m"
    shutil.copytree(tiny.ct2("marian"), copy)
    (copy / MODEL_FILE).write_text(json.dumps({"format": 2}))
    assert (
        one_line_error(resolve_model, str(copy))
        == f"{copy / MODEL_FILE}: unsupported format 2 (this mtqa reads format 1)"
    )


def test_unconvertible_checkpoint(tiny, tmp_path):
    src = tmp_path / "hf"
    shutil.copytree(tiny.hf["marian"], src)
    (src / "config.json").write_text(json.dumps({"model_type": "no-such-architecture"}))
    message = one_line_error(resolve_model, str(src), tmp_path / "cache")
    assert message.startswith(f"could not convert {src.resolve()} to CTranslate2: ")
    assert not list((tmp_path / "cache" / "ct2").iterdir())  # no half-converted model left


def test_conversion_without_torch_names_the_extra(tiny, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    message = one_line_error(resolve_model, str(tiny.hf["marian"]), tmp_path / "cache")
    assert message.endswith("needs torch and transformers (torch is missing): pip install 'mtqa[convert]'")


def hub_cache(root, repo: str, checkpoint) -> dict:
    """An offline Hugging Face Hub cache holding ``checkpoint`` as ``repo``; the env that uses it."""
    snapshot = root / "hub" / f"models--{repo.replace('/', '--')}" / "snapshots" / ("0" * 40)
    shutil.copytree(checkpoint, snapshot)
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text("0" * 40)
    return {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(root / "hub"), "MTQA_CACHE": str(root / "mtqa")}


RESOLVE = """
import sys
from mtqa.errors import MtqaError
from mtqa.translation.models import resolve_model
try:
    info = resolve_model(sys.argv[1])
    print(info.family, info.name, info.path.name, "torch" in sys.modules)
except MtqaError as e:
    print("MtqaError:", e)
"""


@pytest.mark.slow
def test_hub_id_is_downloaded_converted_and_cached(tiny, tmp_path):
    """The real Hub code path, fed from an offline Hub cache."""
    env = hub_cache(tmp_path, "mtqa-test/tiny-nllb", tiny.hf["nllb"])
    run = lambda spec: subprocess.run(  # noqa: E731
        [sys.executable, "-c", RESOLVE, spec], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    first = run("mtqa-test/tiny-nllb")
    assert re.fullmatch(r"nllb mtqa-test/tiny-nllb mtqa-test--tiny-nllb-[0-9a-f]{12} True", first)
    # Converted once: a second run reads the cache and never imports torch.
    assert run("mtqa-test/tiny-nllb") == first.replace("True", "False")
    missing = run("mtqa-test/not-there")
    assert missing.startswith("MtqaError: could not get Hub model 'mtqa-test/not-there' (LocalEntryNotFoundError: ")
    assert "\n" not in missing


def test_the_toy_model_ships_in_the_package():
    # A missing toy model is the failure to catch (the offline default build needs it): no skip.
    assert (models.TOY_MODEL_DIR / "model.bin").is_file(), models.TOY_MODEL_DIR
    info = resolve_model("toy")
    assert (info.family, info.multi_target) == ("marian", True)
    assert {"x-rot13", "x-atbash"} <= set(info.target_langs)
