"""A build's shards as the Parquet configs of a Hub dataset.

:func:`export_build` reads the Arrow files the manifest lists (``OUT/data/`` and, when asked,
``OUT/rejected/``) and writes, under the staging folder:

- ``{lang}/{split}-SSSSS-of-NNNNN.parquet``: one config per language, English included, with
  every shard column (``mtqa.schema.SHARD_SCHEMA``, and ``origin`` when the build has it);
- ``parallel/{split}-….parquet``: one row per id with ``id, source, split, title,
  is_impossible, passage_id`` and, per language ``L`` in the build's order,
  ``question_L, passage_L, answers_L`` (plus ``origin_L`` when the build has origins, and
  ``keep_L`` when some published rows are flagged ``keep = false``); null where that language
  has no row for the id (the filter dropped it);
- ``rejected/{split}-….parquet`` (only with ``include_rejected``): the rows the filter failed,
  with their reasons and scores.

Splits are the values of the build's ``split`` column. The rows written per language are
checked against the manifest's counts before anything is returned: a build folder whose
shards changed since ``mtqa build`` wrote its manifest is refused.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mtqa.errors import MtqaError, one_line
from mtqa.pipeline.manifest import Manifest
from mtqa.schema import ANSWER_TYPE

logger = logging.getLogger(__name__)

PARALLEL = "parallel"
REJECTED = "rejected"
ORIGIN = "origin"  # the column issue 11 adds: "source", "human" or "mt"
ID_COLUMNS = ("id", "source", "split", "title", "is_impossible", "passage_id")
ROW_GROUP_ROWS = 10_000  # small row groups keep the Hub's dataset viewer and streaming reads quick
# datasets' rule for split names (datasets.utils.metadata / naming: word characters and dots)
_SPLIT_RE = re.compile(r"^\w+(\.\w+)*$")


@dataclass(frozen=True, slots=True)
class ParquetFile:
    """One written Parquet file, relative to the staging folder."""

    path: str
    rows: int
    bytes: int


@dataclass(frozen=True, slots=True)
class SplitExport:
    name: str
    files: tuple[ParquetFile, ...]

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)


@dataclass(frozen=True, slots=True)
class ConfigExport:
    """One dataset config: a language, ``parallel`` or ``rejected``, and its splits."""

    name: str
    kind: str  # "language", "parallel" or "rejected"
    splits: tuple[SplitExport, ...]
    columns: tuple[str, ...]

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.splits)

    def split_rows(self) -> dict[str, int]:
        return {s.name: s.rows for s in self.splits}

    def data_files(self) -> list[dict]:
        """The card's ``configs[].data_files``: one glob per split."""
        return [{"split": s.name, "path": f"{self.name}/{s.name}-*.parquet"} for s in self.splits]


@dataclass(frozen=True, slots=True)
class DatasetExport:
    """What :func:`export_build` wrote, and what it saw in the rows on the way."""

    configs: tuple[ConfigExport, ...]
    langs: tuple[str, ...]  # the languages with rows, the source language first
    #: rows per language and origin from the shards' ``origin`` column; None when the build has none
    origins: dict[str, dict[str, int]] | None
    #: translated languages whose questions the language identifier never judged (unsupported by it)
    lid_unjudged: tuple[str, ...]

    def config(self, name: str) -> ConfigExport:
        for c in self.configs:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def files(self) -> list[ParquetFile]:
        return [f for c in self.configs for s in c.splits for f in s.files]


def read_arrow_files(out_dir: Path, paths: list[str]) -> pa.Table | None:
    """The rows of the listed Arrow IPC files (memory-mapped), one table; None for no file."""
    tables = []
    for rel in paths:
        path = out_dir / rel
        try:
            tables.append(pa.ipc.open_file(pa.memory_map(str(path))).read_all())
        except FileNotFoundError:
            raise MtqaError(f"{path} is listed in {out_dir}/manifest.json but missing: rerun `mtqa build` "
                            "with the same options to redo it") from None
        except (OSError, pa.ArrowInvalid) as e:
            raise MtqaError(f"{path}: not a readable Arrow file ({one_line(e)})") from None
    if not tables:
        return None
    try:
        return pa.concat_tables(tables, promote_options="default")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise MtqaError(f"the shards of {out_dir} do not share one schema ({one_line(e)})") from None


def _check_splits(table: pa.Table, where: str) -> list[str]:
    if table.column("split").null_count:
        raise MtqaError(f"{where}: rows without a split")
    splits = pc.unique(table.column("split")).to_pylist()
    for split in splits:
        if not _SPLIT_RE.match(split):
            raise MtqaError(f"{where}: split {split!r} cannot name a Hub split (letters, digits, '_' and '.' only)")
    # The usual order first, then the rest alphabetically.
    usual = ["train", "validation", "dev", "test"]
    return sorted(splits, key=lambda s: (usual.index(s) if s in usual else len(usual), s))


def _write_split(table: pa.Table, stage: Path, config: str, split: str, max_rows: int) -> SplitExport:
    n = max(1, math.ceil(table.num_rows / max_rows))
    files = []
    folder = stage / config
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        part = table.slice(i * max_rows, max_rows)
        rel = f"{config}/{split}-{i:05d}-of-{n:05d}.parquet"
        pq.write_table(part, stage / rel, row_group_size=ROW_GROUP_ROWS)
        files.append(ParquetFile(rel, part.num_rows, (stage / rel).stat().st_size))
    return SplitExport(split, tuple(files))


def _write_config(table: pa.Table, stage: Path, name: str, kind: str, splits: list[str], max_rows: int) -> ConfigExport:
    parts = []
    for split in splits:
        rows = table.filter(pc.equal(table.column("split"), split))
        if rows.num_rows:
            parts.append(_write_split(rows, stage, name, split, max_rows))
    return ConfigExport(name, kind, tuple(parts), tuple(table.column_names))


def _lang_order(manifest: Manifest, present: list[str]) -> list[str]:
    order = [lang for lang in manifest.lang_order if lang in present]
    return order + sorted(set(present) - set(order))


def parallel_table(data: pa.Table, langs: list[str], *, with_keep: bool) -> pa.Table:
    """One row per id, each language's question, passage and answers side by side (polars)."""
    import polars as pl

    has_origin = ORIGIN in data.column_names
    per_lang = ["question", "passage", "answers"] + ([ORIGIN] if has_origin else []) + (["keep"] if with_keep else [])
    frame = pl.from_arrow(data.select(list(dict.fromkeys([*ID_COLUMNS, "lang", *per_lang]))))
    duplicated = frame.select(pl.struct("id", "lang").is_duplicated().any()).item()
    if duplicated:
        raise MtqaError("the build has two rows for one (id, language): the parallel config needs unique ids")
    wide = (frame.select(ID_COLUMNS).unique(subset="id", keep="first", maintain_order=True)
            .with_row_index("_order"))
    for lang in langs:
        side = frame.filter(pl.col("lang") == lang).select(
            "id", *[pl.col(c).alias(f"{c}_{lang}") for c in per_lang])
        wide = wide.join(side, on="id", how="left")
    wide = wide.sort("_order").drop("_order")
    types = {"question": pa.string(), "passage": pa.string(), "answers": pa.list_(ANSWER_TYPE),
             ORIGIN: pa.string(), "keep": pa.bool_()}
    schema = pa.schema([data.schema.field(c) for c in ID_COLUMNS]
                       + [pa.field(f"{c}_{lang}", types[c]) for lang in langs for c in per_lang])
    return wide.to_arrow().select(schema.names).cast(schema)


def _lang_counts(table: pa.Table) -> dict[str, int]:
    return {c["values"]: c["counts"] for c in pc.value_counts(table.column("lang")).to_pylist()}


def fill_origins(data: pa.Table, source_lang: str) -> pa.Table:
    """``data`` with every null ``origin`` (a shard written before builds filled the column)
    set to what it must be: ``source`` for the source language, else ``mt``."""
    column = data.column(ORIGIN)
    if not column.null_count:
        return data
    implied = pc.if_else(pc.equal(data.column("lang"), source_lang), "source", "mt")
    filled = pc.if_else(pc.is_null(column), implied, column)
    return data.set_column(data.column_names.index(ORIGIN), pa.field(ORIGIN, pa.string()), filled)


def origin_counts(data: pa.Table, langs: list[str]) -> dict[str, dict[str, int]]:
    """Rows per language and origin (``data`` with its origins filled)."""
    counts = data.select(["lang", ORIGIN]).group_by(["lang", ORIGIN]).aggregate([([], "count_all")])
    found: dict[str, dict[str, int]] = {}
    for lang, origin, n in zip(*(counts.column(c).to_pylist() for c in ("lang", ORIGIN, "count_all")), strict=True):
        found.setdefault(lang, {})[origin] = n
    return {lang: dict(sorted(found.get(lang, {}).items())) for lang in langs}


def export_build(out_dir: Path, manifest: Manifest, stage: Path, *, include_rejected: bool = False,
                 max_rows_per_file: int = 500_000) -> DatasetExport:
    """Write the build's configs as Parquet under ``stage`` (see the module docstring)."""
    out_dir = Path(out_dir)
    data = read_arrow_files(out_dir, [f.path for f in manifest.files])
    if data is None or data.num_rows == 0:
        raise MtqaError(f"{out_dir} holds no rows to publish (manifest.json lists no data)")
    for column in ("id", "lang", "split", *ID_COLUMNS, "question", "passage", "answers"):
        if column not in data.column_names:
            raise MtqaError(f"{out_dir}: the shards have no {column!r} column (built by another mtqa?)")
    splits = _check_splits(data, str(out_dir / "data"))
    recorded_origins = ORIGIN in data.column_names and data.column(ORIGIN).null_count < data.num_rows
    if ORIGIN in data.column_names:
        data = fill_origins(data, manifest.source_lang)
    langs = _lang_order(manifest, pc.unique(data.column("lang")).to_pylist())
    seen = _lang_counts(data)
    if dict(seen) != {k: v for k, v in manifest.langs.items() if v}:
        raise MtqaError(f"{out_dir}/data holds {dict(sorted(seen.items()))} rows per language but manifest.json "
                        f"says {dict(sorted(manifest.langs.items()))}: the shards changed since the build")
    configs = []
    for lang in langs:
        rows = data.filter(pc.equal(data.column("lang"), lang))
        configs.append(_write_config(rows, stage, lang, "language", splits, max_rows_per_file))
        logger.info("config %s: %d rows", lang, rows.num_rows)
    # Flagged rows (flag mode, or human rows the filter flags rather than drops) are published with
    # keep = false: the parallel config needs each language's keep beside its text then.
    flagged = "keep" in data.column_names and not pc.all(pc.fill_null(data.column("keep"), True)).as_py()
    configs.append(_write_config(parallel_table(data, langs, with_keep=flagged), stage, PARALLEL, "parallel",
                                 splits, max_rows_per_file))
    if include_rejected:
        rejected_paths = [f.rejected["path"] for f in manifest.files if f.rejected]
        rejected = read_arrow_files(out_dir, rejected_paths)
        if rejected is None or rejected.num_rows == 0:
            raise MtqaError(f"--include-rejected: {out_dir} has no rejected rows (the filter dropped none, "
                            "or it ran in flag mode)")
        if ORIGIN in rejected.column_names:
            rejected = fill_origins(rejected, manifest.source_lang)
        got = _lang_counts(rejected)
        if dict(got) != {k: v for k, v in manifest.rejected.get("langs", {}).items() if v}:
            raise MtqaError(f"{out_dir}/rejected holds {dict(sorted(got.items()))} rows per language but "
                            f"manifest.json says {manifest.rejected.get('langs')}: the shards changed since the build")
        configs.append(_write_config(rejected, stage, REJECTED, "rejected",
                                     _check_splits(rejected, str(out_dir / "rejected")), max_rows_per_file))
    origins = origin_counts(data, langs) if recorded_origins else None
    unjudged = []
    if "lid_question" in data.column_names:
        for lang in langs[1:] if langs and langs[0] == manifest.source_lang else langs:
            rows = data.filter(pc.equal(data.column("lang"), lang))
            if rows.column("lid_question").null_count == rows.num_rows:
                unjudged.append(lang)
    return DatasetExport(tuple(configs), tuple(langs), origins, tuple(unjudged))
