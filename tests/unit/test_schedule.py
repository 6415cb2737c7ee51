"""The sync scheduler (speculum.schedule): every plan is checked by an independent
recomputation in plain Python (concurrency per minute and per upstream host,
starts per minute), then held to the acceptance criteria: even spacing, no
start in an avoided minute, metrics that tell the truth, a peak close to the
lower bound, no shared start minutes while there is room, determinism,
stability against a previous plan, fixed times, windows and clear errors.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections import Counter

import pytest

from speculum import schema
from speculum.schedule import Job, ScheduleError, estimate_durations, jobs_for, lower_bound, parse_settings, plan
from speculum.timetable import parse_hhmm

DAY = 1440
DIVISORS = [d for d in range(1, 289) if DAY % d == 0]
FREQUENCIES = [4] * 15 + [2] * 8 + [1] * 7 + [6] * 4 + [24] * 4 + [12] * 2 + [8] + [3]


# --- the independent checker -------------------------------------------------------------

def recompute(jobs, starts: dict, avoid=(0,)) -> dict:
    """Check ``starts`` against ``jobs`` from scratch and return the metrics it implies.

    Asserts: one entry per job, per_day integer minutes in [0, 1440), exactly
    evenly spaced (gap 1440 / per_day, including the wrap to the next day).
    A run keeps its slot busy for min(duration, period) minutes, wrapping midnight.
    """
    assert sorted(starts) == sorted(j.id for j in jobs), "plan and jobs name different projects"
    load = [0] * DAY
    bandwidth = [0.0] * DAY
    starts_at = [0] * DAY
    per_host: dict[str, list[int]] = {}
    work = 0
    for job in jobs:
        period = DAY // job.per_day
        mine = list(starts[job.id])
        assert len(mine) == job.per_day, f"{job.id}: {len(mine)} starts, wants {job.per_day}"
        assert all(type(m) is int and 0 <= m < DAY for m in mine), f"{job.id}: bad minutes {mine}"
        ordered = sorted(mine)
        gaps = [b - a for a, b in zip(ordered, ordered[1:] + [ordered[0] + DAY], strict=True)]
        assert gaps == [period] * job.per_day, f"{job.id}: uneven gaps {gaps} (period {period})"
        busy = min(job.duration, period)
        work += job.per_day * busy
        host_row = per_host.setdefault(job.host, [0] * DAY) if job.host else None
        for start in mine:
            starts_at[start] += 1
            for i in range(busy):
                minute = (start + i) % DAY
                load[minute] += 1
                bandwidth[minute] += job.weight
                if host_row is not None:
                    host_row[minute] += 1
    host_peaks = {host: max(row) for host, row in per_host.items()}
    allowed = [m for m in range(DAY) if m % 60 not in set(avoid)]
    return {
        "projects": len(jobs),
        "starts_per_day": sum(starts_at),
        "peak_concurrent": max(load, default=0),
        "lower_bound": -(-work // DAY),
        "peak_per_upstream": max(host_peaks.values(), default=0),
        "peak_per_upstream_host": {h: n for h, n in host_peaks.items() if n > 1},
        "peak_bandwidth": max(bandwidth, default=0.0),
        "same_minute_starts": sum(n - 1 for n in starts_at if n > 1),
        "starts_in_avoided_minutes": sum(starts_at[m] for m in range(DAY) if m % 60 in set(avoid)),
        "concurrency_by_hour": [max(load[h * 60:(h + 1) * 60]) for h in range(24)],
        "free_allowed_minutes": sum(1 for m in allowed if starts_at[m] == 0),
    }


def check(jobs, result, avoid=(0,)) -> dict:
    """The plan is valid, avoids the avoided minutes, and its metrics are the truth."""
    truth = recompute(jobs, result.starts, avoid)
    assert truth["starts_in_avoided_minutes"] == 0
    metrics = result.metrics
    for key in ("projects", "starts_per_day", "peak_concurrent", "lower_bound", "peak_per_upstream",
                "peak_per_upstream_host", "same_minute_starts", "starts_in_avoided_minutes",
                "concurrency_by_hour"):
        assert metrics[key] == truth[key], f"metric {key}: planner says {metrics[key]}, truth {truth[key]}"
    assert metrics["peak_bandwidth"] == pytest.approx(truth["peak_bandwidth"], abs=1e-3)
    assert truth["peak_concurrent"] >= truth["lower_bound"]  # no plan beats the bound
    return truth


def test_checker_counts_busy_minutes_across_midnight():
    jobs = [Job("late", 1, 30, "up", 1.0), Job("early", 1, 10, "up", 2.0), Job("other", 2, 5, "far", 1.0)]
    truth = recompute(jobs, {"late": [1430], "early": [5], "other": [8, 728]})
    # late runs 23:50-00:20, early 00:05-00:15, other 00:08-00:13 and 12:08-12:13
    assert truth["peak_concurrent"] == 3
    assert truth["peak_per_upstream"] == 2
    assert truth["peak_per_upstream_host"] == {"up": 2}
    assert truth["peak_bandwidth"] == 4.0
    assert truth["lower_bound"] == 1
    assert truth["concurrency_by_hour"][0] == 3 and truth["concurrency_by_hour"][23] == 1
    assert truth["concurrency_by_hour"][12] == 1 and truth["concurrency_by_hour"][6] == 0
    assert truth["same_minute_starts"] == 0


def test_checker_rejects_bad_plans():
    job = Job("a", 4, 10, None, 1.0)
    for starts in ([1, 361, 721], [1, 361, 721, 1082], [1, 361, 721, 1441], [1, 1, 721, 1081]):
        with pytest.raises(AssertionError):
            recompute([job], {"a": starts})
    truth = recompute([job, Job("b", 1, 10, None, 1.0)], {"a": [0, 360, 720, 1080], "b": [360]})
    assert truth["starts_in_avoided_minutes"] == 5
    assert truth["same_minute_starts"] == 1
    assert truth["peak_concurrent"] == 2


# --- inputs ----------------------------------------------------------------------------------

def synthetic_specs(n: int, seed: int, median: float = 10.0) -> list[tuple[str, int, int, str]]:
    """(id, per_day, duration minutes, upstream host) of n projects, reproducibly."""
    rng = random.Random(seed)
    hosts = max(1, n // 4)
    specs = []
    for i in range(n):
        per_day = rng.choice(FREQUENCIES)
        minutes = min(DAY, max(1, round(rng.lognormvariate(math.log(median), 1.0))))
        specs.append((f"p{i:04d}", per_day, minutes, f"up{rng.randrange(hosts)}.example.org"))
    return specs


def synthetic_jobs(n: int, seed: int, median: float = 10.0) -> list[Job]:
    return [Job(pid, per_day, minutes, host, 1.0)
            for pid, per_day, minutes, host in synthetic_specs(n, seed, median)]


def raw_rsync(per_day: int = 4, host: str = "up.example.org", enabled: bool = True, **sync) -> dict:
    record = {"name": "Example", "enabled": enabled,
              "sync": {"method": "rsync", "upstream": f"rsync://{host}/mod/", "syncs_per_day": per_day}}
    record["sync"].update(sync)
    return record


def small_raw() -> dict:
    return {
        "four": raw_rsync(4),
        "two": raw_rsync(2),
        "daily": raw_rsync(1, host="other.example.org"),
        "hourly": raw_rsync(24, host="other.example.org"),
        "off": raw_rsync(4, enabled=False),
        "still": {"name": "Static", "enabled": True, "sync": {"method": "static"}},
        "scripted": {"name": "Script", "enabled": True,
                     "sync": {"method": "script", "command": ["/bin/true"], "syncs_per_day": 3}},
    }


def synthetic_db(n: int, seed: int, median: float = 10.0) -> tuple[dict, dict]:
    """A normalised database of n projects and their durations in seconds."""
    specs = synthetic_specs(n, seed, median)
    db = schema.normalize({pid: raw_rsync(per_day, host) for pid, per_day, _, host in specs})
    return db, {pid: minutes * 60 for pid, _, minutes, _ in specs}


def run(db: dict, raw_settings: dict | None = None, durations: dict | None = None,
        previous: dict | None = None):
    """parse_settings -> estimate_durations -> jobs_for -> plan: (jobs, result)."""
    settings = parse_settings(raw_settings, db)
    if durations is None:
        durations = estimate_durations(db, settings)
    jobs = jobs_for(db, settings, durations, previous)
    return jobs, plan(jobs, settings)


def changed(before: dict, after: dict) -> list[str]:
    return sorted(pid for pid in before if pid in after and sorted(before[pid]) != sorted(after[pid]))


# --- spacing and avoided minutes --------------------------------------------------------------

@pytest.mark.parametrize("avoid", [[0], [0, 30]])
@pytest.mark.parametrize("per_day", DIVISORS)
def test_one_project_of_any_frequency_is_evenly_spaced_outside_avoided_minutes(per_day, avoid):
    settings = parse_settings({"avoid_minutes": avoid}, {})
    jobs = [Job("solo", per_day, 7, "up", 1.0)]
    result = plan(jobs, settings)
    check(jobs, result, avoid)
    assert all(m % 60 not in avoid for m in result.starts["solo"])


@pytest.mark.parametrize("avoid", [[0], [0, 30], [0, 15, 30, 45], [59, 0, 1]])
def test_a_synthetic_set_keeps_out_of_avoided_minutes(avoid):
    jobs = synthetic_jobs(150, 5)
    result = plan(jobs, parse_settings({"avoid_minutes": avoid}, {}))
    check(jobs, result, avoid)


def test_without_avoided_minutes_minute_zero_is_usable():
    jobs = [Job(f"j{i}", 24, 1, None, 1.0) for i in range(60)]  # 60 hourly jobs: every minute of the hour
    result = plan(jobs, parse_settings({"avoid_minutes": []}, {}))
    truth = check(jobs, result, avoid=())
    assert truth["same_minute_starts"] == 0
    assert sorted(result.starts[j.id][0] for j in jobs) == list(range(60))


def test_the_lab_database_plans(lab_db):
    db = schema.normalize(lab_db)
    jobs, result = run(db)
    check(jobs, result)
    syncing = {pid for pid, p in db.items() if p["enabled"] and p["sync"]["method"] != "static"}
    assert set(result.starts) == syncing
    assert "docs" not in result.starts and "centos" not in result.starts
    assert result.metrics["same_minute_starts"] == 0


# --- quality ------------------------------------------------------------------------------

@pytest.mark.parametrize("n,seed,median", [
    (49, 1, 10), (49, 2, 10), (49, 3, 10),
    (300, 1, 10), (300, 2, 10),
    (1000, 1, 10),
    (300, 1, 60), (300, 2, 60),  # long runs
])
def test_peak_is_close_to_the_lower_bound(n, seed, median):
    jobs = synthetic_jobs(n, seed, median)
    assert len({j.host for j in jobs}) <= n // 4
    result = plan(jobs, parse_settings({}, {}))
    truth = check(jobs, result)
    bound = truth["lower_bound"]
    assert bound == lower_bound(jobs) and bound >= 1
    assert truth["peak_concurrent"] <= max(bound + 1, math.ceil(1.10 * bound)), truth
    # objective 1: a minute is shared only once every allowed minute has a start
    if truth["same_minute_starts"]:
        assert truth["free_allowed_minutes"] == 0, truth


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("avoid", [[0], [0, 30]])
def test_no_shared_start_minute_while_there_is_room(seed, avoid):
    jobs = synthetic_jobs(40, seed)
    total = sum(j.per_day for j in jobs)
    assert total < (60 - len(avoid)) * 24 // 4  # well below the allowed minutes
    truth = check(jobs, plan(jobs, parse_settings({"avoid_minutes": avoid}, {})), avoid)
    assert truth["same_minute_starts"] == 0


def test_many_hourly_projects_fill_distinct_minutes():
    # 59 hourly projects and 59 allowed minutes of the hour: a perfect packing exists
    jobs = [Job(f"h{i:02d}", 24, 3, None, 1.0) for i in range(59)]
    truth = check(jobs, plan(jobs, parse_settings({}, {})))
    assert truth["same_minute_starts"] == 0
    assert truth["free_allowed_minutes"] == 0


def test_projects_of_one_upstream_are_spread():
    # 6 projects of one host, 4 runs of 60 minutes each: 1440 busy minutes, so the
    # host never needs more than one connection at a time... and the same for load
    jobs = [Job(f"s{i}", 4, 60, "busy.example.org", 1.0) for i in range(6)]
    jobs += [Job(f"o{i}", 4, 60, f"h{i}", 1.0) for i in range(6)]
    truth = check(jobs, plan(jobs, parse_settings({}, {})))
    assert truth["lower_bound"] == 2
    assert truth["peak_concurrent"] == 2
    assert truth["peak_per_upstream"] == 1


def test_heavy_syncs_are_kept_apart():
    # two heavy projects and light ones; the heavy ones must not overlap when they need not
    jobs = [Job("heavy1", 2, 120, None, 10.0), Job("heavy2", 2, 120, None, 10.0)]
    jobs += [Job(f"light{i}", 4, 30, None, 1.0) for i in range(4)]
    truth = check(jobs, plan(jobs, parse_settings({}, {})))
    assert truth["peak_bandwidth"] < 20


def test_metrics_with_weights_and_hosts_are_the_truth():
    rng = random.Random(8)
    jobs = [Job(pid, per_day, minutes, host if rng.random() < 0.8 else None, rng.choice([0.5, 1.0, 3.0]))
            for pid, per_day, minutes, host in synthetic_specs(120, 8)]
    check(jobs, plan(jobs, parse_settings({}, {})))


def test_empty_plan():
    result = plan([], parse_settings({}, {}))
    assert result.starts == {}
    assert result.metrics["peak_concurrent"] == 0 and result.metrics["lower_bound"] == 0


# --- lower bound --------------------------------------------------------------------------

@pytest.mark.parametrize("jobs,expected", [
    ([], 0),
    ([Job("a", 1, 1)], 1),
    ([Job("a", 24, 60)], 1),  # 24 * 60 = 1440
    ([Job("a", 24, 61)], 1),  # capped at the period: 60
    ([Job("a", 24, 61), Job("b", 1, 1)], 2),
    ([Job("a", 1, 5000)], 1),  # capped at the period: 1440
    ([Job("a", 4, 361), Job("b", 4, 360)], 2),
    ([Job("a", 288, 5), Job("b", 288, 5), Job("c", 288, 6)], 3),
    ([Job(f"x{i}", 2, 100) for i in range(8)], 2),  # 1600 / 1440
    ([Job(f"x{i}", 2, 90) for i in range(8)], 1),  # 1440 / 1440
])
def test_lower_bound_by_hand(jobs, expected):
    assert lower_bound(jobs) == expected


@pytest.mark.parametrize("seed", range(4))
def test_lower_bound_formula(seed):
    jobs = synthetic_jobs(200, seed, median=30)
    expected = math.ceil(sum(j.per_day * min(j.duration, DAY // j.per_day) for j in jobs) / DAY)
    assert lower_bound(jobs) == expected
    assert lower_bound(iter(jobs)) == expected


# --- determinism ---------------------------------------------------------------------------

def test_same_input_gives_the_same_plan():
    first = plan(synthetic_jobs(300, 3), parse_settings({}, {}))
    second = plan(synthetic_jobs(300, 3), parse_settings({}, {}))
    assert first.starts == second.starts
    assert first.as_json() == second.as_json()


@pytest.mark.parametrize("seed", [1, 2])
def test_project_order_in_the_database_does_not_matter(seed):
    db, durations = synthetic_db(150, seed)
    ids = list(db)
    random.Random(seed).shuffle(ids)
    _, first = run(db, durations=durations)
    _, shuffled = run({pid: db[pid] for pid in ids}, durations=durations)
    _, reversed_ = run({pid: db[pid] for pid in reversed(list(db))}, durations=durations)
    assert first.starts == shuffled.starts == reversed_.starts


def test_job_list_order_does_not_matter():
    settings = parse_settings({}, {})
    for n, seed in ((40, 2), (300, 1), (300, 4)):
        first = plan(synthetic_jobs(n, seed), settings)
        shuffled = synthetic_jobs(n, seed)
        random.Random(99).shuffle(shuffled)
        assert plan(shuffled, settings).starts == first.starts, (n, seed)


# --- stability ------------------------------------------------------------------------------

NEWCOMER = {"newcomer": raw_rsync(4, host="up0.example.org")}


@pytest.mark.parametrize("n,seed", [(49, 0), (49, 1), (49, 3), (120, 1), (300, 3)])
def test_adding_a_project_moves_at_most_three_others(n, seed):
    db, durations = synthetic_db(n, seed)
    _, before = run(db, durations=durations)
    more = dict(db, **schema.normalize(NEWCOMER))
    jobs, after = run(more, durations=dict(durations, newcomer=1800), previous=before.starts)
    check(jobs, after)
    moved = changed(before.starts, after.starts)
    assert len(moved) <= 3, moved
    assert after.metrics["moved_from_previous"] == moved
    assert "newcomer" in after.starts


@pytest.mark.parametrize("stability", [0, 1])
def test_the_stability_setting_bounds_the_moves(stability):
    db, durations = synthetic_db(49, 0)  # a set where a newcomer makes the planner move 3
    _, before = run(db, durations=durations)
    more = dict(db, **schema.normalize(NEWCOMER))
    jobs, after = run(more, {"stability": stability}, dict(durations, newcomer=1800), before.starts)
    check(jobs, after)
    assert len(changed(before.starts, after.starts)) <= stability


@pytest.mark.parametrize("n,seed", [(49, 0), (49, 3), (120, 1), (300, 2)])
def test_replanning_with_its_own_plan_changes_nothing(n, seed):
    db, durations = synthetic_db(n, seed)
    _, first = run(db, durations=durations)
    # the previous plan as `mirrorctl schedule --previous` reads it: the JSON output
    saved = json.loads(json.dumps(first.as_json()))
    previous = {pid: [parse_hhmm(t) for t in p["times"]] for pid, p in saved["projects"].items()}
    assert previous == first.starts
    _, again = run(db, durations=durations, previous=previous)
    assert again.starts == first.starts
    assert again.metrics["moved_from_previous"] == []


def test_removing_a_project_changes_no_other_project():
    for n, seed in ((49, 0), (49, 2), (49, 3), (120, 1), (300, 3)):
        db, durations = synthetic_db(n, seed)
        _, before = run(db, durations=durations)
        gone = sorted(db)[n // 2]
        fewer = {pid: p for pid, p in db.items() if pid != gone}
        _, after = run(fewer, durations=durations, previous=before.starts)
        assert gone not in after.starts
        assert changed(before.starts, after.starts) == [], (n, seed, gone)


@pytest.mark.parametrize("n,seed", [(49, 0), (49, 3), (300, 3)])
def test_removing_a_project_moves_at_most_stability_others(n, seed):
    db, durations = synthetic_db(n, seed)
    _, before = run(db, durations=durations)
    gone = sorted(db)[n // 2]
    fewer = {pid: p for pid, p in db.items() if pid != gone}
    jobs, after = run(fewer, durations=durations, previous=before.starts)
    check(jobs, after)
    assert len(changed(before.starts, after.starts)) <= 3
    _, frozen = run(fewer, {"stability": 0}, durations, before.starts)
    assert changed(before.starts, frozen.starts) == []


def test_a_valid_previous_plan_is_kept_even_if_not_where_the_planner_would_go():
    db = schema.normalize({"a": raw_rsync(4), "b": raw_rsync(2), "c": raw_rsync(1)})
    previous = {"a": [1157, 77, 437, 797], "b": [123, 843], "c": [1399]}
    jobs, result = run(db, previous=previous)
    check(jobs, result)
    assert {pid: sorted(s) for pid, s in result.starts.items()} == {pid: sorted(s) for pid, s in previous.items()}


def test_a_previous_start_in_an_avoided_minute_is_moved():
    db = schema.normalize({"a": raw_rsync(4), "b": raw_rsync(2)})
    previous = {"a": [0, 360, 720, 1080], "b": [123, 843]}
    jobs, result = run(db, previous=previous)
    check(jobs, result)
    assert result.starts["b"] == [123, 843]
    assert result.metrics["moved_from_previous"] == ["a"]
    # ... and so is one that a new avoid_minutes setting forbids
    jobs, result = run(db, {"avoid_minutes": [0, 3]}, previous=previous)
    check(jobs, result, [0, 3])
    assert result.metrics["moved_from_previous"] == ["a", "b"]


@pytest.mark.parametrize("old", [[1, 2, 3, 4], [7, 367, 727], [7, 367, 727, 1087, 1447], [5, 365, 725, 1086]])
def test_a_previous_plan_that_does_not_fit_is_ignored(old):
    db = schema.normalize({"a": raw_rsync(4)})
    settings = parse_settings({}, db)
    jobs = jobs_for(db, settings, {"a": 600}, {"a": old})
    assert jobs[0].previous is None
    check(jobs, plan(jobs, settings))


# --- fixed times ------------------------------------------------------------------------------

def test_a_pinned_project_gets_exactly_its_times():
    db, durations = synthetic_db(40, 4)
    db.update(schema.normalize({"pinned": raw_rsync(4), "once": raw_rsync(1), "partial": raw_rsync(6)}))
    durations.update(pinned=3600, once=600, partial=600)
    settings = {"fixed_times": {"pinned": ["03:17", "09:17", "15:17", "21:17"],
                                "once": "23:59",
                                "partial": ["13:01"]}}
    jobs, result = run(db, settings, durations)
    check(jobs, result)
    assert result.starts["pinned"] == [197, 557, 917, 1277]
    assert result.starts["once"] == [1439]
    assert sorted(result.starts["partial"]) == [61, 301, 541, 781, 1021, 1261]


def test_pinned_projects_keep_their_times_even_when_they_collide():
    db = schema.normalize({"a": raw_rsync(2), "b": raw_rsync(2), "c": raw_rsync(2)})
    times = ["06:06", "18:06"]
    jobs, result = run(db, {"fixed_times": {"a": times, "b": times}})
    check(jobs, result)
    assert result.starts["a"] == result.starts["b"] == [366, 1086]
    assert 366 not in result.starts["c"]


def test_fixed_times_inside_an_avoided_window_are_refused():
    db = schema.normalize({"a": raw_rsync(2)})
    raw = {"fixed_times": {"a": ["03:15", "15:15"]}, "windows": {"a": {"avoid": ["12:00-18:00"]}}}
    with pytest.raises(ScheduleError, match=r"schedule setting '(fixed_times|windows)', project 'a'"):
        run(db, raw)


def test_fixed_times_outside_an_allowed_window_are_refused():
    db = schema.normalize({"a": raw_rsync(1)})
    raw = {"fixed_times": {"a": ["10:15"]}, "windows": {"a": {"allow": ["00:00-06:00"]}}}
    with pytest.raises(ScheduleError, match=r"schedule setting 'fixed_times', project 'a'"):
        run(db, raw)


# --- windows -----------------------------------------------------------------------------------

def in_window(minute: int, start: int, end: int) -> bool:
    return start <= minute < end if start < end else (minute >= start or minute < end)


@pytest.mark.parametrize("per_day,rule,inside,outside", [
    (1, {"allow": ["00:00-06:00"]}, [(0, 360)], []),
    (2, {"avoid": ["08:00-18:00"]}, [], [(480, 1080)]),
    (1, {"allow": ["22:00-02:00"]}, [(1320, 120)], []),
    (1, {"allow": ["00:00-12:00"], "avoid": ["02:00-10:00"]}, [(0, 720)], [(120, 600)]),
    (4, {"avoid": ["23:00-01:00", "05:30-06:30"]}, [], [(1380, 60), (330, 390)]),
    (1, {"allow": "04:00-04:10"}, [(240, 250)], []),
])
def test_windows_are_honoured(per_day, rule, inside, outside):
    db, durations = synthetic_db(40, 6)
    db.update(schema.normalize({"win": raw_rsync(per_day)}))
    durations["win"] = 1200
    jobs, result = run(db, {"windows": {"win": rule}}, durations)
    check(jobs, result)
    for start in result.starts["win"]:
        assert all(in_window(start, a, b) for a, b in inside), (start, rule)
        assert not any(in_window(start, a, b) for a, b in outside), (start, rule)


def test_a_crowded_window_still_avoids_shared_minutes():
    # 30 daily projects all allowed only in 01:00-02:00 (59 usable minutes)
    raw = {f"n{i:02d}": raw_rsync(1, host=f"h{i % 3}") for i in range(30)}
    db = schema.normalize(raw)
    rules = {pid: {"allow": ["01:00-02:00"]} for pid in db}
    jobs, result = run(db, {"windows": rules}, {pid: 300 for pid in db})
    truth = check(jobs, result)
    assert truth["same_minute_starts"] == 0
    assert all(61 <= s[0] < 120 for s in result.starts.values())


# --- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize("raw,setting,project", [
    ({"fixed_times": {"nosuch": ["03:15"]}}, "fixed_times", "nosuch"),
    ({"fixed_times": {"off": ["03:15"]}}, "fixed_times", "off"),
    ({"fixed_times": {"still": ["03:15"]}}, "fixed_times", "still"),
    ({"windows": {"off": {"allow": ["00:00-06:00"]}}}, "windows", "off"),
    ({"windows": {"still": {"avoid": ["00:00-06:00"]}}}, "windows", "still"),
    ({"windows": {"nosuch": {"avoid": ["00:00-06:00"]}}}, "windows", "nosuch"),
    ({"windows": {"four": {"allow": ["01:00-02:00"]}}}, "windows", "four"),  # leaves no room
    ({"windows": {"hourly": {"avoid": ["10:00-11:00"]}}}, "windows", "hourly"),  # no room either
    ({"windows": {"four": {"allow": ["bogus"]}}}, "windows", "four"),
    ({"windows": {"four": {"sometimes": ["01:00-02:00"]}}}, "windows", "four"),
    ({"windows": {"four": {}}}, "windows", "four"),
    ({"fixed_times": {"four": ["03:15", "04:15"]}}, "fixed_times", "four"),  # not evenly spaced
    ({"fixed_times": {"four": ["03:15", "09:16"]}}, "fixed_times", "four"),
    ({"fixed_times": {"four": ["03:00"]}}, "fixed_times", "four"),  # an avoided minute
    ({"fixed_times": {"four": ["27:15"]}}, "fixed_times", "four"),
    ({"fixed_times": {"four": []}}, "fixed_times", "four"),
    ({"fixed_times": ["four"]}, "fixed_times", None),
    ({"avoid_minutes": list(range(60))}, "avoid_minutes", None),
    ({"avoid_minutes": [60]}, "avoid_minutes", None),
    ({"avoid_minutes": 0}, "avoid_minutes", None),
    ({"frobnicate": 1}, "frobnicate", None),
    ({"max_concurrent": -1}, "max_concurrent", None),
    ({"max_concurrent": 0}, "max_concurrent", None),
    ({"max_concurrent": "4"}, "max_concurrent", None),
    ({"max_per_upstream": 0}, "max_per_upstream", None),
    ({"stability": -1}, "stability", None),
    ({"passes": 1.5}, "passes", None),
    ({"history_runs": 0}, "history_runs", None),
    ({"history_percentile": 0}, "history_percentile", None),
    ({"history_percentile": 101}, "history_percentile", None),
    ({"default_duration": "soon"}, "default_duration", None),
    ({"default_duration": 0}, "default_duration", None),
    ({"default_duration": -900}, "default_duration", None),
    ({"slot_wait": "later"}, "slot_wait", None),
])
def test_bad_settings_raise_naming_setting_and_project(raw, setting, project):
    db = schema.normalize(small_raw())
    with pytest.raises(ScheduleError) as info:
        parse_settings(raw, db)
    message = str(info.value)
    assert f"setting '{setting}'" in message
    if project:
        assert re.search(rf"setting '{setting}', project '{project}'", message), message
    assert isinstance(info.value, ValueError)


def test_every_problem_is_reported_at_once():
    db = schema.normalize(small_raw())
    raw = {"max_concurrent": -1, "default_duration": "soon", "fixed_times": {"nosuch": ["03:15"]},
           "windows": {"off": {"allow": ["00:00-06:00"]}}}
    with pytest.raises(ScheduleError) as info:
        parse_settings(raw, db)
    message = str(info.value)
    for part in ("'max_concurrent'", "'default_duration'", "'fixed_times', project 'nosuch'",
                 "'windows', project 'off'"):
        assert part in message


def test_good_settings_pass():
    db = schema.normalize(small_raw())
    raw = {"max_concurrent": 8, "max_per_upstream": 1, "avoid_minutes": [0, 30], "default_duration": "1h",
           "history_percentile": 95.5, "history_runs": 5, "stability": 0, "passes": 0,
           "fixed_times": {"two": ["05:05", "17:05"]}, "windows": {"daily": {"allow": ["22:00-02:00"]}},
           "max_concurrent_unused": None}  # a None value means "the default"
    with pytest.raises(ScheduleError, match="max_concurrent_unused"):
        parse_settings(dict(raw, max_concurrent_unused=1), db)
    settings = parse_settings(raw, db)
    assert settings["default_duration"] == 3600
    assert settings["max_concurrent"] == 8


def test_avoided_minutes_that_leave_a_project_no_start_raise():
    db = schema.normalize({"often": raw_rsync(288)})  # every 5 minutes
    with pytest.raises(ScheduleError, match="'often'"):
        run(db, {"avoid_minutes": list(range(1, 60))})


# --- durations -------------------------------------------------------------------------------

def estimate_field_exists() -> bool:
    return any(f.name == "estimate" for f in schema.SYNC_FIELDS)


def test_an_override_wins():
    db = schema.normalize({"a": raw_rsync(4), "b": raw_rsync(4)})
    settings = parse_settings({}, db)
    history = {"a": [100, 200, 300], "b": [100, 200, 300]}
    out = estimate_durations(db, settings, history, overrides={"a": 777})
    assert out["a"] == 777
    assert out["b"] == 300


@pytest.mark.parametrize("pct,expected", [(90, 900), (50, 500), (100, 1000), (1, 100), (10, 100),
                                          (11, 200), (99, 1000), (95, 1000), (80, 800)])
def test_history_nearest_rank_percentile(pct, expected):
    db = schema.normalize({"a": raw_rsync(4)})
    values = [100 * k for k in range(1, 11)]
    random.Random(pct).shuffle(values)
    settings = parse_settings({"history_percentile": pct}, db)
    assert estimate_durations(db, settings, {"a": values}) == {"a": expected}


def test_history_default_is_the_90th_percentile_of_the_last_20_runs():
    db = schema.normalize({"a": raw_rsync(4)})
    settings = parse_settings({}, db)
    old = [9000] * 5
    recent = list(range(61, 81))  # 20 runs: 61..80 seconds; p90 = 18th = 78
    assert estimate_durations(db, settings, {"a": old + recent}) == {"a": 78}
    settings = parse_settings({"history_runs": 25}, db)
    assert estimate_durations(db, settings, {"a": old + recent}) == {"a": 9000}
    settings = parse_settings({"history_runs": 3}, db)
    assert estimate_durations(db, settings, {"a": old + recent}) == {"a": 80}


def test_history_fractional_seconds_round_up():
    db = schema.normalize({"a": raw_rsync(4)})
    settings = parse_settings({}, db)
    assert estimate_durations(db, settings, {"a": [61.2]}) == {"a": 62}


def test_history_percentile_rank_is_exact():
    db = schema.normalize({"a": raw_rsync(4)})
    settings = parse_settings({"history_percentile": 28, "history_runs": 25}, db)
    # nearest rank: ceil(0.28 * 25) = 7 -> the 7th smallest of 1..25 minutes
    assert estimate_durations(db, settings, {"a": [60 * k for k in range(1, 26)]}) == {"a": 420}


def test_project_estimate_is_used_without_history():
    if not estimate_field_exists():
        pytest.skip("schema.py has no sync.estimate field yet")
    db = schema.normalize({"a": raw_rsync(4, estimate="45m"), "b": raw_rsync(4)})
    settings = parse_settings({}, db)
    assert estimate_durations(db, settings) == {"a": 2700, "b": 900}
    assert estimate_durations(db, settings, {"a": [120]}) == {"a": 120, "b": 900}
    assert estimate_durations(db, settings, {"a": [120]}, {"a": 5}) == {"a": 5, "b": 900}


@pytest.mark.parametrize("raw,expected", [({}, 900), ({"default_duration": "20m"}, 1200),
                                          ({"default_duration": "1h30m"}, 5400),
                                          ({"default_duration": 42}, 42)])
def test_the_site_default_is_the_last_resort(raw, expected):
    db = schema.normalize({"a": raw_rsync(4), "b": raw_rsync(1)})
    settings = parse_settings(raw, db)
    assert estimate_durations(db, settings) == {"a": expected, "b": expected}
    assert estimate_durations(db, settings, {"a": []}) == {"a": expected, "b": expected}


def test_jobs_for_takes_syncing_projects_with_durations_in_whole_minutes():
    db = schema.normalize(small_raw())
    settings = parse_settings({}, db)
    durations = {pid: 60 for pid in db}
    durations.update(four=61, two=1, daily=3600, hourly=5 * 3600)
    jobs = jobs_for(db, settings, durations)
    by_id = {j.id: j for j in jobs}
    assert sorted(by_id) == ["daily", "four", "hourly", "scripted", "two"]
    assert [by_id[p].duration for p in ("four", "two", "daily", "hourly", "scripted")] == [2, 1, 60, 300, 1]
    assert by_id["four"].per_day == 4 and by_id["scripted"].per_day == 3
    assert by_id["daily"].host == "other.example.org" and by_id["scripted"].host is None
    result = plan(jobs, settings)
    truth = check(jobs, result)
    assert result.metrics["peak_per_upstream_host"] == truth["peak_per_upstream_host"]


# --- output ------------------------------------------------------------------------------------

def test_as_json():
    db, durations = synthetic_db(30, 9)
    jobs, result = run(db, durations=durations)
    out = json.loads(json.dumps(result.as_json()))  # plain JSON types only
    assert list(out["projects"]) == sorted(db)
    for job in jobs:
        entry = out["projects"][job.id]
        minutes = [parse_hhmm(t) for t in entry["times"]]
        assert minutes == result.starts[job.id]
        assert all(re.fullmatch(r"\d\d:\d\d:00", t) for t in entry["times"])
        calendar = []
        for line in entry["on_calendar"]:
            match = re.fullmatch(r"\*-\*-\* (\d\d(?:,\d\d)*):(\d\d):00", line)
            calendar += [int(h) * 60 + int(match[2]) for h in match[1].split(",")]
        assert sorted(calendar) == sorted(minutes)
        assert entry["duration_s"] == job.duration * 60 >= durations[job.id]
    assert out["metrics"]["peak_concurrent"] == check(jobs, result)["peak_concurrent"]
    assert Counter(len(p["times"]) for p in out["projects"].values()) == Counter(j.per_day for j in jobs)
