"""Per-project lock: two runs of one project never touch its tree at once.

flock(2) on a file in the state directory; the kernel drops the lock when
the holder dies, so a killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class Busy(Exception):
    """Another run holds the lock; ``holder`` is its pid if known."""

    def __init__(self, holder: str):
        super().__init__(holder)
        self.holder = holder


class ProjectLock:
    def __init__(self, lock_dir: str | os.PathLike, project: str):
        self.path = Path(lock_dir) / f"{project}.lock"
        self._fd: int | None = None

    def __enter__(self) -> ProjectLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise Busy(holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def is_held(lock_dir: str | os.PathLike, project: str) -> bool:
    """True while a run of ``project`` holds its lock (readable by any user)."""
    path = Path(lock_dir) / f"{project}.lock"
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def try_slot(slot_dir: str | os.PathLike, name: str, count: int) -> int | None:
    """Take one of ``count`` slots called ``name`` if one is free; return its fd.

    A slot is an flock on ``name.N``: held until the fd is closed or the
    holder dies, so a killed run frees its slot at once.
    """
    Path(slot_dir).mkdir(parents=True, exist_ok=True)
    for number in range(count):
        # read-only: flock needs no write access, so a slot file created by
        # another user (root holding a slot by hand) still works
        fd = os.open(Path(slot_dir) / f"{name}.{number}", os.O_RDONLY | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return fd
    return None
