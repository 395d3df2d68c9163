"""What every command shares: one line and exit 2 on bad input, list options, logging."""

from __future__ import annotations

import errno
import functools
import logging
import os
import sys

import click

from mtqa.errors import MtqaError

#: ``OSError``s that are the machine's state, not a bug: a full, read-only or missing disk or
#: directory. Any that reaches the CLI unconverted is still one line naming the path.
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR,
                         errno.EISDIR, errno.EEXIST, errno.ENOENT, errno.EIO, errno.EMFILE, errno.ENAMETOOLONG})

#: Loggers whose INFO lines are shown without ``-v``: progress lines stand in for the progress
#: bars when stderr is not a terminal, so a long job is never silent.
PROGRESS_LOGGERS = ("mtqa.pipeline.progress", "mtqa.eval.progress")


def user_errors(func):
    """Turn MtqaError into one line on stderr and exit status 2; Ctrl-C into one line and 130.
    A disk ``OSError`` (see :data:`DISK_ERRNOS`) is one line and exit 2 too."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except MtqaError as e:
            click.echo(f"mtqa: error: {e}", err=True)
            sys.exit(MtqaError.exit_code)
        except OSError as e:
            if e.errno not in DISK_ERRNOS:
                raise
            where = f"{e.filename}: " if e.filename else ""
            click.echo(f"mtqa: error: {where}{os.strerror(e.errno)}", err=True)
            sys.exit(MtqaError.exit_code)
        except KeyboardInterrupt:
            click.echo("mtqa: interrupted; finished chunks are kept: rerun the same command to continue", err=True)
            sys.exit(130)

    return wrapper


def split_list(value: str | None) -> list[str] | None:
    """``"de, es"`` → ``["de", "es"]``; None stays None (the config's value is kept)."""
    if value is None:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (click's test runner swaps it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def setup_logging(verbosity: int) -> None:
    """mtqa's loggers to stderr: warnings only by default, ``-v`` info, ``-vv`` debug."""
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logger = logging.getLogger("mtqa")
    logger.setLevel(level)
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
    logger.propagate = False
    for name in PROGRESS_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO if verbosity <= 1 else logging.DEBUG)


def progress_default(progress: bool | None) -> bool:
    """Progress bars only on a terminal unless asked; log lines stand in for them otherwise."""
    return sys.stderr.isatty() if progress is None else progress
