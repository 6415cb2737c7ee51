"""Host commands: status, sync, log (on the mirror host)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from .. import config, runner, status
from ..durations import format_duration
from ..ids import resolve
from ..monitor import run as monitor_run
from . import common

UNIT_DIR = Path("/etc/systemd/system")
COLUMNS = ("project", "status", "last success", "last result", "next run", "duration", "size", "lag",
           "health")


def register(add) -> None:
    p = add("status", "sync status of every project (on the mirror host)",
            "mirrorctl status\nmirrorctl status deb arch\nmirrorctl status --json")
    p.add_argument("projects", metavar="ID", nargs="*")
    p.add_argument("--json", action="store_true", help="the status records (tunasync fields and more)")
    p.set_defaults(func=cmd_status)

    p = add("sync", "sync one project now (on the mirror host, through its unit when root)",
            "mirrorctl sync debian\nmirrorctl sync --now arch")
    p.add_argument("project", metavar="ID")
    p.add_argument("--now", action="store_true",
                   help="don't wait for a global sync slot (the project's lock and the "
                   "upstream's slots still apply)")
    p.set_defaults(func=cmd_sync)

    p = add("log", "the latest run's log of a project (on the mirror host)",
            "mirrorctl log debian\nmirrorctl log arch --lines 20")
    p.add_argument("project", metavar="ID")
    p.add_argument("-n", "--lines", type=int, help="only the last N lines")
    p.set_defaults(func=cmd_log)


def _host(args) -> tuple[dict, dict]:
    src = common.source(args)
    if not src.on_host:
        raise common.CliError("this command runs on the mirror host (it reads the status records "
                              "there); try: podman exec speculum-lab mirrorctl …", common.USAGE)
    cfg = config.load(src.path)
    return cfg["site"], cfg["projects"]


def cmd_sync(args) -> int:
    site, projects = _host(args)
    project = projects[resolve(projects, args.project)]
    unit = UNIT_DIR / f"speculum-sync-{project['id']}.service"
    if os.geteuid() == 0 and unit.exists() and shutil.which("systemctl"):
        # Root runs go through the unit: same user, sandbox, password file and
        # lock as a timer run; `systemctl start` waits for a oneshot to end.
        if args.now:  # the runner in the unit reads and removes this flag
            flag = Path(site["state_dir"]) / "locks" / f"{project['id']}.now"
            flag.touch()
            shutil.chown(flag, *_owner(flag.parent))
        print(f"starting {unit.name} (log: mirrorctl log {project['id']})", file=sys.stderr)
        code = subprocess.run(["systemctl", "start", unit.name], check=False).returncode
        record = status.load(Path(site["state_dir"]) / "status", project)
        print(f"{project['id']}: {common.colour(record['status'])}"
              + (f" ({record['error_msg']})" if record["error_msg"] else ""))
        return code
    return runner.sync(project, site, now=args.now)


def _owner(path: Path) -> tuple[str, str]:
    import grp
    import pwd

    st = path.stat()
    return pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name


def records(site: dict, projects: dict, wanted: list[str]) -> list[dict]:
    status_dir = Path(site["state_dir"]) / "status"
    lock_dir = Path(site["state_dir"]) / "locks"
    return [status.current(status_dir, lock_dir, projects[pid]) for pid in wanted]


def cmd_status(args) -> int:
    site, projects = _host(args)
    wanted = [resolve(projects, p) for p in args.projects] or \
        sorted(p for p, rec in projects.items() if rec["enabled"])
    found = records(site, projects, wanted)
    health = monitor_run.health(monitor_run.load_results(site["state_dir"]))
    for record in found:
        record["health"] = health.get(record["name"])
    if args.json:
        common.print_json(found)
    else:
        now = time.time()
        print(common.table([COLUMNS] + [_row(r, now) for r in found], colour_column=1))
        hosts = [f"{name} {h['state']}" + (f" ({h['message']})" if h["state"] != "ok" else "")
                 for name, h in sorted(health.items()) if name.startswith("host/")]
        if hosts:
            print("host: " + ", ".join(hosts))
    return common.OK if all(r["status"] != status.FAILED for r in found) else common.FAILING


def _row(record: dict, now: float) -> tuple[str, ...]:
    result = "" if record["exit_code"] is None else f"exit {record['exit_code']}"
    fresh = record.get("marker_ts") or record["last_update_ts"]
    return (
        record["name"], record["status"], _ago(record["last_update_ts"], now), result,
        _at(record["next_schedule_ts"]),
        "" if record["duration"] is None else format_duration(record["duration"]),
        record["size"], format_duration(now - fresh) if fresh else "",
        _health(record.get("health")),
    )


def _health(found: dict | None) -> str:
    if not found:
        return ""
    return found["state"] if found["state"] == "ok" else f"{found['state']}: {found['message']}"


def _ago(ts: int, now: float) -> str:
    return f"{format_duration(now - ts)} ago" if ts else "never"


def _at(ts: int) -> str:
    return datetime.fromtimestamp(ts).astimezone().strftime("%H:%M %Z") if ts else ""


def cmd_log(args) -> int:
    site, projects = _host(args)
    pid = resolve(projects, args.project)
    latest = Path(site["log_dir"]) / pid / "latest.log"
    if not latest.exists():
        raise common.CliError(f"{pid} has no run log yet ({latest})")
    lines = latest.read_text(errors="replace").splitlines(True)
    sys.stdout.write("".join(lines[-args.lines:] if args.lines else lines))
    return common.OK
