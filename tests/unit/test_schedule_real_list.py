"""The scheduler on the real project list of the system Speculum replaces
(../shared/data, read in place, never copied into the repository)."""

from __future__ import annotations

import json
import math
import random
import zlib
from pathlib import Path

import pytest

from speculum import schedule

DATA = Path(__file__).resolve().parents[3] / "shared/data/cosi-go-mirror-mirrors.json"
pytestmark = pytest.mark.skipif(not DATA.is_file(), reason=f"{DATA} not present")
SETTINGS = schedule.parse_settings({}, {})


def real_jobs() -> list[schedule.Job]:
    jobs = []
    for pid, mirror in sorted(json.loads(DATA.read_text())["mirrors"].items()):
        sync = mirror.get("rsync") or mirror.get("script")
        if not sync:
            continue  # static
        rng = random.Random(zlib.crc32(pid.encode()))
        minutes = math.ceil(rng.lognormvariate(math.log(30 if mirror.get("page") == "Distributions" else 8), 0.8))
        jobs.append(schedule.Job(pid, int(sync["syncs_per_day"]), minutes,
                                 (mirror.get("rsync") or {}).get("host")))
    return jobs


def test_real_list_meets_the_peak_target():
    jobs = real_jobs()
    result = schedule.plan(jobs, SETTINGS)
    bound = schedule.lower_bound(jobs)
    assert result.metrics["peak_concurrent"] <= max(bound + 1, math.ceil(1.1 * bound))
    assert result.metrics["starts_in_avoided_minutes"] == 0
    assert all(m % 60 for starts in result.starts.values() for m in starts)


@pytest.mark.parametrize("new", [
    ("newdistro", 4, 45, "rsync.newdistro.org"),
    ("hourly", 24, 10, "mirrors.rit.edu"),  # shares a host with others
    ("nightly", 1, 120, None),
    ("twelve", 12, 70, "rsync.example.net"),
])
def test_adding_one_project_moves_at_most_three_others(new):
    jobs = real_jobs()
    before = schedule.plan(jobs, SETTINGS).starts
    pid, per_day, minutes, host = new
    again = [schedule.Job(j.id, j.per_day, j.duration, j.host, previous=min(before[j.id])) for j in jobs]
    after = schedule.plan(again + [schedule.Job(pid, per_day, minutes, host)], SETTINGS).starts
    moved = [j.id for j in jobs if after[j.id] != before[j.id]]
    assert len(moved) <= 3, moved
    assert len(after[pid]) == per_day
