"""Real XQuAD-R text for the language-ID tests, and identifiers shared by them."""

from __future__ import annotations

import json

import pytest

from mtqa.lid import LanguageIdentifier, LidConfig

LANGS = ["ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"]
PER_KIND = 100  # questions and sentences per language


def accuracy(labels, truth) -> float:
    return sum(a == b for a, b in zip(labels, truth)) / len(truth)


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="session")
def restricted() -> LanguageIdentifier:
    """py3langid restricted to the 11 XQuAD-R languages, in this process."""
    return LanguageIdentifier(LidConfig(processes=1), LANGS)
