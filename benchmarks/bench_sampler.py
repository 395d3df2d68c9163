"""Hybrid batch sampler throughput: examples/s assembled from memory-mapped Arrow shards.

Writes a synthetic ~200k-row shard set in OUTPUT_SCHEMA (50k ids x 4 languages, 5 questions
per passage, 2 sources) to a temp folder, opens it with ``pa.memory_map``, and times one
epoch of :class:`HybridBatchSampler` (the epoch's plan and its batches of row indices, alpha
0.5, batch size 64)
against a naive per-row Python sampler doing the same job (dicts of rows, a set of used
passages, one candidate at a time). Target: >= 100,000 examples/s.

    python benchmarks/bench_sampler.py
"""

from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

import pyarrow as pa

from mtqa.sampler import HybridBatchSampler, HybridSamplerConfig
from mtqa.schema import OUTPUT_SCHEMA

N_IDS, LANGS, PER_PASSAGE, SHARDS, BATCH = 50_000, ["en", "de", "fr", "sw"], 5, 4, 64


def write_shards(folder: Path) -> None:
    data = folder / "data"
    data.mkdir(parents=True)
    per_shard = N_IDS // SHARDS
    for k in range(SHARDS):
        ids = range(k * per_shard, (k + 1) * per_shard)
        rows = [(i, lang) for i in ids for lang in LANGS]
        src = ["squad" if i % 3 else "nq" for i, _ in rows]
        table = pa.table({
            "id": [f"{s}:{i}" for s, (i, _) in zip(src, rows)],
            "lang": [lang for _, lang in rows],
            "source": src,
            "split": ["train"] * len(rows),
            "title": ["t"] * len(rows),
            "question": [f"question {i} in {lang}" for i, lang in rows],
            "passage": [f"passage {i // PER_PASSAGE} in {lang}" for i, lang in rows],
            "answers": [[] for _ in rows],
            "is_impossible": [False] * len(rows),
            "passage_id": [f"{s}:{i // PER_PASSAGE}" for s, (i, _) in zip(src, rows)],
        }, schema=OUTPUT_SCHEMA)
        with pa.OSFile(str(data / f"part-{k:05d}.arrow"), "wb") as f, pa.ipc.new_file(f, OUTPUT_SCHEMA) as w:
            w.write_table(table)


def naive_epoch(table: pa.Table, batch_size: int, alpha: float, seed: int) -> int:
    """The same sampling done row by row in Python; returns examples assembled."""
    rng = random.Random(seed)
    by_id: dict[str, dict[str, int]] = {}
    passage_of: dict[str, str] = {}
    for r, (i, lang, pid) in enumerate(zip(table.column("id").to_pylist(), table.column("lang").to_pylist(),
                                           table.column("passage_id").to_pylist())):
        by_id.setdefault(i, {})[lang] = r
        passage_of[i] = pid
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
    with tempfile.TemporaryDirectory() as tmp:
        write_shards(Path(tmp))
        cfg = HybridSamplerConfig(batch_size=BATCH, alpha=0.5, seed=0)
        t0 = time.perf_counter()
        sampler = HybridBatchSampler(tmp, cfg)
        t_index = time.perf_counter() - t0
        rows = sampler.table.num_rows
        best = float("inf")
        for epoch in range(3):
            sampler.set_epoch(epoch)
            t0 = time.perf_counter()
            examples = sum(len(b) for b in sampler)
            best = min(best, time.perf_counter() - t0)
        distinct = len({int(i) for b in sampler for i in b.id_codes})
        rate = examples / best
        t0 = time.perf_counter()
        texts = 0
        for k, b in enumerate(sampler):
            texts += len(b.queries) + len(b.passages)
            if k == 99:
                break
        t_text = time.perf_counter() - t0
        t0 = time.perf_counter()
        naive_examples = naive_epoch(sampler.table, BATCH, 0.5, 0)
        t_naive = time.perf_counter() - t0
        naive_rate = naive_examples / t_naive
    print(f"{rows:,} rows ({N_IDS:,} ids x {len(LANGS)} languages) in {SHARDS} memory-mapped shards; "
          f"batch size {BATCH}, alpha 0.5; key index built in {t_index:.2f} s")
    print(f"HybridBatchSampler  {examples:,} examples in {best:.3f} s  = {rate:,.0f} examples/s  (target >= 100,000)")
    print(f"coverage: {distinct:,} distinct ids in {examples:,} pairs of one epoch "
          f"({len(sampler.usable_ids):,} usable ids; every id at most once)")
    print(f"naive per-row       {naive_examples:,} examples in {t_naive:.3f} s  = {naive_rate:,.0f} examples/s "
          f"(includes its per-row dict build)")
    print(f"ratio {rate / naive_rate:.1f}x; materialising texts (batch.queries + batch.passages): "
          f"{texts / 2 / t_text:,.0f} pairs/s")


if __name__ == "__main__":
    main()
