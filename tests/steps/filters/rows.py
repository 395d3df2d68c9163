"""Rows and a cached quality filter shared by the filter tests."""

from __future__ import annotations

import pyarrow as pa

from mtqa.lid import LidConfig
from mtqa.schema import OUTPUT_SCHEMA
from mtqa.steps.filters import FilterConfig, QualityFilter
from mtqa.steps.segment import SentenceSplitter, Splitter

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
_SPLITTER = SentenceSplitter(Splitter.PYSBD)


def out_rows(rows: list[dict]) -> pa.Table:
    base = {"id": "i", "source": "s", "split": "dev", "title": "", "answers": [], "is_impossible": False, "passage_id": "p"}
    return pa.Table.from_pylist([{**base, **r} for r in rows], schema=OUTPUT_SCHEMA)


def sentences_of(passage: str) -> list[str]:
    """A passage's sentences as the segment step splits them (in a build the filter gets the
    translations of the source's sentences; here the translation is split directly)."""
    return [text for text, _ in _SPLITTER.split(passage)[1]]


def quality(config: FilterConfig = CONFIG, langs: tuple[str, ...] = ("de", "es")) -> QualityFilter:
    """One filter per config: the language-ID model loads once, which keeps the tests fast."""
    key = repr((config, langs))
    if key not in _FILTERS:
        _FILTERS[key] = QualityFilter(config, langs)
    return _FILTERS[key]


def judge(translations: list[dict], config: FilterConfig = CONFIG, source: dict | None = None,
          split: bool = True) -> list[dict]:
    """The English row (id i) plus translated rows, scored; returns the translated rows.
    ``split``: give the passage LID each translated passage's sentences (as a build does)."""
    en = {"lang": "en", "question": EN_Q, "passage": EN_P, **(source or {})}
    table = out_rows([en, *translations])
    sentences = [None, *(sentences_of(t["passage"]) for t in translations)] if split else None
    rows = quality(config).evaluate(table, sentences).to_pylist()
    assert rows[0]["keep"] is True and rows[0]["filter_reasons"] == [] and rows[0]["lid_question"] is None
    return rows[1:]
