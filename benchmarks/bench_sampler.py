"""Hybrid batch sampler: examples/s of an epoch's batches, and pairs/s of their texts.

Writes a synthetic shard set in OUTPUT_SCHEMA (``--ids`` ids x 4 languages, 5 questions per
passage, 2 sources) as one Arrow file per ``--shard-rows`` rows, like a build's chunks, and
opens it memory-mapped, as training does.

1. **Batches.** One epoch of :class:`HybridBatchSampler` (plan and row indices; alpha 0.5,
   batch size 64) against a naive per-row Python sampler doing the same job (dicts of rows, a
   set of used passages, one candidate at a time). Baseline: the naive sampler. Like for like:
   each side's index (mtqa's key codes, the naive dicts) is timed separately, and the ratio is
   given both without and with it; interleaved repeats, median and min (:mod:`_harness`).
   Target: >= 100,000 examples/s.
2. **Texts.** ``batch.queries`` + ``batch.passages`` for the first 500 batches, mtqa's
   :class:`~mtqa.sampler.TextColumns` (strings decoded from the mapped buffers) against
   ``table.column(c).take(rows)`` on the multi-chunk column, the baseline (what mtqa did
   before). The texts must be equal. Target: >= 100,000 pairs/s at 1M rows.

    python benchmarks/bench_sampler.py [--ids 250000] [--shard-rows 4000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

import pyarrow as pa
from _harness import interleaved, load_average, ratio_line, same_outputs

from mtqa.sampler import HybridBatchSampler, HybridSamplerConfig
from mtqa.schema import OUTPUT_SCHEMA

LANGS, PER_PASSAGE, BATCH = ["en", "de", "fr", "sw"], 5, 64


def write_shards(folder: Path, n_ids: int, shard_rows: int) -> None:
    data = folder / "data"
    data.mkdir(parents=True)
    ids_per_shard = max(1, shard_rows // len(LANGS))
    for k, first in enumerate(range(0, n_ids, ids_per_shard)):
        rows = [(i, lang) for i in range(first, min(n_ids, first + ids_per_shard)) for lang in LANGS]
        src = ["squad" if i % 3 else "nq" for i, _ in rows]
        table = pa.table({
            "id": [f"{s}:{i}" for s, (i, _) in zip(src, rows)],
            "lang": [lang for _, lang in rows],
            "source": src,
            "split": ["train"] * len(rows),
            "title": ["t"] * len(rows),
            "question": [f"question {i} in {lang}?" for i, lang in rows],
            "passage": [f"passage {i // PER_PASSAGE} in {lang}. " * 8 for i, lang in rows],
            "answers": [[] for _ in rows],
            "is_impossible": [False] * len(rows),
            "passage_id": [f"{s}:{i // PER_PASSAGE}" for s, (i, _) in zip(src, rows)],
            "origin": ["source" if lang == "en" else "mt" for _, lang in rows],
        }, schema=OUTPUT_SCHEMA)
        with pa.OSFile(str(data / f"train-00000-of-00001-{k:06d}.arrow"), "wb") as f, \
                pa.ipc.new_file(f, OUTPUT_SCHEMA) as w:
            w.write_table(table)


def naive_index(table: pa.Table) -> tuple[dict, dict]:
    by_id: dict[str, dict[str, int]] = {}
    passage_of: dict[str, str] = {}
    for r, (i, lang, pid) in enumerate(zip(table.column("id").to_pylist(), table.column("lang").to_pylist(),
                                           table.column("passage_id").to_pylist())):
        by_id.setdefault(i, {})[lang] = r
        passage_of[i] = pid
    return by_id, passage_of


def naive_epoch(index: tuple[dict, dict], batch_size: int, alpha: float, seed: int) -> int:
    """The same sampling done row by row in Python; returns examples assembled."""
    by_id, passage_of = index
    rng = random.Random(seed)
    langs = sorted({lang for rows in by_id.values() for lang in rows})
    pairs = [(q, p) for q in langs for p in langs if q != p]
    order = list(by_id)
    rng.shuffle(order)
    carry: list[str] = []
    examples = 0
    for _ in range(len(order) // batch_size):
        xx = rng.random() < alpha
        lang = rng.choice(langs)
        used: set[str] = set()
        batch: list[tuple[int, int]] = []
        skipped: list[str] = []
        while len(batch) < batch_size and (carry or order):
            i = carry.pop(0) if carry else order.pop()
            q, p = (lang, lang) if xx else rng.choice(pairs)
            rows = by_id[i]
            if passage_of[i] in used or q not in rows or p not in rows:
                skipped.append(i)
                continue
            used.add(passage_of[i])
            batch.append((rows[q], rows[p]))
        carry = skipped + carry
        examples += len(batch)
    return examples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", type=int, default=250_000, help="ids (rows = 4 x ids)")
    parser.add_argument("--shard-rows", type=int, default=4000, help="rows per shard file")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--text-batches", type=int, default=500)
    args = parser.parse_args()
    print(f"load average at start: {load_average()}")
    with tempfile.TemporaryDirectory() as tmp:
        write_shards(Path(tmp), args.ids, args.shard_rows)
        cfg = HybridSamplerConfig(batch_size=BATCH, alpha=0.5, seed=0)
        holder: dict = {}

        def mtqa_index():
            holder["sampler"] = HybridBatchSampler(tmp, cfg)

        def naive_index_build():
            holder["naive"] = naive_index(holder["sampler"].table)

        index = interleaved({"mtqa index": mtqa_index, "naive index": naive_index_build}, repeats=args.repeats)
        sampler = holder["sampler"]
        rows, chunks = sampler.table.num_rows, sampler.table.column("question").num_chunks

        def mtqa_epoch():
            sampler.set_epoch(0)
            sampler._plan_cache = None  # plan the epoch again each run, as a new epoch does
            return sum(len(b) for b in sampler)

        epoch = interleaved({"mtqa epoch": mtqa_epoch,
                             "naive epoch": lambda: naive_epoch(holder["naive"], BATCH, 0.5, 0)},
                            repeats=args.repeats)
        sampler.set_epoch(0)
        batches = [b for _, b in zip(range(args.text_batches), sampler)]
        table = sampler.table

        def texts_mtqa():
            return [(b.queries, b.passages) for b in batches]

        def texts_take():
            return [(table.column("question").take(b.query_rows).to_pylist(),
                     table.column("passage").take(b.passage_rows).to_pylist()) for b in batches]

        texts = interleaved({"TextColumns": texts_mtqa, "ChunkedArray.take": texts_take}, repeats=args.repeats)
        same_outputs(texts["TextColumns"].output, texts["ChunkedArray.take"].output, "texts")
        distinct = len({int(i) for b in sampler for i in b.id_codes})

    examples = epoch["mtqa epoch"].output
    if distinct != examples:
        sys.exit(f"an epoch paired {examples:,} examples but only {distinct:,} distinct ids: an id came twice")
    naive_examples = epoch["naive epoch"].output
    pairs = sum(len(b) for b in batches)
    print(f"{rows:,} rows ({args.ids:,} ids x {len(LANGS)} languages) in {chunks:,} memory-mapped chunks; "
          f"batch size {BATCH}, alpha 0.5")
    for t in index.values():
        print(t.line())
    print(epoch["mtqa epoch"].line(examples, "examples") + "  (target >= 100,000)")
    print(epoch["naive epoch"].line(naive_examples, "examples"))
    print(ratio_line(epoch["naive epoch"], epoch["mtqa epoch"]) + "  (epoch only)")
    with_index = ((epoch["naive epoch"].median + index["naive index"].median)
                  / (epoch["mtqa epoch"].median + index["mtqa index"].median))
    print(f"ratio naive / mtqa with each side's index: {with_index:.2f} (medians)")
    print(f"coverage: {distinct:,} distinct ids in {examples:,} pairs of one epoch "
          f"({len(sampler.usable_ids):,} usable ids; every id at most once)")
    print(texts["TextColumns"].line(pairs, "pairs") + "  (target >= 100,000)")
    print(texts["ChunkedArray.take"].line(pairs, "pairs"))
    print(ratio_line(texts["ChunkedArray.take"], texts["TextColumns"]) + "; texts equal: 100%")
    print(f"load average at end: {load_average()}")


if __name__ == "__main__":
    main()
