"""The backup's settings: the admin's choices (group_vars/all/backup.yml)
checked on the controller by the preflight, every bad one named, and the
deployed /etc/speculum/backup.json, which adds where things are on the host.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from ..durations import parse_duration

# Where a repository may be: restic's own location syntax.
SCHEMES = ("sftp:", "rest:", "s3:", "b2:", "azure:", "gs:", "swift:", "rclone:")
KEEP = ("last", "hourly", "daily", "weekly", "monthly", "yearly")
NAMES = ("repository", "password_secret", "env_secrets", "sftp_key_secret", "sftp_known_hosts", "time", "keep",
         "check_every", "check_subset", "extra_paths", "host")
_SUBSET = re.compile(r"(\d{1,3}(\.\d+)?%|\d+/\d+|\d+[KMGT]?)")


def errors(raw: Any, secrets: Any = None, mirror_root: str = "") -> list[str]:
    """Every problem of the backup variables ``raw`` (names without the
    speculum_backup_ prefix), each naming its variable. ``secrets`` is the
    vault's speculum_secrets, to check that named secrets exist."""
    if not isinstance(raw, dict):
        return [f"backup settings: expected a mapping, got {type(raw).__name__}"]
    out = [f"speculum_backup_{k}: unknown setting (known: {', '.join(NAMES)})" for k in sorted(set(raw) - set(NAMES))]

    def bad(name: str, message: str) -> None:
        out.append(f"speculum_backup_{name}: {message}, got {raw.get(name)!r}")

    repo = raw.get("repository", "")
    if not isinstance(repo, str):
        bad("repository", "must be text")
        return out
    if not repo:
        return out  # no backups: nothing else matters
    if any(c.isspace() for c in repo) or not (repo.startswith("/") or repo.startswith(SCHEMES)):
        bad("repository", "must be an absolute path or a restic location "
                          f"({', '.join(s + '…' for s in SCHEMES)})")
    elif repo.startswith("/") and mirror_root and inside(repo, mirror_root):
        bad("repository", f"must not lie in the mirror tree {mirror_root}")
    secrets = secrets if isinstance(secrets, dict) else {}

    def secret(name: str, value: Any, what: str) -> None:
        if not isinstance(value, str) or not value:
            bad(name, f"must name the speculum_secrets entry that holds {what}")
        elif not isinstance(secrets.get(value), str) or not secrets[value]:
            out.append(f"speculum_backup_{name}: speculum_secrets has no entry {value!r} ({what})")

    secret("password_secret", raw.get("password_secret"), "the repository password")
    env = raw.get("env_secrets", {})
    if not isinstance(env, dict):
        bad("env_secrets", "must map environment variables to speculum_secrets entries")
    else:
        for var, name in sorted(env.items()):
            if not re.fullmatch(r"[A-Z_][A-Z0-9_]*", str(var)):
                out.append(f"speculum_backup_env_secrets: {var!r} is not an environment variable name")
            else:
                secret("env_secrets", name, f"the value of {var}")
    if repo.startswith("sftp:"):
        try:
            sftp_target(repo)
        except ValueError as exc:
            bad("repository", str(exc))
        secret("sftp_key_secret", raw.get("sftp_key_secret"), "the SSH private key for the SFTP server")
        known = raw.get("sftp_known_hosts")
        if not (isinstance(known, list) and known and all(isinstance(k, str) and k.strip() for k in known)):
            bad("sftp_known_hosts", "must list the SFTP server's known_hosts lines (ssh-keyscan HOST)")
    keep = raw.get("keep")
    if not isinstance(keep, dict) or not keep:
        bad("keep", f"must map some of {', '.join(KEEP)} to a number of snapshots")
    else:
        for k, n in sorted(keep.items()):
            if k not in KEEP:
                out.append(f"speculum_backup_keep: unknown period {k!r} (one of {', '.join(KEEP)})")
            elif not isinstance(n, int) or isinstance(n, bool) or n < 1:
                out.append(f"speculum_backup_keep: {k} must be a whole number of at least 1, got {n!r}")
    when = raw.get("time")
    if not (isinstance(when, str) and re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", when)):
        bad("time", 'must be "HH:MM" (24-hour, the host\'s time)')
    try:
        if parse_duration(raw.get("check_every")) <= 0:
            bad("check_every", "must be a positive duration")
    except (ValueError, TypeError) as exc:
        out.append(f"speculum_backup_check_every: {exc}")
    subset = raw.get("check_subset", "")
    if not isinstance(subset, str) or (subset and not _SUBSET.fullmatch(subset)):
        bad("check_subset", 'must be "" (metadata only), a percentage ("2%"), n/t ("1/7") or a size ("500M")')
    extra = raw.get("extra_paths", [])
    if not isinstance(extra, list) or not all(isinstance(p, str) and p.startswith("/") for p in extra):
        bad("extra_paths", "must be a list of absolute paths")
    elif mirror_root:
        for p in extra:
            if inside(p, mirror_root) or inside(mirror_root, p):
                out.append(f"speculum_backup_extra_paths: {p} holds mirror data ({mirror_root}); "
                           "the mirror tree is re-synced, never backed up")
    host = raw.get("host")
    if not (isinstance(host, str) and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", host)):
        bad("host", "must be a host name (the snapshots' host, the same on a rebuilt host)")
    return out


def sftp_target(location: str) -> tuple[str, str | None]:
    """("user@host" or "host", port or None) of ``sftp:user@host:/path`` or
    ``sftp://user@host:port//path``; ValueError when neither."""
    rest = location[len("sftp:"):]
    if rest.startswith("//"):
        m = re.fullmatch(r"//([^/@\s]+@)?([^/:\s]+)(:\d+)?/.+", rest)
        if not m:
            raise ValueError("an sftp:// location is sftp://[user@]host[:port]//path")
        return (m[1] or "") + m[2], m[3][1:] if m[3] else None
    m = re.fullmatch(r"([^/@\s:]+@)?([^/:\s]+):.+", rest)
    if not m:
        raise ValueError("an sftp location is sftp:[user@]host:/path")
    return (m[1] or "") + m[2], None


def redact(location: str) -> str:
    """The location without a password in it (rest:https://user:pass@host/)."""
    return re.sub(r"(://[^/:@\s]+):[^/@\s]+@", r"\1:***@", location)


@dataclass(frozen=True)
class Config:
    """/etc/speculum/backup.json, as the backup role writes it."""

    host: str
    repository: str
    password_file: str
    state_dir: str
    mirror_root: str
    paths: tuple[str, ...]  # may hold globs (/etc/ssh/ssh_host_*_key); missing ones are skipped
    databases: dict  # {copy name: live SQLite file}
    keep: dict
    check_every: int
    check_subset: str = ""
    env_file: str = ""  # KEY=VALUE lines (S3 keys, REST credentials)
    ssh_config: str = ""  # for sftp: restic's ssh uses this config (key, known_hosts)
    cache_dir: str = ""
    metrics_dir: str = ""
    restic: str = "restic"

    @property
    def work_dir(self) -> str:
        return f"{self.state_dir}/backup"

    @property
    def staging(self) -> str:
        return f"{self.work_dir}/databases"

    @property
    def status_file(self) -> str:
        return f"{self.work_dir}/status.json"


# The host's state beyond the state and log directories: certificates and the
# SSH host keys (so admins and push-mirroring upstreams see the same host).
SYSTEM_PATHS = ("/etc/letsencrypt", "/etc/ssh/ssh_host_*_key", "/etc/ssh/ssh_host_*_key.pub")


def deployed(raw: dict, *, state_dir: str, log_dir: str, mirror_root: str, backup_dir: str,
             metrics_dir: str, databases: dict) -> dict:
    """/etc/speculum/backup.json from the (valid) settings ``raw`` and the
    host's paths; secrets stay in files of ``backup_dir``."""
    sftp = raw["repository"].startswith("sftp:")
    return {
        "host": raw["host"], "repository": raw["repository"], "password_file": f"{backup_dir}/password",
        "env_file": f"{backup_dir}/env" if raw.get("env_secrets") else "",
        "ssh_config": f"{backup_dir}/ssh_config" if sftp else "",
        "cache_dir": "/var/cache/speculum-backup", "state_dir": state_dir, "mirror_root": mirror_root,
        "metrics_dir": metrics_dir, "paths": [state_dir, log_dir, *SYSTEM_PATHS, *raw.get("extra_paths", [])],
        "databases": databases, "keep": raw["keep"], "check_every": raw["check_every"],
        "check_subset": raw.get("check_subset", ""),
    }


def ssh_config(backup_dir: str) -> str:
    """restic's ssh: the vault's key, only the listed host keys, never a prompt."""
    return (f"Host *\n  IdentityFile {backup_dir}/ssh_key\n  IdentitiesOnly yes\n"
            f"  UserKnownHostsFile {backup_dir}/known_hosts\n  StrictHostKeyChecking yes\n"
            "  BatchMode yes\n  ConnectTimeout 20\n  ServerAliveInterval 30\n  ServerAliveCountMax 4\n")


def load(raw: dict) -> Config:
    """A Config from the deployed JSON; ValueError naming every missing key."""
    required = ("host", "repository", "password_file", "state_dir", "mirror_root", "paths",
                "databases", "keep", "check_every")
    missing = [k for k in required if k not in raw]
    if missing:
        raise ValueError(f"backup config: missing {', '.join(missing)}")
    known = {k: raw[k] for k in Config.__dataclass_fields__ if k in raw}
    known["paths"] = tuple(raw["paths"])
    known["check_every"] = parse_duration(raw["check_every"])
    return Config(**known)


def inside(path: str, root: str) -> bool:
    """Is ``path`` ``root`` or below it?"""
    path, root = os.path.normpath(path), os.path.normpath(root)
    return path == root or path.startswith(root.rstrip("/") + "/")
