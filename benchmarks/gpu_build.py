"""`mtqa build` against raw CTranslate2 on a GPU, with an NLLB-200-600M-shaped model.

Never needs the Hub. Builds a randomly initialised model of NLLB-200-distilled-600M's shape
(M2M100 architecture: d_model 1024, 12 + 12 layers, 16 heads, FFN 4096, vocabulary 256,206)
with transformers, its SentencePiece model trained here on the input's own text (the
vocabulary padded with made-up tokens to NLLB's size, so the output projection costs what
NLLB's does), converts it to CTranslate2 ``float16`` and ``int8_float16``, and for each runs
:mod:`bench_build` (the whole build against raw ``translate_batch`` on the build's own unique
segments, same settings, each in a fresh process) while ``nvidia-smi`` samples the GPU's
utilisation every 200 ms. Prints, per compute type: build and raw seconds, their ratio
(target <= 1.10), the GPU utilisation (mean over each side's run), and the CPU steps' share
of the build (the manifest's stage seconds other than translate, over the build's wall time;
with overlap they run while the GPU translates).

A random model rarely emits ``</s>``, so every output would run to its length cap: the raw
side uses the build's caps too (``--raw-buckets``: one call per length bucket, capped as the
build caps it), and ``translate.max_length_ratio=1.0``, ``max_length_offset=5`` keep the
outputs near their inputs' lengths, as real translations are. The outputs of the two sides
are compared (at least 99% must be equal, else the run exits). The answer projection scores a random model's junk
outputs slowly (72.9 s of 78 s on the tiny CPU check), which no real model's outputs cost,
so both sides build with ``projection.enabled=false`` (and the filter without
``answer_lost``, which needs it); ``--projection`` keeps it on.

Not run yet: no GPU has been lent to this project's sessions. ``--shape tiny`` runs the same
flow on a CPU in 10 s (a 2-layer model, compute type int8), which is how the script was
checked (2026-12-01: build ÷ raw 1.044 on 1,497 translations, outputs 99.93% equal).

    python benchmarks/gpu_build.py [--limit 3000] [--langs de,es,fr] [--compute-types float16,int8_float16]
    python benchmarks/gpu_build.py --shape tiny --device cpu --compute-types int8 --limit 200
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_build  # noqa: E402
from _common import SHARED_DATA, require  # noqa: E402
from _harness import interleaved, load_average, ratio_line  # noqa: E402

SHAPES = {
    "nllb-600m": dict(d_model=1024, encoder_layers=12, decoder_layers=12, encoder_attention_heads=16,
                      decoder_attention_heads=16, encoder_ffn_dim=4096, decoder_ffn_dim=4096,
                      max_position_embeddings=1024, vocab_size=256_206),
    "tiny": dict(d_model=64, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
                 decoder_attention_heads=4, encoder_ffn_dim=128, decoder_ffn_dim=128,
                 max_position_embeddings=1024, vocab_size=4_000),
}


def squad_texts(path: Path, limit: int | None) -> list[str]:
    data = json.loads(path.read_text(encoding="utf-8"))
    texts, n = [], 0
    for article in data["data"]:
        for p in article["paragraphs"]:
            texts.append(p["context"])
            for qa in p["qas"]:
                texts.append(qa["question"])
                n += 1
            if limit and n >= limit:
                return texts
    return texts


def build_model(out: Path, shape: str, corpus: list[str]) -> Path:
    """A random NLLB-shaped Hugging Face checkpoint in ``out`` (SentencePiece trained on ``corpus``)."""
    import sentencepiece as spm
    import torch
    from transformers import M2M100Config, M2M100ForConditionalGeneration, NllbTokenizer
    from transformers.convert_slow_tokenizer import SentencePieceExtractor

    dims = dict(SHAPES[shape])
    vocab_size = dims.pop("vocab_size")
    out.mkdir(parents=True, exist_ok=True)
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus), model_prefix=str(out / "sentencepiece.bpe"),
        vocab_size=min(8000, vocab_size // 2), model_type="bpe", character_coverage=1.0, hard_vocab_limit=False,
        bos_id=0, pad_id=1, eos_id=2, unk_id=3, minloglevel=2)
    extracted = SentencePieceExtractor(str(out / "sentencepiece.bpe.model")).extract(None)
    tokenizer = NllbTokenizer(vocab=extracted["vocab"], merges=extracted["merges"],
                              _spm_precompiled_charsmap=extracted["_spm_precompiled_charsmap"],
                              src_lang="eng_Latn", tgt_lang="deu_Latn")
    padding = vocab_size - len(tokenizer)
    if padding > 0:
        tokenizer.add_tokens([f"<madeup{i}>" for i in range(padding)])
    torch.manual_seed(0)
    config = M2M100Config(vocab_size=len(tokenizer), scale_embedding=True, activation_function="relu",
                          pad_token_id=tokenizer.pad_token_id, bos_token_id=0, eos_token_id=2,
                          decoder_start_token_id=2, **dims)
    model = M2M100ForConditionalGeneration(config)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    params = sum(p.numel() for p in model.parameters())
    print(f"random {shape} model: {params / 1e6:,.1f}M parameters, vocabulary {len(tokenizer):,}", flush=True)
    return out


def convert(hf_dir: Path, out: Path, quantization: str) -> Path:
    from mtqa.translation.models import convert_checkpoint

    if not (out / "model.bin").exists():
        start = time.perf_counter()
        convert_checkpoint(str(hf_dir), out, quantization=quantization)
        print(f"converted to CTranslate2 {quantization} in {time.perf_counter() - start:.0f} s", flush=True)
    return out


class GpuSampler:
    """``nvidia-smi`` utilisation samples (every 200 ms) while a side runs."""

    def __init__(self) -> None:
        self.available = shutil.which("nvidia-smi") is not None
        self.samples: list[tuple[float, float]] = []

    def __enter__(self):
        self.samples = []
        if self.available:
            self._proc = subprocess.Popen(
                ["nvidia-smi", "--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader,nounits",
                 "-lms", "200", "-i", "0"], stdout=subprocess.PIPE, text=True)
            self._reader = threading.Thread(target=self._read, daemon=True)
            self._reader.start()
        return self

    def _read(self) -> None:
        for line in self._proc.stdout:
            try:
                util, mem = (float(x) for x in line.split(","))
            except ValueError:
                continue
            self.samples.append((util, mem))

    def __exit__(self, *exc) -> None:
        if self.available:
            self._proc.terminate()
            self._proc.wait()
            self._reader.join(timeout=2)

    def summary(self) -> str:
        if not self.samples:
            return "GPU utilisation: not sampled (no nvidia-smi)"
        utils = [u for u, _ in self.samples]
        return (f"GPU utilisation mean {sum(utils) / len(utils):.0f}% over {len(utils)} samples, "
                f"memory up to {max(m for _, m in self.samples):,.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=bench_build.SQUAD_DEV)
    parser.add_argument("--limit", type=int, default=3000)
    parser.add_argument("--langs", default="de,es,fr")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="nllb-600m")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--compute-types", default="float16,int8_float16")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="more build settings for both sides, e.g. projection.enabled=false")
    parser.add_argument("--work", type=Path, help="where the model and outputs go (default: a temporary folder)")
    parser.add_argument("--projection", action="store_true",
                        help="keep answer projection on (slow on a random model's outputs)")
    args = parser.parse_args()
    if not args.projection:
        args.set = ["projection.enabled=false",
                    'filter.checks=["empty","too_short","length_ratio","repetition","copy","wrong_language"]',
                    *args.set]
    require(args.source)
    if args.device == "cuda":
        import ctranslate2

        if ctranslate2.get_cuda_device_count() == 0:
            sys.exit("gpu_build.py: CTranslate2 sees no CUDA GPU; use --shape tiny --device cpu --compute-types int8")
    print(f"load average at start: {load_average()}")
    work_dir = tempfile.TemporaryDirectory() if args.work is None else None
    work = Path(work_dir.name) if work_dir else args.work
    hf_dir = work / f"hf-{args.shape}"
    if not (hf_dir / "config.json").exists():
        build_model(hf_dir, args.shape, squad_texts(args.source, args.limit))
    for compute_type in args.compute_types.split(","):
        quantization = compute_type if compute_type != "int8" else "int8"
        model = convert(hf_dir, work / f"ct2-{args.shape}-{quantization}", quantization)
        bench_args = argparse.Namespace(
            source=args.source, limit=args.limit, langs=f"en,{args.langs}", model=str(model), device=args.device,
            compute_type=compute_type, raw_buckets=True,
            set=["translate.max_length_ratio=1.0", "translate.max_length_offset=5", *args.set])
        tmp = work / f"runs-{compute_type}"
        tmp.mkdir(exist_ok=True)
        texts = bench_build.collect_texts(bench_args, tmp)
        texts_file = tmp / "texts.json"
        texts_file.write_text(json.dumps(texts))
        n = len(texts) * len(args.langs.split(","))
        print(f"\n{compute_type}: {len(texts):,} distinct segments x {len(args.langs.split(','))} languages = "
              f"{n:,} translations ({args.source.name} --limit {args.limit})", flush=True)
        gpu = {"build": GpuSampler(), "raw": GpuSampler()}
        runs = {"n": 0}

        def side(name):
            def run():
                runs["n"] += 1
                with gpu[name]:
                    return bench_build.run_side(bench_args, name, tmp / f"out-{runs['n']}",
                                                tmp / f"cache-{runs['n']}", texts_file)
            return run

        timing = interleaved({"build": side("build"), "raw": side("raw")}, repeats=args.repeats)
        for name, t in timing.items():
            print(t.line(n, "translations") + f"; {gpu[name].summary()} (last run)")
        print(ratio_line(timing["build"], timing["raw"], "<= 1.10"))
        stages = timing["build"].output["stages"]
        cpu = sum(v for k, v in stages.items() if k != "translate")
        print(f"stage seconds: {', '.join(f'{k} {v:.2f}' for k, v in stages.items())}; CPU steps "
              f"{cpu:.1f} s = {cpu / timing['build'].output['seconds']:.0%} of the build's wall time")
        print(bench_build.compare_outputs(timing["build"].output["outputs"], timing["raw"].output["outputs"]),
              flush=True)
    print(f"load average at end: {load_average()}")
    if work_dir:
        work_dir.cleanup()


if __name__ == "__main__":
    main()
