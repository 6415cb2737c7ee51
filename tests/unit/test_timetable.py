"""Times of day: OnCalendar lines, HH:MM parsing, windows, the next start."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from speculum.timetable import (
    MINUTES_PER_DAY,
    hhmm,
    hhmmss,
    next_start,
    oncalendar,
    parse_hhmm,
    parse_window,
    window_minutes,
)

DIVISORS = [d for d in range(1, 289) if 1440 % d == 0]
UTC = UTC
LINE = re.compile(r"\*-\*-\* (\d\d(?:,\d\d)*):(\d\d):00")


def expand(lines: list[str]) -> list[int]:
    """Minutes after midnight named by OnCalendar values '*-*-* HH,HH:MM:00' (own parser)."""
    minutes = []
    for line in lines:
        match = LINE.fullmatch(line)
        assert match, f"not an OnCalendar value of the expected form: {line!r}"
        hours = [int(h) for h in match[1].split(",")]
        assert hours == sorted(set(hours)), f"hours not sorted/unique in {line!r}"
        assert all(0 <= h <= 23 for h in hours) and 0 <= int(match[2]) <= 59, line
        minutes += [h * 60 + int(match[2]) for h in hours]
    return sorted(minutes)


# --- oncalendar ------------------------------------------------------------------------

def test_minutes_per_day():
    assert MINUTES_PER_DAY == 24 * 60


@pytest.mark.parametrize("starts,expected", [
    ([92, 452, 812, 1172], ["*-*-* 01,07,13,19:32:00"]),
    ([1172, 92, 812, 452], ["*-*-* 01,07,13,19:32:00"]),  # unsorted input
    ([5, 65, 30], ["*-*-* 00,01:05:00", "*-*-* 00:30:00"]),
    ([30, 5], ["*-*-* 00:05:00", "*-*-* 00:30:00"]),  # one line per minute, by minute
    ([0], ["*-*-* 00:00:00"]),
    ([1439], ["*-*-* 23:59:00"]),
    ([600, 61], ["*-*-* 10:00:00", "*-*-* 01:01:00"]),  # ordered by the minute of the hour
    ([], []),
])
def test_oncalendar_groups_hours_by_minute(starts, expected):
    assert oncalendar(starts) == expected


def test_oncalendar_accepts_a_tuple_and_a_generator():
    assert oncalendar((92, 452)) == ["*-*-* 01,07:32:00"]
    assert oncalendar(m for m in (92, 452)) == ["*-*-* 01,07:32:00"]


@pytest.mark.parametrize("per_day", DIVISORS)
def test_oncalendar_round_trip_of_evenly_spaced_starts(per_day):
    period = 1440 // per_day
    rng = random.Random(per_day)
    for offset in sorted({0, period - 1, rng.randrange(period), rng.randrange(period)}):
        starts = [offset + k * period for k in range(per_day)]
        lines = oncalendar(starts)
        assert expand(lines) == starts
        minutes = [line.rsplit(":", 2)[1] for line in lines]
        assert len(minutes) == len(set(minutes)) == len({s % 60 for s in starts})
        assert minutes == sorted(minutes)


def test_oncalendar_round_trip_of_arbitrary_minutes():
    rng = random.Random(7)
    for _ in range(50):
        starts = rng.sample(range(1440), rng.randint(1, 40))
        assert expand(oncalendar(starts)) == sorted(starts)


# --- hhmm, hhmmss ----------------------------------------------------------------------

@pytest.mark.parametrize("minute,short,long", [
    (0, "00:00", "00:00:00"),
    (1, "00:01", "00:01:00"),
    (59, "00:59", "00:59:00"),
    (60, "01:00", "01:00:00"),
    (195, "03:15", "03:15:00"),
    (754, "12:34", "12:34:00"),
    (1439, "23:59", "23:59:00"),
])
def test_hhmm_and_hhmmss(minute, short, long):
    assert hhmm(minute) == short
    assert hhmmss(minute) == long


def test_hhmm_round_trips_through_parse_hhmm():
    for minute in range(1440):
        assert parse_hhmm(hhmm(minute)) == minute
        assert parse_hhmm(hhmmss(minute)) == minute


# --- parse_hhmm ------------------------------------------------------------------------

@pytest.mark.parametrize("text,minute", [
    ("00:00", 0),
    ("03:15", 195),
    ("3:15", 195),
    (" 03:15 ", 195),
    ("03:15:00", 195),
    ("12:00", 720),
    ("19:59", 1199),
    ("23:59", 1439),
])
def test_parse_hhmm_valid(text, minute):
    assert parse_hhmm(text) == minute


@pytest.mark.parametrize("text", [
    "24:00", "25:00", "23:60", "3:5", "0315", "", "  ", "03:15:30", "03:15:", "abc",
    "-1:00", "03:15pm", "1:2:3", "03-15", "03:15 04:15", None, 195,
])
def test_parse_hhmm_invalid(text):
    with pytest.raises(ValueError, match="time of day"):
        parse_hhmm(text)


# --- parse_window, window_minutes ------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("08:00-18:00", (480, 1080)),
    ("08:00 - 18:00", (480, 1080)),
    ("00:00-06:00", (0, 360)),
    ("22:00-02:00", (1320, 120)),  # wraps midnight
    ("23:30-00:30", (1410, 30)),
    ("18:00-24:00", (1080, 1440)),
    ("18:00-24:00:00", (1080, 1440)),
    ("00:00-24:00", (0, 1440)),  # the whole day
    ("12:00-00:00", (720, 0)),  # to midnight, written as 00:00
])
def test_parse_window_valid(text, expected):
    assert parse_window(text) == expected


@pytest.mark.parametrize("text", [
    "08:00", "08:00-18:00-20:00", "05:00-05:00", "00:00-00:00", "24:00-01:00",
    "08:00-25:00", "8-18", "", "08:00-", "-18:00", None,
])
def test_parse_window_invalid(text):
    with pytest.raises(ValueError):
        parse_window(text)


@pytest.mark.parametrize("text,expected", [
    ("08:00-18:00", list(range(480, 1080))),
    ("22:00-02:00", list(range(1320, 1440)) + list(range(0, 120))),
    ("23:30-00:30", list(range(1410, 1440)) + list(range(0, 30))),
    ("18:00-24:00", list(range(1080, 1440))),
    ("00:00-24:00", list(range(1440))),
    ("12:00-00:00", list(range(720, 1440))),
    ("23:59-00:00", [1439]),
    ("00:00-00:01", [0]),
])
def test_window_minutes(text, expected):
    minutes = list(window_minutes(*parse_window(text)))
    assert minutes == expected
    assert len(set(minutes)) == len(minutes)


def test_window_minutes_of_a_window_and_its_complement_cover_the_day_once():
    rng = random.Random(3)
    for _ in range(100):
        a, b = rng.sample(range(1440), 2)
        inside = list(window_minutes(a, b))
        outside = list(window_minutes(b, a))
        assert sorted(inside + outside) == list(range(1440))
        assert len(inside) == (b - a) % 1440


# --- next_start --------------------------------------------------------------------------

FOUR = (92, 452, 812, 1172)  # 01:32, 07:32, 13:32, 19:32


@pytest.mark.parametrize("now,expected", [
    (datetime(2026, 11, 21, 0, 0, tzinfo=UTC), datetime(2026, 11, 21, 1, 32, tzinfo=UTC)),
    (datetime(2026, 11, 21, 1, 31, 59, tzinfo=UTC), datetime(2026, 11, 21, 1, 32, tzinfo=UTC)),
    # strictly after now: a start at exactly now is not the next one
    (datetime(2026, 11, 21, 1, 32, tzinfo=UTC), datetime(2026, 11, 21, 7, 32, tzinfo=UTC)),
    (datetime(2026, 11, 21, 1, 32, 0, 1, tzinfo=UTC), datetime(2026, 11, 21, 7, 32, tzinfo=UTC)),
    (datetime(2026, 11, 21, 13, 0, tzinfo=UTC), datetime(2026, 11, 21, 13, 32, tzinfo=UTC)),
    # across midnight
    (datetime(2026, 11, 21, 19, 32, 0, 1, tzinfo=UTC), datetime(2026, 11, 22, 1, 32, tzinfo=UTC)),
    (datetime(2026, 11, 21, 23, 59, 59, tzinfo=UTC), datetime(2026, 11, 22, 1, 32, tzinfo=UTC)),
    # across a month and a year
    (datetime(2026, 11, 30, 20, 0, tzinfo=UTC), datetime(2026, 12, 1, 1, 32, tzinfo=UTC)),
    (datetime(2026, 12, 31, 22, 0, tzinfo=UTC), datetime(2027, 1, 1, 1, 32, tzinfo=UTC)),
])
def test_next_start(now, expected):
    assert next_start(FOUR, now) == expected


def test_next_start_unsorted_and_naive():
    now = datetime(2026, 11, 21, 8, 0)
    assert next_start([1172, 92, 812, 452], now) == datetime(2026, 11, 21, 13, 32)


def test_next_start_keeps_the_timezone_of_now():
    tz = timezone(timedelta(hours=2))
    nxt = next_start([60], datetime(2026, 6, 1, 0, 30, tzinfo=tz))
    assert nxt == datetime(2026, 6, 1, 1, 0, tzinfo=tz)
    assert nxt.utcoffset() == timedelta(hours=2)


def test_next_start_once_a_day_across_midnight_and_month_end():
    now = datetime(2026, 2, 28, 16, 18, tzinfo=UTC)
    assert next_start((977,), now) == datetime(2026, 3, 1, 16, 17, tzinfo=UTC)
    # a leap year's February has 29 days
    assert next_start((977,), datetime(2028, 2, 28, 16, 18, tzinfo=UTC)) == \
        datetime(2028, 2, 29, 16, 17, tzinfo=UTC)


def test_next_start_at_midnight_and_last_minute():
    assert next_start([0], datetime(2026, 5, 5, 0, 0, tzinfo=UTC)) == datetime(2026, 5, 6, 0, 0, tzinfo=UTC)
    assert next_start([0], datetime(2026, 5, 5, 23, 59, tzinfo=UTC)) == datetime(2026, 5, 6, 0, 0, tzinfo=UTC)
    assert next_start([1439], datetime(2026, 5, 5, 23, 58, 59, tzinfo=UTC)) == \
        datetime(2026, 5, 5, 23, 59, tzinfo=UTC)


def test_next_start_is_the_minimum_over_two_days():
    """Against a brute force: the next start is the first planned minute after now."""
    rng = random.Random(11)
    base = datetime(2026, 11, 21, tzinfo=UTC)
    for _ in range(200):
        starts = rng.sample(range(1440), rng.randint(1, 6))
        now = base + timedelta(seconds=rng.randrange(86400))
        candidates = [base + timedelta(days=d, minutes=s) for d in (0, 1) for s in starts]
        expected = min(c for c in candidates if c > now)
        got = next_start(starts, now)
        assert got == expected
        assert timedelta(0) < got - now <= timedelta(days=1)


def test_next_start_without_starts():
    assert next_start((), datetime(2026, 11, 21, tzinfo=UTC)) is None
    assert next_start([], datetime(2026, 11, 21, tzinfo=UTC)) is None
