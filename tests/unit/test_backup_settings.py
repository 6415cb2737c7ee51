"""The backup's settings as the preflight checks them, the deployed config,
and the monitor's host/backup check of the backup's status."""

from __future__ import annotations

import pytest

from speculum.backup.settings import errors, load, redact, sftp_target
from speculum.monitor.checks import FAIL, OK, UNKNOWN
from speculum.monitor.hostchecks import backup

SECRETS = {"backup_password": "s3cret", "backup_key": "-----BEGIN OPENSSH PRIVATE KEY-----\n…",
           "s3_id": "AKIA", "s3_key": "xyz"}
GOOD = {"repository": "sftp:restic@vault.example.edu:/srv/restic/mirror", "password_secret": "backup_password",
        "env_secrets": {}, "sftp_key_secret": "backup_key",
        "sftp_known_hosts": ["vault.example.edu ssh-ed25519 AAAAC3Nza…"], "keep": {"daily": 7, "weekly": 5},
        "time": "03:30", "check_every": "7d", "check_subset": "2%", "extra_paths": [],
        "host": "mirror.example.edu"}


def test_good_settings_pass():
    assert errors(GOOD, SECRETS, "/srv/mirror") == []


def test_no_repository_means_no_backups_and_nothing_else_is_checked():
    assert errors({"repository": ""}, {}) == []


@pytest.mark.parametrize(("change", "expected"), [
    ({"repository": "backups/here"}, "speculum_backup_repository: must be an absolute path or a restic location"),
    ({"repository": "/srv/mirror/restic"}, "speculum_backup_repository: must not lie in the mirror tree"),
    ({"repository": "sftp:vault"}, "speculum_backup_repository: an sftp location is sftp:[user@]host:/path"),
    ({"password_secret": "nope"}, "speculum_backup_password_secret: speculum_secrets has no entry 'nope'"),
    ({"password_secret": ""}, "speculum_backup_password_secret: must name the speculum_secrets entry"),
    ({"sftp_key_secret": ""}, "speculum_backup_sftp_key_secret: must name"),
    ({"sftp_known_hosts": []}, "speculum_backup_sftp_known_hosts: must list the SFTP server's known_hosts"),
    ({"keep": {}}, "speculum_backup_keep: must map some of"),
    ({"keep": {"daly": 7}}, "speculum_backup_keep: unknown period 'daly'"),
    ({"keep": {"daily": 0}}, "speculum_backup_keep: daily must be a whole number of at least 1"),
    ({"time": "3:30"}, 'speculum_backup_time: must be "HH:MM"'),
    ({"check_every": "weekly"}, "speculum_backup_check_every: 'weekly' is not a duration"),
    ({"check_subset": "lots"}, "speculum_backup_check_subset: must be"),
    ({"extra_paths": ["etc/rsyncd.conf"]}, "speculum_backup_extra_paths: must be a list of absolute paths"),
    ({"extra_paths": ["/srv"]}, "speculum_backup_extra_paths: /srv holds mirror data"),
    ({"host": "a b"}, "speculum_backup_host: must be a host name"),
    ({"env_secrets": {"aws key": "s3_id"}}, "speculum_backup_env_secrets: 'aws key' is not an environment"),
    ({"keeep": {"daily": 1}}, "speculum_backup_keeep: unknown setting"),
    ({"env_secrets": {"AWS_SECRET_ACCESS_KEY": "gone"}}, "speculum_backup_env_secrets: speculum_secrets has no entry"),
])
def test_each_bad_setting_is_named(change, expected):
    found = errors({**GOOD, **change}, SECRETS, "/srv/mirror")
    assert any(e.startswith(expected) for e in found), found


def test_s3_needs_no_ssh_material():
    s3 = {**GOOD, "repository": "s3:https://s3.example.edu/mirror-backup", "sftp_key_secret": "",
          "sftp_known_hosts": [], "env_secrets": {"AWS_ACCESS_KEY_ID": "s3_id", "AWS_SECRET_ACCESS_KEY": "s3_key"}}
    assert errors(s3, SECRETS, "/srv/mirror") == []


def test_sftp_targets_and_redaction():
    assert sftp_target("sftp:restic@vault:/srv/r") == ("restic@vault", None)
    assert sftp_target("sftp://restic@vault:2222//srv/r") == ("restic@vault", "2222")
    assert sftp_target("sftp:vault:/srv/r") == ("vault", None)
    with pytest.raises(ValueError):
        sftp_target("sftp://vault")
    assert redact("rest:https://user:pw@backup.example.edu/mirror") == "rest:https://user:***@backup.example.edu/mirror"
    assert redact("sftp:restic@vault:/srv/r") == "sftp:restic@vault:/srv/r"


def test_the_deployed_config_names_what_is_missing():
    with pytest.raises(ValueError, match="missing password_file, state_dir"):
        load({"host": "h", "repository": "/r", "mirror_root": "/srv/mirror", "paths": [], "databases": {},
              "keep": {"daily": 1}, "check_every": "7d"})
    cfg = load({"host": "h", "repository": "/r", "password_file": "/p", "state_dir": "/var/lib/speculum",
                "mirror_root": "/srv/mirror", "paths": ["/var/lib/speculum"], "databases": {},
                "keep": {"daily": 1}, "check_every": "7d", "unknown_future_key": 1})
    assert cfg.check_every == 7 * 86400 and cfg.status_file == "/var/lib/speculum/backup/status.json"


NOW = 1_800_000_000.0
DAY = 86400


@pytest.mark.parametrize(("status", "state", "words"), [
    (None, UNKNOWN, "no backup status yet"),
    ({"installed": NOW - 3600}, OK, "first backup is due"),
    ({"installed": NOW - 3 * DAY}, FAIL, "no backup since the backup was set up 3d ago"),
    ({"last_success": {"time": NOW - 3600, "snapshot": "abcdef0123"}, "snapshots": 9,
      "last_run": {"ok": True, "finished": NOW - 3600}}, OK, "last backup 1h ago (snapshot abcdef01, 9 snapshots)"),
    ({"last_success": {"time": NOW - 2 * DAY, "snapshot": "abcdef0123"},
      "last_run": {"ok": True, "finished": NOW - 2 * DAY}}, FAIL, "last successful backup is 2d old"),
    ({"last_success": {"time": NOW - DAY, "snapshot": "a"},
      "last_run": {"ok": False, "finished": NOW - 60, "error": "the repository password is wrong: Fatal"}},
     FAIL, "failed: the repository password is wrong"),
    ({"last_success": {"time": NOW - 60, "snapshot": "a"}, "last_run": {"ok": True, "finished": NOW - 60},
      "last_check": {"time": NOW - 60, "ok": False, "error": "pack 1234 damaged"}}, FAIL, "restic check of"),
    ({"last_run": {"started": NOW - 5}, "last_success": {"time": NOW - 60, "snapshot": "a"}}, OK, "last backup"),
])
def test_the_monitor_reads_the_backup_status(status, state, words):
    check = backup(status, NOW, 36 * 3600)
    assert check.subject == "host/backup" and check.state == state and words in check.message, check.message
