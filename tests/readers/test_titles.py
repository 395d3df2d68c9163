"""Splits by title: a named list, a seeded fraction, the complement, and what the manifest says."""

import json

import pytest

from mtqa.errors import MtqaError
from mtqa.readers import open_source
from mtqa.readers.titles import TitleRule, read_titles, resolve_title_split, split_titles, title_order_key
from tests.readers.helpers import error_of, write_jsonl

TITLES = [f"Article {i}" for i in range(10)]


def test_a_fraction_keeps_the_first_titles_of_the_seeded_order_and_the_complement_the_rest():
    half = split_titles(TitleRule(fraction=0.5, seed=3), TITLES)
    other = split_titles(TitleRule(fraction=0.5, seed=3, complement=True), list(reversed(TITLES)))
    order = sorted(TITLES, key=lambda t: title_order_key(3, t))
    assert half.kept == frozenset(order[:5]) and half.held_out == frozenset(order[5:])
    assert other.kept == half.held_out and other.held_out == half.kept  # file order does not matter
    assert split_titles(TitleRule(fraction=0.5, seed=4), TITLES).kept != half.kept
    assert len(split_titles(TitleRule(fraction=0.3), TITLES).kept) == 3
    with pytest.raises(MtqaError, match="keeps 0"):
        split_titles(TitleRule(fraction=0.01), TITLES)


def test_a_title_list_keeps_its_titles(tmp_path, caplog):
    path = tmp_path / "titles.txt"
    path.write_text("Article 2\n\n  Article 7  \nNot an article\n", encoding="utf-8")
    assert read_titles(path) == ["Article 2", "Article 7", "Not an article"]
    split = split_titles(TitleRule(titles=str(path)), TITLES)
    assert split.kept == {"Article 2", "Article 7"} and len(split.held_out) == 8
    assert "1 of the 3 titles" in caplog.text  # a title no source has is said, not fatal
    assert split_titles(TitleRule(titles=str(path), complement=True), TITLES).held_out == {"Article 2", "Article 7"}
    path.write_text("Nothing\n", encoding="utf-8")
    with pytest.raises(MtqaError, match="none of the 1 titles"):
        split_titles(TitleRule(titles=str(path)), TITLES)


def test_rules_are_one_or_the_other():
    with pytest.raises(MtqaError, match="either a title list or a fraction"):
        TitleRule()
    with pytest.raises(MtqaError, match="between 0 and 1"):
        TitleRule(fraction=1.0)


def rows(tmp_path):
    return write_jsonl(tmp_path / "qa.jsonl", [
        {"id": str(i), "title": TITLES[i % 4], "question": f"Q{i}?", "passage": f"P{i}."} for i in range(8)])


def test_a_source_reads_only_its_kept_titles_and_records_both_sides(tmp_path):
    src = open_source(str(rows(tmp_path)))
    split = resolve_title_split(TitleRule(fraction=0.5, seed=0), [src])
    got = [r for b in src.batches() for r in b.to_pylist()]
    assert {r["title"] for r in got} == split.kept and len(got) == 4
    assert src.stats.counts["skipped_title_left_out"] == 4
    record = src.describe()["title_split"]
    assert record == {"fraction": 0.5, "seed": 0, "complement": False, "kept": sorted(split.kept),
                      "held_out": sorted(split.held_out)}


def test_a_build_folder_gives_its_held_out_titles(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"stages": {}, "sources": [
        {"title_split": {"fraction": 0.5, "seed": 0, "complement": False, "kept": ["A"], "held_out": ["B", "C"]}}]}))
    assert read_titles(tmp_path) == ["B", "C"]
    (tmp_path / "manifest.json").write_text(json.dumps({"stages": {}, "sources": [{"name": "x"}]}))
    assert "was not split by title" in error_of(read_titles, tmp_path)
    assert "title list not found" in error_of(read_titles, tmp_path / "none.txt")


def test_rows_without_a_title_cannot_be_split(tmp_path):
    path = write_jsonl(tmp_path / "q.jsonl", [{"question": "Q?", "passage": "P."}])
    assert "no title, and a split by title needs one" in error_of(
        resolve_title_split, TitleRule(fraction=0.5), [open_source(str(path))])
