#!/usr/bin/env python3
"""Site generation time and page weight, for 10, 100 and 1000 projects.

Workload (deterministic): the lab's site settings and news post
(tests/unit/site_inputs.py) and n synthetic projects "p0000"...: 8
categories, a mix of usage types (apt, pacman, dnf, files), 1-24 syncs a day,
public rsync for two in three; every project has a status record (success,
failed or syncing, with sizes and a history of 20 runs).

Measured in one run, best of 3:
* build   generate.build: every page, the feed and the API, in memory;
* publish publish.publish into an empty directory (every file written
          atomically: temporary file, fsync, rename);
* again   publish of the same files into the populated directory (the
          steady state of the timer: nothing changed, nothing written);
* floor   the reference: writing the same bytes with plain open/write, no
          fsync, no rename, into an empty directory: what any generator pays.
Target: build + publish of 1000 projects < 2 s; home page (HTML + CSS + JS)
< 100 KB.
"""

from __future__ import annotations

import copy
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "unit"))

import site_inputs  # noqa: E402

from speculum import config as config_mod  # noqa: E402
from speculum import status as status_mod  # noqa: E402
from speculum.site import generate, publish  # noqa: E402

CATEGORIES = ["Distributions", "Software", "Languages", "Science", "Tools", "Media", "Education",
              "Miscellaneous"]
USAGES = [{"type": "apt", "suites": ["stable"], "components": ["main"]}, {"type": "pacman"},
          {"type": "dnf", "path": "$releasever/os/$basearch/"}, {"type": "files"}]


def synthetic(n: int) -> dict:
    rng = random.Random(n)
    db = {}
    for i in range(n):
        pid = f"p{i:04d}"
        db[pid] = {"name": f"Project {i}", "category": rng.choice(CATEGORIES),
                   "description": f"Synthetic project number {i} of {n}", "enabled": True,
                   "homepage": f"https://p{i}.example.org/", "official": rng.random() < 0.3,
                   "public_rsync": rng.random() < 0.67, "usage": copy.deepcopy(rng.choice(USAGES)),
                   "sync": {"method": "rsync", "upstream": f"rsync://up{i % 50}.example/{pid}/",
                            "syncs_per_day": rng.choice([1, 2, 4, 6, 12, 24])}}
    return db


def statuses(config: dict, rng: random.Random) -> dict:
    out = {}
    now = site_inputs.NOW_TS
    for pid, project in config["projects"].items():
        record = status_mod.new_record(project)
        state = rng.choice(["success", "success", "success", "failed", "syncing"])
        record.update(status=state, size_bytes=rng.randrange(10**6, 10**12), duration=rng.uniform(5, 3600))
        record["size"] = status_mod.human_size(record["size_bytes"])
        for key, ago in (("last_update", rng.randrange(600, 86400)), ("last_started", 300), ("last_ended", 200)):
            status_mod.stamp(record, key, now - ago)
        record["history"] = [{"started": now - k * 3600, "ended": now - k * 3600 + 60, "status": "success",
                              "exit_code": 0, "duration": 60.0}
                             for k in range(1, 21)]
        out[pid] = record
    return out


def best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def measure(n: int) -> dict:
    inputs = site_inputs.inputs()
    config = config_mod.build(synthetic(n))
    inputs.update(config=config, statuses=statuses(config, random.Random(n)))
    files = generate.build(**inputs)
    scratch = Path(tempfile.mkdtemp(prefix="speculum-bench-site-"))
    try:
        def fresh_publish():
            target = scratch / "publish"
            shutil.rmtree(target, ignore_errors=True)
            publish.publish(target, files)

        def floor():
            target = scratch / "floor"
            shutil.rmtree(target, ignore_errors=True)
            for rel, data in files.items():
                path = target / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "wb") as handle:
                    handle.write(data)

        result = {"n": n, "files": len(files), "bytes": sum(map(len, files.values())),
                  "build": best(lambda: generate.build(**inputs)), "publish": best(fresh_publish),
                  "floor": best(floor)}
        result["again"] = best(lambda: publish.publish(scratch / "publish", files))
        result["home"] = sum(len(files[p]) for p in ("index.html", "static/site.css", "static/site.js"))
        return result
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> int:
    rows = [measure(n) for n in (10, 100, 1000)]
    print("| projects | files | MB | build | publish (atomic) | total | floor (plain writes) | "
          "total ÷ floor | unchanged re-publish | home page |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        total = r["build"] + r["publish"]
        print(f"| {r['n']} | {r['files']} | {r['bytes'] / 1e6:.1f} | {r['build'] * 1000:.0f} ms | "
              f"{r['publish'] * 1000:.0f} ms | {total * 1000:.0f} ms | {r['floor'] * 1000:.0f} ms | "
              f"{total / r['floor']:.1f} | {r['again'] * 1000:.0f} ms | {r['home'] / 1000:.1f} KB |")
    big = rows[-1]
    ok_time = big["build"] + big["publish"] < 2.0
    ok_weight = all(r["home"] < 100_000 for r in rows[:2])
    print(f"\nTargets: 1000 projects built and published in < 2 s: {'met' if ok_time else 'MISSED'}; "
          f"home page < 100 KB (10 and 100 projects): {'met' if ok_weight else 'MISSED'} "
          f"(1000 projects: {big['home'] / 1000:.1f} KB).")
    return 0 if ok_time and ok_weight else 1


if __name__ == "__main__":
    sys.exit(main())
