"""Fixtures for the training tests: builds of real parallel data (XQuAD) in the shard schema,
and a tiny word-level encoder built in a tmp folder (seeded, well under 2 s).

XQuAD and XQuAD-R hold the same 240 paragraphs in the same order with the same question ids,
so the training builds here use paragraphs 40-239 and evaluation reads only the first 40
(``limit=40``): the evaluation questions and passages are never trained on.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest

from mtqa.schema import SHARD_SCHEMA, passage_id, with_filter_columns

HELD_OUT_PARAGRAPHS = 40  # XQuAD-R paragraphs 0-39 are the evaluation data; training uses the rest


def require_train_stack() -> None:
    for module in ("torch", "transformers", "sentence_transformers", "accelerate", "datasets"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"needs {module} (the train extra: pip install 'mtqa[train]')")


def xquad_paragraphs(xquad_dir: Path, lang: str) -> list[tuple[str, dict]]:
    data = json.loads((xquad_dir / f"xquad.{lang}.json").read_text(encoding="utf-8"))
    return [(article["title"], p) for article in data["data"] for p in article["paragraphs"]]


def xquad_table(xquad_dir: Path, langs: list[str], paragraphs: slice, max_questions: int | None = None) -> pa.Table:
    """One row per (question id, language) in the shard schema; ``passage_id`` is the English
    paragraph's, shared across languages."""
    english = xquad_paragraphs(xquad_dir, "en")[paragraphs]
    rows = []
    for lang in langs:
        count = 0
        for (title, en), (_, p) in zip(english, xquad_paragraphs(xquad_dir, lang)[paragraphs]):
            pid = passage_id("xquad", en["context"])
            for qa in p["qas"]:
                if max_questions is not None and count >= max_questions:
                    break
                count += 1
                answers = [{"text": a["text"], "answer_start": int(a["answer_start"])} for a in qa["answers"]]
                rows.append({"id": f"xquad:{qa['id']}", "lang": lang, "source": "xquad", "split": "test",
                             "title": title, "question": qa["question"], "passage": p["context"],
                             "answers": answers, "is_impossible": False, "passage_id": pid})
    columns = {name: [r[name] for r in rows] for name in ("id", "lang", "source", "split", "title", "question",
                                                           "passage", "answers", "is_impossible", "passage_id")}
    table = pa.table(columns)
    return with_filter_columns(table.append_column("keep", pa.array([True] * len(rows))))


def write_build(folder: Path, table: pa.Table, *, identity: str = "test-build", shards: int = 2) -> Path:
    """``folder/data/part-*.arrow`` and a ``manifest.json`` with the fields training reads."""
    data = Path(folder) / "data"
    data.mkdir(parents=True, exist_ok=True)
    per = -(-table.num_rows // shards)
    for k in range(shards):
        part = table.slice(k * per, per)
        with pa.OSFile(str(data / f"part-{k:05d}.arrow"), "wb") as f, pa.ipc.new_file(f, SHARD_SCHEMA) as w:
            w.write_table(part)
    langs = Counter(table.column("lang").to_pylist())
    manifest = {"identity_sha256": identity, "sources": [{"name": "xquad"}], "langs": dict(sorted(langs.items())),
                "rows": table.num_rows, "pipeline": {"name": "test"}, "stages": {}}
    (Path(folder) / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return Path(folder)


def words(texts) -> Counter:
    counts: Counter = Counter()
    for text in texts:
        counts.update(re.findall(r"\w+|[^\w\s]", text.lower()))
    return counts


def build_tiny_encoder(folder: Path, texts, *, seed: int = 0, vocab_size: int = 3000, hidden_size: int = 64,
                       layers: int = 1, max_seq_length: int = 64) -> Path:
    """A sentence-transformers folder: a seeded 1-layer BertModel over a word vocabulary of
    ``texts`` (their most frequent words, every character, ## continuations), mean pooling,
    mE5's prompts. Small enough to train for real in seconds on a CPU."""
    from tests.eval.tiny_models import SPECIAL_TOKENS, build_tiny_sentence_transformer

    counts = words(["query passage :"] + list(texts))
    chars = sorted({c for w in counts for c in w})
    vocab_list = list(SPECIAL_TOKENS)
    for token in chars + ["##" + c for c in chars] + [w for w, _ in counts.most_common()]:
        if len(vocab_list) >= vocab_size:
            break
        if token not in vocab_list:
            vocab_list.append(token)
    vocab = {t: i for i, t in enumerate(vocab_list)}
    return build_tiny_sentence_transformer(folder, seed=seed, vocab=vocab, hidden_size=hidden_size, layers=layers,
                                           max_seq_length=max_seq_length)


@pytest.fixture(scope="session")
def small_build(tmp_path_factory, xquad_dir) -> Path:
    """3 languages (en, de, es) of 120 training questions from the non-held-out paragraphs."""
    table = xquad_table(xquad_dir, ["en", "de", "es"], slice(HELD_OUT_PARAGRAPHS, None), max_questions=120)
    return write_build(tmp_path_factory.mktemp("build") / "xq", table)


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory, small_build) -> Path:
    require_train_stack()
    from mtqa.sampler import read_shards

    table = read_shards(small_build)
    texts = table.column("question").to_pylist() + table.column("passage").to_pylist()
    return build_tiny_encoder(tmp_path_factory.mktemp("enc") / "tiny", texts)
