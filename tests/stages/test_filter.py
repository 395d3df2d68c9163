import json

import pyarrow as pa
import pytest
import yaml
from click.testing import CliRunner

from mtqa.cli import main
from mtqa.errors import MtqaError
from mtqa.lid import LidConfig
from mtqa.schema import OUTPUT_SCHEMA, SHARD_SCHEMA
from mtqa.stages.base import Chunk
from mtqa.stages.filter import (
    FilterConfig,
    FilterStage,
    QualityFilter,
    copy_similarity,
    load_length_ratios,
    repetition,
)

EN_Q = "Which team won the championship in the year 2016?"
EN_P = ("The Denver Broncos won the championship in 2016. They beat the Carolina Panthers in the final game. "
        "The game was played in Santa Clara, California.")
DE_Q = "Welche Mannschaft gewann die Meisterschaft im Jahr 2016?"
DE_P = ("Die Denver Broncos gewannen die Meisterschaft im Jahr 2016. Sie besiegten die Carolina Panthers im "
        "Endspiel. Das Spiel wurde in Santa Clara, Kalifornien, ausgetragen.")
ES_Q = "¿Qué equipo ganó el campeonato en el año 2016?"
ES_P = ("Los Denver Broncos ganaron el campeonato en 2016. Vencieron a los Carolina Panthers en el partido final. "
        "El partido se jugó en Santa Clara, California.")
CONFIG = FilterConfig(lid=LidConfig(processes=1))
_FILTERS: dict[str, QualityFilter] = {}


def out_rows(rows):
    base = {"id": "i", "source": "s", "split": "dev", "title": "", "answers": [], "is_impossible": False, "passage_id": "p"}
    return pa.Table.from_pylist([{**base, **r} for r in rows], schema=OUTPUT_SCHEMA)


def judge(translations: list[dict], config: FilterConfig = CONFIG, source: dict | None = None) -> list[dict]:
    """The English row (id i) plus translated rows; returns the translated rows, scored."""
    en = {"lang": "en", "question": EN_Q, "passage": EN_P, **(source or {})}
    table = out_rows([en, *translations])
    key = repr(config)
    if key not in _FILTERS:  # loading the language-ID model once per config keeps the tests fast
        _FILTERS[key] = QualityFilter(config, ["de", "es"])
    rows = _FILTERS[key].evaluate(table).to_pylist()
    assert rows[0]["keep"] is True and rows[0]["filter_reasons"] == [] and rows[0]["lid_question"] is None
    return rows[1:]


def test_real_translations_pass_with_their_scores():
    de, es = judge([{"lang": "de", "question": DE_Q, "passage": DE_P}, {"lang": "es", "question": ES_Q, "passage": ES_P}])
    for row, lang in ((de, "de"), (es, "es")):
        assert row["keep"] is True and row["filter_reasons"] == []
        assert row["lid_question"] == lang and row["lid_question_prob"] > 0.9
        assert row["lid_passage_share"] == pytest.approx(1.0)
        assert 0.8 < row["question_length_ratio"] < 1.3 and 0.8 < row["passage_length_ratio"] < 1.3
        assert row["repetition"] == 1.0
        assert row["copy_similarity"] < 0.6


@pytest.mark.parametrize(
    "translation, reasons",
    [
        ({"question": "  ", "passage": DE_P}, ["empty", "length_ratio"]),
        ({"question": "Wer?", "passage": ""}, ["empty", "length_ratio"]),
        ({"question": "W", "passage": DE_P}, ["length_ratio", "too_short"]),
        ({"question": DE_Q, "passage": DE_P + " " + DE_P + " " + DE_P}, ["length_ratio"]),  # 3.4x, bound ~1.8
        ({"question": DE_Q, "passage": DE_P[:60]}, ["length_ratio"]),
        ({"question": DE_Q + " die" * 4, "passage": DE_P}, ["repetition"]),
        ({"question": EN_Q, "passage": DE_P}, ["copy", "wrong_language"]),  # copied question
        ({"question": DE_Q, "passage": EN_P}, ["copy", "wrong_language"]),  # copied passage
        ({"question": DE_Q, "passage": EN_P.replace("won", "gewann").replace("final", "Finale")}, ["copy", "wrong_language"]),
        ({"question": ES_Q, "passage": ES_P}, ["wrong_language"]),  # Spanish in the German row
    ],
)
def test_each_check_fails_what_it_should(translation, reasons):
    (row,) = judge([{"lang": "de", **translation}])
    assert row["filter_reasons"] == reasons
    assert row["keep"] is False


def test_one_quoted_english_sentence_does_not_reject_a_german_passage():
    passage = DE_P + ' Der Slogan lautete "We are the champions of the world".'
    (row,) = judge([{"lang": "de", "question": DE_Q, "passage": passage}])
    assert row["keep"] is True
    assert 0.5 < row["lid_passage_share"] < 1.0


def test_wrong_language_question_needs_a_confident_label():
    row = {"lang": "de", "question": "Engineering News-Record?", "passage": DE_P}
    strict = judge([row])[0]
    assert strict["lid_question"] == "en" and "wrong_language" in strict["filter_reasons"]
    lenient = FilterConfig(lid=LidConfig(processes=1), lid_min_prob=1.01)
    assert "wrong_language" not in judge([row], lenient)[0]["filter_reasons"]


def test_short_sources_may_be_copied_and_are_not_ratio_judged():
    (row,) = judge([{"lang": "de", "question": "Tesla?", "passage": DE_P}], source={"question": "Tesla?"})
    assert row["copy_similarity"] < 0.6  # only the passage was comparable
    assert row["question_length_ratio"] is None
    assert "copy" not in row["filter_reasons"] and "length_ratio" not in row["filter_reasons"]


def test_answer_lost_only_for_answerable_rows_with_no_located_answer():
    lost = {"lang": "de", "question": DE_Q, "passage": DE_P, "answers": [{"text": "Broncos X", "answer_start": -1}]}
    found = {**lost, "answers": [{"text": "Broncos X", "answer_start": -1}, {"text": "Broncos", "answer_start": 10}]}
    impossible = {**lost, "is_impossible": True}
    rows = judge([lost])
    assert rows[0]["filter_reasons"] == ["answer_lost"]
    assert judge([found])[0]["keep"] is True
    assert judge([impossible])[0]["keep"] is True


def test_pseudo_languages_skip_language_id_but_not_the_other_checks():
    table = out_rows([
        {"lang": "en", "question": EN_Q, "passage": EN_P},
        {"lang": "x-rot13", "question": "JUvpu grnz jba?", "passage": "Gur Qraire Oebapbf jba. " * 6},
        {"lang": "x-rot13", "id": "j", "question": EN_Q, "passage": EN_P},
        {"lang": "en", "id": "j", "question": EN_Q, "passage": EN_P},
    ])
    with QualityFilter(CONFIG, ["x-rot13"]) as quality:
        rows = quality.evaluate(table).to_pylist()
    assert rows[1]["lid_question"] is None and rows[1]["lid_passage_share"] is None
    assert rows[1]["filter_reasons"] == ["repetition"]
    assert rows[2]["filter_reasons"] == ["copy"]
    assert quality._lid is None  # no language to identify: the identifier never loaded


def test_scores_of_hallucinations_and_copies():
    assert repetition("the cat sat on the mat", "en") == 1
    assert repetition("a b a b a b c", "en") == 3
    assert repetition("die die die die die", "de") == 5
    assert repetition("他说他说他说他说了", "zh") == 4
    assert repetition("1466年、1467年、1468年", "zh") == 1  # digits are one token, punctuation none
    assert copy_similarity("Hello  World", "hello world") == 1.0
    assert 0.0 <= copy_similarity(DE_P, EN_P) < 0.6


def test_length_ratio_table_is_fitted_per_pair_and_falls_back():
    table = load_length_ratios()
    assert {"en-de", "en-zh", "en-th"} <= set(table)
    lo, hi = table["en-zh"]["passage"]
    assert 0 < lo < hi < 1.2  # Chinese is much shorter in characters
    quality = QualityFilter(FilterConfig(length_ratio_default=[0.5, 2.0]), ["de", "sw"])
    assert quality.bounds("sw", "question") == (0.5, 2.0)
    assert quality.bounds("de", "passage") == table["en-de"]["passage"]


def test_bad_settings_are_one_clear_error(tmp_path):
    with pytest.raises(MtqaError, match="filter.mode must be one of drop, flag"):
        FilterConfig(mode="keep")
    with pytest.raises(MtqaError, match="unknown check 'spelling'"):
        FilterConfig(checks=["empty", "spelling"])
    (tmp_path / "r.json").write_text("{}")
    with pytest.raises(MtqaError, match="filter.length_ratios: cannot read"):
        QualityFilter(FilterConfig(length_ratios=str(tmp_path / "r.json")), ["de"])


def test_stage_counts_per_language_and_reason_and_drops_into_rejected():
    table = out_rows([
        {"lang": "en", "question": EN_Q, "passage": EN_P},
        {"lang": "de", "question": "", "passage": EN_P},  # empty, copy, wrong language
        {"lang": "es", "question": ES_Q, "passage": ES_P},
    ])
    stage = FilterStage(CONFIG, langs=["de", "es"])
    chunk = stage.process(Chunk(index=0, qa=None, output=table))
    stage.close()
    assert chunk.output.column("lang").to_pylist() == ["en", "es"]
    assert chunk.rejected.column("filter_reasons").to_pylist() == [["copy", "empty", "length_ratio", "wrong_language"]]
    counts = stage.stats.counts
    assert counts["rows:de"] == counts["rows:es"] == counts["rows:en"] == 1
    assert counts["kept:es"] == 1 and counts["kept:de"] == 0 and counts["kept"] == 2
    assert counts["failed"] == 1
    assert counts["failed_empty"] == counts["failed_empty:de"] == counts["failed_copy:de"] == 1
    flag = FilterStage(FilterConfig(mode="flag", lid=LidConfig(processes=1)), langs=["de", "es"])
    flagged = flag.process(Chunk(index=0, qa=None, output=table))
    assert flagged.output.column("keep").to_pylist() == [True, False, True] and flagged.rejected is None


def test_checks_can_be_switched_off():
    (row,) = judge([{"lang": "de", "question": "", "passage": EN_P}], FilterConfig(checks=["empty"]))
    assert row["filter_reasons"] == ["empty"]
    assert row["lid_question"] is None  # no wrong_language check: no language ID


# ---- end to end through `mtqa build` with the toy model --------------------------------
ROWS = [
    {"id": f"q{i}", "question": f"What did the author write in chapter number {i} of the book?",
     "passage": f"In chapter {i} the author wrote about the history of the river and its towns. "
                "Many people lived along the river for centuries.",
     "answers": [{"text": "the history of the river", "answer_start": 30 + len(str(i))}]}
    for i in range(6)
] + [
    {"id": "loop", "question": "Why do buffalo buffalo buffalo buffalo buffalo?",
     "passage": "Buffalo buffalo buffalo buffalo buffalo buffalo is a grammatical sentence about animals."},
]


def build(tmp_path, mode: str, out: str, *extra):
    source = tmp_path / "qa.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    pipeline = tmp_path / f"{mode}.yaml"
    pipeline.write_text(yaml.safe_dump({"sources": [str(source)], "filter": {"mode": mode}}))
    return CliRunner().invoke(main, ["build", "--no-progress", "--pipeline", str(pipeline), "--out", str(tmp_path / out),
                                     "--chunk-size", "3", *extra])


def read(paths):
    return pa.concat_tables(pa.ipc.open_file(str(p)).read_all() for p in sorted(paths))


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MTQA_CACHE", str(tmp_path / "cache"))


def test_drop_mode_writes_failed_rows_to_rejected_and_counts_them(tmp_path, cache):
    result = build(tmp_path, "drop", "drop")
    assert result.exit_code == 0, result.output
    assert "filter" in result.output and "repetition 2" in result.output
    out = tmp_path / "drop"
    data = read((out / "data").glob("*.arrow"))
    rejected = read((out / "rejected").glob("*.arrow"))
    assert data.schema == SHARD_SCHEMA and rejected.schema == SHARD_SCHEMA
    assert all(data.column("keep").to_pylist())
    assert sorted(rejected.column("lang").to_pylist()) == ["x-atbash", "x-rot13"]
    assert set(rejected.column("id").to_pylist()) == {"qa:loop"}
    assert all("repetition" in r for r in rejected.column("filter_reasons").to_pylist())
    assert data.num_rows + rejected.num_rows == len(ROWS) * 3
    manifest = json.loads((out / "manifest.json").read_text())
    counts = manifest["stages"]["filter"]["counts"]
    assert counts["failed_repetition"] == 2 and counts["failed_repetition:x-rot13"] == 1
    assert counts["kept:en"] == len(ROWS) and counts["rows:x-atbash"] == len(ROWS)
    assert manifest["rejected"] == {"rows": 2, "langs": {"x-atbash": 1, "x-rot13": 1}}
    entry = next(f for f in manifest["files"] if f["rejected"])
    assert entry["rejected"]["path"].startswith("rejected/part-00000-of-00001-")
    assert entry["rejected"]["rows"] == 2 and len(entry["rejected"]["sha256"]) == 64

    # A rerun with the rejected file gone redoes that chunk, byte-identically.
    before = {p.relative_to(out): p.read_bytes() for p in out.glob("*/*.arrow")}
    (out / entry["rejected"]["path"]).unlink()
    again = build(tmp_path, "drop", "drop")
    assert again.exit_code == 0, again.output
    assert {p.relative_to(out): p.read_bytes() for p in out.glob("*/*.arrow")} == before

    report = CliRunner().invoke(main, ["report", str(out)])
    assert report.exit_code == 0, report.output
    assert "failed: repetition" in report.output


def test_flag_mode_keeps_every_row_with_keep_false_and_the_sampler_skips_them(tmp_path, cache):
    from mtqa.sampler import HybridBatchSampler, HybridSamplerConfig

    result = build(tmp_path, "flag", "flag")
    assert result.exit_code == 0, result.output
    out = tmp_path / "flag"
    assert not (out / "rejected").exists()
    data = read((out / "data").glob("*.arrow"))
    assert data.num_rows == len(ROWS) * 3
    flagged = data.filter(pa.compute.invert(data.column("keep")))
    assert set(flagged.column("id").to_pylist()) == {"qa:loop"} and flagged.num_rows == 2
    sampler = HybridBatchSampler(out, HybridSamplerConfig(batch_size=2, alpha=1.0))
    assert sampler.table.num_rows == len(ROWS) * 3 - 2


def test_default_offline_build_keeps_nearly_every_row(tmp_path, cache):
    result = CliRunner().invoke(main, ["build", "--no-progress", "--out", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    counts = json.loads((tmp_path / "d" / "manifest.json").read_text())["stages"]["filter"]["counts"]
    assert counts["rows_in"] == 192
    assert counts["kept"] >= 0.99 * 192


def test_in_a_build_the_passage_is_judged_by_its_translated_segments():
    from mtqa.stages.assemble import AssembleStage
    from mtqa.stages.dedup import DedupStage
    from mtqa.stages.segment import SegmentStage
    from tests.helpers import FakeTranslateStage, qa_table

    german = dict(zip(
        ["Which team won the championship in the year 2016?",
         "The Denver Broncos won the championship in 2016.",
         "They beat the Carolina Panthers in the final game.",
         "The game was played in Santa Clara, California."],
        [DE_Q, "Die Denver Broncos gewannen die Meisterschaft im Jahr 2016.",
         "They beat the Carolina Panthers in the final game.",  # left in English
         "Das Spiel wurde in Santa Clara, Kalifornien, ausgetragen."]))
    chunk = Chunk(index=0, qa=qa_table([{"question": EN_Q, "passage": EN_P}]))
    for stage in [SegmentStage(), DedupStage(), FakeTranslateStage(["de"], fn=lambda text, lang: german[text]),
                  AssembleStage(["de"])]:
        chunk = stage.process(chunk)
    stage = FilterStage(CONFIG, langs=["de"])
    sentences = stage._passage_sentences(chunk, chunk.output)
    assert sentences[1] == [german[s] for s in list(german)[1:]]
    row = stage.process(chunk).output.to_pylist()[1]
    english = len("They beat the Carolina Panthers in the final game.")
    total = sum(len(s) for s in sentences[1])
    assert row["lid_passage_share"] == pytest.approx(1 - english / total, abs=1e-6)
    assert row["keep"] is True
