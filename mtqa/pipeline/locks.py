"""Advisory locks on an output directory, with ``fcntl.flock``.

Two kinds, both files inside ``OUT``:

- ``OUT/.lock``, the **directory lock**, held for a moment by every run while it claims or
  checks ``OUT/build.json``, takes its partition lock, and merges the manifests;
- ``OUT/progress/shard-SSSSS.lock``, a **partition lock**, held by the run that builds that
  partition, for the whole run.

A lock is released when its holder closes the file or dies (``kill -9`` included), so a lock
file left behind by a killed run is harmless. Holders write ``pid host`` into the file, only
to name themselves in the message another run prints.

On network file systems ``flock`` is only as good as the client: Linux NFS clients (v3 with
NLM, v4) map it to byte-range locks that every client sees; a mount with ``nolock`` or
``local_lock=flock`` keeps locks on one machine, and Lustre needs ``-o flock``. docs/build.md,
"Concurrent runs", says what mtqa assumes.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
from pathlib import Path

from mtqa.errors import MtqaError

#: Errors that mean "this file system will not let us create the lock file": a read-only
#: directory. A run there can only read, so it goes on without the lock.
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


class LockBusy(MtqaError):
    """Another process holds the lock (``holder``: what it wrote in the file)."""

    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(f"{path} is locked by {holder or 'another process'}")
        self.path, self.holder = path, holder


class FileLock:
    """An exclusive ``flock`` on ``path``, created if missing (mode ``0o666 & ~umask``).

    ``acquire(wait=False)`` raises :class:`LockBusy` when another process holds it. On a
    read-only file system where the lock file cannot be created, ``acquire`` succeeds without
    a lock and sets ``read_only``: the caller's first write will fail with its own message.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        self.read_only = False

    @property
    def held(self) -> bool:
        return self._fd is not None or self.read_only

    def _open(self) -> int | None:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError as e:
            if e.errno not in _READ_ONLY:
                raise MtqaError(f"cannot create the lock file {self.path}: {os.strerror(e.errno)}") from None
        try:
            return os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return None

    def acquire(self, wait: bool = True) -> FileLock:
        if self.held:
            raise RuntimeError(f"{self.path} is already held by this process")
        fd = self._open()
        if fd is None:
            self.read_only = True
            return self
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise LockBusy(self.path, holder) from None
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EBADF, errno.ENOLCK) and not os.access(self.path, os.W_OK):
                self.read_only = True  # a read-only descriptor on NFS cannot take an exclusive lock
                return self
            raise MtqaError(f"cannot lock {self.path}: {os.strerror(e.errno)}") from None
        self._fd = fd
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        except OSError:
            pass  # a read-only descriptor: the lock holds all the same
        return self

    def release(self) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
            except OSError:
                pass
            os.close(self._fd)  # closing releases the flock
        self._fd = None
        self.read_only = False

    def __enter__(self) -> FileLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def is_locked(path: Path) -> bool:
    """Whether another process holds ``path`` (False when it does not exist)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # also releases the probe's lock
    return False


def _read_holder(fd: int) -> str:
    try:
        return os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        return ""
