"""The whole `mtqa build` against raw CTranslate2 on the build's own unique segments.

Baseline: what a user would write with CTranslate2 directly, given the texts to translate:
the build's distinct non-empty segments (collected by running the pipeline's steps before
translate over the same input), SentencePiece-encoded, one ``translate_batch`` call per
target language with the same model, compute type, beam, token budget
(``max_batch_size=4096, batch_type="tokens"``), threads (``inter_threads`` as the build's
auto setting, one intra thread each) and device, a fixed ``max_decoding_length=512``, then
decoded. Each side runs in a fresh process and is timed from before its model loads to its
last output (the build: ``run_build`` into a new ``--out`` with a new translation cache:
reading, segmenting, dedup, translation, cache writes, assembly, the quality filter and the
shard writes, all of it). The build's translations (read back from its cache) are compared
with the raw ones: the share that is equal is printed, and under 99% the run exits (100% is not
required: the build caps decoding by length bucket, the raw call at 512 tokens).

Sides, interleaved (A B C A B C …, :mod:`_harness`), median and min:

- ``build``: the default build (windows of cache misses, translation overlapped with the
  CPU steps, blingfire);
- ``build-serial`` (with ``--serial``): the same build chunk by chunk (``window_translations=0``,
  no overlap) with pysbd, how it ran before issue 14; its shards must equal ``build``'s
  except for the splitter (with ``--serial-splitter blingfire`` they must be byte-identical);
- ``raw``: the baseline (``--raw-buckets``: one call per length bucket with the build's caps,
  for models that rarely end their outputs, such as the random one of ``gpu_build.py``).

Also the **cached rerun**: the same build into a new ``--out`` with the translation cache the
first build filled (every translation a cache hit), for ``build`` and ``build-serial``.
Target: build / raw <= 1.10 on CPU. The load average is printed with every figure.

    python benchmarks/bench_build.py [--limit N] [--repeats 1] [--serial] [--langs x-rot13,x-atbash]
        [--device cpu] [--model toy] [--compute-type auto] [--source PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import SHARED_DATA, require
from _harness import Measured, interleaved, load_average, ratio_line, same_outputs

SQUAD_DEV = SHARED_DATA / "squad-v2" / "dev-v2.0.json"


def _config(args, out: Path, cache: Path, splitter: str | None = None):
    from mtqa.config import load_pipeline

    overrides = {"sources": [str(args.source)], "langs": args.langs.split(","), "out": str(out),
                 "translate.cache_dir": str(cache), "translate.device": args.device,
                 "translate.model": args.model, "translate.compute_type": args.compute_type}
    if args.limit:
        overrides["limit"] = args.limit
    if splitter:
        overrides["segment.splitter"] = splitter
    for item in args.set or []:
        key, _, value = item.partition("=")
        try:  # numbers, booleans, lists as JSON; anything else is a string
            overrides[key] = json.loads(value)
        except ValueError:
            overrides[key] = value
    return load_pipeline(None, **overrides)


def _steps(config, serial: bool):
    from mtqa.pipeline.builder import build_pipeline

    steps = build_pipeline(config)
    if serial:
        for step in steps:
            if step.name == "translate":
                step.window_translations, step.overlap = 0, False
    return steps


def side_build(args) -> dict:
    from mtqa.pipeline.builder import run_build

    config = _config(args, Path(args.out), Path(args.cache), args.splitter)
    steps = _steps(config, args.side == "build-serial")
    start = time.perf_counter()
    run_build(config, progress=False, steps=steps)
    seconds = time.perf_counter() - start
    digest = hashlib.sha256()
    for path in sorted((Path(args.out) / "data").glob("*.arrow")):
        digest.update(path.name.encode() + path.read_bytes())
    manifest_stages = json.loads((Path(args.out) / "manifest.json").read_text())["stages"]
    translate = next(s for s in steps if s.name == "translate")
    texts = json.loads(Path(args.texts).read_text()) if args.texts else []
    outputs = {}
    for lang in translate.langs:
        from mtqa.translation.cache import translation_key

        namespace = translate._namespace(lang)
        keys = [translation_key(namespace, t) for t in texts]
        found = translate.cache.get_many(keys)
        outputs[lang] = [found.get(k) for k in keys]
    stages = {name: round(stats.get("seconds", 0.0), 3) for name, stats in manifest_stages.items()}
    return {"seconds": seconds, "shards_sha256": digest.hexdigest(), "outputs": outputs, "stages": stages}


def side_raw(args) -> dict:
    import ctranslate2
    import sentencepiece as spm

    from mtqa.translation.engine import Ct2Translator
    from mtqa.translation.models import resolve_model

    texts = json.loads(Path(args.texts).read_text())
    config = _config(args, Path(args.out), Path(args.cache))
    start = time.perf_counter()
    info = resolve_model(config.translate.model, Path(args.cache))
    engine = Ct2Translator(info, config.translate)
    device, index, compute_type = engine._resolve_placement()
    translator = ctranslate2.Translator(str(info.path), device=device, device_index=index,
                                        compute_type=compute_type, **engine._threads(device))
    target_sp = spm.SentencePieceProcessor(model_file=str(info.target_spm))
    outputs = {}
    for lang in config.langs:
        if lang == config.source_lang:
            continue
        prefix = engine.target_prefix(lang)  # NLLB, M2M100: the language token, dropped from the output
        batch = engine.source_tokens(texts, lang)
        settings = dict(max_batch_size=config.translate.max_batch_tokens, batch_type="tokens",
                        beam_size=config.translate.beam_size)
        if args.raw_buckets:
            # The build's length caps: one call per length bucket, each capped as the build caps it.
            results = [None] * len(batch)
            order = sorted(range(len(batch)), key=lambda i: len(batch[i]))
            for bound, bucket in engine._buckets(order, batch):
                cap = min(512, math.ceil(config.translate.max_length_ratio * bound)
                          + config.translate.max_length_offset) + len(prefix)
                part = translator.translate_batch([batch[i] for i in bucket],
                                                  target_prefix=[prefix] * len(bucket) if prefix else None,
                                                  max_decoding_length=cap, **settings)
                for i, r in zip(bucket, part, strict=True):
                    results[i] = r
        else:
            results = translator.translate_batch(batch, target_prefix=[prefix] * len(batch) if prefix else None,
                                                 max_decoding_length=512, **settings)
        outputs[lang] = [target_sp.decode(r.hypotheses[0][len(prefix):]) for r in results]
    return {"seconds": time.perf_counter() - start, "outputs": outputs}


def compare_outputs(build: dict, raw: dict, allow: float = 0.01) -> str:
    """The share of the build's translations equal to raw's, as a line; exits below ``1 - allow``
    (the build caps decoding per length bucket, raw at 512 tokens: a few may differ)."""
    flat_build = [t for lang in sorted(raw) for t in build[lang]]
    flat_raw = [t for lang in sorted(raw) for t in raw[lang]]
    equal = same_outputs(flat_build, flat_raw, "build vs raw translations", allow=allow)
    return (f"build translations equal to raw translate_batch's: {equal:.4%} "
            f"({round((1 - equal) * len(flat_raw)):,} differ)")


def collect_texts(args, tmp: Path) -> list[str]:
    """The distinct non-empty texts the build translates: the steps before translate, run."""
    config = _config(args, tmp / "collect-out", tmp / "collect-cache")
    steps = _steps(config, False)
    position = next(i for i, s in enumerate(steps) if s.name == "translate")
    stream = steps[0].run(iter(()))
    for step in steps[1:position]:
        stream = step.run(stream)
    seen: dict[str, None] = {}
    for chunk in stream:
        seen.update((t, None) for t in chunk.unique or [] if t.strip())
    return list(seen)


def run_side(args, side: str, out: Path, cache: Path, texts: Path, splitter: str | None = None) -> dict:
    cmd = [sys.executable, __file__, "--side", side, "--out", str(out), "--cache", str(cache), "--texts", str(texts),
           "--langs", args.langs, "--device", args.device, "--model", args.model, "--compute-type", args.compute_type,
           "--source", str(args.source)]
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    if splitter:
        cmd += ["--splitter", splitter]
    if args.raw_buckets:
        cmd += ["--raw-buckets"]
    for item in args.set or []:
        cmd += ["--set", item]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{side} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return Measured(result["seconds"], result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SQUAD_DEV)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--langs", default="x-rot13,x-atbash")
    parser.add_argument("--model", default="toy")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--compute-type", default="auto")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--serial", action="store_true", help="also the chunk-by-chunk build (before issue 14)")
    parser.add_argument("--serial-splitter", default="pysbd")
    parser.add_argument("--no-rerun", action="store_true", help="skip the cached reruns")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="a build setting for both sides (translate.max_length_ratio=1.0)")
    parser.add_argument("--raw-buckets", action="store_true",
                        help="raw: one call per length bucket with the build's caps (equal decoding work when a "
                             "model rarely ends its outputs, as a random one)")
    parser.add_argument("--side", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    parser.add_argument("--texts", help=argparse.SUPPRESS)
    parser.add_argument("--splitter", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        result = side_raw(args) if args.side == "raw" else side_build(args)
        print(json.dumps(result))
        return
    require(args.source)
    print(f"load average at start: {load_average()}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        texts = collect_texts(args, tmp)
        texts_file = tmp / "texts.json"
        texts_file.write_text(json.dumps(texts))
        n_langs = len([lang for lang in args.langs.split(",") if lang != "en"])
        print(f"{args.source.name}{f' --limit {args.limit}' if args.limit else ''}: {len(texts):,} distinct segments x "
              f"{n_langs} languages = {len(texts) * n_langs:,} translations; model {args.model}, {args.device}, "
              f"compute type {args.compute_type}")
        runs = {"n": 0}

        def fresh(side: str, splitter: str | None = None):
            def run():
                runs["n"] += 1
                n = runs["n"]
                return run_side(args, side, tmp / f"out-{n}", tmp / f"cache-{side}-{n}", texts_file, splitter)
            return run

        sides = {"build": fresh("build"), "raw": fresh("raw")}
        if args.serial:
            sides["build-serial"] = fresh("build-serial", args.serial_splitter)
        timing = interleaved(sides, repeats=args.repeats)
        print()
        for t in timing.values():
            print(t.line(len(texts) * n_langs, "translations"))
            if "stages" in t.output:
                stages = t.output["stages"]
                print("    stage seconds (last run): " + ", ".join(f"{k} {v:.2f}" for k, v in stages.items()))
        print(ratio_line(timing["build"], timing["raw"], "<= 1.10"))
        if args.serial:
            print(ratio_line(timing["build-serial"], timing["raw"]))
            same = timing["build"].output["shards_sha256"] == timing["build-serial"].output["shards_sha256"]
            print(f"shards of build and build-serial ({args.serial_splitter}) byte-identical: {same}")
            if args.serial_splitter == "blingfire" and not same:
                sys.exit("build and build-serial with the same splitter must write the same shards")
        print(compare_outputs(timing["build"].output["outputs"], timing["raw"].output["outputs"]))
        if not args.no_rerun:
            cached = {"build (cached rerun)": ("build", None)}
            if args.serial:
                cached["build-serial (cached rerun)"] = ("build-serial", args.serial_splitter)
            warm = {}
            for name, (side, splitter) in cached.items():
                cache = tmp / f"warm-{side}"
                run_side(args, side, tmp / f"warm-out-{side}", cache, texts_file, splitter)
                warm[name] = (side, splitter, cache)

            def rerun(side, splitter, cache):
                def run():
                    runs["n"] += 1
                    return run_side(args, side, tmp / f"rerun-{runs['n']}", cache, texts_file, splitter)
                return run

            reruns = interleaved({name: rerun(*spec) for name, spec in warm.items()}, repeats=max(2, args.repeats))
            for t in reruns.values():
                print(t.line())
    print(f"load average at end: {load_average()}")


if __name__ == "__main__":
    main()
