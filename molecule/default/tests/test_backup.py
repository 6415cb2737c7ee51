"""The backup role on the converged host: the daily timer, a run that
leaves a consistent stats store in the repository, the status the monitor
reads. (molecule/rebuild tests the restore and the failures.)"""

import json


def test_the_daily_backup_is_scheduled(host):
    timer = host.service("speculum-backup.timer")
    assert timer.is_enabled and timer.is_running
    assert "speculum-backup.timer" in host.check_output("systemctl list-timers --no-pager speculum-backup.timer")
    assert host.file("/etc/speculum/backup/password").mode == 0o600


def test_a_run_backs_up_a_checked_copy_of_the_stats_store(host):
    assert host.run("systemctl start speculum-backup.service").rc == 0
    status = json.loads(host.check_output("mirrorctl backup status --json"))
    assert status["last_run"]["ok"] and status["snapshots"] >= 1 and status["last_check"]["ok"]
    assert set(status["last_run"]["databases"]) == {"stats.sqlite", "vnstat.db"}
    copy = "/var/lib/speculum/backup/databases/stats.sqlite"
    assert host.check_output("python3 -c %s", f"import sqlite3; print(sqlite3.connect('file:{copy}?mode=ro', "
                             "uri=True).execute('PRAGMA integrity_check').fetchone()[0])") == "ok"
    listing = host.check_output("mirrorctl backup snapshots --json")
    assert "/var/lib/speculum" in json.loads(listing)[-1]["paths"]
    # the live store's files still belong to the ingester, whatever SQLite opened
    for name in host.check_output("ls /var/lib/speculum/stats").split():
        assert host.file(f"/var/lib/speculum/stats/{name}").user == "speculum-stats", name


def test_the_monitor_reads_the_backup_status(host):
    # exit 3 when another check fails: only host/backup matters here
    checks = json.loads(host.run("mirrorctl check --no-notify --no-upstream --json --all").stdout)["checks"]
    [backup] = [c for c in checks if c["subject"] == "host/backup"]
    assert backup["state"] == "ok", backup
