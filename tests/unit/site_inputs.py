"""Inputs of the site generator for tests: the lab database deployed as a
runtime config, site settings, status records in every state, a news post,
the mirror volume's usage, and a pinned clock.

``inputs()`` returns a fresh dict with the keyword arguments of
``speculum.site.generate.build`` (config, site, statuses, posts, disk, now).
"""

from __future__ import annotations

import copy
import functools
from datetime import UTC, datetime
from pathlib import Path

import yaml

from speculum import config as config_mod
from speculum import status as status_mod
from speculum.site import settings

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)
NOW_TS = int(NOW.timestamp())

SITE = {
    "name": "Speculum Test Mirror",
    "description": "A public mirror of Linux distributions and open-source software.",
    "operator": "Example University Open Source Club",
    "contact": "mirror-admin@example.edu",
    "hostname": "mirror.example.edu",
    "http_url": "http://mirror.example.edu/",
    "https_url": "https://mirror.example.edu/",
    "rsync_url": "rsync://mirror.example.edu/",
    "country": "US",
    "about": "We are students. The mirror runs on **one** server.",
    "links": [{"name": "Source code", "url": "https://git.example.edu/speculum"}],
    "mailing_list": {"address": "mirror-announce@lists.example.edu",
                     "subscribe_url": "https://lists.example.edu/mirror-announce"},
}

POST = """\
Title: Welcome to the new mirror
Author: The mirror team
Date: 2026-11-20 09:30

The mirror now runs **Speculum**. Every project is synced on a schedule:

- Debian four times a day
- Arch Linux every two hours

See the [status page](/status/) for details.
"""


@functools.cache
def _lab_db() -> dict:
    with open(REPO / "group_vars" / "all" / "projects.yml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)["speculum_projects"]


def runtime_config(db: dict | None = None) -> dict:
    return config_mod.build(copy.deepcopy(db if db is not None else _lab_db()))


def _record(project: dict, state: str, **fields) -> dict:
    record = status_mod.new_record(project)
    record["status"] = state
    for key, when in fields.pop("stamps", {}).items():
        status_mod.stamp(record, key, when)
    record.update(fields)
    return record


def statuses(config: dict) -> dict:
    """One record per project, covering success, failed, syncing and never run."""
    projects = config["projects"]
    out = {pid: status_mod.new_record(p) for pid, p in projects.items()}
    hour = 3600
    if "debian" in projects:
        out["debian"] = _record(projects["debian"], "success", size="1.2G",
                                size_bytes=1_288_490_188, duration=412.0, exit_code=0,
                                marker_ts=NOW_TS - 2 * hour,
                                # the last entry is the run of last_update
                                history=[{"started": NOW_TS - (2 + 6 * k) * hour - 412,
                                          "ended": NOW_TS - (2 + 6 * k) * hour, "duration": 412.0,
                                          "exit_code": 10 if k == 1 else 0,
                                          "status": "failed" if k == 1 else "success"}
                                         for k in (2, 1, 0)],
                                stamps={"last_update": NOW_TS - 2 * hour,
                                        "last_started": NOW_TS - 2 * hour - 412,
                                        "last_ended": NOW_TS - 2 * hour,
                                        "next_schedule": NOW_TS + 4 * hour})
    if "archlinux" in projects:
        out["archlinux"] = _record(projects["archlinux"], "failed", exit_code=10,
                                   error_msg="rsync exited with 10 (socket I/O)",
                                   size="310.0M", size_bytes=325_058_560, duration=30.5,
                                   stamps={"last_update": NOW_TS - 30 * hour,
                                           "last_started": NOW_TS - hour,
                                           "last_ended": NOW_TS - hour + 30,
                                           "next_schedule": NOW_TS + hour})
    if "software" in projects:
        out["software"] = _record(projects["software"], "syncing",
                                  stamps={"last_update": NOW_TS - 5 * hour,
                                          "last_started": NOW_TS - 60,
                                          "last_ended": NOW_TS - 5 * hour})
    return out


DISK = {"path": "/srv/mirror", "total_bytes": 4_000_000_000_000, "used_bytes": 2_500_000_000_000,
        "free_bytes": 1_500_000_000_000, "total_inodes": 250_000_000, "free_inodes": 200_000_000,
        "measured_ts": NOW_TS}


def posts(tmp_dir: Path | None = None) -> list:
    """The sample post, parsed by speculum.site.news (written to tmp_dir if given)."""
    from speculum.site import news

    directory = tmp_dir or Path(__import__("tempfile").mkdtemp())
    (directory / "2026-11-20-welcome.md").write_text(POST, encoding="utf-8")
    return news.load_posts(directory)


def inputs(db: dict | None = None) -> dict:
    config = runtime_config(db)
    return {"config": config, "site": settings.validate(copy.deepcopy(SITE)),
            "statuses": statuses(config), "posts": posts(), "disk": dict(DISK), "now": NOW}
