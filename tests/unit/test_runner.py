"""The sync runner against a real rsync daemon on 127.0.0.1.

Only the clock's sleep is replaced (to record backoff without waiting);
rsync, the daemon, the lock and the file system are real.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import servers

from speculum import config, runner
from speculum.lock import ProjectLock

pytestmark = pytest.mark.skipif(not Path("/usr/bin/rsync").exists(), reason="needs rsync (make setup)")

TREE = {
    "dists/stable/Release": b"Release file\n",
    "dists/stable/main/Packages": b"Package: a\n",
    "dists/stable/main/Packages.gz": b"\x1f\x8b fake gzip",
    "pool/a/a_1.0.deb": os.urandom(4096),
    "pool/b/b_2.0.deb": os.urandom(8192),
    "lastsync": b"1763700000\n",
    "name with space.txt": b"spaces survive\n",
}


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    root = tmp_path_factory.mktemp("upstream")
    with servers.rsync_daemon(root, servers.write_tree(root / "tree", TREE), "s3cret") as served:
        yield served


@pytest.fixture
def hanging_upstream():
    with servers.frozen_upstream() as url:
        yield url


def build(tmp_path, upstream, site=None, project=None, **sync):
    record = {"name": "Test", "enabled": True,
              "sync": {"method": "rsync", "upstream": upstream, "syncs_per_day": 4, **sync}}
    record.update(project or {})
    if record["sync"]["upstream"] is None:
        del record["sync"]["upstream"]
    if record["sync"]["method"] == "static":
        record["sync"] = {"method": "static"}
    settings = {"mirror_root": str(tmp_path / "mirror"), "state_dir": str(tmp_path / "state"),
                "log_dir": str(tmp_path / "log"), "retry_delay": 5, "retries": 2}
    settings.update(site or {})
    cfg = config.build({"test": record}, settings)
    return cfg["projects"]["test"], cfg["site"]


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


def status_of(site):
    return json.loads((Path(site["state_dir"]) / "status" / "test.json").read_text())


def target(site):
    return Path(site["mirror_root"]) / "test"


def test_sync_mirrors_tree_and_records_status(tmp_path, daemon):
    project, site = build(tmp_path, daemon["url"] + "/tree/",
                          project={"verify": {"file": "lastsync", "format": "unix"}})
    assert runner.sync(project, site) == 0
    for rel, data in TREE.items():
        assert (target(site) / rel).read_bytes() == data
    record = status_of(site)
    assert record["status"] == "success" and record["exit_code"] == 0
    assert record["size_bytes"] == sum(len(d) for d in TREE.values())
    assert record["marker_ts"] == 1763700000
    assert record["upstream"] == daemon["url"] + "/tree/"
    assert record["next_schedule_ts"] > record["last_ended_ts"] >= record["last_started_ts"]
    assert len(record["history"]) == 1
    log = Path(record["log_file"]).read_text()
    assert "stage 1/1" in log and "--delete-delay" in log and "--max-delete=4000" in log
    assert not (target(site) / ".~tmp~").exists()


def test_exclude_pattern_reaches_rsync_unquoted(tmp_path, daemon):
    project, site = build(tmp_path, daemon["url"] + "/tree/", stages=[["--exclude=Packages*"]])
    assert runner.sync(project, site) == 0
    assert not (target(site) / "dists/stable/main/Packages").exists()
    assert not (target(site) / "dists/stable/main/Packages.gz").exists()
    assert (target(site) / "dists/stable/Release").exists()


def test_only_the_last_stage_deletes(tmp_path, daemon):
    project, site = build(tmp_path, daemon["url"] + "/tree/", stages=[["--exclude=Release"], []])
    target(site).mkdir(parents=True)
    (target(site) / "stale").write_text("gone after the last stage")
    assert runner.sync(project, site) == 0
    assert not (target(site) / "stale").exists()
    assert (target(site) / "dists/stable/Release").exists()


def test_failed_last_stage_leaves_deletions_undone(tmp_path, daemon):
    project, site = build(tmp_path, daemon["url"] + "/tree/", stages=[[], ["--no-such-option"]])
    target(site).mkdir(parents=True)
    (target(site) / "stale").write_text("still here")
    sleeps = Sleeps()
    assert runner.sync(project, site, sleep=sleeps) == 1  # usage error: not retried
    assert sleeps == []
    assert (target(site) / "stale").exists()  # stage 1 never deletes
    assert (target(site) / "pool/a/a_1.0.deb").exists()  # but it did transfer
    assert status_of(site)["status"] == "failed"


def test_max_delete_guard_fails_without_retry(tmp_path, daemon):
    project, site = build(tmp_path, daemon["url"] + "/tree/", max_delete=2)
    target(site).mkdir(parents=True)
    for n in range(10):
        (target(site) / f"extra-{n}").write_text("x")
    sleeps = Sleeps()
    assert runner.sync(project, site, sleep=sleeps) == 25
    assert sleeps == []
    assert len(list(target(site).glob("extra-*"))) >= 8
    record = status_of(site)
    assert record["status"] == "failed" and "max-delete" in record["error_msg"]


def test_transient_error_retries_with_backoff(tmp_path, daemon):
    project, site = build(tmp_path, daemon["url"] + "/no-such-module/")
    sleeps = Sleeps()
    assert runner.sync(project, site, sleep=sleeps) == 5
    assert sleeps == [5, 10]
    record = status_of(site)
    assert "gave up after 3 attempt(s)" in record["error_msg"]
    assert Path(record["log_file"]).read_text().count(", attempt ") == 3


def test_wall_clock_timeout_kills_a_frozen_upstream(tmp_path, hanging_upstream):
    project, site = build(tmp_path, hanging_upstream, timeout="2s")
    started = time.monotonic()
    assert runner.sync(project, site) == runner.EXIT_TIMEOUT
    assert time.monotonic() - started < 15
    record = status_of(site)
    assert record["status"] == "failed" and "timeout" in record["error_msg"]


def test_second_run_leaves_the_tree_alone(tmp_path, daemon, capsys):
    project, site = build(tmp_path, daemon["url"] + "/tree/")
    with ProjectLock(Path(site["state_dir"]) / "locks", "test"):
        assert runner.sync(project, site, log=sys.stdout) == runner.EXIT_BUSY
    assert not target(site).exists()
    assert not (Path(site["state_dir"]) / "status" / "test.json").exists()
    assert "another run" in capsys.readouterr().out


def test_password_from_the_units_password_file(tmp_path, daemon):
    project, site = build(tmp_path, daemon["url"] + "/auth/", user="speculum",
                          password_secret="pw")
    password = tmp_path / "rsync-password"
    password.write_text("s3cret\n")
    password.chmod(0o600)
    env = {"PATH": os.environ["PATH"], "SPECULUM_PASSWORD_FILE": str(password)}
    assert runner.sync(project, site, environ=env) == 0
    assert (target(site) / "pool/b/b_2.0.deb").read_bytes() == TREE["pool/b/b_2.0.deb"]
    assert "s3cret" not in Path(status_of(site)["log_file"]).read_text()


def test_password_from_the_environment(tmp_path, daemon):
    project, site = build(tmp_path, daemon["url"] + "/auth/", user="speculum",
                          password_secret="pw")
    env = {"PATH": os.environ["PATH"], "RSYNC_PASSWORD": "s3cret"}
    assert runner.sync(project, site, environ=env) == 0


def test_missing_password_is_a_config_error(tmp_path, daemon):
    project, site = build(tmp_path, daemon["url"] + "/auth/", user="speculum",
                          password_secret="pw")
    assert runner.sync(project, site, environ={"PATH": os.environ["PATH"]}) == runner.EXIT_CONFIG
    assert "password" in status_of(site)["error_msg"]


def test_script_project_gets_its_environment(tmp_path):
    project, site = build(tmp_path, "rsync://example.org/x/", method="script",
                          command=["/bin/sh", "-c", 'env | grep -E "^(SPECULUM_|EXTRA=)" > "$SPECULUM_TARGET/env"'],
                          env={"EXTRA": "yes"})
    assert runner.sync(project, site) == 0
    env = dict(line.split("=", 1) for line in (target(site) / "env").read_text().splitlines())
    assert env["SPECULUM_PROJECT"] == "test"
    assert env["SPECULUM_TARGET"] == str(target(site))
    assert env["SPECULUM_UPSTREAM"] == "rsync://example.org/x/"
    assert env["EXTRA"] == "yes"
    assert int(env["SPECULUM_TIMEOUT"]) > 0
    assert Path(env["SPECULUM_LOG_FILE"]).exists()


def test_failing_script_is_recorded(tmp_path):
    project, site = build(tmp_path, None, method="script", command=["/bin/sh", "-c", "exit 3"])
    assert runner.sync(project, site) == 3
    assert status_of(site)["status"] == "failed"


def test_logs_rotate_and_latest_points_to_newest(tmp_path):
    project, site = build(tmp_path, None, site={"log_keep": 3, "history_keep": 4}, method="script",
                          command=["/bin/true"])
    for _ in range(5):
        assert runner.sync(project, site) == 0
    log_dir = Path(site["log_dir"]) / "test"
    logs = sorted(p for p in log_dir.glob("*.log") if p.name != "latest.log")
    assert len(logs) == 3
    assert (log_dir / "latest.log").resolve() == logs[-1].resolve()
    history = status_of(site)["history"]
    assert len(history) == 4  # history_keep
    assert history[-1]["ended"] == status_of(site)["last_ended_ts"]


def test_history_keep_of_one_keeps_only_the_last_run(tmp_path):
    project, site = build(tmp_path, None, site={"history_keep": 1}, method="script",
                          command=["/bin/true"])
    for _ in range(3):
        assert runner.sync(project, site) == 0
    assert len(status_of(site)["history"]) == 1


def test_static_and_disabled_projects_never_sync(tmp_path):
    project, site = build(tmp_path, None, method="static")
    assert runner.sync(project, site) == 0
    project, site = build(tmp_path, "rsync://example.org/x/", project={"enabled": False})
    assert runner.sync(project, site) == runner.EXIT_CONFIG
    assert not (Path(site["state_dir"]) / "status").exists()


def test_sigterm_stops_the_run_and_records_it(tmp_path, hanging_upstream):
    project, site = build(tmp_path, hanging_upstream, timeout="1h")
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"site": site, "projects": {"test": project}}))
    env = dict(os.environ, SPECULUM_CONFIG=str(cfg))
    proc = subprocess.Popen([sys.executable, "-m", "speculum", "sync", "test"], env=env)
    deadline = time.time() + 10
    while time.time() < deadline:
        if (Path(site["state_dir"]) / "status" / "test.json").exists() and \
                status_of(site)["status"] == "syncing":
            break
        time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == runner.EXIT_INTERRUPTED
    record = status_of(site)
    assert record["status"] == "failed" and "interrupted" in record["error_msg"]


def test_status_shows_a_killed_run_as_failed(tmp_path, capsys):
    from speculum import cli
    from speculum import status as status_mod

    project, site = build(tmp_path, "rsync://example.org/x/")
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"site": site, "projects": {"test": project}}))
    record = status_mod.new_record(project)
    record["status"] = "syncing"
    (Path(site["state_dir"]) / "status").mkdir(parents=True)
    status_mod.save(Path(site["state_dir"]) / "status", record)
    assert cli.main(["status", "--config", str(cfg)]) == 3  # nobody holds the lock
    assert "failed" in capsys.readouterr().out
    with ProjectLock(Path(site["state_dir"]) / "locks", "test"):
        assert cli.main(["status", "--config", str(cfg)]) == 0  # a live run
    assert "syncing" in capsys.readouterr().out


def hold_slots(site, name, count):
    from speculum.lock import try_slot

    fds = [try_slot(Path(site["state_dir"]) / "slots", name, count) for _ in range(count)]
    assert None not in fds
    return fds


def release(fds):
    for fd in fds:
        os.close(fd)


def test_a_third_run_waits_for_a_global_slot_and_gives_up(tmp_path, daemon):
    project, site = build(tmp_path, daemon["url"] + "/tree/",
                          site={"max_concurrent": 2, "slot_wait": "2s"})
    fds = hold_slots(site, "global", 2)
    try:
        started = time.monotonic()
        assert runner.sync(project, site, slot_poll=0.1) == runner.EXIT_NO_SLOT
        assert 2 <= time.monotonic() - started < 10
    finally:
        release(fds)
    record = status_of(site)
    assert record["status"] == "failed" and "global sync slot" in record["error_msg"]
    assert "waiting for a global sync slot (2 in use)" in Path(record["log_file"]).read_text()
    assert not (target(site) / "lastsync").exists()


def test_a_waiting_run_starts_when_a_slot_frees(tmp_path, daemon):
    project, site = build(tmp_path, daemon["url"] + "/tree/",
                          site={"max_concurrent": 2, "slot_wait": "30s"})
    fds = hold_slots(site, "global", 2)
    timer = threading.Timer(1.0, release, args=([fds[0]],))
    timer.start()
    try:
        assert runner.sync(project, site, slot_poll=0.1) == 0
    finally:
        timer.join()
        release(fds[1:])
    log = Path(status_of(site)["log_file"]).read_text()
    assert "waiting for a global sync slot" in log and "got a global sync slot after" in log
    assert (target(site) / "lastsync").exists()


def test_now_bypasses_the_global_cap_but_not_the_project_lock(tmp_path, daemon):
    project, site = build(tmp_path, daemon["url"] + "/tree/",
                          site={"max_concurrent": 1, "slot_wait": "1s"})
    fds = hold_slots(site, "global", 1)
    try:
        assert runner.sync(project, site, now=True, slot_poll=0.1) == 0
        with ProjectLock(Path(site["state_dir"]) / "locks", "test"):
            assert runner.sync(project, site, now=True) == runner.EXIT_BUSY
    finally:
        release(fds)


def test_the_now_flag_file_of_mirrorctl_is_honoured_once(tmp_path, daemon):
    project, site = build(tmp_path, daemon["url"] + "/tree/",
                          site={"max_concurrent": 1, "slot_wait": "1s"})
    flag = Path(site["state_dir"]) / "locks" / "test.now"
    flag.parent.mkdir(parents=True)
    flag.touch()
    fds = hold_slots(site, "global", 1)
    try:
        assert runner.sync(project, site, slot_poll=0.1) == 0
        assert not flag.exists()
        assert runner.sync(project, site, slot_poll=0.1) == runner.EXIT_NO_SLOT
    finally:
        release(fds)


def test_upstream_host_slots_apply_even_to_now_runs(tmp_path, daemon):
    project, site = build(tmp_path, daemon["url"] + "/tree/",
                          site={"max_per_upstream": 1, "slot_wait": "1s"})
    fds = hold_slots(site, "host-127.0.0.1", 1)
    try:
        assert runner.sync(project, site, now=True, slot_poll=0.1) == runner.EXIT_NO_SLOT
        assert "upstream 127.0.0.1" in status_of(site)["error_msg"]
    finally:
        release(fds)
    assert runner.sync(project, site, now=True, slot_poll=0.1) == 0
