from mtqa.pipeline.step import Chunk
from mtqa.steps.dedup import DedupStep
from mtqa.steps.segment import SegmentStep
from tests.helpers import qa_table


def test_each_distinct_text_once_in_first_seen_order():
    qa = qa_table(
        [
            {"question": "Q1?", "passage": "S one. S two."},
            {"question": "Q2?", "passage": "S one. S two."},
            {"question": "Q1?", "passage": "S three. S one."},
        ]
    )
    chunk = SegmentStep().process(Chunk(index=0, qa=qa))
    stage = DedupStep()
    chunk = stage.process(chunk)
    assert chunk.unique == ["Q1?", "S one.", "S two.", "Q2?", "S three."]
    texts = chunk.segments.column("text").to_pylist()
    uids = chunk.segments.column("uid").to_pylist()
    assert [chunk.unique[u] for u in uids] == texts
    assert stage.stats.counts["segments"] == 9
    assert stage.stats.counts["unique_segments"] == 5
    assert stage.stats.counts["segments_passage"] == 6
    assert stage.stats.counts["unique_passage"] == 3
