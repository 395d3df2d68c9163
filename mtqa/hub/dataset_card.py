"""The dataset card: ``DatasetCardData`` metadata and the Markdown body rendered from the
template (``mtqa/hub/templates/dataset_card.md``; ``data_cards/template.md`` links to it).

:func:`dataset_card_data` fills the Hub metadata from :class:`~mtqa.hub.provenance.DatasetFacts`
and the exported configs; :func:`render_dataset_card` renders the body with Jinja2 (undefined
names are errors, so a template typo fails a test instead of printing nothing) and returns a
``huggingface_hub.DatasetCard``.
"""

from __future__ import annotations

import keyword
import re
from importlib import resources

from mtqa.hub.export import PARALLEL, REJECTED, ConfigExport, DatasetExport
from mtqa.hub.provenance import DatasetFacts
from mtqa.hub.validate import hub_language

TEMPLATE = "dataset_card.md"
TASK_CATEGORIES = ["question-answering", "text-retrieval"]
TAGS = ["mtqa", "parallel-corpus", "multilingual-retrieval", "cross-lingual-retrieval"]

#: What each column of a language config holds (mtqa.schema.SHARD_SCHEMA, and issue 11's origin).
COLUMN_MEANINGS = {
    "id": "the question's id, source-prefixed (`squad_v2:56ddde6b…`); the same in every language",
    "lang": "the row's language",
    "source": "the source the question comes from (see Sources)",
    "split": "the split, as in the source",
    "title": "the article title (the source's, untranslated)",
    "question": "the question in this language",
    "passage": "the passage in this language",
    "answers": "`{text, answer_start}` spans in this language's passage (`passage[answer_start:][:len(text)] == "
               "text`); `answer_start` = -1 where no span was projected",
    "is_impossible": "an unanswerable question (SQuAD 2.0)",
    "passage_id": "identifies the source passage across languages and questions",
    "origin": "`source`, `human` (a human translation) or `mt` (machine-translated)",
    "keep": "passed every filter check (source rows: always true)",
    "filter_reasons": "the checks the row failed, sorted; empty when kept",
    "lid_question": "the language identified for the question (null: not identified)",
    "lid_question_prob": "its probability over the candidate languages",
    "lid_passage_share": "share of the passage's characters in sentences identified as the row's language",
    "question_length_ratio": "question characters, target ÷ source (null when the source is short)",
    "passage_length_ratio": "the same for the passage",
    "repetition": "the most times one n-gram repeats back to back (1 = none)",
    "copy_similarity": "similarity to the source text (1.0: copied through)",
}


def _num(value) -> str:
    return "–" if value is None else f"{value:,}"


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "–"


def _rate(value) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _pyname(name: str) -> str:
    ident = re.sub(r"\W", "_", name)
    return f"{ident}_" if keyword.iskeyword(ident) or not ident.isidentifier() else ident


def _config_what(c: ConfigExport, facts: DatasetFacts) -> str:
    if c.kind == "parallel":
        return "one row per id, every language side by side"
    if c.kind == "rejected":
        return "rows the filter failed, with their reasons and scores"
    return "the source language" if c.name == facts.source_lang else f"{c.name}, one row per question"


def dataset_card_data(facts: DatasetFacts, export: DatasetExport):
    """The card's YAML metadata."""
    from huggingface_hub import DatasetCardData

    configs = []
    for c in export.configs:
        entry = {"config_name": c.name, "data_files": c.data_files()}
        if c.name == PARALLEL:
            entry["default"] = True
        configs.append(entry)
    languages = [lang for lang in facts.langs if hub_language(lang)]
    return DatasetCardData(
        language=languages,
        license=facts.licenses[0] if len(facts.licenses) == 1 else list(facts.licenses),
        annotations_creators=list(facts.annotations_creators),
        language_creators=list(facts.language_creators),
        multilinguality="translation",
        size_categories=[facts.size_category],
        source_datasets=list(facts.source_datasets) or ["original"],
        task_categories=list(TASK_CATEGORIES),
        pretty_name=facts.pretty_name,
        tags=TAGS + [tag for origin, tag in (("mt", "machine-translated"), ("human", "human-translated"))
                     if origin in facts.origins_present],
        configs=configs,
    )


def _environment():
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True, autoescape=False)
    env.filters.update(num=_num, share=_share, rate=_rate, pyname=_pyname,
                       code=lambda v: f"`{v}`", code_or_dash=lambda v: f"`{v}`" if v else "–")
    return env


def template_text() -> str:
    return resources.files("mtqa.hub").joinpath("templates").joinpath(TEMPLATE).read_text(encoding="utf-8")


def render_dataset_card(facts: DatasetFacts, export: DatasetExport):
    """The ``huggingface_hub.DatasetCard`` of a build."""
    from huggingface_hub import DatasetCard

    data = dataset_card_data(facts, export)
    language_configs = [c for c in export.configs if c.kind == "language"]
    split_names = list(dict.fromkeys(s.name for c in export.configs for s in c.splits))
    first = language_configs[0] if language_configs else export.configs[0]
    columns = [(name, COLUMN_MEANINGS.get(name, "")) for name in first.columns]
    parallel = export.config(PARALLEL)
    lang0 = facts.langs[0]
    parallel_per_lang = [name.removesuffix(f"_{lang0}") + "_L" for name in parallel.columns
                         if name.endswith(f"_{lang0}")]
    origin_totals = {o: sum(r.origins.get(o, 0) for r in facts.rows) for o in facts.origins_present}
    titles = list(dict.fromkeys(s.title or f"`{s.name}`" for s in facts.sources))
    text = _environment().from_string(template_text()).render(
        card_data=data.to_yaml(),
        f=facts,
        configs=list(export.configs),
        config_what={c.name: _config_what(c, facts) for c in export.configs},
        split_names=split_names,
        columns=columns,
        parallel_per_lang=parallel_per_lang,
        origin_totals=origin_totals,
        rejected_total=sum(r.rejected for r in facts.rows),
        ids_missing_total=sum(r.ids_missing or 0 for r in facts.rows),
        has_rejected=any(c.name == REJECTED for c in export.configs),
        source_titles=", ".join(titles),
        total_seconds=facts.steps_seconds,
        total_rate=facts.rows_per_second,
    )
    text = re.sub(r"\n{3,}", "\n\n", text.lstrip())
    return DatasetCard(text)
