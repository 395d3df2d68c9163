"""The translate step leaves alone what the source already translated."""

import pyarrow as pa

from mtqa.pipeline import stats as S
from mtqa.pipeline.step import Chunk
from mtqa.schema import QA_SCHEMA
from mtqa.steps.dedup import DedupStep
from mtqa.steps.segment import SegmentStep
from mtqa.steps.translate import SEGMENTS_GIVEN, TranslateConfig, TranslateStep
from mtqa.toy_cipher import cipher
from tests.helpers import qa_table


def test_rows_the_source_translated_are_not_machine_translated_into_that_language(tmp_path):
    qa = qa_table([{"question": "who was the first king", "passage": "the war"},
                   {"question": "where is it", "passage": "the war"}])
    given = [[{"lang": "x-rot13", "origin": "human", "title": None, "question": "given", "passage": "given",
               "answers": []}], None]
    qa = qa.set_column(qa.schema.get_field_index("parallel"), "parallel",
                       pa.array(given, QA_SCHEMA.field("parallel").type))
    chunk = DedupStep().process(SegmentStep().process(Chunk(index=0, qa=qa)))
    assert chunk.unique == ["who was the first king", "the war", "where is it"]
    step = TranslateStep(TranslateConfig(model="toy", cache_dir=str(tmp_path)), ["x-rot13", "x-atbash"])
    out = step.process(chunk)
    # Only the first row uses the first question; the second row needs the passage too.
    rot13 = out.translations["x-rot13"]
    assert rot13 == ["", cipher("the war", "x-rot13"), cipher("where is it", "x-rot13")]
    assert out.translations["x-atbash"] == [cipher(t, "x-atbash") for t in chunk.unique]
    assert step.stats.counts[SEGMENTS_GIVEN] == 1 and step.stats.counts[S.TRANSLATED] == 5
