"""Hybrid batch sampler for multilingual retrieval training (arXiv 2408.10536).

Needs the long-format shards ``mtqa build`` writes (``OUT/data/*.arrow``, one row per
(id, lang), :data:`mtqa.schema.OUTPUT_SCHEMA`) or a ``pa.Table`` in that schema. Rows with
``keep == False`` (failed by the quality filter in "flag" mode) are left out, and rows with
``is_impossible == True`` (SQuAD 2.0 unanswerable questions) are never used as a pair. Gives
batches of (query, positive passage) pairs for an in-batch-negatives loss such as
MultipleNegativesRankingLoss:

- **X-X** (probability ``alpha``): the whole batch is one language; query and passage are the
  question and passage of the same row.
- **X-Y** (probability ``1 - alpha``): every pair has its own ordered language pair
  ``(query_lang, passage_lang)`` with the two different, drawn uniformly among the pairs the
  id has (or ``query_lang`` fixed in the config).

Per epoch every usable id is used exactly once (up to ``drop_last``), a batch never holds
one ``passage_id`` twice (hence never two language versions of one id, so no in-batch
negative is a false negative), and ranks get disjoint sets of ids. The epoch is planned at
once: the ids are laid out passage by passage in a random order and dealt to the batches in
stripes (position ``i`` goes to batch ``i mod k``), which puts the questions of one passage
into different batches; the batches' kinds and languages are drawn next, and the few ids that
lack a batch's language are swapped with ids of other batches. Keys are read column-wise
once into numpy integer codes, in a canonical (sorted) order, so the plan does not depend on
the order of the files or rows; a batch is row indices into the memory-mapped table
(:class:`Batch` materialises texts on demand).

Plain iteration needs no torch; :meth:`HybridBatchSampler.torch_loader` and
:meth:`HybridBatchSampler.as_torch_dataset` import torch only when called.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mtqa.errors import MtqaError

XX = "X-X"
XY = "X-Y"
KEY_COLUMNS = ("id", "lang", "passage_id", "source")
TEXT_COLUMNS = ("question", "passage")
FLAG_COLUMNS = ("keep", "is_impossible")
#: Bump when the plan an epoch gives for the same data and config changes, so that an old
#: state is refused instead of resuming into different batches.
PLAN_VERSION = 2


@dataclass(slots=True)
class HybridSamplerConfig:
    """How batches are drawn.

    ``alpha``: probability that a batch is X-X. ``language_sampling``: X-X batch language
    drawn ``"uniform"`` over languages or by ``"size"`` (rows per language).
    ``query_lang``: fix the query language of X-Y pairs (passages in the other languages).
    ``source_temperature``: source shares ``size ** (1 / T)``; 1 uses every id of every
    source once per epoch, larger values subsample the larger sources (a fresh random subset
    each epoch) so that sources count more evenly. ``one_source_per_batch``: every batch from
    a single source. ``drop_last``: drop the ids that do not fill a whole batch, and the
    batches that would leave ranks with unequal counts; without it the epoch has
    ``ceil(ids / batch_size)`` batches of near-equal size.
    """

    batch_size: int = 32
    alpha: float = 0.5
    language_sampling: Literal["uniform", "size"] = "uniform"
    query_lang: str | None = None
    source_temperature: float = 1.0
    one_source_per_batch: bool = False
    seed: int = 0
    drop_last: bool = True


@dataclass(slots=True)
class Batch:
    """One batch: row indices into the table for each pair's query and passage.

    ``query_rows[i]`` and ``passage_rows[i]`` are the rows of the same id in the query and
    passage language (the same row for X-X); ``id_codes[i]`` is that id's index in
    ``sampler.id_names``. ``index`` is the batch's position among this rank's batches of
    ``epoch``. Texts are read from the table only when asked.
    """

    kind: str
    query_rows: np.ndarray
    passage_rows: np.ndarray
    query_lang_codes: np.ndarray
    passage_lang_codes: np.ndarray
    source_codes: np.ndarray
    id_codes: np.ndarray
    table: pa.Table = field(repr=False)
    lang_names: tuple[str, ...] = field(repr=False)
    epoch: int = 0
    index: int = 0
    texts: TextColumns | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.query_rows)

    def _column(self, name: str, rows: np.ndarray) -> list[str]:
        if self.texts is not None:
            return self.texts.get(name, rows)
        return self.table.column(name).take(rows).to_pylist()

    @property
    def queries(self) -> list[str]:
        return self._column("question", self.query_rows)

    @property
    def passages(self) -> list[str]:
        return self._column("passage", self.passage_rows)

    @property
    def ids(self) -> list[str]:
        return self._column("id", self.query_rows)


    @property
    def query_langs(self) -> list[str]:
        return [self.lang_names[c] for c in self.query_lang_codes.tolist()]

    @property
    def passage_langs(self) -> list[str]:
        return [self.lang_names[c] for c in self.passage_lang_codes.tolist()]

    @property
    def lang(self) -> str | None:
        """The batch language of an X-X batch; None for X-Y."""
        return self.lang_names[int(self.query_lang_codes[0])] if self.kind == XX and len(self) else None


class TextColumns:
    """Reads strings of a table's columns by row number, straight from the Arrow buffers.

    ``table.column(c).take(rows)`` on a memory-mapped build is a ``ChunkedArray`` of one chunk
    per shard (and record batch): a take resolves every chunk and cost 2.64 ms per batch of
    64 at 1M rows (10,340 pairs/s). Here each column's rows are located once (chunk, byte
    start and end, numpy arrays: 20 bytes per row and column, built on first use), and a batch
    decodes its strings from the mapped buffers directly; nothing is copied but the strings
    asked for. A column with nulls or of another type is read with ``take``.
    """

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        self._located: dict[str, tuple | None] = {}

    def _locate(self, name: str) -> tuple | None:
        if name not in self._located:
            column = self.table.column(name)
            located = None
            if (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)) and column.null_count == 0:
                wide = pa.types.is_large_string(column.type)
                views, chunk_of, starts, ends = [], [], [], []
                for c, chunk in enumerate(column.chunks):
                    if len(chunk) == 0:
                        continue
                    _, offsets_buffer, data_buffer = chunk.buffers()
                    offsets = np.frombuffer(offsets_buffer, dtype=np.int64 if wide else np.int32)
                    offsets = offsets[chunk.offset : chunk.offset + len(chunk) + 1].astype(np.int64)
                    views.append(memoryview(data_buffer) if data_buffer is not None else memoryview(b""))
                    chunk_of.append(np.full(len(chunk), len(views) - 1, dtype=np.int32))
                    starts.append(offsets[:-1])
                    ends.append(offsets[1:])
                if views:
                    located = (views, np.concatenate(chunk_of), np.concatenate(starts), np.concatenate(ends))
            self._located[name] = located
        return self._located[name]

    def get(self, name: str, rows: np.ndarray) -> list[str]:
        """The values of column ``name`` at ``rows``, in that order."""
        located = self._locate(name)
        if located is None:
            return self.table.column(name).take(rows).to_pylist()
        views, chunk_of, starts, ends = located
        return [str(views[c][a:b], "utf-8")
                for c, a, b in zip(chunk_of[rows].tolist(), starts[rows].tolist(), ends[rows].tolist())]

    def __getstate__(self) -> dict:
        return {"table": self.table, "_located": {}}  # memoryviews do not pickle; located again


def shard_paths(shards: str | Path | Sequence[str | Path]) -> list[Path]:
    """The ``.arrow`` files of a build folder, its ``data`` folder, a file, or a list of those."""
    if isinstance(shards, (str, Path)):
        shards = [shards]
    paths: list[Path] = []
    for item in shards:
        path = Path(item)
        if path.is_dir():
            data = path / "data" if (path / "data").is_dir() else path
            found = sorted(data.glob("*.arrow"))
            if not found:
                raise MtqaError(f"no .arrow shards found in {path} (is it a finished `mtqa build` output?)")
            paths += found
        elif path.is_file():
            paths.append(path)
        else:
            raise MtqaError(f"sampler: {path} does not exist")
    if not paths:
        raise MtqaError("sampler: no shards given")
    return paths


def read_shards(shards_or_table: pa.Table | str | Path | Sequence[str | Path],
                columns: Sequence[str] | None = None) -> pa.Table:
    """A table over the shards, memory-mapped (no copy): build folders, their ``data``
    folders, ``.arrow`` files, or a table passed through. ``columns`` selects columns (those
    a shard lacks are skipped), which also lets builds with different extra columns combine."""
    if isinstance(shards_or_table, pa.Table):
        table = shards_or_table
        return table.select([c for c in columns if c in table.column_names]) if columns else table
    tables = []
    for p in shard_paths(shards_or_table):
        try:
            table = pa.ipc.open_file(pa.memory_map(str(p), "r")).read_all()
        except (OSError, pa.ArrowInvalid) as e:
            raise MtqaError(f"sampler: cannot read {p} as an Arrow IPC file: {e}".splitlines()[0]) from None
        if columns:
            table = table.select([c for c in columns if c in table.column_names])
        tables.append(table)
    try:
        return pa.concat_tables(tables, promote_options="default") if len(tables) > 1 else tables[0]
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        raise MtqaError(f"sampler: shards have different schemas: {e}".splitlines()[0]) from None


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    """Integer codes of a string column, numbered in sorted order of the values."""
    uniq = pc.unique(column)
    uniq = uniq.take(pc.sort_indices(uniq))
    codes = pc.index_in(column, value_set=uniq).to_numpy(zero_copy_only=False)
    return codes.astype(np.int64, copy=False), uniq.to_pylist()


def _draw(cdf: np.ndarray, rng: np.random.Generator) -> int:
    return min(int(np.searchsorted(cdf, rng.random(), side="right")), len(cdf) - 1)


def _true_mask(table: pa.Table, name: str, default: bool, null: bool | None = None) -> np.ndarray:
    """Column ``name`` as booleans: ``default`` where the column is absent, ``null`` (default:
    ``default``) where a value is null."""
    if name not in table.column_names:
        return np.full(table.num_rows, default)
    fill = default if null is None else null
    return pc.fill_null(table.column(name), fill).to_numpy(zero_copy_only=False).astype(bool)


def _batch_count(n: int, batch_size: int, drop_last: bool) -> int:
    return n // batch_size if drop_last else math.ceil(n / batch_size)


def _capped_count(group_sizes: np.ndarray, batch_size: int, drop_last: bool) -> tuple[int, int]:
    """(batches, ids placed) when no passage may give more ids than there are batches."""
    k = _batch_count(int(group_sizes.sum()), batch_size, drop_last)
    while k > 0:
        n = int(np.minimum(group_sizes, k).sum())
        k2 = _batch_count(n, batch_size, drop_last)
        if k2 == k:
            return k, min(n, k * batch_size)
        k = k2
    return 0, 0


@dataclass(slots=True)
class _Plan:
    """One epoch, all ranks: per batch, its kind, and per pair the id and language codes."""

    kinds: list[str]
    ids: list[np.ndarray]
    query_langs: list[np.ndarray]
    passage_langs: list[np.ndarray]
    unplaced: int


class HybridBatchSampler:
    """Yields :class:`Batch` es mixing X-X and X-Y batches, free of false negatives.

    ``HybridBatchSampler(shards_or_table, config, rank=0, world_size=1)``. The epoch's batch
    sequence is fixed by ``(config.seed, epoch)`` and rank ``r`` takes batches
    ``r, r + W, ...`` of it; since every id is in at most one batch of an epoch, ranks never
    share an id, and together they give the single-rank sequence. Call :meth:`set_epoch`
    before each epoch; :meth:`state_dict` / :meth:`load_state_dict` resume mid-epoch with the
    same remaining batches (:meth:`torch_loader` keeps that true with DataLoader workers).
    """

    def __init__(self, shards_or_table, config: HybridSamplerConfig | None = None, rank: int = 0,
                 world_size: int = 1):
        self.config = config = config or HybridSamplerConfig()
        if world_size < 1 or not 0 <= rank < world_size:
            raise MtqaError(f"sampler: rank {rank} is not in [0, world_size={world_size})")
        if config.batch_size < 1:
            raise MtqaError(f"sampler: batch_size must be at least 1, got {config.batch_size}")
        if not 0.0 <= config.alpha <= 1.0:
            raise MtqaError(f"sampler: alpha must be in [0, 1], got {config.alpha}")
        if config.language_sampling not in ("uniform", "size"):
            raise MtqaError(f"sampler: language_sampling must be 'uniform' or 'size', got {config.language_sampling!r}")
        if not config.source_temperature > 0:
            raise MtqaError(f"sampler: source_temperature must be > 0, got {config.source_temperature}")
        self.rank, self.world_size = rank, world_size
        table = read_shards(shards_or_table)
        missing = [c for c in KEY_COLUMNS + TEXT_COLUMNS if c not in table.column_names]
        if missing:
            raise MtqaError(f"sampler: the shards lack column(s) {', '.join(missing)}")
        keep = _true_mask(table, "keep", True)
        if not keep.all():
            # Rows the quality filter failed ("flag" mode builds) are not trained on.
            table = table.filter(pa.array(keep))
        self.table = table
        if table.num_rows == 0:
            raise MtqaError("sampler: the shards hold no rows")
        self._index(table)
        self._check_feasible()
        self.epoch = 0
        self._skip = 0
        self._yielded = 0
        self._plan_cache: tuple[int, _Plan] | None = None
        self.texts = TextColumns(table)

    # ---- keys, computed once -------------------------------------------------------------
    def _index(self, table: pa.Table) -> None:
        id_codes, self.id_names = _codes(table.column("id"))
        lang_codes, langs = _codes(table.column("lang"))
        pass_codes, self.passage_names = _codes(table.column("passage_id"))
        src_codes, sources = _codes(table.column("source"))
        self.lang_names = tuple(langs)
        self.source_names = tuple(sources)
        n_ids, n_langs = len(self.id_names), len(langs)
        seen = np.zeros((n_ids, n_langs), dtype=np.int64)
        np.add.at(seen, (id_codes, lang_codes), 1)
        if int(seen.max()) > 1:
            i, lang = np.argwhere(seen > 1)[0]
            raise MtqaError(f"sampler: id {self.id_names[i]!r} has more than one {self.lang_names[lang]!r} row")
        # Unanswerable questions are never positives, nor are questions whose answerability is
        # unknown (null: a SQuAD file without answers, such as an official test set).
        usable = ~_true_mask(table, "is_impossible", False, null=True)
        row_of = np.full((n_ids, n_langs), -1, dtype=np.int64)
        rows = np.flatnonzero(usable)
        row_of[id_codes[rows], lang_codes[rows]] = rows
        self.row_of = row_of
        self.id_passage = np.empty(n_ids, dtype=np.int64)
        self.id_passage[id_codes] = pass_codes
        mixed = np.flatnonzero(self.id_passage[id_codes] != pass_codes)
        if len(mixed):
            raise MtqaError(f"sampler: id {self.id_names[id_codes[mixed[0]]]!r} has rows with different passage_id values")
        self.id_source = np.empty(n_ids, dtype=np.int64)
        self.id_source[id_codes] = src_codes
        self.lang_rows = np.bincount(lang_codes[rows], minlength=n_langs)
        self._fingerprint_value = self._data_hash(id_codes, lang_codes, pass_codes, src_codes, usable)

        cfg = self.config
        if cfg.query_lang is not None and cfg.query_lang not in self.lang_names:
            raise MtqaError(f"sampler: query_lang {cfg.query_lang!r} is not in the data (languages: {', '.join(self.lang_names)})")
        if cfg.language_sampling == "size":
            self.lang_p = self.lang_rows / max(1, self.lang_rows.sum())
        else:
            self.lang_p = np.full(n_langs, 1.0 / n_langs)
        if cfg.query_lang is None:
            pairs = [(q, p) for q in range(n_langs) for p in range(n_langs) if q != p]
        else:
            q = self.lang_names.index(cfg.query_lang)
            pairs = [(q, p) for p in range(n_langs) if p != q]
        self.pair_q = np.array([q for q, _ in pairs], dtype=np.int64)
        self.pair_p = np.array([p for _, p in pairs], dtype=np.int64)
        have = row_of >= 0
        self.pair_ok = have[:, self.pair_q] & have[:, self.pair_p] if pairs else np.zeros((n_ids, 0), bool)
        can_xx = (have & (self.lang_p > 0)).any(axis=1) if cfg.alpha > 0 else np.zeros(n_ids, bool)
        can_xy = self.pair_ok.any(axis=1) if cfg.alpha < 1 else np.zeros(n_ids, bool)
        self.usable_ids = np.flatnonzero(can_xx | can_xy)
        self.source_ids = [self.usable_ids[self.id_source[self.usable_ids] == s] for s in range(len(sources))]
        sizes = np.array([len(ids) for ids in self.source_ids], dtype=np.float64)
        w = np.where(sizes > 0, sizes, 0.0) ** (1.0 / cfg.source_temperature)
        self.source_p = w / w.sum() if w.sum() else np.full(len(sizes), 1.0 / max(1, len(sizes)))
        self.source_quota = self._quotas(sizes.astype(np.int64))
        self._batches_per_group = self._group_batches()
        n = sum(k for k, _ in self._batches_per_group)
        if cfg.drop_last:
            n -= n % self.world_size
        self.n_batches_total = n

    def _data_hash(self, ids, langs, passages, sources, usable) -> str:
        """sha256 of the keys, independent of row order: the sorted (id, lang) keys with their
        passage, source and usability, and the names the codes stand for."""
        order = np.lexsort((langs, ids))
        h = hashlib.sha256()
        for names in (self.id_names, self.lang_names, self.passage_names, self.source_names):
            h.update(json.dumps(list(names), ensure_ascii=False).encode("utf-8"))
        for codes in (ids, langs, passages, sources, usable.astype(np.int64)):
            h.update(np.ascontiguousarray(codes[order], dtype=np.int64).tobytes())
        return h.hexdigest()

    def _quotas(self, sizes: np.ndarray) -> np.ndarray:
        """Ids drawn per source per epoch: all of them at temperature 1; otherwise the largest
        counts with shares ``size ** (1/T)`` that no source has to repeat an id for."""
        if self.config.source_temperature == 1.0 or len(sizes) < 2:
            return sizes.copy()
        share = self.source_p
        positive = share > 0
        total = float(np.min(sizes[positive] / share[positive]))
        return np.minimum(sizes, np.floor(total * share + 1e-9).astype(np.int64))

    def _group_batches(self) -> list[tuple[int, int]]:
        """(batches, ids placed) per layout group: one group of all sources, or one per source."""
        cfg = self.config
        groups = self.source_ids if cfg.one_source_per_batch else [self.usable_ids]
        quotas = self.source_quota if cfg.one_source_per_batch else [int(self.source_quota.sum())]
        out = []
        for ids, quota in zip(groups, quotas):
            if self.config.source_temperature == 1.0 or quota >= len(ids):
                sizes = np.bincount(self.id_passage[ids]) if len(ids) else np.zeros(0, np.int64)
                out.append(_capped_count(sizes[sizes > 0], cfg.batch_size, cfg.drop_last))
            else:
                # Subsampled: which passages the subset hits is random, so count without caps
                # (a passage with more questions than batches loses the excess at layout time).
                k = _batch_count(int(quota), cfg.batch_size, cfg.drop_last)
                out.append((k, min(int(quota), k * cfg.batch_size)))
        return out

    def _check_feasible(self) -> None:
        cfg, bs = self.config, self.config.batch_size
        groups = ([(self.source_names[s], ids) for s, ids in enumerate(self.source_ids)]
                  if cfg.one_source_per_batch else [("all sources", self.usable_ids)])
        if cfg.alpha < 1.0 and len(self.pair_q) == 0:
            raise MtqaError(f"sampler: X-Y batches (alpha={cfg.alpha} < 1) need two languages; the data has {', '.join(self.lang_names)}")
        for name, ids in groups:
            if cfg.one_source_per_batch and not len(ids):
                continue
            have = self.row_of[ids] >= 0
            if cfg.alpha > 0.0:
                for lang in np.flatnonzero(self.lang_p > 0):
                    n = len(np.unique(self.id_passage[ids[have[:, lang]]]))
                    if n < bs:
                        raise MtqaError(f"sampler: batch_size {bs} exceeds the {n} distinct passages in "
                                        f"{self.lang_names[lang]!r} ({name}); an X-X batch cannot be filled without false negatives")
            if cfg.alpha < 1.0:
                ok = self.pair_ok[ids].any(axis=1)
                n = len(np.unique(self.id_passage[ids[ok]]))
                if n < bs:
                    raise MtqaError(f"sampler: batch_size {bs} exceeds the {n} distinct passages with a language pair "
                                    f"({name}); an X-Y batch cannot be filled without false negatives")
        if self.n_batches_total == 0:
            raise MtqaError(f"sampler: {len(self.usable_ids)} usable ids do not fill one batch of {bs} "
                            f"on each of {self.world_size} rank(s)")

    # ---- epochs and state ----------------------------------------------------------------
    def __len__(self) -> int:
        """Batches this rank yields per epoch (exact)."""
        n = self.n_batches_total
        return n // self.world_size + (1 if self.rank < n % self.world_size else 0)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        self._skip = 0
        self._yielded = 0

    def fingerprint(self) -> str:
        """What a saved state must match: the data's keys (order-free), the config and the plan version."""
        h = hashlib.sha256(self._fingerprint_value.encode())
        h.update(json.dumps({"config": asdict(self.config), "plan": PLAN_VERSION}, sort_keys=True).encode())
        return h.hexdigest()[:32]

    def state_dict(self) -> dict:
        """Where this rank is: the epoch and the batches of it consumed so far."""
        return {"epoch": self.epoch, "batches_yielded": self._yielded, "rank": self.rank,
                "world_size": self.world_size, "fingerprint": self.fingerprint()}

    def load_state_dict(self, state: dict) -> None:
        if state.get("world_size") != self.world_size or state.get("rank") != self.rank:
            raise MtqaError(f"sampler: state is for rank {state.get('rank')} of {state.get('world_size')}, "
                            f"this sampler is rank {self.rank} of {self.world_size}")
        if state.get("fingerprint") != self.fingerprint():
            raise MtqaError("sampler: state was saved for other data or another config")
        done = int(state["batches_yielded"])
        if not 0 <= done <= len(self):
            raise MtqaError(f"sampler: state says {done} batches were used of an epoch of {len(self)}")
        self.epoch = int(state["epoch"])
        self._skip = self._yielded = done

    # ---- the plan ------------------------------------------------------------------------
    def plan(self, epoch: int) -> _Plan:
        """Every batch of ``epoch`` for all ranks (cached for the last epoch asked)."""
        if self._plan_cache is None or self._plan_cache[0] != epoch:
            self._plan_cache = (epoch, self._make_plan(epoch))
        return self._plan_cache[1]

    def _make_plan(self, epoch: int) -> _Plan:
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, epoch])
        if cfg.one_source_per_batch:
            groups = [self._subsample(ids, int(q), rng) for ids, q in zip(self.source_ids, self.source_quota)]
        else:
            groups = [np.concatenate([self._subsample(ids, int(q), rng)
                                      for ids, q in zip(self.source_ids, self.source_quota)])]
        matrices, spares = [], []
        for ids, (k, _) in zip(groups, self._batches_per_group):
            if k:
                m, s = self._layout(ids, k, rng)
                matrices.append(m)
                spares.append(s)
        kinds, langs, members = [], [], []
        for m, spare in zip(matrices, spares):
            kind, lang = self._specs(len(m), rng)
            unplaced = self._repair(m, kind, lang, spare, rng)
            kinds.append(kind)
            langs.append(lang)
            members.append((m, unplaced))
        kind = np.concatenate(kinds)
        lang = np.concatenate(langs)
        order = rng.permutation(len(kind))[: self.n_batches_total]
        rows = [(mi, bi) for mi, (m, _) in enumerate(members) for bi in range(len(m))]
        plan = _Plan([], [], [], [], unplaced=sum(u for _, u in members))
        for b in order.tolist():
            mi, bi = rows[b]
            ids = members[mi][0][bi]
            ids = ids[ids >= 0]
            if kind[b]:
                q = p = np.full(len(ids), lang[b], dtype=np.int64)
            else:
                q, p = self._pairs(ids, rng)
            plan.kinds.append(XX if kind[b] else XY)
            plan.ids.append(ids)
            plan.query_langs.append(q)
            plan.passage_langs.append(p)
        return plan

    def _subsample(self, ids: np.ndarray, quota: int, rng: np.random.Generator) -> np.ndarray:
        return ids if quota >= len(ids) else rng.choice(ids, size=quota, replace=False)

    def _layout(self, ids: np.ndarray, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Deal ``ids`` into ``k`` batches, no passage twice in one: a (k, batch_size) matrix of
        ids (-1 = empty slot, only without ``drop_last``) and the ids left over."""
        bs = self.config.batch_size
        ids = rng.permutation(ids)
        passage_rank = rng.permutation(len(self.passage_names))
        ids = ids[np.argsort(passage_rank[self.id_passage[ids]], kind="stable")]
        pas = self.id_passage[ids]
        starts = np.flatnonzero(np.r_[True, pas[1:] != pas[:-1]])
        within = np.arange(len(ids)) - np.repeat(starts, np.diff(np.r_[starts, len(ids)]))
        placed = ids[within < k]  # a passage gives at most one id per batch
        left = [ids[within >= k]]
        n = min(len(placed), k * bs)
        left.append(placed[n:])
        placed = placed[:n]
        matrix = np.full((k, bs), -1, dtype=np.int64)
        pos = np.arange(n)
        matrix[pos % k, pos // k] = placed
        return matrix, np.concatenate(left)

    def _specs(self, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Per batch: X-X or not, and the X-X language (-1 for X-Y)."""
        xx = rng.random(k) < self.config.alpha
        lang_cdf = np.cumsum(self.lang_p)
        lang = np.minimum(np.searchsorted(lang_cdf, rng.random(k), side="right"), len(lang_cdf) - 1)
        return xx, np.where(xx, lang, -1).astype(np.int64)

    def _fits(self, ids: np.ndarray, xx: np.ndarray, lang: np.ndarray) -> np.ndarray:
        """Whether each id can be a pair of a batch of that kind and language."""
        ok = np.zeros(len(ids), dtype=bool)
        valid = ids >= 0
        safe = np.where(valid, ids, 0)
        ok_xx = self.row_of[safe, np.maximum(lang, 0)] >= 0
        ok_xy = self.pair_ok[safe].any(axis=1) if self.pair_ok.shape[1] else np.zeros(len(ids), bool)
        ok[:] = np.where(xx, ok_xx, ok_xy)
        return ok & valid

    def _repair(self, m: np.ndarray, xx: np.ndarray, lang: np.ndarray, spare: np.ndarray,
                rng: np.random.Generator) -> int:
        """Swap ids that lack their batch's language with ids of other batches (or spare ids)
        for which both moves are valid; an id no swap can place leaves the epoch. Returns how
        many slots stayed empty."""
        k, bs = m.shape
        batch_of = np.repeat(np.arange(k), bs)
        flat = m.reshape(-1)
        fits = self._fits(flat, xx[batch_of], lang[batch_of])
        bad = np.flatnonzero(~fits & (flat >= 0))
        if not len(bad):
            return 0
        passages = np.where(m >= 0, self.id_passage[np.maximum(m, 0)], -1)
        spare = list(rng.permutation(spare))
        empty = 0
        for slot in rng.permutation(bad).tolist():
            b, j = divmod(slot, bs)
            a = int(m[b, j])
            if a < 0 or self._fits(np.array([a]), xx[[b]], lang[[b]])[0]:
                continue
            pa_ = self.id_passage[a]
            done = False
            # Another batch's id that fits here, while ``a`` fits there.
            # A random sample of slots first (enough when most ids fit most batches), then all.
            tries = [rng.integers(k * bs, size=min(k * bs, 512))]
            tries += np.array_split(rng.permutation(k * bs), max(1, (k * bs) // 4096))
            for chunk in tries:
                cand = flat[chunk]
                cb = chunk // bs
                ok = (cand >= 0) & (cb != b)
                ok &= self._fits(cand, np.full(len(cand), xx[b]), np.full(len(cand), lang[b]))
                ok &= self._fits(np.full(len(cand), a), xx[cb], lang[cb])
                cp = np.where(cand >= 0, self.id_passage[np.maximum(cand, 0)], -1)
                # ``a``'s passage must not be in the other batch (but for the id leaving it) ...
                ok &= ~((passages[cb] == pa_).any(axis=1) & (cp != pa_))
                # ... and the incoming id's passage must not be in this batch (but for ``a``).
                row = passages[b]
                ok &= ~(np.isin(cp, row) & (cp != pa_))
                hit = np.flatnonzero(ok)
                if len(hit):
                    other = int(chunk[hit[0]])
                    b2, j2 = divmod(other, bs)
                    c = int(m[b2, j2])
                    m[b, j], m[b2, j2] = c, a
                    passages[b, j], passages[b2, j2] = self.id_passage[c], pa_
                    flat = m.reshape(-1)
                    done = True
                    break
            if done:
                continue
            for i, s in enumerate(spare):
                ps = self.id_passage[s]
                if self._fits(np.array([s]), xx[[b]], lang[[b]])[0] and (ps == pa_ or ps not in passages[b]):
                    m[b, j] = s
                    passages[b, j] = ps
                    spare[i] = a
                    done = True
                    break
            if not done:
                m[b, j] = -1
                passages[b, j] = -1
                empty += 1
            flat = m.reshape(-1)
        return empty

    def _pairs(self, ids: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """An ordered language pair per id, uniform among the pairs that id has."""
        n_pairs = len(self.pair_q)
        k = rng.integers(n_pairs, size=len(ids))
        ok = self.pair_ok[ids, k]
        if not ok.all():
            for i in np.flatnonzero(~ok).tolist():
                choices = np.flatnonzero(self.pair_ok[ids[i]])
                k[i] = choices[rng.integers(len(choices))]
        return self.pair_q[k], self.pair_p[k]

    # ---- iteration -----------------------------------------------------------------------
    def my_batches(self, epoch: int) -> Iterator[tuple[int, str, np.ndarray, np.ndarray, np.ndarray]]:
        """This rank's batches of ``epoch``: (position among them, kind, id codes, query and
        passage language codes)."""
        plan = self.plan(epoch)
        for i, b in enumerate(range(self.rank, len(plan.kinds), self.world_size)):
            yield i, plan.kinds[b], plan.ids[b], plan.query_langs[b], plan.passage_langs[b]

    def __iter__(self) -> Iterator[Batch]:
        skip, self._yielded = self._skip, self._skip
        self._skip = 0
        return self._batches(self.epoch, skip, count=True)

    def _batches(self, epoch: int, skip: int, count: bool, every: int = 1, offset: int = 0) -> Iterator[Batch]:
        for i, kind, ids, q, p in self.my_batches(epoch):
            if i < skip or (i - skip) % every != offset:
                continue
            if count:
                self._yielded = i + 1
            yield Batch(kind, self.row_of[ids, q], self.row_of[ids, p], q, p, self.id_source[ids], ids,
                        self.table, self.lang_names, epoch, i, self.texts)

    # ---- torch ---------------------------------------------------------------------------
    def as_torch_dataset(self):
        """A ``torch.utils.data.IterableDataset`` yielding, per batch of the current epoch from
        the resume point on, ``{"query": [...], "passage": [...], "kind", "query_lang": [...],
        "passage_lang": [...], "state": {...}}``; use it with ``DataLoader(ds, batch_size=None)``.
        With ``num_workers=W`` worker ``w`` yields every W-th batch and the loader restores
        the order. The main process cannot see what its workers yielded, so save the last
        consumed batch's ``state`` (or use :meth:`torch_loader`, which does that for you)."""
        return _torch_dataset(self, self.epoch, self._skip)

    def torch_loader(self, num_workers: int = 0, **dataloader_kwargs):
        """An iterable over a ``DataLoader`` of :meth:`as_torch_dataset` that counts the batches
        consumed in the main process, so :meth:`state_dict` is right with any ``num_workers``."""
        return HybridBatchLoader(self, num_workers=num_workers, **dataloader_kwargs)

    def _item(self, batch: Batch) -> dict:
        state = {"epoch": batch.epoch, "batches_yielded": batch.index + 1, "rank": self.rank,
                 "world_size": self.world_size, "fingerprint": self.fingerprint()}
        return {"query": batch.queries, "passage": batch.passages, "kind": batch.kind,
                "query_lang": batch.query_langs, "passage_lang": batch.passage_langs, "state": state}


def _torch_dataset(sampler: HybridBatchSampler, epoch: int, skip: int):
    try:
        from torch.utils.data import IterableDataset, get_worker_info
    except ImportError:
        raise MtqaError("sampler: the torch dataset needs torch (pip install torch)") from None

    class HybridBatchDataset(IterableDataset):
        def __len__(self):
            return len(sampler) - skip

        def __iter__(self):
            info = get_worker_info()
            wid, nw = (info.id, info.num_workers) if info else (0, 1)
            for batch in sampler._batches(epoch, skip, count=False, every=nw, offset=wid):
                yield sampler._item(batch)

    return HybridBatchDataset()


class HybridBatchLoader:
    """``sampler.torch_loader(num_workers=2)``: the current epoch's batches (from the resume
    point) through a ``DataLoader``, each as :meth:`HybridBatchSampler.as_torch_dataset`
    gives it. The main process counts what it hands out, so ``sampler.state_dict()`` taken
    between batches resumes exactly there, whatever the workers had prefetched."""

    def __init__(self, sampler: HybridBatchSampler, num_workers: int = 0, **dataloader_kwargs):
        self.sampler = sampler
        self.num_workers = num_workers
        self.dataloader_kwargs = dataloader_kwargs

    def __len__(self) -> int:
        return len(self.sampler)

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    def state_dict(self) -> dict:
        return self.sampler.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.sampler.load_state_dict(state)

    def __iter__(self):
        from torch.utils.data import DataLoader

        s = self.sampler
        skip = s._skip
        s._skip = 0
        s._yielded = skip
        s.plan(s.epoch)  # planned once here; forked workers inherit it
        loader = DataLoader(_torch_dataset(s, s.epoch, skip), batch_size=None, num_workers=self.num_workers,
                            **self.dataloader_kwargs)
        for item in loader:
            s._yielded = int(item["state"]["batches_yielded"])
            yield item
