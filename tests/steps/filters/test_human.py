"""Rows the source translated are judged like machine translations but flagged, not dropped."""

from mtqa.lid import LidConfig
from mtqa.pipeline.step import Chunk
from mtqa.steps.filters import FilterConfig, FilterStep
from tests.steps.filters.rows import DE_Q, EN_P, EN_Q, ES_P, ES_Q, out_rows


def rows():
    return out_rows([
        {"id": "1", "lang": "en", "question": EN_Q, "passage": EN_P, "origin": "source"},
        {"id": "1", "lang": "de", "question": DE_Q, "passage": EN_P, "origin": "human"},  # English passage
        {"id": "1", "lang": "es", "question": ES_Q, "passage": EN_P, "origin": "mt"},  # the same failure
        {"id": "2", "lang": "en", "question": EN_Q, "passage": EN_P, "origin": "source"},
        {"id": "2", "lang": "es", "question": ES_Q, "passage": ES_P, "origin": "human"},  # fine, but flagged upstream
    ])


def run(**config):
    step = FilterStep(FilterConfig(lid=LidConfig(processes=1), **config), langs=["de", "es"])
    (chunk,) = step.run([Chunk(index=0, qa=None, output=rows(), row_flags=[[], [], [], [], ["answer_span"]])])
    step.close()
    return chunk


def test_failed_human_rows_stay_in_the_data_flagged_while_failed_mt_rows_are_dropped():
    chunk = run()
    assert [(r["id"], r["lang"], r["keep"]) for r in chunk.output.to_pylist()] == [
        ("1", "en", True), ("1", "de", False), ("2", "en", True), ("2", "es", False)]
    de, es = chunk.output.to_pylist()[1], chunk.output.to_pylist()[3]
    assert "wrong_language" in de["filter_reasons"] and es["filter_reasons"] == ["answer_span"]
    assert [(r["lang"], r["origin"]) for r in chunk.rejected.to_pylist()] == [("es", "mt")]
    stats = chunk.stats["filter"]
    assert stats.counts["flagged"] == 2 and stats.counts["failed"] == 3 and stats.counts["failed_answer_span"] == 1
    assert stats.langs["de"]["flagged"] == 1 and stats.langs["es"]["flagged"] == 1 and stats.langs["es"]["rows"] == 2


def test_human_mode_drop_sets_them_aside_too():
    chunk = run(human_mode="drop")
    assert chunk.output.column("lang").to_pylist() == ["en", "en"]
    assert chunk.rejected.column("lang").to_pylist() == ["de", "es", "es"]
    assert "flagged" not in chunk.stats["filter"].counts
