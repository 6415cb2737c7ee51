"""Human durations ("4h", "90m", "1h30m", "45s", "2d") <-> seconds."""

from __future__ import annotations

import re

_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+)([dhms])")
_WHOLE = re.compile(r"(?:\d+[dhms])+")


def parse_duration(text: str | int) -> int:
    """Return seconds for ``text``; a bare integer means seconds.

    Raises ValueError with a message fit for an admin.
    """
    if isinstance(text, bool):
        raise ValueError("expected a duration such as 4h, 90m or 1h30m")
    if isinstance(text, int):
        if text <= 0:
            raise ValueError("must be positive")
        return text
    if not isinstance(text, str):
        raise ValueError("expected a duration such as 4h, 90m or 1h30m")
    value = text.strip().lower().replace(" ", "")
    if value.isdigit():
        seconds = int(value)
    elif _WHOLE.fullmatch(value):
        seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(value))
    else:
        raise ValueError(f"{text!r} is not a duration; write e.g. 4h, 90m, 1h30m or 45s")
    if seconds <= 0:
        raise ValueError("must be positive")
    return seconds


def format_duration(seconds: float) -> str:
    """Compact rendering: 3725 -> '1h2m5s', 0.4 -> '0s'."""
    seconds = int(round(seconds))
    if seconds <= 0:
        return "0s"
    parts = []
    for unit, size in _UNITS.items():
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
