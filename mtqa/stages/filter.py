"""Filter: drop (or, later, flag) output rows that failed a check.

The template follows datatrove's filters: a check only says, column-wise, why each row
fails; :class:`FilterStage` applies the checks in order, counts
the dropped rows per reason and per language, and keeps the rest. The source-language rows
are never dropped by a translation check.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from mtqa import stats as S
from mtqa.stages.base import Chunk, PipelineStage


class RowCheck(ABC):
    """One quality check: a reason name and a column-wise predicate."""

    reason: str

    @abstractmethod
    def failures(self, table: pa.Table) -> pa.BooleanArray:
        """True where the row fails this check."""


class EmptyTranslationCheck(RowCheck):
    """The translated question or passage is empty or only whitespace."""

    reason = "empty"

    def failures(self, table: pa.Table) -> pa.BooleanArray:
        def empty(column: str):
            return pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(table.column(column))), 0)

        return pc.or_(empty("question"), empty("passage"))


@dataclass
class FilterConfig:
    drop_empty: bool = True


class FilterStage(PipelineStage):
    name = "filter"

    def __init__(self, config: FilterConfig | None = None, source_lang: str = "en") -> None:
        super().__init__()
        self.config = config or FilterConfig()
        self.source_lang = source_lang
        self.checks: list[RowCheck] = [EmptyTranslationCheck()] if self.config.drop_empty else []

    def process(self, chunk: Chunk) -> Chunk:
        table = chunk.output
        self.stats.add(S.ROWS_IN, table.num_rows)
        translated = pc.not_equal(table.column("lang"), self.source_lang)
        drop = pa.array([False] * table.num_rows)
        for check in self.checks:
            failed = pc.and_(pc.and_(check.failures(table), translated), pc.invert(drop))
            n_failed = pc.sum(failed).as_py() or 0
            if n_failed:
                self.stats.add(f"dropped_{check.reason}", n_failed)
                langs = pc.filter(table.column("lang"), failed).to_pylist()
                for lang in sorted(set(langs)):
                    self.stats.add(f"dropped_{check.reason}:{lang}", langs.count(lang))
            drop = pc.or_(drop, failed)
        chunk.output = table.filter(pc.invert(drop))
        self.stats.add(S.ROWS_OUT, chunk.output.num_rows)
        return chunk
