"""Freshness markers: the time a tree was last updated upstream, read from a
file inside it. Formats seen on real mirrors:

- ``unix``: Arch ``lastsync``, CentOS ``TIME`` style -- a Unix timestamp;
- ``debian-trace``: ftpsync ``project/trace/*`` -- a ``Date:`` line (RFC 2822),
  or a ``date -u`` line as the first line of older traces;
- ``centos-time``: same as unix;
- ``manjaro-state``: ``state`` file with a ``date=2026-11-21T05:00:12Z`` line;
- ``ctan-timestamp``: a Unix timestamp or ``YYYY/MM/DD HH:MM:SS`` (UTC);
- ``mtime``: the file's modification time.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def marker_time(path: str | os.PathLike, fmt: str) -> float:
    """Seconds since the epoch the marker at ``path`` records (ValueError if unreadable)."""
    if fmt == "mtime":
        return os.stat(path).st_mtime
    with open(path, "rb") as handle:
        text = handle.read(8192).decode("utf-8", "replace")
    return parse_marker(text, fmt)


def parse_marker(text: str, fmt: str) -> float:
    parser = _PARSERS.get(fmt)
    if parser is None:
        raise ValueError(f"unknown marker format {fmt!r}")
    try:
        return parser(text)
    except (ValueError, TypeError, IndexError) as exc:
        raise ValueError(f"not a {fmt} marker: {text[:80]!r} ({exc})") from None


def _unix(text: str) -> float:
    return float(text.split()[0])


def _debian_trace(text: str) -> float:
    for line in text.splitlines():
        if line.startswith("Date:"):
            return parsedate_to_datetime(line[5:].strip()).timestamp()
    first = text.splitlines()[0].strip()
    # 'Sat Nov 21 05:00:00 UTC 2026' as written by `date -u`
    parts = first.split()
    if len(parts) == 6:
        parsed = datetime.strptime(" ".join(parts[:4] + parts[5:]), "%a %b %d %H:%M:%S %Y")
        return parsed.replace(tzinfo=UTC).timestamp()
    return parsedate_to_datetime(first).timestamp()


def _manjaro_state(text: str) -> float:
    match = re.search(r"^date=(\S+)", text, re.MULTILINE)
    if not match:
        raise ValueError("no date= line")
    return datetime.fromisoformat(match[1].replace("Z", "+00:00")).timestamp()


def _ctan(text: str) -> float:
    token = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", token.split()[0]):
        return float(token.split()[0])
    for fmt in ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(token[:19], fmt).replace(tzinfo=UTC).timestamp()
        except ValueError:
            continue
    raise ValueError("no timestamp")


_PARSERS = {
    "unix": _unix,
    "centos-time": _unix,
    "debian-trace": _debian_trace,
    "manjaro-state": _manjaro_state,
    "ctan-timestamp": _ctan,
}
