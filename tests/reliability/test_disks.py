"""Full and read-only disks (issue 13, item 4): one line naming the path and the problem, exit
2, nothing marked done; once space is back, the rerun finishes byte-identical.

Two ways in: an ``OSError`` injected at every write of a build (anywhere), and real tmpfs file
systems, full or read-only (where the test may mount them: root)."""

from __future__ import annotations

import errno
import os
import sqlite3

import pytest
from click.testing import CliRunner

from mtqa.cli import main
from mtqa.errors import MtqaError
from mtqa.io import sha256_file
from mtqa.translation.cache import TranslationCache
from tests.reliability.conftest import executor, markers, shard_bytes, tmp_files


def count_writes(jsonl, out) -> int:
    calls = 0
    real = os.fsync

    def counting(fd):
        nonlocal calls
        calls += 1
        return real(fd)

    os.fsync = counting
    try:
        executor(jsonl, out).run()
    finally:
        os.fsync = real
    return calls


def assert_nothing_half_done(out) -> None:
    """Every marker's files are whole; no temporary file is left."""
    for marker in markers(out):
        import json

        record = json.loads(marker.read_text())["file"]
        for f in [record, *([record["rejected"]] if record.get("rejected") else [])]:
            assert sha256_file(out / f["path"]) == f["sha256"], marker
    assert tmp_files(out) == []


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    from tests.reliability.conftest import write_qa_jsonl

    root = tmp_path_factory.mktemp("disk-clean")
    source = write_qa_jsonl(root / "qa.jsonl")
    writes = count_writes(source, root / "out")
    return source, shard_bytes(root / "out"), writes


@pytest.mark.parametrize(("code", "where"), [(errno.ENOSPC, "fsync"), (errno.EROFS, "create")])
def test_an_error_at_every_write_is_one_line_and_the_rerun_is_identical(clean, tmp_path, monkeypatch, code, where):
    source, expected, writes = clean
    assert writes == 21  # build.json, 6 chunks x (rejected, data, marker), 2 manifests
    reason = os.strerror(code)
    for k in range(1, writes + 1):
        out = tmp_path / f"out-{k}"
        seen = 0
        real_fsync, real_open = os.fsync, os.open

        def failing(*args):
            nonlocal seen
            seen += 1
            if seen == k:
                raise OSError(code, reason)

        def fsync(fd):
            failing()
            return real_fsync(fd)

        def open_(path, flags, *args, **kwargs):
            if str(path).endswith(".tmp"):
                failing()
            return real_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(os, "fsync" if where == "fsync" else "open", fsync if where == "fsync" else open_)
        with pytest.raises(MtqaError) as error:
            executor(source, out).run()
        monkeypatch.undo()
        message = str(error.value)
        assert "\n" not in message and message.startswith(f"cannot write {out}") and message.endswith(reason), message
        assert isinstance(error.value, OSError) and error.value.errno == code
        assert_nothing_half_done(out)
        assert len(markers(out)) < 6 or k > 19  # the chunk being written is not marked done
        executor(source, out).run()
        assert shard_bytes(out) == expected, k
        assert tmp_files(out) == []


def build(*args, env=None):
    return CliRunner().invoke(main, ["build", "--no-progress", "--chunk-size", "16", *args], env=env)


def one_line_exit_2(result, *parts) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("mtqa: error: "), result.output
    for part in parts:
        assert part in lines[0], lines[0]
    return lines[0]


def test_out_that_is_a_file(tmp_path, monkeypatch):
    monkeypatch.setenv("MTQA_CACHE", str(tmp_path / "cache"))
    (tmp_path / "f").write_text("x")
    one_line_exit_2(build("--out", str(tmp_path / "f")), f"--out {tmp_path / 'f'} is a file, not a directory")
    one_line_exit_2(build("--out", str(tmp_path / "f" / "sub")), "a parent of it is a file")


def test_a_full_translation_cache_is_one_line_and_nothing_half_stored(tmp_path):
    cache = TranslationCache(tmp_path)
    cache.put_many([(b"k" * 32, "first")])
    cache.conn.execute("PRAGMA max_page_count = 3")  # what a full disk looks like to SQLite
    with pytest.raises(MtqaError, match=r"^translation cache .*translations.sqlite3: cannot store translations "
                                        r"\(database or disk is full\); it needs a writable disk with free "
                                        r"space, or choose another cache with --cache-dir$"):
        cache.put_many([(os.urandom(32), "x" * 2000) for _ in range(50)])
    assert len(cache) == 1 and cache.get_many([b"k" * 32]) == {b"k" * 32: "first"}


def test_a_cache_that_cannot_be_opened_is_one_line(tmp_path):
    (tmp_path / "translations.sqlite3").mkdir()  # a directory where the database should be
    with pytest.raises(MtqaError, match=r"^translation cache .*: cannot open it \(unable to open database file\)"):
        TranslationCache(tmp_path).get_many([b"k"])
    with pytest.raises(sqlite3.Error):  # the module's own errors are still sqlite3's elsewhere
        sqlite3.connect(tmp_path / "translations.sqlite3").execute("SELECT 1")


# -- real file systems ---------------------------------------------------------------------
@pytest.mark.slow
def test_out_on_a_full_file_system_then_freed(tmp_path, tmpfs):
    env = {"MTQA_CACHE": str(tmp_path / "cache")}
    clean = tmp_path / "clean"
    assert build("--out", str(clean), env=env).exit_code == 0
    disk = tmpfs("full-out", "1m")
    filler = disk.fill(leave_bytes=120_000)  # room for two of the four shards
    out = disk.path / "out"
    one_line_exit_2(build("--out", str(out), env=env), f"cannot write {out}", "No space left on device")
    assert_nothing_half_done(out)
    assert 0 < len(markers(out)) < 4
    filler.unlink()
    assert build("--out", str(out), env=env).exit_code == 0
    assert shard_bytes(out) == shard_bytes(clean)


@pytest.mark.slow
def test_the_translation_cache_on_a_full_file_system(tmp_path, tmpfs):
    disk = tmpfs("full-cache", "1m")
    filler = disk.fill(leave_bytes=30_000)
    out = tmp_path / "out"
    line = one_line_exit_2(build("--out", str(out), env={"MTQA_CACHE": str(disk.path)}),
                           f"translation cache {disk.path / 'translations.sqlite3'}: cannot")
    assert "full" in line or "disk I/O error" in line
    assert markers(out) == []
    filler.unlink()
    assert build("--out", str(out), env={"MTQA_CACHE": str(disk.path)}).exit_code == 0


@pytest.mark.slow
def test_read_only_file_systems(tmp_path, tmpfs):
    env = {"MTQA_CACHE": str(tmp_path / "cache")}
    disk = tmpfs("ro", "4m")
    done = disk.path / "done"
    assert build("--out", str(done), env=env).exit_code == 0
    cache = disk.path / "cache"
    assert build("--out", str(disk.path / "warm"), env={"MTQA_CACHE": str(cache)}).exit_code == 0
    before = {p: p.read_bytes() for p in done.rglob("*") if p.is_file()}
    disk.remount("ro")

    # A finished build on a read-only disk: nothing to write, so it just reports.
    again = build("--out", str(done), env=env)
    assert again.exit_code == 0, again.output
    assert "already finished" in again.output
    assert {p: p.read_bytes() for p in done.rglob("*") if p.is_file()} == before

    # A new build there: one line naming the path.
    one_line_exit_2(build("--out", str(disk.path / "new"), env=env), str(disk.path / "new"), "Read-only file system")
    # A read-only translation cache, for a build that needs it.
    one_line_exit_2(build("--out", str(tmp_path / "o"), "--limit", "5", env={"MTQA_CACHE": str(cache)}),
                    f"translation cache {cache / 'translations.sqlite3'}: cannot")
    assert markers(tmp_path / "o") == []
