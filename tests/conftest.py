"""Fixtures shared by the test suite."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the project: real QA files (XQuAD, SQuAD v2, NQ-open)."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data not found: real-data tests need the shared data folder beside the project")
    return SHARED_DATA


def _shared_folder(shared_data: Path, name: str, probe: str, what: str) -> Path:
    folder = shared_data / name
    if not (folder / probe).is_file():
        pytest.skip(f"{folder} not found: {what}")
    return folder


@pytest.fixture(scope="session")
def xquad_dir(shared_data) -> Path:
    """The real XQuAD files (``xquad.{lang}.json``)."""
    return _shared_folder(shared_data, "xquad", "xquad.en.json", "the real XQuAD files (github.com/google-deepmind/xquad)")


@pytest.fixture(scope="session")
def xquad_r_dir(shared_data) -> Path:
    """The real XQuAD-R folder, passed explicitly: library code has no default data folder."""
    return _shared_folder(shared_data, "xquad-r", "en.json",
                          "the real XQuAD-R files (github.com/google-research-datasets/lareqa)")
