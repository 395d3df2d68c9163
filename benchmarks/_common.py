"""Shared bits for the benchmarks (run from the repository root: python benchmarks/NAME.py)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"
XQUAD_EN = SHARED_DATA / "xquad" / "xquad.en.json"


def require(path: Path) -> Path:
    if not path.exists():
        sys.exit(f"benchmark needs {path} (the shared data folder beside the project)")
    return path
