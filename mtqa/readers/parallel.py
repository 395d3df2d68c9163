"""Parallel sources: QA data that people translated, one file (or Hub config) per language.

A :class:`ParallelSource` reads the source-language file as the rows of the build and joins
every other language's file to it, by question id (``join="id"``) or by position in the file
(``join="position"``: article title, paragraph and question number in a SQuAD file, line
or row number otherwise, for files whose ids differ). Each row carries the
translations found for it in ``parallel`` (``mtqa.schema.PARALLEL_TYPE``), answers with their
starts as written (assemble checks them). Questions a translation file has and the source
file lacks cannot be built (a row needs its source-language passage): they are counted
(``skipped_not_in_source_lang``) and listed per language in ``describe()``.

Specs (see :func:`open_parallel`):

- ``xquad:DIR``: XQuAD's ``xquad.LANG.json`` files (12 languages, the same ids);
- ``mlqa:DIR``: MLQA's ``SPLIT-context-L-question-L.json`` files (DIR, or its ``dev/`` and
  ``test/``), ids aligned across languages; ``--split dev|test`` picks one when both are there;
- ``parallel:en=PATH+pt=PATH[+join=position][+name=NAME]``: any files, one per language,
  each in a format :func:`~mtqa.readers.files.open_file` reads, or a Hub dataset's config
  (``hub:OWNER/NAME[@REVISION]#CONFIG``, :func:`~mtqa.readers.hub.open_hub`).

docs/parallel.md has examples, and where to get their data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mtqa.errors import MtqaError
from mtqa.readers.base import QASource, SkippedRecord
from mtqa.readers.files import FileSource, file_name, open_file, split_from_name
from mtqa.readers.hub import open_hub
from mtqa.schema import Origin

JOINS = ("id", "position")
#: The skip reason of a translation's question that the source-language file lacks.
SKIP_NOT_IN_SOURCE = "not_in_source_lang"
PARALLEL_FORMATS = ("xquad", "mlqa", "parallel")

_LANG_RE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]+)*|x-[a-z0-9-]+")
_MLQA_RE = re.compile(r"(dev|test)-context-([a-z]{2})-question-([a-z]{2})\.json")


class ParallelSource(QASource):
    """The rows of ``members[source_lang]``, each with its translations from the other members.

    ``members``: one source per language, a file or a Hub config (the translations with
    ``given_spans``);
    ``join``: ``"id"`` or ``"position"``. The translation files are read once, on first use,
    and kept in memory (parallel QA sets are small: XQuAD's 12 files take 14 MB).
    """

    def __init__(self, spec: str, members: dict[str, QASource], name: str, split: str, *, join: str = "id",
                 source_lang: str = "en", label: str = "parallel files", **kw: Any) -> None:
        super().__init__(spec, name, split, **kw)
        if join not in JOINS:
            raise MtqaError(f"{spec}: join must be one of {', '.join(JOINS)}, got {join!r}")
        if source_lang not in members:
            raise MtqaError(f"{spec}: no {source_lang} file, and the rows of a build are its source-language "
                            f"questions (languages found: {', '.join(sorted(members))})")
        if len(members) < 2:
            raise MtqaError(f"{spec}: a parallel source needs files in at least two languages")
        self.members, self.join, self.source_lang, self.label = members, join, source_lang, label
        self.others = [lang for lang in sorted(members) if lang != source_lang]
        for lang in self.others:
            members[lang].given_spans = True
        self._index: dict[str, dict[Any, dict]] | None = None
        self._counts: dict | None = None

    @property
    def langs(self) -> tuple[str, ...]:
        return (self.source_lang, *self.others)

    def what(self) -> str:
        return f"{self.label} ({', '.join(self.langs)}; joined by {self.join})"

    def _key(self, rec: dict, where: str) -> Any:
        if self.join == "position":
            return rec["position"]
        if rec.get("id") is None or rec["id"] == "":
            raise MtqaError(f"{where}: no id, and the files of {self.spec} are joined by id "
                            "(use join=position for files whose ids differ)")
        return str(rec["id"])

    def _load(self) -> dict[str, dict[Any, dict]]:
        """``{lang: {key: translation}}`` and the counts for ``describe()``; read once."""
        if self._index is not None:
            return self._index
        source_keys: dict[Any, bool | None] = {}
        for where, rec in self.members[self.source_lang]._records():
            if not isinstance(rec, SkippedRecord):
                source_keys[self._key(rec, where)] = rec["is_impossible"]
        index: dict[str, dict[Any, dict]] = {}
        counts: dict[str, dict[str, int]] = {"ids": {self.source_lang: len(source_keys)}, "matched": {},
                                             "not_in_source": {}, "is_impossible_differs": {}}
        for lang in self.others:
            found: dict[Any, dict] = {}
            differs = 0
            for where, rec in self.members[lang]._records():
                if isinstance(rec, SkippedRecord):
                    continue
                key = self._key(rec, where)
                if key in found:
                    raise MtqaError(f"{where}: {self.join} {key!r} appears twice in the {lang} file")
                found[key] = {"lang": lang, "origin": Origin.HUMAN.value, "title": rec["title"],
                              "question": rec["question"], "passage": rec["passage"], "answers": rec["answers"]}
                if key in source_keys and source_keys[key] is not None and rec["is_impossible"] is not None:
                    differs += bool(source_keys[key]) != bool(rec["is_impossible"])
            matched = sum(1 for key in found if key in source_keys)
            index[lang] = found
            counts["ids"][lang] = len(found)
            counts["matched"][lang] = matched
            counts["not_in_source"][lang] = len(found) - matched
            counts["is_impossible_differs"][lang] = differs
        self._index, self._counts = index, counts
        return index

    def _records(self) -> Iterator[tuple[str, dict | SkippedRecord]]:
        index = self._load()
        for where, rec in self.members[self.source_lang]._records():
            if not isinstance(rec, SkippedRecord):
                key = self._key(rec, where)
                rec["parallel"] = [index[lang][key] for lang in self.others if key in index[lang]]
            yield where, rec
        for _ in range(sum(self._counts["not_in_source"].values())):
            yield self.spec, SkippedRecord(SKIP_NOT_IN_SOURCE)

    def identity(self) -> dict:
        # Each member's own identity: a Hub member's looked-up revision is not one to match.
        files = {lang: {k: v for k, v in m._describe().items() if k != "revision"}
                 for lang, m in sorted(self.members.items())}
        return {**super().identity(), "files": files}

    def _describe(self) -> dict:
        self._load()
        return {"kind": "parallel", "join": self.join, "source_lang": self.source_lang, "langs": list(self.langs),
                "files": {lang: m._describe() for lang, m in sorted(self.members.items())}, **self._counts}


def _split_option(files: dict[str, dict[str, Path]], split: str | None, where: str) -> str:
    if split is not None:
        if split not in files:
            raise MtqaError(f"{where}: no {split} files (splits found: {', '.join(sorted(files))})")
        return split
    if len(files) > 1:
        raise MtqaError(f"{where} has {' and '.join(sorted(files))} files: pick one with --split")
    return next(iter(files))


def _member(path: Path, lang: str, name: str, split: str, kw: dict) -> FileSource:
    member = open_file(f"{lang}={path}", None, str(path), name, split, **kw)
    if not isinstance(member, FileSource):
        raise MtqaError(f"{path}: the files of a parallel source are SQuAD JSON, JSONL or Parquet, one per language")
    return member


def open_xquad(spec: str, folder: str, name: str | None, split: str | None, kw: dict,
               source_lang: str = "en") -> ParallelSource:
    """``xquad:DIR``: every ``xquad.LANG.json`` of DIR, joined by id; split ``test`` by default."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise MtqaError(f"{spec}: {folder} is not a folder (expected XQuAD's xquad.LANG.json files)")
    files = {m.group(1): p for p in sorted(path.glob("xquad.*.json"))
             if (m := re.fullmatch(r"xquad\.([a-z]{2,3})\.json", p.name))}
    if not files:
        raise MtqaError(f"{spec}: no xquad.LANG.json files in {folder}")
    name, split = name or "xquad", split or "test"
    members = {lang: _member(p, lang, name, split, kw) for lang, p in files.items()}
    return ParallelSource(spec, members, name, split, join="id", source_lang=source_lang,
                          label=f"XQuAD files in {folder}", **kw)


def open_mlqa(spec: str, folder: str, name: str | None, split: str | None, kw: dict,
              source_lang: str = "en") -> ParallelSource:
    """``mlqa:DIR``: MLQA's ``SPLIT-context-L-question-L.json`` files in DIR (or its ``dev/``
    and ``test/``), joined by id. The cross-language files (``context-de-question-en``) hold the
    same questions and passages as the same-language ones and are not read."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise MtqaError(f"{spec}: {folder} is not a folder (expected MLQA's SPLIT-context-L-question-L.json files)")
    found: dict[str, dict[str, Path]] = {}
    for p in sorted([*path.glob("*.json"), *path.glob("dev/*.json"), *path.glob("test/*.json")]):
        m = _MLQA_RE.fullmatch(p.name)
        if m and m.group(2) == m.group(3):
            found.setdefault(m.group(1), {})[m.group(2)] = p
    if not found:
        raise MtqaError(f"{spec}: no SPLIT-context-L-question-L.json files in {folder} (or its dev/, test/)")
    split = _split_option(found, split, spec)
    name = name or "mlqa"
    members = {lang: _member(p, lang, name, split, kw) for lang, p in found[split].items()}
    return ParallelSource(spec, members, name, split, join="id", source_lang=source_lang,
                          label=f"MLQA {split} files in {folder}", **kw)


def open_generic(spec: str, body: str, name: str | None, split: str | None, kw: dict,
                 source_lang: str = "en") -> ParallelSource:
    """``parallel:en=PATH+pt=PATH[+join=id|position][+name=NAME]``; a PATH may be a Hub
    dataset's config, ``hub:OWNER/NAME[@REVISION]#CONFIG`` (one config per language, as
    ``google/xquad`` has them)."""
    paths: dict[str, str] = {}
    options: dict[str, str] = {}
    for part in body.split("+"):
        key, eq, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not eq or not key or not value:
            raise MtqaError(f"bad parallel spec {spec!r}: expected parallel:LANG=PATH+LANG=PATH[+join=position]"
                            f"[+name=NAME], got {part!r}")
        if key in ("join", "name"):
            options[key] = value
        elif _LANG_RE.fullmatch(key):
            if key in paths:
                raise MtqaError(f"bad parallel spec {spec!r}: two files for {key}")
            paths[key] = value
        else:
            raise MtqaError(f"bad parallel spec {spec!r}: {key!r} is neither a language code nor join/name")
    if source_lang not in paths:
        raise MtqaError(f"bad parallel spec {spec!r}: no {source_lang}=PATH, and the rows of a build are its "
                        "source-language questions")
    source = paths[source_lang]
    members: dict[str, QASource] = {}
    if source.startswith("hub:"):  # the name and split a hub: spec of its own would get
        members[source_lang] = open_hub(f"{source_lang}={source}", source[4:], name or options.get("name"), split,
                                        **kw)
        name, split = members[source_lang].name, members[source_lang].split
    else:
        name = name or options.get("name") or file_name(Path(source).expanduser())
        split = split or split_from_name(Path(source).expanduser()) or "train"
    for lang, p in paths.items():
        if lang not in members:
            members[lang] = (open_hub(f"{lang}={p}", p[4:], name, split, **kw) if p.startswith("hub:")
                             else _member(Path(p).expanduser(), lang, name, split, kw))
    return ParallelSource(spec, members, name, split, join=options.get("join", "id"), source_lang=source_lang,
                          label="parallel files", **kw)


def open_parallel(spec: str, fmt: str, body: str, name: str | None, split: str | None, kw: dict,
                  source_lang: str = "en") -> ParallelSource:
    """The parallel source of a ``xquad:``, ``mlqa:`` or ``parallel:`` spec."""
    opener = {"xquad": open_xquad, "mlqa": open_mlqa, "parallel": open_generic}[fmt]
    return opener(spec, body, name, split, kw, source_lang)
