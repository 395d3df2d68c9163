"""Hybrid batch sampler for multilingual retrieval training (arXiv 2408.10536).

Needs the long-format shards ``mtqa build`` writes (``OUT/data/part-*.arrow``, one row per
(id, lang), :data:`mtqa.schema.OUTPUT_SCHEMA`) or a ``pa.Table`` in that schema; rows with
``keep == False`` (failed by the quality filter in "flag" mode) are left out. Gives batches
of (query, positive passage) pairs for an in-batch-negatives loss such as
MultipleNegativesRankingLoss:

- **X-X** (probability ``alpha``): the whole batch is one language; query and passage are the
  question and passage of the same row.
- **X-Y** (probability ``1 - alpha``): every pair has its own ordered language pair
  ``(query_lang, passage_lang)`` with the two different, drawn uniformly (or ``query_lang``
  fixed in the config).

A batch never holds one ``passage_id`` twice, hence never two language versions of one id,
so no in-batch negative is a false negative. Keys are read column-wise once into numpy
integer codes; the hot path is numpy on small arrays, and a batch is row indices into the
memory-mapped table (:class:`Batch` materialises texts on demand).

Plain iteration needs no torch; :meth:`HybridBatchSampler.as_torch_dataset` wraps it in a
``torch.utils.data.IterableDataset`` and imports torch only then.
"""

from __future__ import annotations

import hashlib
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


@dataclass(slots=True)
class HybridSamplerConfig:
    """How batches are drawn.

    ``alpha``: probability that a batch is X-X. ``language_sampling``: X-X batch language
    drawn ``"uniform"`` over languages or by ``"size"`` (rows per language).
    ``query_lang``: fix the query language of X-Y pairs (passages in the other languages).
    ``source_temperature``: sources weighted by ``size ** (1 / T)`` (1 = proportional to
    size, large = uniform). ``one_source_per_batch``: every batch from a single source.
    ``drop_last``: drop the last, smaller batch of an epoch and the batches that would leave
    ranks with unequal counts.
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
    passage language (the same row for X-X). Texts are read from the table only when asked.
    """

    kind: str
    query_rows: np.ndarray
    passage_rows: np.ndarray
    query_lang_codes: np.ndarray
    passage_lang_codes: np.ndarray
    source_codes: np.ndarray
    table: pa.Table = field(repr=False)
    lang_names: tuple[str, ...] = field(repr=False)

    def __len__(self) -> int:
        return len(self.query_rows)

    @property
    def queries(self) -> list[str]:
        return self.table.column("question").take(self.query_rows).to_pylist()

    @property
    def passages(self) -> list[str]:
        return self.table.column("passage").take(self.passage_rows).to_pylist()

    @property
    def ids(self) -> list[str]:
        return self.table.column("id").take(self.query_rows).to_pylist()

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


def read_shards(shards_or_table: pa.Table | str | Path | Sequence[str | Path]) -> pa.Table:
    """A table over the shards, memory-mapped (no copy): a build folder, its ``data`` folder,
    one ``.arrow`` file, a list of files, or a table passed through."""
    if isinstance(shards_or_table, pa.Table):
        return shards_or_table
    if isinstance(shards_or_table, (str, Path)):
        path = Path(shards_or_table)
        if path.is_dir():
            data = path / "data" if (path / "data").is_dir() else path
            paths = sorted(data.glob("part-*.arrow")) or sorted(data.glob("*.arrow"))
        elif path.is_file():
            paths = [path]
        else:
            raise MtqaError(f"sampler: {path} does not exist")
    else:
        paths = [Path(p) for p in shards_or_table]
    if not paths:
        raise MtqaError(f"sampler: no .arrow shards found in {shards_or_table}")
    tables = []
    for p in paths:
        try:
            tables.append(pa.ipc.open_file(pa.memory_map(str(p), "r")).read_all())
        except (OSError, pa.ArrowInvalid) as e:
            raise MtqaError(f"sampler: cannot read {p} as an Arrow IPC file: {e}".splitlines()[0]) from None
    try:
        return pa.concat_tables(tables)
    except pa.ArrowInvalid as e:
        raise MtqaError(f"sampler: shards have different schemas: {e}".splitlines()[0]) from None


def _codes(column: pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    uniq = pc.unique(column)
    codes = pc.index_in(column, value_set=uniq).to_numpy(zero_copy_only=False)
    return codes.astype(np.int64, copy=False), uniq.to_pylist()


def _draw(cdf: np.ndarray, rng: np.random.Generator) -> int:
    return min(int(np.searchsorted(cdf, rng.random(), side="right")), len(cdf) - 1)


class _Stream:
    """The ids of one source in a shuffled order, reshuffled at each wrap, plus the ids
    skipped so far (``carry``), which are offered again first."""

    __slots__ = ("carry", "ids", "perm", "pos")

    def __init__(self, ids: np.ndarray, rng: np.random.Generator):
        self.ids = ids
        self.perm = rng.permutation(ids)
        self.pos = 0
        self.carry = ids[:0]

    def take(self, k: int, rng: np.random.Generator) -> np.ndarray:
        end = self.pos + k
        if end <= len(self.perm):
            out = self.perm[self.pos:end]
            self.pos = end
            return out
        parts = [self.perm[self.pos:]]
        k -= len(parts[0])
        while k > 0:
            self.perm = rng.permutation(self.ids)
            step = min(k, len(self.perm))
            parts.append(self.perm[:step])
            self.pos = step
            k -= step
        return np.concatenate(parts)


class HybridBatchSampler:
    """Yields :class:`Batch` es mixing X-X and X-Y batches, free of false negatives.

    ``HybridBatchSampler(shards_or_table, config, rank=0, world_size=1)``. An epoch has
    ``ids // batch_size`` batches (one more, smaller, when ``drop_last`` is off); the
    sequence is fixed by ``config.seed + epoch`` and rank ``r`` takes batches ``r, r + W, ...``
    of it, so ranks never overlap and together give the single-rank sequence. Call
    :meth:`set_epoch` before each epoch; :meth:`state_dict` / :meth:`load_state_dict` resume
    mid-epoch with the same remaining batches.
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
        if "keep" in table.column_names:
            # Rows the quality filter failed ("flag" mode builds) are not trained on.
            table = table.filter(pc.fill_null(table.column("keep"), True))
        self.table = table
        missing = [c for c in KEY_COLUMNS + ("question", "passage") if c not in table.column_names]
        if missing:
            raise MtqaError(f"sampler: the shards lack column(s) {', '.join(missing)}")
        if table.num_rows == 0:
            raise MtqaError("sampler: the shards hold no rows")
        self._index(table)
        self._check_feasible()
        self.epoch = 0
        self._skip = 0
        self._yielded = 0

    # ---- keys, computed once -------------------------------------------------------------
    def _index(self, table: pa.Table) -> None:
        id_codes, self.id_names = _codes(table.column("id"))
        lang_codes, langs = _codes(table.column("lang"))
        pass_codes, _ = _codes(table.column("passage_id"))
        src_codes, sources = _codes(table.column("source"))
        self.lang_names = tuple(langs)
        self.source_names = tuple(sources)
        n_ids, n_langs = len(self.id_names), len(langs)
        row_of = np.full((n_ids, n_langs), -1, dtype=np.int64)
        row_of[id_codes, lang_codes] = np.arange(table.num_rows, dtype=np.int64)
        if int((row_of >= 0).sum()) != table.num_rows:
            raise MtqaError("sampler: an (id, lang) pair appears in more than one row")
        self.row_of = row_of
        self.id_passage = np.empty(n_ids, dtype=np.int64)
        self.id_passage[id_codes] = pass_codes
        self.id_source = np.empty(n_ids, dtype=np.int64)
        self.id_source[id_codes] = src_codes
        self.lang_rows = np.bincount(lang_codes, minlength=n_langs)

        cfg = self.config
        if cfg.query_lang is not None and cfg.query_lang not in self.lang_names:
            raise MtqaError(f"sampler: query_lang {cfg.query_lang!r} is not in the data (languages: {', '.join(self.lang_names)})")
        if cfg.language_sampling == "size":
            self.lang_p = self.lang_rows / self.lang_rows.sum()
        else:
            self.lang_p = np.full(n_langs, 1.0 / n_langs)
        if cfg.query_lang is None:
            pairs = [(q, p) for q in range(n_langs) for p in range(n_langs) if q != p]
        else:
            q = self.lang_names.index(cfg.query_lang)
            pairs = [(q, p) for p in range(n_langs) if p != q]
        self.pair_q = np.array([q for q, _ in pairs], dtype=np.int64)
        self.pair_p = np.array([p for _, p in pairs], dtype=np.int64)
        self.source_ids = [np.flatnonzero(self.id_source == s) for s in range(len(sources))]
        sizes = np.array([len(ids) for ids in self.source_ids], dtype=np.float64)
        w = sizes ** (1.0 / cfg.source_temperature)
        self.source_p = w / w.sum()
        self.n_batches_total = (n_ids // cfg.batch_size if cfg.drop_last
                                else math.ceil(n_ids / cfg.batch_size))
        if cfg.drop_last:
            self.n_batches_total -= self.n_batches_total % self.world_size

    def _check_feasible(self) -> None:
        cfg, bs = self.config, self.config.batch_size
        groups = ([(self.source_names[s], ids) for s, ids in enumerate(self.source_ids)]
                  if cfg.one_source_per_batch else [("all sources", np.arange(len(self.id_names)))])
        if cfg.alpha < 1.0 and len(self.pair_q) == 0:
            raise MtqaError(f"sampler: X-Y batches (alpha={cfg.alpha} < 1) need two languages; the data has {', '.join(self.lang_names)}")
        for name, ids in groups:
            have = self.row_of[ids] >= 0
            if cfg.alpha > 0.0:
                for lang in np.flatnonzero(self.lang_p > 0):
                    n = len(np.unique(self.id_passage[ids[have[:, lang]]]))
                    if n < bs:
                        raise MtqaError(f"sampler: batch_size {bs} exceeds the {n} distinct passages in "
                                        f"{self.lang_names[lang]!r} ({name}); an X-X batch cannot be filled without false negatives")
            if cfg.alpha < 1.0:
                ok = (have[:, self.pair_q] & have[:, self.pair_p]).any(axis=1)
                n = len(np.unique(self.id_passage[ids[ok]]))
                if n < bs:
                    raise MtqaError(f"sampler: batch_size {bs} exceeds the {n} distinct passages with a language pair "
                                    f"({name}); an X-Y batch cannot be filled without false negatives")

    # ---- epochs and state ----------------------------------------------------------------
    def __len__(self) -> int:
        """Batches this rank yields per epoch (exact)."""
        n = self.n_batches_total
        return n // self.world_size + (1 if self.rank < n % self.world_size else 0)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        self._skip = 0
        self._yielded = 0

    def _fingerprint(self) -> str:
        h = hashlib.sha1(repr((self.table.num_rows, len(self.id_names), self.lang_names,
                               self.source_names, asdict(self.config))).encode())
        return h.hexdigest()[:16]

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "batches_yielded": self._yielded, "rank": self.rank,
                "world_size": self.world_size, "fingerprint": self._fingerprint()}

    def load_state_dict(self, state: dict) -> None:
        if state.get("world_size") != self.world_size or state.get("rank") != self.rank:
            raise MtqaError(f"sampler: state is for rank {state.get('rank')} of {state.get('world_size')}, "
                            f"this sampler is rank {self.rank} of {self.world_size}")
        if state.get("fingerprint") != self._fingerprint():
            raise MtqaError("sampler: state was saved for other data or another config")
        self.epoch = int(state["epoch"])
        self._skip = self._yielded = int(state["batches_yielded"])

    # ---- the plan ------------------------------------------------------------------------
    def _fill(self, stream: _Stream, need: int, kind: str, lang: int, owner: np.ndarray, serial: int,
              rng: np.random.Generator):
        """Up to ``need`` ids from ``stream`` usable in this batch; ``owner[passage] == serial``
        marks passages already in it. Ids passed over stay in the stream's carry."""
        row_of, id_passage = self.row_of, self.id_passage
        cap = 4 * self.config.batch_size + 64
        limit = len(stream.ids) + len(stream.carry) + 2 * need
        fetched = 0
        out_ids, out_q, out_p = [], [], []
        while need > 0 and fetched <= limit:
            fresh = stream.take(max(2 * need, 16), rng)
            fetched += len(fresh)
            cand = np.concatenate((stream.carry, fresh)) if len(stream.carry) else fresh
            if kind == XX:
                q = p = np.full(len(cand), lang, dtype=np.int64)
                ok = row_of[cand, lang] >= 0
            else:
                k = rng.integers(len(self.pair_q), size=len(cand))
                q, p = self.pair_q[k], self.pair_p[k]
                ok = (row_of[cand, q] >= 0) & (row_of[cand, p] >= 0)
            pcs = id_passage[cand]
            ok &= owner[pcs] != serial
            idx = np.flatnonzero(ok)
            _, firsts = np.unique(pcs[idx], return_index=True)
            sel = idx[np.sort(firsts)[:need]]
            taken = np.zeros(len(cand), dtype=bool)
            taken[sel] = True
            rest = cand[~taken]
            stream.carry = rest[-cap:] if len(rest) > cap else rest
            if len(sel):
                out_ids.append(cand[sel])
                out_q.append(q[sel])
                out_p.append(p[sel])
                owner[pcs[sel]] = serial
                need -= len(sel)
        return out_ids, out_q, out_p

    def _plan(self, epoch: int) -> Iterator[tuple[int, str, np.ndarray, np.ndarray, np.ndarray]]:
        """Every batch of the epoch, all ranks: (index, kind, ids, query langs, passage langs)."""
        cfg = self.config
        rng = np.random.default_rng(cfg.seed + epoch)
        streams = [_Stream(ids, rng) for ids in self.source_ids]
        n_ids = len(self.id_names)
        n_src = len(streams)
        n_passages = int(self.id_passage.max()) + 1
        owner = np.full(n_passages, -1, dtype=np.int64)
        lang_cdf, source_cdf = np.cumsum(self.lang_p), np.cumsum(self.source_p)
        for b in range(self.n_batches_total):
            size = min(cfg.batch_size, n_ids - b * cfg.batch_size)
            kind = XX if rng.random() < cfg.alpha else XY
            lang = _draw(lang_cdf, rng) if kind == XX else -1
            if cfg.one_source_per_batch:
                counts = np.zeros(n_src, dtype=np.int64)
                counts[_draw(source_cdf, rng)] = size
            elif n_src == 1:
                counts = np.array([size])
            else:
                counts = rng.multinomial(size, self.source_p)
            ids, qs, ps = [], [], []
            short = 0
            for s in np.flatnonzero(counts):
                i, q, p = self._fill(streams[s], int(counts[s]), kind, lang, owner, b, rng)
                ids += i; qs += q; ps += p
                short += int(counts[s]) - sum(len(x) for x in i)
            if short and not cfg.one_source_per_batch:
                for s in np.argsort(-self.source_p, kind="stable"):
                    if not short:
                        break
                    i, q, p = self._fill(streams[s], short, kind, lang, owner, b, rng)
                    ids += i; qs += q; ps += p
                    short -= sum(len(x) for x in i)
            yield b, kind, np.concatenate(ids), np.concatenate(qs), np.concatenate(ps)

    def __iter__(self) -> Iterator[Batch]:
        skip, self._yielded = self._skip, self._skip
        self._skip = 0
        return self._batches(skip)

    def _batches(self, skip: int) -> Iterator[Batch]:
        mine = 0
        for b, kind, ids, q, p in self._plan(self.epoch):
            if b % self.world_size != self.rank:
                continue
            mine += 1
            if mine <= skip:
                continue
            self._yielded += 1
            yield Batch(kind, self.row_of[ids, q], self.row_of[ids, p], q, p, self.id_source[ids],
                        self.table, self.lang_names)

    # ---- torch ---------------------------------------------------------------------------
    def as_torch_dataset(self):
        """A ``torch.utils.data.IterableDataset`` yielding ``{"query": [...], "passage": [...],
        "kind": ..., "query_lang": [...], "passage_lang": [...]}`` per batch; use it with
        ``DataLoader(ds, batch_size=None)``. With ``num_workers=W`` worker ``w`` yields this
        rank's batches ``w, w + W, ...``."""
        try:
            from torch.utils.data import IterableDataset, get_worker_info
        except ImportError:
            raise MtqaError("sampler: as_torch_dataset needs torch (pip install torch)") from None
        sampler = self

        class HybridBatchDataset(IterableDataset):
            def __len__(self):
                return len(sampler)

            def __iter__(self):
                info = get_worker_info()
                wid, nw = (info.id, info.num_workers) if info else (0, 1)
                for i, batch in enumerate(sampler):
                    if i % nw == wid:
                        yield {"query": batch.queries, "passage": batch.passages, "kind": batch.kind,
                               "query_lang": batch.query_langs, "passage_lang": batch.passage_langs}

        return HybridBatchDataset()
