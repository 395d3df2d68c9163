"""The starting side of :mod:`tests.reliability.run_cli`."""

from __future__ import annotations

import time
from pathlib import Path


def release_together(go: Path, procs: list) -> None:
    """Wait until every process of ``run_cli`` has imported everything, then start them all."""
    deadline = time.monotonic() + 120
    while len(list(go.parent.glob(f"{go.name}.ready-*"))) < len(procs):
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            break  # a process that died before the start line shows in its exit status
        time.sleep(0.01)
    go.touch()
