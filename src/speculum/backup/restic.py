"""restic (Debian's package) as the backup drives it: the repository and its
password come through the environment, output is read as JSON, and every
failure is named by its kind so the monitor can say what went wrong.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field

PASSWORD, MISSING, UNREACHABLE, LOCKED, FAILED = "password", "missing", "unreachable", "locked", "failed"
HOSTKEY, DENIED = "hostkey", "denied"
_KINDS = (  # (kind, phrases restic 0.14 and OpenSSH print for it)
    (PASSWORD, ("wrong password",)),
    (HOSTKEY, ("Host key verification failed", "REMOTE HOST IDENTIFICATION HAS CHANGED")),
    (DENIED, ("Permission denied (publickey", "Permission denied, please try again")),
    (MISSING, ("Is there a repository at the following location?", "unable to open config file",
               "repository does not exist")),
    (UNREACHABLE, ("connection refused", "no such host", "dial tcp", "ssh: connect to host",
                   "Connection closed", "network is unreachable", "i/o timeout")),
    (LOCKED, ("repository is already locked", "unable to create lock")),
)
_EXPLAIN = {PASSWORD: "the repository password is wrong", MISSING: "there is no repository at this location",
            UNREACHABLE: "the repository cannot be reached", LOCKED: "the repository is locked by another run",
            HOSTKEY: "the SFTP server's host key is not the one in known_hosts",
            DENIED: "the SFTP server refused the key", FAILED: "restic failed"}


class ResticError(Exception):
    def __init__(self, kind: str, detail: str):
        super().__init__(f"{_EXPLAIN[kind]}: {detail}" if detail else _EXPLAIN[kind])
        self.kind = kind


def classify(stderr: str) -> str:
    lowered = stderr.lower()
    for kind, phrases in _KINDS:
        if any(p.lower() in lowered for p in phrases):
            return kind
    return FAILED


@dataclass
class Repository:
    location: str  # a path, sftp:user@host:/path, rest:https://…, s3:…
    password_file: str
    cache_dir: str | None = None
    env: dict[str, str] = field(default_factory=dict)  # S3 keys, REST credentials
    options: tuple[str, ...] = ()  # restic -o KEY=VALUE (sftp.command)
    restic: str = "restic"
    timeout: float = 6 * 3600

    def environ(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
        keep.update(self.env, RESTIC_REPOSITORY=self.location, RESTIC_PASSWORD_FILE=self.password_file)
        if self.cache_dir:
            keep["RESTIC_CACHE_DIR"] = self.cache_dir
        return keep

    def run(self, *args: str) -> str:
        """restic ARGS…; its standard output, or ResticError."""
        try:
            argv = [self.restic, *[f"--option={o}" for o in self.options], *args]
            done = subprocess.run(argv, capture_output=True, text=True, env=self.environ(),
                                  timeout=self.timeout, stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired:
            raise ResticError(FAILED, f"`restic {args[0]}` took longer than {self.timeout:.0f}s") from None
        if done.returncode != 0:
            detail = " ".join(done.stderr.strip().splitlines()[-3:])
            raise ResticError(classify(done.stderr), detail or f"exit {done.returncode}")
        return done.stdout

    def init_if_missing(self) -> bool:
        """Create the repository if there is none; True when it did."""
        try:
            self.run("cat", "config")
            return False
        except ResticError as exc:
            if exc.kind != MISSING:
                raise
        self.run("init")
        return True

    def unlock(self) -> None:
        """Remove stale locks (of runs that died); live ones stay."""
        self.run("unlock")

    def backup(self, paths: list[str], *, excludes: tuple[str, ...] = (), tags: tuple[str, ...] = (),
               host: str | None = None) -> dict:
        """One snapshot of ``paths``; restic's summary (snapshot_id, data_added, …)."""
        args = ["backup", "--json", *_host(host), *[f"--exclude={e}" for e in excludes],
                *[f"--tag={t}" for t in tags], *paths]
        for line in reversed(self.run(*args).splitlines()):
            if line.startswith("{") and json.loads(line).get("message_type") == "summary":
                return json.loads(line)
        raise ResticError(FAILED, "restic backup printed no summary")

    def forget(self, keep: dict[str, int], host: str | None = None) -> None:
        """Apply the retention policy (``{"daily": 7, …}``) to ``host``'s
        snapshots as one group (a changed path list starts no new group) and prune."""
        if not keep:
            raise ValueError("a retention policy keeps at least something")
        self.run("forget", "--prune", "--group-by=host", *_host(host),
                 *[f"--keep-{k}={n}" for k, n in sorted(keep.items())])

    def check(self, read_data_subset: str | None = None) -> None:
        self.run("check", *([f"--read-data-subset={read_data_subset}"] if read_data_subset else []))

    def snapshots(self, host: str | None = None) -> list[dict]:
        """The snapshots (of ``host``), oldest first."""
        return json.loads(self.run("snapshots", "--json", *_host(host)) or "[]") or []

    def restore(self, snapshot: str, target: str, includes: tuple[str, ...] = (), host: str | None = None) -> None:
        """Restore ``snapshot`` (an id, or "latest" of ``host``) under ``target``."""
        self.run("restore", snapshot, f"--target={target}", *_host(host), *[f"--include={i}" for i in includes])


def _host(host: str | None) -> list[str]:
    return [f"--host={host}"] if host else []
