"""Upstream commands: scan, test, probefile, markers (talk to real servers)."""

from __future__ import annotations

import os
import time
from datetime import date
from urllib.parse import quote

from .. import upstream
from ..durations import format_duration
from ..ids import resolve
from ..markers import marker_time
from ..status import human_size
from . import common


def register(add) -> None:
    p = add("scan", "list upstream trees over rsync (no transfer); record file count and size",
            "mirrorctl scan alpine\nmirrorctl scan -a -j 8\nmirrorctl scan -e alpine   # enable it if the scan works")
    p.add_argument("projects", metavar="ID", nargs="*")
    p.add_argument("-a", "--all", action="store_true", help="every rsync project")
    p.add_argument("-j", "--jobs", type=int, default=4, help="scans at once (default 4)")
    p.add_argument("-e", "--enable", action="store_true", help="enable each project whose scan succeeded")
    p.add_argument("--timeout", type=int, default=600, help="seconds per scan (default 600)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_scan)

    p = add("test", "is the upstream reachable, how fresh are its marker and ours, do we serve it",
            "mirrorctl test debian\nmirrorctl test arch --site-url http://127.0.0.1:8080/")
    p.add_argument("project", metavar="ID")
    p.add_argument("--site-url", help="our site (default: speculum_site_http_url)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_test)

    p = add("probefile", "which upstreams and our host have a file (in parallel)",
            "mirrorctl probefile debian/dists/bookworm/Release\n"
            "mirrorctl probefile README --md5   # in every project")
    p.add_argument("path", metavar="PATH", help="ID/path in one project, or a path to look for in all")
    p.add_argument("--md5", action="store_true", help="also compare MD5 sums (downloads the file)")
    p.add_argument("-j", "--jobs", type=int, default=8)
    p.add_argument("--site-url", help="our site (default: speculum_site_http_url)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_probefile)

    p = add("markers", "each project's freshness marker and its age (ours; --upstream too)",
            "mirrorctl markers\nmirrorctl markers --upstream")
    p.add_argument("--upstream", action="store_true", help="also read the upstream markers")
    p.add_argument("--site-url", help="our site, when not on the host (default: speculum_site_http_url)")
    p.add_argument("-j", "--jobs", type=int, default=8)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_markers)


def _password(project: dict, src: common.Source) -> str | None:
    """rsync password: SPECULUM_PASSWORD_<SECRET> or RSYNC_PASSWORD from the environment,
    else (root on the host) the deployed password file."""
    secret = project["sync"].get("password_secret")
    if not secret:
        return None
    found = os.environ.get(f"SPECULUM_PASSWORD_{secret.upper()}") or os.environ.get("RSYNC_PASSWORD")
    if not found and src.on_host:
        try:
            with open(os.path.join(src.site["secrets_dir"], project["id"]), encoding="utf-8") as handle:
                found = handle.read().strip()
        except OSError:
            found = None
    return found


def cmd_scan(args) -> int:
    src = common.source(args)
    projects = src.projects()
    if args.all:
        wanted = sorted(p for p, r in projects.items() if r["sync"]["method"] == "rsync")
    elif args.projects:
        wanted = [resolve(projects, p) for p in args.projects]
    else:
        raise common.CliError("name projects to scan, or -a for all", common.USAGE)
    not_rsync = [p for p in wanted if projects[p]["sync"]["method"] != "rsync"]
    if not_rsync:
        raise common.CliError(f"only rsync projects can be scanned: {', '.join(not_rsync)}", common.USAGE)

    def one(pid):
        sync = projects[pid]["sync"]
        try:
            return pid, upstream.scan(sync["upstream"], user=sync.get("user"),
                                      password=_password(projects[pid], src), timeout=args.timeout), None
        except upstream.UpstreamError as exc:
            return pid, None, str(exc)

    results = upstream.parallel(one, wanted, jobs=args.jobs, progress=common.Progress("scanning"))
    db = None if src.on_host else src.database()
    rows, report, failed = [("project", "result", "files", "size", "listing took")], [], 0
    for pid, scan, error in results:
        if error:
            failed += 1
            rows.append((pid, "error", "", "", error))
            report.append({"project": pid, "error": error})
            continue
        rows.append((pid, "ok", str(scan.files), human_size(scan.total_size), format_duration(scan.seconds)))
        report.append({"project": pid, "files": scan.files, "size": scan.total_size,
                       "seconds": round(scan.seconds, 3)})
        if db is not None:
            db.set(pid, "scan", {"files": scan.files, "size": scan.total_size,
                                 "seconds": round(scan.seconds, 1), "date": date.today().isoformat()})
            if args.enable:
                db.set(pid, "enabled", True)
    if db is not None:
        db.save()
    if args.json:
        common.print_json(report)
    else:
        print(common.table(rows, colour_column=1))
        if db is None:
            print("(on the host: results are not recorded; scan from the repository to keep them)")
    return common.ERROR if failed else common.OK


def cmd_test(args) -> int:
    src = common.source(args)
    projects = src.projects()
    project = projects[resolve(projects, args.project)]
    pid, sync, verify = project["id"], project["sync"], project.get("verify")
    base = common.site_url(args, src)
    report: dict = {"project": pid, "upstream": sync.get("upstream")}
    pulls = sync["method"] == "rsync"  # only rsync projects have an rsync upstream to ask
    if pulls:
        ok, message = upstream.reachable(sync["upstream"], user=sync.get("user"),
                                         password=_password(project, src))
        report["upstream_reachable"], report["upstream_message"] = ok, message
    if verify:
        report["marker"] = verify["file"]
        if pulls:
            report["upstream_marker_ts"] = _try(lambda: upstream.fetch_marker(
                sync["upstream"], verify["file"], verify["format"], user=sync.get("user"),
                password=_password(project, src)))
        report["local_marker_ts"] = _local_marker(src, project, base)
    served = upstream.http_probe(f"{base}{pid}/")
    report["served"] = served.get("status") == 200
    report["served_status"] = served.get("status") or served.get("error")
    if args.json:
        common.print_json(report)
    else:
        now = time.time()
        print(f"project    {pid}")
        if "upstream_reachable" in report:
            state = "ok" if report["upstream_reachable"] else "error"
            print(f"upstream   {common.colour(state)}  {report['upstream_message']}")
        if verify:
            for key, label in (("upstream_marker_ts", "upstream marker"), ("local_marker_ts", "our marker")):
                if key in report:
                    print(f"{label:<15} {_age(report[key], now)}")
        print(f"served     {common.colour('ok' if report['served'] else 'error')}  "
              f"{base}{pid}/ -> {report['served_status']}")
    healthy = report.get("upstream_reachable", True) and report["served"]
    return common.OK if healthy else common.FAILING


def _try(fn):
    try:
        return fn()
    except (upstream.UpstreamError, OSError, ValueError) as exc:
        return f"error: {exc}"


def _age(ts, now: float) -> str:
    if isinstance(ts, (int, float)):
        return f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(ts))} ({format_duration(now - ts)} old)"
    return str(ts)


def _local_marker(src: common.Source, project: dict, base: str):
    verify = project["verify"]
    if src.on_host:
        path = os.path.join(src.site["mirror_root"], project["id"], verify["file"])
        return _try(lambda: marker_time(path, verify["format"]))
    return _try(lambda: upstream.http_marker(f"{base}{project['id']}/{quote(verify['file'])}",
                                             verify["format"]))


def cmd_probefile(args) -> int:
    src = common.source(args)
    projects = {p: r for p, r in src.projects().items() if r["enabled"]}
    base = common.site_url(args, src)
    head, _, rest = args.path.strip("/").partition("/")
    try:
        targets = [(resolve(projects, head), rest)] if rest else []
    except LookupError:
        targets = []
    if not targets:  # a path to look for in every project
        targets = [(pid, args.path.strip("/")) for pid in sorted(projects)]
    checks = []
    for pid, path in targets:
        if projects[pid]["sync"]["method"] == "rsync":
            checks.append(("upstream", pid, path))
        checks.append(("ours", pid, path))

    def one(check):
        where, pid, path = check
        if where == "ours":
            return check, upstream.http_probe(f"{base}{pid}/{quote(path)}", md5=args.md5)
        sync = projects[pid]["sync"]
        try:
            return check, upstream.exists(sync["upstream"], path, md5=args.md5, user=sync.get("user"),
                                          password=_password(projects[pid], src))
        except upstream.UpstreamError as exc:
            return check, {"exists": False, "error": str(exc)}

    results = upstream.parallel(one, checks, jobs=args.jobs, progress=common.Progress("probing"))
    report = []
    for (where, pid, path), found in results:
        has = found.get("exists") if where == "upstream" else found.get("status") == 200
        report.append({"project": pid, "where": where, "path": path, "has": bool(has),
                       "size": found.get("size"), "md5": found.get("md5"),
                       "error": found.get("error")})
    if args.json:
        common.print_json(report)
    else:
        rows = [("project", "where", "has", "size", "md5" if args.md5 else "path")]
        for r in report:
            rows.append((r["project"], r["where"], "ok" if r["has"] else "missing",
                         "" if r["size"] is None else str(r["size"]),
                         (r["md5"] or "") if args.md5 else r["path"]))
        print(common.table(rows, colour_column=2))
    return common.OK if any(r["has"] for r in report) else common.FAILING


def cmd_markers(args) -> int:
    src = common.source(args)
    projects = {p: r for p, r in src.projects().items() if r["enabled"] and r.get("verify")}
    base = common.site_url(args, src)

    def one(pid):
        project = projects[pid]
        row = {"project": pid, "marker": project["verify"]["file"],
               "format": project["verify"]["format"], "ours": _local_marker(src, project, base)}
        sync = project["sync"]
        if args.upstream and sync["method"] == "rsync":
            row["upstream"] = _try(lambda: upstream.fetch_marker(
                sync["upstream"], project["verify"]["file"], project["verify"]["format"],
                user=sync.get("user"), password=_password(project, src)))
        return row

    report = upstream.parallel(one, sorted(projects), jobs=args.jobs, progress=common.Progress("markers"))
    if args.json:
        common.print_json(report)
        return common.OK
    now = time.time()
    header = ("project", "marker", "ours") + (("upstream", "behind") if args.upstream else ())
    rows = [header]
    for r in report:
        row = (r["project"], r["marker"], _age(r["ours"], now))
        if args.upstream:
            behind = (format_duration(r["upstream"] - r["ours"])
                      if all(isinstance(r.get(k), (int, float)) for k in ("ours", "upstream")) else "")
            row += (_age(r.get("upstream", ""), now), behind)
        rows.append(row)
    print(common.table(rows))
    return common.OK
