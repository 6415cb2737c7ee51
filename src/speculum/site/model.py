"""The view model of the HTML pages: plain dicts, with every word, time and
size already formatted, so the templates only lay them out.

Only enabled projects appear. Secrets and admin-only fields (sync.user,
password_secret, env, command, comments, admin_email) are never copied here,
so no template can print them by mistake.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from typing import Any

import markdown

from .. import exports, timetable
from .. import status as status_mod
from . import usage

DAY = 86400
HISTORY_SHOWN = 10
AVATAR_COLOURS = 8  # classes av0..av7 in site.css

STATE_LABELS = {
    status_mod.SUCCESS: "Success", status_mod.FAILED: "Failed", status_mod.SYNCING: "Syncing",
    status_mod.PRE_SYNCING: "Starting", status_mod.NONE: "Never run", status_mod.DISABLED: "Disabled",
}
FRESHNESS_LABELS = {"fresh": "Fresh", "late": "Late", "stale": "Stale", "never": "Never synced",
                    "static": "Static"}
FRESHNESS_ORDER = ("fresh", "late", "stale", "never", "static")
# colour classes of the badges (t-ok, ...); the badge's words carry the meaning too
TONES = {"fresh": "ok", "late": "warn", "stale": "bad", "never": "off", "static": "info",
         status_mod.SUCCESS: "ok", status_mod.FAILED: "bad", status_mod.SYNCING: "info",
         status_mod.PRE_SYNCING: "info", status_mod.NONE: "off", status_mod.DISABLED: "off"}


def build(config: dict, site: dict, statuses: dict, posts: list, disk: dict | None,
          now: datetime) -> dict[str, Any]:
    projects = [project_view(p, site, statuses.get(pid) or status_mod.new_record(p), now)
                for pid, p in sorted(config["projects"].items()) if p.get("enabled")]
    projects.sort(key=lambda p: (p["name"].casefold(), p["id"]))
    return {
        "site": site_view(site),
        "projects": projects,
        "categories": categories(projects),
        "counts": counts(projects),
        "disk": disk_view(disk),
        "posts": [post_view(p) for p in posts],
        "generated": when(now.timestamp()),
    }


HEALTH_TONES = {"ok": "ok", "warn": "warn", "fail": "bad", "unknown": "off"}
HOST_CHECKS = {"host/http": "Web server (HTTP)", "host/https": "Web server (HTTPS)",
               "host/certificate": "Certificate", "host/disk": "Free space", "host/inodes": "Free inodes",
               "host/units": "Services"}


def health_view(results: dict, projects: list[dict]) -> dict[str, Any]:
    """The monitor's last results: host checks, and each project's most telling check."""
    from ..monitor.run import health

    subjects = health(results)

    def item(name: str, found: dict, label: str) -> dict[str, Any]:
        return {"name": name, "label": label, "state": found["state"], "check": found["check"],
                "tone": HEALTH_TONES.get(found["state"], "off"), "message": found["message"]}
    return {
        "checked": when(results.get("checked")),
        "host": [item(n, subjects[n], label) for n, label in HOST_CHECKS.items() if n in subjects],
        "projects": {p["id"]: item(p["id"], subjects[p["id"]], p["name"])
                     for p in projects if p["id"] in subjects},
    }


# --- formatting -----------------------------------------------------------------

def when(ts: float | None) -> dict[str, str] | None:
    """A moment as shown ("2026-11-21 10:00 UTC", or without the zone where a
    column head says UTC) and as <time datetime>."""
    if not ts:
        return None
    moment = datetime.fromtimestamp(int(ts), UTC)
    return {"text": moment.strftime("%Y-%m-%d %H:%M UTC"), "short": moment.strftime("%Y-%m-%d %H:%M"),
            "iso": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}


def duration(seconds: float | None, parts: int = 2) -> str:
    """'6m 52s', '2h 5m', '3d 4h': the largest ``parts`` units."""
    if seconds is None:
        return ""
    left = max(0, int(round(seconds)))
    if left < 60:
        return f"{left}s"
    out = []
    for unit, size in (("d", DAY), ("h", 3600), ("m", 60), ("s", 1)):
        if left >= size or out:
            out.append((left // size, unit))
            left %= size
        if len(out) == parts:
            break
    while out[-1][0] == 0:  # "12h", not "12h 0m"
        out.pop()
    return " ".join(f"{n}{unit}" for n, unit in out)


def size_text(size_bytes: int | None) -> str:
    return status_mod.human_size(size_bytes) if size_bytes is not None else ""


# --- pieces ---------------------------------------------------------------------

def site_view(site: dict) -> dict[str, Any]:
    ml = site.get("mailing_list") or {}
    access = [(label, site.get(key)) for label, key in
              (("HTTP", "http_url"), ("HTTPS", "https_url"), ("rsync", "rsync_url"))]
    return {
        **{k: site.get(k) or "" for k in ("name", "description", "operator", "contact", "hostname",
                                          "http_url", "https_url", "rsync_url", "country")},
        "base_url": site.get("https_url") or site["http_url"],
        "access_text": _and([label for label, url in access if url]),
        "access": [{"label": label, "url": url} for label, url in access if url],
        "links": [{"name": link["name"], "url": link["url"]} for link in site.get("links") or []],
        # the public part of the list settings only (never smtp_*)
        "mailing_list": {k: ml.get(k) or "" for k in ("address", "subscribe_url", "subscribe_address",
                                                      "archive_url")},
        "about_html": markdown.markdown(site.get("about") or "", extensions=["extra"]),
    }


def _and(words: list[str]) -> str:
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else "".join(words)


def freshness(project: dict, record: dict, now: datetime) -> tuple[str, int | None]:
    """(fresh | late | stale | never | static, lag in seconds or None).

    Fresh while the data is at most two periods plus one run old, late up to
    six periods, stale beyond. The upstream's own marker, when read, beats the
    time of our last successful run (a run can succeed on a stale upstream).
    """
    sync = project["sync"]
    if sync["method"] == "static":
        return "static", None
    synced = record.get("marker_ts") or record.get("last_update_ts")
    if not synced:
        return "never", None
    lag = max(0, int(now.timestamp()) - int(synced))
    period = DAY / max(1, sync.get("syncs_per_day") or 1)
    fresh_limit = 2 * period + (sync.get("timeout") or 0)
    if lag <= fresh_limit:
        return "fresh", lag
    return ("late" if lag <= max(6 * period, fresh_limit) else "stale"), lag


def next_run(project: dict, record: dict, now: datetime) -> float | None:
    """The record's next run, or the timetable's when the record has none yet."""
    planned = record.get("next_schedule_ts") or 0
    if planned > now.timestamp():
        return planned
    upcoming = timetable.next_start((project.get("schedule") or {}).get("starts") or [], now)
    return upcoming.timestamp() if upcoming else None


def avatar_class(pid: str) -> str:
    return f"av{zlib.crc32(pid.encode()) % AVATAR_COLOURS}"


def project_view(project: dict, site: dict, record: dict, now: datetime) -> dict[str, Any]:
    pid, sync = project["id"], project["sync"]
    static = sync["method"] == "static"
    fresh, lag = freshness(project, record, now)
    state = record.get("status") or status_mod.NONE
    size_bytes = record.get("size_bytes")
    scan = project.get("scan") or {}
    history = [{
        "started": when(h.get("started")), "duration": duration(h.get("duration")),
        "tone": TONES.get(h.get("status"), "off"),
        "state_label": STATE_LABELS.get(h.get("status"), h.get("status") or ""),
        "exit_code": h.get("exit_code"),
    } for h in reversed((record.get("history") or [])[-HISTORY_SHOWN:])]
    per_day = sync.get("syncs_per_day") or 0
    return {
        "id": pid,
        "name": project["name"],
        "initial": project["name"][:1].upper(),
        "avatar": avatar_class(pid),
        "icon": project.get("icon") or "",
        "category": project.get("category") or "Software",
        "description": project.get("description") or "",
        "homepage": project.get("homepage") or "",
        "alternative": project.get("alternative") or "",
        "official": bool(project.get("official")),
        "public_notes": project.get("public_notes") or "",
        "files_url": f"/{pid}/",
        "page_url": f"/projects/{pid}/",
        "mirror_url": usage.project_url(project, site),
        "rsync_url": usage.rsync_url(project, site) or "",
        "method": sync["method"],
        "upstream": exports.public_upstream(sync),
        "state": "static" if static else state,
        "state_label": "Static" if static else STATE_LABELS.get(state, state),
        "state_tone": "info" if static else TONES.get(state, "off"),
        "error": (record.get("error_msg") or "") if state == status_mod.FAILED else "",
        "exit_code": record.get("exit_code"),
        "freshness": fresh,
        "freshness_label": FRESHNESS_LABELS[fresh],
        "freshness_tone": TONES[fresh],
        "lag": lag,
        "lag_text": duration(lag) if lag is not None else "",
        "size_bytes": size_bytes,
        # before the first sync, the upstream's size from `mirrorctl scan` is a fair guess
        "size": size_text(size_bytes) or (f"~{size_text(scan['size'])}" if scan.get("size") else ""),
        "last_success": when(record.get("last_update_ts")),
        "last_started": when(record.get("last_started_ts")),
        "last_ended": when(record.get("last_ended_ts")),
        "next_run": None if static else when(next_run(project, record, now)),
        "duration": duration(record.get("duration")),
        "times": list((project.get("schedule") or {}).get("times") or []),
        "period": duration(DAY / per_day) if per_day else "",
        "syncs_per_day": per_day,
        "timeout": duration(sync.get("timeout")) if sync.get("timeout") else "",
        "history": history,
        "usage": usage.instructions(project, site),
    }


def categories(projects: list[dict]) -> list[dict[str, Any]]:
    groups: dict[str, list[dict]] = {}
    for project in projects:
        groups.setdefault(project["category"], []).append(project)
    out, slugs = [], set()
    for name in sorted(groups, key=str.casefold):
        slug = "cat-" + "".join(c if c.isalnum() else "-" for c in name.lower())
        while slug in slugs:  # "C++" and "C--" must not share an anchor
            slug += "-"
        slugs.add(slug)
        out.append({"name": name, "slug": slug, "projects": groups[name]})
    return out


def counts(projects: list[dict]) -> dict[str, Any]:
    by_freshness = {key: sum(p["freshness"] == key for p in projects) for key in FRESHNESS_ORDER}
    known = [p["size_bytes"] for p in projects if p["size_bytes"] is not None]
    return {
        "projects": len(projects),
        "freshness": [{"key": k, "label": FRESHNESS_LABELS[k], "tone": TONES[k], "count": n}
                      for k, n in by_freshness.items() if n],
        "failed": sum(p["state"] == status_mod.FAILED for p in projects),
        "syncing": sum(p["state"] in (status_mod.SYNCING, status_mod.PRE_SYNCING) for p in projects),
        "total_size": size_text(sum(known)) if known else "",
    }


def disk_view(disk: dict | None) -> dict[str, Any] | None:
    if not disk or not disk.get("total_bytes"):
        return None
    total, used, free = disk["total_bytes"], disk["used_bytes"], disk["free_bytes"]
    inodes, free_inodes = disk.get("total_inodes") or 0, disk.get("free_inodes") or 0
    return {
        "path": disk.get("path") or "",
        "total": size_text(total), "used": size_text(used), "free": size_text(free),
        "percent": round(100 * used / total, 1),
        "inode_percent": round(100 * (inodes - free_inodes) / inodes, 1) if inodes else None,
        "measured": when(disk.get("measured_ts")),
    }


def post_view(post: Any) -> dict[str, Any]:
    return {"slug": post.slug, "title": post.title, "author": post.author, "date": when(post.date.timestamp()),
            "html": post.html, "summary": post.summary, "path": post.path}
