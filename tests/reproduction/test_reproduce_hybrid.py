"""``benchmarks/reproduce_hybrid.py`` end to end on a few real XQuAD articles and a tiny
seeded encoder: the split, the build without MT, X-X / X-Y / hybrid training over two seeds,
XQuAD-R on the held-out articles, and the tables, intervals and figures of the report."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

from tests.eval.tiny_models import build_tiny_sentence_transformer
from tests.train.conftest import require_train_stack

RECIPE = Path(__file__).resolve().parents[2] / "benchmarks" / "reproduce_hybrid.py"
LANGS = ["en", "de", "es"]
ARTICLES = 4  # of XQuAD's 48; a 0.5 title split trains on 2 and holds out 2
PARAGRAPHS = 2  # per article


def _recipe():
    spec = importlib.util.spec_from_file_location("reproduce_hybrid", RECIPE)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("reproduce_hybrid", module)
    spec.loader.exec_module(module)
    return module


def _first_articles(doc: dict) -> dict:
    return {**doc, "data": [{**a, "paragraphs": a["paragraphs"][:PARAGRAPHS]} for a in doc["data"][:ARTICLES]]}


@pytest.fixture(scope="module")
def small_data(shared_data, tmp_path_factory):
    """The first articles of XQuAD (xquad.LANG.json) and of XQuAD-R (LANG.json), same titles."""
    root = tmp_path_factory.mktemp("repro-data")
    for folder, name in (("xquad", "xquad.{}.json"), ("xquad-r", "{}.json")):
        (root / folder).mkdir()
        for lang in LANGS:
            source = shared_data / folder / name.format(lang)
            if not source.is_file():
                pytest.skip(f"{source} not found")
            doc = json.loads(source.read_text(encoding="utf-8"))
            (root / folder / name.format(lang)).write_text(json.dumps(_first_articles(doc), ensure_ascii=False),
                                                           encoding="utf-8")
    return root / "xquad", root / "xquad-r"


@pytest.fixture(scope="module")
def reproduction(small_data, tmp_path_factory):
    require_train_stack()
    pytest.importorskip("matplotlib")
    recipe = _recipe()
    xquad, xquad_r = small_data
    root = tmp_path_factory.mktemp("repro")
    encoder = build_tiny_sentence_transformer(root / "tiny", seed=0, max_seq_length=64)
    report = root / "docs" / "reproduction.md"
    report.parent.mkdir()
    report.write_text("# Reproduction\n\nHand-written reading.\n", encoding="utf-8")
    argv = ["--profile", "cpu", "--model", str(encoder), "--xquad", str(xquad), "--eval-data", str(xquad_r),
            "--work", str(root / "work"), "--report", str(report), "--langs", ",".join(LANGS), "--seeds", "0,1",
            "--steps", "2", "--batch-size", "2", "--max-seq-length", "32", "--lr", "1e-3",
            "--title-fraction", "0.5", "--eval-batch-size", "32"]
    lines: list[str] = []
    args = recipe.parse_args(argv)
    args.argv = argv
    recipe.run(args, say=lines.append)
    return recipe, argv, root, report, lines


def _table(text: str, caption: str) -> list[list[str]]:
    """The rows (cells) of the Markdown table right after ``caption``."""
    after = text[text.index(caption):].split("\n\n", 2)[1]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in after.splitlines() if line.startswith("|")]
    return [rows[0], *rows[2:]]


def test_train_and_held_out_titles_are_disjoint_and_cover_the_articles(reproduction, small_data):
    _, _, root, _, _ = reproduction
    train = (root / "work" / "titles-train.txt").read_text(encoding="utf-8").split("\n")[:-1]
    held_out = (root / "work" / "titles-held-out.txt").read_text(encoding="utf-8").split("\n")[:-1]
    titles = [a["title"] for a in json.loads((small_data[0] / "xquad.en.json").read_text(encoding="utf-8"))["data"]]
    assert len(train) == len(held_out) == ARTICLES // 2
    assert not set(train) & set(held_out)
    assert set(train) | set(held_out) == set(titles)
    record = json.loads((root / "work" / "record.json").read_text(encoding="utf-8"))
    assert record["held_out_titles"] == held_out and record["train_titles"] == train
    # every evaluation ran on the held-out articles only
    for path in (root / "work" / "eval").glob("*/xquad-r.json"):
        assert sorted(json.loads(path.read_text(encoding="utf-8"))["data"]["titles"]) == held_out


def test_tables_have_the_papers_rows_and_columns_with_intervals_over_seeds(reproduction):
    _, _, _, report, _ = reproduction
    text = report.read_text(encoding="utf-8")
    table1 = _table(text, "**Table 1**")
    assert table1[0] == ["model", "mono mAP", "cross mAP", "multi mAP", "seeds"]
    assert [row[0] for row in table1[1:]] == ["untrained", "X-X", "X-Y", "hybrid α=0.5"]
    assert re.fullmatch(r"\d\.\d{3}", table1[1][1]) and table1[1][4] == "–"  # one untrained model, no interval
    for row in table1[2:]:
        assert row[4] == "2"
        assert all(re.fullmatch(r"(\*\*)?\d\.\d{3} ± \d\.\d{3}(\*\*)?", cell) for cell in row[1:4]), row
    table2 = _table(text, "**Table 2**")
    assert table2[0] == ["model", "rank distance", "seeds"]
    assert [row[0] for row in table2[1:]] == ["untrained", "X-X", "X-Y", "hybrid α=0.5"]
    shape = _table(text, "**The paper's shape")
    assert [row[0] for row in shape[1:]] == ["X-X best mono?", "X-Y best cross?", "Hybrid best multi?",
                                             "Hybrid lowest rank distance?"]
    assert all(row[1] == "yes" or row[1].startswith("no: ") for row in shape[1:])


def test_table_cells_are_the_mean_and_interval_of_the_per_seed_results(reproduction):
    recipe, _, root, report, _ = reproduction
    estimate = sys.modules["_repro_report"].estimate
    record = json.loads((root / "work" / "record.json").read_text(encoding="utf-8"))
    xy = [r["scores"]["multi"] for r in record["runs"] if r["variant"]["sampling"] == "xy"]
    assert len(xy) == 2
    expected = estimate(xy).cell()
    row = next(r for r in _table(report.read_text(encoding="utf-8"), "**Table 1**") if r[0] == "X-Y")
    assert row[3].strip("*") == expected
    steps = {r["steps"] for r in record["runs"]}
    assert steps == {2} and {r["seed"] for r in record["runs"]} == {0, 1}
    assert {r["variant"]["sampling"] for r in record["runs"]} == {"xx", "xy", "hybrid"}


def test_report_keeps_the_hand_written_text_links_figures_and_a_rerun_reuses_every_run(reproduction):
    recipe, argv, root, report, lines = reproduction
    text = report.read_text(encoding="utf-8")
    assert text.startswith("# Reproduction\n\nHand-written reading.\n")
    for name in ("heatmaps.png", "summary.png"):
        path = report.parent / "reproduction" / "cpu" / name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"](reproduction/cpu/{name})" in text
    assert sum("(reused)" in line for line in lines) == 0
    again: list[str] = []
    args = recipe.parse_args(argv)
    args.argv = argv
    recipe.run(args, say=again.append)
    assert sum("(reused)" in line for line in again) == 6 + 1 + 6  # 6 trainings, untrained + 6 evaluations
    second = report.read_text(encoding="utf-8")
    assert second.count("<!-- reproduce_hybrid:cpu:begin -->") == 1 and "Hand-written reading." in second
    # nothing was trained or evaluated again: the timing stated is the first run's
    wall = re.search(r"Wall time \*\*[\d.]+ min\*\* \([^)]*\)", text).group(0)
    assert wall in second and "tables and figures regenerated" in second


def test_evaluation_titles_that_training_saw_are_refused_in_one_line(reproduction, tmp_path, capsys):
    recipe, argv, root, _, _ = reproduction
    titles = tmp_path / "titles.txt"
    titles.write_text((root / "work" / "titles-train.txt").read_text(encoding="utf-8"), encoding="utf-8")
    code = recipe.main([*argv, "--report", str(tmp_path / "r.md"), "--titles", str(titles)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "also in the training shards" in err and not (tmp_path / "r.md").exists()


def test_t_intervals_and_the_plan_of_the_sweeps():
    recipe = _recipe()
    report = sys.modules["_repro_report"]
    e = report.estimate([1.0, 2.0, 3.0])
    assert e.mean == 2.0 and e.half_width == pytest.approx(4.303 / 3 ** 0.5)
    assert report.estimate([0.5]).half_width is None and report.estimate([0.5]).cell() == "0.500"
    assert report.t_quantile_975(30) == 2.042 and report.t_quantile_975(1000) == pytest.approx(1.962, abs=1e-3)
    plan = recipe.make_plan(recipe.PROFILES["gpu"])
    assert [v.label for v in plan.main] == ["X-X", "X-Y", "hybrid α=0.5"]
    # alpha 0 and 1 are the X-Y and X-X runs; batch 64 is the main hybrid run: 3 + 2 + 3 distinct variants
    assert plan.alpha[0] == plan.main[1] and plan.alpha[-1] == plan.main[0] and plan.main[2] in plan.batch
    assert len(plan.variants()) == 8
    assert {v.batch_size * v.steps for v in plan.batch} == {64 * 100}
    assert [v.mini_batch_size for v in plan.batch] == [None, None, 32, 32]


def test_own_builds_with_data_evaluate_on_the_titles_they_held_out(reproduction, tmp_path):
    """--data BUILD (here the recipe's own build) without --titles: the build's held-out
    titles; the runs of the same settings are reused, so the tables are the same."""
    recipe, argv, root, report, _ = reproduction
    lines: list[str] = []
    own = tmp_path / "own.md"
    args = recipe.parse_args([*argv, "--data", str(root / "work" / "build"), "--report", str(own)])
    args.argv = argv
    recipe.run(args, say=lines.append)
    assert "your builds: " in own.read_text(encoding="utf-8")
    assert _table(own.read_text(encoding="utf-8"), "**Table 1**") == _table(report.read_text(encoding="utf-8"),
                                                                            "**Table 1**")


def test_titles_all_is_refused_for_a_build_of_xquad_articles(reproduction, tmp_path, capsys):
    recipe, argv, root, _, _ = reproduction
    code = recipe.main([*argv, "--data", str(root / "work" / "build"), "--titles", "all",
                        "--report", str(tmp_path / "r.md")])
    assert code == 2 and "also in the training shards" in capsys.readouterr().err


def test_a_finished_run_with_other_settings_is_not_reused(reproduction, tmp_path, capsys):
    recipe, argv, _, _, _ = reproduction
    code = recipe.main([*argv, "--lr", "2e-3", "--report", str(tmp_path / "r.md")])
    err = capsys.readouterr().err
    assert code == 2 and "holds a finished run with other settings (lr was 0.001, now 0.002)" in err


@pytest.mark.slow  # two more trainings and evaluations: about 7 s
def test_sweeps_reuse_the_main_runs_and_use_the_cached_loss_above_the_mini_batch(reproduction, tmp_path):
    """alpha 0 / 0.5 / 1 are the X-Y / hybrid / X-X runs; batch 2 is the main hybrid run, batch 4
    is new: half the steps (the same pairs), CachedMultipleNegativesRankingLoss with chunks of 2."""
    recipe, argv, root, _, _ = reproduction
    lines: list[str] = []
    swept = tmp_path / "swept.md"
    args = recipe.parse_args([*argv, "--alphas", "0,0.5,1", "--batch-sizes", "2,4", "--mini-batch-size", "2",
                              "--report", str(swept)])
    args.argv = argv
    recipe.run(args, say=lines.append)
    trained = [line for line in lines if line.startswith("train ")]
    assert len(trained) == 8 and sum("(reused)" not in line for line in trained) == 2  # batch 4, seeds 0 and 1
    text = swept.read_text(encoding="utf-8")
    assert [row[0] for row in _table(text, "**Sweep over alpha**")[1:]] == ["0", "0.5", "1"]
    assert [row[0] for row in _table(text, "**Sweep over the batch size**")[1:]] == ["2 (2)", "4 (1)"]
    new = json.loads((root / "work" / "models" / "hybrid-a0.5-b4-s1-mb2-seed0" / "mtqa_train.json").read_text())
    assert new["loss"]["name"] == "CachedMultipleNegativesRankingLoss" and new["result"]["steps"] == 1
    assert (tmp_path / "reproduction" / "cpu" / "sweeps.png").read_bytes()[:4] == b"\x89PNG"


def test_a_data_folder_without_shards_is_one_line(reproduction, tmp_path, capsys):
    recipe, argv, _, _, _ = reproduction
    code = recipe.main([*argv, "--data", str(tmp_path / "nothing"), "--report", str(tmp_path / "r.md")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "not a folder" in err
