"""The Hub mappers on rows shaped like the real datasets."""

from __future__ import annotations

import pytest

from mtqa.readers import SkipRow
from mtqa.readers.registry import (
    map_duorc,
    map_ms_marco,
    map_natural_questions,
    map_newsqa,
    map_squad,
    map_squad_v2,
    map_trivia_qa,
    map_wiki_qa,
    map_yahoo_answers_qa,
)
from tests.readers.hub_rows import HUB_ROWS, PLOT


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
    with pytest.raises(SkipRow):
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
