#!/usr/bin/env python3
"""Sync scheduler against simple alternatives, on the real COSI list and on
synthetic sets of 300 and 1000 projects.

Model (the one speculum.schedule uses): the day has 1440 minutes; a project
synced n times a day has period T = 1440 / n and starts at o, o + T, ...; a
run keeps one slot busy for min(duration, T) minutes (at least 1), wrapping
past midnight.

Workloads (deterministic: every random draw has a fixed seed)

* cosi: the mirrors of the COSI Go mirror list (read at run time from
  --cosi, default <repo>/../shared/data/cosi-go-mirror-mirrors.json; skipped
  with a message when the file is absent). Every mirror with `rsync` (host =
  rsync.host) or `script` (no host) is one project with its syncs_per_day;
  `static` mirrors are skipped. The list has no durations or sizes, so they
  are modelled:
    duration = lognormal with median 30 min when page is "Distributions",
               8 min otherwise, sigma 0.8, drawn from
               random.Random(zlib.crc32(id)).lognormvariate(ln(median), 0.8),
               rounded up to whole minutes, at least 1, capped at the period;
    weight   = 3.0 for "Distributions", 1.0 otherwise (relative bandwidth).
* synthetic-300, synthetic-1000: random.Random(seed * 1_000_003 + n), n
  projects "p0000"...:
    syncs_per_day  drawn uniformly from the COSI list's syncs_per_day values
                   (so with the real frequency mix; when the list is absent,
                   uniformly from 1, 2, 3, 4, 6, 8, 12, 24);
    duration       lognormal, median 10 min, sigma 1.0, rounded up, >= 1
                   (the busy time is capped at the period by the model);
    host           one of n // 4 hosts "up000.example"..., host of rank r
                   chosen with probability proportional to 1 / r (Zipf, s=1),
                   so a few hosts carry many projects;
    weight         lognormal, median 1.0, sigma 0.5, rounded to 0.01.

Competitors

1. all on the hour: every project starts at k*T (offset 0).
2. one queue (Go system): the day's runs in one queue spaced evenly; with
   total = sum of syncs_per_day, run i starts at floor(i * 1440 / total);
   projects in id order, each project's runs consecutive in the queue (so a
   project's own runs are not evenly spaced).
3. batch by frequency: all projects with the same syncs_per_day start at
   the same instants (offset + k*T); the groups' offsets are spread evenly
   over the shortest period (group i of g: i * T_min // g).
4. random offsets: offset uniform in [0, T) per project; 200 draws from
   random.Random(seed); median / p90 (nearest rank) of each metric.
5. hashed offsets: offset = zlib.crc32(id) % T.
6. speculum: speculum.schedule.plan with the default settings
   (parse_settings({}, {}): avoids minute :00, at most 4 concurrent / 2 per
   upstream host as soft goals).

All six are scored by one evaluator (evaluate() below) from the start lists
and durations only: per-minute concurrency, peak per upstream host, peak
bandwidth (sum of weights of running syncs), starts in minute :00, starts
sharing a minute (sum over minutes of count - 1), and whether every project's
runs are exactly T apart. The lower bound is ceil(sum(n * busy) / 1440).

Targets (exit 1 when one is missed): speculum's peak <= max(LB + 1,
ceil(1.10 * LB)) on every workload; no speculum start at :00; every
speculum project evenly spaced; planning 1000 projects takes < 2 s (best of
3, time.perf_counter).

Usage: bench/schedule.py [--cosi FILE] [--seed 1] [--draws 200]
Prints Markdown tables to stdout. Everything but the times and the date is
deterministic.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import random
import statistics
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from speculum import schedule  # noqa: E402

DAY = 1440
DEFAULT_COSI = ROOT.parent / "shared" / "data" / "cosi-go-mirror-mirrors.json"
FALLBACK_FREQUENCIES = (1, 2, 3, 4, 6, 8, 12, 24)
PLAN_TIME_LIMIT = 2.0  # seconds, for 1000 projects


@dataclass(frozen=True)
class Project:
    id: str
    per_day: int
    duration: int  # minutes
    host: str | None
    weight: float

    @property
    def period(self) -> int:
        return DAY // self.per_day

    @property
    def busy(self) -> int:
        return max(1, min(self.duration, self.period))


# --- workloads -------------------------------------------------------------------

def cosi_mirrors(path: Path) -> dict | None:
    if not path.is_file():
        return None
    return json.loads(path.read_text())["mirrors"]


def cosi_workload(mirrors: dict) -> list[Project]:
    projects = []
    for pid, mirror in sorted(mirrors.items()):
        if "rsync" in mirror:
            host, per_day = mirror["rsync"]["host"], mirror["rsync"]["syncs_per_day"]
        elif "script" in mirror:
            host, per_day = None, mirror["script"]["syncs_per_day"]
        else:  # static: never syncs
            continue
        per_day = int(per_day)
        distro = mirror.get("page") == "Distributions"
        rng = random.Random(zlib.crc32(pid.encode()))
        minutes = rng.lognormvariate(math.log(30 if distro else 8), 0.8)
        duration = min(max(1, math.ceil(minutes)), DAY // per_day)
        projects.append(Project(pid, per_day, duration, host, 3.0 if distro else 1.0))
    return projects


def synthetic_workload(count: int, seed: int, frequencies: list[int]) -> list[Project]:
    rng = random.Random(seed * 1_000_003 + count)
    hosts = [f"up{h:03d}.example" for h in range(max(1, count // 4))]
    zipf = [1 / (rank + 1) for rank in range(len(hosts))]
    projects = []
    for i in range(count):
        per_day = rng.choice(frequencies)
        duration = max(1, math.ceil(rng.lognormvariate(math.log(10), 1.0)))
        host = rng.choices(hosts, weights=zipf)[0]
        weight = round(rng.lognormvariate(0.0, 0.5), 2)
        projects.append(Project(f"p{i:04d}", per_day, duration, host, weight))
    return projects


# --- the evaluator ---------------------------------------------------------------

def lower_bound(projects: list[Project]) -> int:
    return math.ceil(sum(p.per_day * p.busy for p in projects) / DAY)


def host_lower_bound(projects: list[Project]) -> int:
    per_host: dict[str, int] = {}
    for p in projects:
        if p.host:
            per_host[p.host] = per_host.get(p.host, 0) + p.per_day * p.busy
    return max((math.ceil(v / DAY) for v in per_host.values()), default=0)


class Evaluator:
    """Scores start lists; the per-project data is laid out once per workload."""

    def __init__(self, projects: list[Project]):
        self.projects = projects
        hosts = sorted({p.host for p in projects if p.host})
        self.host_index = {h: i for i, h in enumerate(hosts)}
        self.nhosts = max(1, len(hosts))
        # one entry per run, in project order then run order
        self.busy = np.repeat([p.busy for p in projects], [p.per_day for p in projects])
        self.weight = np.repeat([p.weight for p in projects], [p.per_day for p in projects])
        hidx = [self.host_index.get(p.host, -1) for p in projects]
        self.host = np.repeat(hidx, [p.per_day for p in projects])
        self.has_host = self.host >= 0

    def evaluate(self, starts: dict[str, list[int]]) -> dict:
        runs = []
        uneven = 0
        for p in self.projects:
            s = starts[p.id]
            if len(s) != p.per_day or any(not 0 <= m < DAY for m in s):
                raise ValueError(f"{p.id}: {len(s)} starts {s[:4]}..., expected {p.per_day} in [0, {DAY})")
            ordered = sorted(s)
            if ordered != [ordered[0] + k * p.period for k in range(p.per_day)]:
                uneven += 1
            runs.extend(s)
        start = np.asarray(runs, np.int64)
        end = start + self.busy  # <= 2 * DAY since busy <= T <= DAY
        # difference arrays over two days, folded back onto one (midnight wrap)
        size = 2 * DAY + 1

        def fold(diff: np.ndarray) -> np.ndarray:
            level = np.cumsum(diff[..., :2 * DAY], axis=-1)
            return level[..., :DAY] + level[..., DAY:]

        load = fold(np.bincount(start, minlength=size) - np.bincount(end, minlength=size))
        bw = fold(np.bincount(start, self.weight, size) - np.bincount(end, self.weight, size))
        h = self.host[self.has_host]
        if h.size:
            hs, he = h * size + start[self.has_host], h * size + end[self.has_host]
            n = self.nhosts * size
            host_load = fold((np.bincount(hs, minlength=n) - np.bincount(he, minlength=n))
                             .reshape(self.nhosts, size))
            host_peak = int(host_load.max())
        else:
            host_peak = 0
        per_minute = np.bincount(start, minlength=DAY)
        return {
            "peak": int(load.max()),
            "host_peak": host_peak,
            "bw_peak": round(float(bw.max()), 6),
            "at_00": int((start % 60 == 0).sum()),
            "same_minute": int(np.maximum(per_minute - 1, 0).sum()),
            "uneven": uneven,
        }


# --- competitors -----------------------------------------------------------------

def at_offsets(projects: list[Project], offset) -> dict[str, list[int]]:
    """Starts o + k*T with o = offset(p), called once per project in list order."""
    starts = {}
    for p in projects:
        o = offset(p)
        starts[p.id] = [o + k * p.period for k in range(p.per_day)]
    return starts


def all_on_the_hour(projects):
    return at_offsets(projects, lambda p: 0)


def one_queue(projects):
    total = sum(p.per_day for p in projects)
    starts, i = {}, 0
    for p in sorted(projects, key=lambda p: p.id):
        starts[p.id] = [(i + k) * DAY // total for k in range(p.per_day)]
        i += p.per_day
    return starts


def batch_by_frequency(projects):
    groups: dict[int, list[Project]] = {}
    for p in projects:
        groups.setdefault(p.per_day, []).append(p)
    starts = {}
    # one shared instant per group; the groups' instants spread over the
    # shortest period, so different frequencies don't pile onto one minute
    shortest = DAY // max(groups)
    for index, (per_day, members) in enumerate(sorted(groups.items())):
        offset = index * shortest // len(groups)
        for p in members:
            starts[p.id] = [offset + k * p.period for k in range(per_day)]
    return starts


def hashed_offsets(projects):
    return at_offsets(projects, lambda p: zlib.crc32(p.id.encode()) % p.period)


def speculum_plan(projects, settings):
    jobs = [schedule.Job(p.id, p.per_day, p.duration, p.host, p.weight) for p in projects]
    started = time.perf_counter()
    result = schedule.plan(jobs, settings)
    return result, time.perf_counter() - started


def best_time(fn, repeat: int = 3):
    best, out = math.inf, None
    for _ in range(repeat):
        started = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - started)
    return out, best


# --- running and printing ----------------------------------------------------------

def nearest_rank(values, pct):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def fmt_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def fmt_num(value) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.1f}"
    return str(int(value))


def row(name, m, lb, seconds, count, time_note=""):
    spaced = "yes" if m["uneven"] == 0 else f"no ({m['uneven']}/{count} uneven)"
    return (f"| {name} | {m['peak']} | {m['peak'] / lb:.2f} | {m['host_peak']} | "
            f"{m['bw_peak']:.1f} | {m['at_00']} | {m['same_minute']} | {spaced} | "
            f"{fmt_time(seconds)}{time_note} |")


def run_workload(name, projects, settings, seed, draws, failures) -> list[str]:
    ev = Evaluator(projects)
    lb = lower_bound(projects)
    lb_module = schedule.lower_bound(
        [schedule.Job(p.id, p.per_day, p.duration, p.host, p.weight) for p in projects])
    target = max(lb + 1, math.ceil(1.10 * lb))
    runs = sum(p.per_day for p in projects)
    avg_bw = sum(p.per_day * p.busy * p.weight for p in projects) / DAY
    hosts = len({p.host for p in projects if p.host})
    allowed = int(settings["_allowed"].sum())  # start minutes speculum may use
    out = [f"### {name}: {len(projects)} projects, {runs} runs a day, {hosts} upstream hosts", "",
           f"Lower bound on peak concurrent syncs (LB): {lb}; target for speculum: <= {target}. "
           f"Lower bound for the busiest upstream host: {host_lower_bound(projects)}; "
           f"average bandwidth {avg_bw:.1f}. Fewest possible same-minute starts: "
           f"{max(0, runs - DAY)}, or {max(0, runs - allowed)} without minute :00.", "",
           "| competitor | peak concurrent | ÷ LB | peak per host | peak bandwidth | "
           "starts at :00 | same-minute starts | evenly spaced | compute time |",
           "|---|---|---|---|---|---|---|---|---|"]
    if lb_module != lb:
        out.insert(2, f"WARNING: speculum.schedule.lower_bound says {lb_module}, the evaluator {lb}.")

    for label, fn in (("all on the hour", all_on_the_hour),
                      ("one queue (Go system)", one_queue),
                      ("batch by frequency", batch_by_frequency)):
        starts, seconds = best_time(lambda fn=fn: fn(projects))
        out.append(row(label, ev.evaluate(starts), lb, seconds, len(projects)))

    rng = random.Random(seed)
    metrics, seconds = [], []
    for _ in range(draws):
        started = time.perf_counter()
        starts = at_offsets(projects, lambda p: rng.randrange(p.period))
        seconds.append(time.perf_counter() - started)
        metrics.append(ev.evaluate(starts))
    keys = ("peak", "host_peak", "bw_peak", "at_00", "same_minute")
    med = {k: statistics.median(m[k] for m in metrics) for k in keys}
    p90 = {k: nearest_rank([m[k] for m in metrics], 90) for k in keys}
    uneven = max(m["uneven"] for m in metrics)
    out.append(f"| random offsets (median / p90 of {draws}) | {fmt_num(med['peak'])} / {p90['peak']} | "
               f"{med['peak'] / lb:.2f} / {p90['peak'] / lb:.2f} | "
               f"{fmt_num(med['host_peak'])} / {p90['host_peak']} | "
               f"{med['bw_peak']:.1f} / {p90['bw_peak']:.1f} | "
               f"{fmt_num(med['at_00'])} / {p90['at_00']} | "
               f"{fmt_num(med['same_minute'])} / {p90['same_minute']} | "
               f"{'yes' if uneven == 0 else 'no'} | {fmt_time(statistics.median(seconds))} per draw |")

    starts, seconds = best_time(lambda: hashed_offsets(projects))
    out.append(row("hashed offsets (crc32 % T)", ev.evaluate(starts), lb, seconds, len(projects)))

    best, result = math.inf, None
    for _ in range(3):
        result, seconds = speculum_plan(projects, settings)
        best = min(best, seconds)
    m = ev.evaluate(result.starts)
    out.append(row("**speculum**", m, lb, best, len(projects), " (best of 3)"))

    own = result.metrics
    for key, theirs in (("peak", "peak_concurrent"), ("host_peak", "peak_per_upstream"),
                        ("same_minute", "same_minute_starts")):
        if own.get(theirs) != m[key]:
            out.append(f"\nWARNING: speculum reports {theirs} = {own.get(theirs)}, "
                       f"the evaluator {m[key]}.")
    if abs(own.get("peak_bandwidth", 0) - m["bw_peak"]) > 0.001:
        out.append(f"\nWARNING: speculum reports peak_bandwidth = {own.get('peak_bandwidth')}, "
                   f"the evaluator {m['bw_peak']:.3f}.")

    if m["peak"] > target:
        failures.append(f"{name}: speculum peak {m['peak']} > target {target} (LB {lb})")
    if m["at_00"]:
        failures.append(f"{name}: speculum starts {m['at_00']} runs at :00")
    if m["uneven"]:
        failures.append(f"{name}: {m['uneven']} speculum projects not evenly spaced")
    if len(projects) == 1000 and best >= PLAN_TIME_LIMIT:
        failures.append(f"{name}: planning took {best:.2f} s (target < {PLAN_TIME_LIMIT:.0f} s)")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cosi", type=Path, default=DEFAULT_COSI,
                        help="COSI Go mirror list (mirrors.json); default %(default)s")
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic sets and random draws")
    parser.add_argument("--draws", type=int, default=200, help="draws of the random-offsets competitor")
    args = parser.parse_args()
    began = time.perf_counter()

    settings = schedule.parse_settings({}, {})
    mirrors = cosi_mirrors(args.cosi)
    workloads, notes = [], []
    if mirrors is None:
        notes.append(f"COSI list {args.cosi} not found: the cosi workload is skipped and the "
                     f"synthetic frequencies are drawn from {FALLBACK_FREQUENCIES}.")
        frequencies = list(FALLBACK_FREQUENCIES)
    else:
        cosi = cosi_workload(mirrors)
        workloads.append((f"cosi ({args.cosi.name})", cosi))
        frequencies = [p.per_day for p in cosi]
    for count in (300, 1000):
        workloads.append((f"synthetic-{count} (seed {args.seed})",
                          synthetic_workload(count, args.seed, frequencies)))

    print("## Sync schedule benchmark (`bench/schedule.py`)\n")
    print(f"{datetime.date.today().isoformat()}; Python {platform.python_version()}, "
          f"numpy {np.__version__}, {os.cpu_count()} CPUs ({platform.machine()}, {platform.system()}).\n")
    for note in notes:
        print(note + "\n")
        print(note, file=sys.stderr)
    failures: list[str] = []
    for name, projects in workloads:
        print("\n".join(run_workload(name, projects, settings, args.seed, args.draws, failures)))
        print()
    print("Targets: speculum peak <= max(LB + 1, ceil(1.1 LB)) on every workload, no start at :00, "
          f"every project evenly spaced, 1000 projects planned in < {PLAN_TIME_LIMIT:.0f} s.")
    if failures:
        print("\nFAILED:\n" + "\n".join(f"- {f}" for f in failures))
    else:
        print("All targets met.")
    print(f"\n(whole benchmark: {time.perf_counter() - began:.1f} s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
