"""The monitor's settings (/etc/speculum/monitor.json, from the monitor role's
variables): thresholds of the checks and the alert policy. Validated on the
controller by the preflight (every bad setting named), and again on load.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Any

from ..durations import parse_duration

DEFAULTS: dict[str, Any] = {
    # label of the host in messages
    "hostname": "",
    # alert policy
    "threshold": 2,  # consecutive failing check runs before an alert
    "repeat_every": "6h",  # reminder while an incident stays open ("0": never)
    "mention": "",  # e.g. "<@&123456789>" (a Discord role), added to alerts of failures
    "mention_every": "1h",  # at most one mention per this time
    "summary_time": "08:00",  # daily summary, local time; "" for none
    # project checks
    "stale_periods": 4,  # last success older than this many sync periods: failing
    "behind_periods": 2,  # this many sync periods behind the upstream's marker: failing
    "max_marker_age": "2d",  # marker older than this (upstream unreadable): failing
    "stuck_factor": 3,  # a run longer than its expected duration times this: stuck
    "upstream_every": "30m",  # read each upstream's marker at most this often
    # host checks
    "http_url": "http://127.0.0.1/",
    "https_names": [],  # TLS names of the HTTPS server; empty: no HTTPS checks
    "https_port": 443,
    "cert_min_days": 14,
    "disk_warn_percent": 10,
    "disk_fail_percent": 5,
    "units": ["speculum-*", "certbot.service"],
    "backup_status": "",  # the backup's status.json; "" when the host has no backups
    "backup_max_age": "36h",  # last successful backup older than this: failing
}

_DURATIONS = ("repeat_every", "mention_every", "max_marker_age", "upstream_every", "backup_max_age")
_POSITIVE = ("threshold", "stale_periods", "behind_periods", "stuck_factor", "cert_min_days")
_PERCENT = ("disk_warn_percent", "disk_fail_percent")


@dataclass(frozen=True)
class Settings:
    hostname: str = ""
    threshold: int = 2
    repeat_every: int = 6 * 3600
    mention: str = ""
    mention_every: int = 3600
    summary_time: str = "08:00"
    stale_periods: float = 4
    behind_periods: float = 2
    max_marker_age: int = 2 * 86400
    stuck_factor: float = 3
    upstream_every: int = 1800
    http_url: str = "http://127.0.0.1/"
    https_names: tuple[str, ...] = ()
    https_port: int = 443
    cert_min_days: int = 14
    disk_warn_percent: float = 10
    disk_fail_percent: float = 5
    units: tuple[str, ...] = field(default=("speculum-*", "certbot.service"))
    backup_status: str = ""
    backup_max_age: int = 36 * 3600


def errors(raw: Any) -> list[str]:
    """Every problem of ``raw`` (the role's settings), each naming its setting."""
    if not isinstance(raw, dict):
        return [f"monitor settings: expected a mapping, got {type(raw).__name__}"]
    out = [f"monitor setting '{k}': unknown setting" for k in sorted(set(raw) - set(DEFAULTS))]
    merged = {**DEFAULTS, **raw}

    def bad(name: str, message: str) -> None:
        out.append(f"monitor setting '{name}': {message}, got {merged[name]!r}")

    for name in _DURATIONS:
        value = merged[name]
        if _never(value) and name == "repeat_every":
            continue
        try:
            parse_duration(value)
        except ValueError as exc:
            out.append(f"monitor setting '{name}': {exc}")
    for name in _POSITIVE:
        if not _number(merged[name]) or merged[name] <= 0:
            bad(name, "must be a positive number")
    if not isinstance(merged["threshold"], int):
        bad("threshold", "must be a whole number of check runs")
    for name in _PERCENT:
        if not _number(merged[name]) or not 0 <= merged[name] < 100:
            bad(name, "must be a percentage from 0 to 99")
    if _number(merged["disk_warn_percent"]) and _number(merged["disk_fail_percent"]) \
            and merged["disk_fail_percent"] > merged["disk_warn_percent"]:
        bad("disk_fail_percent", "must not exceed disk_warn_percent")
    summary = merged["summary_time"]
    if summary != "" and not (isinstance(summary, str) and re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", summary)):
        bad("summary_time", 'must be "HH:MM" (24-hour, local time) or "" for no summary')
    if not isinstance(merged["mention"], str):
        bad("mention", "must be text such as <@&ROLE_ID>")
    if not isinstance(merged["hostname"], str):
        bad("hostname", "must be text")
    if not (isinstance(merged["http_url"], str) and re.match(r"https?://", merged["http_url"])):
        bad("http_url", "must be an http:// or https:// URL")
    if not _strings(merged["https_names"]):
        bad("https_names", "must be a list of host names")
    port = merged["https_port"]
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        bad("https_port", "must be a TCP port")
    if not (isinstance(merged["backup_status"], str)
            and (merged["backup_status"] == "" or merged["backup_status"].startswith("/"))):
        bad("backup_status", 'must be the absolute path of the backup\'s status file, or ""')
    if not _strings(merged["units"]):
        bad("units", "must be a list of systemd unit names or patterns")
    return out


def parse(raw: dict | None) -> Settings:
    """Settings from the deployed file; ValueError lists every problem."""
    raw = raw or {}
    problems = errors(raw)
    if problems:
        raise ValueError("\n".join(problems))
    merged = {**DEFAULTS, **raw}
    values: dict[str, Any] = {}
    for f in fields(Settings):
        value = merged[f.name]
        if f.name in _DURATIONS:
            value = 0 if _never(value) else parse_duration(value)
        elif isinstance(value, list):
            value = tuple(value)
        values[f.name] = value
    return Settings(**values)


def _never(value: Any) -> bool:
    """0 or "0": the way to turn a repeat off (not False, not 0.0)."""
    return value == "0" or (type(value) is int and value == 0)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)
