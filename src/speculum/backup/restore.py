"""Put a snapshot back on a (rebuilt) host: `mirrorctl backup restore`,
from playbooks/restore.yml, which stops the timers and services first and
starts them again after.

restic restores into a scratch directory next to the state directory; each
file's owner is mapped through the names the backup recorded (owners.json),
since a rebuilt host may number its system users differently. Then every
backed-up path replaces its counterpart (rsync --delete, runtime files
left alone), and each database copy replaces its live file after an
integrity check, owned like the file it replaces.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import subprocess
import time
from datetime import datetime
from pathlib import Path

from ..fsutil import read_json
from . import job
from .settings import Config
from .snapshot import integrity


def choose(cfg: Config, repo, snapshot: str = "latest") -> dict:
    """The snapshot to restore: ``snapshot`` (an id or its prefix, or "latest") of this host."""
    snaps = repo.snapshots(host=cfg.host)
    if not snaps:
        raise job.BackupError("missing", f"the repository holds no snapshot of {cfg.host}")
    if snapshot == "latest":
        return max(snaps, key=lambda s: s["time"])
    found = [s for s in snaps if s["id"].startswith(snapshot)]
    if len(found) != 1:
        ids = ", ".join(s["short_id"] for s in snaps[-5:])
        raise job.BackupError("missing", f"{cfg.host} has {'no' if not found else 'several'} snapshot "
                                         f"{snapshot!r} (latest ones: {ids})")
    return found[0]


def restore(cfg: Config, snapshot: str = "latest", *, now=time.time) -> dict:
    """Restore ``snapshot``; what was put back ({"snapshot", "time", "paths", "databases"})."""
    repo = job.repository(cfg)
    chosen = choose(cfg, repo, snapshot)
    scratch = Path(f"{cfg.state_dir.rstrip('/')}.restore")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(mode=0o700)
    try:
        repo.restore(chosen["id"], str(scratch))
        roots = {p: _restored(scratch, p, chosen["paths"]) for p in chosen["paths"]}
        staging = roots.get(cfg.state_dir)
        staging = staging / "backup" / "databases" if staging else None
        owners = read_json(staging / job.OWNERS) if staging and (staging / job.OWNERS).exists() else {}
        remap_owners(scratch, owners)
        for original, restored in sorted(roots.items()):
            if os.path.lexists(restored):  # a path whose every file was excluded is not there
                _put_back(cfg, restored, original)
        databases = {name: _put_database(staging / name, live)
                     for name, live in sorted(cfg.databases.items()) if staging and (staging / name).exists()}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    taken = snapshot_time(chosen["time"])
    status = job.load_status(cfg)
    status.update(restored={"snapshot": chosen["id"], "time": taken, "at": now()},
                  last_success={"time": taken, "snapshot": chosen["id"]})
    status.pop("last_run", None)  # a run of the lost host, not of this one
    job.save_status(cfg, status)
    return {"snapshot": chosen["id"], "time": taken, "paths": sorted(roots), "databases": databases}


def _restored(scratch: Path, original: str, all_paths: list[str]) -> Path:
    """Where restic put ``original``: under its full path, or (a snapshot of
    one path, restic < 0.16) under its last component."""
    full = scratch / original.lstrip("/")
    return full if len(all_paths) > 1 or full.exists() else scratch / Path(original).name


def remap_owners(root: Path, owners: dict) -> None:
    """chown every restored file from the old host's numbers to this host's,
    through the user and group names. A name this host lacks keeps its number."""
    users = {int(k): _uid(v) for k, v in owners.get("users", {}).items()}
    groups = {int(k): _gid(v) for k, v in owners.get("groups", {}).items()}
    for here, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            path = os.path.join(here, name)
            st = os.lstat(path)
            uid, gid = users.get(st.st_uid), groups.get(st.st_gid)
            uid, gid = st.st_uid if uid is None else uid, st.st_gid if gid is None else gid
            if (uid, gid) != (st.st_uid, st.st_gid):
                os.lchown(path, uid, gid)


def _put_back(cfg: Config, restored: Path, original: str) -> None:
    if restored.is_dir() and not restored.is_symlink():
        # Excluded files were not backed up; rsync must not delete this host's.
        skip = [e for e in job.excludes(cfg) if e.startswith(original.rstrip("/") + "/")]
        filters = [f"--exclude=/{os.path.relpath(e, original)}" for e in skip]
        if original == cfg.state_dir:
            filters.append("--exclude=/backup/")  # this host's own backup status and lock
        os.makedirs(original, exist_ok=True)
        _rsync("-aH", "--numeric-ids", "--delete", *filters, f"{restored}/", f"{original}/")
    else:
        os.makedirs(os.path.dirname(original), exist_ok=True)
        _rsync("-aH", "--numeric-ids", str(restored), original)


def _put_database(copy: Path, live: str) -> int:
    """Replace ``live`` with the checked ``copy``, owned and moded like the
    file it replaces (or its directory); its size."""
    verdict = integrity(copy)
    if verdict != "ok":
        raise job.BackupError("failed", f"the backed-up copy of {live} fails its integrity check: {verdict}")
    live_path = Path(live)
    live_path.parent.mkdir(parents=True, exist_ok=True)
    like = live_path if live_path.exists() else live_path.parent
    st = like.stat()
    tmp = live_path.with_name(f".{live_path.name}.restore")
    shutil.copyfile(copy, tmp)
    os.chown(tmp, st.st_uid, st.st_gid)
    os.chmod(tmp, (st.st_mode & 0o666) if like is live_path else 0o644)
    for suffix in ("-wal", "-shm", "-journal"):  # the old file's logs must not be replayed onto the new one
        Path(f"{live}{suffix}").unlink(missing_ok=True)
    os.replace(tmp, live_path)
    return live_path.stat().st_size


def _rsync(*args: str) -> None:
    done = subprocess.run(["rsync", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise job.BackupError("failed", f"rsync {' '.join(args[-2:])} failed: {done.stderr.strip()[-400:]}")


def snapshot_time(text: str) -> float:
    """restic's RFC 3339 time with nanoseconds, as Unix seconds."""
    trimmed = re.sub(r"(\.\d{6})\d+", r"\1", text).replace("Z", "+00:00")
    return datetime.fromisoformat(trimmed).timestamp()


def _uid(name: str) -> int | None:
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def _gid(name: str) -> int | None:
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return None
