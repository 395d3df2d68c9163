"""`mtqa publish MODEL_DIR`: a folder written by `mtqa train`, staged with its provenance card
(the sentence-transformers card, the builds' fingerprints and Hub links, sampling,
hyperparameters, eval table) and pushed as a Hub model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from mtqa.cli import main
from mtqa.hub.validate import model_metadata_problems
from mtqa.pipeline.manifest import Manifest
from tests.hub.conftest import TOKEN, assert_token_nowhere, read_stage_files

pytestmark = pytest.mark.slow  # trains a tiny model once (a few seconds, mostly importing torch)


def run(folder: Path, stage: Path, *args: str):
    return CliRunner().invoke(main, ["publish", str(folder), "--stage", str(stage), *args])


def test_the_model_card_states_the_training_provenance(trained_model, default_build, tmp_path):
    from huggingface_hub import ModelCard

    stage = tmp_path / "s"
    result = run(trained_model, stage, "--repo", "alice/tiny-hybrid", "--dataset-repo", "alice/mtqa-default",
                 "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"model alice/tiny-hybrid <- {trained_model} (dry run: nothing uploaded)")
    card = ModelCard.load(stage / "README.md", ignore_metadata_errors=False)
    assert model_metadata_problems(card.data) == []
    assert card.data.datasets == ["alice/mtqa-default"]
    assert card.data.language == ["en"] and card.data.library_name == "sentence-transformers"
    assert "x-rot13" in result.output  # "left out of the card's language metadata"
    text = card.text
    assert text.count("## mtqa training") == 1
    assert "# " in text.split("## mtqa training")[0]  # sentence-transformers' card comes first
    fingerprint = Manifest.load(default_build).identity_sha256
    assert f"| `{default_build.name}` | `{fingerprint}` | [alice/mtqa-default](https://huggingface.co/datasets/alice/mtqa-default) |" in text
    record = json.loads((trained_model / "mtqa_train.json").read_text())
    for line in ("| mode | hybrid |", "| alpha | 0.5 |", "| batch size | 8 |", "| lr | 3e-05 |", "| seed | 42 |"):
        assert line in text
    assert f"sampler data fingerprint `{record['data']['sampler_fingerprint']}`" in text
    eval_line = next(line for line in text.splitlines() if line.startswith("| model2 |"))
    assert eval_line.startswith("| model2 | 0.401 | 0.302 | 0.293 |")  # the recorded XQuAD-R macro mAPs


def test_the_stage_is_the_model_without_checkpoints(trained_model, tmp_path):
    stage = tmp_path / "s"
    assert (trained_model / "checkpoints").is_dir()
    result = run(trained_model, stage, "--repo", "alice/tiny", "--dry-run")
    assert result.exit_code == 0, result.output
    staged = read_stage_files(stage)
    assert "checkpoints" not in {p.split("/")[0] for p in staged} and "mtqa_run.json" not in staged
    for name in ("modules.json", "config_sentence_transformers.json", "model.safetensors", "mtqa_train.json",
                 "1_Pooling/config.json"):
        assert staged[name] == (trained_model / name).read_bytes()
    assert "Training data on the Hub" in staged["README.md"].decode()
    from sentence_transformers import SentenceTransformer

    original = SentenceTransformer(str(trained_model), device="cpu").encode(["where is the port"])
    published = SentenceTransformer(str(stage), device="cpu").encode(["where is the port"])
    assert (original == published).all()


def test_one_dataset_repo_per_build(trained_model, tmp_path):
    result = run(trained_model, tmp_path / "s", "--repo", "alice/m", "--dataset-repo", "a/b", "--dataset-repo", "a/c",
                 "--dry-run")
    assert result.exit_code == 2 and "trained on 1 build(s)" in result.output and result.output.count("\n") == 1


def test_a_model_not_trained_by_mtqa_is_refused(tmp_path):
    from tests.eval.tiny_models import build_tiny_sentence_transformer

    folder = build_tiny_sentence_transformer(tmp_path / "plain")
    result = run(folder, tmp_path / "s", "--repo", "alice/m", "--dry-run")
    assert result.exit_code == 2 and "has no mtqa_train.json" in result.output


def test_model_push_goes_to_a_model_repo(trained_model, tmp_path, online):
    stage = tmp_path / "s"
    result = run(trained_model, stage, "--repo", "alice/tiny-hybrid")
    assert result.exit_code == 0, result.output
    repo = online.repo("alice/tiny-hybrid", "model")
    assert repo.files == read_stage_files(stage)
    assert f"uploaded to {online.url}/alice/tiny-hybrid as alice" in result.output
    assert_token_nowhere(TOKEN, result.output, stage, trained_model)
    shutil.rmtree(stage)
