"""The statistics store: SQLite in WAL mode.

Every batch of aggregates is committed in ONE transaction together with the
checkpoint of the file it came from, so a killed ingester leaves either both
or neither: re-running it continues exactly where the last commit ended.
Hourly rows are rolled into daily rows after ``keep_hourly`` days; old days'
file lists are cut to the top N. No client address is ever written here.
"""

from __future__ import annotations

import os
import sqlite3
import time
from datetime import date, timedelta
from pathlib import Path

from . import clients

DEFAULT_STORE = "/var/lib/speculum/stats/stats.sqlite"
_STATUS_INDEX = {ord("2"): 2, ord("3"): 3, ord("4"): 4, ord("5"): 5}  # column in TABLES[""] measures
MEASURES = ("requests", "bytes")
# table suffix -> (dimension columns after the period and project, measure columns)
TABLES = {
    "": ((), ("requests", "bytes", "s2xx", "s3xx", "s4xx", "s5xx", "sother", "ipv4", "ipv6")),
    "_family": (("family",), MEASURES),
    "_network": (("network",), MEASURES),
    "_country": (("country",), MEASURES),
}


def _schema() -> str:
    ddl = []
    for period in ("hourly", "daily"):
        key = "hour" if period == "hourly" else "day"
        for suffix, (dims, measures) in TABLES.items():
            keys = (key, "project", *dims)
            ddl.append(f"CREATE TABLE IF NOT EXISTS {period}{suffix} ("
                       + ", ".join(f"{k} TEXT NOT NULL" for k in keys) + ", "
                       + ", ".join(f"{m} INTEGER NOT NULL DEFAULT 0" for m in measures)
                       + f", PRIMARY KEY ({', '.join(keys)})) WITHOUT ROWID;")
    ddl.append("""
CREATE TABLE IF NOT EXISTS daily_files (day TEXT NOT NULL, project TEXT NOT NULL, path TEXT NOT NULL,
    requests INTEGER NOT NULL, bytes INTEGER NOT NULL, UNIQUE (day, project, path));
CREATE TABLE IF NOT EXISTS daily_clients (day TEXT NOT NULL, project TEXT NOT NULL, hll BLOB NOT NULL,
    PRIMARY KEY (day, project)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (fingerprint TEXT PRIMARY KEY, fp_len INTEGER NOT NULL,
    path TEXT NOT NULL, offset INTEGER NOT NULL, size_seen INTEGER NOT NULL, updated INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
""")
    return "\n".join(ddl)


def _upsert(table: str, keys: tuple, measures: tuple) -> str:
    columns = (*keys, *measures)
    return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
            + ", ".join(f"{m} = {m} + excluded.{m}" for m in measures))


class Store:
    def __init__(self, path: str | os.PathLike = DEFAULT_STORE, create: bool = True):
        self.path = Path(path)
        if not create and not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no statistics store (run `mirrorctl stats ingest` first)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None)  # transactions are explicit
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # WAL: a killed process loses no commit
        self.db.execute("PRAGMA busy_timeout=10000")
        self.db.executescript(_schema())  # idempotent
        with self.transaction():
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('hll_key', ?)", (os.urandom(16).hex(),))
        self.key = bytes.fromhex(self.db.execute("SELECT value FROM meta WHERE key = 'hll_key'").fetchone()[0])

    def close(self) -> None:
        self.db.close()

    def transaction(self):
        store = self

        class _Tx:
            def __enter__(self):
                store.db.execute("BEGIN IMMEDIATE")

            def __exit__(self, kind, *_):
                store.db.execute("COMMIT" if kind is None else "ROLLBACK")

        return _Tx()

    # --- checkpoints ----------------------------------------------------------

    def find_checkpoint(self, head: bytes, fingerprint) -> dict | None:
        """The checkpoint of the file starting with ``head``: the longest prefix on record."""
        lengths = [n for (n,) in self.db.execute("SELECT DISTINCT fp_len FROM checkpoints ORDER BY 1 DESC")]
        for n in lengths:
            if n <= len(head):
                row = self.db.execute("SELECT fingerprint, fp_len, path, offset, size_seen FROM checkpoints "
                                      "WHERE fingerprint = ?", (fingerprint(head[:n]),)).fetchone()
                if row:
                    return dict(zip(("fingerprint", "fp_len", "path", "offset", "size_seen"), row, strict=True))
        return None

    def _save_checkpoint(self, old: str | None, new: tuple) -> None:
        if old and old != new[0]:
            self.db.execute("DELETE FROM checkpoints WHERE fingerprint = ?", (old,))
        self.db.execute("INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?, ?, ?, ?)", (*new, int(time.time())))

    # --- commits --------------------------------------------------------------

    def commit(self, batch, old_fingerprint: str | None, checkpoint: tuple) -> None:
        """Aggregates of ``batch`` and the file's new checkpoint, in one transaction.

        ``checkpoint`` is (fingerprint, fp_len, path, offset, size_seen).
        """
        with self.transaction():
            self._write(batch)
            self._save_checkpoint(old_fingerprint, checkpoint)

    def _write(self, batch) -> None:
        rows: dict[str, dict[tuple, list[int]]] = {suffix: {} for suffix in TABLES}
        for (hour, project, family, info, digit), (requests, size) in batch.traffic.items():
            version, network, country = info.split("\t")
            main = rows[""].setdefault((hour, project), [0] * 9)
            main[0] += requests
            main[1] += size
            main[_STATUS_INDEX.get(digit, 6)] += requests
            if version in ("4", "6"):
                main[7 if version == "4" else 8] += requests
            for suffix, value in (("_family", family), ("_network", network), ("_country", country)):
                if value:
                    acc = rows[suffix].setdefault((hour, project, value), [0, 0])
                    acc[0] += requests
                    acc[1] += size
        for suffix, (dims, measures) in TABLES.items():
            sql = _upsert(f"hourly{suffix}", ("hour", "project", *dims), measures)
            self.db.executemany(sql, ((*k, *v) for k, v in rows[suffix].items()))
        self.db.executemany(_upsert("daily_files", ("day", "project", "path"), MEASURES), batch.file_rows())
        self._add_clients(batch.client_sets())
        self.db.executemany("INSERT INTO counters VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET "
                            "value = value + excluded.value",
                            (("lines", batch.lines), ("malformed", batch.malformed), ("skipped", batch.skipped)))

    def _add_clients(self, sets) -> None:
        for day, project, addresses in sets:
            row = self.db.execute("SELECT hll FROM daily_clients WHERE day = ? AND project = ?",
                                  (day, project)).fetchone()
            registers = bytearray(row[0]) if row else clients.empty()
            clients.add(registers, addresses, self.key)
            self.db.execute("INSERT OR REPLACE INTO daily_clients VALUES (?, ?, ?)",
                            (day, project, bytes(registers)))

    # --- retention ------------------------------------------------------------

    def compact(self, keep_hourly: int = 90, keep_daily: int = 0, top_files: int = 100) -> None:
        """Roll hours older than ``keep_hourly`` days into days, drop days older than
        ``keep_daily`` (0: keep forever), keep the top files of finished days.

        Ages count back from the newest hour in the store, not the clock, so a
        replay of old logs is kept the same way as live ones.
        """
        newest = self.db.execute("SELECT max(hour) FROM hourly").fetchone()[0]
        if newest is None:
            return
        last_day = date.fromisoformat(newest[:10])
        with self.transaction():
            cutoff = (last_day - timedelta(days=keep_hourly)).isoformat()
            for suffix, (dims, measures) in TABLES.items():
                keys = ("day", "project", *dims)
                cols = ", ".join(("substr(hour, 1, 10)", "project", *dims, *(f"sum({m})" for m in measures)))
                self.db.execute(
                    f"INSERT INTO daily{suffix} ({', '.join((*keys, *measures))}) "
                    f"SELECT {cols} FROM hourly{suffix} "
                    f"WHERE hour < ? GROUP BY 1, 2{''.join(f', {d}' for d in dims)} "
                    f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
                    + ", ".join(f"{m} = {m} + excluded.{m}" for m in measures), (cutoff,))
                self.db.execute(f"DELETE FROM hourly{suffix} WHERE hour < ?", (cutoff,))
            if keep_daily:
                oldest = (last_day - timedelta(days=keep_daily)).isoformat()
                for table in [f"daily{s}" for s in TABLES] + ["daily_files", "daily_clients"]:
                    self.db.execute(f"DELETE FROM {table} WHERE day < ?", (oldest,))
                for suffix in TABLES:
                    self.db.execute(f"DELETE FROM hourly{suffix} WHERE hour < ?", (oldest,))
            # a day is finished once a newer day has a full day of logs behind it
            finished = (last_day - timedelta(days=1)).isoformat()
            self.db.execute(
                "DELETE FROM daily_files WHERE rowid IN (SELECT rowid FROM (SELECT rowid, row_number() OVER "
                "(PARTITION BY day, project ORDER BY requests DESC, path) AS n FROM daily_files "
                "WHERE day < ? AND day >= coalesce((SELECT value FROM meta WHERE key = 'files_cut'), '')) "
                "WHERE n > ?)", (finished, top_files))
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('files_cut', ?)", (finished,))
