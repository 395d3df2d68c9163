"""Synthetic QA inputs of any size, in each input format: SQuAD JSON, JSONL and Parquet.

XQuAD English (1,190 questions on 240 paragraphs, CC BY-SA 4.0) repeated with fresh ids
(``{repeat}-{id}``) and fresh titles (``{title} #{repeat}``): every row is new input, yet the
distinct segments to translate are XQuAD's at any size, so a build's translation time stays
that of XQuAD's segments and a memory benchmark compares only the rows streamed through.
Files are written as they are generated (SQuAD JSON one article at a time, Parquet in row
groups), so making a 1M-question file needs little memory.

    python benchmarks/make_synthetic.py --questions 1000000 --format squad --out /tmp/qa-1m.json
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

from _common import XQUAD_EN, require

FORMATS = ("squad", "jsonl", "parquet")
SUFFIX = {"squad": ".json", "jsonl": ".jsonl", "parquet": ".parquet"}


def _base() -> list[dict]:
    data = json.loads(require(XQUAD_EN).read_text(encoding="utf-8"))
    return data["data"]


def articles(questions: int) -> Iterator[dict]:
    """Articles of XQuAD repeated until ``questions`` questions (the last one cut short)."""
    base = _base()
    left, repeat = questions, 0
    while left > 0:
        for article in base:
            paragraphs = []
            for p in article["paragraphs"]:
                qas = [{**qa, "id": f"{repeat}-{qa['id']}"} for qa in p["qas"][:left]]
                left -= len(qas)
                if qas:
                    paragraphs.append({"context": p["context"], "qas": qas})
                if left == 0:
                    break
            if paragraphs:
                yield {"title": f"{article['title']} #{repeat}", "paragraphs": paragraphs}
            if left == 0:
                return
        repeat += 1


def rows(questions: int) -> Iterator[dict]:
    for article in articles(questions):
        for p in article["paragraphs"]:
            for qa in p["qas"]:
                yield {"id": qa["id"], "title": article["title"], "question": qa["question"], "passage": p["context"],
                       "answers": qa["answers"]}


def write(path: Path, fmt: str, questions: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "squad":
        with path.open("w", encoding="utf-8") as f:
            f.write('{"version": "synthetic-xquad", "data": [')
            for n, article in enumerate(articles(questions)):
                f.write(("," if n else "") + "\n" + json.dumps(article, ensure_ascii=False))
            f.write("\n]}\n")
    elif fmt == "jsonl":
        with path.open("w", encoding="utf-8") as f:
            for row in rows(questions):
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    elif fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema([("id", pa.string()), ("title", pa.string()), ("question", pa.string()),
                            ("passage", pa.string()),
                            ("answers", pa.list_(pa.struct([("text", pa.string()), ("answer_start", pa.int32())])))])
        with pq.ParquetWriter(path, schema) as writer:
            batch: list[dict] = []
            for row in rows(questions):
                batch.append(row)
                if len(batch) == 10_000:
                    writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                    batch = []
            if batch:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
    else:
        raise SystemExit(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, required=True)
    parser.add_argument("--format", choices=FORMATS, default="squad")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    path = write(args.out, args.format, args.questions)
    print(f"wrote {path} ({path.stat().st_size / 2**20:,.1f} MB, {args.questions:,} questions)")


if __name__ == "__main__":
    main()
