"""rsync specifics: upstream URLs, the argv of each stage, exit-code policy.

Arguments are always built as an argv list and run without a shell, so a
pattern such as ``--exclude=Packages*`` reaches rsync exactly as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

# Options the runner owns; a stage may not set them (message says why).
FORBIDDEN_STAGE_OPTIONS = {
    "--delete*": "the runner deletes in the last stage only, delayed, bounded by max_delete",
    "--del": "the runner deletes in the last stage only, delayed, bounded by max_delete",
    "--max-delete": "set sync.max_delete instead",
    "--password-file": "set sync.password_secret instead",
    "--inplace": "a torn file would be visible to users; mirrors never update in place",
    "--append": "a torn file would be visible to users; mirrors never update in place",
    "--append-verify": "a torn file would be visible to users; mirrors never update in place",
    "--ignore-errors": "combined with deletions it can wipe a tree after an I/O error",
    "--remove-source-files": "never touch the upstream",
}

# The site default, used unless the sync role's sync_rsync_options overrides it.
DEFAULT_OPTIONS = (
    "-rlptH",
    "--safe-links",
    "--delay-updates",
    "--timeout=600",
    "--contimeout=60",
    "--no-motd",
    "--stats",
    "--filter=risk .~tmp~/",
    "--exclude=.~tmp~/",
)

_RSYNC_URL = re.compile(r"rsync://(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+)(?::(?P<port>\d+))?/(?P<path>[^\s]+)")
_DAEMON_PAIR = re.compile(r"(?P<host>[A-Za-z0-9.-]+)::(?P<path>[^\s]+)")


@dataclass(frozen=True)
class Upstream:
    url: str  # normalised rsync:// URL with a trailing slash
    host: str
    port: int | None
    module: str


def parse_upstream(text: str) -> Upstream:
    """Parse ``rsync://host[:port]/module/path`` or ``host::module/path``."""
    text = text.strip()
    match = _RSYNC_URL.fullmatch(text) or _DAEMON_PAIR.fullmatch(text)
    if not match:
        raise ValueError(f"{text!r} is not an rsync URL; write rsync://host/module/path/ "
                         "(or host::module/path)")
    host = match["host"].lower()
    port = int(match["port"]) if match.groupdict().get("port") else None
    path = match["path"].strip("/")
    if not path:
        raise ValueError(f"{text!r} names no rsync module")
    netloc = host if port is None else f"{host}:{port}"
    return Upstream(f"rsync://{netloc}/{path}/", host, port, path.split("/", 1)[0])


def stage_argv(*, rsync: str, options: list[str] | tuple[str, ...], stage: list[str],
               last: bool, max_delete: int, upstream: str, target: str,
               password_file: str | None = None) -> list[str]:
    """The argv of one stage. Only the last stage deletes (delayed, bounded)."""
    argv = [rsync, *options, *stage]
    if last:
        argv += ["--delete-delay", f"--max-delete={max_delete}"]
    if password_file:
        argv.append(f"--password-file={password_file}")
    return argv + [upstream, target.rstrip("/") + "/"]


class Outcome(Enum):
    SUCCESS = "success"
    RETRY = "retry"  # transient: network, protocol hiccup, partial transfer
    FAIL = "fail"  # configuration, max-delete guard, anything unknown


# Exit codes from rsync(1). 24 (files vanished on the sender) is normal on a
# live upstream; 25 means --max-delete stopped deletions: alert, don't retry.
SUCCESS_CODES = frozenset({0, 24})
RETRY_CODES = frozenset({5, 10, 12, 23, 30, 35})
EXIT_MEANINGS = {
    0: "success",
    1: "syntax or usage error",
    2: "protocol incompatibility",
    3: "errors selecting input/output files, dirs",
    4: "requested action not supported",
    5: "error starting client-server protocol",
    6: "daemon unable to append to log-file",
    10: "error in socket I/O",
    11: "error in file I/O",
    12: "error in rsync protocol data stream",
    13: "errors with program diagnostics",
    14: "error in IPC code",
    20: "received SIGUSR1 or SIGINT",
    21: "some error returned by waitpid()",
    22: "error allocating core memory buffers",
    23: "partial transfer due to error",
    24: "partial transfer due to vanished source files",
    25: "the --max-delete limit stopped deletions",
    30: "timeout in data send/receive",
    35: "timeout waiting for daemon connection",
}


def classify(exit_code: int) -> Outcome:
    if exit_code in SUCCESS_CODES:
        return Outcome.SUCCESS
    if exit_code in RETRY_CODES:
        return Outcome.RETRY
    return Outcome.FAIL


def describe_exit(exit_code: int) -> str:
    if exit_code < 0:
        return f"killed by signal {-exit_code}"
    return EXIT_MEANINGS.get(exit_code, "unknown rsync exit code")


_TOTAL_SIZE = re.compile(rb"^Total file size: ([\d,.]+) bytes", re.MULTILINE)
_TRANSFERRED = re.compile(rb"^Total transferred file size: ([\d,.]+) bytes", re.MULTILINE)
_FILES = re.compile(rb"^Number of files: ([\d,.]+)", re.MULTILINE)


def parse_stats(output: bytes) -> dict[str, int]:
    """Numbers from ``--stats`` output (the last block wins)."""
    stats = {}
    for key, pattern in (("total_size", _TOTAL_SIZE), ("transferred_size", _TRANSFERRED),
                         ("files", _FILES)):
        found = pattern.findall(output)
        if found:
            stats[key] = int(re.sub(rb"[,.]", b"", found[-1]))
    return stats
