"""TrainConfig: the shipped recipes, validation, identity vs placement, and the CLI."""

from __future__ import annotations

import dataclasses

import pytest
from click.testing import CliRunner

from mtqa.config import list_pipelines, load_config
from mtqa.config_fields import is_placement
from mtqa.errors import MtqaError
from mtqa.train import Precision, Sampling, TrainConfig


def test_train_default_recipe_is_the_dataclass_defaults():
    assert load_config(TrainConfig, "train-default", kind="train", data=["d"]) == TrainConfig(data=["d"])
    assert {"train-default", "train-paper"} <= set(list_pipelines("train"))


def test_train_paper_recipe_loads_with_the_papers_settings():
    config = load_config(TrainConfig, "train-paper", kind="train", eval_data="lareqa/xquad-r")
    assert (config.batch_size, config.lr, config.weight_decay, config.alpha, config.scale) == (100, 3e-5, 0.01, 0.5, 20.0)
    assert config.sampling is Sampling.HYBRID and config.eval == ["xquad-r"] and config.mini_batch_size == 25


def test_overrides_use_dotted_keys_ignore_none_and_refuse_unknown_keys():
    config = load_config(TrainConfig, None, kind="train", data=["d"], sampling="xy", alpha=None, precision="bf16")
    assert config.sampling is Sampling.XY and config.effective_alpha == 0.0 and config.precision is Precision.BF16
    with pytest.raises(MtqaError, match="unknown key 'learning_rate'"):
        load_config(TrainConfig, None, kind="train", data=["d"], learning_rate=1.0)


@pytest.mark.parametrize("kwargs, match", [
    ({"data": []}, "no training data"),
    ({"sampling": "mixed"}, "sampling must be one of hybrid, xx, xy"),
    ({"alpha": 1.5}, "alpha must be in [0, 1]"),
    ({"batch_size": 0}, "batch size must be a whole number >= 1"),
    ({"mini_batch_size": 200}, "mini-batch size 200 is larger than the batch size 100"),
    ({"lr": 0}, "learning rate must be > 0"),
    ({"warmup": 2.5}, "warmup must be a fraction"),
    ({"eval": ["xquad-r"]}, "--eval needs --eval-data"),
    ({"eval": ["nq"], "eval_data": "x"}, "unknown eval benchmark 'nq'"),
    ({"device": "tpu"}, "device must be auto, cpu or cuda"),
    ({"precision": "int8"}, "precision must be one of"),
])
def test_bad_values_are_one_line(kwargs, match):
    with pytest.raises(MtqaError) as e:
        TrainConfig(**{"data": ["d"], **kwargs})
    assert match in str(e.value) and "\n" not in str(e.value)


def test_identity_leaves_out_placement_fields_and_the_output_folder():
    a = TrainConfig(data=["d"], dataloader_workers=4, progress=True, logging_steps=1, out="x", resume=True,
                    checkpoint_steps=7, eval=["xquad-r"], eval_data="e", eval_limit=3)
    b = TrainConfig(data=["d"])
    assert a.identity() == b.identity()
    assert TrainConfig(data=["d"], lr=1e-4).identity() != b.identity()
    placement = {f.name for f in dataclasses.fields(TrainConfig) if is_placement(f)}
    assert {"dataloader_workers", "logging_steps", "progress", "resume", "device"} <= placement
    assert TrainConfig(data=["d"], sampling="xx", alpha=0.2).identity() == TrainConfig(data=["d"], sampling="xx").identity()


def test_help_lists_every_option():
    from mtqa.cli.train import train

    result = CliRunner().invoke(train, ["--help"])
    assert result.exit_code == 0
    for option in ("--data", "--model", "--sampling", "--alpha", "--batch-size", "--mini-batch-size", "--out",
                   "--langs", "--eval", "--eval-data", "--resume", "--recipe", "--lr", "--weight-decay", "--warmup",
                   "--epochs", "--max-steps", "--seed", "--precision", "--checkpoint-steps", "--no-prompts",
                   "--progress", "hybrid|xx|xy"):
        assert option in result.output, option


def test_cli_trains_and_prints_the_summary(tmp_path, small_build, tiny_encoder):
    from mtqa.cli.train import train

    out = tmp_path / "model"
    result = CliRunner().invoke(train, ["--data", str(small_build), "--model", str(tiny_encoder), "--out", str(out),
                                        "--batch-size", "8", "--max-steps", "2", "--max-seq-length", "32",
                                        "--sampling", "xy", "--no-progress", "--lr", "1e-3"])
    assert result.exit_code == 0, result.output
    assert f"model: {out}" in result.output and "trained 2 steps, 16 pairs" in result.output
    assert "| mode | xy |" in (out / "README.md").read_text()
