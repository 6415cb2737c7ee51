"""Host checks: nginx answers over HTTP and HTTPS, the served certificate's
expiry, free space and inodes on the mirror volume, our failed systemd units.

Each check is its own alert subject (``host/http``, ``host/disk``, …), so a
disk filling up while nginx is down still raises its own alert.
"""

from __future__ import annotations

import fnmatch
import os
import socket
import ssl
import subprocess
import urllib.error
import urllib.request
from datetime import UTC, datetime

from ..durations import format_duration
from ..fsutil import read_json
from ..status import human_size
from .checks import FAIL, OK, UNKNOWN, WARN, Check
from .settings import Settings

TIMEOUT = 10
# Reported by their own checks, with the run's own error: per project, host/backup.
REPORTED_ELSEWHERE = ("speculum-sync-*.service", "speculum-backup.service")


def http(url: str, *, timeout: float = TIMEOUT) -> Check:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout) as r:
            code = r.status
    except urllib.error.HTTPError as exc:
        code = exc.code
    except (OSError, ValueError) as exc:
        return _c("http", FAIL, f"{url} does not answer: {_reason(exc)}")
    if code >= 500:
        return _c("http", FAIL, f"{url} answers HTTP {code}")
    return _c("http", OK, f"{url} answers HTTP {code}")


def https(name: str, port: int, now: float, min_days: float, *, address: str = "127.0.0.1",
          timeout: float = TIMEOUT) -> list[Check]:
    """Does the HTTPS server answer for ``name``, and how long is its certificate valid?"""
    context = ssl.create_default_context()
    context.check_hostname = False  # the certificate is judged below, by its dates
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((address, port), timeout=timeout) as raw, \
                context.wrap_socket(raw, server_hostname=name) as tls:
            der = tls.getpeercert(binary_form=True)
            tls.sendall(f"HEAD / HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
            first = tls.recv(256).split(b"\r\n", 1)[0].decode("latin-1")
    except (OSError, ssl.SSLError) as exc:
        return [_c("https", FAIL, f"https://{name}:{port}/ does not answer: {_reason(exc)}"),
                _c("certificate", UNKNOWN, "no certificate read (HTTPS does not answer)")]
    parts = first.split()
    if len(parts) < 2 or not parts[1].isdigit() or int(parts[1]) >= 500:
        answer = _c("https", FAIL, f"https://{name}:{port}/ answers {first!r}")
    else:
        answer = _c("https", OK, f"https://{name}:{port}/ answers HTTP {parts[1]}")
    return [answer, certificate(der, name, now, min_days)]


def certificate(der: bytes | None, name: str, now: float, min_days: float) -> Check:
    try:
        expires = not_after(der)
    except ValueError as exc:
        return _c("certificate", UNKNOWN, f"certificate of {name} unreadable: {exc}")
    days = (expires - now) / 86400
    when = _when(expires)
    if days < 0:
        return _c("certificate", FAIL, f"certificate of {name} expired on {when}", days)
    if days < min_days:
        return _c("certificate", FAIL, f"certificate of {name} expires in {days:.1f} days "
                     f"({when}); renewal is failing", days)
    return _c("certificate", OK, f"certificate of {name} valid for {days:.0f} more days", days)


def not_after(der: bytes | None) -> float:
    """The expiry (Unix seconds) of a DER certificate."""
    if not der:
        raise ValueError("no certificate")
    from cryptography import x509  # Debian's python3-cryptography

    try:
        cert = x509.load_der_x509_certificate(der)
    except Exception as exc:  # the library's own error types vary by version
        raise ValueError(str(exc)) from None
    expiry = getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after.replace(tzinfo=UTC)
    return expiry.timestamp()


def disk(path: str, warn_percent: float, fail_percent: float) -> list[Check]:
    try:
        st = os.statvfs(path)
    except OSError as exc:
        return [_c(n, UNKNOWN, f"cannot read {path}: {_reason(exc)}") for n in ("disk", "inodes")]
    out = [_free("disk", path, st.f_bavail, st.f_blocks, warn_percent, fail_percent,
                 human_size(st.f_bavail * st.f_frsize))]
    if st.f_files:  # some file systems (btrfs) report no inode limit
        out.append(_free("inodes", path, st.f_favail, st.f_files, warn_percent, fail_percent,
                         f"{st.f_favail:,} inodes"))
    return out


def _free(name: str, path: str, free: int, total: int, warn: float, fail: float, amount: str) -> Check:
    percent = 100.0 * free / total if total else 100.0
    text = f"{percent:.1f}% free on {path} ({amount})"
    state = FAIL if percent < fail else WARN if percent < warn else OK
    return _c(name, state, text, round(percent, 2))


def failed_units(patterns: tuple[str, ...], *, listing: str | None = None) -> Check:
    """Our units systemd reports as failed (but see REPORTED_ELSEWHERE)."""
    if listing is None:
        try:
            listing = subprocess.run(
                ["systemctl", "list-units", "--state=failed", "--all", "--plain", "--no-legend",
                 "--no-pager", "--", *patterns],
                capture_output=True, text=True, timeout=30, check=True).stdout
        except (OSError, subprocess.SubprocessError) as exc:
            return _c("units", UNKNOWN, f"systemctl failed: {_reason(exc)}")
    units = (line.lstrip("●* ").split(maxsplit=1)[0] for line in listing.splitlines() if line.strip())
    failed = sorted(u for u in units if any(fnmatch.fnmatch(u, p) for p in patterns)
                    and not any(fnmatch.fnmatch(u, p) for p in REPORTED_ELSEWHERE))
    if failed:
        return _c("units", FAIL, "failed: " + ", ".join(failed), len(failed))
    return _c("units", OK, "no failed units", 0)


def backup(status: dict | None, now: float, max_age: float) -> Check:
    """The backup's last run, last success and last `restic check`, from its status.json."""
    if status is None:
        return _c("backup", UNKNOWN, "no backup status yet (the backup role writes it)")
    run, last, check = (status.get(k) or {} for k in ("last_run", "last_success", "last_check"))
    if run and not run.get("ok", True) and run.get("finished"):
        return _c("backup", FAIL, f"the backup of {_when(run['finished'])} failed: {run.get('error', '?')}")
    if check and not check.get("ok", True):
        return _c("backup", FAIL, f"restic check of {_when(check['time'])} failed: {check.get('error', '?')}")
    since = last.get("time") or status.get("installed")
    if since is None:
        return _c("backup", UNKNOWN, "no backup has run yet")
    age = now - since
    if age > max_age:
        what = f"the last successful backup is {format_duration(age)} old" if last \
            else f"no backup since the backup was set up {format_duration(age)} ago"
        return _c("backup", FAIL, what, age)
    if not last:
        return _c("backup", OK, "the first backup is due at the backup time", age)
    count = f", {status['snapshots']} snapshots" if "snapshots" in status else ""
    return _c("backup", OK, f"last backup {format_duration(age)} ago "
                            f"(snapshot {str(last.get('snapshot', ''))[:8]}{count})", age)


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def host_checks(settings: Settings, mirror_root: str, now: float) -> list[Check]:
    out = [http(settings.http_url)]
    for name in settings.https_names[:1]:  # one server answers for all its names
        out += https(name, settings.https_port, now, settings.cert_min_days)
    out += disk(mirror_root, settings.disk_warn_percent, settings.disk_fail_percent)
    out.append(failed_units(settings.units))
    if settings.backup_status:
        try:
            status = read_json(settings.backup_status)
        except FileNotFoundError:
            status = None
        except (OSError, ValueError) as exc:
            out.append(_c("backup", UNKNOWN, f"cannot read {settings.backup_status}: {_reason(exc)}"))
            return out
        out.append(backup(status if isinstance(status, dict) or status is None else {}, now,
                          settings.backup_max_age))
    return out


def _c(name: str, state: str, message: str, value: float | None = None) -> Check:
    return Check(f"host/{name}", name, state, message, value)


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason or exc) or type(exc).__name__
