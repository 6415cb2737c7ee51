"""The runtime configuration deployed to the host (/etc/speculum/config.json):
site settings plus the normalised project database with each project's
schedule. Built on the controller by the sync role, read by the runner and
``mirrorctl`` on the host.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from . import schema, timetable
from .durations import parse_duration
from .fsutil import read_json
from .rsync import DEFAULT_OPTIONS

DEFAULT_CONFIG_PATH = "/etc/speculum/config.json"

SITE_DEFAULTS: dict[str, Any] = {
    "mirror_root": "/srv/mirror",
    "state_dir": "/var/lib/speculum",
    "log_dir": "/var/log/speculum",
    "secrets_dir": "/etc/speculum/secrets",
    # Prometheus textfile metrics of the runs and checks ("" for none)
    "metrics_dir": "/var/lib/speculum/metrics",
    "rsync": "/usr/bin/rsync",
    "rsync_options": list(DEFAULT_OPTIONS),
    "default_timeout": "6h",
    "default_max_delete": 4000,
    "default_syncs_per_day": 4,
    "retries": 2,
    "retry_delay": 60,
    "log_keep": 30,
    "history_keep": 100,
    # runtime guard: slots a run takes before syncing (see runner.py)
    "max_concurrent": 4,
    "max_per_upstream": 2,
    "slot_wait": "2h",
}


def build(projects: dict, site: dict | None = None, plan: dict | None = None) -> dict[str, Any]:
    """Validate + normalise the database and attach each project's schedule.

    ``plan`` is a schedule plan (speculum.schedule Result.as_json(), as the
    stagger filter returns it); without one, the projects are planned with the
    default schedule settings and estimated durations. ValueError lists every
    error.
    """
    merged, normalized = settle(projects, site)
    if plan is None:
        from . import schedule  # controller only (numpy); the host just loads JSON

        plan = schedule.plan_projects(normalized).as_json()
    try:
        starts = timetable.plan_starts(plan)
    except ValueError as exc:
        raise ValueError(f"{exc}; pass the stagger filter's output") from None
    for pid, project in normalized.items():
        syncs = project["enabled"] and project["sync"]["method"] != "static"
        mine = starts.get(pid, []) if syncs else []
        if syncs and len(mine) != project["sync"]["syncs_per_day"]:
            raise ValueError(f"project '{pid}': the schedule plan has {len(mine)} start(s), "
                             f"the database asks for {project['sync']['syncs_per_day']} a day; "
                             "plan again (the stagger filter) after changing the database")
        project["schedule"] = {
            "starts": mine,
            "times": [timetable.hhmm(m) for m in mine],
            "oncalendar": timetable.oncalendar(mine),
        }
    return {"site": merged, "projects": normalized}


def settle(projects: dict, site: dict | None = None) -> tuple[dict, dict[str, dict]]:
    """(site settings with defaults, normalised database); ValueError lists every error."""
    merged = dict(SITE_DEFAULTS)
    merged.update({k: v for k, v in (site or {}).items() if v is not None})
    unknown = sorted(set(merged) - set(SITE_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown site setting(s): {', '.join(unknown)}")
    _check_site(merged)
    merged["default_timeout"] = parse_duration(merged["default_timeout"])
    merged["slot_wait"] = parse_duration(merged["slot_wait"])
    return merged, schema.normalize(projects, site_defaults(merged))


def site_defaults(site: dict) -> dict:
    """The site settings that fill in project fields."""
    return {"timeout": site["default_timeout"], "max_delete": site["default_max_delete"],
            "syncs_per_day": site["default_syncs_per_day"]}


_AT_LEAST_ONE = ("log_keep", "history_keep", "max_concurrent", "max_per_upstream")


def _check_site(site: dict) -> None:
    """Site settings are validated like project fields: name the setting."""
    errors = []
    per_day = site["default_syncs_per_day"]
    if not isinstance(per_day, int) or isinstance(per_day, bool) or not (
            1 <= per_day <= schema.MAX_SYNCS_PER_DAY and schema.MINUTES_PER_DAY % per_day == 0):
        errors.append(f"site setting 'default_syncs_per_day': {per_day!r} must divide a day "
                      f"into whole minutes (1-{schema.MAX_SYNCS_PER_DAY}, e.g. 1, 2, 4, 6, 12, 24)")
    for name in ("default_max_delete", "retries", "retry_delay", "log_keep", "history_keep",
                 "max_concurrent", "max_per_upstream"):
        value = site[name]
        if not isinstance(value, int) or isinstance(value, bool) or value < 0 or (
                name in _AT_LEAST_ONE and value < 1):
            errors.append(f"site setting '{name}': must be a whole number "
                          f"{'>= 1' if name in _AT_LEAST_ONE else '>= 0'}, got {value!r}")
    for name in ("default_timeout", "slot_wait"):
        try:
            parse_duration(site[name])
        except ValueError as exc:
            errors.append(f"site setting '{name}': {exc}")
    if not isinstance(site["rsync_options"], list) or not all(
            isinstance(o, str) and o for o in site["rsync_options"]):
        errors.append("site setting 'rsync_options': must be a list of arguments")
    if errors:
        raise ValueError("\n".join(errors))


def load(path: str | os.PathLike | None = None) -> dict[str, Any]:
    path = Path(path or os.environ.get("SPECULUM_CONFIG") or DEFAULT_CONFIG_PATH)
    try:
        config = read_json(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} not found: this command runs on a mirror host "
                                "deployed by site.yml (or point SPECULUM_CONFIG at a config)") from None
    if not isinstance(config, dict) or not {"site", "projects"} <= set(config):
        raise ValueError(f"{path} is not a Speculum runtime config")
    return config
