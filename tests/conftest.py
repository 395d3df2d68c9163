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
