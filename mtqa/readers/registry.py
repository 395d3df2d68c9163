"""The registered Hub datasets (``HUB_SOURCES``) and their row mappers.

One mapping function per dataset, from its row layout to QA records (``map_squad``,
``map_ms_marco``, ...; each docstring names the columns it reads). The ids and column layouts
come from the dataset cards and public code that uses them (docs/source.md says which were
checked); the tests run every mapper on in-memory rows of that shape.
"""

from __future__ import annotations

from typing import Any

from mtqa.readers.hub import HubDataset
from mtqa.readers.normalize import (
    SKIP_ANSWER_NOT_FOUND,
    SKIP_NO_SELECTED_PASSAGE,
    SKIP_NOT_POSITIVE,
    SkipRow,
    answer_spans,
    short_hash,
)

__all__ = [
    "HUB_SOURCES",
    "map_duorc",
    "map_ms_marco",
    "map_natural_questions",
    "map_newsqa",
    "map_squad",
    "map_squad_v2",
    "map_trivia_qa",
    "map_wiki_qa",
    "map_yahoo_answers_qa",
]


def _qa(original_id: Any, title: Any, question: str, passage: str, answers: list[dict],
        impossible: bool = False) -> dict:
    return {"id": original_id, "title": title, "question": question, "passage": passage,
            "answers": answers, "is_impossible": impossible}


def _as_columns(value: Any, keys: tuple[str, ...]) -> dict[str, list]:
    """A sequence of records from a Hub row as columns: ``datasets`` gives a dict of lists for
    legacy ``Sequence`` features and a list of dicts for ``List`` features."""
    if isinstance(value, dict):
        return {k: list(value.get(k) or []) for k in keys}
    records = list(value or [])
    return {k: [r.get(k) for r in records] for k in keys}


def map_squad(row: dict) -> list[dict]:
    """``rajpurkar/squad``: id, title, context, question, answers {text[], answer_start[]}."""
    a = row["answers"]
    return [_qa(row["id"], row.get("title"), row["question"], row["context"],
                answer_spans(row["context"], a["text"], a["answer_start"]))]


def map_squad_v2(row: dict) -> list[dict]:
    """``rajpurkar/squad_v2``: as SQuAD; a question with no answers is unanswerable."""
    (rec,) = map_squad(row)
    rec["is_impossible"] = not rec["answers"]
    return [rec]


def map_natural_questions(row: dict) -> list[dict]:
    """``sentence-transformers/natural-questions``: query (the card also says question) and
    answer, a Wikipedia paragraph (title first) that answers it; no span, no id."""
    question = row["query"] if "query" in row else row["question"]
    return [_qa(None, None, question, row["answer"], [])]


def map_trivia_qa(row: dict) -> list[dict]:
    """``mandarjoshi/trivia_qa`` (rc.wikipedia): the passage is the first paragraph of the
    question's Wikipedia evidence pages that contains the answer or one of its aliases."""
    answer = row["answer"] or {}
    names = [answer.get("value") or ""] + list(answer.get("aliases") or [])
    names = [n for n in dict.fromkeys(names) if n and n.strip()]
    pages = _as_columns(row["entity_pages"], ("title", "wiki_context"))
    for title, context in zip(pages["title"], pages["wiki_context"], strict=False):
        for para in (context or "").split("\n"):
            para = para.strip()
            for name in names:
                start = para.find(name)
                if start >= 0:
                    return [_qa(row["question_id"], title, row["question"], para,
                                [{"text": name, "answer_start": start}])]
    raise SkipRow(SKIP_ANSWER_NOT_FOUND)


def map_ms_marco(row: dict) -> list[dict]:
    """``microsoft/ms_marco``: one row per selected passage (``is_selected == 1``); its
    free-text answers are kept, located in the passage where they occur (else -1)."""
    passages = _as_columns(row["passages"], ("is_selected", "passage_text"))
    texts = [a for a in row.get("answers") or [] if a and a != "No Answer Present."]
    out = [
        _qa(f"{row['query_id']}#{short_hash(text)}", None, row["query"], text, answer_spans(text, texts))
        for selected, text in zip(passages["is_selected"], passages["passage_text"], strict=False)
        if selected == 1
    ]
    if not out:
        raise SkipRow(SKIP_NO_SELECTED_PASSAGE)
    return out


def map_wiki_qa(row: dict) -> list[dict]:
    """``microsoft/wiki_qa``: one row per candidate sentence; positives (label 1) become the
    passage, negatives are skipped. A question may have several positives, hence the hash."""
    if int(row["label"]) != 1:
        raise SkipRow(SKIP_NOT_POSITIVE)
    return [_qa(f"{row['question_id']}#{short_hash(row['answer'])}", row.get("document_title"),
                row["question"], row["answer"], [])]


def map_duorc(row: dict) -> list[dict]:
    """``ibm/duorc``: the movie plot is the passage; answers are free text (located if
    verbatim); ``no_answer`` rows are flagged unanswerable."""
    impossible = bool(row.get("no_answer"))
    answers = [] if impossible else answer_spans(row["plot"], list(row["answers"] or []))
    return [_qa(row["question_id"], row.get("title"), row["question"], row["plot"], answers, impossible)]


def map_newsqa(row: dict) -> list[dict]:
    """``lucadiliello/newsqa``: context, question, answers [str], labels [{start[], end[]}],
    key. ``key`` names the article, not the question, so the id is the content hash."""
    starts = [(s or [None])[0] for s in _as_columns(row.get("labels"), ("start",))["start"]]
    answers = answer_spans(row["context"], list(row["answers"] or []), starts)
    return [_qa(None, None, row["question"], row["context"], answers, not answers)]


def map_yahoo_answers_qa(row: dict) -> list[dict]:
    """``yahoo_answers_qa``: id, question, answer (the best answer, used as the passage),
    nbestanswers, main_category."""
    return [_qa(row["id"], None, row["question"], row["answer"], [])]


HUB_SOURCES: dict[str, HubDataset] = {
    d.name: d
    for d in [
        HubDataset("squad", "rajpurkar/squad", "plain_text", "train", map_squad, True,
                   "SQuAD v1.1: Wikipedia paragraphs, extractive answers"),
        HubDataset("squad_v2", "rajpurkar/squad_v2", "squad_v2", "train", map_squad_v2, True,
                   "SQuAD v2.0: SQuAD v1.1 plus unanswerable questions (flagged)"),
        HubDataset("nq", "sentence-transformers/natural-questions", "pair", "train",
                   map_natural_questions, True,
                   "Natural Questions: Google queries with the Wikipedia paragraph answering them"),
        HubDataset("trivia_qa", "mandarjoshi/trivia_qa", "rc.wikipedia", "train", map_trivia_qa, True,
                   "TriviaQA: trivia questions; the evidence paragraph holding the answer"),
        HubDataset("ms_marco", "microsoft/ms_marco", "v2.1", "train", map_ms_marco, True,
                   "MS MARCO QA: Bing queries with their selected web passages"),
        HubDataset("wiki_qa", "microsoft/wiki_qa", None, "train", map_wiki_qa, True,
                   "WikiQA: Bing queries with the Wikipedia sentences that answer them"),
        HubDataset("duorc", "ibm/duorc", "SelfRC", "train", map_duorc, True,
                   "DuoRC SelfRC: questions on a movie plot (Wikipedia)"),
        HubDataset("duorc_paraphrase", "ibm/duorc", "ParaphraseRC", "train", map_duorc, True,
                   "DuoRC ParaphraseRC: questions asked on one version of a plot, answered from the other"),
        HubDataset("newsqa", "lucadiliello/newsqa", None, "train", map_newsqa, True,
                   "NewsQA: questions on CNN articles, extractive answers"),
        HubDataset("yahoo_qa", "community-datasets/yahoo_answers_qa", None, "train",
                   map_yahoo_answers_qa, False,
                   "Yahoo Answers (non-factoid): the best answer is the passage"),
        HubDataset("entity_questions", None, None, "train", None, False,
                   "EntityQuestions: no Hub version with passages (questions and answers only)"),
    ]
}
