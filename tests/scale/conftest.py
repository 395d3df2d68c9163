"""Builds of the embedded sample with the toy model, shared by the scale-out tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtqa.config import BuildConfig, load_pipeline


def toy_config(out: Path, cache: Path, chunk_size: int = 4, **overrides) -> BuildConfig:
    """The offline default pipeline (64 XQuAD questions, toy cipher model) into ``out``,
    translating through the cache folder ``cache``."""
    return load_pipeline(None, out=str(out), chunk_size=chunk_size, **{"translate.cache_dir": str(cache)},
                         **overrides)


def output_bytes(out: Path) -> dict[str, bytes]:
    """Every shard file a build wrote (data and rejected rows), by its path under ``out``."""
    return {str(p.relative_to(out)): p.read_bytes()
            for folder in ("data", "rejected") for p in sorted((out / folder).glob("*.arrow"))}


@pytest.fixture
def toy(tmp_path):
    return lambda name, **kw: toy_config(tmp_path / name, tmp_path / f"cache-{name}", **kw)
