"""Shared fixtures of the unit tests.

The repository is the collection speculum.mirror through the link
.collections/ansible_collections/speculum/mirror; putting .collections on
sys.path makes its plugins importable as ansible_collections.speculum.mirror.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import os
import sqlite3
import sys
import threading
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / ".collections"

if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))


@functools.cache
def _group_var(file: str, name: str):
    with open(REPO / "group_vars" / "all" / file, encoding="utf-8") as handle:
        return yaml.safe_load(handle)[name]


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def lab_db() -> dict:
    """The lab's project database (group_vars/all/projects.yml), a fresh copy per test."""
    return copy.deepcopy(_group_var("projects.yml", "speculum_projects"))


@pytest.fixture
def lab_secrets() -> dict:
    return copy.deepcopy(_group_var("secrets.yml", "speculum_secrets"))


@pytest.fixture
def umask022():
    """A known umask for tests that look at file modes."""
    old = os.umask(0o022)
    try:
        yield 0o022
    finally:
        os.umask(old)


class Ledger:
    """A stats store with a ledger whose writer keeps an invariant: each
    transaction moves 1 from account a to account b (the sum stays TOTAL) and
    counts itself, so any copy shows whether it holds one committed state."""

    TOTAL = 100000

    def __init__(self, path: Path):
        from speculum.stats.store import Store

        self.path, self.written = path, 0
        store = Store(path)
        store.db.execute("CREATE TABLE ledger (account TEXT PRIMARY KEY, value INTEGER)")
        store.db.execute("INSERT INTO ledger VALUES ('a', ?), ('b', 0)", (self.TOTAL,))
        store.close()

    @contextlib.contextmanager
    def writing(self):
        """A writer thread committing transactions until the block ends."""
        from speculum.stats.store import Store

        stop, started = threading.Event(), threading.Event()

        def ingest():
            store = Store(self.path)
            while not stop.is_set():
                with store.transaction():
                    store.db.execute("UPDATE ledger SET value = value - 1 WHERE account = 'a'")
                    store.db.execute("INSERT INTO counters VALUES ('written', 1) "
                                     "ON CONFLICT (name) DO UPDATE SET value = value + 1")
                    store.db.execute("UPDATE ledger SET value = value + 1 WHERE account = 'b'")
                self.written += 1
                started.set()
            store.close()

        writer = threading.Thread(target=ingest)
        writer.start()
        try:
            assert started.wait(10)
            yield self
        finally:
            stop.set()
            writer.join()

    @staticmethod
    def read(path) -> tuple[dict[str, int], int]:
        """The accounts of a copy and the transactions it counts."""
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            ledger = dict(db.execute("SELECT account, value FROM ledger"))
            written = db.execute("SELECT value FROM counters WHERE name = 'written'").fetchone()
        finally:
            db.close()
        return ledger, written[0] if written else 0


@pytest.fixture
def ledger(tmp_path) -> Ledger:
    return Ledger(tmp_path / "ledger" / "stats.sqlite")
