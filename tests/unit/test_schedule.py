"""Sync schedules: evenly spaced, stable, never at :00, as systemd OnCalendar lines."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from speculum.schedule import Plan, next_start, oncalendar, plan

DIVISORS = [d for d in range(1, 289) if 1440 % d == 0]
IDS = ["debian", "archlinux", "a", "ubuntu-releases", "x_1"]


def project(per_day: int, method: str = "rsync") -> dict:
    return {"sync": {"method": method, "syncs_per_day": per_day}}


def expand(lines: list[str]) -> list[int]:
    """Minutes after midnight named by OnCalendar values of the form '*-*-* HH,HH:MM:00'."""
    minutes = []
    for line in lines:
        match = re.fullmatch(r"\*-\*-\* (\d\d(?:,\d\d)*):(\d\d):00", line)
        assert match, line
        minutes += [int(h) * 60 + int(match[2]) for h in match[1].split(",")]
    return sorted(minutes)


@pytest.mark.parametrize("per_day", DIVISORS)
@pytest.mark.parametrize("pid", IDS)
def test_starts_are_evenly_spaced(pid, per_day):
    starts = plan({pid: project(per_day)})[pid].starts
    assert len(starts) == per_day
    assert list(starts) == sorted(starts)
    assert all(0 <= s < 1440 for s in starts)
    gaps = {b - a for a, b in zip(starts, starts[1:] + (starts[0] + 1440,))}
    assert gaps == {1440 // per_day}


@pytest.mark.parametrize("per_day", DIVISORS)
@pytest.mark.parametrize("pid", IDS)
def test_never_at_minute_zero(pid, per_day):
    starts = plan({pid: project(per_day)})[pid].starts
    assert all(s % 60 for s in starts)


@pytest.mark.parametrize("per_day", DIVISORS)
def test_oncalendar_expands_back_to_the_starts(per_day):
    p = plan({"debian": project(per_day)})["debian"]
    lines = p.oncalendar
    assert expand(lines) == list(p.starts)
    minutes = [line.rsplit(":", 2)[1] for line in lines]
    assert len(minutes) == len(set(minutes))  # one line per distinct minute


def test_oncalendar_groups_hours_by_minute():
    assert oncalendar((92, 452, 812, 1172)) == ["*-*-* 01,07,13,19:32:00"]
    assert oncalendar([5, 65, 30]) == ["*-*-* 00,01:05:00", "*-*-* 00:30:00"]
    assert oncalendar([]) == []
    assert oncalendar([1439]) == ["*-*-* 23:59:00"]


def test_plan_times_are_readable():
    p = Plan("x", (92, 1172))
    assert p.times == ["01:32", "19:32"]
    assert p.oncalendar == ["*-*-* 01,19:32:00"]


def test_plan_is_deterministic_and_order_independent():
    db = {pid: project(n) for pid, n in zip(IDS, [1, 4, 12, 24, 288])}
    first = plan(db)
    again = plan({pid: db[pid] for pid in reversed(list(db))})
    assert first == again
    assert plan(db) == first
    assert set(first) == set(IDS)


def test_adding_a_project_does_not_move_existing_ones():
    db = {pid: project(n) for pid, n in zip(IDS, [1, 4, 12, 24, 288])}
    before = plan(db)
    more = dict(db, newcomer=project(4), another=project(48))
    after = plan(more)
    for pid in db:
        assert after[pid] == before[pid]
    assert set(after) == set(db) | {"newcomer", "another"}


def test_different_projects_get_different_offsets():
    # not guaranteed for any two ids, but a planner that put every project at
    # the same minute would defeat the spreading
    starts = {plan({pid: project(1)})[pid].starts for pid in [f"p{i}" for i in range(20)]}
    assert len(starts) > 10


@pytest.mark.parametrize("sync", [{"method": "static", "syncs_per_day": 0},
                                  {"method": "static", "syncs_per_day": 4},
                                  {"method": "rsync", "syncs_per_day": 0},
                                  {"method": "script", "syncs_per_day": None},
                                  {"method": "rsync"}])
def test_projects_that_never_sync_get_no_plan(sync):
    plans = plan({"quiet": {"sync": sync}, "busy": project(2)})
    assert set(plans) == {"busy"}


@pytest.mark.parametrize("per_day", [7, 11, 13, 17, 100, 287])
def test_per_day_not_dividing_a_day_raises(per_day):
    with pytest.raises(ValueError, match="project 'odd'"):
        plan({"odd": project(per_day)})


UTC = timezone.utc


@pytest.mark.parametrize("now,expected", [
    (datetime(2026, 11, 21, 0, 0, tzinfo=UTC), datetime(2026, 11, 21, 1, 32, tzinfo=UTC)),
    (datetime(2026, 11, 21, 1, 32, tzinfo=UTC), datetime(2026, 11, 21, 7, 32, tzinfo=UTC)),
    (datetime(2026, 11, 21, 1, 31, 59, tzinfo=UTC), datetime(2026, 11, 21, 1, 32, tzinfo=UTC)),
    (datetime(2026, 11, 21, 19, 32, 0, 1, tzinfo=UTC), datetime(2026, 11, 22, 1, 32, tzinfo=UTC)),
    (datetime(2026, 11, 21, 23, 59, tzinfo=UTC), datetime(2026, 11, 22, 1, 32, tzinfo=UTC)),
    (datetime(2026, 12, 31, 22, 0, tzinfo=UTC), datetime(2027, 1, 1, 1, 32, tzinfo=UTC)),
])
def test_next_start(now, expected):
    assert next_start((92, 452, 812, 1172), now) == expected


def test_next_start_unsorted_and_naive():
    now = datetime(2026, 11, 21, 8, 0)
    assert next_start([1172, 92, 812, 452], now) == datetime(2026, 11, 21, 13, 32)


def test_next_start_once_a_day_across_midnight():
    now = datetime(2026, 2, 28, 16, 18, tzinfo=UTC)
    assert next_start((977,), now) == datetime(2026, 3, 1, 16, 17, tzinfo=UTC)


def test_next_start_without_starts():
    assert next_start((), datetime(2026, 11, 21, tzinfo=UTC)) is None


def test_next_start_agrees_with_the_plan():
    p = plan({"debian": project(24)})["debian"]
    now = datetime(2026, 11, 21, 5, 0, tzinfo=UTC)
    nxt = next_start(p.starts, now)
    assert nxt - now <= timedelta(hours=1)
    assert nxt.hour * 60 + nxt.minute in p.starts

