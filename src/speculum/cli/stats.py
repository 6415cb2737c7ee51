"""Usage statistics: stats ingest (access logs -> store), stats report."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .. import config
from ..lock import Busy
from . import common

EXAMPLES = """\
mirrorctl stats ingest /var/log/nginx/access.log.2.gz /var/log/nginx/access.log.1 /var/log/nginx/access.log
mirrorctl stats ingest --format rsyncd /var/log/rsyncd.log
mirrorctl stats report
mirrorctl stats report --json --since 2026-11-01
mirrorctl stats export --interface eth0 --out /var/lib/speculum/stats/export.json"""


def register(add) -> None:
    from ..stats.ingest import BATCH_LINES
    from ..stats.parse import FORMATS
    from ..stats.store import DEFAULT_STORE

    p = add("stats", "usage statistics from the access logs (nginx, rsyncd)", EXAMPLES)
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    def action(name: str, help: str) -> argparse.ArgumentParser:
        q = sub.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".")
        q.add_argument("--store", metavar="FILE", default=DEFAULT_STORE,
                       help=f"the SQLite store (default: {DEFAULT_STORE})")
        # also accepted after the action; SUPPRESS keeps a value given before it
        q.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        q.add_argument("--db", metavar="FILE", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        return q

    q = action("ingest", "add new lines of access logs to the store (exactly once, resumable)")
    q.add_argument("logs", metavar="LOG", nargs="+", help="log files, oldest first (rotated and gzipped ones too)")
    q.add_argument("--format", choices=["auto", *FORMATS], default="auto",
                   help="log format (default: detected per file)")
    q.add_argument("--projects", metavar="ID,…",
                   help="project ids, the first path segments to count apart (default: those of the config)")
    q.add_argument("--networks", metavar="FILE", help="named networks, `name CIDR` per line")
    q.add_argument("--geoip", metavar="FILE", help="a MaxMind country database (needs python3-maxminddb)")
    q.add_argument("--keep-hourly", metavar="DAYS", type=int, default=90,
                   help="roll hours older than this into days (default: 90)")
    q.add_argument("--keep-daily", metavar="DAYS", type=int, default=0,
                   help="drop days older than this (default: 0, keep forever)")
    q.add_argument("--top-files", metavar="N", type=int, default=100,
                   help="files kept per project and finished day (default: 100)")
    q.add_argument("--batch", metavar="LINES", type=int, default=BATCH_LINES, help=argparse.SUPPRESS)
    q.set_defaults(func=cmd_ingest)

    q = action("report", "requests, bytes, status classes, clients… in total and per project")
    q.add_argument("--since", metavar="DAY", help="from this day (YYYY-MM-DD)")
    q.add_argument("--until", metavar="DAY", help="up to this day, included")
    q.add_argument("--json", action="store_true", help="JSON: totals, projects, days (see docs)")
    q.set_defaults(func=cmd_report)

    q = action("export", "write what the public site shows: the last days, projects, bandwidth (JSON)")
    q.add_argument("--out", metavar="FILE", default="-", help="write here, atomically (default: standard output)")
    q.add_argument("--days", metavar="N", type=int, default=30, help="days up to today (default: 30)")
    q.add_argument("--top", metavar="N", type=int, default=10, help="top files per project (default: 10)")
    q.add_argument("--interface", metavar="IFACE",
                   help="add vnstat's bandwidth history of this interface (Debian package vnstat)")
    q.set_defaults(func=cmd_export)


def _project_ids(args) -> list[str]:
    if args.projects is not None:
        return [p for p in args.projects.split(",") if p]
    explicit = args.config or os.environ.get("SPECULUM_CONFIG")
    if explicit or Path(config.DEFAULT_CONFIG_PATH).is_file():
        return list(config.load(explicit)["projects"])
    if args.db:
        return list(common.source(args).projects())
    print("mirrorctl: no runtime config and no --projects: every request counts as `other`",
          file=sys.stderr)
    return []


def cmd_ingest(args) -> int:
    from ..stats.aggregate import GeoIP, Networks
    from ..stats.ingest import ingest
    from ..stats.store import Store

    if not args.logs:
        raise common.CliError("stats ingest: name the log files (oldest first)", common.USAGE)
    networks = Networks.load(args.networks) if args.networks else None
    if args.geoip:
        try:
            geoip = GeoIP(args.geoip)
        except ImportError:
            raise common.CliError("--geoip needs python3-maxminddb (apt install python3-maxminddb)") from None
    else:
        geoip = None
    projects = _project_ids(args)
    store = Store(args.store)
    try:
        results = ingest(store, args.logs, args.format, projects, networks, geoip, args.batch)
        store.compact(args.keep_hourly, args.keep_daily, args.top_files)
    except Busy as exc:
        raise common.CliError(f"another `stats ingest` (pid {exc.holder}) is running on {args.store}") from None
    finally:
        store.close()
    # A rotated name may not exist yet; none of them existing is a wrong path.
    failed = all(r.state == "missing" for r in results)
    for r in results:
        if r.state == "unknown format":
            failed = True
        detail = f"{r.lines} lines, {r.malformed} malformed" + (f", {r.skipped} not requests" if r.skipped else "")
        print(f"{r.path}: {r.state}" + (f" ({r.format}): {detail}" if r.lines else ""), file=sys.stderr)
    return common.ERROR if failed else common.OK


def cmd_report(args) -> int:
    from ..stats.report import report
    from ..stats.store import Store

    store = Store(args.store, create=False)
    try:
        data = report(store, args.since, args.until)
    finally:
        store.close()
    if args.json:
        common.print_json(data)
        return common.OK
    print(f"{data['first'] or '-'} … {data['last'] or '-'}: {data['lines']} lines, {data['malformed']} malformed")
    rows = [("project", "requests", "bytes", "2xx", "3xx", "4xx", "5xx", "IPv6")]
    for name, item in sorted(data["projects"].items(), key=lambda kv: -kv[1]["requests"]) + [
            ("total", data["totals"])]:
        s = item["status"]
        rows.append((name, item["requests"], _size(item["bytes"]), s["2xx"], s["3xx"], s["4xx"], s["5xx"],
                     item["ipv6"]))
    print(common.table(rows))
    return common.OK


def cmd_export(args) -> int:
    from datetime import UTC, datetime

    from ..fsutil import write_json
    from ..stats import bandwidth
    from ..stats.export import export
    from ..stats.store import Store

    if args.days < 1:
        raise common.CliError(f"stats export: --days must be at least 1, got {args.days}", common.USAGE)
    now = datetime.now(UTC)
    history, problem = None, ""
    if args.interface:
        try:
            history = bandwidth.parse_vnstat(bandwidth.read_vnstat(args.interface), args.interface,
                                             now.astimezone())  # vnstat writes host local time
        except bandwidth.BandwidthError as exc:
            problem = str(exc)  # the usage statistics are still worth publishing
            print(f"mirrorctl: stats export: {problem}", file=sys.stderr)
    store = Store(args.store, create=False)
    try:
        data = export(store, now.date(), now, args.days, args.top, history, problem)
    finally:
        store.close()
    if args.out == "-":
        common.print_json(data)
    else:
        write_json(args.out, data)
    return common.OK


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)
