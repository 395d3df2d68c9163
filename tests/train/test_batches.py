"""The batches the loss receives are exactly the hybrid sampler's batches, in order, across an
epoch boundary and after a mid-epoch resume with DataLoader workers."""

from __future__ import annotations

import pytest

from mtqa.train import TrainConfig
from tests.train.conftest import require_train_stack


class Recorder:
    """Wraps the run's loss and keeps the token ids of every batch it is given."""

    def __init__(self):
        self.batches: list[tuple[list, list]] = []

    def patch(self, monkeypatch):
        import mtqa.train.run as run
        from mtqa.train.model import make_loss as real
        recorder = self

        def make_loss(model, config):
            loss = real(model, config)
            inner = loss.forward

            def forward(features, labels):
                recorder.batches.append((features[0]["input_ids"].tolist(), features[1]["input_ids"].tolist()))
                return inner(features, labels)

            loss.forward = forward
            return loss

        monkeypatch.setattr(run, "make_loss", make_loss)


def expected_batches(config: TrainConfig, steps: int) -> list[tuple[list, list]]:
    """What the sampler plans, tokenised as the trainer's collator does (prompt + text)."""
    from sentence_transformers import SentenceTransformer

    from mtqa.train.data import load_train_data

    data = load_train_data(config)
    model = SentenceTransformer(config.model, device="cpu")
    model.max_seq_length = config.max_seq_length
    tokenize = getattr(model, "preprocess", None) or model.tokenize
    out, epoch = [], 0
    while len(out) < steps:
        data.sampler.set_epoch(epoch)
        for batch in data.sampler:
            queries = tokenize([config.query_prompt + q for q in batch.queries])["input_ids"].tolist()
            passages = tokenize([config.passage_prompt + p for p in batch.passages])["input_ids"].tolist()
            out.append((queries, passages))
            if len(out) == steps:
                break
        epoch += 1
    return out


def stop_at(step: int):
    from transformers import TrainerCallback

    class StopAt(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step >= step:
                control.should_training_stop = True

    return StopAt()


def test_loss_gets_the_sampler_batches_in_order_and_after_a_resume_with_workers(tmp_path, monkeypatch, small_build,
                                                                                 tiny_encoder):
    require_train_stack()
    from mtqa.train import train

    common = dict(data=[str(small_build)], model=str(tiny_encoder), batch_size=8, max_steps=20, checkpoint_steps=4,
                  lr=1e-3, max_seq_length=32, progress=False, dataloader_workers=2, logging_steps=5)
    whole = Recorder()
    whole.patch(monkeypatch)
    config = TrainConfig(out=str(tmp_path / "whole"), **common)
    train(config)
    steps_per_epoch = 120 // 8
    assert len(whole.batches) == 20 > steps_per_epoch  # crosses into epoch 1
    assert whole.batches == expected_batches(config, 20)

    first = Recorder()
    first.patch(monkeypatch)
    train(TrainConfig(out=str(tmp_path / "cut"), **common), callbacks=[stop_at(10)])  # killed after step 10 ...
    assert len(first.batches) == 10 and (tmp_path / "cut" / "checkpoints" / "checkpoint-8").is_dir()
    rest = Recorder()
    rest.patch(monkeypatch)
    result = train(TrainConfig(out=str(tmp_path / "cut"), resume=True, **common))  # ... resumed from step 8
    assert result.resumed_from.endswith("checkpoint-8")
    assert first.batches[:8] + rest.batches == whole.batches
