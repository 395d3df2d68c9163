"""The quality filter on real professional translations (XQuAD-R, 10 languages beside English):
it keeps nearly all of them and rejects bad rows built from the same data."""

import importlib.util
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from mtqa.lid import LidConfig
from mtqa.steps.filters import FilterConfig, QualityFilter

BENCH = Path(__file__).resolve().parents[3] / "benchmarks" / "bench_filter.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_filter", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def scored(shared_data):
    bench = _bench()
    if not (shared_data / "xquad-r" / "en.json").exists():
        pytest.skip("XQuAD-R not in the shared data folder")
    tables, sentences = [], []
    for kind in bench.KINDS:
        table, sents = bench.xquad_r_rows(kind, shared_data / "xquad-r")
        # One evaluate call for all three kinds: each distinct text is identified once.
        ids = pc.binary_join_element_wise(kind, table.column("id"), ":")
        tables.append(table.set_column(0, "id", ids))
        sentences += sents
    with QualityFilter(FilterConfig(lid=LidConfig(processes=1)), bench.XQUAD_R_LANGS) as quality:
        result = quality.evaluate(pa.concat_tables(tables), sentences)
    return {kind: result.filter(pc.starts_with(result.column("id"), f"{kind}:")) for kind in bench.KINDS}


def kept_by_lang(table: pa.Table) -> dict[str, tuple[int, int]]:
    out = {}
    for lang, keep in zip(table.column("lang").to_pylist(), table.column("keep").to_pylist()):
        if lang != "en":
            n, k = out.get(lang, (0, 0))
            out[lang] = (n + 1, k + bool(keep))
    return out


def test_real_translations_are_kept(scored):
    real = kept_by_lang(scored["real"])
    assert len(real) == 10 and all(n == 1190 for n, _ in real.values())
    total, kept = sum(n for n, _ in real.values()), sum(k for _, k in real.values())
    assert kept / total >= 0.995, real
    assert all(k / n >= 0.98 for n, k in real.values()), real
    # Source rows are never failed.
    en = scored["real"].filter(pc.equal(scored["real"].column("lang"), "en"))
    assert en.num_rows == 1190 and all(en.column("keep").to_pylist())


@pytest.mark.parametrize("kind, reason", [("copy", "copy"), ("wrong", "wrong_language")])
def test_bad_rows_are_rejected_for_the_right_reason(scored, kind, reason):
    bad = kept_by_lang(scored[kind])
    for lang, (n, k) in bad.items():
        assert (n - k) / n >= 0.99, (lang, n, k)
    translated = scored[kind].filter(pc.not_equal(scored[kind].column("lang"), "en"))
    with_reason = sum(reason in r for r in translated.column("filter_reasons").to_pylist())
    assert with_reason / translated.num_rows >= 0.99
