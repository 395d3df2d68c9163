"""mtqa.lid.base and mtqa.lid.registry: backend names, the model contract, loading."""

from __future__ import annotations

import logging
import re
import sys

import numpy as np
import pytest

from mtqa.errors import MtqaError
from mtqa.lid import MODEL_CLASSES, LidBackend, LidModel, load_model


def test_backend_names_are_plain_strings():
    assert [b.value for b in LidBackend] == ["py3langid", "langid", "fasttext"]
    assert LidBackend("fasttext") is LidBackend.FASTTEXT and LidBackend.FASTTEXT == "fasttext"
    assert str(LidBackend.LANGID) == "langid" and f"{LidBackend.PY3LANGID}" == "py3langid"
    assert LidBackend.FASTTEXT.install_hint == "pip install 'mtqa[lid-fasttext]'"


def test_every_backend_has_a_class():
    assert set(MODEL_CLASSES) == set(LidBackend)


@pytest.mark.parametrize("backend", list(LidBackend))
def test_every_backend_keeps_the_model_contract(backend, caplog):
    with caplog.at_level(logging.DEBUG, logger="mtqa.lid"):
        model = load_model(backend, ("de", "x-rot13", "en"))
    assert isinstance(model, MODEL_CLASSES[backend]) and isinstance(model, LidModel)
    assert model.candidates == ("de", "en") and {"de", "en", "fr"} <= model.labels
    assert "x-rot13" not in model.labels
    labels, probs = model.classify(["", "Guten Morgen, wie geht es Ihnen heute?", " \t", "Good morning to you all."])
    assert labels == ["", "de", "", "en"]
    assert probs.dtype == np.float32 and probs[0] == probs[2] == 0.0 and (probs[[1, 3]] > 0.9).all()
    assert any(
        re.fullmatch(rf"loaded language-ID backend {backend.value} in [\d.]+ s: \d+ labels, candidates de,en",
                     r.getMessage())
        for r in caplog.records
    )
    unrestricted = load_model(backend, None)
    assert unrestricted.candidates is None
    assert unrestricted.classify(["Das ist ein Haus mit einem großen Garten."])[0] == ["de"]
    none_known = load_model(backend, ("x-rot13",))
    assert none_known.candidates == ()
    labels, probs = none_known.classify(["Uryyb jbeyq"])
    assert labels == [""] and probs.tolist() == [0.0]


@pytest.mark.parametrize(
    "backend, hidden",
    [
        (LidBackend.PY3LANGID, ["py3langid", "py3langid.langid"]),
        (LidBackend.LANGID, ["langid", "langid.langid"]),
        (LidBackend.FASTTEXT, ["fasttext"]),
    ],
)
def test_a_missing_package_names_what_to_install(monkeypatch, backend, hidden):
    for name in hidden:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(MtqaError, match=rf"the {backend.value} language-ID backend needs {hidden[-1]}: "
                                        + re.escape(backend.install_hint)):
        load_model(backend, ("en",))
