"""``train(config) -> TrainResult``: one training run through sentence-transformers' trainer.

The trainer does the loop (AdamW, the linear schedule, AMP, accelerate or torchrun for
several GPUs, checkpoints, resume); mtqa supplies the pair view, the batch sampler that makes
its batches the hybrid sampler's, the loss, the model card and the evaluation. The output
folder holds the final model (``SentenceTransformer(out)`` loads it), ``README.md`` (the
model card), ``mtqa_train.json``, ``eval/`` when ``--eval`` ran, and ``checkpoints/``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mtqa.errors import MtqaError
from mtqa.train.batches import batch_sampler_factory
from mtqa.train.card import RECORD_NAME, card_data, run_record, write_card
from mtqa.train.config import Precision, TrainConfig
from mtqa.train.data import TrainData, load_train_data
from mtqa.train.model import load_model, make_loss

logger = logging.getLogger(__name__)

RUN_NAME = "mtqa_run.json"  # written when a run starts: what --resume must match
CHECKPOINTS = "checkpoints"


@dataclass
class TrainResult:
    """What a run did and where it put it."""

    out: Path
    steps: int
    examples: int
    seconds: float
    examples_per_second: float
    data_wait_share: float  # of the time in training steps, the part spent waiting for the next batch
    final_loss: float | None
    busy_seconds: float = 0.0  # time inside optimizer steps plus the waits for data (no setup, no saving)
    losses: list[tuple[int, float]] = field(default_factory=list)
    resumed_from: str | None = None
    eval: list = field(default_factory=list)  # mtqa.eval result records of the final model
    eval_files: list[Path] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"out": str(self.out), "steps": self.steps, "examples": self.examples, "seconds": round(self.seconds, 3),
                "examples_per_second": round(self.examples_per_second, 3),
                "data_wait_share": round(self.data_wait_share, 5), "final_loss": self.final_loss,
                "resumed_from": self.resumed_from}

    def summary(self) -> str:
        """The lines ``mtqa train`` prints at the end."""
        lines = [f"model: {self.out} (SentenceTransformer('{self.out}') loads it; model card: {self.out / 'README.md'})",
                 f"trained {self.steps:,} steps, {self.examples:,} pairs in {self.seconds:,.1f} s "
                 f"({self.examples_per_second:,.1f} pairs/s, {100 * self.data_wait_share:.1f}% waiting for data); "
                 f"final loss {self.final_loss if self.final_loss is not None else '–'}"]
        if self.resumed_from:
            lines.append(f"resumed from {self.resumed_from}")
        if self.eval:
            from mtqa.eval.results import summary_markdown

            lines.append(summary_markdown(self.eval, heading_level=3).rstrip())
            lines.append("eval files: " + ", ".join(str(p) for p in self.eval_files))
        return "\n".join(lines)


def _trainer_callback_base():
    from transformers import TrainerCallback

    return TrainerCallback


class _Monitor:
    """Progress bar (or log lines), loss, examples/s and the time spent waiting for data: the
    gap between one optimizer step's end and the next one's start, where the trainer fetches,
    collates and tokenises the next batch."""

    def __init__(self, batch_size: int, progress: bool, report: Callable[[str], None], logging_steps: int):
        self.batch_size = batch_size
        self.progress = progress
        self.report = report
        self.logging_steps = logging_steps
        self.bar = None
        self.start = self.end = None
        self.data_wait = 0.0
        self.step_time = 0.0
        self.steps = 0
        self.first_step = 0
        self.losses: list[tuple[int, float]] = []
        self._last_end: float | None = None
        self._step_start: float | None = None

    def callback(self, eval_hook: Callable[[int], None] | None = None):
        monitor = self

        class MonitorCallback(_trainer_callback_base()):
            def on_train_begin(self, args, state, control, **kw):
                monitor.start = time.perf_counter()
                monitor.first_step = state.global_step
                if monitor.progress:
                    from tqdm.auto import tqdm

                    monitor.bar = tqdm(total=state.max_steps, initial=state.global_step, desc="train", unit="step",
                                       dynamic_ncols=True)

            def on_epoch_begin(self, args, state, control, **kw):
                monitor._last_end = time.perf_counter()

            def on_step_begin(self, args, state, control, **kw):
                now = time.perf_counter()
                if monitor._last_end is not None:
                    monitor.data_wait += now - monitor._last_end
                monitor._step_start = now

            def on_step_end(self, args, state, control, **kw):
                now = time.perf_counter()
                if monitor._step_start is not None:
                    monitor.step_time += now - monitor._step_start
                monitor._last_end = now
                monitor.steps += 1
                if monitor.bar is not None:
                    monitor.bar.update(1)
                    postfix = {"ex/s": f"{monitor.rate():.1f}"}
                    if monitor.losses:
                        postfix["loss"] = f"{monitor.losses[-1][1]:.4f}"
                    monitor.bar.set_postfix(postfix, refresh=False)

            def on_log(self, args, state, control, logs=None, **kw):
                if logs and "loss" in logs:
                    monitor.losses.append((state.global_step, float(logs["loss"])))
                    if monitor.bar is None:
                        monitor.report(f"step {state.global_step:,}/{state.max_steps:,}  loss {float(logs['loss']):.4f}  "
                                       f"lr {float(logs.get('learning_rate', 0.0)):.2e}  {monitor.rate():.1f} examples/s")
                # The step's end was stamped before logging and saving: do not count them as data wait.
                monitor._last_end = time.perf_counter()

            def on_save(self, args, state, control, **kw):
                if eval_hook is not None:
                    eval_hook(state.global_step)
                monitor._last_end = time.perf_counter()

            def on_train_end(self, args, state, control, **kw):
                monitor.end = time.perf_counter()
                if monitor.bar is not None:
                    monitor.bar.close()

        return MonitorCallback()

    def rate(self) -> float:
        busy = self.step_time + self.data_wait
        return self.steps * self.batch_size / busy if busy else 0.0

    @property
    def wait_share(self) -> float:
        busy = self.step_time + self.data_wait
        return self.data_wait / busy if busy else 0.0


def _precision(config: TrainConfig, device: str) -> dict:
    import torch

    p = config.precision
    if p == Precision.AUTO:
        if device != "cuda":
            return {}
        p = Precision.BF16 if torch.cuda.is_bf16_supported() else Precision.FP16
    if p == Precision.FP16 and device != "cuda":
        raise MtqaError("--precision fp16 needs a GPU (use fp32 or bf16 on a CPU)")
    return {"bf16": p == Precision.BF16, "fp16": p == Precision.FP16}


def _first_difference(old: dict, new: dict, prefix: str = "") -> str | None:
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key, "<unset>"), new.get(key, "<unset>")
        if isinstance(a, dict) and isinstance(b, dict):
            found = _first_difference(a, b, f"{prefix}{key}.")
            if found:
                return found
        elif a != b:
            return f"{prefix}{key} was {json.dumps(a, default=str)}, now {json.dumps(b, default=str)}"
    return None


def _run_identity(config: TrainConfig, data: TrainData) -> dict:
    return {"config": config.identity(), "data": data.sampler.fingerprint(),
            "builds": [b.identity_sha256 for b in data.builds]}


def _check_out(config: TrainConfig, identity: dict) -> str | None:
    """Refuse to mix runs in one folder; on --resume, the checkpoint to continue from."""
    from transformers.trainer_utils import get_last_checkpoint

    out = Path(config.out)
    run_file = out / RUN_NAME
    checkpoints = out / CHECKPOINTS
    if not config.resume:
        if run_file.is_file() or (out / "modules.json").is_file():
            raise MtqaError(f"--out {out} already holds a training run: pass --resume to continue it, or another --out")
        return None
    if not run_file.is_file():
        raise MtqaError(f"--resume: {out} holds no training run to continue (no {RUN_NAME})")
    try:
        saved = json.loads(run_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise MtqaError(f"--resume: {run_file} is unreadable ({e})") from None
    diff = _first_difference(saved, identity)
    if diff:
        raise MtqaError(f"--resume with a different config or data: {diff}")
    last = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
    if last is None:
        raise MtqaError(f"--resume: no checkpoint in {checkpoints} yet; start again without --resume "
                        f"after removing {out}")
    return last


def _evaluate(model_dir: Path, config: TrainConfig, out: Path, label: str) -> tuple[list, list[Path]]:
    from mtqa.eval.results import evaluate_and_write

    results, files = [], []
    for benchmark in config.eval:
        result, paths = evaluate_and_write(str(model_dir), benchmark, out, data=Path(config.eval_data).expanduser(),
                                           langs=config.eval_langs, limit=config.eval_limit, label=label,
                                           batch_size=config.eval_batch_size, device=config.device)
        results.append(result)
        files += paths
    return results, files


def _check_eval_data(config: TrainConfig) -> None:
    """Bad evaluation data fails before hours of training, not after."""
    if not config.eval:
        return
    from mtqa.eval.lareqa import load_lareqa

    for benchmark in config.eval:
        load_lareqa(Path(config.eval_data).expanduser(), benchmark, langs=config.eval_langs, limit=1)


def _widget(data: TrainData) -> list[dict]:
    """The model card's example: the first query of epoch 0 and the first passages of its batch."""
    first = next(iter(data.sampler._batches(0, 0, count=False)))
    return [{"source_sentence": first.queries[0], "sentences": first.passages[:4]}]


def _quiet_library_bars() -> None:
    """Without a progress bar of mtqa's own, no loading/saving bars from the libraries either."""
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        import datasets

        datasets.disable_progress_bars()
    except ImportError:
        pass


def train(config: TrainConfig, report: Callable[[str], None] | None = None, callbacks: list | None = None
          ) -> TrainResult:
    """Fine-tune ``config.model`` on ``config.data`` and write it to ``config.out``.

    ``report`` receives one line per logging step when there is no progress bar (default:
    this module's logger at INFO). ``callbacks``: more ``transformers.TrainerCallback`` s for
    the trainer. Bad input raises :class:`~mtqa.errors.MtqaError` before any training step
    runs.
    """
    report = report or logger.info
    progress = sys.stderr.isatty() if config.progress is None else config.progress
    if not progress:
        _quiet_library_bars()
    data = load_train_data(config)
    identity = _run_identity(config, data)
    resume_from = _check_out(config, identity)
    _check_eval_data(config)
    model = load_model(config)
    model.model_card_data = card_data(config, data)
    model.model_card_data.register_model(model)
    model.model_card_data.widget = _widget(data)  # real pairs, not a random sample of the pair view
    loss = make_loss(model, config)

    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments

    out = Path(config.out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    (out / RUN_NAME).write_text(json.dumps(identity, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    device = str(model.device.type)
    warmup = config.warmup if config.warmup < 1 else int(config.warmup)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(out / CHECKPOINTS),
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.lr,
        weight_decay=config.weight_decay,
        warmup_steps=warmup,
        lr_scheduler_type="linear",
        optim="adamw_torch",
        num_train_epochs=config.epochs,
        max_steps=config.max_steps if config.max_steps is not None else -1,
        seed=config.seed,
        data_seed=config.seed,
        prompts={k: v for k, v in (("query", config.query_prompt), ("passage", config.passage_prompt)) if v} or None,
        batch_sampler=batch_sampler_factory(data),
        save_strategy="steps",
        save_steps=config.checkpoint_steps,
        save_total_limit=config.checkpoint_limit,
        logging_strategy="steps",
        logging_steps=config.logging_steps,
        eval_strategy="no",
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=config.dataloader_workers,
        dataloader_drop_last=True,
        use_cpu=device == "cpu",
        **_precision(config, device),
    )
    monitor = _Monitor(config.batch_size, progress, report, config.logging_steps)
    eval_hook = None
    if config.eval and config.eval_checkpoints:
        def eval_hook(step: int) -> None:
            folder = out / CHECKPOINTS / f"checkpoint-{step}"
            if folder.is_dir():
                _evaluate(folder, config, folder / "eval", f"{out.name}@{step}")

    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=data.pairs, loss=loss,
                                         callbacks=[monitor.callback(eval_hook), *(callbacks or [])])
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # the monitor reports instead of printing raw log dicts
    output = trainer.train(resume_from_checkpoint=resume_from)
    model.save_pretrained(str(out))
    seconds = (monitor.end or time.perf_counter()) - (monitor.start or time.perf_counter())
    steps = trainer.state.global_step
    examples = monitor.steps * config.batch_size
    result = TrainResult(
        out=out, steps=steps, examples=examples, seconds=seconds,
        examples_per_second=examples / seconds if seconds else 0.0, data_wait_share=monitor.wait_share,
        busy_seconds=monitor.step_time + monitor.data_wait,
        # The last logged loss; a run shorter than one logging interval reports its mean loss.
        final_loss=monitor.losses[-1][1] if monitor.losses else getattr(output, "training_loss", None),
        losses=monitor.losses,
        resumed_from=resume_from)
    if config.eval:
        result.eval, result.eval_files = _evaluate(out, config, out / "eval", out.name)
    record = run_record(config, data, result.to_dict(), result.eval)
    result.files = write_card(out, record, result.eval)
    logger.info("wrote %s", ", ".join(str(p) for p in result.files))
    return result


__all__ = ["RECORD_NAME", "TrainResult", "train"]
