"""``python -m tests.reliability.run_cli GO_FILE ARGS...``: import mtqa's CLI and the build
pipeline, say so (``GO_FILE.ready-PID``), wait until GO_FILE exists, then run ``mtqa ARGS``. Several of these started with
one GO_FILE begin their builds within a millisecond of each other, however long the imports
took."""

import os
import sys
import time
from pathlib import Path

import mtqa.pipeline.builder  # noqa: F401 (imported before the start line)
from mtqa.cli import main

go = Path(sys.argv[1])
go.with_name(f"{go.name}.ready-{os.getpid()}").touch()
while not go.exists():
    time.sleep(0.0005)
main(sys.argv[2:])
