"""The quality filter on real professional translations (XQuAD-R) and on bad rows made from them.

XQuAD-R (LAReQA; ``../shared/data/xquad-r``) holds the 1,190 XQuAD questions with their
paragraphs, split into sentences, in 11 languages. For every question and non-English
language this builds the row mtqa would write (question, paragraph as passage, its
sentences for the passage LID, answers) with the English row as the source, and two bad
rows from the same data:

- ``copy``: the English question and paragraph copied through as the "translation";
- ``wrong``: another non-English language's question and paragraph (the next language in
  ``ar de el es hi ru th tr vi zh`` order) swapped in.

It prints, per language, the share of real rows kept (target >= 99.5% overall) and the
share of bad rows rejected (target >= 99% for each kind), separately for the XQuAD articles
the length-ratio bounds were fitted on (first half) and the held-out ones (second half),
and the filter's throughput (rows/s, language ID included) on this machine.

    python benchmarks/bench_filter.py [--processes N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mtqa.schema import OUTPUT_SCHEMA  # noqa: E402

SHARED_DATA = ROOT.parent / "shared" / "data"
XQUAD_R = SHARED_DATA / "xquad-r"
XQUAD_EN = SHARED_DATA / "xquad" / "xquad.en.json"
XQUAD_R_LANGS = ("ar", "de", "el", "es", "hi", "ru", "th", "tr", "vi", "zh")
KINDS = ("real", "copy", "wrong")


def _read_lareqa(path: Path) -> dict[str, dict]:
    """question id -> {question, context, sentences, answers} of one XQuAD-R language file."""
    out = {}
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        for para in article["paragraphs"]:
            for qa in para["qas"]:
                out[qa["id"]] = {
                    "title": article["title"],
                    "question": qa["question"],
                    "context": para["context"],
                    "sentences": para["sentences"],
                    "answers": [{"text": a["text"], "answer_start": a["answer_start"]} for a in qa["answers"]],
                }
    return out


def fitting_half(xquad_en: Path = XQUAD_EN) -> set[str]:
    """The ids of the questions in the first half of XQuAD's articles (the length-ratio fit's
    data, ``scripts/fit_length_ratios.py``); the others are held out."""
    data = json.loads(xquad_en.read_text(encoding="utf-8"))["data"]
    first = data[: len(data) // 2]
    return {qa["id"] for article in first for para in article["paragraphs"] for qa in para["qas"]}


def xquad_r_rows(kind: str, data_dir: Path = XQUAD_R, langs=XQUAD_R_LANGS) -> tuple[pa.Table, list[list[str]]]:
    """Rows in ``OUTPUT_SCHEMA`` (English source row first, then one per language) and each
    row's passage sentences. ``kind``: ``real``, ``copy`` or ``wrong`` (see the docstring)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    en = _read_lareqa(data_dir / "en.json")
    per_lang = {lang: _read_lareqa(data_dir / f"{lang}.json") for lang in langs}
    rows, sentences = [], []

    def add(qid: str, lang: str, item: dict) -> None:
        rows.append({
            "id": f"xquad_r:{qid}", "lang": lang, "source": "xquad_r", "split": "test", "title": en[qid]["title"],
            "question": item["question"], "passage": item["context"], "answers": item["answers"],
            "is_impossible": False, "passage_id": f"xquad_r:{en[qid]['context'][:40]}",
        })
        sentences.append(item["sentences"])

    for qid in en:
        add(qid, "en", en[qid])
        for i, lang in enumerate(langs):
            if kind == "real":
                item = per_lang[lang][qid]
            elif kind == "copy":
                item = en[qid]
            else:
                item = per_lang[langs[(i + 1) % len(langs)]][qid]
            add(qid, lang, item)
    return pa.Table.from_pylist(rows, schema=OUTPUT_SCHEMA), sentences


def per_language(table: pa.Table, ids: set[str] | None = None) -> dict[str, tuple[int, int]]:
    """lang -> (rows, kept) over the translated rows (optionally only the question ids given)."""
    counts: dict[str, list[int]] = {}
    for id_, lang, keep in zip(table.column("id").to_pylist(), table.column("lang").to_pylist(),
                               table.column("keep").to_pylist()):
        if lang == "en" or (ids is not None and id_.split(":", 1)[1] not in ids):
            continue
        c = counts.setdefault(lang, [0, 0])
        c[0] += 1
        c[1] += bool(keep)
    return {lang: (n, k) for lang, (n, k) in counts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=0, help="language-ID worker processes (0 = one per core)")
    args = parser.parse_args()
    for path in (XQUAD_R, XQUAD_EN):
        if not path.exists():
            sys.exit(f"benchmark needs {path} (the shared data folder beside the project)")
    from mtqa.lid import LidConfig
    from mtqa.steps.filters import FilterConfig, QualityFilter

    fit_ids = fitting_half()
    results, reasons, seconds, n_rows = {}, {}, 0.0, 0
    config = FilterConfig(lid=LidConfig(processes=args.processes))
    with QualityFilter(config, XQUAD_R_LANGS) as quality:
        quality.lid.classify(["warm up"])
        for kind in KINDS:
            table, sentences = xquad_r_rows(kind)
            start = time.perf_counter()
            scored = quality.evaluate(table, sentences)
            seconds += time.perf_counter() - start
            n_rows += table.num_rows
            results[kind] = scored
            reasons[kind] = Counter(r for rs in scored.column("filter_reasons").to_pylist() for r in rs)
    all_ids = {id_.split(":", 1)[1] for id_ in results["real"].column("id").to_pylist()}
    halves = {"all": all_ids, "fit half": fit_ids & all_ids, "held out": all_ids - fit_ids}
    print(f"XQuAD-R: {len(all_ids):,} questions x {len(XQUAD_R_LANGS)} languages; "
          f"fitting half {len(halves['fit half'])} questions, held-out half {len(halves['held out'])}")
    for half, ids in halves.items():
        print(f"\n[{half}]  {'lang':<5} {'kept real':>10} {'rejected copy':>14} {'rejected wrong':>15}")
        totals = {kind: [0, 0] for kind in KINDS}
        real, copy, wrong = (per_language(results[k], ids) for k in KINDS)
        for lang in XQUAD_R_LANGS:
            (n, k), (nc, kc), (nw, kw) = real[lang], copy[lang], wrong[lang]
            for kind, (a, b) in zip(KINDS, ((n, k), (nc, kc), (nw, kw))):
                totals[kind][0] += a
                totals[kind][1] += b
            print(f"{'':<11} {lang:<5} {k / n:>10.2%} {(nc - kc) / nc:>14.2%} {(nw - kw) / nw:>15.2%}")
        (n, k), (nc, kc), (nw, kw) = (totals[kind] for kind in KINDS)
        print(f"{'':<11} {'all':<5} {k / n:>10.2%} {(nc - kc) / nc:>14.2%} {(nw - kw) / nw:>15.2%}"
              f"   (targets: >= 99.5%, >= 99%, >= 99%)")
    for kind in KINDS:
        print(f"reasons ({kind} rows): " + (", ".join(f"{r} {c:,}" for r, c in sorted(reasons[kind].items())) or "none"))
    print(f"\nfilter throughput: {n_rows:,} rows (source rows included) in {seconds:.2f} s = "
          f"{n_rows / seconds:,.0f} rows/s (language ID with processes={args.processes})")


if __name__ == "__main__":
    main()
