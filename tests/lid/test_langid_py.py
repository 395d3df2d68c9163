"""mtqa.lid.langid_py: the langid.py backend (a core dependency: it must be there)."""

from __future__ import annotations

from mtqa.lid import LanguageIdentifier, LidConfig
from tests.lid.conftest import LANGS, accuracy


def test_langid_restricted_on_a_few_texts(sample):
    texts, truth = sample
    labels, probs = LanguageIdentifier(LidConfig(backend="langid", processes=1), LANGS).classify(texts[::20])
    assert accuracy(labels, truth[::20]) >= 0.97
    assert ((probs > 0) & (probs <= 1)).all()
