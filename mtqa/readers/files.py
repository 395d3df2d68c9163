"""Local files: SQuAD JSON, JSONL, Parquet, and the embedded sample.

SQuAD JSON is streamed article by article (``data`` → ``paragraphs`` → ``qas``, with ijson's C
parser), JSONL line by line and Parquet in record batches of the known columns: memory does
not grow with the file (peak RSS in docs/build.md, "Memory"). ``.json.gz`` and
``.jsonl.gz`` are read through gzip. Bad input is one :class:`~mtqa.errors.MtqaError` line
naming the file and the position (line and column, byte offset, row, or the path inside the
SQuAD document). Why these are read with ``json``/``pyarrow`` and not ``datasets``:
docs/source.md, "Why not datasets here".

:func:`open_file` also recognises, by their first line, the JSONL formats that are not the
local-file layout: TyDi QA (read, :mod:`mtqa.readers.formats`), MKQA and Natural Questions
open (refused: no passages), and opens Arrow files and folders (:mod:`mtqa.readers.arrow`).
A file's split is ``split`` if given, else the one its name says (``dev-v2.0.json`` → dev),
else ``train``.

A SQuAD question without ``answers`` and without ``is_impossible`` (the official test set's
layout) is read with ``is_impossible`` null: its answers are unknown, not absent, and the
source logs one warning saying how many such questions it read.
"""

from __future__ import annotations

import codecs
import gzip
import json
import logging
import re
import zlib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from mtqa.errors import MtqaError, one_line
from mtqa.io import parse_json_bytes, sha256_file
from mtqa.readers.base import QASource
from mtqa.readers.normalize import parse_answers, parse_flag, text_field
from mtqa.readers.spans import given_answers

log = logging.getLogger(__name__)

#: The embedded excerpt of XQuAD English (CC BY-SA 4.0, see ``mtqa/data/sample/README.md``),
#: inside the installed package.
SAMPLE_PATH = Path(str(resources.files("mtqa") / "data" / "sample" / "xquad-en-sample.json"))
#: How manifests name the sample: the same on every machine.
SAMPLE_SHOWN_PATH = "mtqa/data/sample/xquad-en-sample.json"

#: A SQuAD file that ijson finds malformed is parsed whole once more, up to this size, for the
#: exact line and column of the error (only on that error path); a larger one gets the byte
#: offset ijson had reached.
DIAGNOSE_MAX_BYTES = 256 << 20
#: A ``\uD800``-``\uDFFF`` escape: a surrogate pair, or a lone half (hostile input). ijson's C
#: parser turns a lone half into "?" or fails, so a file holding one is read with its Python
#: parser, which reads it as ``json`` does (the reader then repairs it, docs/build.md).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")

FILE_FORMATS = ("squad", "jsonl", "parquet", "tydiqa", "arrow")
EXTENSIONS = {".json": "squad", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".arrow": "arrow"}
#: Words of a file name that name its split (``dev-v2.0.json`` → dev).
SPLIT_WORDS = {"train": "train", "training": "train", "dev": "dev", "validation": "validation", "valid": "validation",
               "val": "validation", "test": "test"}
_PARQUET_COLUMNS = ("id", "title", "question", "passage", "context", "answers", "answer", "is_impossible")


def _open_binary(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


class FileSource(QASource):
    """A local file; ``describe()`` records its path (as given, so that the record does not
    depend on the machine), size and sha256.

    Each record carries ``position``, where it is in the file (for joining the files of a
    parallel source by position). With ``given_spans`` (the translation files of a parallel
    source) answers keep their starts as written, unchecked (:mod:`mtqa.readers.spans`).
    """

    format: str
    label: str

    def __init__(self, spec: str, path: Path, name: str, split: str, *, shown_path: str | None = None,
                 **kw: Any) -> None:
        super().__init__(spec, name, split, **kw)
        self.path = path
        self.shown_path = shown_path or str(path)
        self._stat: dict | None = None

    def what(self) -> str:
        return f"{self.label} {self.shown_path}"

    def _describe(self) -> dict:
        if self._stat is None:
            try:
                self._stat = {"path": self.shown_path, "size": self.path.stat().st_size,
                              "sha256": sha256_file(self.path)}
            except OSError as e:
                raise MtqaError(f"cannot read {self.path}: {one_line(e)}") from None
        return {"kind": self.format, **self._stat}


class ScanningReader:
    """A binary file as ijson reads it: a leading UTF-8 BOM dropped, the bytes read so far
    counted (``offset``), and ``surrogates`` set once a surrogate escape has gone by."""

    def __init__(self, f) -> None:
        self._f = f
        self.offset = 0
        self.surrogates = False
        self._tail = b""
        self._first = True

    def read(self, size: int = -1) -> bytes:
        data = self._f.read(size)
        if self._first and data:  # ijson reads 0 bytes first, to tell bytes from text
            self._first = False
            if data.startswith(codecs.BOM_UTF8):
                data = data[len(codecs.BOM_UTF8):]
                self.offset += len(codecs.BOM_UTF8)
        if not self.surrogates and _SURROGATE_ESCAPE.search(self._tail + data):
            self.surrogates = True
        self._tail = data[-6:]
        self.offset += len(data)
        return data


class SquadSource(FileSource):
    """SQuAD v1.1 / v2.0 JSON (``data`` → ``paragraphs`` → ``qas``), streamed one article at a
    time: the rows, their order and the error messages are those of parsing it whole."""

    format = "squad"
    label = "SQuAD JSON file"
    _warned_unknown = False

    def _articles(self) -> Iterator[tuple[int, Any]]:
        """``(index, article)`` for every item of the document's ``data`` list."""
        import ijson

        self._check_layout()
        backend, done = ijson, 0
        while True:
            restart = False
            try:
                with _open_binary(self.path) as f:
                    reader = ScanningReader(f)
                    try:
                        for a, article in enumerate(backend.items(reader, "data.item", use_float=True)):
                            if reader.surrogates and backend is ijson:
                                restart = True  # from this article on, with the parser that reads them right
                                break
                            if a >= done:
                                done = a + 1
                                yield a, article
                    except (ijson.JSONError, UnicodeDecodeError) as e:
                        # The C parser also fails on what json reads (surrogate escapes, numbers
                        # past 64 bits): the Python parser decides whether the file is malformed.
                        if backend is ijson and not isinstance(e, UnicodeDecodeError):
                            restart = True
                        else:
                            self._diagnose(e, reader.offset)
            except (OSError, EOFError, zlib.error) as e:
                raise MtqaError(f"cannot read {self.path}: {one_line(e)}") from None
            if not restart:
                break
            log.debug("%s: reading on with ijson's Python parser", self.shown_path)
            backend = ijson.get_backend("python")

    def _check_layout(self) -> None:
        """Refuse a document that is not an object with a ``data`` list (an empty list is a
        valid, empty source), reading only up to where that list starts."""
        import ijson

        backend = ijson
        while True:
            try:
                with _open_binary(self.path) as f:
                    reader = ScanningReader(f)
                    try:
                        events = backend.parse(reader)
                        first = next(events, None)
                        if first is not None and first[:2] == ("", "start_map"):
                            for prefix, event, _ in events:
                                if prefix == "data" and event == "start_array":
                                    return
                                if prefix == "data" and event != "map_key":
                                    break  # data is an object or a scalar
                        break
                    except (ijson.JSONError, UnicodeDecodeError) as e:
                        if backend is ijson and not isinstance(e, UnicodeDecodeError):
                            backend = ijson.get_backend("python")  # see _articles: it decides
                            continue
                        self._diagnose(e, reader.offset)
            except (OSError, EOFError, zlib.error) as e:
                raise MtqaError(f"cannot read {self.path}: {one_line(e)}") from None
        raise MtqaError(f"{self.path}: not SQuAD format (expected an object with a 'data' list)")

    def _diagnose(self, error: Exception, offset: int) -> None:
        """Raise the one-line message for a document ijson could not parse: the exact one of a
        whole parse (line and column, or the byte offset of bad UTF-8) when the file is at
        most :data:`DIAGNOSE_MAX_BYTES`, else the position ijson had read up to."""
        with _open_binary(self.path) as f:
            raw = f.read(DIAGNOSE_MAX_BYTES + 1)
        if len(raw) <= DIAGNOSE_MAX_BYTES:
            parse_json_bytes(raw, self.path)  # raises the exact message
            del raw
        else:
            del raw
            _check_utf8(self.path)
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise MtqaError(f"malformed JSON in {self.path} before byte offset {offset:,}: {reason}")

    def _records(self) -> Iterator[tuple[str, dict]]:
        unknown = 0
        for a, article in self._articles():
            at = f"{self.path}: data[{a}]"
            if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
                raise MtqaError(f"{at}: missing field 'paragraphs'")
            title = article.get("title")
            for p, para in enumerate(article["paragraphs"]):
                pt = f"{at}.paragraphs[{p}]"
                if not isinstance(para, dict):
                    raise MtqaError(f"{pt}: expected an object, got {type(para).__name__}")
                passage = text_field(para, ("context",), pt)
                qas = para.get("qas")
                if not isinstance(qas, list):
                    raise MtqaError(f"{pt}: missing field 'qas'")
                for q, qa in enumerate(qas):
                    where = f"{pt}.qas[{q}]"
                    if not isinstance(qa, dict):
                        raise MtqaError(f"{where}: expected an object, got {type(qa).__name__}")
                    if qa.get("id") is not None:
                        where += f" (id {qa['id']})"
                    impossible: bool | None = parse_flag(qa.get("is_impossible"), where)
                    if "answers" not in qa and "is_impossible" not in qa:
                        impossible = None  # a test set: whether it has an answer is not known
                        unknown += 1
                    if impossible is not False:
                        answers = []
                    elif self.given_spans:
                        answers = given_answers(qa.get("answers"), where)
                    else:
                        answers = parse_answers(qa.get("answers"), passage, where)
                    yield where, {
                        "id": qa.get("id"),
                        "title": None if title is None else str(title),
                        "question": text_field(qa, ("question",), where),
                        "passage": passage,
                        "answers": answers,
                        "is_impossible": impossible,
                        # By title, not article number: a subset of the articles keeps its positions.
                        "position": (a if title is None else str(title), p, q),
                    }
        if unknown and not self._warned_unknown:
            self._warned_unknown = True
            log.warning("%s: %d questions have neither answers nor is_impossible (a test set?): their answers "
                        "are unknown, written with is_impossible null", self.shown_path, unknown)


def _check_utf8(path: Path) -> None:
    """Raise the one-line message for the first invalid UTF-8 in ``path``, read in blocks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = lines = 0
    with _open_binary(path) as f:
        while block := f.read(1 << 20):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as e:
                at = offset - (len(e.object) - len(block)) + e.start  # e.object: the held bytes + block
                line = lines + block.count(b"\n", 0, max(0, at - offset)) + 1
                raise MtqaError(f"invalid UTF-8 in {path} at byte offset {at} (line {line})") from None
            offset += len(block)
            lines += block.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise MtqaError(f"invalid UTF-8 in {path} at byte offset {offset} (a cut character at the end)") from None


class SampleSource(SquadSource):
    """The embedded XQuAD English excerpt (CC BY-SA 4.0, see ``mtqa/data/sample/README.md``)."""

    format = "sample"
    label = "embedded XQuAD English sample"

    def _describe(self) -> dict:
        return {**super()._describe(), "origin": "google-deepmind/xquad xquad.en.json (excerpt)",
                "license": "CC-BY-SA-4.0"}


class JsonlSource(FileSource):
    """One JSON object per line, read line by line; blank lines are ignored."""

    format = "jsonl"
    label = "JSONL file"

    def _records(self) -> Iterator[tuple[str, dict]]:
        offset = 0
        try:
            with _open_binary(self.path) as f:
                for lineno, raw in enumerate(f, 1):
                    where = f"{self.path}:{lineno}"
                    try:
                        line = raw.decode("utf-8")
                    except UnicodeDecodeError as e:
                        raise MtqaError(
                            f"invalid UTF-8 in {where} (byte offset {offset + e.start})"
                        ) from None
                    offset += len(raw)
                    if lineno == 1:
                        line = line.removeprefix("\ufeff")
                    if not line.strip():
                        continue
                    try:
                        obj = json.loads(line)
                    except json.JSONDecodeError as e:
                        raise MtqaError(
                            f"malformed JSON in {where} at column {e.colno}: {e.msg}"
                        ) from None
                    if not isinstance(obj, dict):
                        raise MtqaError(f"{where}: expected a JSON object, got {type(obj).__name__}")
                    yield where, self._row_record(obj, where, lineno)
        except (OSError, EOFError, zlib.error) as e:
            raise MtqaError(f"cannot read {self.path}: {one_line(e)}") from None


class ParquetSource(FileSource):
    """A Parquet file read in record batches; only the known columns are loaded."""

    format = "parquet"
    label = "Parquet file"

    def _records(self) -> Iterator[tuple[str, dict]]:
        try:
            pf = pq.ParquetFile(self.path)
        except (pa.ArrowException, OSError) as e:
            raise MtqaError(f"not a readable Parquet file: {self.path} ({one_line(e)})") from None
        names = pf.schema_arrow.names
        if "question" not in names:
            raise MtqaError(f"{self.path}: missing column 'question' (has {', '.join(names)})")
        if "passage" not in names and "context" not in names:
            raise MtqaError(f"{self.path}: missing column 'passage' (has {', '.join(names)})")
        columns = [c for c in _PARQUET_COLUMNS if c in names]
        row = 0
        try:
            for batch in pf.iter_batches(batch_size=max(self.batch_size, 256), columns=columns):
                for obj in batch.to_pylist():
                    where = f"{self.path} row {row}"
                    yield where, self._row_record(obj, where, row)
                    row += 1
        except (pa.ArrowException, OSError) as e:
            raise MtqaError(f"cannot read {self.path} at row {row}: {one_line(e)}") from None


_SOURCE_CLASSES: dict[str, type[FileSource]] = {"squad": SquadSource, "jsonl": JsonlSource,
                                                "parquet": ParquetSource}


def split_from_name(path: Path) -> str | None:
    """The split a file's name says (``dev-v2.0.json`` → dev, ``train-v2.0.json`` → train,
    ``tydiqa-v1.0-dev.jsonl.gz`` → dev), or None."""
    words = re.split(r"[^a-z]+", path.name.lower())
    found = {SPLIT_WORDS[w] for w in words if w in SPLIT_WORDS}
    return found.pop() if len(found) == 1 else None


def file_name(path: Path) -> str:
    """The default id prefix of a file: its name without extensions, lowercased, other
    characters as ``_`` (``dev-v2.0.json`` → ``dev_v2_0``)."""
    stem = path.name
    for suffix in (".gz", *EXTENSIONS):
        stem = stem.removesuffix(suffix)
    return re.sub(r"[^a-z0-9_]+", "_", stem.lower()).strip("_") or "file"


def open_file(spec: str, fmt: str | None, raw_path: str, name: str | None, split: str | None,
              **kw: Any) -> FileSource:
    """A local file source; ``fmt`` None: by extension. The file must exist."""
    path = Path(raw_path).expanduser()
    if fmt is None and path.is_dir():
        pass  # a datasets folder or a build folder: mtqa.readers.arrow
    elif fmt is None:
        suffixes = [s.lower() for s in path.suffixes]
        gz = suffixes[-1:] == [".gz"]
        ext = "".join(suffixes[-2:]) if gz else (suffixes or [""])[-1]
        fmt = EXTENSIONS.get(ext.removesuffix(".gz")) if ext != ".parquet.gz" else None
        if fmt is None:
            shown = ext or "(none)"
            raise MtqaError(
                f"unknown extension {shown} for {raw_path}: use .json (SQuAD), .jsonl, .parquet "
                f"(or .json.gz, .jsonl.gz), or a squad:/jsonl:/parquet: prefix"
            )
    if not path.exists():
        raise MtqaError(f"file not found: {raw_path}")
    if fmt == "arrow" or (fmt is None and path.is_dir()):
        from mtqa.readers.arrow import open_arrow

        return open_arrow(spec, path, raw_path, name, split, **kw)
    if path.is_dir():
        raise MtqaError(f"{raw_path} is a directory, not a {fmt} file")
    split = split or split_from_name(path) or "train"
    if fmt in ("jsonl", "tydiqa"):
        from mtqa.readers.formats import TydiSource, sniff_jsonl

        if fmt == "tydiqa" or sniff_jsonl(path, raw_path) == "tydiqa":
            return TydiSource(spec, path, name or file_name(path), split, shown_path=raw_path, **kw)
    cls = _SOURCE_CLASSES[fmt]
    return cls(spec, path, name or file_name(path), split, shown_path=raw_path, **kw)


def open_sample(spec: str, name: str | None, split: str | None, **kw: Any) -> SampleSource:
    return SampleSource(spec, SAMPLE_PATH, name or "sample", split or "test", shown_path=SAMPLE_SHOWN_PATH, **kw)
