"""The site's JSON API: static files under api/v1/ plus /mirrorz.json.

``render_api(config, site, statuses, posts, disk, now)`` returns
{path relative to the web root: bytes}:

    api/v1/projects.json   enabled projects, public fields only (projects.schema.json)
    api/v1/status.json     tunasync ``/jobs`` records (exports "tunasync")
    api/v1/disk.json       the mirror volume's usage
    api/v1/news.json       the news posts, newest first
    api/v1/stats/summary.json, daily.json, bandwidth.json
                           usage statistics and bandwidth (from ``mirrorctl stats export``)
    mirrorz.json           MirrorZ v1.7 (exports "mirrorz")
    api/v1/openapi.json, api/v1/schemas/*.schema.json   copies of the files in api/

The shapes are documented once, in the schemas; the tests validate every file
against them. Only enabled projects are listed, so a project added to (or
removed from) the database shows up (or goes) everywhere on the next build.
Nothing the database keeps for the admins is published: comments, admin
contacts, sync credentials, script command and environment. Of an upstream
that needs a password only the host is shown, never the module path.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from .. import exports
from ..status import human_size
from . import stats as stats_mod
from . import usage

SCHEMAS = ("projects", "status", "disk", "news", "mirrorz", "stats-summary", "stats-daily", "stats-bandwidth")
VERSION = 1

# project fields published as they are (None when unset)
_PLAIN_FIELDS = ("name", "category", "description", "homepage", "icon", "alternative",
                 "public_notes")


def render_api(config: dict, site: dict, statuses: dict, posts: list, disk: dict | None,
               now: datetime, stats: dict | None = None) -> dict[str, bytes]:
    projects = config["projects"]  # exports publish protected upstreams as their host only
    disk = disk or {}
    return {
        "api/v1/projects.json": _dump(_projects_doc(projects, site, statuses, now)),
        "api/v1/status.json": exports.export(projects, "tunasync", site=site,
                                             statuses=statuses).encode(),
        "api/v1/disk.json": _dump(_disk_doc(disk, now)),
        "api/v1/news.json": _dump(_news_doc(posts, site, now)),
        "mirrorz.json": exports.export(projects, "mirrorz", site=_mirrorz_site(site, disk),
                                       statuses=statuses).encode(),
        **{path: _dump(doc) for path, doc in stats_mod.api_docs(stats, rfc3339(now.timestamp()),
                                                                _exported(stats)).items()},
        **static_files(),
    }


def static_files() -> dict[str, bytes]:
    """The OpenAPI document and the JSON Schemas, as shipped in api/."""
    folder = resources.files(__package__) / "api"
    files = {"api/v1/openapi.json": (folder / "openapi.json").read_bytes()}
    for name in SCHEMAS:
        files[f"api/v1/schemas/{name}.schema.json"] = (folder / f"{name}.schema.json").read_bytes()
    return files


def rfc3339(ts: float | None) -> str | None:
    """Unix seconds as RFC 3339 UTC; None for 0/None (never happened)."""
    if not ts:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _exported(stats: dict | None) -> str | None:
    """When the statistics export was written (its own ISO 8601 stamp), in RFC 3339."""
    return rfc3339(datetime.fromisoformat(stats["generated"]).timestamp()) if stats else None


def _dump(doc: Any) -> bytes:
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _base(site: dict) -> str:
    return site.get("https_url") or site["http_url"]


def _projects_doc(projects: dict, site: dict, statuses: dict, now: datetime) -> dict:
    out = []
    for pid in sorted(projects):
        project = projects[pid]
        if not project.get("enabled"):
            continue
        job = exports.tunasync_record(project, statuses.get(pid))
        sync = project["sync"]
        out.append({
            "id": pid,
            **{key: project.get(key) for key in _PLAIN_FIELDS},
            "official": bool(project.get("official")),
            "url": usage.project_url(project, site),
            "rsync_url": usage.rsync_url(project, site),
            "usage": copy.deepcopy(project.get("usage") or {"type": "files"}),
            "sync": {"method": sync["method"], "syncs_per_day": sync.get("syncs_per_day") or 0,
                     "upstream_host": sync.get("upstream_host")},
            "status": job["status"],
            "last_update": rfc3339(job["last_update_ts"]),
            "size_bytes": job["size_bytes"],
            "page": f"/projects/{pid}/",
        })
    return {"version": VERSION, "generated": rfc3339(now.timestamp()),
            "site": {"name": site["name"], "url": site["http_url"],
                     "https_url": site.get("https_url") or None,
                     "rsync_url": site.get("rsync_url") or None},
            "projects": out}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _disk_doc(disk: dict, now: datetime) -> dict:
    total, used = _int(disk.get("total_bytes")), _int(disk.get("used_bytes"))
    inodes, free_inodes = _int(disk.get("total_inodes")), _int(disk.get("free_inodes"))
    return {
        "version": VERSION, "generated": rfc3339(now.timestamp()),
        "path": disk.get("path"),
        "total_bytes": total, "used_bytes": used, "free_bytes": _int(disk.get("free_bytes")),
        "total_inodes": inodes, "free_inodes": free_inodes,
        "used_inodes": inodes - free_inodes if inodes is not None and free_inodes is not None else None,
        "used_percent": round(100 * used / total, 1) if total and used is not None else None,
        "measured": rfc3339(_int(disk.get("measured_ts"))),
    }


def _mirrorz_site(site: dict, disk: dict) -> dict:
    """The site settings plus MirrorZ's free-text ``disk`` ("used/total")."""
    total, used = _int(disk.get("total_bytes")), _int(disk.get("used_bytes"))
    if total and used is not None:
        return {**site, "disk": f"{human_size(used)}/{human_size(total)}"}
    return site


def _news_doc(posts: list, site: dict, now: datetime) -> dict:
    items = [{"slug": post.slug, "title": post.title, "author": post.author,
              "date": rfc3339(post.date.timestamp()), "summary": post.summary,
              "url": _base(site) + post.path.lstrip("/"), "html": post.html} for post in posts]
    return {"version": VERSION, "generated": rfc3339(now.timestamp()), "posts": items}
