"""Assemble: put translated segments back together into long-format rows.

For every QA row the output has one row per language, the source language first and then
the target languages in the configured order. Passages are rebuilt from their translated
sentences with the original whitespace; each answer is translated on its own and located
in the translated passage (``answer_start`` is -1 when the translation of the answer does
not occur verbatim in the translated passage: the quality filter decides what to do then).
"""

from __future__ import annotations

from collections import defaultdict

import pyarrow as pa

from mtqa.pipeline import stats as S
from mtqa.schema import OUTPUT_SCHEMA, passage_id
from mtqa.pipeline.step import Chunk, Step


class AssembleStep(Step):
    name = "assemble"

    def __init__(self, langs: list[str], source_lang: str = "en") -> None:
        super().__init__()
        self.source_lang = source_lang
        self.target_langs = [lang for lang in langs if lang != source_lang]

    def process(self, chunk: Chunk) -> Chunk:
        qa = chunk.qa.to_pydict()
        seg = chunk.segments.to_pydict()
        # (row, field, part) -> [(uid, lead, sep)] in segment order; the segment stage
        # emits segments in order, so appending keeps it.
        fields: dict[tuple[int, str, int], list[tuple[int, str, str]]] = defaultdict(list)
        for row, field, part, uid, lead, sep in zip(
            seg["row"], seg["field"], seg["part"], seg["uid"], seg["lead"], seg["sep"]
        ):
            fields[(row, field, part)].append((uid, lead, sep))

        def rebuild(key: tuple[int, str, int], translated: list[str]) -> str:
            pieces = fields.get(key, ())
            return "".join(lead + translated[uid] + sep for uid, lead, sep in pieces)

        out: dict[str, list] = {name: [] for name in OUTPUT_SCHEMA.names}
        # The filter's passage language ID judges a passage by its translated sentences.
        passage_sentences: list[list[str] | None] = []
        for row in range(chunk.qa.num_rows):
            pid = passage_id(qa["source"][row], qa["passage"][row])
            for lang in [self.source_lang, *self.target_langs]:
                if lang == self.source_lang:
                    question, passage, answers = qa["question"][row], qa["passage"][row], qa["answers"][row]
                    passage_sentences.append(None)
                else:
                    translated = chunk.translations[lang]
                    passage_sentences.append([translated[uid] for uid, _, _ in fields.get((row, "passage", 0), ())])
                    question = rebuild((row, "question", 0), translated)
                    passage = rebuild((row, "passage", 0), translated)
                    answers = []
                    for part in range(len(qa["answers"][row] or [])):
                        text = rebuild((row, "answer", part), translated)
                        answers.append({"text": text, "answer_start": passage.find(text) if text else -1})
                out["id"].append(qa["id"][row])
                out["lang"].append(lang)
                out["source"].append(qa["source"][row])
                out["split"].append(qa["split"][row])
                out["title"].append(qa["title"][row])
                out["question"].append(question)
                out["passage"].append(passage)
                out["answers"].append(answers)
                out["is_impossible"].append(qa["is_impossible"][row])
                out["passage_id"].append(pid)
        chunk.output = pa.table(out, schema=OUTPUT_SCHEMA)
        chunk.passage_sentences = passage_sentences
        self.stats.add(S.ROWS_IN, chunk.qa.num_rows)
        self.stats.add(S.ROWS_OUT, chunk.output.num_rows)
        return chunk
