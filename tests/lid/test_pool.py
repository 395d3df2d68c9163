"""mtqa.lid.pool: worker processes give exactly the in-process answers."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from mtqa.lid import LanguageIdentifier, LidBackend, LidConfig
from mtqa.lid.pool import LidWorkerPool
from tests.lid.conftest import LANGS


@pytest.mark.parametrize("backend", ["py3langid", "fasttext"])
def test_parallel_equals_in_process(sample, backend, caplog):
    texts, _ = sample
    texts = texts + ["", "  \n", "x"]
    serial = LanguageIdentifier(LidConfig(backend=backend, processes=1), LANGS).classify(texts)
    with caplog.at_level(logging.DEBUG, logger="mtqa.lid"):
        with LanguageIdentifier(LidConfig(backend=backend, processes=2, min_parallel=100), LANGS) as lid:
            parallel = lid.classify(texts)
            assert lid._pool is not None
            again = lid.classify(texts[:50])  # below min_parallel: in this process
    assert lid._pool is None
    assert parallel[0] == serial[0]
    assert parallel[1].dtype == np.float32
    assert np.array_equal(parallel[1], serial[1])
    assert again[0] == serial[0][:50] and np.array_equal(again[1], serial[1][:50])
    messages = [r.getMessage() for r in caplog.records if r.name == "mtqa.lid.pool"]
    assert messages[0] == f"starting 2 language-ID worker processes ({backend})"
    assert messages[1] == f"identifying {len(texts)} texts in 8 blocks over 2 workers"
    assert len(messages) == 2  # the 50 texts below min_parallel stayed in this process


def test_pool_with_no_texts_starts_no_process():
    pool = LidWorkerPool(LidBackend.PY3LANGID, ("de", "en"), workers=2)
    labels, probs = pool.classify([])
    assert labels == [] and probs.shape == (0,) and probs.dtype == np.float32
    assert pool._executor is None
