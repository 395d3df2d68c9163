"""kill -9 inside every write window (issue 13, item 2): after its temporary file is written
and before the rename. The rerun must finish byte-identical and leave no temporary file."""

from __future__ import annotations

import fnmatch
import os
import signal
from pathlib import Path

import pytest

from tests.reliability.conftest import executor, markers, shard_bytes, tmp_files, write_qa_jsonl

# (window, folder, final name pattern, which occurrence): each kind of file a build writes.
# A chunk writes its rejected file, then its data file, then its marker.
WINDOWS = [
    ("build.json", ".", "build.json", 1),
    ("rejected shard", "rejected", "*.arrow", 3),  # chunk 1's
    ("data shard", "data", "*.arrow", 4),  # chunk 1's
    ("completion marker", "progress/shard-00000", "chunk-*.json", 2),
    ("partition manifest", "manifests", "shard-*.json", 1),
    ("merged manifest", ".", "manifest.json", 1),
]


def killed_inside(source: Path, out: Path, pattern: str, nth: int) -> None:
    """Run the build in a child process that SIGKILLs itself on the ``nth`` rename of a file
    named like ``pattern``: its temporary file is complete and still in place."""
    pid = os.fork()
    if pid == 0:
        try:
            real_replace = os.replace
            seen = 0

            def replace(src, dst, *args, **kwargs):
                nonlocal seen
                if fnmatch.fnmatch(Path(dst).name, pattern):
                    seen += 1
                    if seen == nth:
                        os.kill(os.getpid(), signal.SIGKILL)
                return real_replace(src, dst, *args, **kwargs)

            os.replace = replace
            executor(source, out).run()
        finally:
            os._exit(3)  # never back into pytest: reaching here means the window was missed
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, f"not killed (status {status})"


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    root = tmp_path_factory.mktemp("clean")
    source = write_qa_jsonl(root / "qa.jsonl")
    manifest = executor(source, root / "out").run()
    return source, shard_bytes(root / "out"), manifest


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the kill happens in a forked child")
@pytest.mark.parametrize(("window", "folder", "pattern", "nth"), WINDOWS, ids=[w[0] for w in WINDOWS])
def test_a_kill_inside_a_write_window_resumes_byte_identical(clean, tmp_path, window, folder, pattern, nth):
    source, expected, clean_manifest = clean
    out = tmp_path / "out"
    killed_inside(source, out, pattern, nth)
    left = tmp_files(out)
    assert [t for t in left if Path(t).parent == Path(folder) and fnmatch.fnmatch(Path(t).name, f".{pattern}.*.tmp")], \
        left  # killed inside that window: its temporary file is there
    done_at_kill = len(markers(out))

    manifest = executor(source, out).run()
    assert tmp_files(out) == []
    assert shard_bytes(out) == expected
    assert [f.to_dict() for f in manifest.files] == [f.to_dict() for f in clean_manifest.files]
    assert manifest.this_run.chunks_done_before == done_at_kill
    assert (out / "manifest.json").is_file() and (out / "build.json").is_file()
