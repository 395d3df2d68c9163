"""The filter step of a build: :class:`FilterStep`."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mtqa.pipeline import stats as S
from mtqa.pipeline.step import Chunk, Step
from mtqa.steps.filters.config import FilterConfig, FilterMode
from mtqa.schema import Origin
from mtqa.steps.filters.quality import QualityFilter

#: Failed rows passed on to ``OUT/data/`` with ``keep`` false (flag mode, or human rows).
FLAGGED = "flagged"

log = logging.getLogger(__name__)


class FilterStep(Step):
    """Judges each chunk's rows with :class:`QualityFilter`, counts what it found, and keeps
    or sets aside the rows that failed.

    Needs ``chunk.output`` (assemble's rows) and uses ``chunk.passage_sentences`` for the
    passage language ID and ``chunk.row_flags`` (assemble's own reasons, e.g. ``answer_span``).
    Gives ``chunk.output`` with the ``FILTER_FIELDS`` columns; in mode ``drop`` only the kept
    rows, the failed ones in ``chunk.rejected`` (the writer puts them under ``OUT/rejected/``);
    in mode ``flag`` every row. Failed rows the source translated (``origin`` human) follow
    ``human_mode`` instead: by default they stay in ``OUT/data/``, flagged (``keep`` false).

    Counts (``mtqa.pipeline.stats``): in total ``rows_in``, ``rows_out`` (rows passed on to
    ``OUT/data/``), ``kept``, ``failed`` (rows failing at least one check), ``flagged``
    (failed rows passed on to ``OUT/data/``) and ``failed_{reason}``; per language ``rows``,
    ``kept``, ``flagged`` and ``failed_{reason}``. A row failing two checks counts under both
    reasons.
    """

    name = "filter"

    def __init__(self, config: FilterConfig | None = None, source_lang: str = "en", langs: Sequence[str] = ()):
        super().__init__()
        self.config = config or FilterConfig()
        self.source_lang = source_lang
        self.quality = QualityFilter(self.config, langs, source_lang)

    def process(self, chunk: Chunk) -> Chunk:
        start = time.perf_counter()
        table = self.quality.evaluate(chunk.output, chunk.passage_sentences, chunk.row_flags)
        langs = table.column("lang").to_pylist()
        keep = np.asarray(table.column("keep").to_numpy(zero_copy_only=False), dtype=bool)
        kept = int(keep.sum())
        if "origin" in table.column_names:
            human = np.asarray(pc.fill_null(pc.equal(table.column("origin"), Origin.HUMAN.value), False)
                               .to_numpy(zero_copy_only=False), dtype=bool)
        else:
            human = np.zeros(table.num_rows, dtype=bool)
        passed_on = keep.copy()
        if self.config.mode == FilterMode.FLAG:
            passed_on[:] = True
        if self.config.human_mode == FilterMode.FLAG:
            passed_on |= human
        self.stats.add(S.ROWS_IN, table.num_rows)
        self.stats.add(S.KEPT, kept)
        self.stats.add(S.FAILED, table.num_rows - kept)
        flagged = int((passed_on & ~keep).sum())
        if flagged:
            self.stats.add(FLAGGED, flagged)
        for lang, row_kept, row_on, reasons in zip(langs, keep.tolist(), passed_on.tolist(),
                                                   table.column("filter_reasons").to_pylist()):
            self.stats.add(S.ROWS, lang=lang)
            self.stats.add(S.KEPT, int(row_kept), lang=lang)  # 0 too: every language has a kept count
            if row_on and not row_kept:
                self.stats.add(FLAGGED, lang=lang)
            for reason in reasons:
                self.stats.add(S.failed_key(reason))
                self.stats.add(S.failed_key(reason), lang=lang)
        if self.config.mode == FilterMode.DROP:
            mask = pa.array(passed_on)
            chunk.rejected = table.filter(pc.invert(mask))
            chunk.output = table.filter(mask)
        else:
            chunk.output = table
        self.stats.add(S.ROWS_OUT, chunk.output.num_rows)
        log.debug("filter chunk %d: %d rows, %d kept, %.3f s", chunk.index, table.num_rows, kept,
                  time.perf_counter() - start)
        return chunk

    def close(self) -> None:
        self.quality.close()
