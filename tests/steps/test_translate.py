import pickle
import shutil

import pytest

from mtqa.pipeline import stats as S
from mtqa.errors import MtqaError
from mtqa.pipeline.step import Chunk
from mtqa.steps.translate import TranslateConfig, TranslateStep
from mtqa.translation.models import TOY_MODEL_DIR
from tests.helpers import qa_table
from tests.translation.conftest import TEXT, EchoTranslator, tiny_models

UNIQUE = [TEXT, "who was the first king", "", "the war"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_models(tmp_path_factory)


@pytest.fixture
def toy_like(tiny):
    """A multi-target Marian CTranslate2 model, like the packaged toy (x-rot13, x-atbash)."""
    return str(tiny.ct2("marian-multi"))


def chunk(unique=UNIQUE) -> Chunk:
    return Chunk(index=0, qa=qa_table([{"question": "q", "passage": "p"}]), unique=list(unique))


def stage(model, cache_dir, langs=("x-rot13", "x-atbash"), **config) -> TranslateStep:
    return TranslateStep(TranslateConfig(model=model, cache_dir=str(cache_dir), **config), list(langs))


def test_translations_are_aligned_with_unique(toy_like, tmp_path):
    s = stage(toy_like, tmp_path, langs=["en", "x-rot13", "x-atbash"])
    out = s.process(chunk())
    assert list(out.translations) == ["x-rot13", "x-atbash"]  # the source language is skipped
    for lang, translations in out.translations.items():
        assert len(translations) == len(UNIQUE)
        assert translations[2] == ""
        assert translations == s.translator(lang).translate(UNIQUE, lang)
    counts = s.stats.counts
    assert (counts[S.TRANSLATED], counts[S.CACHE_HITS]) == (6, 0)
    # >>x-rot13<< + pieces + </s>: as long for both languages; the empty text is not sent.
    sources = s.translator("x-rot13").source_tokens([t for t in UNIQUE if t], "x-rot13")
    assert [len(tokens) for tokens in sources] == [7, 7, 4]
    assert counts[S.SOURCE_TOKENS] == 2 * 18
    assert counts[S.TARGET_TOKENS] > 0


def test_second_run_translates_nothing(toy_like, tmp_path):
    first = stage(toy_like, tmp_path).process(chunk())
    rerun = stage(toy_like, tmp_path)
    again = rerun.process(chunk())
    assert again.translations == first.translations
    assert rerun.stats.counts[S.TRANSLATED] == 0
    assert rerun.stats.counts[S.CACHE_HITS] == 6
    assert rerun.stats.counts[S.SOURCE_TOKENS] == 0
    assert rerun.translator("x-rot13")._translator is None  # the model was never even loaded


def test_only_the_misses_are_translated(toy_like, tmp_path):
    stage(toy_like, tmp_path, langs=["x-rot13"]).process(chunk(UNIQUE[:2]))
    s = stage(toy_like, tmp_path, langs=["x-rot13"])
    s.translator("x-rot13")._translator = EchoTranslator()
    out = s.process(chunk(["the war", TEXT]))
    assert [c["source"] for c in s.translator("x-rot13").translator.calls] == [
        [[">>x-rot13<<", *s.translator("x-rot13").source_tokens(["the war"], "x-rot13")[0][1:]]]
    ]
    assert out.translations["x-rot13"][0] == "the war"  # echoed: it was a miss
    assert (s.stats.counts[S.CACHE_HITS], s.stats.counts[S.TRANSLATED]) == (1, 1)


def test_cache_is_keyed_by_decoding_settings(toy_like, tmp_path):
    stage(toy_like, tmp_path).process(chunk())
    wider = stage(toy_like, tmp_path, beam_size=3)
    wider.process(chunk())
    assert wider.stats.counts[S.TRANSLATED] == 6
    threads = stage(toy_like, tmp_path, intra_threads=1, max_batch_tokens=64)  # runtime only: same outputs
    threads.process(chunk())
    assert threads.stats.counts[S.TRANSLATED] == 0


def test_check_langs_before_any_work(toy_like, tiny, tmp_path):
    stage(toy_like, tmp_path).prepare()
    with pytest.raises(
        MtqaError,
        match=r"^model hf-marian-multi does not translate into 'es' \(it supports: de, fr, x-atbash, x-rot13\)$",
    ):
        stage(toy_like, tmp_path, langs=["x-rot13", "es"]).prepare()
    with pytest.raises(MtqaError, match="^unknown language code 'xx'"):
        stage(str(tiny.ct2("nllb")), tmp_path, langs=["de", "xx"]).prepare()
    with pytest.raises(MtqaError, match="^model 'missing' not found"):
        stage("missing", tmp_path).prepare()


def test_fingerprint_dict(toy_like, tiny, tmp_path):
    s = stage(toy_like, tmp_path, beam_size=3)
    info = s.translator("x-rot13").model
    assert s.fingerprint_dict() == {
        "model": toy_like,
        "name": "hf-marian-multi",
        "family": "marian",
        "fingerprint": info.fingerprint,
        "decoding": {
            "length_cap": "bucket",
            "beam_size": 3,
            "max_length_ratio": 2.0,
            "max_length_offset": 10,
            "max_decoding_length": 512,
            "no_repeat_ngram_size": 0,
            "repetition_penalty": 1.0,
        },
    }
    assert (
        stage(toy_like, tmp_path, device="cpu", inter_threads=2).fingerprint_dict()
        == stage(toy_like, tmp_path).fingerprint_dict()
    )


def test_template_uses_one_model_per_language(tiny, tmp_path):
    for lang in ("de", "fr"):
        shutil.copytree(tiny.ct2("marian"), tmp_path / f"opus-mt-en-{lang}")
    template = str(tmp_path / "opus-mt-en-{lang}")
    s = stage(template, tmp_path / "cache", langs=["de", "fr"])
    s.prepare()
    out = s.process(chunk())
    assert list(out.translations) == ["de", "fr"]
    assert s.translator("de").model.path == tmp_path / "opus-mt-en-de"
    assert s.translator("fr").model.path == tmp_path / "opus-mt-en-fr"
    models = s.fingerprint_dict()["models"]
    assert sorted(models) == ["de", "fr"]
    assert models["de"]["fingerprint"] == models["fr"]["fingerprint"]  # same files copied


def test_stage_pickles_and_resumes_from_the_cache(toy_like, tmp_path):
    s = stage(toy_like, tmp_path)
    first = s.process(chunk())
    clone = pickle.loads(pickle.dumps(s))
    assert clone.process(chunk()).translations == first.translations
    assert clone.stats.counts[S.CACHE_HITS] == 6
    s.close()
    clone.close()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"device": "tpu"}, "translate.device must be auto, cpu or cuda, got 'tpu'"),
        ({"beam_size": 0}, "translate.beam_size must be an integer of at least 1, got 0"),
        ({"max_length_ratio": 0}, "translate.max_length_ratio must be positive, got 0"),
        ({"compute_type": "int4"}, "translate.compute_type 'int4' is unknown (known: auto, "),
        ({"device_index": [-1]}, "translate.device_index must be a list of GPU numbers, got [-1]"),
        ({"model": " "}, "translate.model must name a model"),
    ],
)
def test_bad_config(config, message):
    with pytest.raises(MtqaError) as e:
        TranslateConfig(**config)
    assert str(e.value).startswith(message)


def test_config_defaults():
    config = TranslateConfig()
    assert (config.model, config.device, config.compute_type, config.beam_size, config.max_batch_tokens) == (
        "toy",
        "auto",
        "auto",
        2,
        4096,
    )
    assert TranslateConfig(device_index=1).device_index == [1]


def test_packaged_toy_model(tmp_path):
    assert (TOY_MODEL_DIR / "model.bin").is_file(), TOY_MODEL_DIR
    s = stage("toy", tmp_path)
    s.prepare()
    out = s.process(chunk())
    assert [len(t) for t in out.translations.values()] == [4, 4]


def test_unknown_codes_are_reported_before_unsupported_ones(toy_like, tmp_path):
    with pytest.raises(MtqaError, match="^unknown language code 'xx'"):
        stage(toy_like, tmp_path, langs=["es", "xx"]).prepare()
    with pytest.raises(MtqaError, match="^unknown language code 'xx'"):
        stage(str(tmp_path / "opus-mt-en-{lang}"), tmp_path, langs=["de", "xx"]).prepare()
