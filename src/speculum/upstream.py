"""Probing upstreams and our own host: list, count, fetch markers, check files.

Everything here runs the real ``rsync`` binary (always an argv list, never a
shell) or ``urllib`` for HTTP, and uses the standard library only, so the
module also runs with the mirror host's system python3.

Passwords reach rsync through ``RSYNC_PASSWORD`` in the child's environment
only, never on its argv (which any local user can read in ``ps``); the user
name goes into the URL (``rsync://user@host/module/``). Without a password
an ``RSYNC_PASSWORD`` already in our own environment is inherited, as the
runner does; rsync then never prompts (no terminal, stdin is /dev/null).

Things about ``rsync --list-only`` worth knowing (rsync 3.2/3.5):

- a line is ``PERMS SIZE YYYY/MM/DD HH:MM:SS NAME``; the size is padded to 14
  columns and carries thousands separators (``1,234,567``; the separator
  depends on the locale, so the child runs with ``LC_ALL=C``);
- names are printed with unprintable bytes escaped as ``\\#ooo`` (octal), and a
  backslash that precedes ``#`` is itself escaped as ``\\#134``; under the C
  locale every non-ASCII byte is escaped too;
- symlinks are listed as ``l`` lines, but their ``-> target`` is only shown
  with ``--links``; without it the name of a symlink may itself contain
  `` -> `` and nothing tells the two apart;
- a listing of ``dir/`` starts with a ``.`` line for the directory itself;
- the daemon glob-expands the path of a request when it contains ``*?[``
  (backslash escapes those), so literal paths are escaped before sending;
- ``--no-motd`` also hides the module list a bare ``rsync://host/`` returns;
- rsync's own ``--timeout`` is an idle timeout and fires late (a frozen
  upstream with ``--timeout=3`` took six seconds), hence the wall-clock bound.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http.client import HTTPException
from typing import Any

from .markers import marker_time, parse_marker
from .process import stop_group
from .rsync import SUCCESS_CODES, describe_exit, parse_upstream

RSYNC = "/usr/bin/rsync"
KILL_GRACE = 2.0  # seconds between SIGTERM and SIGKILL
MARKER_MAX_SIZE = "1M"  # a marker is a few bytes; never pull an ISO by mistake
CONNECT_TIMEOUT = 60  # --contimeout ceiling
USER_AGENT = "speculum-probe"

_LINE = re.compile(
    rb"^(?P<perms>\S{10})\s+(?P<size>[\d,.']+)\s+(?P<date>\d{4}/\d\d/\d\d)\s"
    rb"(?P<time>\d\d:\d\d:\d\d)\s(?P<name>.*?)\r?\n?$")
_ESCAPE = re.compile(rb"\\#([0-7]{3})")
_GLOB = re.compile(r"[*?\[]")
_GLOB_CHARS = re.compile(r"([*?\[\]\\])")
_USER = re.compile(r"[A-Za-z0-9._+-]+")
_MISSING = ("No such file or directory", "symlink has no referent")


class UpstreamError(RuntimeError):
    """A probe failed; the message says what and, for rsync, what its exit code means."""

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


@dataclass
class Scan:
    files: int
    directories: int
    total_size: int
    seconds: float
    symlinks: int = 0


@dataclass(frozen=True)
class Entry:
    """One line of ``rsync --list-only``."""
    kind: str  # '-' file, 'd' directory, 'l' symlink, 'p' fifo, 'c'/'b' devices, 's' socket
    perms: str
    size: int
    mtime: str  # 'YYYY/MM/DD HH:MM:SS' as rsync prints it (local time of the client)
    name: str  # unescaped; undecodable bytes kept as surrogates
    target: str | None = None  # symlink target, when listed with --links


def parse_line(line: bytes | str) -> Entry | None:
    """Parse one ``--list-only`` line; None for anything else (warnings, blank lines)."""
    if isinstance(line, str):
        line = line.encode("utf-8", "surrogateescape")
    match = _LINE.match(line)
    if not match:
        return None
    perms = match["perms"].decode("ascii", "replace")
    name = _unescape(match["name"])
    target = None
    if perms[0] == "l" and " -> " in name:
        name, target = name.split(" -> ", 1)  # ambiguous if the name has ' -> ' itself
    return Entry(perms[0], perms, int(re.sub(rb"[,.']", b"", match["size"])),
                 f"{match['date'].decode()} {match['time'].decode()}", name, target)


def parse_listing(output: bytes | str) -> list[Entry]:
    if isinstance(output, str):
        output = output.encode("utf-8", "surrogateescape")
    return [entry for entry in map(parse_line, output.splitlines()) if entry is not None]


def _unescape(raw: bytes) -> str:
    return _ESCAPE.sub(lambda m: bytes([int(m[1], 8) & 0xFF]), raw).decode("utf-8", "surrogateescape")


# --- running rsync --------------------------------------------------------------------

@dataclass
class _Run:
    code: int
    stdout: bytes
    stderr: str
    timed_out: bool
    seconds: float


def _remote(upstream: str, user: str | None, path: str = "") -> str:
    """The rsync URL of ``path`` inside ``upstream`` (with the user, escaped for the daemon)."""
    try:
        url = parse_upstream(upstream).url
    except ValueError as exc:
        raise UpstreamError(str(exc)) from None
    if user:
        if not _USER.fullmatch(user):
            raise UpstreamError(f"rsync user {user!r} may contain letters, digits and . _ + - only")
        url = url.replace("rsync://", f"rsync://{user}@", 1)
    path = path.strip("/")
    if path:
        if ".." in path.split("/"):
            raise UpstreamError(f"path {path!r} leaves the upstream tree")
        if _GLOB.search(path):  # the daemon would expand it; make it match itself only
            path = _GLOB_CHARS.sub(r"\\\1", path)
        url += path
    return url


def _environ(password: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env["LC_ALL"] = "C"  # ',' separators and English messages, whatever the host's locale
    if password is not None:
        env["RSYNC_PASSWORD"] = password
    return env


def _timeouts(timeout: float) -> list[str]:
    seconds = max(1, int(timeout))
    return [f"--timeout={seconds}", f"--contimeout={min(seconds, CONNECT_TIMEOUT)}"]


def _run(argv: list[str], password: str | None, timeout: float,
         on_line: Callable[[bytes], None] | None = None) -> _Run:
    """Run rsync without a shell, killing its process group after ``timeout`` seconds.

    With ``on_line`` the standard output is streamed to it line by line (a
    recursive listing of a big mirror is hundreds of megabytes) instead of kept.
    """
    started = time.monotonic()
    expired = threading.Event()
    with tempfile.TemporaryFile() as errors:
        try:
            # A new session: no controlling terminal to prompt for a password on,
            # and one process group to kill.
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=errors, env=_environ(password),
                                    start_new_session=True)
        except OSError as exc:
            raise UpstreamError(f"cannot run {argv[0]}: {exc}") from None

        def expire() -> None:
            expired.set()
            stop_group(proc, KILL_GRACE)

        timer = threading.Timer(timeout, expire)
        timer.daemon = True
        timer.start()
        chunks: list[bytes] = []
        try:
            assert proc.stdout is not None
            with proc.stdout:
                if on_line is None:
                    chunks.append(proc.stdout.read())
                else:
                    for line in proc.stdout:
                        on_line(line)
            code = proc.wait()
        except BaseException:
            stop_group(proc, KILL_GRACE)
            raise
        finally:
            timer.cancel()
        errors.seek(0)
        stderr = errors.read().decode("utf-8", "replace")
    return _Run(code, b"".join(chunks), stderr, expired.is_set(), time.monotonic() - started)


def _detail(stderr: str) -> str:
    """The informative part of rsync's complaints (the daemon's @ERROR, the failing call)."""
    lines = [line.strip() for line in stderr.replace("Password:", "").splitlines() if line.strip()]
    picked = [line for line in lines if line.startswith("@ERROR")]
    picked += [line for line in lines
               if (line.startswith("rsync:") and "read error" not in line)  # not the echo
               or "has no referent" in line]
    picked = picked or lines[-2:]
    text = "; ".join(dict.fromkeys(picked))
    return text if len(text) <= 600 else text[:597] + "..."


def _failure(what: str, run: _Run, timeout: float) -> UpstreamError:
    if run.timed_out:
        return UpstreamError(f"{what}: no result within the wall-clock timeout of {timeout:g}s "
                             "(upstream frozen or too slow); rsync was stopped", None)
    message = f"{what}: rsync exit {run.code} ({describe_exit(run.code)})"
    detail = _detail(run.stderr)
    if detail:
        message += f": {detail}"
    if "auth failed" in run.stderr:
        message += " -- check sync.user and sync.password_secret"
    return UpstreamError(message, run.code)


def _missing(run: _Run) -> bool:
    return run.code == 23 and any(text in run.stderr for text in _MISSING)


# --- the probes -----------------------------------------------------------------------

def scan(upstream: str, *, user: str | None = None, password: str | None = None,
         timeout: float = 600, rsync: str = RSYNC) -> Scan:
    """Count the files and directories of an upstream tree and sum the file sizes.

    Regular files and directories below the upstream directory are counted
    (the directory itself is not); symlinks are counted apart and add no size.
    """
    url = _remote(upstream, user)
    counts = {"-": 0, "d": 0, "l": 0}
    size = [0]

    def count(line: bytes) -> None:
        entry = parse_line(line)
        if entry is None or entry.name == ".":
            return
        if entry.kind in counts:
            counts[entry.kind] += 1
        if entry.kind == "-":
            size[0] += entry.size

    argv = [rsync, "--list-only", "--recursive", "--links", "--no-motd", *_timeouts(timeout), url]
    run = _run(argv, password, timeout, on_line=count)
    if run.timed_out or run.code not in SUCCESS_CODES:
        raise _failure(f"scan of {url}", run, timeout)
    return Scan(counts["-"], counts["d"], size[0], round(run.seconds, 3), counts["l"])


def reachable(upstream: str, *, user: str | None = None, password: str | None = None,
              timeout: float = 30, rsync: str = RSYNC) -> tuple[bool, str]:
    """List the upstream directory itself (no recursion): (ok, what happened)."""
    try:
        url = _remote(upstream, user)
    except UpstreamError as exc:
        return False, exc.message
    argv = [rsync, "--list-only", "--no-motd", *_timeouts(timeout), url]
    try:
        run = _run(argv, password, timeout)
    except UpstreamError as exc:
        return False, exc.message
    if run.timed_out or run.code not in SUCCESS_CODES:
        return False, _failure(f"listing {url}", run, timeout).message
    entries = [e for e in parse_listing(run.stdout) if e.name != "."]
    return True, f"{url} answered in {run.seconds:.1f}s with {len(entries)} entries"


def _fetch(url: str, dest: str, *, password: str | None, timeout: float, rsync: str,
           extra: tuple[str, ...] = ()) -> _Run:
    argv = [rsync, "--times", "--copy-links", "--no-motd", *extra, *_timeouts(timeout),
            url, dest.rstrip("/") + "/"]
    return _run(argv, password, timeout)


def fetch_marker(upstream: str, path: str, fmt: str, *, user: str | None = None,
                 password: str | None = None, timeout: float = 60, rsync: str = RSYNC) -> float:
    """The time (epoch seconds) the marker ``path`` of the upstream records.

    The file is copied with its modification time (so ``mtime`` works) into a
    temporary directory and read with :func:`speculum.markers.marker_time`.
    """
    url = _remote(upstream, user, path)
    name = path.strip("/").rsplit("/", 1)[-1]
    if not name:
        raise UpstreamError(f"marker path {path!r} names no file")
    with tempfile.TemporaryDirectory(prefix="speculum-marker-") as tmp:
        run = _fetch(url, tmp, password=password, timeout=timeout, rsync=rsync,
                     extra=(f"--max-size={MARKER_MAX_SIZE}",))
        if _missing(run):
            raise UpstreamError(f"marker {path} is missing on {_remote(upstream, None)}", run.code)
        if run.timed_out or run.code not in SUCCESS_CODES:
            raise _failure(f"fetching marker {url}", run, timeout)
        local = os.path.join(tmp, name)
        if not os.path.isfile(local):
            raise UpstreamError(f"marker {path} on {_remote(upstream, None)} is not a file "
                                f"of at most {MARKER_MAX_SIZE}B")
        try:
            return float(marker_time(local, fmt))
        except (ValueError, OSError) as exc:
            raise UpstreamError(f"marker {path} on {_remote(upstream, None)}: {exc}") from None


def exists(upstream: str, path: str, *, md5: bool = False, user: str | None = None,
           password: str | None = None, timeout: float = 60,
           rsync: str = RSYNC) -> dict[str, Any]:
    """Whether ``path`` exists upstream: ``{"exists", "size", "md5"}``.

    Symlinks are followed (as a web server would). ``size`` is set for regular
    files, ``md5`` only when asked for and ``path`` is a regular file (it is
    then downloaded to a temporary directory). Missing means missing; any
    other failure (unreachable, auth) raises UpstreamError.
    """
    url = _remote(upstream, user, path)
    argv = [rsync, "--list-only", "--copy-links", "--no-motd", *_timeouts(timeout), url]
    run = _run(argv, password, timeout)
    result: dict[str, Any] = {"exists": False, "size": None, "md5": None}
    if _missing(run):
        return result
    if run.timed_out or run.code not in SUCCESS_CODES:
        raise _failure(f"looking up {url}", run, timeout)
    entries = parse_listing(run.stdout)
    name = path.strip("/").rsplit("/", 1)[-1]
    entry = next((e for e in entries if e.name == name), entries[0] if entries else None)
    if entry is None:
        return result
    result["exists"] = True
    if entry.kind == "-":
        result["size"] = entry.size
        if md5:
            result["md5"] = _remote_md5(url, name, password=password, timeout=timeout, rsync=rsync)
    return result


def _remote_md5(url: str, name: str, *, password: str | None, timeout: float, rsync: str) -> str:
    with tempfile.TemporaryDirectory(prefix="speculum-md5-") as tmp:
        run = _fetch(url, tmp, password=password, timeout=timeout, rsync=rsync)
        if run.timed_out or run.code not in SUCCESS_CODES:
            raise _failure(f"fetching {url}", run, timeout)
        digest = hashlib.md5(usedforsecurity=False)
        with open(os.path.join(tmp, name), "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()


# --- HTTP on our own host ---------------------------------------------------------------

# Our own host: never through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_probe(url: str, *, md5: bool = False, timeout: float = 15) -> dict[str, Any]:
    """HEAD ``url`` (GET when HEAD is refused, the size is unknown or ``md5`` is asked for).

    ``{"status", "size", "md5", "error"}``: status is the HTTP status (None when
    no answer came); error explains a failure, including an HTTP error status.
    """
    result: dict[str, Any] = {"status": None, "size": None, "md5": None, "error": None}
    try:
        if not md5:
            status, length = _request(url, "HEAD", timeout)
            if status not in (405, 501) and (length is not None or status >= 400):
                result.update(status=status, size=length)
                if status >= 400:
                    result["error"] = f"HTTP {status}"
                return result
        status, length, digest = _get(url, timeout, md5)
        result.update(status=status, size=length, md5=digest)
        if status >= 400:
            result.update(size=None, md5=None, error=f"HTTP {status}")
    except urllib.error.HTTPError as exc:  # only from _get's error paths
        result.update(status=exc.code, error=f"HTTP {exc.code} {exc.reason}")
    except (urllib.error.URLError, HTTPException, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        result["error"] = reason if isinstance(reason, str) else f"{type(reason).__name__}: {reason}"
    return result


def http_marker(url: str, fmt: str, *, timeout: float = 15) -> float:
    """The time a freshness marker served over HTTP records (``mtime``: Last-Modified)."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            if fmt == "mtime":
                modified = response.headers.get("Last-Modified")
                if not modified:
                    raise UpstreamError(f"{url}: no Last-Modified header")
                return parsedate_to_datetime(modified).timestamp()
            text = response.read(8192).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        raise UpstreamError(f"{url}: HTTP {exc.code}") from None
    except (urllib.error.URLError, HTTPException, OSError) as exc:
        raise UpstreamError(f"{url}: {getattr(exc, 'reason', exc)}") from None
    return parse_marker(text, fmt)


def _request(url: str, method: str, timeout: float) -> tuple[int, int | None]:
    request = urllib.request.Request(url, method=method, headers={"User-Agent": USER_AGENT})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status, _length(response.headers.get("Content-Length"))
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, None


def _get(url: str, timeout: float, md5: bool) -> tuple[int, int | None, str | None]:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        response = _OPENER.open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, None, None
    with response:
        digest = hashlib.md5(usedforsecurity=False) if md5 else None
        size = 0
        for block in iter(lambda: response.read(1 << 20), b""):
            size += len(block)
            if digest is not None:
                digest.update(block)
        return response.status, size, digest.hexdigest() if digest else None


def _length(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


# --- many at once -------------------------------------------------------------------------

def parallel(fn: Callable[[Any], Any], items: Iterable[Any], *, jobs: int = 8,
             progress: Callable[[int, int], None] | None = None) -> list[Any]:
    """``[fn(item) for item in items]`` on ``jobs`` threads, results in input order.

    ``progress(done, total)`` is called in the calling thread after each item
    finishes. The first exception (in input order) is raised once all are done.
    """
    items = list(items)
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=min(jobs, len(items))) as pool:
        futures = [pool.submit(fn, item) for item in items]
        for done, _ in enumerate(as_completed(futures), 1):
            if progress is not None:
                progress(done, len(items))
        return [future.result() for future in futures]
