"""Progress of long encodes: a tqdm bar on a terminal, log lines elsewhere.

When ``mtqa eval`` runs in a job or with its output piped, no bar is shown; an encode of
hundreds of thousands of texts would then run silently for an hour. :class:`EncodeProgress`
instead logs (``logging.INFO``, logger ``mtqa.eval.progress``) a line at most every
:data:`LOG_EVERY_SECONDS` seconds with the count, the rate and the time left, and one line
at the end.
"""

from __future__ import annotations

import logging
import time

logger = logging.getLogger(__name__)

LOG_EVERY_SECONDS = 30.0


class EncodeProgress:
    """Counts encoded texts. ``bar=True``: a tqdm bar; otherwise log lines (see the module).

    Use as a context manager and call :meth:`update` with the number of texts just encoded.
    ``every_s`` overrides :data:`LOG_EVERY_SECONDS` (0: a line after every update).
    """

    def __init__(self, total: int, desc: str, *, bar: bool, every_s: float | None = None):
        self.total = total
        self.desc = desc
        self.done = 0
        self.every_s = LOG_EVERY_SECONDS if every_s is None else every_s
        self._bar = None
        if bar:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=desc, unit="text")
        self._start = self._last = time.perf_counter()

    def __enter__(self) -> "EncodeProgress":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._bar is not None:
            self._bar.close()
        elif exc_type is None and self.total:
            seconds = time.perf_counter() - self._start
            logger.info("%s: %s texts in %.1f s (%s texts/s)", self.desc, f"{self.done:,}", seconds,
                        _rate(self.done, seconds))

    def update(self, n: int) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
            return
        now = time.perf_counter()
        if self.done < self.total and now - self._last >= self.every_s:
            self._last = now
            seconds = now - self._start
            rate = self.done / seconds if seconds > 0 else 0.0
            left = f", about {(self.total - self.done) / rate:,.0f} s left" if rate > 0 else ""
            logger.info("%s: %s/%s texts (%.0f%%), %s texts/s%s", self.desc, f"{self.done:,}", f"{self.total:,}",
                        100 * self.done / self.total, _rate(self.done, seconds), left)


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.1f}" if seconds > 0 else "–"
