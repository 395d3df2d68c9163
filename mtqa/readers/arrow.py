"""Arrow data: a ``datasets`` ``save_to_disk`` folder, an Arrow file, or an mtqa build.

Read with ``pyarrow`` alone (``datasets`` writes Arrow IPC streams, mtqa IPC files; both are
memory-mapped, not copied):

- a ``Dataset.save_to_disk`` folder (``state.json`` names its ``data-*.arrow`` files); a
  ``DatasetDict`` folder (``dataset_dict.json``) with ``--split`` picking the split, or its only
  one;
- an mtqa build folder (``OUT/data/*.arrow``) or its ``data/`` folder, or any folder of
  ``.arrow`` files;
- one ``.arrow`` file (``arrow:PATH`` or the extension).

Columns: the local-file layout (``question``, ``passage`` or ``context``, optional ``id``,
``title``, ``answers`` in either the list or the Hub's ``{text: [...], answer_start: [...]}``
layout, ``is_impossible``). With a ``lang`` (or ``language``) column the table is long-format
parallel data, one row per (id, language), as mtqa writes it: the source-language rows are the
build's rows and the others their translations (``origin`` kept from an ``origin`` column,
else ``human``), joined by ``id``. The ``source`` of an mtqa build's rows names the source, so
their ids come back unchanged. Data without a passage column is refused in one line naming
the columns it has.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from mtqa.errors import MtqaError, one_line
from mtqa.io import sha256_file
from mtqa.readers.base import QASource, SkippedRecord
from mtqa.readers.files import file_name, split_from_name
from mtqa.readers.normalize import normalize_row
from mtqa.readers.parallel import SKIP_NOT_IN_SOURCE
from mtqa.readers.spans import given_answers
from mtqa.schema import Origin

_COLUMNS = ("id", "title", "question", "passage", "context", "answers", "answer", "is_impossible", "lang",
            "language", "origin", "source", "split")


def _read_table(path: Path) -> pa.Table:
    """An Arrow IPC file (mtqa) or stream (``datasets``), memory-mapped."""
    try:
        source = pa.memory_map(str(path), "r")
    except OSError as e:
        raise MtqaError(f"cannot read {path}: {one_line(e)}") from None
    for opener in (pa.ipc.open_file, pa.ipc.open_stream):
        try:
            source.seek(0)
            return opener(source).read_all()
        except (pa.ArrowInvalid, OSError):
            continue
    raise MtqaError(f"{path} is neither an Arrow IPC file nor an Arrow IPC stream")


def _dataset_files(folder: Path, split: str | None, shown: str) -> tuple[list[Path], str | None]:
    """The Arrow files of a folder and the split they are (None: not known)."""
    if (folder / "dataset_dict.json").is_file():
        try:
            splits = json.loads((folder / "dataset_dict.json").read_text(encoding="utf-8"))["splits"]
        except (ValueError, KeyError, TypeError, OSError) as e:
            raise MtqaError(f"{shown}/dataset_dict.json is not a datasets DatasetDict description ({one_line(e)})") from None
        if split is None:
            if len(splits) != 1:
                raise MtqaError(f"{shown} is a DatasetDict with splits {', '.join(splits)}: pick one with --split")
            split = splits[0]
        if split not in splits:
            raise MtqaError(f"{shown} has no split {split!r} (splits: {', '.join(splits)})")
        files, _ = _dataset_files(folder / split, None, f"{shown}/{split}")
        return files, split
    if (folder / "state.json").is_file():
        try:
            state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
            files = [folder / f["filename"] for f in state["_data_files"]]
        except (ValueError, KeyError, TypeError, OSError) as e:
            raise MtqaError(f"{shown}/state.json is not a datasets save_to_disk state ({one_line(e)})") from None
        return files, state.get("_split")
    data = folder / "data" if (folder / "data").is_dir() else folder
    files = sorted(data.glob("*.arrow"))
    if not files:
        raise MtqaError(f"{shown}: no Arrow data (a datasets save_to_disk folder, an mtqa build, or .arrow files)")
    return files, None


class ArrowSource(QASource):
    """Rows of Arrow tables (module docstring); ``describe()`` records every file's size and sha256."""

    format = "arrow"

    def __init__(self, spec: str, files: list[Path], table: pa.Table, name: str, split: str, *, shown: str,
                 source_lang: str = "en", **kw: Any) -> None:
        super().__init__(spec, name, split, **kw)
        self.files, self.table, self.shown, self.source_lang = files, table, shown, source_lang
        names = table.column_names
        if "question" not in names or ("passage" not in names and "context" not in names):
            missing = "question" if "question" not in names else "passage"
            raise MtqaError(f"{shown}: no {missing} column (columns: {', '.join(names)}), and a build needs the "
                            "question and passage of every row")
        self.lang_column = next((c for c in ("lang", "language") if c in names), None)
        self._langs: tuple[str, ...] = ()
        if self.lang_column:
            if "id" not in names:
                raise MtqaError(f"{shown}: a {self.lang_column} column but no id column to join the languages by")
            found = sorted(set(pc.unique(table.column(self.lang_column)).to_pylist()) - {None})
            if source_lang not in found:
                raise MtqaError(f"{shown}: no {source_lang} rows ({self.lang_column}: {', '.join(found)}), and "
                                "the rows of a build are its source-language questions")
            self._langs = (source_lang, *[lang for lang in found if lang != source_lang])

    @property
    def langs(self) -> tuple[str, ...]:
        return self._langs

    def what(self) -> str:
        kind = f"parallel Arrow data ({', '.join(self._langs)})" if self._langs else "Arrow data"
        return f"{kind} {self.shown} ({len(self.files)} file(s))"

    def _describe(self) -> dict:
        try:
            files = [{"path": str(f), "size": f.stat().st_size, "sha256": sha256_file(f)} for f in self.files]
        except OSError as e:
            raise MtqaError(f"cannot read {self.shown}: {one_line(e)}") from None
        return {"kind": "arrow", "path": self.shown, "files": files, "langs": list(self._langs)}

    def _rows(self) -> Iterator[tuple[int, dict]]:
        columns = [c for c in _COLUMNS if c in self.table.column_names]
        row = 0
        for batch in self.table.select(columns).to_batches(max_chunksize=1024):
            for obj in batch.to_pylist():
                yield row, obj
                row += 1

    def _records(self) -> Iterator[tuple[str, dict | SkippedRecord]]:
        if not self.lang_column:
            for row, obj in self._rows():
                where = f"{self.shown} row {row}"
                yield where, normalize_row(obj, where)
            return
        translations: dict[str, list[dict]] = {}
        for row, obj in self._rows():
            lang = obj[self.lang_column]
            if lang == self.source_lang or lang is None:
                continue
            where = f"{self.shown} row {row}"
            rec = normalize_row(obj, where)
            origin = obj.get("origin") if obj.get("origin") in (Origin.HUMAN.value, Origin.MT.value) else Origin.HUMAN.value
            answers = [] if rec["is_impossible"] else given_answers(obj.get("answers"), where)
            translations.setdefault(str(obj["id"]), []).append(
                {"lang": lang, "origin": origin, "title": rec["title"], "question": rec["question"],
                 "passage": rec["passage"], "answers": answers})
        used = set()
        for row, obj in self._rows():
            if obj[self.lang_column] != self.source_lang:
                continue
            where = f"{self.shown} row {row}"
            rec = normalize_row(obj, where)
            key = str(obj["id"])
            used.add(key)
            rec["parallel"] = sorted(translations.get(key, []), key=lambda t: t["lang"])
            yield where, rec
        for key, items in translations.items():
            if key not in used:
                for _ in items:
                    yield self.shown, SkippedRecord(SKIP_NOT_IN_SOURCE)


def open_arrow(spec: str, path: Path, shown: str, name: str | None, split: str | None, *,
               source_lang: str = "en", **kw: Any) -> ArrowSource:
    """An :class:`ArrowSource` for a folder or an ``.arrow`` file."""
    if path.is_dir():
        files, found_split = _dataset_files(path, split, shown)
    else:
        files, found_split = [path], None
    tables = [_read_table(f) for f in files]
    try:
        table = pa.concat_tables(tables, promote_options="default") if len(tables) > 1 else tables[0]
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise MtqaError(f"{shown}: its Arrow files have different columns ({one_line(e)})") from None
    if name is None and "source" in table.column_names:
        sources = set(pc.unique(table.column("source")).to_pylist()) - {None}
        name = sources.pop() if len(sources) == 1 else None
    if split is None and "split" in table.column_names:
        splits = set(pc.unique(table.column("split")).to_pylist()) - {None}
        split = splits.pop() if len(splits) == 1 else None
    return ArrowSource(spec, files, table, name or file_name(path), split or found_split or split_from_name(path)
                       or "train", shown=shown, source_lang=source_lang, **kw)
