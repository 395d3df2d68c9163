"""Arrow schemas shared by the stages.

``QA_SCHEMA`` is what every source yields: one English question with its passage.
``OUTPUT_SCHEMA`` is what the writer emits: one row per (id, lang), English included.
"""

import hashlib

import pyarrow as pa

ANSWER_TYPE = pa.struct([("text", pa.string()), ("answer_start", pa.int32())])

QA_SCHEMA = pa.schema(
    [
        ("id", pa.string()),  # source-prefixed and stable, e.g. "squad_v2:56ddde6b9a695914005b9628"
        ("source", pa.string()),
        ("split", pa.string()),
        ("title", pa.string()),
        ("question", pa.string()),
        ("passage", pa.string()),
        ("answers", pa.list_(ANSWER_TYPE)),  # may be empty; answer_start is a char offset or -1
        ("is_impossible", pa.bool_()),  # SQuAD 2.0 unanswerable questions are kept and flagged
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
    ]
)


def passage_id(source: str, passage: str) -> str:
    """A stable id for an English passage within a source."""
    return f"{source}:{hashlib.sha1(passage.encode('utf-8')).hexdigest()[:16]}"
