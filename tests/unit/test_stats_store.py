"""Ingestion into the store: checkpoints, rotation, truncation, projects, networks, retention, report, CLI."""

from __future__ import annotations

import gzip
import json

import pytest
from stats_logs import PROJECTS, expected, speculum_lines

from speculum.cli import main
from speculum.stats.aggregate import Networks
from speculum.stats.ingest import ingest
from speculum.stats.report import report
from speculum.stats.store import Store


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "stats.sqlite")
    yield s
    s.close()


def _totals(store):
    data = report(store)
    return data["totals"]["requests"], data["totals"]["bytes"], data["malformed"]


def test_incremental_and_rotation_count_each_line_once(tmp_path, store):
    lines = speculum_lines(3000)
    log = tmp_path / "access.log"
    log.write_text("".join(lines[:1000]))
    ingest(store, [log], projects=PROJECTS)
    ingest(store, [log], projects=PROJECTS)  # nothing new
    with open(log, "a") as handle:
        handle.write("".join(lines[1000:2000]))
    log.rename(tmp_path / "access.log.1")
    with gzip.open(tmp_path / "access.log.1.gz", "wb") as handle:  # compressed right away, renamed
        handle.write((tmp_path / "access.log.1").read_bytes())
    (tmp_path / "access.log.1").unlink()
    log.write_text("".join(lines[2000:]))
    results = ingest(store, [tmp_path / "access.log.1.gz", log], projects=PROJECTS, batch_lines=333)
    assert [r.state for r in results] == ["resumed", "new"]
    truth = expected(lines)
    assert _totals(store) == (truth["requests"], truth["bytes"], truth["malformed"])
    assert ingest(store, [tmp_path / "access.log.1.gz"])[0].state == "done"


def test_truncated_file_starts_over(tmp_path, store):
    log = tmp_path / "access.log"
    lines = speculum_lines(600, malformed_every=0)
    log.write_text("".join(lines[:500]))
    ingest(store, [log], projects=PROJECTS)
    log.write_text("".join(lines[500:]))  # copytruncate, then new lines
    assert ingest(store, [log], projects=PROJECTS)[0].state == "new"
    assert _totals(store)[0] == 600


def test_partial_last_line_waits(tmp_path, store):
    log = tmp_path / "access.log"
    line = speculum_lines(1, malformed_every=0)[0]
    log.write_text(line + line[:30])
    ingest(store, [log])
    assert _totals(store) == (1, int(line.split("\t")[6]), 0)
    with open(log, "a") as handle:
        handle.write(line[30:])
    ingest(store, [log])
    assert _totals(store)[0] == 2


def test_report_shape_projects_status_families_networks(tmp_path, store):
    log = tmp_path / "access.log"
    log.write_text(
        "10.1.2.3 - - [21/Nov/2026:10:00:00 +0000] \"GET /debian/a.deb HTTP/1.1\" 200 100 \"-\" \"curl/8.0\"\n"
        "2001:db8::1 - - [21/Nov/2026:10:05:00 +0000] \"GET /debian/a.deb HTTP/1.1\" 200 100 \"-\" "
        "\"Debian APT-HTTP/1.3 (2.6.1)\"\n"
        "192.0.2.1 - - [21/Nov/2026:11:00:00 +0000] \"GET /nope HTTP/1.1\" 404 10 \"-\" \"Mozilla/5.0\"\n"
        "192.0.2.1 - - [21/Nov/2026:11:00:00 +0000] \"HEAD /debian/ HTTP/1.1\" 503 0 \"-\" \"-\"\n"
        "not a log line\n")
    ingest(store, [log], projects=["debian"], networks=Networks([("campus", "10.0.0.0/8")]))
    data = report(store)
    assert data["totals"]["requests"] == 4 and data["totals"]["bytes"] == 210 and data["malformed"] == 1
    assert data["totals"]["status"] == {"2xx": 2, "3xx": 0, "4xx": 1, "5xx": 1, "other": 0}
    assert (data["totals"]["ipv4"], data["totals"]["ipv6"]) == (3, 1)
    assert set(data["projects"]) == {"debian", "other"}
    assert data["projects"]["debian"]["status"]["5xx"] == 1
    assert data["projects"]["other"]["requests"] == 1
    assert data["totals"]["networks"] == {"campus": {"requests": 1, "bytes": 100}}
    assert data["totals"]["families"]["apt"] == {"requests": 1, "bytes": 100}
    assert data["projects"]["debian"]["top_files"] == [{"path": "/debian/a.deb", "requests": 2, "bytes": 200}]
    assert data["totals"]["clients"] == {"2026-11-21": 3}
    assert data["first"] == "2026-11-21T10" and data["last"] == "2026-11-21T11"


def test_retention_rolls_hours_into_days_and_cuts_files(tmp_path, store):
    from datetime import UTC, datetime

    log = tmp_path / "access.log"
    lines = speculum_lines(2000, malformed_every=0, start=datetime(2026, 11, 1, tzinfo=UTC), seconds=10 * 86400)
    log.write_text("".join(lines))
    ingest(store, [log], projects=PROJECTS)
    before = report(store)
    store.compact(keep_hourly=3, keep_daily=0, top_files=2)
    after = report(store)
    assert after["totals"]["requests"] == before["totals"]["requests"]
    assert after["projects"]["debian"]["status"] == before["projects"]["debian"]["status"]
    assert store.db.execute("SELECT min(hour) FROM hourly").fetchone()[0] >= "2026-11-07"
    old = store.db.execute("SELECT max(n) FROM (SELECT count(*) n FROM daily_files WHERE day < '2026-11-09' "
                           "GROUP BY day, project)").fetchone()[0]
    assert old == 2
    store.compact(keep_hourly=3, keep_daily=2)
    assert report(store)["first"] >= "2026-11-08"


def test_cli_ingest_and_report_json(tmp_path, capsys):
    log = tmp_path / "rsyncd.log"
    log.write_text("2026/11/21 10:00:00 [1] connect from c.example (192.0.2.1)\n"
                   "2026/11/21 10:00:01 [1] send c.example [192.0.2.1] debian (anonymous) pool/x.deb 500\n"
                   "2026/11/21 10:00:02 [1] sent 100 bytes  received 20 bytes  total size 500\n")
    db = str(tmp_path / "s.sqlite")
    assert main(["stats", "ingest", "--store", db, "--projects", "debian", str(log)]) == 0
    assert main(["stats", "report", "--store", db, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["requests"] == 1 and data["totals"]["bytes"] == 500
    assert data["projects"]["debian"]["families"] == {"rsync": {"requests": 1, "bytes": 500}}
    assert data["skipped"] == 2 and data["malformed"] == 0
    assert main(["stats", "report", "--store", db]) == 0
    assert "debian" in capsys.readouterr().out
    assert main(["stats", "report", "--store", str(tmp_path / "none.sqlite")]) == 1


def test_cli_skips_rotated_names_that_do_not_exist_yet(tmp_path, capsys):
    log = tmp_path / "access.log"
    log.write_text("".join(speculum_lines(50)))
    db = str(tmp_path / "s.sqlite")
    assert main(["stats", "ingest", "--store", db, str(tmp_path / "access.log.1"), str(log)]) == 0
    err = capsys.readouterr().err
    assert f"{tmp_path / 'access.log.1'}: missing" in err and f"{log}: new" in err
    # nothing to read at all: a wrong path, not a quiet success
    assert main(["stats", "ingest", "--store", db, str(tmp_path / "nope.log")]) == 1
