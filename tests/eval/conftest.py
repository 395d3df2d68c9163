"""Fixtures for the evaluation tests: tiny encoder models built once per session."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.eval.tiny_models import build_tiny_bert, build_tiny_sentence_transformer


def _require_model_stack() -> None:
    for module in ("torch", "transformers", "tokenizers", "sentence_transformers"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"needs {module} (the eval extra: pip install 'mtqa[eval]')")


@pytest.fixture(scope="session")
def tiny_st_dir(tmp_path_factory) -> Path:
    """A tiny sentence-transformers folder with mE5's prompts (see tests/eval/tiny_models.py)."""
    _require_model_stack()
    return build_tiny_sentence_transformer(tmp_path_factory.mktemp("tiny-st") / "model")


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> Path:
    """The same tiny BERT as a plain Hugging Face folder (no modules.json)."""
    _require_model_stack()
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert") / "model")
