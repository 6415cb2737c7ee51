"""systemd timers: OnCalendar expressions and time spans, read into syncs_per_day."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .common import DEFAULT_SYNCS_PER_DAY, _syncs_per_day

# --- systemd timers ---------------------------------------------------------------------------

_CALENDAR_SHORTHANDS = {
    "minutely": "*-*-* *:*:00", "hourly": "*-*-* *:00:00", "daily": "*-*-* 00:00:00",
    "weekly": "Mon *-*-* 00:00:00", "monthly": "*-*-01 00:00:00",
    "quarterly": "*-01,04,07,10-01 00:00:00", "semiannually": "*-01,07-01 00:00:00",
    "yearly": "*-01-01 00:00:00", "annually": "*-01-01 00:00:00",
}
_WEEKDAY = re.compile(r"(?i)(mon|tue|wed|thu|fri|sat|sun)[a-z]*([.,]+(mon|tue|wed|thu|fri|sat|sun)[a-z]*)*")
_TIMESPAN_UNITS = {
    "us": 1e-6, "usec": 1e-6, "ms": 1e-3, "msec": 1e-3, "s": 1, "sec": 1, "second": 1,
    "seconds": 1, "m": 60, "min": 60, "minute": 60, "minutes": 60, "h": 3600, "hr": 3600,
    "hour": 3600, "hours": 3600, "d": 86400, "day": 86400, "days": 86400, "w": 604800,
    "week": 604800, "weeks": 604800,
}


def _calendar_values(text: str, high: int) -> set[int]:
    values: set[int] = set()
    for item in text.split(","):
        step = 0
        if "/" in item:
            item, step_text = item.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"bad repetition {step_text!r}")
            step = int(step_text)
        if item == "*":
            start, end = 0, high
        elif ".." in item:
            a, b = item.split("..", 1)
            if not (a.isdigit() and b.isdigit()):
                raise ValueError(f"bad range {item!r}")
            start, end = int(a), int(b)
        elif item.isdigit():
            start = int(item)
            end = high if step else start
        else:
            raise ValueError(f"bad value {item!r}")
        if not 0 <= start <= end <= high:
            raise ValueError(f"{item!r} out of range 0..{high}")
        values.update(range(start, end + 1, step or 1))
    return values


def calendar_times(expression: str) -> tuple[set[int], bool]:
    """Seconds of the day at which a systemd OnCalendar expression fires, and whether
    it fires every day. Supports the usual forms (``*-*-* 00/6:00:00``, ``hourly``,
    ``Mon..Fri 03:30``, ``*:0/15``); raises ValueError for the rest."""
    text = expression.strip()
    text = _CALENDAR_SHORTHANDS.get(text.lower(), text)
    parts = text.split()
    every_day = True
    if parts and _WEEKDAY.fullmatch(parts[0]):
        every_day = False
        parts = parts[1:]
    if parts and ":" not in parts[0]:
        date = parts.pop(0)
        if "-" not in date:
            raise ValueError(f"cannot read the date {date!r}")
        if "~" in date or any(c != "*" for c in date.split("-")):
            every_day = False
    time_part = parts.pop(0) if parts else "00:00:00"
    if len(parts) > 1 or (parts and not re.fullmatch(r"[A-Za-z_]+(/[A-Za-z_+-]+)*", parts[0])):
        raise ValueError(f"cannot read {' '.join(parts)!r}")
    fields = time_part.split(":")
    if len(fields) == 2:
        fields.append("00")
    if len(fields) != 3:
        raise ValueError(f"cannot read the time {time_part!r}")
    hours = _calendar_values(fields[0], 23)
    minutes = _calendar_values(fields[1], 59)
    seconds = _calendar_values(fields[2], 59)
    return {h * 3600 + m * 60 + s for h in hours for m in minutes for s in seconds}, every_day


def calendar_runs_per_day(expressions: list[str]) -> tuple[int, list[str]]:
    """Runs a day of a list of OnCalendar expressions (their union) and remarks about
    what Speculum cannot keep (fixed times, uneven spacing, not every day)."""
    times: set[int] = set()
    remarks = []
    for expression in expressions:
        found, every_day = calendar_times(expression)
        times |= found
        if not every_day:
            remarks.append(f"{expression!r} does not run every day; Speculum syncs daily at least")
    count = len(times)
    ordered = sorted(times)
    gaps = {(b - a) % 86400 for a, b in zip(ordered, ordered[1:] + ordered[:1], strict=True)} if count > 1 else set()
    if len(gaps) > 1:
        remarks.append("its runs were not evenly spaced; Speculum spaces them evenly")
    return count, remarks


def timespan_seconds(text: str) -> float:
    """A systemd time span ("6h", "30min", "1h 30min", "90") in seconds."""
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    total, pos = 0.0, 0
    for match in re.finditer(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*", text.lower()):
        if match.start() != pos or match.group(2) not in _TIMESPAN_UNITS:
            raise ValueError(f"cannot read the time span {text!r}")
        total += float(match.group(1)) * _TIMESPAN_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or total <= 0:
        raise ValueError(f"cannot read the time span {text!r}")
    return total


@dataclass
class _Timer:
    path: Path
    calendars: list[str]
    periodic: str | None
    unit: str | None


def _read_timer(path: Path) -> _Timer:
    calendars: list[str] = []
    periodic = unit = None
    section = ""
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line
            continue
        if section != "[Timer]" or "=" not in line:
            continue
        key, value = (s.strip() for s in line.split("=", 1))
        if key == "OnCalendar":
            if value:
                calendars.append(value)
            else:
                calendars.clear()  # an empty assignment resets the list
        elif key in ("OnUnitActiveSec", "OnUnitInactiveSec"):
            periodic = value or None
        elif key == "Unit":
            unit = value
    return _Timer(path, calendars, periodic, unit)


def _timer_syncs_per_day(pid: str, timer: _Timer, notes: list[str]) -> int:
    name = timer.path.name
    try:
        if timer.calendars:
            count, remarks = calendar_runs_per_day(timer.calendars)
            if timer.periodic:
                remarks.append(f"its OnUnitActiveSec={timer.periodic} is ignored (OnCalendar wins)")
            what = f"timer {name} (OnCalendar {', '.join(timer.calendars)})"
        elif timer.periodic:
            count = 86400 / timespan_seconds(timer.periodic)
            remarks = []
            what = f"timer {name} (every {timer.periodic})"
        else:
            notes.append(f"{pid}: timer {name} has no OnCalendar= or OnUnitActiveSec=; using "
                         f"the default of {DEFAULT_SYNCS_PER_DAY} syncs a day")
            return DEFAULT_SYNCS_PER_DAY
    except ValueError as exc:
        notes.append(f"{pid}: timer {name}: {exc}; using the default of "
                     f"{DEFAULT_SYNCS_PER_DAY} syncs a day")
        return DEFAULT_SYNCS_PER_DAY
    for remark in remarks:
        notes.append(f"{pid}: {what}: {remark}")
    return _syncs_per_day(pid, count, notes, f"{what} runs")
