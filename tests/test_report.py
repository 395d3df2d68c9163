import json

from click.testing import CliRunner

from mtqa.cli import main
from mtqa.pipeline.manifest import Manifest


def manifest(tmp_path, counts, mode="drop"):
    data = {
        "pipeline": {"source_lang": "en", "langs": ["de", "zh"], "filter": {"mode": mode}},
        "stages": {"filter": {"counts": counts, "seconds": 1.0, "langs": LANG_COUNTS}},
        "langs": {"de": 8, "en": 10, "zh": 9},
        "rejected": {"rows": 3, "langs": {"de": 2, "zh": 1}},
    }
    (tmp_path / "manifest.json").write_text(json.dumps(data))


COUNTS = {"rows_in": 30, "rows_out": 27, "kept": 27, "failed": 3, "failed_copy": 2, "failed_wrong_language": 2}
LANG_COUNTS = {
    "en": {"rows": 10, "kept": 10},
    "de": {"rows": 10, "kept": 8, "failed_copy": 2, "failed_wrong_language": 1},
    "zh": {"rows": 10, "kept": 9, "failed_wrong_language": 1},
}


def test_prints_the_table_and_writes_markdown_and_png(tmp_path):
    manifest(tmp_path, COUNTS)
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["language", "rows", "kept", "%", "kept", "failed:", "copy", "failed:", "wrong_language"]
    assert lines[1].split() == ["en", "10", "10", "100.00%", "0", "0"]
    assert lines[2].split() == ["de", "10", "8", "80.00%", "2", "1"]
    assert lines[3].split() == ["zh", "10", "9", "90.00%", "0", "1"]
    assert lines[4].split() == ["all", "30", "27", "90.00%", "2", "2"]
    md = (tmp_path / "report" / "filter.md").read_text()
    assert "| de | 10 | 8 | 80.00% | 2 | 1 |" in md
    assert "![kept and failed rows per language](filter.png)" in md
    assert "rejected/` (3 rows)" in md
    png = (tmp_path / "report" / "filter.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_missing_or_garbled_manifest_is_one_line_exit_2(tmp_path):
    for setup, message in [
        (lambda: None, "manifest.json not found"),
        (lambda: (tmp_path / "manifest.json").write_text("{not json"), "is not valid JSON"),
        (lambda: (tmp_path / "manifest.json").write_text("[1, 2]"), "is not an mtqa build manifest"),
        (lambda: (tmp_path / "manifest.json").write_text(json.dumps({"stages": {}})), "has no filter counts"),
    ]:
        setup()
        result = CliRunner().invoke(main, ["report", str(tmp_path)])
        assert result.exit_code == 2, result.output
        assert result.output.strip().count("\n") == 0
        assert result.output.startswith("mtqa: error: ") and message in result.output
    assert not (tmp_path / "report").exists()


def test_counts_rows_per_split_from_the_shards_and_refuses_shards_that_disagree(tmp_path):
    out = tmp_path / "out"
    built = CliRunner().invoke(main, ["build", "--out", str(out), "--no-progress"])
    assert built.exit_code == 0, built.output
    result = CliRunner().invoke(main, ["report", str(out)])
    assert result.exit_code == 0, result.output
    md = (out / "report" / "filter.md").read_text()
    for lang in ("en", "x-rot13", "x-atbash"):
        assert f"| {lang} | test | 64 |" in md
    # The toy model keeps the markers: answers are projected by them, counted per language.
    projection = {p.lang: p for p in Manifest.load(out).projection_counts()}
    assert sorted(projection) == ["x-atbash", "x-rot13"]
    for counts in projection.values():
        assert counts.answers == 64 and counts.marker >= 60 and counts.none == 0
    text = result.output.splitlines()
    table = text[text.index("answers by projection method") + 1:]
    assert table[0].split() == ["language", "answers", "marker", "exact", "fuzzy", "none", "%", "projected"]
    assert table[1].split()[:3] == ["x-rot13", "64", str(projection["x-rot13"].marker)]
    assert f"| x-atbash | 64 | {projection['x-atbash'].marker} |" in md and "## Answer projection" in md
    data = json.loads((out / "manifest.json").read_text())
    data["langs"]["x-rot13"] = 65
    (out / "manifest.json").write_text(json.dumps(data))
    result = CliRunner().invoke(main, ["report", str(out)])
    assert result.exit_code == 2 and "does not match its manifest" in result.output


def test_projection_table_per_language_and_method(tmp_path):
    manifest(tmp_path, COUNTS)
    data = json.loads((tmp_path / "manifest.json").read_text())
    data["stages"]["assemble"] = {"counts": {}, "seconds": 0.1, "langs": {
        "en": {"rows_source": 10},
        "de": {"answers_marker": 7, "answers_exact": 1, "answers_fuzzy": 1, "answers_none": 1},
        "zh": {"answers_marker": 2, "answers_none": 2, "answers_unlocated": 3}}}
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    table = lines[lines.index("answers by projection method") + 1:]
    assert table[0].split() == ["language", "answers", "marker", "exact", "fuzzy", "none", "%", "projected",
                                "free", "text"]
    assert table[1].split() == ["de", "10", "7", "1", "1", "1", "90.00%", "0"]
    assert table[2].split() == ["zh", "4", "2", "0", "0", "2", "50.00%", "3"]
    assert table[3].split() == ["all", "14", "9", "1", "1", "3", "78.57%", "3"]
    assert "| de | 10 | 7 | 1 | 1 | 1 | 90.00% | 0 |" in (tmp_path / "report" / "filter.md").read_text()


def test_no_projection_table_for_a_build_without_it(tmp_path):
    manifest(tmp_path, COUNTS)
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 0 and "answers by projection method" not in result.output
    assert "Answer projection" not in (tmp_path / "report" / "filter.md").read_text()
