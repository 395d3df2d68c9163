"""The one exception type users see.

Anything wrong with the user's input or setup (a malformed file, a missing field, an unknown
language code, a missing model) raises :class:`MtqaError` with one line that names the
problem. The CLI prints that line and exits with status 2; no traceback, nothing marked done.
"""


class MtqaError(Exception):
    """A problem with the user's input or setup, explained in one line."""

    exit_code = 2


def one_line(exc: BaseException) -> str:
    """An exception from a library as one line: its type and the first line of its message."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
