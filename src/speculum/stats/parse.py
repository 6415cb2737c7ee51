"""Access-log line parsers, on bytes (decoding every line would halve the speed).

A parser turns one line (without its newline) into a hit: a plain tuple in
``Hit`` field order (a NamedTuple costs a Python-level call per line), ``None`` for a
malformed line, or ``SKIP`` for a well-formed line that is no request (the
rsync daemon logs connections and session totals between its transfers).
Each format also turns its raw timestamp into a UTC hour ``YYYY-MM-DDTHH``;
``Format.hour`` caches that, since a busy hour repeats one prefix.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import NamedTuple


class Hit(NamedTuple):
    ts: bytes  # the hour as written, offset included (a cache key for Format.hour)
    ip: bytes
    method: bytes
    path: bytes  # as requested, query string included
    status: bytes  # three digits
    size: int  # bytes sent
    agent: bytes


SKIP = False  # a valid line that is not a request
CACHE_LIMIT = 100_000  # entries per cache before it is emptied (memory bound)


class Format:
    name = ""

    def __init__(self):
        self.hours: dict[bytes, str] = {}  # raw timestamp -> hour; hot loops read it directly

    def parse(self, line: bytes) -> tuple | None | bool:
        """A hit (fields of ``Hit``), None (malformed) or SKIP."""
        raise NotImplementedError

    def hour(self, ts: bytes) -> str:
        hour = self.hours.get(ts)
        if hour is None:
            if len(self.hours) > CACHE_LIMIT:
                self.hours.clear()
            hour = self.hours[ts] = self._utc_hour(ts.decode("ascii", "replace"))
        return hour

    def _utc_hour(self, ts: str) -> str:
        raise NotImplementedError


def _hour(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H")


class Speculum(Format):
    """The nginx role's `speculum` format: 12 tab-separated fields, no quoting."""

    name = "speculum"

    def parse(self, line: bytes) -> Hit | None:
        f = line.split(b"\t")
        if len(f) != 12 or len(f[5]) != 3 or not f[6].isdigit() or len(f[0]) < 20:
            return None
        ts = f[0]
        return ts[:13] + ts[19:], f[1], f[2], f[3], f[5], int(f[6]), f[9]

    def _utc_hour(self, ts: str) -> str:
        # 2026-11-21T10+01:00 from $time_iso8601, which carries its offset
        return _hour(datetime.fromisoformat(f"{ts[:13]}:00{ts[13:]}"))


_COMBINED_HEAD = rb'(\S+) \S+ \S+ \[([^\]:]+:\d\d):\d\d:\d\d ([^\]]+)\] "([^"]*)" (\d{3}) (\d+|-) '
_COMBINED = re.compile(_COMBINED_HEAD + rb'"[^"]*" "([^"]*)"(?: |$)')  # nginx writes quotes as \x22
_COMBINED_ESCAPED = re.compile(_COMBINED_HEAD + rb'"(?:[^"\\]|\\.)*" "((?:[^"\\]|\\.)*)"')  # Apache: \"


class Combined(Format):
    """NCSA combined: ``ip - user [time] "request" status bytes "referer" "agent"``."""

    name = "combined"

    def parse(self, line: bytes) -> Hit | None:
        m = _COMBINED.match(line) or _COMBINED_ESCAPED.match(line)
        if m is None:
            return None
        ip, hour, offset, request, status, size, agent = m.groups()
        parts = request.split(b" ")
        if len(parts) >= 2:
            method, path = parts[0], parts[1]
        else:  # a garbage request line the server answered with 400
            method, path = b"-", b""
        return hour + b" " + offset, ip, method, path, status, 0 if size == b"-" else int(size), agent

    def _utc_hour(self, ts: str) -> str:
        return _hour(datetime.strptime(ts, "%d/%b/%Y:%H %z"))


# rsyncd's default transfer log format `%o %h [%a] %m (%u) %f %l` after its own
# `YYYY/MM/DD hh:mm:ss [pid] ` prefix; the prefix alone marks a valid line.
_RSYNC_PREFIX = re.compile(rb"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[\d+\] ")
_RSYNC_SEND = re.compile(
    rb"(\d{4}/\d\d/\d\d \d\d):\d\d:\d\d \[\d+\] send \S+ \[([^\]]+)\] (\S+) \([^)]*\) (.*) (\d+)")
RSYNC_AGENT = b"rsync"


class Rsyncd(Format):
    """The rsync daemon's log with ``transfer logging``: each `send` is a request."""

    name = "rsyncd"

    def parse(self, line: bytes) -> Hit | None | bool:
        m = _RSYNC_SEND.match(line)
        if m is None:
            return SKIP if _RSYNC_PREFIX.match(line) else None
        ts, ip, module, name, size = m.groups()
        if not name.startswith(module + b"/"):  # %f is module-relative inside a chroot
            name = module + b"/" + name
        return ts, ip, b"RSYNC", b"/" + name, b"200", int(size), RSYNC_AGENT

    def _utc_hour(self, ts: str) -> str:
        # rsyncd writes the host's local time without an offset
        return _hour(datetime.strptime(ts, "%Y/%m/%d %H").astimezone())


FORMATS = {cls.name: cls for cls in (Speculum, Combined, Rsyncd)}


def detect(head: bytes) -> Format | None:
    """The format that parses most of the first lines of a file (None: no line parses)."""
    lines = [line for line in head.split(b"\n")[:50] if line.strip()]
    best, best_score = None, 0
    for cls in FORMATS.values():
        fmt = cls()
        score = sum(1 for line in lines if fmt.parse(line) is not None)
        if score > best_score:
            best, best_score = fmt, score
    return best


def get(name: str, head: bytes = b"") -> Format | None:
    """A parser by name; ``auto`` picks one from the file's head."""
    if name == "auto":
        return detect(head)
    return FORMATS[name]()


# --- client families ------------------------------------------------------------

FAMILIES = ("apt", "dnf/yum", "pacman", "zypper", "rsync", "browser", "curl/wget", "other")
_FAMILY_MARKS = (  # first match wins: package managers before the generic Mozilla/
    (b"APT-HTTP", "apt"), (b"APT-CURL", "apt"), (b"libdnf", "dnf/yum"), (b"dnf/", "dnf/yum"),
    (b"yum/", "dnf/yum"), (b"urlgrabber", "dnf/yum"), (b"pacman/", "pacman"), (b"ZYpp", "zypper"),
    (b"curl/", "curl/wget"), (b"Wget/", "curl/wget"), (RSYNC_AGENT, "rsync"), (b"Mozilla/", "browser"),
    (b"Opera/", "browser"),
)


class Families:
    """User agent -> family, with a bounded cache (a mirror sees few distinct agents).

    Hot loops read ``cache`` directly and call only on a miss.
    """

    def __init__(self):
        self.cache: dict[bytes, str] = {}

    def __call__(self, agent: bytes) -> str:
        family = self.cache.get(agent)
        if family is None:
            if len(self.cache) > CACHE_LIMIT:
                self.cache.clear()
            family = self.cache[agent] = classify(agent)
        return family


def classify(agent: bytes) -> str:
    for mark, family in _FAMILY_MARKS:
        if mark in agent:
            return family
    return "other"
