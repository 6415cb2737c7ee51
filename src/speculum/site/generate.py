"""Generate the whole site: gather the inputs on the host, build every file in
memory, publish them atomically. ``mirrorctl site build`` and the
speculum-site service (after each sync, on a timer, at deploy) run ``run``.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import config as config_mod
from .. import status as status_mod
from ..monitor import run as monitor_run
from . import api, feed, model, news, publish, render, settings
from . import stats as stats_mod

# A sync that finishes while the site is being built is picked up by building
# again (the path unit cannot start a service that is still running).
MAX_ROUNDS = 3


def build(config: dict, site: dict, statuses: dict, posts: list, disk: dict,
          now: datetime, stats: dict | None = None, health: dict | None = None) -> dict[str, bytes]:
    """Every file of the site: {path relative to the web root: bytes}."""
    files: dict[str, bytes] = {}
    parts = (render.render_pages(config, site, statuses, posts, disk, now, stats, health),
             {"news/atom.xml": feed.render_feed(posts, site, now)},
             api.render_api(config, site, statuses, posts, disk, now, stats))
    for part in parts:
        clash = sorted(set(files) & set(part))
        if clash:
            raise ValueError(f"two generators write {', '.join(clash)}")
        files.update(part)
    return files


def collect(config: dict, site: dict, now: datetime) -> dict[str, Any]:
    """The inputs of ``build`` as they are on this host now."""
    return {"config": config, "site": site, "now": now,
            "statuses": load_statuses(config, now),
            "posts": news.load_posts(site["news_dir"]),
            "disk": disk_usage(config["site"]["mirror_root"], now),
            "stats": stats_mod.load(site["stats_file"]),
            "health": monitor_run.load_results(config["site"]["state_dir"])}


def load_statuses(config: dict, now: datetime) -> dict[str, dict]:
    """Status records of every project; a missing or past next run comes from the timetable."""
    status_dir = Path(config["site"]["state_dir"]) / "status"
    out = {}
    for pid, project in sorted(config["projects"].items()):
        record = status_mod.load(status_dir, project)
        if project.get("enabled"):
            status_mod.stamp(record, "next_schedule", model.next_run(project, record, now) or 0)
        out[pid] = record
    return out


def disk_usage(path: str, now: datetime) -> dict[str, Any]:
    """The mirror volume as df sees it (free = what the sync user may still use)."""
    st = os.statvfs(path)
    return {"path": path, "total_bytes": st.f_blocks * st.f_frsize,
            "used_bytes": (st.f_blocks - st.f_bfree) * st.f_frsize,
            "free_bytes": st.f_bavail * st.f_frsize,
            "total_inodes": st.f_files, "free_inodes": st.f_favail,
            "measured_ts": int(now.timestamp())}


def run(*, config_path: str | None = None, site_path: str | None = None, out: str | None = None,
        clock=lambda: datetime.now(UTC)) -> dict[str, Any]:
    """Build and publish until the inputs stop changing; returns what was done."""
    config = config_mod.load(config_path)
    site = settings.load(site_path)
    webroot = out or site["webroot"]
    state_dir = Path(config["site"]["state_dir"])
    watched = [state_dir / "status", state_dir / "monitor" / monitor_run.RESULTS, Path(site["news_dir"]),
               Path(site["stats_file"])]
    summary: dict[str, Any] = {"webroot": webroot, "written": [], "removed": [], "rounds": 0}
    started = time.monotonic()
    for _ in range(MAX_ROUNDS):
        before = _signature(watched)
        inputs = collect(config, site, clock())
        files = build(**inputs)
        result = publish.publish(webroot, files)
        summary["written"] += [f for f in result["written"] if f not in summary["written"]]
        summary["removed"] += result["removed"]
        summary["rounds"] += 1
        summary["files"] = len(files)
        if _signature(watched) == before:
            break
    summary["seconds"] = round(time.monotonic() - started, 3)
    return summary


def _signature(paths: list[Path]) -> list[int]:
    out = []
    for path in paths:
        try:
            out.append(path.stat().st_mtime_ns)
        except FileNotFoundError:
            out.append(0)
    return out
