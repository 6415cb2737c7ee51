"""One backup run (`mirrorctl backup run`, from the backup timer).

1. Copy the live SQLite databases (stats store, vnStat) into the staging
   directory as of one committed transaction, and record the host's user and
   group names (a rebuilt host may number its system users differently).
2. `restic backup` the state directory (minus the live databases and runtime
   files), /etc/letsencrypt, the SSH host keys and the admin's extra paths,
   never the mirror tree.
3. Only after a successful backup: forget by the retention policy and prune.
4. When due, `restic check` (with a slice of the data).
5. Leave the outcome in status.json (read by the monitor's host/backup
   check and `mirrorctl backup status`) and backup.prom.

A host that has never backed up nor restored, whose name already has
snapshots in the repository, is a rebuilt host waiting for its restore:
backing it up now would make its empty state the "latest" snapshot, so the
run refuses (`--force` overrides).
"""

from __future__ import annotations

import fcntl
import glob
import grp
import os
import pwd
import sqlite3
import sys
import time
from pathlib import Path

from .. import metrics
from ..fsutil import read_json, write_json
from . import restic
from .settings import Config, inside, redact, sftp_target
from .snapshot import sqlite_copy

OWNERS = "owners.json"
TAG = "speculum"
RESTORE_FIRST = "restore-first"
RUNTIME = ("locks", "slots", "backup/status.json", "backup/lock")  # under the state dir, never restored


class BackupError(Exception):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def repository(cfg: Config) -> restic.Repository:
    options: tuple[str, ...] = ()
    if cfg.repository.startswith("sftp:") and cfg.ssh_config:
        target, port = sftp_target(cfg.repository)
        port_arg = f" -p {port}" if port else ""
        options = (f"sftp.command=ssh -F {cfg.ssh_config}{port_arg} {target} -s sftp",)
    return restic.Repository(cfg.repository, cfg.password_file, cache_dir=cfg.cache_dir or None,
                             env=read_env(cfg.env_file), options=options, restic=cfg.restic)


def read_env(path: str) -> dict[str, str]:
    """KEY=VALUE lines of the environment file (absent: none)."""
    if not path or not os.path.exists(path):
        return {}
    out = {}
    for line in Path(path).read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            if sep:
                out[key.strip()] = value
    return out


def load_status(cfg: Config) -> dict:
    try:
        status = read_json(cfg.status_file)
    except (OSError, ValueError):
        return {}
    return status if isinstance(status, dict) else {}


def save_status(cfg: Config, status: dict) -> None:
    status["host"], status["repository"] = cfg.host, redact(cfg.repository)
    os.makedirs(cfg.work_dir, mode=0o755, exist_ok=True)
    write_json(cfg.status_file, status)


def excludes(cfg: Config) -> tuple[str, ...]:
    """What restic skips: the live databases (their copies are in the staging
    directory), runtime files, and the mirror tree, whatever the paths say."""
    live = [f"{db}{suffix}" for db in cfg.databases.values()
            for suffix in ("", "-wal", "-shm", "-journal", ".lock")]
    return (*live, *[f"{cfg.state_dir}/{r}" for r in RUNTIME], cfg.mirror_root)


def sources(cfg: Config) -> list[str]:
    """The configured paths that exist (globs expanded), sorted; none in the mirror tree."""
    found = {p for pattern in cfg.paths for p in (glob.glob(pattern) if glob.has_magic(pattern) else [pattern])
             if os.path.lexists(p) and not inside(p, cfg.mirror_root)}
    return sorted(found)


def stage(cfg: Config) -> dict[str, int]:
    """Consistent copies of the databases in the staging directory; {name: size}."""
    os.makedirs(cfg.staging, mode=0o700, exist_ok=True)
    sizes = {}
    for name, live in sorted(cfg.databases.items()):
        if os.path.exists(live):
            sizes[name] = sqlite_copy(live, f"{cfg.staging}/{name}")
        else:  # not installed here: no stale copy may stand in for it
            Path(cfg.staging, name).unlink(missing_ok=True)
    owners = {"users": {str(p.pw_uid): p.pw_name for p in pwd.getpwall()},
              "groups": {str(g.gr_gid): g.gr_name for g in grp.getgrall()}}
    write_json(f"{cfg.staging}/{OWNERS}", owners, mode=0o600)
    return sizes


def run(cfg: Config, *, force: bool = False, now=time.time) -> dict:
    """One backup run; the status it leaves. BackupError when it failed
    (after the status says so)."""
    os.makedirs(cfg.work_dir, mode=0o755, exist_ok=True)
    with open(f"{cfg.work_dir}/lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError("busy", "another backup run holds the lock") from None
        return _run_locked(cfg, force, now)


def _run_locked(cfg: Config, force: bool, now) -> dict:
    status = load_status(cfg)
    started = now()
    record: dict = {"started": started}
    status["last_run"] = record
    repo = repository(cfg)
    try:
        fresh = not status.get("last_success") and not status.get("restored")
        _prepare(repo, cfg, fresh=fresh, force=force)
        record["databases"] = stage(cfg)
        paths = sources(cfg)
        if not paths:
            raise BackupError(restic.FAILED, "none of the configured paths exists")
        summary = _retry_locked(repo, lambda: repo.backup(paths, excludes=excludes(cfg), tags=(TAG,),
                                                          host=cfg.host))
        record.update(snapshot=summary.get("snapshot_id", ""), files=summary.get("total_files_processed", 0),
                      size=summary.get("total_bytes_processed", 0), added=summary.get("data_added", 0),
                      paths=paths)
        status["last_success"] = {"time": now(), "snapshot": record["snapshot"]}
        # Only a run that has just saved a snapshot thins out the old ones.
        _retry_locked(repo, lambda: repo.forget(cfg.keep, host=cfg.host))
        status["snapshots"] = len(repo.snapshots(host=cfg.host))
        checked = status.get("last_check")  # a failed check is repeated on every run until it passes
        if not checked or not checked.get("ok") or now() - checked["time"] >= cfg.check_every:
            _check(repo, cfg, status, now)
    except (restic.ResticError, BackupError, OSError, ValueError, sqlite3.Error) as exc:
        kind = getattr(exc, "kind", restic.FAILED)
        record.update(ok=False, kind=kind, error=str(exc), finished=now())
        _finish(cfg, status)
        raise BackupError(kind, str(exc)) from exc
    record.update(ok=True, finished=now())
    _finish(cfg, status)
    return status


def _prepare(repo: restic.Repository, cfg: Config, *, fresh: bool, force: bool) -> None:
    """Create the repository on a host's first backup; refuse to back up a
    rebuilt host before its restore."""
    if not fresh:
        repo.run("cat", "config")  # a vanished repository is an error, never silently re-created
        return
    if repo.init_if_missing():
        return
    if not force and repo.snapshots(host=cfg.host):
        raise BackupError(RESTORE_FIRST, (
            f"the repository already holds snapshots of {cfg.host}, and this host has neither backed up "
            "nor restored: restore it first (playbooks/restore.yml, or mirrorctl backup restore), "
            "or run `mirrorctl backup run --force` to back up this state anyway"))


def _check(repo: restic.Repository, cfg: Config, status: dict, now) -> None:
    try:
        _retry_locked(repo, lambda: repo.check(cfg.check_subset or None))
    except restic.ResticError as exc:
        status["last_check"] = {"time": now(), "ok": False, "error": str(exc)}
        raise
    status["last_check"] = {"time": now(), "ok": True, "subset": cfg.check_subset}


def _retry_locked(repo: restic.Repository, step):
    """``step()``; once more after removing stale locks when the repository was locked."""
    try:
        return step()
    except restic.ResticError as exc:
        if exc.kind != restic.LOCKED:
            raise
    repo.unlock()
    return step()


def _finish(cfg: Config, status: dict) -> None:
    save_status(cfg, status)
    problem = metrics.write(cfg.metrics_dir or None, "backup.prom", samples(status))
    if problem:
        print(f"mirrorctl: {problem}", file=sys.stderr)


def samples(status: dict) -> list[metrics.Sample]:
    run, last = status.get("last_run") or {}, status.get("last_success") or {}
    out: list[metrics.Sample] = [("speculum_backup_last_run_ok", {}, 1 if run.get("ok") else 0)]
    if last:
        out.append(("speculum_backup_last_success_timestamp_seconds", {}, last["time"]))
    if run.get("ok"):
        out += [("speculum_backup_added_bytes", {}, run.get("added", 0)),
                ("speculum_backup_duration_seconds", {}, run["finished"] - run["started"])]
    if "snapshots" in status:
        out.append(("speculum_backup_snapshots", {}, status["snapshots"]))
    return out
