"""`mtqa publish OUT --dry-run`: the folder it writes loads with `datasets.load_dataset`, config
by config, with the manifest's row counts; the parallel config lines languages up by id."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
from click.testing import CliRunner

from mtqa.cli import main
from mtqa.errors import MtqaError
from mtqa.hub.config import PublishConfig
from mtqa.hub.publish import RECORD_NAME, publish
from mtqa.pipeline.manifest import Manifest
from mtqa.toy_cipher import cipher
from tests.hub.conftest import read_stage_files


def dry_run(build: Path, tmp_path: Path, *args: str, repo: str = "alice/mtqa-test"):
    stage = tmp_path / "stage"
    result = CliRunner().invoke(main, ["publish", str(build), "--repo", repo, "--dry-run", "--stage", str(stage),
                                       *args])
    return result, stage


def markdown_table(text: str, heading: str) -> dict[str, dict[str, str]]:
    """The first table after ``heading``, as {first cell: {column: cell}}."""
    lines = text.split(heading, 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    header, body = rows[0], rows[2:]
    return {row[0]: dict(zip(header, row, strict=True)) for row in body}


def load(stage: Path, config: str, cache: Path) -> dict:
    import datasets

    loaded = datasets.load_dataset(str(stage), config, cache_dir=str(cache))
    return {split: loaded[split] for split in loaded}


def shard_frame(build: Path, folder: str = "data") -> pl.DataFrame:
    return pl.concat([pl.read_ipc(p) for p in sorted((build / folder).glob("*.arrow"))], how="diagonal_relaxed")


def test_default_build_every_config_loads_with_the_manifests_counts(default_build, tmp_path):
    result, stage = dry_run(default_build, tmp_path)
    assert result.exit_code == 0, result.output
    manifest = Manifest.load(default_build)
    assert set(manifest.langs) == {"en", "x-rot13", "x-atbash"}
    import datasets

    assert datasets.get_dataset_config_names(str(stage)) == ["en", "x-rot13", "x-atbash", "parallel"]
    shards = shard_frame(default_build)
    for lang, rows in manifest.langs.items():
        splits = load(stage, lang, tmp_path / "cache")
        assert {s: d.num_rows for s, d in splits.items()} == {"test": rows}
        assert set(splits["test"]["lang"]) == {lang}
        assert sorted(splits["test"]["id"]) == sorted(shards.filter(pl.col("lang") == lang)["id"].to_list())
    parallel = load(stage, "parallel", tmp_path / "cache")["test"]
    assert parallel.num_rows == manifest.count("assemble", "rows_in") == 64
    # The pivot lines the languages up by id: each translation is the toy cipher of its own English row.
    for row in parallel:
        assert row["question_x-rot13"] == cipher(row["question_en"], "x-rot13")
        assert row["passage_x-atbash"] == cipher(row["passage_en"], "x-atbash")
        assert [a["text"] for a in row["answers_x-rot13"]] == [cipher(a["text"], "x-rot13") for a in row["answers_en"]]
    # The printed plan names every config and file with its size.
    record = json.loads((stage / RECORD_NAME).read_text())
    for f in record["files"]:
        assert f["path"] in result.output
    assert set(read_stage_files(stage)) == {f["path"] for f in record["files"]} | {RECORD_NAME}
    assert "dry run: nothing uploaded" in result.output
    assert "parallel" in result.output and "x-atbash" in result.output


def test_dropped_rows_are_missing_from_their_language_and_null_in_parallel(rejected_build, tmp_path):
    result, stage = dry_run(rejected_build, tmp_path, "--include-rejected")
    assert result.exit_code == 0, result.output
    manifest = Manifest.load(rejected_build)
    assert manifest.rejected["rows"] > 0, "the fixture must drop rows"
    for lang, rows in manifest.langs.items():
        assert sum(d.num_rows for d in load(stage, lang, tmp_path / "c").values()) == rows
    rejected = load(stage, "rejected", tmp_path / "c")["test"]
    assert rejected.num_rows == manifest.rejected["rows"]
    assert all(reasons for reasons in rejected["filter_reasons"])
    parallel = load(stage, "parallel", tmp_path / "c")["test"]
    kept = shard_frame(rejected_build)
    assert parallel.num_rows == kept["id"].n_unique()
    by_id = {row["id"]: row for row in parallel}
    dropped = shard_frame(rejected_build, "rejected")
    for rid, lang in dropped.select("id", "lang").iter_rows():
        if rid in by_id:
            assert by_id[rid][f"question_{lang}"] is None
    for rid, lang, question in kept.select("id", "lang", "question").iter_rows():
        assert by_id[rid][f"question_{lang}"] == question
    # The card states the same counts.
    table = markdown_table((stage / "README.md").read_text(), "## Rows per language and origin")
    for lang in ("x-rot13", "x-atbash"):
        assert table[lang]["published"] == f"{manifest.langs[lang]:,}"
        assert table[lang]["rejected by the filter"] == f"{manifest.rejected['langs'][lang]:,}"
        built = next(r for r in manifest.origin_counts() if r.lang == lang)
        assert table[lang]["mt"] == f"{built.mt:,}" == f"{manifest.langs[lang] + manifest.rejected['langs'][lang]:,}"


def test_flag_mode_publishes_every_row_with_keep_side_by_side(flag_build, tmp_path):
    result, stage = dry_run(flag_build, tmp_path)
    assert result.exit_code == 0, result.output
    parallel = load(stage, "parallel", tmp_path / "c")["test"]
    shards = shard_frame(flag_build)
    failed = shards.filter(~pl.col("keep"))
    assert failed.height > 0
    by_id = {row["id"]: row for row in parallel}
    for rid in failed["id"]:
        assert by_id[rid]["keep_x-rot13"] is False
    assert sum(d.num_rows for d in load(stage, "x-rot13", tmp_path / "c").values()) == Manifest.load(flag_build).langs["x-rot13"]


def test_a_parallel_source_build_counts_rows_per_origin(parallel_build, tmp_path):
    result, stage = dry_run(parallel_build, tmp_path)
    assert result.exit_code == 0, result.output
    manifest = Manifest.load(parallel_build)
    shards = shard_frame(parallel_build)
    for lang, rows in manifest.langs.items():
        loaded = load(stage, lang, tmp_path / "c")["test"]
        assert loaded.num_rows == rows
        assert set(loaded["origin"]) == {"source" if lang == "en" else "human"}
    parallel = load(stage, "parallel", tmp_path / "c")["test"]
    assert parallel.num_rows == shards["id"].n_unique()
    truth = {(rid, lang): q for rid, lang, q in shards.select("id", "lang", "question").iter_rows()}
    for row in parallel:
        assert row["question_de"] == truth[(row["id"], "de")]  # real XQuAD German, by id
        assert row["origin_de"] == "human"
    from huggingface_hub import DatasetCard

    card = DatasetCard.load(stage / "README.md")
    assert card.data.annotations_creators == ["expert-generated"]
    assert card.data.language == ["en", "de", "es"]
    table = markdown_table(card.text, "## Rows per language and origin")
    counts = shards.group_by("lang", "origin").len()
    assert counts.height == 3
    for lang, origin, n in counts.iter_rows():
        assert table[lang][origin] == f"{n:,}"
    assert table["de"]["source"] == "0" and table["en"]["human"] == "0"
    assert "Published rows per origin, from the rows' `origin` column." in card.text


def test_a_real_parallel_source_build_mixes_human_and_machine_rows(xquad_mixed_build, shared_data, tmp_path):
    result, stage = dry_run(xquad_mixed_build, tmp_path)
    assert result.exit_code == 0, result.output
    manifest = Manifest.load(xquad_mixed_build)
    built = {r.lang: r for r in manifest.origin_counts()}
    assert (built["de"].human, built["x-rot13"].mt, built["en"].source) == (60, 60, 60)
    for lang, rows in manifest.langs.items():
        loaded = load(stage, lang, tmp_path / "c")["test"]
        assert loaded.num_rows == rows
        assert set(loaded["origin"]) == {{"en": "source", "x-rot13": "mt"}.get(lang, "human")}
    german = {f"xquad:{qa['id']}": qa["question"]
              for a in json.loads((shared_data / "xquad" / "xquad.de.json").read_text(encoding="utf-8"))["data"]
              for p in a["paragraphs"] for qa in p["qas"]}
    parallel = load(stage, "parallel", tmp_path / "c")["test"]
    assert parallel.num_rows == 60
    for row in parallel:
        assert row["question_de"] == german[row["id"]]  # the human translation, by id
        assert row["question_x-rot13"] == cipher(row["question_en"], "x-rot13")
        assert (row["origin_de"], row["origin_x-rot13"]) == ("human", "mt")
    from huggingface_hub import DatasetCard

    card = DatasetCard.load(stage / "README.md")
    assert card.data.annotations_creators == ["expert-generated", "machine-generated"]
    assert "human-translated" in card.data.tags and "machine-translated" in card.data.tags
    table = markdown_table(card.text, "## Rows per language and origin")
    for lang, r in built.items():
        assert (table[lang]["source"], table[lang]["human"], table[lang]["mt"], table[lang]["ids missing"]) == \
            (str(r.source), str(r.human), str(r.mt), str(r.ids_missing))
    spans = markdown_table(card.text, "### Answer spans of the human translations")
    for s in manifest.span_counts():
        assert spans[s.lang]["index their passage"] == f"{s.indexed:,}"
    assert set(spans) == {"de", "es"}


def test_split_into_several_files_still_loads_whole(default_build, tmp_path):
    config = PublishConfig(folder=str(default_build), repo="alice/x", dry_run=True, stage=str(tmp_path / "s"),
                           max_rows_per_file=25)
    plan = publish(config)
    en = [f.path for f in plan.files if f.path.startswith("en/")]
    assert en == ["en/test-00000-of-00003.parquet", "en/test-00001-of-00003.parquet", "en/test-00002-of-00003.parquet"]
    assert load(tmp_path / "s", "en", tmp_path / "c")["test"].num_rows == 64


def test_a_rerun_replaces_the_stage_whole(default_build, tmp_path):
    stage = tmp_path / "s"
    publish(PublishConfig(folder=str(default_build), repo="alice/x", dry_run=True, stage=str(stage),
                          max_rows_per_file=25))
    publish(PublishConfig(folder=str(default_build), repo="alice/x", dry_run=True, stage=str(stage)))
    assert sorted(p.name for p in (stage / "en").iterdir()) == ["test-00000-of-00001.parquet"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".s.")]


def test_shards_that_changed_since_the_manifest_are_refused(default_build, tmp_path):
    import shutil

    build = tmp_path / "b"
    shutil.copytree(default_build, build, ignore=shutil.ignore_patterns("hub"))
    data = json.loads((build / "manifest.json").read_text())
    data["langs"]["x-rot13"] += 1
    (build / "manifest.json").write_text(json.dumps(data))
    result, _ = dry_run(build, tmp_path)
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "the shards changed since the build" in result.output


def test_a_source_of_unknown_licence_needs_one(default_build, tmp_path):
    import shutil

    build = tmp_path / "b"
    shutil.copytree(default_build, build, ignore=shutil.ignore_patterns("hub"))
    data = json.loads((build / "manifest.json").read_text())
    data["sources"] = [{"name": "mine", "kind": "jsonl", "path": "my.jsonl", "sha256": "ab" * 32}]
    (build / "manifest.json").write_text(json.dumps(data))
    result, stage = dry_run(build, tmp_path)
    assert result.exit_code == 2 and "--source-license mine=LICENSE" in result.output
    assert not stage.exists()
    result, _ = dry_run(build, tmp_path, "--source-license", "mine=cc-by-4.0")
    assert result.exit_code == 0, result.output
    card = (stage / "README.md").read_text()
    assert "license: cc-by-4.0" in card and "stated by the publisher" in card
    result, _ = dry_run(build, tmp_path, "--source-license", "mine=CC-BY-NOPE")
    assert result.exit_code == 2 and "not a licence identifier the Hub knows" in result.output


@pytest.mark.parametrize("args, message", [
    (["--repo", "no-namespace"], "--repo must be ORG/NAME"),
    (["--repo", "a/b", "--create-pr", "--revision", "dev"], "cannot be combined with --revision"),
    (["--repo", "a/b", "--dataset-repo", "a/c"], "--dataset-repo is for models"),
])
def test_bad_options_are_one_line(default_build, tmp_path, args, message):
    result = CliRunner().invoke(main, ["publish", str(default_build), "--dry-run", "--stage", str(tmp_path / "s"), *args])
    assert result.exit_code == 2 and message in result.output and result.output.count("\n") == 1


def test_a_stage_that_is_not_mtqas_is_never_replaced(default_build, tmp_path):
    stage = tmp_path / "mine"
    stage.mkdir()
    (stage / "notes.txt").write_text("keep me")
    result, _ = dry_run(default_build, tmp_path, "--stage", str(stage))
    assert result.exit_code == 2 and "was not written by mtqa publish" in result.output
    assert (stage / "notes.txt").read_text() == "keep me"
    result = CliRunner().invoke(main, ["publish", str(default_build), "--repo", "a/b", "--dry-run",
                                       "--stage", str(default_build.parent)])
    assert result.exit_code == 2 and "itself" in result.output


def test_neither_a_build_nor_a_model(tmp_path):
    result = CliRunner().invoke(main, ["publish", str(tmp_path), "--repo", "a/b", "--dry-run"])
    assert result.exit_code == 2 and "neither a build folder" in result.output


def test_split_names_the_hub_cannot_take_are_refused(tmp_path, default_build):
    import shutil

    build = tmp_path / "b"
    shutil.copytree(default_build, build, ignore=shutil.ignore_patterns("hub"))
    path = next((build / "data").glob("*.arrow"))
    table = pa.ipc.open_file(path).read_all()
    table = table.set_column(table.column_names.index("split"), "split", pa.array(["dev-2"] * table.num_rows))
    with pa.OSFile(str(path), "wb") as f, pa.ipc.new_file(f, table.schema) as w:
        w.write_table(table)
    with pytest.raises(MtqaError, match="cannot name a Hub split"):
        publish(PublishConfig(folder=str(build), repo="a/b", dry_run=True, stage=str(tmp_path / "s")))
