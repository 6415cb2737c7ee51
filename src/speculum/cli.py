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

from . import __version__, config, runner, schema, status
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mirrorctl", description="Speculum mirror administration.")
    parser.add_argument("--version", action="version", version=f"mirrorctl {__version__}")
    parser.add_argument("--config", help="runtime config on the host (default: $SPECULUM_CONFIG "
                        f"or {config.DEFAULT_CONFIG_PATH})")
    sub = parser.add_subparsers(metavar="COMMAND")

    p = sub.add_parser("sync", help="sync one project now (on the mirror host)")
    p.add_argument("project", metavar="ID")
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("status", help="sync status of the projects (on the mirror host)")
    p.add_argument("projects", metavar="ID", nargs="*")
    p.add_argument("--json", action="store_true", help="the status records as JSON")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("validate", help="check the project database")
    p.add_argument("--db", help=f"database file (default: {DB_RELATIVE} of this repository)")
    p.set_defaults(func=cmd_validate)

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
        print(f"starting {unit.name} (log: journalctl -u {unit.name})", file=sys.stderr)
        code = subprocess.run(["systemctl", "start", unit.name], check=False).returncode
        record = status.load(Path(cfg["site"]["state_dir"]) / "status", project)
        print(f"{project['id']}: {record['status']}"
              + (f" ({record['error_msg']})" if record["error_msg"] else ""))
        return code
    return runner.sync(project, cfg["site"])


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
        if record["status"] == status.SYNCING and not is_held(lock_dir, record["name"]):
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


def cmd_schema(args) -> int:
    sys.stdout.write(schema.markdown_reference())
    return 0


if __name__ == "__main__":
    sys.exit(main())
