"""Times of day: systemd OnCalendar lines, HH:MM parsing, the next start.

Standard library only: the runner on the host uses it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

MINUTES_PER_DAY = 1440
_HHMM = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)(?::00)?")


def oncalendar(starts) -> list[str]:
    """systemd OnCalendar= values, one per distinct minute: '*-*-* 03,09:07:00'.

    Explicit hours, because '00/5' style repetitions restart at midnight and
    give uneven gaps for periods that don't divide 24 h.
    """
    by_minute: dict[int, list[int]] = {}
    for start in starts:
        by_minute.setdefault(start % 60, []).append(start // 60)
    return [f"*-*-* {','.join(f'{h:02d}' for h in sorted(hours))}:{minute:02d}:00"
            for minute, hours in sorted(by_minute.items())]


def hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def hhmmss(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}:00"


def parse_hhmm(text: str) -> int:
    """'03:15' -> 195 minutes after midnight (ValueError otherwise)."""
    match = _HHMM.fullmatch(str(text).strip())
    if not match:
        raise ValueError(f"{text!r} is not a time of day like 03:15")
    return int(match[1]) * 60 + int(match[2])


def parse_window(text: str) -> tuple[int, int]:
    """'08:00-18:00' -> (480, 1080); a window may wrap midnight ('22:00-02:00')."""
    parts = str(text).split("-")
    if len(parts) != 2:
        raise ValueError(f"{text!r} is not a window like 08:00-18:00")
    start = parse_hhmm(parts[0])
    end = MINUTES_PER_DAY if parts[1].strip() in ("24:00", "24:00:00") else parse_hhmm(parts[1])
    if start == end % MINUTES_PER_DAY and end != MINUTES_PER_DAY:
        raise ValueError(f"{text!r} is empty: start and end are the same time")
    return start, end


def window_minutes(start: int, end: int) -> range | list[int]:
    """Minutes of the day in [start, end), wrapping midnight."""
    if start < end:
        return range(start, min(end, MINUTES_PER_DAY))
    return list(range(start, MINUTES_PER_DAY)) + list(range(0, end))


def next_start(starts, now: datetime) -> datetime | None:
    """The first planned start strictly after ``now`` (same timezone as now)."""
    if not starts:
        return None
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for day in (0, 1):
        for start in sorted(starts):
            candidate = midnight + timedelta(days=day, minutes=start)
            if candidate > now:
                return candidate
    return None


def plan_starts(plan: dict) -> dict[str, list[int]]:
    """{id: start minutes} from a schedule plan as `mirrorctl schedule --json` prints it."""
    try:
        return {pid: sorted(parse_hhmm(t[:5]) for t in entry["times"])
                for pid, entry in plan["projects"].items()}
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ValueError(f"not a schedule plan ({exc}); expected the output of "
                         "mirrorctl schedule --json") from None
