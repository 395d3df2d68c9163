"""HybridBatchSampler: epoch coverage, rank disjointness and no false negatives as
properties (hypothesis), frequencies over 10,000 batches, resume (with DataLoader workers),
the data fingerprint, and errors."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mtqa.errors import MtqaError
from mtqa.sampler import XX, XY, HybridBatchSampler, HybridSamplerConfig
from mtqa.schema import OUTPUT_SCHEMA


def make_table(n_ids: int, langs: list[str], sources: list[str] = ("s0",), per_passage: int = 1,
               drop_every: int = 0, impossible_every: int = 0) -> pa.Table:
    """Long-format table: ``per_passage`` ids share a passage; ``drop_every`` > 0 removes some
    non-first language rows so ids miss languages; ``impossible_every`` > 0 marks every n-th
    id unanswerable."""
    cols = {name: [] for name in OUTPUT_SCHEMA.names}
    r = 0
    for i in range(n_ids):
        src = sources[i % len(sources)]
        for j, lang in enumerate(langs):
            r += 1
            if drop_every and j and r % drop_every == 0:
                continue
            cols["id"].append(f"{src}:{i}")
            cols["lang"].append(lang)
            cols["source"].append(src)
            cols["split"].append("train")
            cols["title"].append("t")
            cols["question"].append(f"q{i}-{lang}")
            cols["passage"].append(f"p{i // per_passage}-{lang}")
            cols["answers"].append([])
            cols["is_impossible"].append(bool(impossible_every and i % impossible_every == 0))
            cols["passage_id"].append(f"{src}:{i // per_passage}")
    n = len(cols["id"])
    for name, values in cols.items():
        if len(values) < n:  # columns the sampler does not read
            values.extend([None] * (n - len(values)))
    return pa.table(cols, schema=OUTPUT_SCHEMA)


def build(table, config, **kwargs):
    """The sampler, or the example discarded when the drawn table is too small for the batch."""
    try:
        return HybridBatchSampler(table, config, **kwargs)
    except MtqaError as e:
        assume("exceeds" not in str(e) and "do not fill" not in str(e))
        raise


def key(batch):
    """A batch by its content (ids and languages), independent of row numbering."""
    return (batch.kind, tuple(batch.ids), tuple(batch.query_langs), tuple(batch.passage_langs))


def used_ids(sampler) -> list[str]:
    return [i for b in sampler for i in b.ids]


tables = st.builds(
    make_table,
    n_ids=st.integers(20, 80),
    langs=st.sampled_from([["en", "de"], ["en", "de", "fr"], ["en", "de", "fr", "sw"]]),
    sources=st.sampled_from([["s0"], ["s0", "s1"], ["s0", "s1", "s2"]]),
    per_passage=st.integers(1, 3),
    drop_every=st.sampled_from([0, 5]),
    impossible_every=st.sampled_from([0, 7]),
)
configs = st.builds(
    HybridSamplerConfig,
    batch_size=st.integers(1, 5),
    alpha=st.sampled_from([0.0, 0.3, 0.5, 1.0]),
    language_sampling=st.sampled_from(["uniform", "size"]),
    source_temperature=st.sampled_from([1.0, 2.0]),
    one_source_per_batch=st.booleans(),
    seed=st.integers(0, 1000),
    drop_last=st.booleans(),
)
fast = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fast
@given(tables, configs, st.integers(0, 3))
def test_batches_are_free_of_false_negatives_and_never_repeat_an_id(table, config, epoch):
    s = build(table, config)
    s.set_epoch(epoch)
    ids = np.array(table.column("id").to_pylist())
    pids = np.array(table.column("passage_id").to_pylist())
    langs = np.array(table.column("lang").to_pylist())
    impossible = np.array(table.column("is_impossible").to_pylist())
    seen, n, short = Counter(), 0, 0
    for batch in s:
        n += 1
        q, p = batch.query_rows, batch.passage_rows
        assert len(set(pids[p])) == len(p)  # no passage twice
        assert (ids[q] == ids[p]).all()  # a pair is one id in two languages
        assert not impossible[q].any() and not impossible[p].any()
        if batch.kind == XX:
            assert (q == p).all() and len(set(langs[q])) == 1
        else:
            assert batch.kind == XY and (langs[q] != langs[p]).all()
        if config.one_source_per_batch:
            assert len(set(batch.source_codes.tolist())) == 1
        assert 1 <= len(batch) <= config.batch_size
        short += config.batch_size - len(batch)
        seen.update(ids[q].tolist())
    assert n == len(s)
    assert max(seen.values()) == 1  # every id at most once per epoch
    if config.drop_last:
        assert short == s.plan(epoch).unplaced  # only ids no swap could place leave a batch short


@fast
@given(tables, st.integers(1, 5), st.sampled_from([0.0, 0.5, 1.0]), st.booleans(), st.integers(0, 1000),
       st.integers(0, 2))
def test_every_usable_id_is_used_exactly_once_per_epoch(table, batch_size, alpha, drop_last, seed, epoch):
    config = HybridSamplerConfig(batch_size=batch_size, alpha=alpha, seed=seed, drop_last=drop_last)
    s = build(table, config)
    per_passage = Counter(table.column("passage_id").to_pylist()).most_common(1)[0][1] // len(s.lang_names)
    assume(per_passage <= len(s) and s.plan(epoch).unplaced == 0)
    s.set_epoch(epoch)
    used = used_ids(s)
    usable = {s.id_names[i] for i in s.usable_ids}
    assert len(used) == len(set(used))
    assert set(used) <= usable
    if drop_last:
        assert len(used) == len(s) * batch_size and len(usable) - len(used) < batch_size
    else:
        assert set(used) == usable


def test_the_reported_defect_is_gone_3000_questions_batch_32():
    """Was: 2,976 pairs but only 2,223 distinct ids (753 twice, 777 never)."""
    s = HybridBatchSampler(make_table(3000, ["en", "de", "fr"], per_passage=5),
                           HybridSamplerConfig(batch_size=32, alpha=0.5, seed=3))
    for epoch in range(3):
        s.set_epoch(epoch)
        used = used_ids(s)
        assert len(used) == len(set(used)) == 93 * 32


@fast
@given(tables, configs, st.integers(2, 4), st.integers(0, 2))
def test_ranks_are_disjoint_by_id_and_together_give_one_rank(table, config, world_size, epoch):
    single = build(table, config)
    single.set_epoch(epoch)
    one = [key(b) for b in single]
    ranks = []
    for r in range(world_size):
        try:
            s = HybridBatchSampler(table, config, rank=r, world_size=world_size)
        except MtqaError as e:
            assume("do not fill" not in str(e))
            raise
        s.set_epoch(epoch)
        ranks.append([key(b) for b in s])
    if config.drop_last:
        assert len({len(r) for r in ranks}) == 1
    id_sets = [{i for b in r for i in b[1]} for r in ranks]
    for a, b in itertools.combinations(id_sets, 2):
        assert not a & b
    merged = [b for group in itertools.zip_longest(*ranks) for b in group if b is not None]
    assert merged == one[: len(merged)]
    assert len(one) - len(merged) < world_size


@fast
@given(tables, configs, st.integers(0, 3))
def test_deterministic_and_reseeded_per_epoch(table, config, epoch):
    a, b = build(table, config), build(table, config)
    a.set_epoch(epoch)
    b.set_epoch(epoch)
    first = [key(x) for x in a]
    assert first == [key(x) for x in b]
    assert first == [key(x) for x in a]  # iterating again gives the same epoch
    b.set_epoch(epoch + 1)
    if len(first) >= 3:
        assert first != [key(x) for x in b]


@fast
@given(tables, configs, st.integers(0, 10))
def test_state_dict_resumes_with_the_same_remaining_batches(table, config, stop):
    s = build(table, config)
    s.set_epoch(2)
    full = [key(x) for x in s]
    stop = min(stop, len(full))
    it = iter(s)
    head = [key(next(it)) for _ in range(stop)]
    state = s.state_dict()
    assert state["batches_yielded"] == stop and state["epoch"] == 2
    fresh = HybridBatchSampler(table, config)
    fresh.load_state_dict(state)
    assert head + [key(x) for x in fresh] == full


def test_fingerprint_covers_the_data_not_its_counts_and_ignores_row_order():
    table = make_table(40, ["en", "de", "fr"], per_passage=2)
    config = HybridSamplerConfig(batch_size=4, seed=5)
    s = HybridBatchSampler(table, config)
    s.set_epoch(1)
    it = iter(s)
    head = [key(next(it)) for _ in range(3)]
    state = s.state_dict()
    rest = [key(b) for b in it]

    # The same rows in another order (files read in another order): same plan, state accepted.
    shuffled = table.take(np.random.default_rng(0).permutation(table.num_rows))
    other = HybridBatchSampler(shuffled, config)
    other.load_state_dict(state)
    assert [key(b) for b in other] == rest
    other.set_epoch(1)
    assert [key(b) for b in other][:3] == head

    # Same counts, different data: one question moved to another passage.
    pids = table.column("passage_id").to_pylist()
    ids = table.column("id").to_pylist()
    moved = ["s0:0" if i == "s0:39" else p for i, p in zip(ids, pids)]
    changed = table.set_column(table.schema.get_field_index("passage_id"), "passage_id", pa.array(moved))
    with pytest.raises(MtqaError, match="other data or another config"):
        HybridBatchSampler(changed, config).load_state_dict(state)
    with pytest.raises(MtqaError, match="other data or another config"):
        HybridBatchSampler(table, HybridSamplerConfig(batch_size=4, seed=6)).load_state_dict(state)


def test_torch_loader_resumes_mid_epoch_with_two_workers():
    pytest.importorskip("torch")
    table = make_table(60, ["en", "de"], per_passage=2)
    config = HybridSamplerConfig(batch_size=4, seed=1)
    s = HybridBatchSampler(table, config)
    s.set_epoch(3)
    full = [(b["kind"], b["query"], b["passage"]) for b in s.torch_loader(num_workers=0)]
    assert len(full) == len(s) == 15

    s = HybridBatchSampler(table, config)
    s.set_epoch(3)
    loader = s.torch_loader(num_workers=2)
    it = iter(loader)
    head = [next(it) for _ in range(3)]
    state = s.state_dict()
    assert state["batches_yielded"] == 3 and state["epoch"] == 3  # was 0 with workers
    del it
    resumed = HybridBatchSampler(table, config)
    resumed.load_state_dict(state)
    rest = [(b["kind"], b["query"], b["passage"]) for b in resumed.torch_loader(num_workers=2)]
    assert [(b["kind"], b["query"], b["passage"]) for b in head] + rest == full


def test_raw_torch_dataset_with_workers_carries_the_state_to_resume_from():
    pytest.importorskip("torch")
    from torch.utils.data import DataLoader

    table = make_table(40, ["en", "de"])
    config = HybridSamplerConfig(batch_size=4, seed=2)
    s = HybridBatchSampler(table, config)
    out = list(DataLoader(s.as_torch_dataset(), batch_size=None, num_workers=2))
    assert len(out) == len(s) == 10
    assert all(len(b["query"]) == len(b["passage"]) == 4 for b in out)
    resumed = HybridBatchSampler(table, config)
    resumed.load_state_dict(out[3]["state"])
    assert [b.queries for b in resumed] == [b["query"] for b in out[4:]]


def test_unanswerable_and_filtered_rows_are_never_pairs():
    table = make_table(30, ["en", "de"], impossible_every=3)
    keep = [i % 10 != 1 for i in range(table.num_rows)]
    table = table.append_column("keep", pa.array(keep))
    s = HybridBatchSampler(table, HybridSamplerConfig(batch_size=2, alpha=0.5, drop_last=False))
    questions = [q for b in s for q in b.queries]
    dropped = {f"q{r // 2}-{'en' if r % 2 == 0 else 'de'}" for r in range(60) if r % 10 == 1}
    assert not {q for q in questions if int(q[1:].split("-")[0]) % 3 == 0}
    assert not set(questions) & dropped
    assert s.table.num_rows == 60 - len(dropped)


def test_frequencies_over_10000_batches():
    langs = [f"l{i}" for i in range(9)]
    table = make_table(4000, langs)
    cfg = HybridSamplerConfig(batch_size=2, alpha=0.5, seed=7)
    s = HybridBatchSampler(table, cfg)
    lang_col = np.array(table.column("lang").to_pylist())
    xx, lang_count, pair_count, batches = 0, Counter(), Counter(), 0
    epoch = 0
    while batches < 10_000:
        s.set_epoch(epoch)
        for batch in s:
            batches += 1
            if batch.kind == XX:
                xx += 1
                lang_count[batch.lang] += 1
            else:
                for q, p in zip(lang_col[batch.query_rows], lang_col[batch.passage_rows]):
                    pair_count[(q, p)] += 1
            if batches == 10_000:
                break
        epoch += 1
    assert abs(xx / batches - 0.5) <= 0.01
    assert set(lang_count) == set(langs)
    for lang in langs:
        assert abs(lang_count[lang] / xx - 1 / 9) <= 0.02
    assert len(pair_count) == 72
    total = sum(pair_count.values())
    # ±2 points would pass a pair that never occurs (its target is 1.4%); hold each pair to
    # ±0.5 points, about four standard deviations at ~10,000 pair draws.
    for n in pair_count.values():
        assert abs(n / total - 1 / 72) <= 0.005


def test_size_sampling_query_lang_and_source_temperature():
    table = pa.concat_tables([make_table(300, ["en", "de", "fr"], sources=["big"]),
                              make_table(100, ["en", "de"], sources=["small"])])
    s = HybridBatchSampler(table, HybridSamplerConfig(batch_size=4, alpha=1.0, language_sampling="size"))
    c = Counter(b.lang for e in range(20) for b in (s.set_epoch(e), s)[1])
    assert c["fr"] / sum(c.values()) == pytest.approx(300 / 1100, abs=0.04)
    s = HybridBatchSampler(table, HybridSamplerConfig(batch_size=4, alpha=0.0, query_lang="en"))
    langs = np.array(table.column("lang").to_pylist())
    for b in s:
        assert set(langs[b.query_rows]) == {"en"} and "en" not in set(langs[b.passage_rows])
    table = pa.concat_tables([make_table(300, ["en", "de"], sources=["big"]),
                              make_table(100, ["en", "de"], sources=["small"])])
    for temperature, share in [(1.0, 0.75), (1e6, 0.5)]:
        s = HybridBatchSampler(table, HybridSamplerConfig(batch_size=4, source_temperature=temperature))
        src = Counter(int(c) for e in range(10) for b in (s.set_epoch(e), s)[1] for c in b.source_codes)
        assert src[s.source_names.index("big")] / sum(src.values()) == pytest.approx(share, abs=0.04)


def test_texts_materialise_from_real_shard_files(tmp_path):
    table = make_table(30, ["en", "de"])
    (tmp_path / "data").mkdir()
    with pa.OSFile(str(tmp_path / "data" / "part-00000.arrow"), "wb") as f, pa.ipc.new_file(f, OUTPUT_SCHEMA) as w:
        w.write_table(table)
    s = HybridBatchSampler(tmp_path, HybridSamplerConfig(batch_size=3, alpha=0.0, seed=1))
    batch = next(iter(s))
    assert batch.kind == XY and batch.lang is None
    for q, p, ql, pl, i in zip(batch.queries, batch.passages, batch.query_langs, batch.passage_langs, batch.ids):
        n = int(i.split(":")[1])
        assert q == f"q{n}-{ql}" and p == f"p{n}-{pl}" and ql != pl


def test_torch_dataset_yields_text_batches():
    pytest.importorskip("torch")
    from torch.utils.data import DataLoader

    s = HybridBatchSampler(make_table(20, ["en", "de"]), HybridSamplerConfig(batch_size=4))
    out = list(DataLoader(s.as_torch_dataset(), batch_size=None))
    assert len(out) == len(s) == 5
    assert all(len(b["query"]) == len(b["passage"]) == 4 for b in out)


@pytest.mark.parametrize("kwargs, message", [
    ({"alpha": 1.5}, "alpha must be in [0, 1]"),
    ({"batch_size": 11}, "batch_size 11 exceeds the 10 distinct passages"),
    ({"query_lang": "xx"}, "query_lang 'xx' is not in the data"),
])
def test_bad_config_raises_one_line(kwargs, message):
    with pytest.raises(MtqaError) as e:
        HybridBatchSampler(make_table(20, ["en", "de"], per_passage=2), HybridSamplerConfig(**kwargs))
    assert message in str(e.value) and "\n" not in str(e.value)


def test_bad_input_raises(tmp_path):
    with pytest.raises(MtqaError, match="no .arrow shards"):
        HybridBatchSampler(tmp_path)
    with pytest.raises(MtqaError, match="need two languages"):
        HybridBatchSampler(make_table(20, ["en"]), HybridSamplerConfig(batch_size=2))
    s = HybridBatchSampler(make_table(20, ["en", "de"]), HybridSamplerConfig(batch_size=2))
    with pytest.raises(MtqaError, match="rank 0 of 2"):
        HybridBatchSampler(make_table(20, ["en", "de"]), HybridSamplerConfig(batch_size=2),
                           rank=0, world_size=2).load_state_dict(s.state_dict())


def test_questions_of_unknown_answerability_are_never_positives():
    """A SQuAD file without answers (an official test set) gives is_impossible = null."""
    table = make_table(40, ["en", "de"])
    unknown = [None if int(i.split(":")[1]) % 4 == 0 else False for i in table.column("id").to_pylist()]
    table = table.set_column(table.schema.get_field_index("is_impossible"), "is_impossible",
                             pa.array(unknown, pa.bool_()))
    s = HybridBatchSampler(table, HybridSamplerConfig(batch_size=5, alpha=0.5, seed=1, drop_last=False))
    used = {id_ for batch in s for id_ in batch.ids}
    assert used == {f"s0:{i}" for i in range(40) if i % 4}


def test_text_columns_read_what_take_reads_from_sliced_multi_chunk_and_large_string_columns():
    from mtqa.sampler import TextColumns

    base = make_table(60, ["en", "de", "fr"], per_passage=2)
    base = base.set_column(base.schema.get_field_index("question"), "question",
                           pa.array([f"ünï {i} 😀" * (i % 4) for i in range(base.num_rows)]))
    # Many chunks, some empty, one a slice (an offset into its buffers), as concat_tables makes.
    parts = [base.slice(0, 50), base.slice(50, 0), base.slice(50, 31), base.slice(81)]
    table = pa.concat_tables(parts)
    assert table.column("question").num_chunks == 4
    large = table.cast(pa.schema([f.with_type(pa.large_string()) if f.name == "passage" else f for f in table.schema]))
    rng = np.random.default_rng(0)
    for t in (table, large):
        texts = TextColumns(t)
        rows = rng.integers(0, t.num_rows, 500)
        for name in ("question", "passage", "id", "title"):
            assert texts.get(name, rows) == t.column(name).take(rows).to_pylist()
    with_nulls = TextColumns(table)  # "origin" is all null here: read with take
    assert with_nulls.get("origin", np.array([0, 1])) == [None, None]
    assert with_nulls._located["origin"] is None


def test_batch_texts_come_from_the_fast_reader_and_survive_pickling():
    import pickle

    sampler = HybridBatchSampler(make_table(40, ["en", "de"]), HybridSamplerConfig(batch_size=4))
    batch = next(iter(sampler))
    assert batch.texts is sampler.texts
    assert batch.queries == sampler.table.column("question").take(batch.query_rows).to_pylist()
    clone = pickle.loads(pickle.dumps(sampler.texts))
    assert clone.get("passage", batch.passage_rows) == batch.passages
