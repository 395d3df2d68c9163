"""mtqa.lid.identifier: the settings, restriction to the pipeline's languages, pickling, bad
input, and the majority rule for passages."""

from __future__ import annotations

import dataclasses
import json
import pickle

import numpy as np
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from mtqa.errors import MtqaError
from mtqa.lid import LanguageIdentifier, LidBackend, LidConfig, sentence_majority


def test_config_takes_the_enum_or_its_value_and_dumps_plain_strings():
    config = LidConfig(backend=LidBackend.FASTTEXT)
    assert config == LidConfig(backend="fasttext") and type(config.backend) is str
    assert json.dumps(dataclasses.asdict(LidConfig())) == (
        '{"backend": "py3langid", "restrict": true, "processes": 0, "min_parallel": 2000}'
    )
    dumped = yaml.safe_dump(dataclasses.asdict(config))
    assert "backend: fasttext" in dumped and LidConfig(**yaml.safe_load(dumped)) == config
    assert LanguageIdentifier(config, ["en"]).backend is LidBackend.FASTTEXT


def test_only_placement_fields_are_marked():
    marked = {f.name for f in dataclasses.fields(LidConfig) if f.metadata.get("placement")}
    assert marked == {"processes", "min_parallel"}  # parallel == serial: see test_pool.py


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


@pytest.mark.parametrize("backend", ["py3langid", "fasttext"])
def test_empty_text_gets_no_label(backend):
    lid = LanguageIdentifier(LidConfig(backend=backend, processes=1), ["de", "en"])
    labels, probs = lid.classify(["", "Guten Morgen, wie geht es Ihnen heute?", " \t\n", "Good morning to you all."])
    assert labels == ["", "de", "", "en"]
    assert probs[0] == 0.0 and probs[2] == 0.0 and probs[1] > 0.9 and probs[3] > 0.9
    labels, probs = lid.classify([])
    assert labels == [] and probs.shape == (0,) and probs.dtype == np.float32


@pytest.mark.parametrize("backend", ["py3langid", "fasttext"])
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
