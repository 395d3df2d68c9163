import pyarrow as pa

from mtqa.schema import OUTPUT_SCHEMA
from mtqa.stages.base import Chunk
from mtqa.stages.filter import FilterConfig, FilterStage


def out_rows(rows):
    base = {"id": "i", "source": "s", "split": "dev", "title": "", "answers": [], "is_impossible": False, "passage_id": "p"}
    return pa.Table.from_pylist([{**base, **r} for r in rows], schema=OUTPUT_SCHEMA)


def test_drops_empty_translations_and_counts_them_per_language():
    table = out_rows(
        [
            {"lang": "en", "question": "", "passage": "P"},  # source rows are never dropped
            {"lang": "de", "question": "F", "passage": "  "},
            {"lang": "es", "question": "", "passage": "P"},
            {"lang": "es", "question": "Q", "passage": "P"},
        ]
    )
    stage = FilterStage()
    chunk = stage.process(Chunk(index=0, qa=None, output=table))
    assert chunk.output.column("lang").to_pylist() == ["en", "es"]
    assert stage.stats.counts["dropped_empty"] == 2
    assert stage.stats.counts["dropped_empty:de"] == 1
    assert stage.stats.counts["dropped_empty:es"] == 1


def test_can_be_switched_off():
    table = out_rows([{"lang": "de", "question": "", "passage": ""}])
    chunk = FilterStage(FilterConfig(drop_empty=False)).process(Chunk(index=0, qa=None, output=table))
    assert chunk.output.num_rows == 1
