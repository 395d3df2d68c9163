"""Shared pieces of the reliability tests: a small JSONL input, an in-process build with a
fake translator (fast, no model), what a build directory holds, and a tmpfs where the test
may mount one."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mtqa.config import BuildConfig
from mtqa.pipeline.builder import run_spec
from mtqa.pipeline.executor import LocalExecutor
from tests.helpers import FakeTranslateStep, steps_with, write_qa_jsonl

LANGS = ["de", "es"]


@pytest.fixture
def jsonl(tmp_path) -> Path:
    return write_qa_jsonl(tmp_path / "qa.jsonl")


def executor(source: Path, out: Path, mode: str = "drop", **overrides) -> LocalExecutor:
    """The default pipeline on ``source`` with a fake translator. In "drop" mode the filter
    fails most translated rows (the fake translation loses the answers), so chunks have
    rejected files too."""
    config = BuildConfig(sources=[str(source)], langs=LANGS, out=str(out), **{"chunk_size": 5, **overrides})
    return LocalExecutor(steps_with(config, FakeTranslateStep(config.langs), filter_mode=mode), run_spec(config),
                         progress=False)


def shard_bytes(out: Path) -> dict[str, bytes]:
    """Every Arrow file under data/ and rejected/, by relative path."""
    return {str(p.relative_to(out)): p.read_bytes()
            for folder in ("data", "rejected") for p in sorted((out / folder).glob("*.arrow"))}


def tmp_files(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob(".*.tmp"))


def markers(out: Path) -> list[Path]:
    return sorted(out.glob("progress/shard-*/chunk-*.json"))


class Tmpfs:
    """A tmpfs of ``size`` mounted at ``path`` (root only); ``read_only()`` remounts it so."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.mounted = False

    def mount(self, size: str) -> Tmpfs:
        self.path.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0777", "tmpfs", str(self.path)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({result.stderr.strip() or 'mount failed'}); "
                        "the injected-error tests cover the same paths")
        self.mounted = True
        return self

    def remount(self, option: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{option}", str(self.path)], check=True, capture_output=True)

    def fill(self, leave_bytes: int) -> Path:
        """Fill the file system but ``leave_bytes``; returns the filler (delete it to free space)."""
        filler = self.path / "filler"
        free = shutil.disk_usage(self.path).free
        with open(filler, "wb") as f:
            f.write(b"\0" * max(0, free - leave_bytes))
        return filler

    def unmount(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True)
            self.mounted = False


@pytest.fixture
def tmpfs(tmp_path):
    """Mount tmpfs file systems (skips where mounting is not allowed)."""
    if not shutil.which("mount") or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; the injected-error tests cover the same paths")
    made: list[Tmpfs] = []

    def make(name: str, size: str) -> Tmpfs:
        fs = Tmpfs(tmp_path / name).mount(size)
        made.append(fs)
        return fs

    yield make
    for fs in made:
        fs.unmount()
