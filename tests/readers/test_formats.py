"""TyDi QA is read; MKQA and NQ-open are refused for a build, by name, and read as queries.

MKQA and TyDi QA are not in ../shared/data: the rows below are written in the shape of their
public formats (MKQA: github.com/apple/ml-mkqa, mkqa.jsonl.gz; TyDi QA primary task:
github.com/google-research-datasets/tydiqa, tydiqa-v1.0-dev.jsonl.gz).
"""

import gzip
import json

import pytest

from mtqa.readers import open_source
from mtqa.readers.formats import read_parallel_queries
from tests.readers.helpers import error_of, read_all, write_jsonl

DOC = "Café Müller\n\nDas Café Müller ist ein Tanzstück. Es wurde 1978 in Wuppertal uraufgeführt.\n\nZweiter Absatz."


def span(text: str, part: str, start_char: int = 0) -> dict:
    """Byte offsets of ``part`` in ``text`` (from ``start_char``), as TyDi QA gives them."""
    begin = text.index(part, start_char)
    b = len(text[:begin].encode())
    return {"plaintext_start_byte": b, "plaintext_end_byte": b + len(part.encode())}


def tydi_row(example_id, language, question, candidate, minimal, doc=DOC):
    candidates = [span(doc, "Café Müller"), span(doc, "Das Café Müller ist ein Tanzstück. Es wurde 1978 in Wuppertal "
                                                  "uraufgeführt."), span(doc, "Zweiter Absatz.")]
    none = {"plaintext_start_byte": -1, "plaintext_end_byte": -1}
    annotations = [{"annotation_id": 1, "passage_answer": {"candidate_index": candidate},
                    "minimal_answer": span(doc, minimal, 20) if minimal else none, "yes_no_answer": "NONE"}]
    return {"example_id": example_id, "language": language, "question_text": question, "document_title": "Café Müller",
            "document_url": "https://de.wikipedia.org/wiki/Caf%C3%A9_M%C3%BCller", "document_plaintext": doc,
            "passage_answer_candidates": candidates, "annotations": annotations}


def test_tydi_passages_and_answers_come_from_byte_offsets(tmp_path):
    path = tmp_path / "tydiqa-v1.0-dev.jsonl.gz"
    rows = [tydi_row(11, "english", "Where was it first performed?", 1, "Wuppertal"),
            tydi_row(12, "english", "What is it?", 1, None),  # a passage, no minimal answer
            tydi_row(13, "english", "Who wrote it?", -1, None),  # no passage answer: skipped
            tydi_row(14, "german", "Wo wurde es uraufgeführt?", 1, "Wuppertal")]  # not the source language
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    src = open_source(str(path))
    assert src.what().startswith("TyDi QA JSONL file") and src.split == "dev"
    got = read_all(str(path)).to_pylist()
    passage = "Das Café Müller ist ein Tanzstück. Es wurde 1978 in Wuppertal uraufgeführt."
    assert [(r["id"], r["title"], r["passage"], r["answers"], r["is_impossible"]) for r in got] == [
        ("tydiqa_v1_0_dev:11", "Café Müller", passage, [{"text": "Wuppertal", "answer_start": 52}], False),
        ("tydiqa_v1_0_dev:12", "Café Müller", passage, [], False)]
    assert passage[52:61] == "Wuppertal"  # 55 bytes in: "é" and "ü" take two each
    src = open_source(f"tydiqa:{path}")
    list(src.batches())
    assert src.stats.counts["skipped_no_passage_answer"] == 1 and src.stats.counts["skipped_other_language"] == 1


def test_tydi_offsets_that_cut_a_character_are_one_line(tmp_path):
    row = tydi_row(1, "english", "Q?", 0, None)
    row["passage_answer_candidates"][0] = {"plaintext_start_byte": 0, "plaintext_end_byte": 4}  # inside "é"
    path = write_jsonl(tmp_path / "t.jsonl", [row])
    assert "the byte offsets of the passage cut a UTF-8 character" in error_of(read_all, str(path))


MKQA = [{"example_id": 563260143484355911, "query": "who sings i hear you knocking",
         "queries": {"en": "who sings i hear you knocking", "de": "wer singt i hear you knocking"},
         "answers": {"en": [{"type": "entity", "entity": "Q545186", "text": "Dave Edmunds", "aliases": ["Edmunds"]}],
                     "de": [{"type": "entity", "entity": "Q545186", "text": "Dave Edmunds", "aliases": []}]}}]


def test_mkqa_is_refused_naming_its_fields_and_read_as_parallel_queries(tmp_path):
    path = write_jsonl(tmp_path / "mkqa.jsonl", MKQA)
    message = error_of(open_source, str(path))
    assert "MKQA has questions and answers in 2 languages but no passages (fields: answers, example_id, " \
           "queries, query)" in message
    table = read_parallel_queries(path)
    assert table.to_pylist() == [
        {"id": "mkqa:563260143484355911", "lang": "de", "question": "wer singt i hear you knocking",
         "answers": ["Dave Edmunds"]},
        {"id": "mkqa:563260143484355911", "lang": "en", "question": "who sings i hear you knocking",
         "answers": ["Dave Edmunds", "Edmunds"]}]


def test_a_jsonl_file_without_passages_names_its_fields(tmp_path):
    path = write_jsonl(tmp_path / "q.jsonl", [{"question": "Q?", "text": "no passage here"}])
    assert error_of(open_source, str(path)).endswith(
        "q.jsonl:1: no passage ('passage' or 'context') in the first row (fields: question, text), and a build "
        "needs the passage of every question")


def test_nq_open_real_reads_as_queries(shared_data):
    table = read_parallel_queries(shared_data / "nq-open" / "NQ-open.dev.jsonl")
    assert table.num_rows == 3610 and set(table.column("lang").to_pylist()) == {"en"}
    first = table.slice(0, 1).to_pylist()[0]
    assert first["question"] == "when was the last time anyone was on the moon"
    assert first["answers"] == ["14 December 1972 UTC", "December 1972"]
    assert len(set(table.column("id").to_pylist())) == 3610


@pytest.mark.parametrize("line", [[1, 2], {"nothing": 1}])
def test_read_parallel_queries_refuses_other_layouts(tmp_path, line):
    path = write_jsonl(tmp_path / "x.jsonl", [line])
    assert "neither MKQA (queries, answers) nor NQ-open (question, answer)" in error_of(read_parallel_queries, path)
