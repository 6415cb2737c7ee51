"""Freshness markers: the time a tree was last updated upstream, read from a
file inside it. Formats (the names ``schema.MARKER_FORMATS`` accepts):

- ``unix``: Arch ``lastsync`` -- a Unix timestamp (first token of the file);
- ``centos-time``: CentOS/Rocky/Alma ``TIME`` -- same as ``unix``;
- ``debian-trace``: ftpsync ``project/trace/*`` -- the ``Date:`` line (RFC 2822),
  else a first line that is a date (``date -u`` output or RFC 2822);
- ``manjaro-state``: ``state`` file with a ``date=2026-11-21T05:00:12Z`` line (ISO 8601);
- ``ctan-timestamp``: a Unix timestamp or ``YYYY/MM/DD HH:MM:SS`` (``-`` also);
- ``mtime``: the file's modification time (only through :func:`marker_time`).

Dates without a zone are UTC. Anything malformed, including times before 1990
or after 2200, raises ValueError naming the format.
"""

from __future__ import annotations

import math
import os
import re
import stat
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

READ_LIMIT = 8192
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC).timestamp()
LATEST = datetime(2200, 1, 1, tzinfo=UTC).timestamp()
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")  # no sign, exponent, nan/inf or non-ASCII digits
# full dates with seconds only: a shorter one is a truncated file
_ISO = re.compile(r"[0-9]{4}([/-])[0-9]{2}\1[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}")
_HMS = re.compile(r"[0-9]{2}:[0-9]{2}:[0-9]{2}")
_YEAR = re.compile(r"(?<![0-9+-])[0-9]{4}(?![0-9])")  # not a 2-digit year, not an offset


def marker_time(path: str | os.PathLike, fmt: str) -> float:
    """Seconds since the epoch the marker at ``path`` records.

    OSError if it cannot be read (FileNotFoundError if missing), ValueError if
    it is not a regular file or not a ``fmt`` marker.
    """
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):  # a directory, or a FIFO that would block
        raise ValueError(f"{fmt} marker {os.fspath(path)!r} is not a regular file")
    if fmt == "mtime":
        return info.st_mtime
    with open(path, "rb") as handle:
        text = handle.read(READ_LIMIT).decode("utf-8", "replace")
    return parse_marker(text, fmt)


def parse_marker(text: str, fmt: str) -> float:
    """Seconds since the epoch (UTC) the marker ``text`` in format ``fmt`` records; ValueError if malformed."""
    parser = _PARSERS.get(fmt) if isinstance(fmt, str) else None
    if parser is None:
        hint = " (it is read from the file, not its text)" if fmt == "mtime" else ""
        raise ValueError(f"unknown marker format {fmt!r}{hint}")
    try:
        value = parser(text.removeprefix("\ufeff"))
        if not (math.isfinite(value) and EARLIEST <= value <= LATEST):
            raise ValueError(f"{value} is not a time between 1990 and 2200")
    # whatever the input, callers see ValueError only (e.g. OverflowError, IndexError)
    except (ValueError, TypeError, LookupError, ArithmeticError) as exc:
        raise ValueError(f"not a {fmt} marker: {text[:80]!r} ({exc})") from None
    return value


def _utc(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _email(value: str) -> float:
    if not (_HMS.search(value) and _YEAR.search(value)):
        raise ValueError("no full date and time")
    return _utc(parsedate_to_datetime(value))


def _iso(value: str) -> float:
    if not _ISO.match(value):
        raise ValueError("no YYYY-MM-DD HH:MM:SS date")
    value = re.sub(r"\s*(UTC|GMT)$", "", value.replace("/", "-", 2))
    return _utc(datetime.fromisoformat(value))


def _unix(text: str) -> float:
    tokens = text.split(maxsplit=1)
    if not tokens or not _NUMBER.fullmatch(tokens[0]):
        raise ValueError("no Unix timestamp")
    return float(tokens[0])


def _debian_trace(text: str) -> float:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError("empty")
    for line in lines:
        if line.startswith("Date:"):  # not Date-Started:
            return _email(line[5:].strip())
    # older traces: `date -u` ('Sat Nov 21 03:24:11 UTC 2026') or RFC 2822 first line
    return _email(lines[0])


def _manjaro_state(text: str) -> float:
    match = re.search(r"^[ \t]*date[ \t]*=(.*)$", text, re.MULTILINE)
    if not match:
        raise ValueError("no date= line")
    return _iso(match[1].strip())


def _ctan(text: str) -> float:
    tokens = text.split(maxsplit=1)
    if tokens and _NUMBER.fullmatch(tokens[0]):
        return float(tokens[0])
    # 'YYYY/MM/DD HH:MM:SS' or 'YYYY-MM-DD HH:MM:SS', maybe with a zone
    return _iso((text.strip().splitlines() or [""])[0].strip())


_PARSERS = {
    "unix": _unix,
    "centos-time": _unix,
    "debian-trace": _debian_trace,
    "manjaro-state": _manjaro_state,
    "ctan-timestamp": _ctan,
}
