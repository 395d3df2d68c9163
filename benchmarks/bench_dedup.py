"""Dedup saving on XQuAD English: segments translated ÷ segments a naive pipeline translates.

A naive pipeline translates every row's passage (split into sentences) and question; mtqa
translates each distinct segment once (dedup within a chunk, the translation cache across
chunks). Runs the real build (toy model) on all 1,190 XQuAD questions and reads the counts
from its manifest. Target: ≤ 0.25 for passages.

    python benchmarks/bench_dedup.py
"""

from __future__ import annotations

import os
import tempfile

from _common import XQUAD_EN, require

from mtqa.config import load_pipeline
from mtqa.pipeline.builder import run_build


def main() -> None:
    require(XQUAD_EN)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MTQA_CACHE"] = os.path.join(tmp, "cache")
        config = load_pipeline(None, sources=[str(XQUAD_EN)], out=os.path.join(tmp, "out"))
        manifest = run_build(config, progress=False)
    seg = manifest.stage("segment").counts
    dedup = manifest.stage("dedup").counts
    tr = manifest.stage("translate").counts
    langs = len([lang for lang in config.langs if lang != config.source_lang])
    naive_passage = seg["segments_passage"]
    unique_passage = dedup["unique_passage"]
    naive_all = seg["segments"]
    translated_per_lang = tr["translated"] / langs
    print(f"XQuAD en: {seg['rows_in']:,} questions, chunk size {config.chunk_size}")
    print(f"passage segments  naive {naive_passage:>7,}  translated {unique_passage:>7,}  "
          f"ratio {unique_passage / naive_passage:.3f}  (target <= 0.25)")
    print(f"all segments      naive {naive_all:>7,}  translated {translated_per_lang:>7,.0f}  "
          f"ratio {translated_per_lang / naive_all:.3f}  (questions, passages, answers; per language)")


if __name__ == "__main__":
    main()
