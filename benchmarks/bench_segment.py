"""Sentence splitters against XQuAD-R's gold sentence boundaries: boundary F1 and sentences/s.

XQuAD-R (LAReQA) gives every paragraph of its 11 languages as ``sentences`` with their
``sentence_breaks`` (character spans into ``context``). Each splitter segments every context
through mtqa's own :class:`~mtqa.steps.segment.SentenceSplitter` (what a build does: the
whitespace kept, long segments capped), and a boundary is the start of a sentence other than
the first, moved past any whitespace, so ``"a. b"`` cut before or after the space is the same
boundary. Precision, recall and F1 are over all boundaries of a language (micro).

The baseline is pysbd, mtqa's splitter so far; it runs with the language's own rules where
pysbd has them (ar de el en es hi ru zh) and with English rules elsewhere (th tr vi), as
``segment.language`` would. blingfire has no language setting. Speed: gold sentences per
second of splitting, each splitter on every context of the language, interleaved repeats
(median and min of the wall time, :mod:`_harness`). mtqa builds segment English only, so
the English row decides the default; the other rows say what a build from another source
language would get.

    python benchmarks/bench_segment.py [--repeats 3] [--langs en,de]
"""

from __future__ import annotations

import argparse
import json

from _common import SHARED_DATA, require
from _harness import interleaved, load_average

from mtqa.steps.segment import SentenceSplitter

XQUAD_R = SHARED_DATA / "xquad-r"
LANGS = ["ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"]
PYSBD_LANGS = {"ar", "de", "el", "en", "es", "hi", "ru", "zh"}


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def gold(lang: str) -> list[tuple[str, set[int]]]:
    """(context, gold boundaries) for every paragraph of ``lang``."""
    data = json.loads(require(XQUAD_R / f"{lang}.json").read_text(encoding="utf-8"))
    out = []
    for article in data["data"]:
        for p in article["paragraphs"]:
            text = p["context"]
            out.append((text, {_skip_space(text, start) for start, _ in p["sentence_breaks"][1:]}))
    return out


def predicted(text: str, segmented) -> set[int]:
    """The boundaries of ``text`` in a splitter's ``segment(text)``."""
    lead, sentences, _ = segmented
    starts, pos = [], len(lead)
    for sentence, sep in sentences:
        starts.append(pos)
        pos += len(sentence) + len(sep)
    return {_skip_space(text, s) for s in starts[1:]}


def score(paragraphs: list[tuple[str, set[int]]], segmented: list) -> tuple[float, float, float]:
    """Micro precision, recall and F1 of the splits (the timed runs' output) against the gold."""
    tp = fp = fn = 0
    for (text, truth), split in zip(paragraphs, segmented, strict=True):
        found = predicted(text, split)
        tp += len(found & truth)
        fp += len(found - truth)
        fn += len(truth - found)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--langs", default=",".join(LANGS))
    args = parser.parse_args()
    langs = args.langs.split(",")
    print(f"load average at start: {load_average()}")
    print(f"{'lang':5}{'sentences':>10} | {'pysbd P':>8}{'R':>7}{'F1':>7}{'sent/s':>9} | "
          f"{'blingfire P':>12}{'R':>7}{'F1':>7}{'sent/s':>9} | speed x")
    for lang in langs:
        paragraphs = gold(lang)
        n_sentences = sum(len(b) + 1 for _, b in paragraphs)
        splitters = {"pysbd": SentenceSplitter("pysbd", lang if lang in PYSBD_LANGS else "en"),
                     "blingfire": SentenceSplitter("blingfire")}
        for s in splitters.values():
            s.segment("Warm up. The splitter.")
        timing = interleaved({name: (lambda s=s: [s.segment(t) for t, _ in paragraphs])
                              for name, s in splitters.items()}, repeats=args.repeats)
        cells = []
        for name in splitters:
            p, r, f = score(paragraphs, timing[name].output)
            cells.append(f"{p:8.4f}{r:7.4f}{f:7.4f}{n_sentences / timing[name].median:9,.0f}")
        ratio = timing["pysbd"].median / timing["blingfire"].median
        print(f"{lang:5}{n_sentences:>10,} | {cells[0]} | {cells[1]:>35} | {ratio:6.1f}", flush=True)
    print(f"load average at end: {load_average()}  (sentences/s from the median of {args.repeats} "
          "interleaved runs per splitter)")


if __name__ == "__main__":
    main()
