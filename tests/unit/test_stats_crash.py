"""Exactly-once ingestion: SIGKILL the ingester at random moments, across rotations
(rename, delaycompress, gzip), and the totals still equal one uninterrupted run."""

from __future__ import annotations

import gzip
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from stats_logs import PROJECTS, expected, speculum_lines

from speculum.stats.report import report
from speculum.stats.store import Store

SRC = Path(__file__).resolve().parents[2] / "src"


def _start(store: Path, files: list[Path]) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(SRC))
    return subprocess.Popen([sys.executable, "-m", "speculum", "stats", "ingest", "--store", str(store),
                             "--projects", ",".join(PROJECTS), "--batch", "5", *map(str, files)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _ingest_with_kills(store: Path, files: list[Path], rng: random.Random, kills: int) -> int:
    """Start and SIGKILL the ingester ``kills`` times, then let it finish; how many kills hit a live run."""
    hit = 0
    for _ in range(kills):
        proc = _start(store, files)
        time.sleep(rng.uniform(0.15, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        hit += proc.returncode == -signal.SIGKILL
    proc = _start(store, files)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    return hit


def _comparable(data: dict) -> dict:
    """The report without client estimates (sketches are keyed per store, so they differ slightly)."""
    def strip(item):
        return {k: v for k, v in item.items() if k != "clients"}

    return {"totals": strip(data["totals"]), "projects": {p: strip(v) for p, v in data["projects"].items()},
            "days": {d: strip(v) for d, v in data["days"].items()},
            **{k: data[k] for k in ("lines", "malformed", "skipped", "first", "last")}}


def test_killed_ingester_counts_every_line_once(tmp_path):
    rng = random.Random(20261121)
    lines = speculum_lines(50_000)
    log, log1, log2 = tmp_path / "access.log", tmp_path / "access.log.1", tmp_path / "access.log.2.gz"
    store = tmp_path / "stats.sqlite"
    hits = 0

    # 1: a live log whose last line is still being written
    log.write_text("".join(lines[:15_000]) + lines[15_000][:40])
    hits += _ingest_with_kills(store, [log], rng, 6)
    # 2: the line completes, more lines, then logrotate renames it (delaycompress: not compressed yet)
    with open(log, "a") as handle:
        handle.write(lines[15_000][40:] + "".join(lines[15_001:32_000]))
    log.rename(log1)
    log.write_text("".join(lines[32_000:40_000]))
    hits += _ingest_with_kills(store, [log1, log], rng, 7)
    # 3: next rotation: .1 is gzipped to .2.gz, the live log becomes .1
    with open(log1, "rb") as src, gzip.open(log2, "wb") as dst:
        dst.write(src.read())
    log1.unlink()
    log.rename(log1)
    log.write_text("".join(lines[40_000:]))
    hits += _ingest_with_kills(store, [log2, log1, log], rng, 7)
    assert hits >= 12, "most kills should land in a running ingester"

    reference = tmp_path / "reference.sqlite"
    proc = _start(reference, [log2, log1, log])
    assert proc.wait(timeout=120) == 0

    with_kills, once = Store(store, create=False), Store(reference, create=False)
    got, want = report(with_kills), report(once)
    assert _comparable(got) == _comparable(want)
    truth = expected(lines)
    assert got["totals"]["requests"] == truth["requests"]
    assert got["totals"]["bytes"] == truth["bytes"]
    assert got["malformed"] == truth["malformed"]
    assert {p: {"requests": v["requests"], "bytes": v["bytes"]} for p, v in got["projects"].items()} \
        == truth["projects"]
    # unique clients: the sketches agree within their error, whoever's key
    for day, n in want["totals"]["clients"].items():
        assert abs(got["totals"]["clients"][day] - n) <= 0.05 * n
    with_kills.close()
    once.close()

    # no client address anywhere in the store's bytes
    for path in tmp_path.glob("*.sqlite*"):
        data = path.read_bytes()
        assert b"192.0.2." not in data and b"2001:db8" not in data, path
