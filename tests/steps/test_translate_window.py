"""Translation windows and overlap (issue 14): the shards and every chunk's counts equal a
chunk-by-chunk build's, with the real toy model; a kill loses at most one window."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from mtqa.config import load_pipeline
from mtqa.pipeline import stats as S
from mtqa.pipeline.builder import build_pipeline, run_build
from mtqa.translation.engine import PendingTranslations


def build(out: Path, cache: Path, window: int, overlap: bool, **overrides):
    config = load_pipeline(None, out=str(out), **{"translate.cache_dir": str(cache)}, **overrides)
    steps = build_pipeline(config)
    translate = next(s for s in steps if s.name == "translate")
    translate.window_translations, translate.overlap = window, overlap
    return run_build(config, progress=False, steps=steps), translate


def shards(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for folder in ("data", "rejected") for p in sorted((out / folder).glob("*.arrow"))}


def chunk_counts(out: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text())["stages"]["translate"]["counts"]
            for p in sorted(out.glob("progress/shard-*/chunk-*.json"))}


@pytest.mark.parametrize("overrides", [
    {"chunk_size": 4},  # the embedded sample: 16 chunks
    pytest.param({"limit": 120, "chunk_size": 30}, id="squad", marks=pytest.mark.slow),
])
def test_windows_and_overlap_give_the_serial_build(tmp_path, overrides, shared_data):
    if "limit" in overrides:
        overrides = {**overrides, "sources": [str(shared_data / "squad-v2" / "dev-v2.0.json")]}
    serial, _ = build(tmp_path / "serial", tmp_path / "c0", 0, False, **overrides)
    expected = shards(tmp_path / "serial")
    assert len(expected) >= 4
    for name, window, overlap in [("overlap", 300, True), ("window", 300, False)]:
        manifest, _ = build(tmp_path / name, tmp_path / f"c-{name}", window, overlap, **overrides)
        assert shards(tmp_path / name) == expected, name
        assert chunk_counts(tmp_path / name) == chunk_counts(tmp_path / "serial"), name
        assert manifest.stages["translate"].counts == serial.stages["translate"].counts


def test_the_default_build_with_and_without_windows(tmp_path):
    build(tmp_path / "a", tmp_path / "ca", 0, False)
    build(tmp_path / "b", tmp_path / "cb", 8192, True)
    assert shards(tmp_path / "a") == shards(tmp_path / "b") and shards(tmp_path / "a")


def test_a_text_two_chunks_of_a_window_share_is_translated_once(tmp_path):
    manifest, translate = build(tmp_path / "o", tmp_path / "c", 10**9, True, chunk_size=4)
    counts = manifest.stages["translate"].counts
    unique = sum(json.loads(p.read_text())["stages"]["dedup"]["counts"][S.UNIQUE_SEGMENTS]
                 for p in (tmp_path / "o").glob("progress/shard-*/chunk-*.json"))
    assert counts[S.TRANSLATED] + counts[S.CACHE_HITS] == 2 * unique  # every lookup counted once
    assert counts[S.CACHE_HITS] > 0  # passages repeat across the sample's chunks
    assert counts[S.TRANSLATED] == len(translate.cache)


def test_a_kill_loses_at_most_the_window_in_flight(tmp_path):
    clean, _ = build(tmp_path / "clean", tmp_path / "c-clean", 0, False, chunk_size=4)
    out, cache = tmp_path / "killed", tmp_path / "c-killed"
    pid = os.fork()
    if pid == 0:  # the child: dies while its second window translates
        try:
            real = PendingTranslations.result
            calls = 0

            def result(self):
                nonlocal calls
                calls += 1
                if calls == 3:  # window 2, first language: window 1 is stored and written
                    os.kill(os.getpid(), signal.SIGKILL)
                return real(self)

            PendingTranslations.result = result
            build(out, cache, 300, True, chunk_size=4)
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    done = chunk_counts(out)
    assert 0 < len(done) < 16
    stored = sum(c.get(S.TRANSLATED, 0) for c in done.values())
    from mtqa.translation.cache import TranslationCache

    assert len(TranslationCache(cache)) == stored  # window 1 stored, nothing of window 2
    resumed, _ = build(out, cache, 300, True, chunk_size=4)
    assert shards(out) == shards(tmp_path / "clean")
    total = clean.stages["translate"].counts[S.TRANSLATED]
    assert len(TranslationCache(cache)) == total
    assert resumed.this_run.chunks_done_before == len(done)
