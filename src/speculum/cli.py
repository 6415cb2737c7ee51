"""mirrorctl: the admin's command line, on the controller and on the host."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from . import __version__, config, runner, schema, status, timetable
from .durations import format_duration
from .lock import is_held

DB_RELATIVE = Path("group_vars/all/projects.yml")
UNIT_DIR = Path("/etc/systemd/system")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError) as exc:
        print(f"mirrorctl: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `mirrorctl … | head`
        sys.stderr.close()
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mirrorctl", description="Speculum mirror administration.")
    parser.add_argument("--version", action="version", version=f"mirrorctl {__version__}")
    parser.add_argument("--config", help="runtime config on the host (default: $SPECULUM_CONFIG "
                        f"or {config.DEFAULT_CONFIG_PATH})")
    sub = parser.add_subparsers(metavar="COMMAND")

    p = sub.add_parser("sync", help="sync one project now (on the mirror host)")
    p.add_argument("project", metavar="ID")
    p.add_argument("--now", action="store_true",
                   help="don't wait for a global sync slot (the project lock and the "
                   "upstream's slots still apply)")
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("status", help="sync status of the projects (on the mirror host)")
    p.add_argument("projects", metavar="ID", nargs="*")
    p.add_argument("--json", action="store_true", help="the status records as JSON")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("validate", help="check the project database")
    p.add_argument("--db", help=f"database file (default: {DB_RELATIVE} of this repository)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schedule", help="plan the sync timetable of the database (controller)")
    p.add_argument("--db", help=f"database file (default: {DB_RELATIVE} of this repository)")
    p.add_argument("--durations", metavar="FILE",
                   help="JSON object of project id -> seconds, overriding the estimates")
    p.add_argument("--previous", metavar="PLAN",
                   help="a previous `schedule --json` output whose placements are kept when valid")
    p.add_argument("--settings", metavar="FILE", help="YAML file with speculum_schedule "
                   "(default: the group_vars files beside the database)")
    p.add_argument("--json", action="store_true", help="the plan as JSON")
    p.set_defaults(func=cmd_schedule)

    p = sub.add_parser("schema", help="print the project database field reference (Markdown)")
    p.set_defaults(func=cmd_schema)
    return parser


# --- sync -----------------------------------------------------------------------

def cmd_sync(args) -> int:
    cfg = config.load(args.config)
    project = _project(cfg, args.project)
    unit = UNIT_DIR / f"speculum-sync-{project['id']}.service"
    if os.geteuid() == 0 and unit.exists() and shutil.which("systemctl"):
        # Root runs go through the unit: same user, sandbox, credentials and
        # lock as a timer run; `systemctl start` waits for a oneshot to end.
        if args.now:  # the runner in the unit reads and removes this flag
            flag = Path(cfg["site"]["state_dir"]) / "locks" / f"{project['id']}.now"
            flag.touch()
            shutil.chown(flag, *_owner(flag.parent))
        print(f"starting {unit.name} (log: journalctl -u {unit.name})", file=sys.stderr)
        code = subprocess.run(["systemctl", "start", unit.name], check=False).returncode
        record = status.load(Path(cfg["site"]["state_dir"]) / "status", project)
        print(f"{project['id']}: {record['status']}"
              + (f" ({record['error_msg']})" if record["error_msg"] else ""))
        return code
    return runner.sync(project, cfg["site"], now=args.now)


def _owner(path: Path) -> tuple[str, str]:
    import grp
    import pwd

    st = path.stat()
    return pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name


def _project(cfg: dict, wanted: str) -> dict:
    projects = cfg["projects"]
    if wanted not in projects:
        known = ", ".join(sorted(projects)) or "none"
        raise ValueError(f"unknown project '{wanted}' (known: {known})")
    return projects[wanted]


# --- status ---------------------------------------------------------------------

COLUMNS = ("project", "status", "last success", "last result", "next run", "duration", "size")


def cmd_status(args) -> int:
    cfg = config.load(args.config)
    status_dir = Path(cfg["site"]["state_dir"]) / "status"
    wanted = args.projects or sorted(p for p, rec in cfg["projects"].items() if rec["enabled"])
    records = [status.load(status_dir, _project(cfg, pid)) for pid in wanted]
    lock_dir = Path(cfg["site"]["state_dir"]) / "locks"
    for record in records:
        if cfg["projects"][record["name"]]["sync"]["method"] == "static":
            record["status"] = "static"  # never synced: files are placed by other means
        # A run killed with SIGKILL (or a host crash) never wrote its end.
        if record["status"] in (status.SYNCING, status.PRE_SYNCING) \
                and not is_held(lock_dir, record["name"]):
            record.update(status=status.FAILED, error_msg="the last run ended without "
                          "recording a result (killed?)")
    if args.json:
        print(json.dumps(records, indent=2, sort_keys=True))
        return 0
    now = time.time()
    rows = [COLUMNS] + [_status_row(r, now) for r in records]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    return 0 if all(r["status"] != status.FAILED for r in records) else 3


def _status_row(record: dict, now: float) -> tuple[str, ...]:
    result = "" if record["exit_code"] is None else f"exit {record['exit_code']}"
    return (
        record["name"],
        record["status"],
        _ago(record["last_update_ts"], now),
        result,
        _at(record["next_schedule_ts"]),
        "" if record["duration"] is None else format_duration(record["duration"]),
        record["size"],
    )


def _ago(ts: int, now: float) -> str:
    return f"{format_duration(now - ts)} ago" if ts else "never"


def _at(ts: int) -> str:
    return datetime.fromtimestamp(ts).astimezone().strftime("%H:%M %Z") if ts else ""


# --- database -------------------------------------------------------------------

def cmd_validate(args) -> int:
    path = Path(args.db) if args.db else _find_db()
    projects = load_db(path)
    errors = schema.validate(projects)
    if errors:
        print(f"{path}: {schema.format_errors(errors)}", file=sys.stderr)
        return 1
    enabled = sum(1 for p in projects.values() if p.get("enabled"))
    print(f"{path}: {len(projects)} projects ({enabled} enabled), no errors")
    return 0


def load_db(path: Path) -> object:
    import yaml  # controller only; the host reads JSON

    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict) or "speculum_projects" not in data:
        raise ValueError(f"{path} does not define speculum_projects")
    return data["speculum_projects"]


def _find_db() -> Path:
    for directory in (Path.cwd(), *Path.cwd().parents):
        if (directory / DB_RELATIVE).is_file():
            return directory / DB_RELATIVE
    raise FileNotFoundError(f"no {DB_RELATIVE} here or above; pass --db FILE")


def cmd_schedule(args) -> int:
    from . import schedule  # controller only (numpy)

    path = Path(args.db) if args.db else _find_db()
    projects = config.settle(load_db(path))[1]
    settings = _schedule_settings(Path(args.settings) if args.settings else None, path)
    overrides = _read_json_arg(args.durations, "--durations") if args.durations else None
    if overrides is not None and not (isinstance(overrides, dict) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in overrides.values())):
        raise ValueError("--durations must be a JSON object of project id -> seconds (> 0)")
    previous = (timetable.plan_starts(_read_json_arg(args.previous, "--previous"))
                if args.previous else None)
    result = schedule.plan_projects(projects, settings, overrides=overrides, previous=previous)
    if args.json:
        print(json.dumps(result.as_json(), indent=2, sort_keys=True))
    else:
        _print_schedule(result, projects)
    return 0


def _schedule_settings(explicit: Path | None, db: Path) -> dict | None:
    import yaml

    files = [explicit] if explicit else sorted(db.parent.glob("*.yml"))
    for file in files:
        text = file.read_text(encoding="utf-8")
        if text.startswith("$ANSIBLE_VAULT"):
            continue
        data = yaml.safe_load(text)
        if isinstance(data, dict) and "speculum_schedule" in data:
            return data["speculum_schedule"]
    return None


def _read_json_arg(path: str, option: str):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{option} {path}: not JSON ({exc})") from None


def _print_schedule(result, projects: dict) -> None:
    rows = [("project", "runs", "every", "duration", "upstream", "starts")]
    for pid, starts in sorted(result.starts.items()):
        period = timetable.MINUTES_PER_DAY // len(starts)
        shown = " ".join(timetable.hhmm(m) for m in starts[:8]) + (" …" if len(starts) > 8 else "")
        rows.append((pid, f"{len(starts)}/day", format_duration(period * 60),
                     format_duration(result.durations[pid]),
                     projects[pid]["sync"].get("upstream_host") or "-", shown))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    m = result.metrics
    print("\nconcurrent syncs, the peak of each hour:")
    top = max(m["concurrency_by_hour"] + [1])
    for hour, level in enumerate(m["concurrency_by_hour"]):
        print(f"  {hour:02d}:00 {'#' * round(level * 40 / top):<40} {level}")
    print(f"\npeak concurrent syncs   {m['peak_concurrent']} (lower bound {m['lower_bound']})")
    print(f"peak per upstream host  {m['peak_per_upstream']}")
    print(f"peak bandwidth          {m['peak_bandwidth']}")
    print(f"starts in avoided minutes {m['starts_in_avoided_minutes']}, "
          f"sharing a minute {m['same_minute_starts']}")
    if m["moved_from_previous"]:
        print("moved from the previous plan: " + ", ".join(m["moved_from_previous"]))


def cmd_schema(args) -> int:
    sys.stdout.write(schema.markdown_reference())
    return 0


if __name__ == "__main__":
    sys.exit(main())
