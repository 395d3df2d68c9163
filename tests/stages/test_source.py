"""The source stage: local files, the embedded sample, Hub mappings on rows shaped like the real
datasets, and one-line errors for bad input."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtqa.errors import MtqaError
from mtqa.schema import QA_SCHEMA
from mtqa.stages import source as source_mod
from mtqa.stages.source import (
    HUB_SOURCES,
    SAMPLE_PATH,
    list_sources,
    map_duorc,
    map_ms_marco,
    map_natural_questions,
    map_newsqa,
    map_squad,
    map_squad_v2,
    map_trivia_qa,
    map_wiki_qa,
    map_yahoo_answers_qa,
    open_source,
)


def read_all(spec, **kw) -> pa.Table:
    src = open_source(spec, **kw)
    batches = list(src.batches())
    for batch in batches:
        assert batch.schema == QA_SCHEMA
    return pa.Table.from_batches(batches, schema=QA_SCHEMA)


def assert_spans(rows):
    located = 0
    for row in rows:
        for ans in row["answers"]:
            if ans["answer_start"] >= 0:
                start = ans["answer_start"]
                assert row["passage"][start : start + len(ans["text"])] == ans["text"]
                located += 1
    return located


def error_of(func, *args, **kw) -> str:
    with pytest.raises(MtqaError) as info:
        result = func(*args, **kw)
        if hasattr(result, "batches"):
            list(result.batches())
    message = str(info.value)
    assert "\n" not in message and message
    return message


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# -- the embedded sample ---------------------------------------------------------------------


def test_sample_is_a_small_real_xquad_excerpt():
    table = read_all("sample")
    rows = table.to_pylist()
    assert table.num_rows == 64
    assert len(set(table.column("passage").to_pylist())) == 12
    assert len(set(table.column("title").to_pylist())) == 12
    assert len(set(table.column("id").to_pylist())) == 64
    assert rows[0]["id"] == "sample:56bec6ac3aeaaa14008c93fd"
    assert rows[0]["question"] == "How many Grammys has Lady Gaga won?"
    assert rows[0]["answers"] == [{"text": "Six", "answer_start": 0}]
    assert {r["source"] for r in rows} == {"sample"} and {r["split"] for r in rows} == {"test"}
    assert not any(r["is_impossible"] for r in rows)
    assert assert_spans(rows) == 64
    assert SAMPLE_PATH.stat().st_size < 60_000
    readme = (SAMPLE_PATH.parent / "README.md").read_text(encoding="utf-8")
    assert "CC BY-SA 4.0" in readme and "google-deepmind/xquad" in readme


def test_sample_describe_records_file_and_checksum():
    desc = open_source("sample").describe()
    assert desc["name"] == "sample" and desc["kind"] == "sample"
    assert desc["path"] == "mtqa/data/sample/xquad-en-sample.json"
    assert desc["sha256"] == hashlib.sha256(SAMPLE_PATH.read_bytes()).hexdigest()
    assert desc["size"] == SAMPLE_PATH.stat().st_size
    assert desc["license"] == "CC-BY-SA-4.0"


# -- real data -------------------------------------------------------------------------------


def test_xquad_english_real(shared_data):
    table = read_all(str(shared_data / "xquad" / "xquad.en.json"))
    rows = table.to_pylist()
    assert table.num_rows == 1190
    assert len(set(table.column("passage").to_pylist())) == 240
    assert len(set(table.column("id").to_pylist())) == 1190
    assert rows[0]["id"] == "xquad_en:56beb4343aeaaa14008c925b"
    assert assert_spans(rows) == 1190


def test_squad_v2_dev_real(shared_data):
    spec = f"squad:{shared_data / 'squad-v2' / 'dev-v2.0.json'}"
    table = read_all(spec, split="validation", name="squad_v2")
    rows = table.to_pylist()
    impossible = [r for r in rows if r["is_impossible"]]
    assert table.num_rows == 6078 and len(impossible) == 3168
    assert all(r["answers"] == [] for r in impossible)
    assert all(r["answers"] for r in rows if not r["is_impossible"])
    assert len(set(table.column("passage").to_pylist())) == 646
    assert {r["split"] for r in rows} == {"validation"}
    assert rows[0]["id"].startswith("squad_v2:")
    assert assert_spans(rows) == 10052  # every answer of the 2,910 answerable questions


def test_nq_open_has_no_passage_and_says_so(shared_data):
    message = error_of(open_source, str(shared_data / "nq-open" / "NQ-open.dev.jsonl"))
    assert message.endswith("NQ-open.dev.jsonl:1: missing field 'passage'")


# -- JSONL and Parquet round trips ------------------------------------------------------------


def test_jsonl_round_trip_with_every_field_form(tmp_path):
    rows = [
        {"id": "a1", "title": "T", "question": "Q one?", "passage": "Alpha beta gamma.",
         "answers": [{"text": "beta", "answer_start": 6}]},
        {"question": "Q two?", "context": "Delta epsilon.", "answer": "epsilon"},
        {"id": 7, "question": "Q three?", "passage": "Zeta eta.", "answers": ["theta"]},
        {"id": "a4", "question": "Q four?", "passage": "Iota.", "is_impossible": True,
         "answers": [{"text": "Iota", "answer_start": 0}]},
        {"id": "a5", "question": "Q five?", "passage": "Kappa lambda kappa.",
         "answers": [{"text": "kappa", "answer_start": 99}]},
    ]
    path = write_jsonl(tmp_path / "mine.jsonl", rows)
    (path.parent / "blank.jsonl").write_text("\n" + path.read_text() + "\n\n")
    out = read_all(str(path)).to_pylist()
    assert [r["id"] for r in out[:1] + out[2:]] == ["mine:a1", "mine:7", "mine:a4", "mine:a5"]
    assert out[1]["id"].startswith("mine:") and len(out[1]["id"]) == len("mine:") + 16
    assert out[0]["answers"] == [{"text": "beta", "answer_start": 6}]
    assert out[1]["passage"] == "Delta epsilon." and out[1]["answers"] == [{"text": "epsilon", "answer_start": 6}]
    assert out[2]["answers"] == [{"text": "theta", "answer_start": -1}]
    assert out[3]["is_impossible"] and out[3]["answers"] == []
    assert out[4]["answers"] == [{"text": "kappa", "answer_start": 13}]  # a wrong offset is relocated
    assert out[1]["title"] is None and out[0]["title"] == "T"
    assert read_all(str(path.parent / "blank.jsonl"), name="mine").to_pylist() == out


def test_ids_without_an_original_depend_on_content_not_position(tmp_path):
    rows = [{"question": f"Question {i}?", "passage": f"Passage {i}."} for i in range(5)]
    forward = read_all(str(write_jsonl(tmp_path / "f.jsonl", rows)), name="x")
    backward = read_all(str(write_jsonl(tmp_path / "b.jsonl", rows[::-1])), name="x")
    assert forward.column("id").to_pylist() == backward.column("id").to_pylist()[::-1]
    assert len(set(forward.column("id").to_pylist())) == 5


def test_gzipped_jsonl_and_squad(tmp_path):
    rows = [{"id": "g", "question": "Q?", "passage": "P."}]
    with gzip.open(tmp_path / "z.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write(json.dumps(rows[0]) + "\n")
    assert read_all(str(tmp_path / "z.jsonl.gz")).column("id").to_pylist() == ["z:g"]
    (tmp_path / "s.json.gz").write_bytes(gzip.compress(SAMPLE_PATH.read_bytes()))
    assert read_all(str(tmp_path / "s.json.gz")).num_rows == 64


def test_parquet_round_trip_in_record_batches(tmp_path):
    sample = read_all("sample")
    path = tmp_path / "qa.parquet"
    pq.write_table(sample.drop_columns(["source", "split"]), path, row_group_size=10)
    back = read_all(str(path), batch_size=7, name="sample", split="test")
    assert back.to_pylist() == sample.to_pylist()
    assert open_source(f"parquet:{path}").describe()["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_parquet_with_hub_squad_layout_and_context_column(tmp_path):
    table = pa.table({
        "id": ["q1", "q2"],
        "context": ["Paris is in France.", "No answer here."],
        "question": ["Where is Paris?", "What?"],
        "answers": [{"text": ["France"], "answer_start": [12]}, {"text": [], "answer_start": []}],
        "extra": [1, 2],
    })
    pq.write_table(table, tmp_path / "hf.parquet")
    rows = read_all(str(tmp_path / "hf.parquet")).to_pylist()
    assert rows[0]["answers"] == [{"text": "France", "answer_start": 12}]
    assert rows[1]["answers"] == [] and rows[0]["passage"] == "Paris is in France."


# -- limit, batch size, determinism ------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(limit=st.one_of(st.none(), st.integers(0, 80)), batch_size=st.integers(1, 70))
def test_limit_and_batch_size(limit, batch_size):
    full = read_all("sample").column("id").to_pylist()
    batches = list(open_source("sample", limit=limit, batch_size=batch_size).batches())
    sizes = [b.num_rows for b in batches]
    expected = 64 if limit is None else min(limit, 64)
    assert sum(sizes) == expected
    assert all(s == batch_size for s in sizes[:-1]) and all(0 < s <= batch_size for s in sizes)
    ids = [i for b in batches for i in b.column("id").to_pylist()]
    assert ids == full[:expected]  # a limit keeps the ids of the rows it keeps


def test_limit_stops_reading_a_stream(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_text(json.dumps({"question": "Q?", "passage": "P."}) + "\n" + "{broken\n", encoding="utf-8")
    assert read_all(str(path), limit=1).num_rows == 1  # never reaches the bad line


def test_two_reads_are_equal(tmp_path):
    sample = read_all("sample")
    pq.write_table(sample, tmp_path / "s.parquet", row_group_size=9)
    write_jsonl(tmp_path / "s.jsonl", sample.to_pylist())
    for spec in ["sample", str(tmp_path / "s.parquet"), str(tmp_path / "s.jsonl")]:
        src = open_source(spec, batch_size=10)
        first, second = list(src.batches()), list(src.batches())
        assert len(first) == 7 and all(a.equals(b) for a, b in zip(first, second, strict=True))
    assert src.stats.counts["rows_out"] == 128


# -- bad input ------------------------------------------------------------------------------


def test_file_not_found():
    assert error_of(open_source, "no/such/file.jsonl") == "file not found: no/such/file.jsonl"
    assert error_of(open_source, "squad:missing.json") == "file not found: missing.json"


def test_unknown_source_lists_the_known_ones():
    message = error_of(open_source, "squad3")
    assert message.startswith("unknown source 'squad3': expected one of sample, squad, squad_v2, nq,")
    assert "yahoo_qa" in message and "jsonl:" in message


def test_unknown_extension(tmp_path):
    (tmp_path / "data.csv").write_text("question,passage\n")
    message = error_of(open_source, str(tmp_path / "data.csv"))
    assert message.startswith(f"unknown extension .csv for {tmp_path / 'data.csv'}")
    assert "squad:/jsonl:/parquet:" in message


def test_malformed_json_names_line_and_column(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"data": [\n  {"title": "x",,}\n]}\n', encoding="utf-8")
    message = error_of(open_source, str(path))
    assert message.startswith(f"malformed JSON in {path} at line 2, column 17:")


def test_not_squad_format(tmp_path):
    path = tmp_path / "list.json"
    path.write_text("[1, 2]", encoding="utf-8")
    assert "not SQuAD format" in error_of(open_source, str(path))


def test_malformed_jsonl_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "Q?", "passage": "P."}\n{"question": oops}\n', encoding="utf-8")
    assert error_of(open_source, str(path)).startswith(f"malformed JSON in {path}:2 at column 14:")
    path.write_text('{"question": "Q?", "passage": "P."}\n[1, 2]\n', encoding="utf-8")
    assert error_of(open_source, str(path)) == f"{path}:2: expected a JSON object, got list"


def test_invalid_utf8(tmp_path):
    js = tmp_path / "latin.json"
    raw = b'{"data": [\n{"title": "caf\xe9", "paragraphs": []}]}'
    js.write_bytes(raw)
    assert raw.index(b"\xe9") == 25
    assert error_of(open_source, str(js)) == f"invalid UTF-8 in {js} at byte offset 25 (line 2)"
    jl = tmp_path / "latin.jsonl"
    jl.write_bytes(b'{"question": "Q?", "passage": "P."}\n{"question": "caf\xe9", "passage": "P."}\n')
    assert error_of(open_source, str(jl)) == f"invalid UTF-8 in {jl}:2 (byte offset 53)"


def test_missing_fields_name_field_and_place(tmp_path):
    jl = write_jsonl(tmp_path / "m.jsonl", [{"question": "Q?", "passage": "P."}, {"passage": "P."}])
    assert error_of(open_source, str(jl)) == f"{jl}:2: missing field 'question'"
    js = tmp_path / "m.json"
    js.write_text(json.dumps({"data": [{"title": "T", "paragraphs": [
        {"context": "C.", "qas": [{"id": "x9", "answers": []}]}]}]}), encoding="utf-8")
    assert error_of(open_source, str(js)) == f"{js}: data[0].paragraphs[0].qas[0] (id x9): missing field 'question'"
    js.write_text(json.dumps({"data": [{"title": "T", "paragraphs": [{"qas": []}]}]}), encoding="utf-8")
    assert error_of(open_source, str(js)) == f"{js}: data[0].paragraphs[0]: missing field 'context'"
    pq.write_table(pa.table({"question": ["Q?"], "text": ["P."]}), tmp_path / "m.parquet")
    assert error_of(open_source, str(tmp_path / "m.parquet")) == (
        f"{tmp_path / 'm.parquet'}: missing column 'passage' (has question, text)")
    pq.write_table(pa.table({"question": ["Q?", None], "passage": ["P.", "P."]}), tmp_path / "n.parquet")
    assert error_of(open_source, str(tmp_path / "n.parquet")) == (
        f"{tmp_path / 'n.parquet'} row 1: missing field 'question'")


def test_empty_question_or_passage_names_the_id(tmp_path):
    jl = write_jsonl(tmp_path / "e.jsonl", [{"id": "k1", "question": "  ", "passage": "P."}])
    assert error_of(open_source, str(jl)) == f"empty question in {jl}:1 (id e:k1)"
    jl = write_jsonl(tmp_path / "e.jsonl", [{"id": "k2", "question": "Q?", "context": ""}])
    assert error_of(open_source, str(jl)) == f"empty passage in {jl}:1 (id e:k2)"


def test_bad_field_types(tmp_path):
    jl = write_jsonl(tmp_path / "t.jsonl", [{"question": "Q?", "passage": "P.", "answers": 3}])
    assert "field 'answers' must be a list" in error_of(open_source, str(jl))
    jl = write_jsonl(tmp_path / "t.jsonl", [{"question": "Q?", "passage": "P.", "is_impossible": "yes"}])
    assert "field 'is_impossible' must be true or false" in error_of(open_source, str(jl))
    jl = write_jsonl(tmp_path / "t.jsonl", [{"question": ["Q?"], "passage": "P."}])
    assert error_of(open_source, str(jl)) == f"{jl}:1: field 'question' must be a string, got list"


def test_not_a_parquet_file(tmp_path):
    path = tmp_path / "fake.parquet"
    path.write_text("not parquet")
    assert error_of(open_source, str(path)).startswith(f"not a readable Parquet file: {path}")


def test_bad_arguments():
    assert "limit must be" in error_of(open_source, "sample", limit=-1)
    assert "batch_size must be" in error_of(open_source, "sample", batch_size=0)
    assert "empty source spec" in error_of(open_source, " ")
    assert "may only hold" in error_of(open_source, "sample", name="a:b")
    assert error_of(open_source, "entity_questions").startswith("entity_questions: EntityQuestions: no Hub version")


# -- Hub sources: mapping functions on rows shaped like the real datasets ----------------------

PLOT = "Rick Deckard hunts four replicants in Los Angeles. He falls for Rachael, a replicant."

HUB_ROWS = {
    "squad": [{
        "id": "5733be284776f41900661182", "title": "University_of_Notre_Dame",
        "context": "It is a replica of the grotto at Lourdes, France where the Virgin Mary "
                   "reputedly appeared to Saint Bernadette Soubirous in 1858.",
        "question": "To whom did the Virgin Mary allegedly appear in 1858 in Lourdes France?",
        "answers": {"text": ["Saint Bernadette Soubirous"], "answer_start": [93]},
    }],
    "squad_v2": [
        {"id": "56ddde6b9a695914005b9628", "title": "Normans", "context": "The Normans were in France.",
         "question": "In what country is Normandy located?",
         "answers": {"text": ["France", "France"], "answer_start": [21, 21]}},
        {"id": "5ad39d53604f3c001a3fe8d1", "title": "Normans", "context": "The Normans were in France.",
         "question": "Who gave their name to Normandy in the 1000's and 1100's", "answers": {"text": [], "answer_start": []}},
    ],
    "nq": [{"query": "the si unit of the electric field is",
            "answer": "Electric field An electric field is measured in volts per metre (V/m)."}],
    "trivia_qa": [
        {"question": "Which Lloyd Webber musical premiered in the US on 10th December 1993?",
         "question_id": "tc_33", "question_source": "http://www.triviacountry.com/",
         "entity_pages": {"doc_source": ["TagMe"], "filename": ["Andrew_Lloyd_Webber.txt"],
                          "title": ["Andrew Lloyd Webber"],
                          "wiki_context": ["Andrew Lloyd Webber is a composer.\n\nSunset Boulevard opened on "
                                           "Broadway in 1994 after its US premiere in 1993."]},
         "search_results": {"description": [], "filename": [], "rank": [], "title": [], "url": [],
                            "search_context": []},
         "answer": {"aliases": ["Sunset Blvd", "Sunset Boulevard"], "normalized_aliases": ["sunset blvd"],
                    "matched_wiki_entity_name": "", "normalized_matched_wiki_entity_name": "",
                    "normalized_value": "sunset boulevard", "type": "WikipediaEntity", "value": "Sunset Boulevard"}},
        {"question": "Unfindable?", "question_id": "tc_34", "question_source": "",
         "entity_pages": {"doc_source": ["TagMe"], "filename": ["x.txt"], "title": ["X"], "wiki_context": ["Nothing."]},
         "search_results": {"description": [], "filename": [], "rank": [], "title": [], "url": [],
                            "search_context": []},
         "answer": {"aliases": ["Y"], "normalized_aliases": ["y"], "matched_wiki_entity_name": "",
                    "normalized_matched_wiki_entity_name": "", "normalized_value": "y", "type": "", "value": "Y"}},
    ],
    "ms_marco": [
        {"answers": ["Results-Based Accountability is a disciplined way of thinking."],
         "passages": {"is_selected": [0, 1],
                      "passage_text": ["Unrelated passage.",
                                       "Results-Based Accountability is a disciplined way of thinking and acting."],
                      "url": ["http://a", "http://b"]},
         "query": "what is rba", "query_id": 19699, "query_type": "description", "wellFormedAnswers": []},
        {"answers": ["No Answer Present."],
         "passages": {"is_selected": [0], "passage_text": ["Other."], "url": ["http://c"]},
         "query": "no selection", "query_id": 19700, "query_type": "description", "wellFormedAnswers": []},
    ],
    "wiki_qa": [
        {"question_id": "Q1", "question": "how are glacier caves formed?", "document_title": "Glacier cave",
         "answer": "A partly submerged glacier cave on Perito Moreno Glacier.", "label": 0},
        {"question_id": "Q1", "question": "how are glacier caves formed?", "document_title": "Glacier cave",
         "answer": "A glacier cave is a cave formed within the ice of a glacier.", "label": 1},
    ],
    "duorc": [
        {"plot_id": "/m/03vyhn", "plot": PLOT, "title": "Blade Runner", "question_id": "b440de7d",
         "question": "Where does Deckard hunt?", "answers": ["Los Angeles"], "no_answer": False},
        {"plot_id": "/m/03vyhn", "plot": PLOT, "title": "Blade Runner", "question_id": "b440de7e",
         "question": "What is Deckard's dog called?", "answers": [], "no_answer": True},
    ],
    "newsqa": [{"context": "NEW DELHI, India (CNN) -- A high court in northern India on Friday acquitted a wealthy "
                           "businessman.", "question": "What was the businessman accused of?",
                "answers": ["wealthy businessman"], "key": "./cnn/stories/42d01e187213e86f5fe617fe32e716ff7fa3afc4.story",
                "labels": [{"start": [79], "end": [97]}]}],
    "yahoo_qa": [{"id": "3jHMXUBeMaBT", "question": "Why do cats purr?",
                  "answer": "Cats purr when content, and also to soothe themselves.", "nbestanswers": ["a", "b"],
                  "main_category": "Pets"}],
}


def test_map_squad_and_squad_v2():
    (rec,) = map_squad(HUB_ROWS["squad"][0])
    assert rec["passage"][93:119] == "Saint Bernadette Soubirous"
    assert rec["answers"] == [{"text": "Saint Bernadette Soubirous", "answer_start": 93}]
    answerable, impossible = (map_squad_v2(r)[0] for r in HUB_ROWS["squad_v2"])
    assert not answerable["is_impossible"] and len(answerable["answers"]) == 2
    assert impossible["is_impossible"] and impossible["answers"] == []


def test_map_retrieval_sets_put_the_positive_in_the_passage():
    (nq,) = map_natural_questions(HUB_ROWS["nq"][0])
    assert nq["passage"].startswith("Electric field") and nq["answers"] == [] and nq["id"] is None
    assert map_natural_questions({"question": "q?", "answer": "p."})[0]["question"] == "q?"
    (marco,) = map_ms_marco(HUB_ROWS["ms_marco"][0])
    assert marco["passage"].startswith("Results-Based") and marco["id"].startswith("19699#")
    assert marco["answers"] == [{"text": HUB_ROWS["ms_marco"][0]["answers"][0], "answer_start": -1}]
    (wiki,) = map_wiki_qa(HUB_ROWS["wiki_qa"][1])
    assert wiki["passage"].startswith("A glacier cave") and wiki["title"] == "Glacier cave"
    (yahoo,) = map_yahoo_answers_qa(HUB_ROWS["yahoo_qa"][0])
    assert yahoo["id"] == "3jHMXUBeMaBT" and yahoo["passage"].startswith("Cats purr")


def test_map_trivia_qa_finds_the_evidence_paragraph():
    (rec,) = map_trivia_qa(HUB_ROWS["trivia_qa"][0])
    assert rec["passage"].startswith("Sunset Boulevard opened") and rec["title"] == "Andrew Lloyd Webber"
    assert rec["answers"] == [{"text": "Sunset Boulevard", "answer_start": 0}] and rec["id"] == "tc_33"
    with pytest.raises(source_mod.SkipRow):
        map_trivia_qa(HUB_ROWS["trivia_qa"][1])


def test_mappers_accept_list_of_records_layout():
    marco = dict(HUB_ROWS["ms_marco"][0])
    p = marco["passages"]
    marco["passages"] = [{"is_selected": s, "passage_text": t, "url": u}
                         for s, t, u in zip(p["is_selected"], p["passage_text"], p["url"], strict=True)]
    assert map_ms_marco(marco) == map_ms_marco(HUB_ROWS["ms_marco"][0])
    trivia = dict(HUB_ROWS["trivia_qa"][0])
    pages = trivia["entity_pages"]
    trivia["entity_pages"] = [dict(zip(pages, values, strict=True)) for values in zip(*pages.values(), strict=True)]
    assert map_trivia_qa(trivia) == map_trivia_qa(HUB_ROWS["trivia_qa"][0])
    news = dict(HUB_ROWS["newsqa"][0], labels={"start": [[79]], "end": [[97]]})
    assert map_newsqa(news) == map_newsqa(HUB_ROWS["newsqa"][0])


def test_map_duorc_and_newsqa_locate_answers():
    found, none = (map_duorc(r)[0] for r in HUB_ROWS["duorc"])
    assert found["answers"] == [{"text": "Los Angeles", "answer_start": PLOT.index("Los Angeles")}]
    assert none["is_impossible"] and none["answers"] == []
    (news,) = map_newsqa(HUB_ROWS["newsqa"][0])
    assert news["answers"] == [{"text": "wealthy businessman", "answer_start": 79}] and news["id"] is None


@pytest.fixture
def fake_hub(monkeypatch):
    """``datasets.load_dataset`` answering from HUB_ROWS, recording its calls."""
    import datasets

    calls = []

    def load_dataset(path, name=None, *, split=None, streaming=False, revision=None, **kw):
        calls.append({"path": path, "name": name, "split": split, "streaming": streaming, "revision": revision})
        by_id = {HUB_SOURCES[key].hub_id: rows for key, rows in HUB_ROWS.items()}
        if path not in by_id:
            raise FileNotFoundError(f"Dataset '{path}' doesn't exist on the Hub\nor cannot be accessed.")
        return datasets.Dataset.from_list(by_id[path]).to_iterable_dataset()

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    monkeypatch.setattr(source_mod, "_resolve_revision", lambda hub_id, rev: rev or "f" * 40)
    return calls


@pytest.mark.parametrize(("name", "rows", "skipped"), [
    ("squad", 1, 0), ("squad_v2", 2, 0), ("nq", 1, 0), ("trivia_qa", 1, 1), ("ms_marco", 1, 1),
    ("wiki_qa", 1, 1), ("duorc", 2, 0), ("newsqa", 1, 0), ("yahoo_qa", 1, 0),
])
def test_hub_sources_stream_through_load_dataset(fake_hub, name, rows, skipped):
    src = open_source(name, batch_size=1)
    table = pa.Table.from_batches(list(src.batches()), schema=QA_SCHEMA)
    spec = HUB_SOURCES[name]
    assert fake_hub == [{"path": spec.hub_id, "name": spec.config, "split": "train", "streaming": True,
                         "revision": None}]
    assert table.num_rows == rows and src.stats.counts["skipped"] == skipped
    assert all(i.startswith(f"{name}:") for i in table.column("id").to_pylist())
    assert set(table.column("source").to_pylist()) == {name}
    assert_spans(table.to_pylist())
    desc = src.describe()
    assert desc["hub_id"] == spec.hub_id and desc["config"] == spec.config and desc["revision"] == "f" * 40


def test_hub_ids_are_stable_and_prefixed(fake_hub):
    squad = read_all("squad_v2").column("id").to_pylist()
    assert squad == ["squad_v2:56ddde6b9a695914005b9628", "squad_v2:5ad39d53604f3c001a3fe8d1"]
    wiki = read_all("wiki_qa").column("id").to_pylist()
    assert wiki == [f"wiki_qa:Q1#{hashlib.sha1(HUB_ROWS['wiki_qa'][1]['answer'].encode()).hexdigest()[:12]}"]
    assert read_all("nq").column("id").to_pylist() == read_all("nq", limit=1).column("id").to_pylist()


def test_hub_revision_split_and_skips(fake_hub):
    src = open_source("duorc@abc123", split="validation")
    assert src.describe()["requested_revision"] == "abc123" and src.describe()["revision"] == "abc123"
    HUB_ROWS["yahoo_qa"].append({"id": "e", "question": "", "answer": "A.", "nbestanswers": [], "main_category": ""})
    try:
        yahoo = open_source("yahoo_qa")
        assert read_all("yahoo_qa").num_rows == 1
        list(yahoo.batches())
        assert yahoo.stats.counts["skipped_empty_question"] == 1
    finally:
        HUB_ROWS["yahoo_qa"].pop()
    list(src.batches())
    assert fake_hub[-1]["split"] == "validation" and fake_hub[-1]["revision"] == "abc123"


def test_generic_hub_dataset_uses_the_file_layout(fake_hub, monkeypatch):
    rows_by_id = {"me/my-qa": [{"question": "Q?", "context": "Ctx.", "id": "r1"}]}
    import datasets

    monkeypatch.setattr(datasets, "load_dataset", lambda path, name=None, **kw:
                        datasets.Dataset.from_list(rows_by_id[path]).to_iterable_dataset())
    assert read_all("hub:me/my-qa").column("id").to_pylist() == ["my-qa:r1"]
    assert "bad Hub dataset id" in error_of(open_source, "hub:not-a-repo")


def test_hub_failures_are_one_line(fake_hub, monkeypatch):
    assert error_of(open_source, "hub:nobody/nothing") == (
        "cannot open Hub dataset nobody/nothing split 'train': "
        "FileNotFoundError: Dataset 'nobody/nothing' doesn't exist on the Hub")
    HUB_ROWS["squad"].append({"id": "x", "title": "T", "question": "Q?", "answers": {"text": [], "answer_start": []},
                              "context": None})
    try:
        message = error_of(open_source, "squad")
    finally:
        HUB_ROWS["squad"].pop()
    assert message == "squad (rajpurkar/squad (plain_text) split 'train') row 1: missing field 'passage'"
    monkeypatch.setitem(HUB_ROWS, "squad", [{"id": "x", "question": "Q?"}])
    assert error_of(open_source, "squad").endswith("row 0: missing field 'answers'")
    monkeypatch.setitem(HUB_ROWS, "squad", [{"id": "x", "question": "Q?", "context": "C.", "answers": None}])
    assert error_of(open_source, "squad").endswith(
        "row 0: unexpected row layout (TypeError: 'NoneType' object is not subscriptable)")


def test_list_sources_covers_the_registry():
    entries = {e["name"]: e for e in list_sources()}
    assert {"sample", "squad", "squad_v2", "nq", "trivia_qa", "ms_marco", "wiki_qa", "duorc",
            "duorc_paraphrase", "newsqa", "yahoo_qa", "entity_questions", "jsonl:"} <= set(entries)
    assert entries["squad_v2"]["hub_id"] == "rajpurkar/squad_v2" and entries["squad_v2"]["verified"]
    assert entries["entity_questions"]["kind"] == "unavailable" and not entries["yahoo_qa"]["verified"]
    assert all(e["description"] for e in entries.values())


def test_docs_examples_run_and_print_what_they_say(capsys):
    import re

    text = (Path(__file__).resolve().parents[2] / "docs" / "source.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) == 2
    for block in blocks:
        expected = []
        for line in block.splitlines():
            if "print(" in line and "#" in line:
                expected.append(line.split("# ", 1)[1].strip())
            elif line.startswith("# "):
                expected.append(re.sub(r"\s{2,}\(.*\)$", "", line[2:]).strip())
        exec(compile(block, "docs/source.md", "exec"), {})
        assert capsys.readouterr().out.splitlines() == expected
