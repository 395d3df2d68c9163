"""Source specs: the strings ``--sources`` takes, and what each opens.

A spec is one of

- ``sample``: the embedded excerpt of XQuAD English (``mtqa/data/sample``);
- a registered Hub dataset (``squad``, ``squad_v2``, ``nq``, ``trivia_qa``, ``ms_marco``,
  ``wiki_qa``, ``duorc``, ``duorc_paraphrase``, ``newsqa``, ``yahoo_qa``), optionally pinned as
  ``NAME@REVISION``;
- ``hub:OWNER/NAME[@REVISION][#CONFIG]``: any Hub dataset whose columns follow the local-file
  layout, in one of its configs;
- a local file, by extension or with an explicit prefix: ``squad:PATH`` / ``*.json``
  (SQuAD v1.1 or v2.0), ``jsonl:PATH`` / ``*.jsonl``, ``parquet:PATH`` / ``*.parquet``
  (``.json.gz`` and ``.jsonl.gz`` are read through gzip), ``tydiqa:PATH`` (TyDi QA, also
  recognised in a ``.jsonl`` file), ``arrow:PATH`` / ``*.arrow`` / a folder (a ``datasets``
  ``save_to_disk`` folder or an mtqa build, :mod:`mtqa.readers.arrow`);
- parallel data (:mod:`mtqa.readers.parallel`): ``xquad:DIR``, ``mlqa:DIR``,
  ``parallel:en=PATH+pt=PATH[+join=position][+name=NAME]``, where a PATH may be a
  ``hub:OWNER/NAME[@REVISION]#CONFIG`` (a Hub dataset with one config per language).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from mtqa.errors import MtqaError
from mtqa.readers.base import QASource
from mtqa.readers.files import FILE_FORMATS, open_file, open_sample
from mtqa.readers.hub import HubSource, open_hub
from mtqa.readers.parallel import PARALLEL_FORMATS, open_parallel
from mtqa.readers.registry import HUB_SOURCES

log = logging.getLogger(__name__)


def _known() -> str:
    hub = [n for n, d in HUB_SOURCES.items() if d.hub_id]
    return ", ".join(["sample", *hub])


def _open(spec: str, name: str | None, split: str | None, kw: dict, source_lang: str) -> QASource:
    if spec == "sample":
        return open_sample(spec, name, split, **kw)
    prefix, sep, rest = spec.partition(":")
    if sep and prefix in PARALLEL_FORMATS and rest:
        return open_parallel(spec, prefix, rest, name, split, kw, source_lang)
    if sep and prefix == "arrow" and rest:
        return open_file(spec, prefix, rest, name, split, source_lang=source_lang, **kw)
    if sep and prefix in FILE_FORMATS and rest:
        return open_file(spec, prefix, rest, name, split, **kw)
    if sep and prefix == "hub" and rest:
        return open_hub(spec, rest, name, split, **kw)
    key, _, revision = spec.partition("@")
    if key in HUB_SOURCES:
        dataset = HUB_SOURCES[key]
        if dataset.hub_id is None:
            raise MtqaError(
                f"{key}: {dataset.description}; write question/passage/answers rows to a JSONL "
                f"file and use jsonl:PATH"
            )
        return HubSource(spec, dataset, revision or None, name or key, split or dataset.split, **kw)
    if "/" in spec or os.sep in spec or "." in Path(spec).name or Path(spec).exists():
        if Path(spec).expanduser().is_dir():
            return open_file(spec, "arrow", spec, name, split, source_lang=source_lang, **kw)
        return open_file(spec, None, spec, name, split, **kw)
    raise MtqaError(f"unknown source {spec!r}: expected one of {_known()}, a file path, "
                    f"or a squad:/jsonl:/parquet:/tydiqa:/arrow:/xquad:/mlqa:/parallel:/hub: prefix")


def open_source(spec: str, *, limit: int | None = None, batch_size: int = 1000,
                split: str | None = None, name: str | None = None, source_lang: str = "en") -> QASource:
    """Open a QA source by spec (see the module docstring and :func:`list_sources`).

    ``limit`` caps the rows of the source; ``batch_size`` caps the rows of a batch; ``split``
    picks a Hub split (default: the dataset's training split), the split of an MLQA folder or
    a ``DatasetDict``, and labels the rows of a local file (default: the split its name says,
    else ``train``); ``name`` overrides the id prefix; ``source_lang`` is the language of the
    build's rows (a parallel source's other languages are its translations). Nothing is read
    until ``batches()`` is iterated, except that a local file must exist, a JSONL file's
    first line is read (to recognise TyDi QA, MKQA, NQ-open) and Arrow data is mapped.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise MtqaError(f"empty source spec: expected one of {_known()} or a file path")
    spec = spec.strip()
    source = _open(spec, name, split, {"limit": limit, "batch_size": batch_size}, source_lang)
    log.info("source %s: %s (ids %s:..., split %s, limit %s)", spec, source.what(), source.name,
             source.split, source.limit)
    return source


def list_sources() -> list[dict]:
    """The source specs ``open_source`` accepts, for ``--help`` and the docs."""
    out: list[dict] = [{
        "name": "sample", "kind": "embedded", "hub_id": None, "config": None, "split": "test",
        "verified": True, "description": "12 paragraphs, 64 questions of XQuAD English (CC BY-SA 4.0)",
    }]
    for d in HUB_SOURCES.values():
        out.append({"name": d.name, "kind": "hub" if d.hub_id else "unavailable", "hub_id": d.hub_id,
                    "config": d.config, "split": d.split, "verified": d.verified,
                    "description": d.description})
    for fmt, text in [
        ("squad", "squad:PATH or *.json[.gz]: SQuAD v1.1 / v2.0 JSON"),
        ("jsonl", "jsonl:PATH or *.jsonl[.gz]: one {question, passage|context, ...} per line"),
        ("parquet", "parquet:PATH or *.parquet: columns question, passage|context, ..."),
        ("tydiqa", "tydiqa:PATH or a TyDi QA .jsonl[.gz]: primary task, byte-offset passages"),
        ("arrow", "arrow:PATH, *.arrow or a folder: datasets save_to_disk, an mtqa build"),
        ("xquad", "xquad:DIR: XQuAD's xquad.LANG.json files, human translations joined by id"),
        ("mlqa", "mlqa:DIR: MLQA's SPLIT-context-L-question-L.json files, joined by id"),
        ("parallel", "parallel:en=PATH+pt=PATH[+join=position][+name=NAME]: one file (or hub:OWNER/NAME[@REVISION]#CONFIG) "
                     "per language"),
        ("hub", "hub:OWNER/NAME[@REVISION][#CONFIG]: a Hub dataset with the local-file columns"),
    ]:
        out.append({"name": f"{fmt}:", "kind": "pattern", "hub_id": None, "config": None,
                    "split": "train", "verified": True, "description": text})
    return out
