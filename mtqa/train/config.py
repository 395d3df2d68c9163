"""``TrainConfig``: everything ``mtqa train`` needs, loaded from ``mtqa/pipelines/train-*.yaml``
and overridden by the CLI (:func:`mtqa.config.load_config`).

The defaults are the paper's (arXiv 2408.10536): hybrid batches with alpha 0.5, batch 100,
AdamW with lr 3e-5 and weight decay 0.01, linear warmup, MultipleNegativesRankingLoss with
cosine similarity at scale 20, mE5's "query: " / "passage: " prompts. Fields marked
``placement`` (workers, logging, progress, checkpoint spacing, evaluation) do not change the
trained weights, so ``--resume`` accepts a change to them; every other field must match.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mtqa.config_fields import StrEnum, identity_dict, placement, to_dict
from mtqa.errors import MtqaError

EVAL_BENCHMARKS = ("xquad-r", "mlqa-r")


class Sampling(StrEnum):
    """How batches mix languages: X-X only, X-Y only, or both (the paper's hybrid)."""

    HYBRID = "hybrid"  # X-X with probability alpha, else X-Y
    XX = "xx"  # every batch monolingual
    XY = "xy"  # every pair cross-lingual


class Precision(StrEnum):
    """Training arithmetic: fp32, or mixed precision on a GPU."""

    AUTO = "auto"  # bf16 on a GPU that has it, else fp16 on a GPU, fp32 on a CPU
    FP32 = "fp32"
    BF16 = "bf16"
    FP16 = "fp16"


@dataclass
class TrainConfig:
    """One training run. ``data``: build folders (``mtqa build --out``); ``model``: a
    sentence-transformers folder, a Hugging Face encoder (mean pooling is added) or a Hub id;
    ``out``: where the trained model goes (checkpoints in ``out/checkpoints``)."""

    data: list[str] = field(default_factory=list)
    model: str = "intfloat/multilingual-e5-small"
    out: str = "out/model"
    # -- batches -------------------------------------------------------------------------
    sampling: Sampling = Sampling.HYBRID
    alpha: float = 0.5  # probability of an X-X batch (hybrid only; xx means 1, xy means 0)
    batch_size: int = 100
    mini_batch_size: int | None = None  # set: CachedMultipleNegativesRankingLoss (GradCache) with these chunks
    langs: list[str] | None = None  # train on these languages of the builds only (None: all)
    language_sampling: str = "uniform"  # X-X batch language: "uniform" or "size"
    query_lang: str | None = None  # fix the query language of X-Y pairs
    source_temperature: float = 1.0
    one_source_per_batch: bool = False
    # -- optimisation (the paper's defaults) ------------------------------------------------
    lr: float = 3e-5
    weight_decay: float = 0.01
    warmup: float = 0.1  # linear warmup: a fraction of the steps if < 1, else a number of steps
    epochs: float = 1.0
    max_steps: int | None = None  # set: stop after this many steps (overrides epochs)
    seed: int = 42
    precision: Precision = Precision.AUTO
    scale: float = 20.0  # similarity scale of the loss (temperature 0.05)
    max_seq_length: int | None = 256  # None: the model's own
    # -- prompts (mE5's by default; empty strings for models trained without them) -------
    query_prompt: str = "query: "
    passage_prompt: str = "passage: "
    # -- checkpoints and resume ---------------------------------------------------------------
    checkpoint_steps: int = placement(500)
    checkpoint_limit: int | None = placement(2)  # checkpoints kept (None: all)
    resume: bool = placement(False)
    # -- evaluation ---------------------------------------------------------------------------
    # Evaluation reads the weights and changes none of them: a resume may add or change it.
    eval: list[str] = placement(default_factory=list)  # benchmarks run on the final model: xquad-r, mlqa-r
    eval_data: str | None = placement(None)  # the benchmark's LAReQA folder
    eval_langs: list[str] | None = placement(None)
    eval_limit: int | None = placement(None)  # first N paragraphs per file (a quick check, not comparable)
    eval_checkpoints: bool = placement(False)  # also evaluate every checkpoint
    eval_batch_size: int = placement(64)
    # -- where and how it runs ----------------------------------------------------------------
    device: str = placement("auto")  # auto, cpu or cuda
    dataloader_workers: int = placement(0)
    logging_steps: int = placement(10)
    progress: bool | None = placement(None)  # None: a progress bar when stderr is a terminal

    def __post_init__(self) -> None:
        if isinstance(self.data, str):
            self.data = [self.data]
        if not self.data:
            raise MtqaError("no training data: pass --data OUT_DIR (a folder written by `mtqa build`)")
        self.data = [str(d) for d in self.data]
        self.sampling = _enum(Sampling, self.sampling, "sampling")
        self.precision = _enum(Precision, self.precision, "precision")
        if isinstance(self.eval, str):
            self.eval = [self.eval]
        self.eval = list(dict.fromkeys(self.eval or []))
        for name in self.eval:
            if name not in EVAL_BENCHMARKS:
                raise MtqaError(f"unknown eval benchmark {name!r} (known: {', '.join(EVAL_BENCHMARKS)})")
        if self.eval and not self.eval_data:
            raise MtqaError("--eval needs --eval-data: the benchmark's folder (the xquad-r or mlqa-r folder of "
                            "github.com/google-research-datasets/lareqa)")
        if not isinstance(self.model, str) or not self.model.strip():
            raise MtqaError("no model given: pass --model (a sentence-transformers folder, an encoder folder or a Hub id)")
        if not 0.0 <= self.alpha <= 1.0:
            raise MtqaError(f"alpha must be in [0, 1], got {self.alpha}")
        _at_least(self.batch_size, 1, "batch size")
        if self.mini_batch_size is not None:
            _at_least(self.mini_batch_size, 1, "mini-batch size")
            if self.mini_batch_size > self.batch_size:
                raise MtqaError(f"mini-batch size {self.mini_batch_size} is larger than the batch size {self.batch_size}")
        if self.language_sampling not in ("uniform", "size"):
            raise MtqaError(f"language_sampling must be 'uniform' or 'size', got {self.language_sampling!r}")
        if not self.source_temperature > 0:
            raise MtqaError(f"source temperature must be > 0, got {self.source_temperature}")
        if not self.lr > 0:
            raise MtqaError(f"learning rate must be > 0, got {self.lr}")
        if self.weight_decay < 0:
            raise MtqaError(f"weight decay must be >= 0, got {self.weight_decay}")
        if self.warmup < 0 or (self.warmup >= 1 and self.warmup != int(self.warmup)):
            raise MtqaError(f"warmup must be a fraction in [0, 1) or a whole number of steps, got {self.warmup}")
        if not self.epochs > 0:
            raise MtqaError(f"epochs must be > 0, got {self.epochs}")
        if self.max_steps is not None:
            _at_least(self.max_steps, 1, "max steps")
        if not self.scale > 0:
            raise MtqaError(f"scale must be > 0, got {self.scale}")
        if self.max_seq_length is not None:
            _at_least(self.max_seq_length, 1, "max sequence length")
        _at_least(self.checkpoint_steps, 1, "checkpoint steps")
        if self.checkpoint_limit is not None:
            _at_least(self.checkpoint_limit, 1, "checkpoint limit")
        if self.eval_limit is not None:
            _at_least(self.eval_limit, 1, "eval limit")
        _at_least(self.eval_batch_size, 1, "eval batch size")
        if self.device not in ("auto", "cpu", "cuda"):
            raise MtqaError(f"device must be auto, cpu or cuda, got {self.device!r}")
        if self.dataloader_workers < 0:
            raise MtqaError(f"dataloader workers must be >= 0, got {self.dataloader_workers}")
        _at_least(self.logging_steps, 1, "logging steps")
        if self.langs is not None:
            self.langs = list(dict.fromkeys(self.langs))
            if not self.langs:
                raise MtqaError("--langs names no language")

    @property
    def effective_alpha(self) -> float:
        """The probability of an X-X batch that the sampling mode means."""
        return {Sampling.XX: 1.0, Sampling.XY: 0.0}.get(self.sampling, self.alpha)

    def to_dict(self) -> dict:
        return to_dict(self)

    def identity(self) -> dict:
        """What decides the trained weights; a resume must match it exactly. The output folder
        is where the run is, not what it is."""
        data = identity_dict(self)
        data.pop("out")
        if self.sampling != Sampling.HYBRID:
            data.pop("alpha")  # xx and xy do not read it
        return data


def _enum(cls, value, name: str):
    try:
        return cls(value)
    except ValueError:
        raise MtqaError(f"{name} must be one of {', '.join(cls.values())}, got {value!r}") from None


def _at_least(value, low: int, what: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise MtqaError(f"{what} must be a whole number >= {low}, got {value!r}")
