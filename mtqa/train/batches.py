"""The adapter that makes the hybrid sampler's batches the trainer's batches.

``SentenceTransformerTrainingArguments(batch_sampler=...)`` takes a callable built as
``(dataset, batch_size=, drop_last=, valid_label_columns=, generator=, seed=)`` that returns
a batch sampler: an iterable of index lists with ``__len__`` and ``set_epoch``.
:func:`batch_sampler_factory` gives that callable for one :class:`~mtqa.train.data.TrainData`;
the sampler it returns yields, per batch of the epoch, the pair view's row numbers of the
hybrid sampler's (id, query language, passage language) triples, in the sampler's order.

The epoch's sequence depends only on ``(seed, epoch)``, so the trainer's own resume (it
skips the batches already trained in the epoch) continues with exactly the batches an
uninterrupted run would have had, with or without DataLoader workers: the batch sampler runs
in the main process, workers only fetch texts. With several processes accelerate deals the
batches round-robin (``BatchSamplerShard``); every id is in one batch per epoch, so the
processes never share an id.
"""

from __future__ import annotations

from collections.abc import Iterator

from mtqa.errors import MtqaError
from mtqa.sampler import HybridBatchSampler
from mtqa.train.data import TrainData, pair_index

try:
    from sentence_transformers import DefaultBatchSampler as _Base
except ImportError:  # sentence-transformers < 5.4 kept it in sentence_transformers.sampler
    from sentence_transformers.sampler import DefaultBatchSampler as _Base


class HybridPairBatchSampler(_Base):
    """Index lists into the pair view, one per hybrid batch. ``batches_served`` records every
    batch handed out (epoch, position, indices) when ``record=True``, for tests."""

    def __init__(self, dataset, sampler: HybridBatchSampler, batch_size: int, drop_last: bool = True,
                 valid_label_columns=None, generator=None, seed: int = 0):
        super().__init__(dataset, batch_size=batch_size, drop_last=drop_last, valid_label_columns=valid_label_columns,
                         generator=generator, seed=seed)
        self.sampler = sampler
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.sampler)

    def __iter__(self) -> Iterator[list[int]]:
        for _, _, ids, q, p in self.sampler.my_batches(self.epoch):
            yield pair_index(self.sampler, ids, q, p).tolist()


class HybridBatchSamplerFactory:
    """The ``batch_sampler=`` callable for the trainer, bound to ``data``'s sampler and pair
    view. The trainer pickles its arguments into every checkpoint: the pickled factory keeps
    only its description, not the data."""

    def __init__(self, data: TrainData):
        self.data = data
        self.description = (f"mtqa.HybridBatchSampler(alpha={data.sampler.config.alpha}, "
                            f"batch_size={data.sampler.config.batch_size}, data={data.sampler.fingerprint()[:12]})")

    def __repr__(self) -> str:
        return self.description

    def __getstate__(self) -> dict:
        return {"data": None, "description": self.description}

    def __call__(self, dataset, batch_size: int, drop_last: bool, valid_label_columns=None, generator=None,
                 seed: int = 0) -> HybridPairBatchSampler:
        data = self.data
        if data is None:
            raise MtqaError(f"{self.description} was restored from a checkpoint without its data; build it anew")
        if len(dataset) != len(data.pairs):
            raise MtqaError("the trainer's dataset is not mtqa's pair view: pass train_dataset=data.pairs")
        if batch_size != data.sampler.config.batch_size:
            raise MtqaError(f"the trainer asks for batches of {batch_size}, the hybrid sampler makes "
                            f"{data.sampler.config.batch_size} (per_device_train_batch_size must equal the batch size; "
                            "with DataParallel over several GPUs use one process per GPU instead)")
        return HybridPairBatchSampler(dataset, data.sampler, batch_size=batch_size, drop_last=drop_last,
                                      valid_label_columns=valid_label_columns, generator=generator, seed=seed)


def batch_sampler_factory(data: TrainData) -> HybridBatchSamplerFactory:
    """The ``batch_sampler=`` argument for ``SentenceTransformerTrainingArguments``."""
    return HybridBatchSamplerFactory(data)
