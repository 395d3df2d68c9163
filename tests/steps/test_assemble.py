import pyarrow as pa

from mtqa.schema import OUTPUT_SCHEMA, QA_SCHEMA, passage_id
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


# -- translations the source gave ------------------------------------------------------------


def given(lang, question, passage, answers=(), origin="human"):
    return {"lang": lang, "origin": origin, "title": f"{lang} title", "question": question, "passage": passage,
            "answers": [{"text": t, "answer_start": s} for t, s in answers]}


def with_parallel(rows):
    """``qa_table`` rows with their ``parallel`` translations (which ``qa_table`` leaves out)."""
    table = qa_table(rows)
    column = pa.array([r.get("parallel") for r in rows], QA_SCHEMA.field("parallel").type)
    return table.set_column(table.schema.get_field_index("parallel"), "parallel", column)


def parallel_qa():
    return with_parallel([
        {"id": "a", "question": "Where is Paris?", "passage": "Paris is in France.",
         "answers": [{"text": "France", "answer_start": 12}],
         "parallel": [given("de", "Wo liegt Paris?", "Paris liegt in Frankreich.", [("Frankreich", 15)]),
                      given("es", "¿Dónde está París?", "París está en Francia. Francia es grande.", [("Francia", 30)])]},
        {"id": "b", "question": "What is big?", "passage": "Rome is big.", "answers": [{"text": "Rome", "answer_start": 0}],
         "parallel": [given("de", "Was ist groß?", "Rom ist groß.", [("Roma", 0)])]},  # text not in the passage
        {"id": "c", "question": "Which one?", "passage": "This one.", "answers": [{"text": "This", "answer_start": 0}],
         "parallel": [given("de", "Welches?", "Dieses.", [])]},  # answerable, the translation has no answer
        {"id": "d", "question": "Who knows?", "passage": "Nobody.", "is_impossible": True,
         "parallel": [given("de", "Wer weiß?", "Niemand.", [("Niemand", 0)])]},
    ])


def test_given_translations_are_used_with_checked_spans_and_flagged_rows():
    chunk = Chunk(index=0, qa=parallel_qa())
    for step in [SegmentStep(), DedupStep(), AssembleStep(["de", "es"])]:  # no translate step: nothing is MT
        chunk = step.process(chunk)
    rows = {(r["id"], r["lang"]): r for r in chunk.output.to_pylist()}
    flags = dict(zip([(r["id"], r["lang"]) for r in chunk.output.to_pylist()], chunk.row_flags))
    assert [(r["id"], r["lang"], r["origin"]) for r in chunk.output.to_pylist()] == [
        ("a", "en", "source"), ("a", "de", "human"), ("a", "es", "human"), ("b", "en", "source"),
        ("b", "de", "human"), ("c", "en", "source"), ("c", "de", "human"), ("d", "en", "source"), ("d", "de", "human")]
    assert rows["a", "de"]["answers"] == [{"text": "Frankreich", "answer_start": 15}] and flags["a", "de"] == []
    # Given at 30, the text occurs at 14 and 23: moved to the nearest, and flagged.
    assert rows["a", "es"]["answers"] == [{"text": "Francia", "answer_start": 23}] and flags["a", "es"] == ["answer_span"]
    assert rows["b", "de"]["answers"] == [{"text": "Roma", "answer_start": -1}] and flags["b", "de"] == ["answer_span"]
    assert rows["c", "de"]["answers"] == [] and flags["c", "de"] == ["answer_span"]
    assert rows["d", "de"]["answers"] == [] and rows["d", "de"]["is_impossible"] is True and flags["d", "de"] == []
    assert rows["a", "de"]["title"] == "T" and rows["a", "de"]["passage_id"] == rows["a", "en"]["passage_id"]
    # Without machine translation, ids the source lacks in a language get no row there.
    assert ("b", "es") not in rows
    assert chunk.passage_sentences[2] == ["París está en Francia.", "Francia es grande."]


def test_given_and_machine_translated_rows_are_counted_per_language():
    chunk = Chunk(index=0, qa=parallel_qa())
    step = AssembleStep(["de", "es"])
    for s in [SegmentStep(), DedupStep(), FakeTranslateStep(["de", "es"])]:
        chunk = s.process(chunk)
    (chunk,) = step.run([chunk])
    origins = [(r["id"], r["lang"], r["origin"]) for r in chunk.output.to_pylist() if r["lang"] == "es"]
    assert origins == [("a", "es", "human"), ("b", "es", "mt"), ("c", "es", "mt"), ("d", "es", "mt")]
    langs = chunk.stats["assemble"].langs
    assert langs["en"] == {"rows_source": 4}
    assert langs["de"] == {"rows_human": 4, "answers_given": 2, "spans_indexed": 1, "spans_not_found": 1,
                           "answers_missing": 1, "rows_flagged_span": 2}
    # b and c (machine-translated, answerable) have their answer found verbatim: "exact".
    assert langs["es"] == {"rows_human": 1, "rows_mt": 3, "ids_missing": 3, "answers_given": 1,
                           "spans_relocated": 1, "rows_flagged_span": 1, "answers_exact": 2}
    assert chunk.stats["assemble"].counts == {"rows_source": 4, "rows_human": 5, "rows_mt": 3, "rows_in": 4,
                                              "rows_out": 12}
    mt = [r for r in chunk.output.to_pylist() if r["origin"] == "mt"][0]
    assert mt["question"] == reverse_words("What is big?", "es")


# -- answer projection (docs/projection.md) --------------------------------------------------

from mtqa.projection import ProjectionConfig  # noqa: E402
from mtqa.steps.mark import MarkAnswersStep  # noqa: E402
from mtqa.toy_cipher import cipher  # noqa: E402

# XQuAD's Amazon paragraph (CC BY-SA 4.0), shortened: "10%" occurs twice.
AMAZON = ("Amazonian evergreen forests account for about 10% of the world's terrestrial primary productivity "
          "and 10% of the carbon stores in ecosystems. Deforestation releases that carbon.")


def projected(qa, langs, fn, projection=None, mark=True):
    projection = projection if projection is not None else ProjectionConfig()
    chunk = Chunk(index=0, qa=qa)
    steps = [SegmentStep(), *([MarkAnswersStep(projection, langs)] if mark else []), DedupStep(),
             FakeTranslateStep(langs, fn=fn), AssembleStep(langs, projection=projection)]
    for step in steps:
        (chunk,) = step.run([chunk])
    return chunk, {(r["id"], r["lang"]): r for r in chunk.output.to_pylist()}


def test_marker_projection_finds_the_annotated_occurrence_where_a_lookup_finds_the_first():
    start = AMAZON.index("10% of the carbon")
    qa = qa_table([{"id": "a", "question": "What share of the carbon?", "passage": AMAZON,
                    "answers": [{"text": "10%", "answer_start": start}]}])
    chunk, rows = projected(qa, ["x-rot13"], cipher)
    row = rows["a", "x-rot13"]
    assert row["passage"] == cipher(AMAZON, "x-rot13")
    # The cipher keeps every length, so the projected span is the English one.
    assert row["answers"] == [{"text": "10%", "answer_start": start}] and row["passage"].find("10%") < start
    assert chunk.stats["assemble"].langs["x-rot13"]["answers_marker"] == 1
    # Without the mark step the fallback still prefers the occurrence near the sentence anchor.
    chunk, rows = projected(qa, ["x-rot13"], cipher, mark=False)
    assert rows["a", "x-rot13"]["answers"] == [{"text": "10%", "answer_start": start}]
    assert chunk.stats["assemble"].langs["x-rot13"]["answers_exact"] == 1


def test_lost_markers_fall_back_to_the_answer_and_a_missing_answer_is_counted_none():
    def lose_markers(text, lang):  # a model that drops the markers and capitalises an answer alone
        out = cipher(text.replace("[", "").replace("]", ""), lang)
        return out.upper() if len(text) < 30 else out

    qa = qa_table([{"id": "a", "question": "Q?", "passage": AMAZON,
                    "answers": [{"text": "Amazonian evergreen forests", "answer_start": 0}]},
                   {"id": "b", "question": "Q?", "passage": AMAZON,
                    "answers": [{"text": "carbon stores", "answer_start": AMAZON.index("carbon stores")}]}])
    chunk, rows = projected(qa, ["x-atbash"], lose_markers)
    passage = rows["a", "x-atbash"]["passage"]
    assert rows["a", "x-atbash"]["answers"] == [{"text": cipher("Amazonian evergreen forests", "x-atbash"),
                                                 "answer_start": 0}]
    b = rows["b", "x-atbash"]["answers"][0]
    assert passage[b["answer_start"]:b["answer_start"] + len(b["text"])] == b["text"] == cipher("carbon stores",
                                                                                               "x-atbash")
    assert chunk.stats["assemble"].langs["x-atbash"] == {"rows_mt": 2, "ids_missing": 2, "answers_fuzzy": 2}
    _, rows = projected(qa, ["x-atbash"], lambda text, lang: "Zzz qqq." if len(text) < 25 else cipher(text, lang),
                        projection=ProjectionConfig(markers=False))
    assert rows["b", "x-atbash"]["answers"] == [{"text": "Zzz qqq.", "answer_start": -1}]


def test_free_text_answers_are_not_projected_and_projection_off_locates_nothing():
    qa = qa_table([{"id": "a", "question": "Q?", "passage": AMAZON,
                    "answers": [{"text": "10%", "answer_start": -1}, {"text": "carbon", "answer_start": 113}]}])
    chunk, rows = projected(qa, ["x-rot13"], cipher)
    assert rows["a", "x-rot13"]["answers"] == [{"text": "10%", "answer_start": -1},
                                               {"text": cipher("carbon", "x-rot13"), "answer_start": 113}]
    assert chunk.stats["assemble"].langs["x-rot13"]["answers_unlocated"] == 1
    chunk, rows = projected(qa, ["x-rot13"], cipher, projection=ProjectionConfig(enabled=False))
    assert [a["answer_start"] for a in rows["a", "x-rot13"]["answers"]] == [-1, -1]
    assert rows["a", "en"]["answers"][1] == {"text": "carbon", "answer_start": 113}  # the source row as read
    assert chunk.stats["mark"].counts["segments_marked"] == 0
