"""Translate-step throughput against its baselines, on the identical segments and settings.

1. mtqa's TranslateStep on one chunk (sentencepiece, length buckets, relative decoding cap, a
   fresh on-disk cache being filled) against its baseline, raw
   ``ctranslate2.Translator.translate_batch`` on all segments in one call per language
   (sentencepiece in and out, same model, beam, token budget, device, compute type and
   threads). Interleaved repeats, median and min (:mod:`_harness`); outputs compared.
   Target: ratio >= 0.95.
2. CTranslate2 against its baseline, transformers ``generate`` on the same model (the toy
   model's Hugging Face checkpoint), **at equal settings**: float32 on both sides, one thread
   on both (``inter_threads=1, intra_threads=1``; ``torch.set_num_threads(1)``), beam 2,
   length-sorted batches of 32 for generate. Each side in a fresh process, interleaved;
   outputs compared. mtqa's own setting (int8, its automatic threads) is shown beside it,
   against the same baseline. Target: >= 3x on CPU.

Segments: the distinct questions and passage sentences of XQuAD English (1,190 questions,
240 paragraphs), translated into both toy languages.

    python benchmarks/bench_translate.py [--limit N] [--hf-limit N] [--repeats R]

An earlier version compared best-of-3 of the stage against best-of-3 of raw, and int8 with
two threads against float32 generate with one: 6.8x; like for like it is 4.9x (issue 14).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import tempfile
import time
from pathlib import Path

import pyarrow as pa
from _common import ROOT, XQUAD_EN, require
from _harness import Measured, interleaved, load_average, ratio_line, same_outputs

from mtqa.pipeline.step import Chunk
from mtqa.steps.dedup import DedupStep
from mtqa.steps.segment import SegmentStep
from mtqa.readers import open_source
from mtqa.steps.translate import TranslateConfig, TranslateStep

LANGS = ["x-rot13", "x-atbash"]
HF_DIR = ROOT / "benchmarks" / "assets" / "toy-cipher-hf"


def xquad_segments(limit: int | None) -> list[str]:
    import pyarrow as pa

    source = open_source(str(require(XQUAD_EN)))
    chunk = Chunk(index=0, qa=pa.Table.from_batches(list(source.batches())))
    chunk = DedupStep().process(SegmentStep().process(chunk))
    texts = [t for t in chunk.unique]
    return texts[:limit] if limit else texts


def run_stage(texts: list[str], config: TranslateConfig) -> tuple[float, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        config = dataclasses.replace(config, cache_dir=tmp)
        stage = TranslateStep(config, ["en", *LANGS])
        stage.translator(LANGS[0]).translator  # load the model outside the timing
        start = time.perf_counter()
        chunk = stage.process(Chunk(index=0, qa=pa.table({}), unique=texts))
        seconds = time.perf_counter() - start
        stage.close()
    return seconds, chunk.translations


def run_raw(texts: list[str], config: TranslateConfig, engine) -> tuple[float, dict]:
    """What a user would write with CTranslate2 directly: encode, one translate_batch, decode."""
    import sentencepiece as spm

    info = engine.model
    source_sp = spm.SentencePieceProcessor(model_file=str(info.source_spm))
    target_sp = spm.SentencePieceProcessor(model_file=str(info.target_spm))
    translator = engine.translator
    outputs = {}
    start = time.perf_counter()
    for lang in LANGS:
        token = info.target_tokens[lang]
        batch = [[token, *source_sp.encode(t, out_type=str), "</s>"] for t in texts]
        results = translator.translate_batch(
            batch, max_batch_size=config.max_batch_tokens, batch_type="tokens", beam_size=config.beam_size,
            max_decoding_length=512,
        )
        outputs[lang] = [target_sp.decode_pieces(r.hypotheses[0]) for r in results]
    return time.perf_counter() - start, outputs


def run_generate(texts: list[str], config: TranslateConfig, batch_size: int = 32) -> tuple[float, dict]:
    import torch
    from transformers import MarianMTModel, MarianTokenizer

    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    # One thread: on the 2-core test machine torch's generate ran 31 segments/s with one
    # thread and 15/s with two; the baseline gets its faster setting.
    torch.set_num_threads(1)
    tokenizer = MarianTokenizer.from_pretrained(HF_DIR)
    model = MarianMTModel.from_pretrained(HF_DIR, torch_dtype=torch.float32).eval()
    outputs = {}
    start = time.perf_counter()
    for lang in LANGS:
        prefixed = [f">>{lang}<<{t}" for t in texts]  # no space: it would add a "▁" piece
        order = sorted(range(len(texts)), key=lambda i: len(prefixed[i]))
        out = [""] * len(texts)
        for b in range(0, len(order), batch_size):
            idx = order[b : b + batch_size]
            inputs = tokenizer([prefixed[i] for i in idx], return_tensors="pt", padding=True)
            longest = inputs["input_ids"].shape[1]
            with torch.inference_mode():
                generated = model.generate(**inputs, num_beams=config.beam_size,
                                           max_new_tokens=math.ceil(2 * longest) + 10)
            for i, text in zip(idx, tokenizer.batch_decode(generated, skip_special_tokens=True)):
                out[i] = text
        outputs[lang] = out
    return time.perf_counter() - start, outputs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=None, help="segments for the stage vs raw comparison")
    parser.add_argument("--hf-limit", type=int, default=400, help="segments for the generate comparison")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--side", choices=["ct2", "ct2-f32-1t", "generate"], help=argparse.SUPPRESS)
    parser.add_argument("--texts", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        return one_side(args.side, args.texts)
    print(f"load average at start: {load_average()}")
    texts = xquad_segments(args.limit)
    config = TranslateConfig(model="toy", device="cpu")
    n = len(texts) * len(LANGS)
    print(f"{len(texts):,} distinct XQuAD segments x {len(LANGS)} languages = {n:,} translations; "
          f"beam {config.beam_size}, {config.max_batch_tokens} tokens per batch, CPU int8")

    stage_engine = TranslateStep(config, ["en", *LANGS]).translator(LANGS[0])
    timing = interleaved({
        "mtqa TranslateStep": lambda: Measured(*run_stage(texts, config)),
        "raw translate_batch": lambda: Measured(*run_raw(texts, config, stage_engine)),
    }, repeats=args.repeats)
    same = same_outputs([t for lang in LANGS for t in timing["mtqa TranslateStep"].output[lang]],
                        [t for lang in LANGS for t in timing["raw translate_batch"].output[lang]],
                        "stage vs raw", allow=0.01)
    for t in timing.values():
        print(t.line(n, "segments"))
    print(ratio_line(timing["raw translate_batch"], timing["mtqa TranslateStep"], ">= 0.95 (raw time / stage time)")
          + f"; identical outputs {same:.2%}")

    if not HF_DIR.exists():
        print(f"skipping the generate comparison: {HF_DIR} not found")
        return
    subset = texts[: args.hf_limit]
    m = len(subset) * len(LANGS)
    sides = interleaved({name: (lambda name=name: isolated(name, subset))
                         for name in ("ct2-f32-1t", "generate", "ct2")}, repeats=args.repeats)
    same = same_outputs([t for lang in LANGS for t in sides["ct2-f32-1t"].output[lang]],
                        [t for lang in LANGS for t in sides["generate"].output[lang]], "ct2 vs generate", allow=0.05)
    print(f"on {len(subset)} segments x {len(LANGS)} languages, each side in a fresh process, beam {config.beam_size}:")
    names = {"ct2-f32-1t": "CTranslate2 float32, 1 thread", "generate": "generate float32, 1 thread",
             "ct2": "mtqa (CTranslate2 int8, auto threads)"}
    for name, t in sides.items():
        t.name = names[name]
        print(t.line(m, "segments"))
    print(ratio_line(sides["generate"], sides["ct2-f32-1t"], ">= 3 (equal settings)")
          + f"; identical outputs {same:.2%}")
    print(ratio_line(sides["generate"], sides["ct2"]) + "  (mtqa's own setting vs the same baseline)")
    print(f"load average at end: {load_average()}")


def isolated(side: str, texts: list[str]) -> Measured:
    """Time one side in its own process: CTranslate2's worker threads and torch's would
    otherwise compete for the same cores and slow whichever runs second."""
    import json
    import subprocess
    import sys

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(texts, f)
    result = subprocess.run([sys.executable, __file__, "--side", side, "--texts", f.name],
                            capture_output=True, text=True, check=True)
    Path(f.name).unlink()
    out = json.loads(result.stdout.strip().splitlines()[-1])
    return Measured(out["seconds"], out["outputs"])


def one_side(side: str, texts_file: str) -> None:
    import json

    texts = json.loads(Path(texts_file).read_text())
    if side == "ct2-f32-1t":
        config = TranslateConfig(model="toy", device="cpu", compute_type="float32", inter_threads=1, intra_threads=1)
    else:
        config = TranslateConfig(model="toy", device="cpu")
    seconds, outputs = run_stage(texts, config) if side.startswith("ct2") else run_generate(texts, config)
    print(json.dumps({"seconds": seconds, "outputs": outputs}))


if __name__ == "__main__":
    main()
