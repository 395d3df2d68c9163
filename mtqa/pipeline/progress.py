"""Progress of a build: tqdm bars on a terminal, log lines elsewhere.

With bars, each step has one, counting QA rows, with the input's row count as total (when
the reader can tell it cheaply; an estimate for one partition), so tqdm shows an ETA. Without
bars (stderr is not a terminal: a Slurm job, a pipe), a build of hours would be silent; the
logger ``mtqa.pipeline.progress`` instead gets a line at most every :data:`LOG_EVERY_SECONDS`
seconds with the chunks and rows done, the rate and the time left. The CLI shows that logger's
lines by default (``mtqa.cli.common.setup_logging``).
"""

from __future__ import annotations

import logging
import time

logger = logging.getLogger(__name__)

LOG_EVERY_SECONDS = 30.0


class BuildProgress:
    """Counts rows per step and finished chunks. ``expected_rows``: the total, or None."""

    def __init__(self, steps: list[str], expected_rows: int | None, *, bars: bool, desc: str = "build",
                 every_s: float | None = None) -> None:
        self.expected = expected_rows
        self.desc = desc
        self.every_s = LOG_EVERY_SECONDS if every_s is None else every_s
        self.rows = 0  # rows of finished chunks (built or skipped)
        self.built_rows = 0
        self.chunks = self.skipped_chunks = 0
        self._bars = {}
        if bars:
            from tqdm.auto import tqdm

            self._bars = {name: tqdm(desc=f"{name:<9}", total=expected_rows, unit="rows", position=i, leave=True,
                                     dynamic_ncols=True)
                          for i, name in enumerate(steps)}
        self._start = self._last = time.perf_counter()

    def update(self, step: str, rows: int) -> None:
        bar = self._bars.get(step)
        if bar is None:
            return
        if bar.total is not None and bar.n + rows > bar.total:
            bar.total = bar.n + rows  # the total was an estimate (one partition's share)
        bar.update(rows)

    def chunk_done(self, rows: int, skipped: bool = False) -> None:
        self.chunks += 1
        self.rows += rows
        if skipped:
            self.skipped_chunks += 1
        else:
            self.built_rows += rows
        if self._bars:
            return
        now = time.perf_counter()
        if now - self._last >= self.every_s:
            self._last = now
            logger.info("%s", self.line(now - self._start))

    def line(self, seconds: float) -> str:
        """``build: 12 chunks (3 done earlier), 12,000 of ~30,000 rows (40%), 35.2 rows/s, about 9 min left``."""
        earlier = f" ({self.skipped_chunks} done earlier)" if self.skipped_chunks else ""
        of = f" of ~{self.expected:,}" if self.expected else ""
        share = f" ({min(self.rows / self.expected, 1):.0%})" if self.expected else ""
        rate = self.built_rows / seconds if seconds > 0 else 0.0
        left = ""
        if self.expected and rate > 0 and self.rows < self.expected:
            left = f", about {_duration((self.expected - self.rows) / rate)} left"
        return (f"{self.desc}: {self.chunks} chunks{earlier}, {self.rows:,}{of} rows{share}, "
                f"{rate:,.1f} rows/s{left}")

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self._bars = {}


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
