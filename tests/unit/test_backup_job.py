"""A whole backup run and restore against Debian's real restic and a local
repository: what is backed up and what never is, the retention and check
policy, the status the monitor reads, loud failures that delete nothing, a
consistent stats store while the ingester writes, and the restore."""

from __future__ import annotations

import os
import shutil
import sqlite3

import pytest

from speculum.backup import job, restic
from speculum.backup import restore as restoring
from speculum.backup.settings import Config
from speculum.backup.snapshot import integrity
from speculum.fsutil import read_json, write_json
from speculum.stats.store import Store

pytestmark = pytest.mark.skipif(shutil.which("restic") is None, reason="restic is installed by make setup")


@pytest.fixture
def host(tmp_path):
    """A host's state: status records, the stats store, vnStat's database,
    /etc/letsencrypt, an SSH host key and a mirror tree."""
    state, mirror = tmp_path / "var/lib/speculum", tmp_path / "srv/mirror"
    (state / "status").mkdir(parents=True)
    (state / "status" / "debian.json").write_text('{"history": [1, 2, 3]}\n')
    (state / "locks").mkdir()
    (state / "locks" / "debian.lock").write_text("")
    (state / "news-sent.json").write_text('{"2026-11-01-hello": "sent"}\n')
    store = Store(state / "stats" / "stats.sqlite")
    store.db.execute("CREATE TABLE ledger (account TEXT PRIMARY KEY, value INTEGER)")
    store.db.execute("INSERT INTO ledger VALUES ('a', 100000), ('b', 0)")
    store.close()
    vnstat = tmp_path / "var/lib/vnstat/vnstat.db"
    vnstat.parent.mkdir(parents=True)
    db = sqlite3.connect(vnstat)
    db.execute("CREATE TABLE day (id INTEGER, rx INTEGER, tx INTEGER)")
    db.execute("INSERT INTO day VALUES (1, 123, 456)")
    db.commit()
    db.close()
    le = tmp_path / "etc/letsencrypt/live/mirror.example.edu"
    le.mkdir(parents=True)
    (le / "privkey.pem").write_text("KEY\n")
    ssh = tmp_path / "etc/ssh"
    ssh.mkdir(parents=True)
    (ssh / "ssh_host_ed25519_key").write_text("HOSTKEY\n")
    (ssh / "sshd_config").write_text("# from the package, not backed up\n")
    (mirror / "debian").mkdir(parents=True)
    (mirror / "debian" / "huge.iso").write_bytes(b"x" * 1000)
    password = tmp_path / "password"
    password.write_text("correct horse\n")
    (tmp_path / "metrics").mkdir()
    return Config(
        host="mirror.example.edu", repository=str(tmp_path / "repo"), password_file=str(password),
        state_dir=str(state), mirror_root=str(mirror),
        paths=(str(state), str(tmp_path / "etc/letsencrypt"), str(ssh / "ssh_host_*_key"), str(mirror),
               str(tmp_path / "not-installed")),
        databases={"stats.sqlite": str(state / "stats" / "stats.sqlite"), "vnstat.db": str(vnstat)},
        keep={"last": 2}, check_every=7 * 86400, check_subset="10%", cache_dir=str(tmp_path / "cache"),
        metrics_dir=str(tmp_path / "metrics"))


def files_in(cfg: Config, snapshot: str = "latest") -> set[str]:
    out = job.repository(cfg).run("ls", "--host", cfg.host, snapshot)
    return {line for line in out.splitlines()[1:]}


def test_a_run_backs_up_the_state_and_never_the_mirror_tree_or_live_databases(host):
    status = job.run(host)
    assert status["last_run"]["ok"] is True and status["snapshots"] == 1
    assert status["last_success"]["snapshot"] == status["last_run"]["snapshot"]
    assert status["last_check"]["ok"] is True  # the first run checks
    files = files_in(host)
    state = host.state_dir
    assert f"{state}/status/debian.json" in files
    assert f"{state}/news-sent.json" in files
    assert f"{state}/backup/databases/stats.sqlite" in files
    assert f"{state}/backup/databases/vnstat.db" in files
    assert f"{state}/backup/databases/owners.json" in files
    assert any(f.endswith("letsencrypt/live/mirror.example.edu/privkey.pem") for f in files)
    assert any(f.endswith("etc/ssh/ssh_host_ed25519_key") for f in files)
    assert not any(f.endswith("sshd_config") for f in files)
    assert not any(f.startswith(host.mirror_root) for f in files)
    assert f"{state}/stats/stats.sqlite" not in files
    assert not any("/locks/" in f for f in files)
    saved = read_json(host.status_file)
    assert saved["repository"] == host.repository and saved["host"] == host.host
    prom = open(os.path.join(host.metrics_dir, "backup.prom")).read()
    assert "speculum_backup_last_run_ok 1" in prom and "speculum_backup_snapshots 1" in prom


def test_retention_applies_after_each_successful_run_and_the_check_waits_until_due(host):
    times = iter(range(1000, 100000, 100))
    job.run(host, now=lambda: next(times))
    first_check = read_json(host.status_file)["last_check"]["time"]
    for _ in range(2):
        status = job.run(host, now=lambda: next(times))
    assert status["snapshots"] == 2  # keep last 2
    assert len(job.repository(host).snapshots(host=host.host)) == 2
    assert status["last_check"]["time"] == first_check  # not due again within 7 days


def test_a_failed_check_is_repeated_on_the_next_run(host):
    job.run(host)
    status = read_json(host.status_file)
    status["last_check"] = {**status["last_check"], "ok": False, "error": "pack damaged"}
    write_json(host.status_file, status)
    assert job.run(host)["last_check"]["ok"] is True


def test_a_wrong_password_fails_loudly_and_deletes_no_snapshot(host, tmp_path):
    job.run(host)
    job.run(host)
    wrong = tmp_path / "wrong"
    wrong.write_text("not it\n")
    bad = Config(**{**host.__dict__, "password_file": str(wrong), "keep": {"last": 1}})
    with pytest.raises(job.BackupError) as caught:
        job.run(bad)
    assert caught.value.kind == restic.PASSWORD
    status = read_json(host.status_file)
    assert status["last_run"]["ok"] is False and "password is wrong" in status["last_run"]["error"]
    assert len(job.repository(host).snapshots(host=host.host)) == 2
    assert "speculum_backup_last_run_ok 0" in open(os.path.join(host.metrics_dir, "backup.prom")).read()


def test_an_unreachable_sftp_repository_fails_loudly(host, tmp_path):
    if shutil.which("ssh") is None:
        pytest.skip("no ssh client")
    config = tmp_path / "ssh_config"
    config.write_text("Host *\n  BatchMode yes\n  ConnectTimeout 5\n  StrictHostKeyChecking yes\n")
    far = Config(**{**host.__dict__, "repository": "sftp://backup@127.0.0.1:1//srv/restic",
                    "ssh_config": str(config)})
    with pytest.raises(job.BackupError) as caught:
        job.run(far)
    assert caught.value.kind == restic.UNREACHABLE, str(caught.value)
    assert read_json(host.status_file)["last_run"]["kind"] == restic.UNREACHABLE


def test_a_repository_that_vanishes_after_backups_is_an_error_not_a_new_one(host):
    job.run(host)
    shutil.rmtree(host.repository)
    with pytest.raises(job.BackupError) as caught:
        job.run(host)
    assert caught.value.kind == restic.MISSING
    assert not os.path.exists(host.repository)


def test_a_rebuilt_host_refuses_to_back_up_before_its_restore(host):
    job.run(host)
    os.unlink(host.status_file)  # the new host knows nothing of the old one's backups
    with pytest.raises(job.BackupError) as caught:
        job.run(host)
    assert caught.value.kind == job.RESTORE_FIRST and "restore it first" in str(caught.value)
    assert len(job.repository(host).snapshots(host=host.host)) == 1
    assert job.run(host, force=True)["last_run"]["ok"]


def test_restore_puts_everything_back_on_a_wiped_host(host, tmp_path):
    job.run(host)
    root = tmp_path
    before_ledger = _ledger(host.databases["stats.sqlite"])
    shutil.rmtree(host.state_dir)
    shutil.rmtree(root / "etc/letsencrypt")
    os.unlink(root / "etc/ssh/ssh_host_ed25519_key")
    os.unlink(host.databases["vnstat.db"])
    # the rebuilt host: a fresh, empty stats store and a status of its own
    Store(host.databases["stats.sqlite"]).close()
    os.makedirs(f"{host.state_dir}/status")
    with open(f"{host.state_dir}/status/new-only.json", "w") as handle:
        handle.write("{}\n")
    done = restoring.restore(host)
    assert (root / "var/lib/speculum/status/debian.json").read_text() == '{"history": [1, 2, 3]}\n'
    assert not (root / "var/lib/speculum/status/new-only.json").exists()
    assert (root / "var/lib/speculum/news-sent.json").exists()
    assert (root / "etc/letsencrypt/live/mirror.example.edu/privkey.pem").read_text() == "KEY\n"
    assert (root / "etc/ssh/ssh_host_ed25519_key").read_text() == "HOSTKEY\n"
    assert _ledger(host.databases["stats.sqlite"]) == before_ledger
    assert integrity(host.databases["stats.sqlite"]) == "ok"
    assert sqlite3.connect(host.databases["vnstat.db"]).execute("SELECT rx, tx FROM day").fetchall() == [(123, 456)]
    assert sorted(done["databases"]) == ["stats.sqlite", "vnstat.db"]
    status = read_json(host.status_file)
    assert status["restored"]["snapshot"] == done["snapshot"]
    assert status["last_success"]["time"] == done["time"]
    assert not os.path.exists(f"{host.state_dir}.restore")
    # and the restored host backs up again without --force
    assert job.run(host)["last_run"]["ok"]


def test_restore_of_an_unknown_snapshot_names_the_ones_there_are(host):
    job.run(host)
    with pytest.raises(job.BackupError, match="no snapshot 'deadbeef'.*latest ones"):
        restoring.restore(host, "deadbeef")


def test_a_backup_while_the_ingester_writes_restores_to_a_consistent_store(host, ledger):
    """Acceptance: back up while a writer commits transactions that keep an
    invariant; restore; the store passes its integrity check and keeps it."""
    cfg = Config(**{**host.__dict__, "databases": {**host.databases, "stats.sqlite": str(ledger.path)}})
    with ledger.writing():
        job.run(cfg)
    restoring.restore(cfg)
    assert integrity(ledger.path) == "ok"
    accounts, written = ledger.read(ledger.path)
    assert accounts["a"] + accounts["b"] == ledger.TOTAL
    assert 0 < accounts["b"] == written < ledger.written  # a state the writer committed, mid-stream


def test_remap_owners_follows_the_names_not_the_numbers(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("chown needs root")
    f = tmp_path / "f"
    f.write_text("")
    os.chown(f, 4242, 4243)
    restoring.remap_owners(tmp_path, {"users": {"4242": "nobody"}, "groups": {"4243": "nogroup"},
                                      })
    import grp
    import pwd
    assert (f.stat().st_uid, f.stat().st_gid) == (pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid)
    g = tmp_path / "g"
    g.write_text("")
    os.chown(g, 4244, 4244)
    restoring.remap_owners(tmp_path, {"users": {"4244": "no-such-user-here"}})
    assert g.stat().st_uid == 4244  # a name this host lacks keeps its number


def test_snapshot_time_reads_restics_nanoseconds():
    assert restoring.snapshot_time("2026-11-21T11:30:27.551147031Z") == pytest.approx(1795260627.551147)
    assert restoring.snapshot_time("2026-11-21T11:30:27+01:00") == 1795257027


def _ledger(path: str) -> dict[str, int]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return dict(db.execute("SELECT account, value FROM ledger"))
    finally:
        db.close()
