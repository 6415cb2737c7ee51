#!/usr/bin/env python3
"""Log statistics ingester against GoAccess, on a generated mirror log.

Workload (deterministic, bench/loggen.py): a mirror-shaped access log of
--lines lines (default 1,000,000; seed --seed) in nginx's combined format,
with ~0.3 % malformed lines, and a second log twice as long (the first is a
prefix of it); the same requests in the nginx `speculum` format too.

Measured in one run, each tool a subprocess pinned to one core
(`taskset -c 0` when available), peak RSS from GNU time (/usr/bin/time):
* wc -l          the floor: counting lines;
* python read    a Python loop over the lines, no parsing (the ceiling of any
                 Python parser);
* GoAccess       Debian's goaccess, --log-format=COMBINED, every panel its
                 defaults enable (no global config), JSON report written;
* speculum       `python -m speculum stats ingest` into a fresh store, on the
                 combined log and on the speculum-format log, at 1x and 2x.

Targets (exit 1 when one is missed): ingest of the combined log >= 5x
GoAccess's lines/s on the same log; peak RSS of every ingest < 150 MB (at
1x and 2x); `mirrorctl stats report --json` totals (requests, bytes, status
classes, malformed lines) equal GoAccess's valid_requests, bandwidth,
status-code panel and failed_requests, and equal between the two log formats.

Usage: bench/logstats.py [--lines N] [--seed S] [--keep DIR] [--no-goaccess-2x]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import loggen  # noqa: E402

MIN_RATIO = 5.0
MAX_RSS_MB = 150.0
CLASSES = ("2xx", "3xx", "4xx", "5xx", "other")  # GoAccess has no "other": it fails an unknown status


def pinned(cmd: list[str]) -> list[str]:
    """The command on core 0 when taskset exists."""
    taskset = shutil.which("taskset")
    return [taskset, "-c", "0", *cmd] if taskset else cmd


def run(cmd: list[str], stdout=subprocess.DEVNULL) -> dict:
    """Run cmd; wall time, CPU time and peak RSS (MB) of that child alone.

    A child's peak RSS starts at its parent's (Linux carries the high-water
    mark over fork and exec), so the command runs under GNU time, a small
    parent, when it exists; otherwise os.wait4 of the child, which includes
    this script's own RSS (an upper bound).
    """
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    gnu_time = shutil.which("time", path="/usr/bin:/bin")
    with tempfile.NamedTemporaryFile("r", prefix="speculum-bench-time-") as stats:
        wrapped = [gnu_time, "-f", "%M", "-o", stats.name, *pinned(cmd)] if gnu_time else pinned(cmd)
        start = time.perf_counter()
        proc = subprocess.Popen(wrapped, stdout=stdout, stderr=subprocess.PIPE, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read().decode(errors="replace")
        proc.stderr.close()
        if proc.returncode:
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err}")
        peak_kb = int(stats.read().split()[-1]) if gnu_time else usage.ru_maxrss
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": peak_kb / 1024}


def goaccess(log: Path, report: Path) -> dict:
    return run(["goaccess", str(log), "--log-format=COMBINED", "--no-global-config", "--no-progress",
                "-o", str(report)])


def goaccess_totals(report: Path) -> dict:
    """requests/bytes/status classes as the ingester reports them, from GoAccess's JSON."""
    data = json.loads(report.read_text())
    general = data["general"]
    status = dict.fromkeys(CLASSES, 0)
    for group in data["status_codes"]["data"]:  # "2xx Success", "4xx Client Errors", ...
        status[group["data"][:3]] = status.get(group["data"][:3], 0) + group["hits"]["count"]
    return {"requests": general["valid_requests"], "bytes": general["bandwidth"], "status": status,
            "failed": general["failed_requests"], "total_requests": general["total_requests"]}


def ingest(log: Path, store: Path, fmt: str) -> dict:
    store.unlink(missing_ok=True)
    # the log right after `ingest`: with the options first, argparse leaves LOG… unmatched
    return run([sys.executable, "-m", "speculum", "stats", "ingest", str(log), "--store", str(store), "--format", fmt,
                "--projects", ",".join(loggen.PROJECTS)])


def report(store: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "speculum", "stats", "report", "--store", str(store), "--json"],
                         check=True, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO / "src")))
    data = json.loads(out.stdout)
    totals = data["totals"]
    return {"requests": totals["requests"], "bytes": totals["bytes"], "failed": data["malformed"],
            "status": {c: totals["status"].get(c, 0) for c in CLASSES}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", metavar="DIR", help="write the logs and stores here and keep them")
    parser.add_argument("--no-goaccess-2x", action="store_true", help="skip GoAccess on the 2x log (~40 s)")
    args = parser.parse_args()
    if not shutil.which("goaccess"):
        print("goaccess is not installed (apt install goaccess)", file=sys.stderr)
        return 1
    version = subprocess.run(["goaccess", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="speculum-bench-logstats-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        return measure(args, work, version)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def measure(args, work: Path, version: str) -> int:
    n = args.lines
    logs, info = {}, {}
    for fmt in ("combined", "speculum"):
        for k in (1, 2):  # the same seed: the 1x log is the first half of the 2x log
            logs[fmt, k] = work / f"{fmt}-{k}x.log"
            info[fmt, k] = loggen.generate(logs[fmt, k], k * n, args.seed, fmt)
    gen = info["combined", 1]
    core = "pinned to core 0" if shutil.which("taskset") else "no taskset: not pinned"
    print(f"{datetime.date.today().isoformat()}; Python {platform.python_version()}, {version}, "
          f"{os.cpu_count()} CPUs ({platform.machine()}), {core}.")
    size1 = logs["combined", 1].stat().st_size
    print(f"Log: {n:,} lines, {size1 / 1e6:.0f} MB combined ({gen['malformed']:,} malformed, {gen['empty']} of them "
          f"empty), seed {args.seed}; 2x log: {2 * n:,} lines, {info['combined', 2]['bytes'] / 1e6:.0f} MB.\n")

    rows = []

    def row(tool: str, log: Path, lines: int, result: dict) -> dict:
        result.update(tool=tool, lines=lines, mb=log.stat().st_size / 1e6)
        rows.append(result)
        return result

    wc = min((run(["wc", "-l", str(logs["combined", 1])]) for _ in range(3)), key=lambda r: r["wall"])
    row("wc -l (floor)", logs["combined", 1], n, wc)
    loop = "import sys\nfor line in open(sys.argv[1], 'rb'): pass"
    row("python read loop, no parsing", logs["combined", 1], n,
        run([sys.executable, "-c", loop, str(logs["combined", 1])]))
    g1 = row("GoAccess, combined, 1x", logs["combined", 1], n, goaccess(logs["combined", 1], work / "goaccess-1x.json"))
    if not args.no_goaccess_2x:
        row("GoAccess, combined, 2x", logs["combined", 2], 2 * n,
            goaccess(logs["combined", 2], work / "goaccess-2x.json"))
    s = {}
    for fmt in ("combined", "speculum"):
        for k in (1, 2):
            s[fmt, k] = row(f"speculum ingest, {fmt}, {k}x", logs[fmt, k], k * n,
                            ingest(logs[fmt, k], work / f"store-{fmt}-{k}x.sqlite", fmt))

    print("| tool | lines | MB | wall | CPU | lines/s | MB/s | peak RSS |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['tool']} | {r['lines']:,} | {r['mb']:.0f} | {r['wall']:.2f} s | {r['cpu']:.2f} s | "
              f"{r['lines'] / r['wall'] / 1e3:,.0f} k | {r['mb'] / r['wall']:,.1f} | {r['rss']:.1f} MB |")

    ratio = g1["wall"] / s["combined", 1]["wall"]
    speculum_ratio = g1["wall"] / s["speculum", 1]["wall"]
    worst_rss = max(r["rss"] for r in s.values())
    growth = {fmt: s[fmt, 2]["rss"] - s[fmt, 1]["rss"] for fmt in ("combined", "speculum")}
    print(f"\nspeculum ÷ GoAccess (lines/s, same combined log): {ratio:.1f}x; speculum format ÷ GoAccess: "
          f"{speculum_ratio:.1f}x; wc -l ÷ ingest: {s['combined', 1]['wall'] / wc['wall']:.0f}x.")
    print(f"Peak RSS from 1x to 2x: combined {growth['combined']:+.1f} MB, speculum {growth['speculum']:+.1f} MB.")

    ga = goaccess_totals(work / "goaccess-1x.json")
    ours = {fmt: report(work / f"store-{fmt}-1x.sqlite") for fmt in ("combined", "speculum")}
    print("\n| totals (1x log) | GoAccess | speculum, combined | speculum, speculum format |")
    print("|---|---|---|---|")
    keys = [("requests", lambda t: t["requests"]), ("bytes", lambda t: t["bytes"])]
    keys += [(c, lambda t, c=c: t["status"][c]) for c in CLASSES]
    keys += [("malformed (failed_requests)", lambda t: t["failed"])]
    same = True
    for name, get in keys:
        values = [get(ga), get(ours["combined"]), get(ours["speculum"])]
        same &= len(set(values)) == 1
        print(f"| {name} | {values[0]:,} | {values[1]:,} | {values[2]:,} |")
    print(f"\nGoAccess counts {ga['total_requests']:,} \"total requests\": every non-empty line, valid "
          f"({ga['requests']:,}) or failed ({ga['failed']:,}; the log has {gen['malformed'] - gen['empty']:,} "
          f"non-empty malformed lines); the {gen['empty']} empty lines are not counted at all. Its bandwidth "
          "and status panel cover the valid requests only, every status included (4xx and 5xx too), IPv6 "
          "clients included. So the comparison uses valid_requests, not total_requests.")

    ok_ratio = ratio >= MIN_RATIO
    ok_rss = worst_rss < MAX_RSS_MB
    print(f"\nTargets: ingest >= {MIN_RATIO:.0f}x GoAccess on the same log: {'met' if ok_ratio else 'MISSED'} "
          f"({ratio:.1f}x); peak RSS < {MAX_RSS_MB:.0f} MB at 1x and 2x: {'met' if ok_rss else 'MISSED'} "
          f"({worst_rss:.1f} MB); totals equal GoAccess's: {'met' if same else 'MISSED'}.")
    return 0 if ok_ratio and ok_rss and same else 1


if __name__ == "__main__":
    sys.exit(main())
