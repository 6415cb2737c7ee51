"""The sync scheduler: when each project starts, close to the optimum.

Pure and deterministic. The day has 1440 minutes; a project synced n times a
day has period T = 1440 / n and starts at o, o + T, o + 2T, ... for one
offset o in [0, T). A run keeps a slot busy for its (estimated) duration,
capped at T since a project never runs twice at once. The planner picks
every offset to minimise, in this order:

1. starts sharing a minute (while free minutes exist),
2. peak concurrent syncs,
3. peak connections to one upstream host,
4. peak estimated bandwidth,

never starting in an avoided minute or outside a project's windows.

How: fold the day's load onto one period (load.reshape(n, T).max(0)), so
every offset of a project is scored at once by a circular sliding-window
maximum; place the hardest projects first (greedy), then move projects out
of the peak minutes while that strictly improves the objective (local
search, a bounded number of passes). Placements of a previous plan are kept
when still valid, and at most ``stability`` of them may move to improve it.

Runs on the controller (numpy); the host only needs timetable.py.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from .durations import parse_duration
from .timetable import MINUTES_PER_DAY, hhmmss, oncalendar, parse_hhmm, parse_window, window_minutes

DAY = MINUTES_PER_DAY
DEFAULT_SETTINGS = {
    "max_concurrent": 4,
    "max_per_upstream": 2,
    "avoid_minutes": [0],
    "default_duration": "15m",
    "history_percentile": 90,
    "history_runs": 20,
    "slot_wait": "2h",
    "stability": 3,
    "passes": 40,
    "shakes": 12,
    "shake_passes": 5,
    "fixed_times": {},
    "windows": {},
}


class ScheduleError(ValueError):
    """Input the planner cannot honour; the message names setting and project."""


@dataclass
class Job:
    """One project as the planner sees it."""

    id: str
    per_day: int
    duration: int  # minutes, >= 1
    host: str | None = None
    weight: float = 1.0
    allowed: np.ndarray | None = field(default=None, repr=False, compare=False)  # per-minute start mask
    fixed: int | None = None  # offset the admin pinned
    previous: int | None = None  # offset in the previous plan
    ok: np.ndarray | None = field(default=None, repr=False, compare=False)  # allowed offsets (planner)

    @property
    def period(self) -> int:
        return DAY // self.per_day

    @property
    def busy(self) -> int:
        return max(1, min(self.duration, self.period))

    def starts(self, offset: int) -> list[int]:
        return [offset + k * self.period for k in range(self.per_day)]


@dataclass
class Result:
    starts: dict[str, list[int]]
    durations: dict[str, int]  # seconds the plan assumed
    metrics: dict

    def as_json(self) -> dict:
        """The shape `mirrorctl schedule --json` prints and `--previous` reads."""
        return {
            "projects": {pid: {"times": [hhmmss(m) for m in starts],
                               "on_calendar": oncalendar(starts),
                               "duration_s": self.durations[pid]}
                         for pid, starts in sorted(self.starts.items())},
            "metrics": self.metrics,
        }


# --- settings ------------------------------------------------------------------

def parse_settings(raw: dict | None, projects: dict) -> dict:
    """Checked settings (durations in seconds); ScheduleError lists every problem.

    ``projects`` is the normalised database: rules must name known, enabled,
    syncing projects, and every project's windows must leave room for its runs.
    """
    settings = dict(DEFAULT_SETTINGS)
    settings.update({k: v for k, v in (raw or {}).items() if v is not None})
    errors = []

    def err(name: str, message: str, project: str | None = None) -> None:
        where = f"schedule setting '{name}'" + (f", project '{project}'" if project else "")
        errors.append(f"{where}: {message}")

    for key in sorted(set(settings) - set(DEFAULT_SETTINGS)):
        err(key, "unknown setting; known: " + ", ".join(sorted(DEFAULT_SETTINGS)))
    for key, low in (("max_concurrent", 1), ("max_per_upstream", 1), ("history_runs", 1),
                     ("stability", 0), ("passes", 0), ("shakes", 0), ("shake_passes", 0)):
        if not _is_int(settings.get(key)) or settings[key] < low:
            err(key, f"must be a whole number >= {low}, got {settings.get(key)!r}")
    percentile = settings["history_percentile"]
    if not isinstance(percentile, (int, float)) or isinstance(percentile, bool) or not 1 <= percentile <= 100:
        err("history_percentile", f"must be between 1 and 100, got {percentile!r}")
    for key in ("default_duration", "slot_wait"):
        try:
            settings[key] = parse_duration(settings[key])
        except ValueError as exc:
            err(key, str(exc))
    avoid = settings["avoid_minutes"]
    if not isinstance(avoid, list) or not all(_is_int(m) and 0 <= m <= 59 for m in avoid):
        err("avoid_minutes", f"must be a list of minutes of the hour (0-59), got {avoid!r}")
        avoid = []
    elif len(set(avoid)) == 60:
        err("avoid_minutes", "avoids every minute of the hour; nothing could start")
        avoid = []  # reported above; go on checking the other rules
    fixed = _check_rules(settings, "fixed_times", projects, err)
    windows = _check_rules(settings, "windows", projects, err)

    allowed_hour = np.ones(60, bool)
    allowed_hour[list(set(avoid))] = False
    settings["_allowed"] = np.tile(allowed_hour, 24)
    settings["_fixed"], settings["_masks"] = {}, {}
    for pid, times in fixed.items():
        try:
            settings["_fixed"][pid] = _fixed_offset(projects[pid], times, settings["_allowed"])
        except ValueError as exc:
            err("fixed_times", str(exc), pid)
    for pid, rule in windows.items():
        try:
            settings["_masks"][pid] = _window_mask(rule)
        except ValueError as exc:
            err("windows", str(exc), pid)
    for pid, project in sorted(projects.items()):
        if not project["enabled"] or project["sync"]["method"] == "static":
            continue
        per_day = project["sync"]["syncs_per_day"]
        period = DAY // per_day
        mask = settings["_allowed"] & settings["_masks"].get(pid, True)
        if not mask.reshape(per_day, period).all(axis=0).any():
            name = "windows" if pid in settings["_masks"] else "avoid_minutes"
            err(name, f"leaves no room: its {per_day} run(s) a day (every "
                f"{_period_text(period)}) cannot all start inside the allowed windows "
                "and outside avoided minutes", pid)
        elif pid in settings["_fixed"] and not mask[settings["_fixed"][pid]::period].all():
            err("fixed_times", "a fixed run falls outside the project's windows", pid)
    if errors:
        raise ScheduleError("\n".join(errors))
    return settings


def _check_rules(settings, name, projects, err) -> dict:
    rules = settings[name]
    if not isinstance(rules, dict):
        err(name, f"must map project ids to rules, got {rules!r}")
        return {}
    good = {}
    for pid, rule in rules.items():
        if pid not in projects:
            err(name, "unknown project", pid)
        elif not projects[pid]["enabled"] or projects[pid]["sync"]["method"] == "static":
            err(name, "the project is disabled or static, so it has no schedule", pid)
        else:
            good[pid] = rule
    return good


def _fixed_offset(project: dict, times, allowed: np.ndarray) -> int:
    per_day = project["sync"]["syncs_per_day"]
    period = DAY // per_day
    if isinstance(times, str):
        times = [times]
    if not isinstance(times, list) or not times:
        raise ValueError("give a list of times such as ['03:15']")
    minutes = sorted(parse_hhmm(t) for t in times)
    offset = minutes[0] % period
    expected = [offset + k * period for k in range(per_day)]
    if not set(minutes) <= set(expected):
        raise ValueError(f"{', '.join(times)} are not runs of one schedule every "
                         f"{_period_text(period)} ({per_day} a day); e.g. "
                         + ", ".join(hhmmss(m)[:5] for m in expected[:4]))
    if not all(allowed[m] for m in expected):
        raise ValueError("a fixed run would start in an avoided minute")
    return offset


def _window_mask(rule) -> np.ndarray:
    if not isinstance(rule, dict) or not set(rule) <= {"allow", "avoid"} or not rule:
        raise ValueError("must be a mapping with 'allow' and/or 'avoid' lists of windows "
                         "such as ['08:00-18:00']")
    mask = np.zeros(DAY, bool) if rule.get("allow") else np.ones(DAY, bool)
    for key, value in (("allow", True), ("avoid", False)):
        windows = rule.get(key) or []
        if isinstance(windows, str):
            windows = [windows]
        for text in windows:
            mask[list(window_minutes(*parse_window(text)))] = value
    return mask


def _period_text(minutes: int) -> str:
    return f"{minutes // 60}h" + (f"{minutes % 60}m" if minutes % 60 else "") if minutes >= 60 \
        else f"{minutes}m"


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- durations ------------------------------------------------------------------

def estimate_durations(projects: dict, settings: dict, history: dict | None = None,
                       overrides: dict | None = None) -> dict[str, int]:
    """Seconds per syncing project: an override, else a high percentile of the
    recent successful runs, else the project's `sync.estimate`, else twice the
    listing time of its last `mirrorctl scan` (at least a minute), else the
    site default."""
    history, overrides = history or {}, overrides or {}
    out = {}
    for pid, project in projects.items():
        if pid in overrides:
            out[pid] = max(1, int(overrides[pid]))
            continue
        recent = [d for d in history.get(pid, []) if isinstance(d, (int, float)) and d > 0]
        recent = recent[-settings["history_runs"]:]
        if recent:
            out[pid] = max(1, math.ceil(_percentile(recent, settings["history_percentile"])))
        elif project["sync"].get("estimate"):
            out[pid] = project["sync"]["estimate"]
        elif (project.get("scan") or {}).get("seconds"):
            # an incremental sync walks the whole tree: about twice the listing
            out[pid] = max(60, math.ceil(2 * project["scan"]["seconds"]))
        else:
            out[pid] = settings["default_duration"]
    return out


def _percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: a duration that really happened)."""
    ordered = sorted(values)
    rank = math.ceil(round(pct * len(ordered) / 100, 9))  # round: 28 * 25 / 100 is 7, not 7.000…1
    return ordered[max(0, rank - 1)]


# --- planning -------------------------------------------------------------------

def jobs_for(projects: dict, settings: dict, durations: dict[str, int],
             previous: dict[str, list[int]] | None = None) -> list[Job]:
    """Jobs of the enabled, syncing projects of a normalised database."""
    previous = previous or {}
    jobs = []
    for pid, project in sorted(projects.items()):
        sync = project["sync"]
        if not project["enabled"] or sync["method"] == "static" or not sync["syncs_per_day"]:
            continue
        job = Job(pid, sync["syncs_per_day"], max(1, math.ceil(durations[pid] / 60)),
                  sync.get("upstream_host"), float(sync.get("weight") or 1.0),
                  settings["_masks"].get(pid), settings["_fixed"].get(pid))
        old = previous.get(pid)
        if old and len(old) == job.per_day and sorted(old) == job.starts(min(old)):
            job.previous = min(old)
        jobs.append(job)
    return jobs


def plan_projects(projects: dict, raw_settings: dict | None = None, history: dict | None = None,
                  previous: dict | None = None, overrides: dict | None = None) -> Result:
    """The whole pipeline over a normalised database: settings, durations, jobs, plan.

    ``history``: {id: [seconds of recent successful runs]}; ``previous``: {id:
    [start minutes]} of the plan in force; ``overrides``: {id: seconds}.
    """
    settings = parse_settings(raw_settings, projects)
    syncing = {pid: p for pid, p in projects.items()
               if p["enabled"] and p["sync"]["method"] != "static"}
    durations = estimate_durations(syncing, settings, history, overrides)
    return plan(jobs_for(syncing, settings, durations, previous), settings)


def plan(jobs: list[Job], settings: dict) -> Result:
    """Start times for every job (see the module docstring for the rules)."""
    planner = _Planner(jobs, settings)
    planner.place_all()
    planner.improve()
    if all(job.previous is None for job in jobs):  # a fresh plan: nothing to keep stable
        planner.shake(rounds=settings["shakes"])
        planner.improve()  # converged under the full search, so re-planning keeps it
    return planner.result()


def lower_bound(jobs: Iterable[Job]) -> int:
    """Ceiling of the time-averaged number of running syncs: no plan does better."""
    return math.ceil(sum(j.per_day * j.busy for j in jobs) / DAY)


class _Planner:
    def __init__(self, jobs: list[Job], settings: dict):
        self.jobs = sorted(jobs, key=lambda j: j.id)  # the plan must not depend on input order
        self.settings = settings
        self.allowed = settings["_allowed"]
        self.load = np.zeros(DAY, np.int32)
        self.bw = np.zeros(DAY, np.float64)
        self.starts = np.zeros(DAY, np.int32)
        self.host_index = {h: i for i, h in enumerate(sorted({j.host for j in jobs if j.host}))}
        self.host_load = np.zeros((max(1, len(self.host_index)), DAY), np.int32)
        # each host row's peak and how many minutes reach it, kept up to date
        # so that scoring a move never rescans every host
        self.row_peak = np.zeros(len(self.host_load), np.int32)
        self.row_count = np.full(len(self.host_load), DAY, np.int32)
        self.offset: dict[str, int] = {}
        self.moved_previous: set[str] = set()
        self.evaluations = 0  # best_offset calls: the unit of the shake's work budget
        self.kept_peaks = (0, 0)
        self._minutes = {}  # minutes a job keeps busy at offset 0
        for job in jobs:
            self._minutes[job.id] = np.concatenate(
                [np.arange(start, start + job.busy) for start in job.starts(0)])
            mask = self.allowed if job.allowed is None else (self.allowed & job.allowed)
            ok = mask.reshape(job.per_day, job.period).all(axis=0)
            if not ok.any():
                raise ScheduleError(f"project '{job.id}': no allowed start for {job.per_day} "
                                    "runs a day with the avoided minutes and windows")
            job.ok = ok

    # state updates
    def covered(self, job: Job, offset: int) -> np.ndarray:
        return (self._minutes[job.id] + offset) % DAY

    def _apply(self, job: Job, offset: int, sign: int) -> None:
        cover = self.covered(job, offset)  # distinct minutes: plain fancy indexing adds once each
        self.load[cover] += sign
        self.bw[cover] += sign * job.weight
        if job.host:
            index = self.host_index[job.host]
            row = self.host_load[index]
            row[cover] += sign
            self.row_peak[index] = peak = row.max()
            self.row_count[index] = np.count_nonzero(row == peak)
        self.starts[offset::job.period] += sign

    def add(self, job: Job, offset: int) -> None:
        self._apply(job, offset, +1)
        self.offset[job.id] = offset

    def remove(self, job: Job) -> int:
        offset = self.offset.pop(job.id)
        self._apply(job, offset, -1)
        return offset

    # scoring
    def best_offset(self, job: Job) -> int:
        self.evaluations += 1
        n, period, busy = job.per_day, job.period, job.busy
        fold = self.load.reshape(n, period).max(axis=0)
        local = _window_max(fold, busy)
        area = _window_sum(self.load.reshape(n, period).sum(axis=0), busy)
        if job.host:
            row = self.host_load[self.host_index[job.host]]
            hfold = _window_max(row.reshape(n, period).max(axis=0), busy)
        else:
            hfold = np.zeros(period, np.int32)
        bfold = np.round(_window_max(self.bw.reshape(n, period).max(axis=0), busy), 6)
        collide = self.starts.reshape(n, period).sum(axis=0)
        peak = self.load.max()
        host_peak = self.row_peak.max()
        bw_peak = round(float(self.bw.max()), 6)
        keys = (
            np.arange(period),  # last resort: the earliest offset (deterministic)
            area,
            hfold,
            local,
            collide,
            np.maximum(bw_peak, bfold + round(job.weight, 6)),
            np.maximum(host_peak, hfold + (1 if job.host else 0)),
            np.maximum(peak, local + 1),
            collide > 0,
            ~job.ok,
        )
        return int(np.lexsort(keys)[0])

    def objective(self) -> tuple:
        peak = int(self.load.max())
        host_peak = int(self.row_peak.max())
        host_count = int(self.row_count[self.row_peak == host_peak].sum()) if host_peak else 0
        bw = np.round(self.bw, 6)
        bw_peak = float(bw.max())
        return (self.collisions(), peak, int((self.load == peak).sum()), host_peak, host_count,
                bw_peak, int((bw == bw_peak).sum()))

    def collisions(self) -> int:
        """Starts sharing a minute, counted only while an allowed minute is free."""
        if not (self.allowed & (self.starts == 0)).any():
            return 0
        return int(np.maximum(self.starts - 1, 0).sum())

    # phases
    def place_all(self) -> None:
        fixed = [j for j in self.jobs if j.fixed is not None]
        kept = [j for j in self.jobs if j.fixed is None and j.previous is not None and j.ok[j.previous]]
        placed = {j.id for j in fixed + kept}
        rest = [j for j in self.jobs if j.id not in placed]
        for job in fixed:
            self.add(job, job.fixed)
        for job in kept:
            self.add(job, job.previous)
        # The peaks the previous plan had: kept placements move only to win
        # back what newly placed projects made worse.
        self.kept_peaks = (int(self.load.max()), int(self.row_peak.max()))
        # Hardest first: the largest share of the day busy, then the longest run.
        for job in sorted(rest, key=lambda j: (-j.per_day * j.busy, -j.busy, j.id)):
            self.add(job, self.best_offset(job))

    def improve(self, passes: int | None = None) -> None:
        movable = [j for j in self.jobs if j.fixed is None]
        current = self.objective()
        for _ in range(self.settings["passes"] if passes is None else passes):
            improved = False
            for job in self._candidates(movable):
                if job.previous is not None and job.id not in self.moved_previous \
                        and self.offset[job.id] == job.previous \
                        and len(self.moved_previous) >= self.settings["stability"]:
                    continue
                old = self.remove(job)
                new = self.best_offset(job)
                self.add(job, new)
                if new == old:
                    continue
                score = self.objective()
                if job.previous is not None and old == job.previous:
                    # A kept placement moves only to bring the peaks back down to
                    # the previous plan's, after new projects raised them.
                    better = (current[1], current[3]) > self.kept_peaks \
                        and (score[1], score[3]) < (current[1], current[3])
                else:
                    better = score < current
                if better:
                    current, improved = score, True
                    if job.previous is not None:
                        if new == job.previous:
                            self.moved_previous.discard(job.id)
                        else:
                            self.moved_previous.add(job.id)
                else:
                    self.remove(job)
                    self.add(job, old)
            if not improved:
                break

    def shake(self, rounds: int) -> None:
        """Iterated local search: pull every job out of the peak minutes (and a
        few others), put them back in a shuffled order, descend again; keep the
        result only if it is better. The shuffles are seeded by the job ids,
        so the same input still gives the same plan."""
        movable = [j for j in self.jobs if j.fixed is None]
        if not movable:
            return
        rng = random.Random(zlib.crc32(" ".join(j.id for j in self.jobs).encode()))
        best, best_offsets = self.objective(), dict(self.offset)
        floor = lower_bound(self.jobs)
        # bounded work (counted, not timed, so the plan stays deterministic)
        budget = self.evaluations + min(6000, 2000 + 20 * len(self.jobs))
        for _ in range(rounds):
            if (best[1] <= floor and best[0] == 0) or self.evaluations >= budget:
                break
            peak = self.load == self.load.max()
            ruined = [j for j in movable if peak[self.covered(j, self.offset[j.id])].any()]
            ruined += rng.sample(movable, min(len(movable), max(2, len(ruined) // 2)))
            ruined = list({j.id: j for j in ruined}.values())
            rng.shuffle(ruined)
            for job in ruined:
                self.remove(job)
            for job in ruined:
                self.add(job, self.best_offset(job))
            self.improve(self.settings["shake_passes"])
            score = self.objective()
            if score < best:
                best, best_offsets = score, dict(self.offset)
            else:
                self._restore(best_offsets)

    def _restore(self, offsets: dict[str, int]) -> None:
        for job in self.jobs:
            if self.offset[job.id] != offsets[job.id]:
                self.remove(job)
                self.add(job, offsets[job.id])

    def _candidates(self, movable: list[Job]) -> list[Job]:
        """Jobs busy in a peak minute (of load, any host or bandwidth) or sharing a start minute."""
        peak_minutes = self.load == self.load.max()
        collisions_count = self.collisions() > 0  # shared minutes matter only while avoidable
        hot = []
        for job in movable:
            cover = self.covered(job, self.offset[job.id])
            shared = collisions_count and (self.starts[self.offset[job.id]::job.period] > 1).any()
            index = self.host_index.get(job.host)
            if peak_minutes[cover].any() or shared or (
                    index is not None and (self.host_load[index][cover] == self.row_peak[index]).any()):
                hot.append(job)
        return hot

    def result(self) -> Result:
        starts = {j.id: j.starts(self.offset[j.id]) for j in self.jobs}
        host_peaks = {h: int(self.host_load[i].max()) for h, i in self.host_index.items()}
        avoided = sum(1 for s in starts.values() for m in s if not self.allowed[m])
        metrics = {
            "projects": len(self.jobs),
            "starts_per_day": int(self.starts.sum()),
            "peak_concurrent": int(self.load.max()),
            "lower_bound": lower_bound(self.jobs),
            "peak_per_upstream": max(host_peaks.values(), default=0),
            "peak_per_upstream_host": {h: n for h, n in host_peaks.items() if n > 1},
            "peak_bandwidth": round(float(self.bw.max()), 3),
            "starts_in_avoided_minutes": avoided,
            "same_minute_starts": int(np.maximum(self.starts - 1, 0).sum()),
            "moved_from_previous": sorted(j.id for j in self.jobs if j.previous is not None
                                          and self.offset[j.id] != j.previous),
            "concurrency_by_hour": [int(self.load[h * 60:(h + 1) * 60].max()) for h in range(24)],
        }
        return Result(starts, {j.id: j.duration * 60 for j in self.jobs}, metrics)


def _window_max(values: np.ndarray, width: int) -> np.ndarray:
    """out[o] = max(values[(o + i) % len] for i < width), by doubling spans."""
    size = len(values)
    if width >= size:
        return np.full(size, values.max())
    res = np.concatenate([values, values[:width]])
    span = 1
    while span < width:
        step = min(span, width - span)
        res = np.maximum(res[:-step], res[step:])
        span += step
    return res[:size]


def _window_sum(values: np.ndarray, width: int) -> np.ndarray:
    size = len(values)
    width = min(width, size)
    ext = np.concatenate([[0], np.cumsum(np.concatenate([values, values[:width]]))])
    return ext[width:width + size] - ext[:size]
