"""Fit the filter's per-language length-ratio bounds on real parallel data.

Reads XQuAD (``../shared/data/xquad``: 12 languages, SQuAD JSON, professional translations,
the same question ids as English) and writes ``mtqa/data/length_ratios.json``. Only the
first half of the articles (in file order) is used, so the second half stays held out for
judging the bounds (``benchmarks/bench_filter.py`` reports both halves).

The rule, per target language and separately for questions and passages: take the
character-length log-ratio ``log(len(target) / len(source))`` of every pair whose English
side has at least ``--min-source-chars`` characters, take its ``--quantile`` and
``1 - --quantile`` quantiles and widen them by ``--margin`` on the log scale; the bounds are
``exp`` of that. Run:

    python scripts/fit_length_ratios.py [--data ../shared/data/xquad] [--out mtqa/data/length_ratios.json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mtqa.io import write_json_atomic  # noqa: E402


def load(path: Path) -> tuple[list[str], dict[str, str], dict[int, str]]:
    """Article titles in order, question id -> question, and paragraph key -> context."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    questions, contexts, ids_of_article = {}, {}, []
    for a, article in enumerate(data):
        ids = []
        for p, para in enumerate(article["paragraphs"]):
            contexts[(a, p)] = para["context"]
            for qa in para["qas"]:
                questions[qa["id"]] = qa["question"]
                ids.append(qa["id"])
        ids_of_article.append(ids)
    return ids_of_article, questions, contexts


def fit(source: list[str], target: list[str], quantile: float, margin: float, min_chars: int) -> dict:
    logs = np.array([math.log(len(t) / len(s)) for s, t in zip(source, target) if len(s) >= min_chars and t])
    lo, hi = np.quantile(logs, [quantile, 1 - quantile])
    return {
        "min": round(float(math.exp(lo - margin)), 4),
        "max": round(float(math.exp(hi + margin)), 4),
        "median": round(float(math.exp(np.median(logs))), 4),
        "pairs": int(len(logs)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "xquad")
    parser.add_argument("--out", type=Path, default=ROOT / "mtqa" / "data" / "length_ratios.json")
    parser.add_argument("--quantile", type=float, default=0.001)
    parser.add_argument("--margin", type=float, default=0.3, help="widening on the log scale (0.3 = x1.35)")
    parser.add_argument("--min-source-chars", type=int, default=20)
    args = parser.parse_args(argv)

    en_articles, en_questions, en_contexts = load(args.data / "xquad.en.json")
    n_fit = len(en_articles) // 2
    fit_articles = set(range(n_fit))
    langs = sorted(p.name.split(".")[1] for p in args.data.glob("xquad.*.json") if p.name != "xquad.en.json")
    pairs = {}
    for lang in langs:
        _, questions, contexts = load(args.data / f"xquad.{lang}.json")
        qids = [q for a in range(n_fit) for q in en_articles[a] if q in questions]
        keys = [k for k in en_contexts if k[0] in fit_articles and k in contexts]
        pairs[lang] = {
            "question": fit([en_questions[q] for q in qids], [questions[q] for q in qids],
                            args.quantile, args.margin, args.min_source_chars),
            "passage": fit([en_contexts[k] for k in keys], [contexts[k] for k in keys],
                           args.quantile, args.margin, args.min_source_chars),
        }
    result = {
        "fitted_on": f"XQuAD (google-deepmind/xquad), articles 1-{n_fit} of {len(en_articles)} in file order; "
                     f"articles {n_fit + 1}-{len(en_articles)} held out",
        "rule": f"bounds = exp(quantile_{args.quantile} / quantile_{1 - args.quantile} of log(target_chars / "
                f"source_chars) -/+ {args.margin}); pairs whose English side is shorter than "
                f"{args.min_source_chars} characters left out",
        "source_lang": "en",
        "quantile": args.quantile,
        "margin": args.margin,
        "min_source_chars": args.min_source_chars,
        "pairs": {f"en-{lang}": v for lang, v in pairs.items()},
    }
    write_json_atomic(args.out, result)
    for lang, v in pairs.items():
        q, p = v["question"], v["passage"]
        print(f"en-{lang}: question {q['min']:.2f}..{q['max']:.2f} ({q['pairs']} pairs), "
              f"passage {p['min']:.2f}..{p['max']:.2f} ({p['pairs']} pairs)")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
