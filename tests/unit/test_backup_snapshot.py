"""The backup's copies of live SQLite databases: one committed state, even
while the ingester writes, checked, never leaving files beside the source."""

from __future__ import annotations

import sqlite3

import pytest

from speculum.backup.snapshot import integrity, sqlite_copy
from speculum.stats.store import Store


def test_a_copy_taken_while_the_store_is_written_is_one_committed_state(ledger, tmp_path):
    copies = []
    with ledger.writing():
        for n in range(5):
            copies.append(tmp_path / f"copy{n}.sqlite")
            assert sqlite_copy(ledger.path, copies[-1]) > 0
    moved = []
    for copy in copies:
        assert integrity(copy) == "ok"
        assert not copy.with_name(copy.name + "-wal").exists()  # self-contained
        accounts, written = ledger.read(copy)
        assert accounts["a"] + accounts["b"] == ledger.TOTAL
        assert accounts["b"] == written
        moved.append(accounts["b"])
    assert moved == sorted(moved) and moved[-1] > 0  # the writer was really writing meanwhile
    # the restored copy opens as a store again
    Store(copies[-1]).close()


def test_the_source_is_only_read(tmp_path):
    path = tmp_path / "vnstat.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    before = sorted(p.name for p in tmp_path.iterdir())
    sqlite_copy(path, tmp_path / "copy.db")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before + ["copy.db"])
    assert (tmp_path / "copy.db").stat().st_mode & 0o777 == 0o600


def test_a_damaged_source_fails_loudly_and_keeps_the_old_copy(tmp_path):
    good = tmp_path / "good.db"
    db = sqlite3.connect(good)
    db.execute("CREATE TABLE t (x)")
    db.executemany("INSERT INTO t VALUES (?)", [(str(n) * 50,) for n in range(2000)])
    db.commit()
    db.close()
    sqlite_copy(good, tmp_path / "copy.db")
    data = bytearray(good.read_bytes())
    data[4096:4096 + 512] = b"\xff" * 512  # overwrite part of a b-tree page
    bad = tmp_path / "bad.db"
    bad.write_bytes(bytes(data))
    with pytest.raises((ValueError, sqlite3.DatabaseError)):
        sqlite_copy(bad, tmp_path / "copy.db")
    assert integrity(tmp_path / "copy.db") == "ok"  # the previous copy is untouched
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".copy")] == []
    with pytest.raises(FileNotFoundError):
        sqlite_copy(tmp_path / "missing.db", tmp_path / "copy.db")
