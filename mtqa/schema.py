"""Arrow schemas shared by the stages.

``QA_SCHEMA`` is what every source yields: one English question with its passage, and the
source's own translations of it (``parallel``, empty for a source that has none).
``OUTPUT_SCHEMA`` is what assemble gives: one row per (id, lang), English included, each with
its :class:`Origin`.
``FILTER_FIELDS`` are the columns the quality filter adds (docs/filter.md), and
``SHARD_SCHEMA`` (``OUTPUT_SCHEMA`` + ``FILTER_FIELDS``) is what the writer emits to
``OUT/data/`` and ``OUT/rejected/``. Readers that need only the QA columns select them.
"""

import hashlib
from enum import Enum

import pyarrow as pa

ANSWER_TYPE = pa.struct([("text", pa.string()), ("answer_start", pa.int32())])


class Origin(str, Enum):
    """Where a row's text comes from (the ``origin`` column)."""

    SOURCE = "source"  # the source-language row as the source gave it
    HUMAN = "human"  # a translation the source gave (XQuAD, MLQA, a translated SQuAD)
    MT = "mt"  # machine-translated by the build


#: One translation a parallel source gives of a QA row. Its answer spans are as the source
#: wrote them, unchecked: assemble checks each against its passage (docs/parallel.md).
#: ``origin`` is "human", or "mt" for rows read back from a build that machine-translated them.
PARALLEL_TYPE = pa.struct(
    [
        ("lang", pa.string()),
        ("origin", pa.string()),
        ("title", pa.string()),
        ("question", pa.string()),
        ("passage", pa.string()),
        ("answers", pa.list_(ANSWER_TYPE)),
    ]
)

QA_SCHEMA = pa.schema(
    [
        ("id", pa.string()),  # source-prefixed and stable, e.g. "squad_v2:56ddde6b9a695914005b9628"
        ("source", pa.string()),
        ("split", pa.string()),
        ("title", pa.string()),
        ("question", pa.string()),
        ("passage", pa.string()),
        ("answers", pa.list_(ANSWER_TYPE)),  # may be empty; answer_start is a char offset or -1
        # SQuAD 2.0 unanswerable questions are kept and flagged; null: unknown (a file without
        # answers, such as the official SQuAD test set)
        ("is_impossible", pa.bool_()),
        ("parallel", pa.list_(PARALLEL_TYPE)),  # the source's translations of this row; null: none
    ]
)

OUTPUT_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("lang", pa.string()),
        ("source", pa.string()),
        ("split", pa.string()),
        ("title", pa.string()),
        ("question", pa.string()),
        ("passage", pa.string()),
        ("answers", pa.list_(ANSWER_TYPE)),
        ("is_impossible", pa.bool_()),
        # Identifies the English passage across languages and questions, so a sampler can keep
        # one passage (in any language) from appearing twice in a batch.
        ("passage_id", pa.string()),
        # An Origin value: "source", "human" (given by the source, kept with its own answer
        # spans) or "mt" (machine-translated here). Lets a user train or evaluate on human
        # translations only, and the filter treat the two kinds differently.
        ("origin", pa.string()),
    ]
)

FILTER_FIELDS = [
    pa.field("keep", pa.bool_()),  # False: failed a check (written only in "flag" mode, or under rejected/)
    pa.field("filter_reasons", pa.list_(pa.string())),  # the checks it failed, sorted; empty when kept
    pa.field("lid_question", pa.string()),  # identified language of the question
    pa.field("lid_question_prob", pa.float32()),
    pa.field("lid_passage_share", pa.float32()),  # share of the passage's characters in target-language sentences
    pa.field("question_length_ratio", pa.float32()),  # characters, target / source
    pa.field("passage_length_ratio", pa.float32()),
    pa.field("repetition", pa.float32()),  # most back-to-back repeats of one n-gram
    pa.field("copy_similarity", pa.float32()),  # character-trigram similarity to the source
]

SHARD_SCHEMA = pa.schema(list(OUTPUT_SCHEMA) + FILTER_FIELDS)


def with_filter_columns(table: pa.Table) -> pa.Table:
    """``table`` in ``SHARD_SCHEMA``: filter columns (and an ``origin``) it lacks are added as nulls."""
    for f in [OUTPUT_SCHEMA.field("origin"), *FILTER_FIELDS]:
        if f.name not in table.column_names:
            table = table.append_column(f, pa.nulls(table.num_rows, f.type))
    return table.select(SHARD_SCHEMA.names).cast(SHARD_SCHEMA)


def passage_id(source: str, passage: str) -> str:
    """A stable id for an English passage within a source."""
    return f"{source}:{hashlib.sha1(passage.encode('utf-8')).hexdigest()[:16]}"
