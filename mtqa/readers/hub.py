"""Hugging Face Hub datasets, streamed with ``datasets.load_dataset(..., streaming=True)``.

:class:`HubDataset` says where a dataset lives and how its rows map to QA records (the
registered ones are in :mod:`mtqa.readers.registry`); :class:`HubSource` streams it, so memory
stays flat whatever its size. Rows a mapper cannot use (:class:`SkipRow`) and rows with an
empty question or passage are skipped and counted, not fatal; a row missing a column the
mapper needs is an error. :func:`resolve_revision` looks up the commit a read used, for the
manifest.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from mtqa.errors import MtqaError, one_line
from mtqa.readers.base import QASource, SkippedRecord
from mtqa.readers.normalize import SkipRow

#: A Hub mapper: one row of the dataset → its QA records (raise SkipRow for none).
Mapper = Callable[[dict], list[dict]]

_SHA_RE = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True, slots=True)
class HubDataset:
    """A Hub dataset: where it lives, how its rows map to QA_SCHEMA, and whether its id and
    column layout were checked (offline, against its dataset card or public code)."""

    name: str
    hub_id: str | None
    config: str | None
    split: str
    mapper: Mapper | None  # None: rows already in the local-file layout (see normalize_row)
    verified: bool
    description: str


def resolve_revision(hub_id: str, revision: str | None) -> str | None:
    """The commit sha a Hub read used, when the Hub can be asked; None otherwise."""
    if revision and _SHA_RE.fullmatch(revision):
        return revision
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return revision
    try:
        from huggingface_hub import HfApi

        return HfApi().dataset_info(hub_id, revision=revision, timeout=10).sha
    except Exception:
        return None


class HubSource(QASource):
    """A Hub dataset streamed with ``datasets.load_dataset(..., streaming=True)``."""

    skip_empty = True

    def __init__(self, spec: str, dataset: HubDataset, revision: str | None, name: str,
                 split: str, **kw: Any) -> None:
        super().__init__(spec, name, split, **kw)
        self.dataset, self.revision = dataset, revision
        self._resolved: str | None = None

    @property
    def resolved_revision(self) -> str | None:
        if self._resolved is None:
            self._resolved = resolve_revision(self.dataset.hub_id, self.revision)
        return self._resolved

    def _where(self) -> str:
        d = self.dataset
        return f"{d.hub_id}" + (f" ({d.config})" if d.config else "") + f" split {self.split!r}"

    def what(self) -> str:
        pinned = f" @ {self.revision}" if self.revision else ""
        return f"Hub dataset {self._where()}{pinned}, streamed"

    def _describe(self) -> dict:
        d = self.dataset
        return {"kind": "hub", "hub_id": d.hub_id, "config": d.config,
                "requested_revision": self.revision, "revision": self.resolved_revision}

    def _records(self) -> Iterator[tuple[str, dict | SkippedRecord]]:
        d = self.dataset
        where_ds = self._where()
        try:
            import datasets
        except ImportError:
            raise MtqaError("Hub sources need the 'datasets' package: pip install datasets") from None
        try:
            ds = datasets.load_dataset(d.hub_id, d.config, split=self.split, streaming=True,
                                       revision=self.revision)
            rows = iter(ds)
        except Exception as e:
            raise MtqaError(f"cannot open Hub dataset {where_ds}: {one_line(e)}") from None
        _ = self.resolved_revision
        index = 0
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except Exception as e:
                raise MtqaError(f"cannot read Hub dataset {where_ds} at row {index}: {one_line(e)}") from None
            where = f"{self.name} ({where_ds}) row {index}"
            index += 1
            try:
                recs = [self._row_record(row, where, index - 1)] if d.mapper is None else d.mapper(row)
            except SkipRow as skip:
                yield where, SkippedRecord(skip.reason)
                continue
            except KeyError as e:
                raise MtqaError(f"{where}: missing field {e.args[0]!r}") from None
            except (TypeError, ValueError, AttributeError, IndexError) as e:
                raise MtqaError(f"{where}: unexpected row layout ({one_line(e)})") from None
            for rec in recs:
                rec = dict(rec)
                for field in ("question", "passage"):
                    if not isinstance(rec[field], str):
                        if rec[field] is None:
                            raise MtqaError(f"{where}: missing field {field!r}")
                        raise MtqaError(f"{where}: field {field!r} must be a string")
                rec["title"] = None if rec["title"] is None else str(rec["title"])
                yield where, rec


def open_hub(spec: str, body: str, name: str | None, split: str | None, **kw: Any) -> HubSource:
    """``hub:OWNER/NAME[@REVISION][#CONFIG]``: a Hub dataset whose columns follow the
    local-file layout, in one of its configs (``google/xquad#xquad.de``)."""
    body, has_config, config = body.partition("#")
    hub_id, _, revision = body.partition("@")
    if not re.fullmatch(r"[\w.\-]+/[\w.\-]+", hub_id):
        raise MtqaError(f"bad Hub dataset id {hub_id!r} in {spec!r}: expected hub:OWNER/NAME[@REVISION][#CONFIG]")
    if has_config and not re.fullmatch(r"[\w.\-]+", config):
        raise MtqaError(f"bad Hub config {config!r} in {spec!r}: expected hub:OWNER/NAME[@REVISION][#CONFIG]")
    dataset = HubDataset(hub_id.split("/")[1], hub_id, config or None, "train", None, False, "")
    auto = re.sub(r"[^A-Za-z0-9_.\-]+", "_", dataset.name)
    return HubSource(spec, dataset, revision or None, name or auto, split or "train", **kw)
