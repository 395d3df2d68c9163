"""``mtqa train``: fine-tune a multilingual bi-encoder on mtqa builds with X-X, X-Y or hybrid
batches (arXiv 2408.10536), through sentence-transformers' trainer.

    from mtqa.train import TrainConfig, train
    result = train(TrainConfig(data=["out/default"], model="path/to/encoder", out="out/model"))

Needs the train extra (``pip install 'mtqa[train]'``); importing this package does not
import torch. docs/train.md has the whole path from ``mtqa build`` to ``mtqa eval``.
"""

from mtqa.train.config import Precision, Sampling, TrainConfig

__all__ = ["Precision", "Sampling", "TrainConfig", "TrainResult", "train"]


def __getattr__(name: str):
    # The run module imports the data and model code, which is only needed when training runs.
    if name in ("train", "TrainResult"):
        from mtqa.train import run

        return getattr(run, name)
    raise AttributeError(f"module 'mtqa.train' has no attribute {name!r}")
