"""Consistent copies of live SQLite databases (the stats store, vnStat's
database) for the backup: a file copy of a database that is being written
can mix two states; SQLite's online backup copies one committed state.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path


def integrity(path: str | os.PathLike) -> str:
    """SQLite's integrity check of ``path``: "ok", or the first problems it names."""
    db = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)
    try:
        rows = [r[0] for r in db.execute("PRAGMA integrity_check(5)")]
    except sqlite3.DatabaseError as exc:
        return str(exc)
    finally:
        db.close()
    return "ok" if rows == ["ok"] else "; ".join(rows)


def sqlite_copy(source: str | os.PathLike, dest: str | os.PathLike) -> int:
    """Copy the live database ``source`` to ``dest`` as of one committed
    transaction, check the copy and replace ``dest`` atomically; its size.

    The source is opened read-only (so the backup never creates its -wal or
    -shm files with the wrong owner), and writers keep writing meanwhile.
    ValueError if the copy fails its integrity check.
    """
    source, dest = Path(source), Path(dest)
    if not source.is_file():
        raise FileNotFoundError(f"{source}: no such database")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    os.close(fd)
    try:
        out = sqlite3.connect(tmp)
        try:
            src.backup(out)  # one step: a single read transaction, so one state
            out.execute("PRAGMA journal_mode=DELETE")  # a self-contained file, no -wal beside it
        finally:
            out.close()
        verdict = integrity(tmp)
        if verdict != "ok":
            raise ValueError(f"the copy of {source} failed its integrity check: {verdict}")
        os.chmod(tmp, 0o600)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        src.close()
    return dest.stat().st_size
