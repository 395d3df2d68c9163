"""The training data: the builds' shards, the hybrid sampler over them, and the pair view
the trainer reads.

:func:`load_train_data` opens every ``--data`` folder (memory-mapped), checks it, keeps the
``--langs`` asked for and builds one :class:`~mtqa.sampler.HybridBatchSampler` over all of
them. :func:`pair_dataset` is a ``datasets.Dataset`` with one row per possible pair
``(id, query language, passage language)``, numbered ``(q * L + p) * n_ids + id``; its two
columns hold row numbers into the shards and a transform turns them into the texts
``query`` and ``passage`` only for the rows asked for. No pair is stored: the L*L blocks of
the table share the sampler's ``row_of`` buffers, so the view costs a few bytes per shard row
whatever the number of languages.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mtqa.errors import MtqaError
from mtqa.sampler import FLAG_COLUMNS, KEY_COLUMNS, TEXT_COLUMNS, HybridBatchSampler, HybridSamplerConfig, read_shards
from mtqa.train.config import TrainConfig

logger = logging.getLogger(__name__)

COLUMNS = KEY_COLUMNS + TEXT_COLUMNS + FLAG_COLUMNS


@dataclass(frozen=True, slots=True)
class BuildInfo:
    """What the model card says about one build: its folder, manifest fingerprint, sources,
    languages and row counts (from ``manifest.json``; the shards when it has none)."""

    folder: str
    identity_sha256: str | None
    sources: tuple[str, ...]
    langs: dict[str, int]
    rows: int
    pipeline_name: str | None = None

    def to_dict(self) -> dict:
        return {"folder": self.folder, "identity_sha256": self.identity_sha256, "sources": list(self.sources),
                "langs": dict(self.langs), "rows": self.rows, "pipeline": self.pipeline_name}


@dataclass
class TrainData:
    """The sampler over all builds, the builds' descriptions, and the pairs used per epoch."""

    sampler: HybridBatchSampler
    builds: list[BuildInfo]
    langs: tuple[str, ...]
    rows_used: int
    _pairs: object = field(default=None, repr=False)

    @property
    def pairs(self):
        """The pair view (a ``datasets.Dataset``), built on first use."""
        if self._pairs is None:
            self._pairs = pair_dataset(self.sampler, name=", ".join(Path(b.folder).name for b in self.builds))
        return self._pairs

    @property
    def pairs_per_epoch(self) -> int:
        return len(self.sampler) * self.sampler.config.batch_size


def _source_names(sources) -> tuple[str, ...]:
    names = []
    for s in sources or []:
        names.append(str(s.get("name") or s.get("id") or s.get("spec") or s) if isinstance(s, dict) else str(s))
    return tuple(names)


def read_build(folder: str | Path) -> tuple[pa.Table, BuildInfo]:
    """One build's shards (the columns training reads, memory-mapped) and its description."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise MtqaError(f"--data {folder}: not a folder (pass the --out folder of `mtqa build`)")
    data = path / "data"
    if not data.is_dir() or not (sorted(data.glob("*.arrow"))):
        raise MtqaError(f"--data {folder}: no shards in {data} (is the build finished? `mtqa build --out {folder}` "
                        "writes them)")
    table = read_shards(path, columns=COLUMNS)
    missing = [c for c in KEY_COLUMNS + TEXT_COLUMNS if c not in table.column_names]
    if missing:
        raise MtqaError(f"--data {folder}: the shards lack column(s) {', '.join(missing)}")
    manifest_path = path / "manifest.json"
    manifest: dict = {}
    if manifest_path.is_file():
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise MtqaError(f"{manifest_path}: unreadable ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
        if not isinstance(manifest, dict):
            raise MtqaError(f"{manifest_path}: not an mtqa build manifest")
    counts = pc.value_counts(table.column("lang")).to_pylist()
    langs = {c["values"]: int(c["counts"]) for c in counts}
    info = BuildInfo(
        folder=str(path),
        identity_sha256=manifest.get("identity_sha256") or None,
        sources=_source_names(manifest.get("sources")) or tuple(sorted(set(table.column("source").to_pylist()))),
        langs=dict(sorted((manifest.get("langs") or langs).items())),
        rows=int(manifest.get("rows") or table.num_rows),
        pipeline_name=(manifest.get("pipeline") or {}).get("name"),
    )
    return table, info


def load_train_data(config: TrainConfig) -> TrainData:
    """Every build of ``config.data`` in one sampler, restricted to ``config.langs``."""
    tables, builds = [], []
    for folder in config.data:
        table, info = read_build(folder)
        tables.append(table)
        builds.append(info)
    table = pa.concat_tables(tables, promote_options="default") if len(tables) > 1 else tables[0]
    usable = table
    if "keep" in table.column_names:
        usable = table.filter(pc.fill_null(table.column("keep"), True))
    present = sorted(set(pc.unique(usable.column("lang")).to_pylist()))
    if config.langs is not None:
        for lang in config.langs:
            if lang not in present:
                listed = [b.folder for b in builds if lang in b.langs]
                why = (f"all its rows were filtered out of {', '.join(listed)}" if listed
                       else "no build has it")
                raise MtqaError(f"--langs {lang}: no training rows in that language ({why}); "
                                f"the builds have {', '.join(present)}")
        table = table.filter(pc.is_in(table.column("lang"), value_set=pa.array(config.langs)))
    sampler_config = HybridSamplerConfig(
        batch_size=config.batch_size, alpha=config.effective_alpha, language_sampling=config.language_sampling,
        query_lang=config.query_lang, source_temperature=config.source_temperature,
        one_source_per_batch=config.one_source_per_batch, seed=config.seed, drop_last=True)
    try:
        sampler = HybridBatchSampler(table, sampler_config)
    except MtqaError as e:
        raise MtqaError(str(e).removeprefix("sampler: ")) from None
    logger.info("training data: %d rows in %d languages from %d build(s); %d batches of %d per epoch",
                sampler.table.num_rows, len(sampler.lang_names), len(builds), len(sampler), config.batch_size)
    return TrainData(sampler=sampler, builds=builds, langs=sampler.lang_names,
                     rows_used=int((sampler.row_of >= 0).sum()))


class PairTexts:
    """The pair view's transform: row numbers -> the question (as ``query``) and the passage
    (as ``passage``) of those rows. Picklable, for DataLoader workers."""

    def __init__(self, table: pa.Table):
        self.questions = table.column("question")
        self.passages = table.column("passage")

    def __call__(self, batch: dict) -> dict:
        q = pa.array(np.asarray(batch["query"], dtype=np.int64))
        p = pa.array(np.asarray(batch["passage"], dtype=np.int64))
        return {"query": self.questions.take(q).to_pylist(), "passage": self.passages.take(p).to_pylist()}


def pair_index(sampler: HybridBatchSampler, ids: np.ndarray, query_langs: np.ndarray,
               passage_langs: np.ndarray) -> np.ndarray:
    """The pair view's row numbers of (id, query language, passage language) triples."""
    n_ids, n_langs = sampler.row_of.shape
    return (query_langs * n_langs + passage_langs) * n_ids + ids


def pair_dataset(sampler: HybridBatchSampler, name: str = "mtqa"):
    """A ``datasets.Dataset`` of every (id, query language, passage language), read as
    ``{"query": text, "passage": text}``; rows whose id lacks a language are never asked for."""
    from datasets import Dataset, DatasetInfo
    from datasets.table import InMemoryTable

    row_of = np.ascontiguousarray(sampler.row_of.T)  # (L, n_ids): one buffer per language
    columns = [pa.array(row_of[lang]) for lang in range(row_of.shape[0])]
    schema = pa.schema([("query", pa.int64()), ("passage", pa.int64())])
    blocks = [pa.Table.from_arrays([columns[q], columns[p]], schema=schema)
              for q in range(len(columns)) for p in range(len(columns))]
    info = DatasetInfo(dataset_name=f"mtqa: {name}",
                       description="(query, passage) pairs of mtqa builds for hybrid batch training")
    dataset = Dataset(InMemoryTable(pa.concat_tables(blocks)), info=info)
    dataset.set_transform(PairTexts(sampler.table))
    return dataset
