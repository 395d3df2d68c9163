"""mtqa.lid.py3langid_nb: the batched scorer answers what py3langid itself answers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtqa.lid import LanguageIdentifier, LidConfig
from mtqa.lid.py3langid_nb import Py3LangidModel
from tests.lid.conftest import LANGS, accuracy


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
    assert isinstance(lid.model, Py3LangidModel)
    labels, probs = lid.classify(texts)
    reference = [lid.model.reference.classify(t) for t in texts]
    assert labels == [r[0] for r in reference]
    assert np.allclose(probs, [r[1] for r in reference], rtol=0, atol=1e-5)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=60) | st.sampled_from(["Straße", "ÉCOLE", "Ελλάδα", "日本語"]),
                min_size=1, max_size=12))
def test_batch_scorer_matches_py3langid_on_any_text(restricted, texts):
    labels, probs = restricted.classify(texts)
    for text, label, prob in zip(texts, labels, probs.tolist()):
        if text.isspace():
            assert (label, prob) == ("", 0.0)
            continue
        expected = restricted.model.reference.classify(text)
        assert label == expected[0] and prob == pytest.approx(expected[1], abs=1e-4), text


def test_long_texts_take_py3langid_own_path(restricted, sample):
    texts, truth = sample
    german = " ".join(t for t, lang in zip(texts, truth) if lang == "de")[:6000]
    assert len(german.encode()) > restricted.model.scorer.LONG
    labels, probs = restricted.classify([german, texts[0], german[:3000]])
    assert labels == ["de", truth[0], "de"]
    assert probs[0] == np.float32(restricted.model.reference.classify(german)[1])
