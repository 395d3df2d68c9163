import math
import pickle
import random

import ctranslate2
import pytest

from mtqa.errors import MtqaError
from mtqa.translation.engine import SOLO_TOKENS, Ct2Translator
from mtqa.translation.models import resolve_model
from tests.translation.conftest import TEXT, EchoTranslator, sentence


def model(tiny, name):
    return resolve_model(str(tiny.hf[name]), tiny.cache_dir)


def echo(tiny, name, **kwargs) -> Ct2Translator:
    translator = Ct2Translator(model(tiny, name), **kwargs)
    translator._translator = EchoTranslator()
    return translator


# -- what each family reads ------------------------------------------------------------------
def test_source_tokens_of_each_family(tiny):
    words = ["▁the", "▁city", "▁of", "▁the", "▁river"]
    assert Ct2Translator(model(tiny, "marian")).source_tokens([TEXT], "de") == [[*words, "</s>"]]
    assert Ct2Translator(model(tiny, "marian-multi")).source_tokens([TEXT], "fr") == [[">>fra<<", *words, "</s>"]]
    bpe = ["▁the", "▁city", "▁of", "▁the", "▁", "r", "i", "v", "er"]  # the BPE model has no "▁river"
    assert Ct2Translator(model(tiny, "m2m100")).source_tokens([TEXT], "de") == [["__en__", *bpe, "</s>"]]
    assert Ct2Translator(model(tiny, "nllb")).source_tokens([TEXT], "de") == [["eng_Latn", *bpe, "</s>"]]


def test_target_prefix_of_each_family(tiny):
    assert Ct2Translator(model(tiny, "marian")).target_prefix("de") == []
    assert Ct2Translator(model(tiny, "marian-multi")).target_prefix("de") == []
    assert Ct2Translator(model(tiny, "m2m100")).target_prefix("zh") == ["__zh__"]
    assert Ct2Translator(model(tiny, "nllb")).target_prefix("zh") == ["zho_Hans"]


@pytest.mark.filterwarnings("ignore:Recommended. pip install sacremoses")
@pytest.mark.parametrize("name", ["marian", "marian-multi", "m2m100", "nllb"])
def test_source_tokens_match_transformers_tokenizers(tiny, name):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny.hf[name])
    rng = random.Random(1)
    texts = [sentence(rng, 1, 20) for _ in range(20)]
    if name == "m2m100":
        tokenizer.src_lang = "en"
    if name == "nllb":
        tokenizer.src_lang = "eng_Latn"
    prompt = ">>de<< " if name == "marian-multi" else ""
    expected = [tokenizer.convert_ids_to_tokens(tokenizer(prompt + text).input_ids) for text in texts]
    assert Ct2Translator(model(tiny, name)).source_tokens(texts, "de") == expected


@pytest.mark.parametrize(("name", "prefix"), [("m2m100", "__de__"), ("nllb", "deu_Latn")])
def test_language_token_is_forced_then_dropped(tiny, name, prefix):
    translator = Ct2Translator(model(tiny, name), beam_size=1)
    sources = translator.source_tokens([TEXT], "de")
    raw = translator.translator.translate_batch(
        sources, target_prefix=[[prefix]], beam_size=1,
        max_decoding_length=math.ceil(2 * Ct2Translator.bucket_bound(len(sources[0]))) + 10 + 1,
    )[0].hypotheses[0]
    ours = translator.translate_tokens(sources, [prefix])[0]
    assert raw[0] == prefix
    assert ours == raw[1:]
    text = translator.translate([TEXT], "de")[0]
    assert text == translator.detokenize(ours)
    assert prefix not in text


@pytest.mark.parametrize("name", ["marian", "marian-multi", "m2m100", "nllb"])
def test_real_tiny_models_translate(tiny, name):
    translator = Ct2Translator(model(tiny, name))
    out = translator.translate([TEXT, "", "who was the first king"], "de")
    assert len(out) == 3 and out[1] == ""
    assert all(isinstance(t, str) for t in out)
    assert not any(token in t for t in out for token in translator.model.control_tokens)
    assert translator.compute_type in ctranslate2.get_supported_compute_types("cpu")


# -- batching and order ----------------------------------------------------------------------
def expected_bucket(length: int) -> int:
    return max(16, 2 ** math.ceil(math.log2(length)))


@pytest.mark.parametrize(("name", "prefix_len"), [("marian-multi", 0), ("nllb", 1)])
def test_order_is_kept_across_length_sorting_and_buckets(tiny, name, prefix_len):
    translator = echo(tiny, name, max_batch_tokens=300, max_length_ratio=1.5, max_length_offset=7)
    rng = random.Random(2)
    texts = [sentence(rng, 1, 120) for _ in range(60)]
    assert translator.translate(texts, "de") == texts

    calls = translator.translator.calls
    lengths = [[len(s) for s in call["source"]] for call in calls]
    assert [n for call in lengths for n in call] == sorted(len(s) for s in translator.source_tokens(texts, "de"))
    buckets = [{expected_bucket(n) for n in call} for call in lengths]
    assert all(len(b) == 1 for b in buckets)  # one length bucket per call ...
    solo = [call for call in lengths if call[0] > SOLO_TOKENS]
    assert all(len(call) == 1 for call in solo)  # ... an input over SOLO_TOKENS alone ...
    shared = {next(iter(b)) for b, call in zip(buckets, lengths, strict=True) if call[0] <= SOLO_TOKENS}
    assert len(calls) - len(solo) == len(shared) > 2  # ... and one call per bucket of shorter ones
    for call, call_lengths in zip(calls, lengths, strict=True):
        # The cap follows the bucket's bound, not the longest input it happens to hold.
        bound = expected_bucket(max(call_lengths))
        assert call["max_decoding_length"] == min(512, math.ceil(1.5 * bound) + 7) + prefix_len
        assert (call["batch_type"], call["max_batch_size"], call["beam_size"]) == ("tokens", 300, 2)
        assert call["target_prefix"] == ([["deu_Latn"]] * len(call["source"]) if prefix_len else None)


def test_decoding_length_is_capped(tiny):
    translator = echo(tiny, "marian", max_decoding_length=40)
    translator.translate([" ".join(["city"] * 50)], "de")
    assert translator.translator.calls[0]["max_decoding_length"] == 40


def test_empty_texts_never_reach_the_model(tiny):
    translator = echo(tiny, "marian")
    assert translator.translate(["", "city", "  "], "de") == ["", "city", ""]
    assert [call["source"] for call in translator.translator.calls] == [[["▁city", "</s>"]]]
    assert translator.translate(["", ""], "de") == ["", ""]
    assert len(translator.translator.calls) == 1


def test_tokens_are_counted(tiny):
    translator = echo(tiny, "nllb")
    translator.translate([TEXT, "city"], "de")
    # eng_Latn + 9 pieces + </s>, eng_Latn + 1 piece + </s>; outputs: the pieces after deu_Latn
    assert (translator.source_token_count, translator.target_token_count) == (11 + 3, 9 + 1)


def test_decoding_options_reach_ctranslate2(tiny):
    translator = echo(tiny, "marian", beam_size=4, no_repeat_ngram_size=3, repetition_penalty=1.2)
    translator.translate([TEXT], "de")
    call = translator.translator.calls[0]
    assert (call["beam_size"], call["no_repeat_ngram_size"], call["repetition_penalty"]) == (4, 3, 1.2)


# -- languages -------------------------------------------------------------------------------
def error(func, *args) -> str:
    with pytest.raises(MtqaError) as e:
        func(*args)
    assert "\n" not in str(e.value)
    return str(e.value)


def test_unsupported_target_languages(tiny):
    multi = Ct2Translator(model(tiny, "marian-multi"))
    assert multi.supported_langs == ["de", "fr", "x-atbash", "x-rot13"]
    assert error(multi.check_langs, ["de", "es"]) == (
        "model hf-marian-multi does not translate into 'es' (it supports: de, fr, x-atbash, x-rot13)"
    )
    assert error(multi.translate, [TEXT], "es").startswith("model hf-marian-multi does not translate into 'es'")
    single = Ct2Translator(model(tiny, "marian"))
    assert error(single.check_langs, ["fr"]) == "model hf-marian-en-de does not translate into 'fr' (it supports: de)"
    nllb = Ct2Translator(model(tiny, "nllb"))
    assert error(nllb.check_langs, ["de", "xx"]).startswith("unknown language code 'xx' (known: af, am, ar, ")
    assert error(nllb.check_langs, ["br"]).startswith("model hf-nllb does not translate into 'br' (it supports: af, ")
    multi.check_langs(["en", "de", "x-rot13"])  # the source language is skipped


def test_unsupported_source_languages(tiny):
    assert error(Ct2Translator(model(tiny, "marian"), source_lang="fr").check_langs, ["de"]) == (
        "model hf-marian-en-de translates from 'en', not from 'fr'"
    )
    assert error(Ct2Translator(model(tiny, "m2m100"), source_lang="xx").check_langs, ["de"]).startswith(
        "unknown language code 'xx'"
    )
    Ct2Translator(model(tiny, "m2m100"), source_lang="de").check_langs(["en", "zh"])


# -- placement -------------------------------------------------------------------------------
def test_auto_placement_on_cpu(tiny, monkeypatch):
    monkeypatch.setattr(ctranslate2, "get_cuda_device_count", lambda: 0)
    translator = Ct2Translator(model(tiny, "marian"))
    expected = "int8" if "int8" in ctranslate2.get_supported_compute_types("cpu") else "float32"
    assert (translator.device, translator.device_index, translator.compute_type) == ("cpu", 0, expected)


def test_auto_placement_on_gpus(tiny, monkeypatch):
    monkeypatch.setattr(ctranslate2, "get_cuda_device_count", lambda: 2)
    monkeypatch.setattr(
        ctranslate2, "get_supported_compute_types", lambda device, index=0: {"float32", "float16", "int8_float16"}
    )
    translator = Ct2Translator(model(tiny, "marian"))
    assert (translator.device, translator.device_index, translator.compute_type) == ("cuda", [0, 1], "int8_float16")
    picked = Ct2Translator(model(tiny, "marian"), device_index=[1], compute_type="float16")
    assert (picked.device_index, picked.compute_type) == ([1], "float16")


def test_cuda_without_gpu(tiny, monkeypatch):
    monkeypatch.setattr(ctranslate2, "get_cuda_device_count", lambda: 0)
    translator = Ct2Translator(model(tiny, "marian"), device="cuda")
    assert error(lambda: translator.compute_type) == (
        "device 'cuda' asked for, but CTranslate2 sees no CUDA GPU; use --device cpu"
    )


def test_unsupported_compute_type(tiny, monkeypatch):
    monkeypatch.setattr(ctranslate2, "get_cuda_device_count", lambda: 0)
    monkeypatch.setattr(ctranslate2, "get_supported_compute_types", lambda device, index=0: {"float32", "int8"})
    translator = Ct2Translator(model(tiny, "marian"), compute_type="float16")
    assert (
        error(lambda: translator.compute_type)
        == "compute type 'float16' is not supported on cpu (supported: float32, int8)"
    )


def test_bad_settings_are_refused_by_the_one_config_check(tiny):
    info = model(tiny, "marian")
    assert error(lambda: Ct2Translator(info, device="tpu")) == "translate.device must be auto, cpu or cuda, got 'tpu'"
    assert error(lambda: Ct2Translator(info, beam_size=0)) == "translate.beam_size must be an integer of at least 1, got 0"
    assert error(lambda: Ct2Translator(info, compute_type="int4")).startswith(
        "translate.compute_type 'int4' is unknown (known: auto, "
    )
    with pytest.raises(TypeError, match="unknown setting"):
        Ct2Translator(info, beam=2)


# -- lifetime --------------------------------------------------------------------------------
def test_model_loads_lazily_and_pickles_without_it(tiny):
    translator = Ct2Translator(model(tiny, "nllb"))
    assert translator._translator is None
    first = translator.translate([TEXT, "who was the first king"], "fr")
    assert translator._translator is not None
    data = pickle.dumps(translator)
    assert len(data) < 10_000
    clone = pickle.loads(data)
    assert clone._translator is None
    assert clone.translate([TEXT, "who was the first king"], "fr") == first
    translator.close()
    assert translator._translator is None
    assert translator.translate([TEXT, "who was the first king"], "fr") == first  # loads again


def test_thread_placement(tiny, monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    auto = Ct2Translator(model(tiny, "marian"))
    assert auto._threads("cpu") == {"inter_threads": 2, "intra_threads": 1}
    assert auto._threads("cuda") == {"inter_threads": 1, "intra_threads": 0}
    fixed = Ct2Translator(model(tiny, "marian"), inter_threads=3, intra_threads=2)
    assert fixed._threads("cpu") == {"inter_threads": 3, "intra_threads": 2}
