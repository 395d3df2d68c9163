"""Language-ID throughput and accuracy on XQuAD-R, every backend beside the langid.py baseline.

Texts: every question and every passage sentence of LAReQA XQuAD-R in its 11 languages
(ar de el en es hi ru th tr vi zh), each labelled with the language of its file. Rows:

(a) langid.py, all 97 languages, one process (shown for reference).
(b) langid.py restricted to the 11 languages, one process: the baseline every ratio is
    against (like for like: every mtqa row is restricted too) and the accuracy reference.
(c) py3langid restricted, one process and N processes.
(d) fastText lid.176.ftz (fasttext-predict) restricted, one process and N processes.

Each row is one ``mtqa.lid.LanguageIdentifier.classify`` call on all the texts (models
loaded and worker pools started before the clock; the pool start-up, spawning the workers
and loading the model in each, is timed on its own); with ``--repeats R`` the rows run in
R interleaved rounds (a b c … a b c …) and the median is reported (min beside it). An
earlier version put the unrestricted langid.py (a) under every ratio (22.5x); against the
restricted one it is 3.7-4.0x (issue 14). langid.py runs with one BLAS thread
(threadpoolctl), its faster setting: with OpenBLAS's threads on two busy cores its
unrestricted rate fell from 971 to 93 texts/s.
Target: >= 15,000 texts/s on a 2-core machine at accuracy >= (b).

    python benchmarks/bench_lid.py [--per-lang N] [--processes N] [--repeats R]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time
from dataclasses import dataclass

from _common import SHARED_DATA, require
from _harness import load_average

from mtqa.lid import LanguageIdentifier, LidConfig

XQUAD_R = SHARED_DATA / "xquad-r"
LANGS = ["ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"]


def xquad_r_texts(per_lang: int | None = None) -> tuple[list[str], list[str]]:
    """(texts, true languages): all questions then all sentences of each language's file."""
    texts: list[str] = []
    truth: list[str] = []
    for lang in LANGS:
        data = json.loads(require(XQUAD_R / f"{lang}.json").read_text(encoding="utf-8"))
        paragraphs = [p for article in data["data"] for p in article["paragraphs"]]
        questions = [qa["question"] for p in paragraphs for qa in p["qas"]]
        sentences = [s for p in paragraphs for s in p["sentences"]]
        if per_lang:
            questions, sentences = questions[: per_lang // 2], sentences[: per_lang - per_lang // 2]
        texts += questions + sentences
        truth += [lang] * (len(questions) + len(sentences))
    return texts, truth


@dataclass
class Row:
    name: str
    backend: str
    restrict: bool
    processes: int
    seconds: float = math.inf
    fastest: float = math.inf
    startup: float | None = None
    labels: list[str] | None = None


def run_all(rows: list[Row], texts: list[str], repeats: int) -> None:
    """Every row ``repeats`` times, in interleaved rounds; each row's median and min seconds."""
    from contextlib import ExitStack

    with ExitStack() as stack:
        lids = []
        for row in rows:
            config = LidConfig(backend=row.backend, restrict=row.restrict, processes=row.processes, min_parallel=0)
            lid = stack.enter_context(LanguageIdentifier(config, LANGS))
            lid.model  # load outside the clock
            if row.processes != 1:
                start = time.perf_counter()
                lid.start()
                row.startup = time.perf_counter() - start
            lids.append(lid)
        times: list[list[float]] = [[] for _ in rows]
        for _ in range(repeats):
            for row, lid, spent in zip(rows, lids, times):
                start = time.perf_counter()
                row.labels, _probs = lid.classify(texts)
                spent.append(time.perf_counter() - start)
        for row, spent in zip(rows, times):
            row.seconds, row.fastest = statistics.median(spent), min(spent)


def best_of(lid: LanguageIdentifier, texts: list[str], repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        lid.classify(texts)
        best = min(best, time.perf_counter() - start)
    return best


def accuracy(labels: list[str], truth: list[str], lang: str | None = None) -> float:
    pairs = [(a, b) for a, b in zip(labels, truth) if lang is None or b == lang]
    return sum(a == b for a, b in pairs) / len(pairs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-lang", type=int, default=None, help="texts per language (default: all)")
    parser.add_argument("--processes", type=int, default=0, help="N for the parallel rows (0 = one per core)")
    parser.add_argument("--repeats", type=int, default=1, help="interleaved runs per row (median, with the fastest beside it)")
    args = parser.parse_args()
    print(f"load average at start: {load_average()}")
    texts, truth = xquad_r_texts(args.per_lang)
    cores = len(os.sched_getaffinity(0))
    n_proc = args.processes or cores
    print(f"{len(texts):,} XQuAD-R texts (questions + passage sentences) in {len(LANGS)} languages; "
          f"{cores} usable cores; parallel rows use {n_proc} processes")

    rows = [
        Row("(a) langid.py all, 1 proc", "langid", False, 1),
        Row("(b) langid.py restricted, 1 proc", "langid", True, 1),
        Row("(c) py3langid restricted, 1 proc", "py3langid", True, 1),
        Row(f"(c) py3langid restricted, {n_proc} proc", "py3langid", True, n_proc),
        Row("(d) fastText restricted, 1 proc", "fasttext", True, 1),
        Row(f"(d) fastText restricted, {n_proc} proc", "fasttext", True, n_proc),
        Row("    py3langid all, 1 proc", "py3langid", False, 1),
        Row("    fastText all, 1 proc", "fasttext", False, 1),
    ]
    run_all(rows, texts, args.repeats)

    base = rows[1].seconds
    print()
    print(f"{'':36} {'texts/s':>9} {'(max)':>9} {'x (b)':>6} {'accuracy':>9} {'pool start':>10}")
    for row in rows:
        startup = f"{row.startup:9.2f}s" if row.startup is not None else ""
        print(f"{row.name:36} {len(texts) / row.seconds:9,.0f} {len(texts) / row.fastest:9,.0f} "
              f"{base / row.seconds:6.2f} {accuracy(row.labels, truth):9.2%} {startup:>10}")
    reference = accuracy(rows[1].labels, truth)
    print(f"target: >= 15,000 texts/s at accuracy >= {reference:.2%} (row b)")

    shown = [r for r in rows if r.processes == 1]
    print()
    print("accuracy per language")
    print(f"{'':4}" + "".join(f"{r.name[4:].split(',')[0]:>22}" for r in shown))
    for lang in LANGS:
        print(f"{lang:4}" + "".join(f"{accuracy(r.labels, truth, lang):22.2%}" for r in shown))
    print(f"\nin-process against {n_proc} worker processes by input size (py3langid restricted; "
          f"sets min_parallel, now {LidConfig().min_parallel:,})")
    serial = LanguageIdentifier(LidConfig(processes=1), LANGS)
    with LanguageIdentifier(LidConfig(processes=n_proc, min_parallel=0), LANGS) as pool:
        pool.start()
        for size in (500, 2000, 5000, 20000):
            chunk = texts[:: max(1, len(texts) // size)][:size]
            one, many = best_of(serial, chunk, 3), best_of(pool, chunk, 3)
            print(f"{len(chunk):6,} texts   1 process {one * 1000:7.1f} ms   {n_proc} processes {many * 1000:7.1f} ms"
                  f"   ratio {one / many:5.2f}")
    same = all(r.labels == p.labels for r in rows for p in rows if r.backend == p.backend and r.restrict == p.restrict)
    print(f"\nlabels identical between 1 process and {n_proc}: {same}")
    print(f"load average at end: {load_average()}")


if __name__ == "__main__":
    main()
