"""``train(config)``: it improves retrieval on held-out data, writes a folder that loads with
sentence-transformers and with mtqa's evaluator, states its data and settings in the model
card, and uses the loss and the sampling asked for."""

from __future__ import annotations

import json

import pytest

from mtqa.train import Sampling, TrainConfig
from tests.train.conftest import HELD_OUT_PARAGRAPHS, build_tiny_encoder, require_train_stack, write_build, xquad_table

LANGS = ["en", "de", "es"]


@pytest.fixture(scope="module")
def improve_setup(tmp_path_factory, xquad_dir):
    require_train_stack()
    from mtqa.sampler import read_shards

    root = tmp_path_factory.mktemp("improve")
    build = write_build(root / "xq", xquad_table(xquad_dir, LANGS, slice(HELD_OUT_PARAGRAPHS, None), max_questions=400))
    table = read_shards(build)
    encoder = build_tiny_encoder(root / "tiny", table.column("question").to_pylist() + table.column("passage").to_pylist())
    return build, encoder


def test_training_measurably_improves_retrieval_on_held_out_xquad_r(tmp_path, improve_setup, xquad_r_dir):
    """400 questions x 3 languages of XQuAD paragraphs 40-239, 3 epochs of hybrid batches of 32;
    XQuAD-R paragraphs 0-39 (never trained on) before and after."""
    from mtqa.eval.results import evaluate_and_write
    from mtqa.train import train

    build, encoder = improve_setup
    before, _ = evaluate_and_write(str(encoder), "xquad-r", tmp_path / "before", data=xquad_r_dir, langs=LANGS,
                                   limit=HELD_OUT_PARAGRAPHS, device="cpu")
    config = TrainConfig(data=[str(build)], model=str(encoder), out=str(tmp_path / "model"), batch_size=32, epochs=3,
                         lr=1e-3, max_seq_length=64, progress=False, eval=["xquad-r"], eval_data=str(xquad_r_dir),
                         eval_langs=LANGS, eval_limit=HELD_OUT_PARAGRAPHS)
    result = train(config)
    after = result.eval[0]
    assert result.steps == 3 * (400 // 32)
    # Measured: mono .250 -> .288, cross .100 -> .120, multilingual .105 -> .130 mAP.
    assert after.mono.mean_ap > before.mono.mean_ap + 0.02
    assert after.cross.mean_ap > before.cross.mean_ap + 0.01
    assert after.multi.mean_ap > before.multi.mean_ap + 0.01
    assert result.losses[-1][1] < result.losses[0][1]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, small_build, tiny_encoder, xquad_r_dir):
    from mtqa.train import train

    out = tmp_path_factory.mktemp("run") / "model"
    config = TrainConfig(data=[str(small_build)], model=str(tiny_encoder), out=str(out), batch_size=16, max_steps=4,
                         checkpoint_steps=2, lr=1e-3, max_seq_length=32, progress=False, eval=["xquad-r"],
                         eval_data=str(xquad_r_dir), eval_langs=["en", "de"], eval_limit=5, logging_steps=1)
    lines: list[str] = []
    return config, train(config, report=lines.append), lines


def test_output_loads_with_sentence_transformers_and_mtqa_eval(trained, xquad_r_dir, tmp_path):
    from sentence_transformers import SentenceTransformer

    from mtqa.eval.results import evaluate_and_write

    config, result, _ = trained
    model = SentenceTransformer(str(result.out), device="cpu")
    assert model.prompts.get("query") == "query: " and model.prompts.get("passage") == "passage: "
    assert model.encode(["query: wo liegt der hafen"]).shape == (1, 64)
    again, _ = evaluate_and_write(str(result.out), "xquad-r", tmp_path, data=xquad_r_dir, langs=["en", "de"], limit=5,
                                  device="cpu")
    assert again.mono.mean_ap == pytest.approx(result.eval[0].mono.mean_ap)
    assert (result.out / "eval" / "xquad-r.json").is_file()


def test_model_card_states_data_sampling_hyperparameters_code_and_eval(trained):
    config, result, lines = trained
    card = (result.out / "README.md").read_text(encoding="utf-8")
    section = card[card.index("## mtqa training"):]
    for needle in ("`test-build`", "de (120), en (120), es (120)", "| mode | hybrid |", "| alpha | 0.5 |",
                   "| batch size | 16 |", "| lr | 0.001 |", "| weight_decay | 0.01 |", "MultipleNegativesRankingLoss",
                   "scale 20", "### Evaluation (mtqa eval)", "| mono mAP |", "sentence-transformers "):
        assert needle in section, needle
    record = json.loads((result.out / "mtqa_train.json").read_text())
    assert record["data"]["builds"][0]["identity_sha256"] == "test-build"
    assert record["sampling"]["batches_per_epoch"] == 120 // 16
    assert record["config"]["lr"] == 0.001 and record["result"]["steps"] == 4
    assert record["eval"][0]["benchmark"] == "xquad-r"
    assert "de" in card.split("---")[1]  # the card's YAML header lists the languages
    assert len(lines) == 4 and lines[0].startswith("step 1/4  loss ")  # log lines without a progress bar
    assert str(result.out) in result.summary() and "| mono mAP |" in result.summary()


@pytest.mark.parametrize("sampling, alpha, kinds", [(Sampling.XX, 1.0, {"X-X"}), (Sampling.XY, 0.0, {"X-Y"}),
                                                    (Sampling.HYBRID, 0.5, {"X-X", "X-Y"})])
def test_sampling_modes_reach_the_sampler(small_build, sampling, alpha, kinds):
    from mtqa.train.data import load_train_data

    data = load_train_data(TrainConfig(data=[str(small_build)], sampling=sampling, batch_size=8, seed=1))
    assert data.sampler.config.alpha == alpha
    seen = {b.kind for e in range(3) for b in (data.sampler.set_epoch(e), data.sampler)[1]}
    assert seen == kinds


def test_mini_batch_size_trains_with_the_cached_loss(tmp_path, small_build, tiny_encoder):
    import mtqa.train.run as run
    from mtqa.train import train
    from mtqa.train.model import _losses

    used = []
    real = run.make_loss

    def spy(model, config):
        loss = real(model, config)
        used.append(loss)
        return loss

    run.make_loss = spy
    try:
        result = train(TrainConfig(data=[str(small_build)], model=str(tiny_encoder), out=str(tmp_path / "m"),
                                   batch_size=16, mini_batch_size=4, max_steps=2, max_seq_length=32, progress=False))
    finally:
        run.make_loss = real
    assert isinstance(used[0], _losses()[1]) and used[0].mini_batch_size == 4 and used[0].scale == 20.0
    assert result.steps == 2


def test_langs_restricts_the_training_languages(small_build):
    from mtqa.train.data import load_train_data

    data = load_train_data(TrainConfig(data=[str(small_build)], langs=["en", "de"], batch_size=8))
    assert data.langs == ("de", "en") and data.sampler.table.num_rows == 240
