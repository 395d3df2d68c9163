"""Bad input to ``mtqa train`` gets one MtqaError line (exit 2 from the CLI), before training."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from click.testing import CliRunner

from mtqa.cli.train import train as train_command
from mtqa.errors import MtqaError
from mtqa.train import TrainConfig
from tests.train.conftest import require_train_stack, write_build, xquad_table


def one_line_error(config_kwargs: dict, match: str, **train_kwargs) -> str:
    from mtqa.train import train

    with pytest.raises(MtqaError) as e:
        train(TrainConfig(**config_kwargs), **train_kwargs)
    message = str(e.value)
    assert "\n" not in message and match in message, message
    return message


def test_a_build_folder_with_no_shards(tmp_path, tiny_encoder):
    (tmp_path / "empty" / "data").mkdir(parents=True)
    one_line_error({"data": [str(tmp_path / "empty")], "model": str(tiny_encoder), "out": str(tmp_path / "m")},
                   "no shards in")


def test_a_language_that_was_filtered_out(tmp_path, xquad_dir, small_build, tiny_encoder):
    table = xquad_table(xquad_dir, ["en", "de"], slice(40, 60))
    keep = pa.array([lang != "de" for lang in table.column("lang").to_pylist()])
    table = table.set_column(table.schema.get_field_index("keep"), "keep", keep)  # a "flag" build that failed all de
    build = write_build(tmp_path / "flagged", table)
    message = one_line_error({"data": [str(build)], "model": str(tiny_encoder), "out": str(tmp_path / "m"),
                              "langs": ["de"], "batch_size": 4}, "--langs de: no training rows")
    assert "filtered out" in message
    one_line_error({"data": [str(small_build)], "model": str(tiny_encoder), "out": str(tmp_path / "m"),
                    "langs": ["zh"]}, "no build has it")


def test_batch_size_larger_than_the_distinct_passages(tmp_path, small_build, tiny_encoder):
    one_line_error({"data": [str(small_build)], "model": str(tiny_encoder), "out": str(tmp_path / "m"),
                    "batch_size": 100}, "batch_size 100 exceeds the")


@pytest.mark.parametrize("make, match", [
    (lambda d: (d / "weights.txt").write_text("not a model"), "not an encoder folder"),
    (lambda d: (d / "config.json").write_text(json.dumps({"architectures": ["GPT2LMHeadModel"],
                                                         "model_type": "gpt2"})), "generates text"),
    (lambda d: (d / "config.json").write_text("{not json"), "unreadable config.json"),
])
def test_a_model_path_that_is_not_an_encoder(tmp_path, small_build, make, match):
    require_train_stack()
    folder = tmp_path / "notamodel"
    folder.mkdir()
    make(folder)
    one_line_error({"data": [str(small_build)], "model": str(folder), "out": str(tmp_path / "m"), "batch_size": 8},
                   match)


def test_resume_with_a_different_config_and_other_misuse(tmp_path, small_build, tiny_encoder):
    from mtqa.train import train

    from tests.train.test_batches import stop_at

    base = dict(data=[str(small_build)], model=str(tiny_encoder), out=str(tmp_path / "m"), batch_size=8, max_steps=4,
                checkpoint_steps=2, max_seq_length=32, progress=False)
    one_line_error({**base, "resume": True}, "holds no training run")
    train(TrainConfig(**base), callbacks=[stop_at(2)])  # interrupted after step 2
    one_line_error(base, "already holds a training run")
    message = one_line_error({**base, "resume": True, "lr": 1e-4}, "--resume with a different config")
    assert "config.lr was 3e-05, now 0.0001" in message
    # Placement settings may change on a resume.
    result = train(TrainConfig(**{**base, "resume": True, "logging_steps": 1, "dataloader_workers": 1}))
    assert result.steps == 4 and result.resumed_from.endswith("checkpoint-2")


def test_the_cli_prints_one_line_and_exits_2(tmp_path, small_build, tiny_encoder):
    runner = CliRunner()
    cases = [
        (["--data", str(tmp_path / "nowhere"), "--model", str(tiny_encoder)], "not a folder"),
        (["--model", str(tiny_encoder)], "no training data"),
        (["--data", str(small_build), "--model", str(tiny_encoder), "--batch-size", "500", "--out", str(tmp_path / "x")],
         "exceeds the"),
        (["--data", str(small_build), "--recipe", "train-nope"], "unknown train recipe 'train-nope'"),
        (["--data", str(small_build), "--eval", "miracl"], "unknown eval benchmark 'miracl'"),
        (["--data", str(small_build), "--eval", "xquad-r"], "--eval needs --eval-data"),
    ]
    for args, match in cases:
        result = runner.invoke(train_command, args)
        assert result.exit_code == 2, (args, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and match in lines[0], (args, result.output)
