"""When each project syncs.

``plan`` is the one entry point every caller uses (the sync role through a
filter plugin, the runner for next_schedule_ts). This first version spreads
runs evenly and places each project at a stable, id-derived offset, never at
minute :00; a smarter planner can replace it behind the same signature.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

MINUTES_PER_DAY = 1440


@dataclass(frozen=True)
class Plan:
    project: str
    starts: tuple[int, ...]  # minutes after midnight (UTC on the host), sorted

    @property
    def oncalendar(self) -> list[str]:
        return oncalendar(self.starts)

    @property
    def times(self) -> list[str]:
        return [f"{m // 60:02d}:{m % 60:02d}" for m in self.starts]


def plan(projects: dict[str, dict]) -> dict[str, Plan]:
    """Start times for every project that syncs (normalised records)."""
    plans = {}
    for pid in sorted(projects):
        per_day = projects[pid]["sync"].get("syncs_per_day") or 0
        if projects[pid]["sync"]["method"] == "static" or per_day <= 0:
            continue
        if MINUTES_PER_DAY % per_day:
            raise ValueError(f"project '{pid}': syncs_per_day {per_day} does not divide a day "
                             "into whole minutes")
        period = MINUTES_PER_DAY // per_day
        offset = _offset(pid, period)
        plans[pid] = Plan(pid, tuple(offset + k * period for k in range(per_day)))
    return plans


def _offset(pid: str, period: int) -> int:
    """A stable offset in [0, period) whose runs avoid minute :00."""
    start = zlib.crc32(pid.encode()) % period
    for shift in range(period):
        offset = (start + shift) % period
        if all((offset + k * period) % 60 for k in range(MINUTES_PER_DAY // period)):
            return offset
    raise ValueError(f"project '{pid}': every offset of a {period}-minute period hits minute :00")


def oncalendar(starts: tuple[int, ...] | list[int]) -> list[str]:
    """systemd OnCalendar= values, one per distinct minute: '*-*-* 03,09:07:00'.

    Explicit hours, because '00/5' style repetitions restart at midnight and
    give uneven gaps for periods that don't divide 24 h.
    """
    by_minute: dict[int, list[int]] = {}
    for start in starts:
        by_minute.setdefault(start % 60, []).append(start // 60)
    return [f"*-*-* {','.join(f'{h:02d}' for h in sorted(hours))}:{minute:02d}:00"
            for minute, hours in sorted(by_minute.items())]


def next_start(starts: tuple[int, ...] | list[int], now: datetime) -> datetime | None:
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
