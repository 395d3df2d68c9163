from mtqa.schema import OUTPUT_SCHEMA, passage_id
from mtqa.steps.assemble import AssembleStep
from mtqa.pipeline.step import Chunk
from mtqa.steps.dedup import DedupStep
from mtqa.steps.segment import SegmentStep
from tests.helpers import FakeTranslateStep, qa_table, reverse_words


def run(qa, langs):
    chunk = Chunk(index=0, qa=qa)
    for stage in [SegmentStep(), DedupStep(), FakeTranslateStep(langs), AssembleStep(langs)]:
        chunk = stage.process(chunk)
    return chunk.output


def test_rows_carry_their_own_translation_with_original_whitespace():
    passage = "Paris is big.  It is old.\nRome too."
    qa = qa_table(
        [
            {"id": "a", "question": "What is big?", "passage": passage,
             "answers": [{"text": "Paris", "answer_start": 0}]},
            {"id": "b", "question": "What is old?", "passage": passage, "is_impossible": True},
        ]
    )
    out = run(qa, ["de", "es"])
    assert out.schema == OUTPUT_SCHEMA
    rows = out.to_pylist()
    assert [(r["id"], r["lang"]) for r in rows] == [("a", "en"), ("a", "de"), ("a", "es"), ("b", "en"), ("b", "de"), ("b", "es")]
    de = rows[1]
    expected_passage = "  ".join([reverse_words("Paris is big.", "de"), reverse_words("It is old.", "de")])
    expected_passage += "\n" + reverse_words("Rome too.", "de")
    assert de["passage"] == expected_passage
    assert de["question"] == reverse_words("What is big?", "de")
    assert de["answers"] == [{"text": "[de] siraP", "answer_start": 0}]
    assert rows[0]["answers"] == [{"text": "Paris", "answer_start": 0}]
    assert rows[4]["is_impossible"] is True and rows[4]["answers"] == []
    assert {r["passage_id"] for r in rows} == {passage_id("t", passage)}


def test_answer_found_in_translated_passage():
    qa = qa_table([{"question": "Q?", "passage": "Alpha beta. Gamma delta.", "answers": [{"text": "Gamma delta.", "answer_start": 12}]}])
    out = run(qa, ["xx"]).to_pylist()
    xx = out[1]
    assert xx["answers"][0]["answer_start"] == xx["passage"].index(xx["answers"][0]["text"]) > 0
