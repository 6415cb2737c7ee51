"""The schedule command (controller): the timetable the deploy would install."""

from __future__ import annotations

import json
from pathlib import Path

from .. import timetable
from ..durations import format_duration
from . import common


def register(add) -> None:
    p = add("schedule", "plan the sync timetable of the database (controller)",
            "mirrorctl schedule\nmirrorctl schedule --durations what-if.json\n"
            "mirrorctl schedule --json > plan.json; mirrorctl schedule --previous plan.json")
    p.add_argument("--durations", metavar="FILE",
                   help="JSON object of project id -> seconds, overriding the estimates")
    p.add_argument("--previous", metavar="PLAN",
                   help="a previous `schedule --json` output whose placements are kept when valid")
    p.add_argument("--settings", metavar="FILE", help="YAML file with speculum_schedule "
                   "(default: the group_vars files beside the database)")
    p.add_argument("--json", action="store_true", help="the plan as JSON")
    p.set_defaults(func=cmd_schedule)


def cmd_schedule(args) -> int:
    from .. import schedule  # controller only (numpy)

    src = common.source(args)
    if src.on_host:
        raise common.CliError("schedule plans from the repository's database; run it on the "
                              "controller (the host's timers show the plan in force: "
                              "systemctl list-timers 'speculum-sync-*')", common.USAGE)
    projects = src.projects()
    settings = _settings(Path(args.settings) if args.settings else None, src.path)
    overrides = _read_json(args.durations, "--durations") if args.durations else None
    if overrides is not None and not (isinstance(overrides, dict) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in overrides.values())):
        raise ValueError("--durations must be a JSON object of project id -> seconds (> 0)")
    previous = (timetable.plan_starts(_read_json(args.previous, "--previous"))
                if args.previous else None)
    result = schedule.plan_projects(projects, settings, overrides=overrides, previous=previous)
    if args.json:
        print(json.dumps(result.as_json(), indent=2, sort_keys=True))
    else:
        _print(result, projects)
    return common.OK


def _settings(explicit: Path | None, db: Path) -> dict | None:
    if explicit:
        import yaml

        return (yaml.safe_load(explicit.read_text(encoding="utf-8")) or {}).get("speculum_schedule")
    return common.site_vars(db).get("speculum_schedule")


def _read_json(path: str, option: str):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{option} {path}: not JSON ({exc})") from None


def _print(result, projects: dict) -> None:
    rows = [("project", "runs", "every", "duration", "upstream", "starts")]
    for pid, starts in sorted(result.starts.items()):
        period = timetable.MINUTES_PER_DAY // len(starts)
        shown = " ".join(timetable.hhmm(m) for m in starts[:8]) + (" …" if len(starts) > 8 else "")
        rows.append((pid, f"{len(starts)}/day", format_duration(period * 60),
                     format_duration(result.durations[pid]),
                     projects[pid]["sync"].get("upstream_host") or "-", shown))
    print(common.table(rows))
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
