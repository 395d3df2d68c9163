"""Small builders shared by tests."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from mtqa.config import BuildConfig
from mtqa.pipeline.builder import build_pipeline
from mtqa.pipeline.step import Chunk, Step
from mtqa.schema import QA_SCHEMA


def qa_table(rows: list[dict]) -> pa.Table:
    """QA rows with sensible defaults for the fields a test does not care about."""
    full = []
    for i, row in enumerate(rows):
        full.append(
            {
                "id": row.get("id", f"t:{i}"),
                "source": row.get("source", "t"),
                "split": row.get("split", "dev"),
                "title": row.get("title", "T"),
                "question": row["question"],
                "passage": row["passage"],
                "answers": row.get("answers", []),
                "is_impossible": row.get("is_impossible", False),
            }
        )
    return pa.Table.from_pylist(full, schema=QA_SCHEMA)


def reverse_words(text: str, lang: str) -> str:
    """A checkable fake translation: the language tag, then the words reversed."""
    return f"[{lang}] " + " ".join(word[::-1] for word in text.split(" "))


class FakeTranslateStep(Step):
    """Translates ``chunk.unique`` with a pure function, counting calls, for executor tests."""

    name = "translate"

    def __init__(self, langs: list[str], fn=reverse_words, source_lang: str = "en", fail_at_chunk: int | None = None):
        super().__init__()
        self.langs = [lang for lang in langs if lang != source_lang]
        self.fn = fn
        self.fail_at_chunk = fail_at_chunk
        self.translated_texts: list[str] = []

    def process(self, chunk: Chunk) -> Chunk:
        if chunk.index == self.fail_at_chunk:
            raise RuntimeError(f"simulated crash in chunk {chunk.index}")
        for lang in self.langs:
            chunk.translations[lang] = [self.fn(text, lang) for text in chunk.unique]
            self.translated_texts.extend(chunk.unique)
        return chunk


def steps_with(config: BuildConfig, translate: Step, filter_mode: str = "flag") -> list[Step]:
    """The default pipeline for ``config`` with ``translate`` in place of the real translator.

    The fake translation does not keep answers findable: flag mode (the default here) writes
    every row, so tests count rows of the executor, not of the quality filter.
    """
    config.filter.mode = filter_mode
    return [translate if step.name == "translate" else step for step in build_pipeline(config)]


def write_qa_jsonl(path: Path) -> Path:
    """27 questions on 9 passages (chunks of 5: six chunks)."""
    rows = []
    for p in range(9):
        passage = f"Passage {p} starts here. It has a second sentence about item {p}. And a third."
        for q in range(3):
            rows.append({"id": f"{p}-{q}", "question": f"Question {q} on passage {p}?", "passage": passage,
                         "answers": [{"text": f"item {p}", "answer_start": passage.index(f"item {p}")}]})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path
