"""What the public site shows of the statistics: one JSON document.

The stats service writes it after each ingest (``mirrorctl stats export``),
so the site generator, another user, needs no access to the store itself. It
holds the last ``days`` days: per day and project, the window's totals, the
projects ranked by bytes, client families, top files, and the bandwidth
history from vnstat when there is one.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from .report import STATUS_KEYS, daily_projects, report
from .store import Store

VERSION = 1


def export(store: Store, today: date, generated: datetime, days: int = 30, top: int = 10,
           bandwidth: dict | None = None, bandwidth_error: str = "") -> dict:
    since = (today - timedelta(days=days - 1)).isoformat()
    until = today.isoformat()
    data = report(store, since, until, top)
    per_day = daily_projects(store, since, until)
    day_list = []
    for n in range(days):
        day = (today - timedelta(days=days - 1 - n)).isoformat()
        totals = data["days"].get(day, {})
        day_list.append({"day": day, "requests": totals.get("requests", 0), "bytes": totals.get("bytes", 0),
                         "clients": totals.get("clients", 0), "projects": per_day.get(day, {})})
    totals = data["totals"]
    projects = sorted(({"id": pid, "requests": p["requests"], "bytes": p["bytes"],
                        "status": p["status"], "top_files": p["top_files"]}
                       for pid, p in data["projects"].items()), key=lambda p: (-p["bytes"], p["id"]))
    return {
        "version": VERSION,
        "generated": generated.isoformat(timespec="seconds"),
        "window": {"from": since, "to": until, "days": days},
        "first_record": data["first"], "last_record": data["last"],
        "totals": {"requests": totals["requests"], "bytes": totals["bytes"],
                   "status": {k: totals["status"][k] for k in STATUS_KEYS},
                   "ipv4": totals["ipv4"], "ipv6": totals["ipv6"],
                   "families": totals["families"], "top_files": totals["top_files"]},
        "days": day_list,
        "projects": projects,
        "bandwidth": bandwidth,
        "bandwidth_error": bandwidth_error,
    }
