"""Readers: English QA datasets (local files, the embedded sample, Hub datasets) as the first
step of a build.

- :func:`open_source` opens a spec (``sample``, ``squad_v2``, ``hub:OWNER/NAME``, a file path,
  see :mod:`mtqa.readers.spec`) as a :class:`QASource`, whose ``batches()`` stream
  ``mtqa.schema.QA_SCHEMA`` record batches; :func:`list_sources` lists the specs.
- :class:`ReaderStep` reads sources into the numbered chunks of one partition.
- :data:`HUB_SOURCES` are the registered Hub datasets; :func:`normalize_row` maps a row of the
  local-file layout to a QA record; a Hub mapper raises :class:`SkipRow` for a row it skips.

See docs/source.md.
"""

from mtqa.readers.base import QASource
from mtqa.readers.files import SAMPLE_PATH
from mtqa.readers.normalize import SkipRow, normalize_row
from mtqa.readers.registry import HUB_SOURCES
from mtqa.readers.spec import list_sources, open_source
from mtqa.readers.step import ReaderStep

__all__ = [
    "HUB_SOURCES",
    "SAMPLE_PATH",
    "QASource",
    "ReaderStep",
    "SkipRow",
    "list_sources",
    "normalize_row",
    "open_source",
]
