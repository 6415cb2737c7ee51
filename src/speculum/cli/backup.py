"""Backups on the mirror host: backup run, status, snapshots, restore."""

from __future__ import annotations

import os
import time

from ..fsutil import read_json
from ..status import human_size
from . import common

CONFIG = "/etc/speculum/backup.json"


def register(add) -> None:
    p = add("backup", "back up the host's state with restic, show it, restore it (on the mirror host)",
            "mirrorctl backup status\nmirrorctl backup run\nmirrorctl backup snapshots\n"
            "mirrorctl backup restore --snapshot latest")
    p.add_argument("action", choices=["run", "status", "snapshots", "restore"],
                   help="run: one backup now (what the timer does); status: the last run, success and check; "
                        "snapshots: this host's snapshots; restore: put a snapshot back (playbooks/restore.yml "
                        "stops and starts the services around it)")
    p.add_argument("--settings", metavar="FILE", default=CONFIG, help="the backup's config (default: %(default)s)")
    p.add_argument("--snapshot", metavar="ID", default="latest",
                   help="restore: a snapshot id (or unique prefix) of this host (default: latest)")
    p.add_argument("--force", action="store_true",
                   help="run: back up even a host that looks rebuilt and not yet restored")
    p.add_argument("--json", action="store_true", help="status, snapshots: as JSON")
    p.set_defaults(func=cmd_backup)


def _config(args):
    from ..backup import settings

    if not os.path.exists(args.settings):
        raise common.CliError(f"{args.settings}: no backup is configured on this host "
                              "(set speculum_backup_repository; docs/disaster-recovery.md)")
    try:
        return settings.load(read_json(args.settings))
    except (OSError, ValueError) as exc:
        raise common.CliError(f"{args.settings}: {exc}") from None


def cmd_backup(args) -> int:
    from ..backup import job, restic
    from ..backup import restore as restoring

    cfg = _config(args)
    if args.action == "status":
        status = job.load_status(cfg)
        if args.json:
            common.print_json(status)
        else:
            print(describe(status, time.time()))
        last = status.get("last_run") or {}
        return common.FAILING if last.get("ok") is False else common.OK
    try:
        if args.action == "run":
            status = job.run(cfg, force=args.force)
            print(describe(status, time.time()))
        elif args.action == "snapshots":
            snaps = job.repository(cfg).snapshots(host=cfg.host)
            if args.json:
                common.print_json(snaps)
            else:
                rows = [("id", "time", "paths")]
                rows += [(s["short_id"], s["time"][:19].replace("T", " "), " ".join(s["paths"])) for s in snaps]
                print(common.table(rows))
        else:
            done = restoring.restore(cfg, args.snapshot)
            print(f"restored snapshot {done['snapshot'][:8]} of {cfg.host} "
                  f"({_stamp(done['time'])}): "
                  f"{', '.join(done['paths'])}; databases: {', '.join(done['databases']) or 'none'}")
    except (job.BackupError, restic.ResticError) as exc:
        raise common.CliError(f"backup {args.action} failed ({exc.kind}): {exc}") from None
    return common.OK


def describe(status: dict, now: float) -> str:
    """The status for a person: the last run, the last success, the last check."""
    from ..durations import format_duration

    def ago(ts) -> str:
        return f"{_stamp(ts)} ({format_duration(now - ts)} ago)"

    lines = [f"repository: {status.get('repository', '?')}  host: {status.get('host', '?')}"]
    run = status.get("last_run") or {}
    if run.get("finished"):
        if run.get("ok"):
            lines.append(f"last run:     ok, {ago(run['finished'])}, snapshot {run.get('snapshot', '')[:8]}, "
                         f"{run.get('files', 0)} files, {human_size(run.get('size', 0))}, "
                         f"{human_size(run.get('added', 0))} new")
        else:
            lines.append(f"last run:     FAILED {ago(run['finished'])}: {run.get('error', '?')}")
    last = status.get("last_success")
    lines.append(f"last success: {ago(last['time'])}, snapshot {last.get('snapshot', '')[:8]}" if last
                 else "last success: never")
    check = status.get("last_check")
    if check:
        lines.append(f"last check:   {'ok' if check.get('ok') else 'FAILED'}, {ago(check['time'])}"
                     + (f": {check['error']}" if check.get("error") else ""))
    if "snapshots" in status:
        lines.append(f"snapshots:    {status['snapshots']}")
    restored = status.get("restored")
    if restored:
        lines.append(f"restored:     snapshot {restored['snapshot'][:8]} of {ago(restored['time'])}, "
                     f"on {_stamp(restored['at'])}")
    return "\n".join(lines)


def _stamp(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M %Z", time.localtime(ts))
