"""Reports from the store: totals and per project, as plain dicts (JSON-ready).

Hourly and daily tables are read together (old hours are rolled into days),
so the totals don't change when retention compacts the store.
"""

from __future__ import annotations

from . import clients
from .store import Store

STATUS_KEYS = ("2xx", "3xx", "4xx", "5xx", "other")


def _periods(store: Store, table: str, since: str | None, until: str | None):
    """Rows of hourly_X and daily_X, as (period, project, *rest), within [since, until] (days)."""
    for period, key in (("hourly", "hour"), ("daily", "day")):
        sql = f"SELECT * FROM {period}{table} WHERE substr({key}, 1, 10) BETWEEN ? AND ?"
        yield from store.db.execute(sql, (since or "", until or "9999"))


def _empty() -> dict:
    return {"requests": 0, "bytes": 0, "status": dict.fromkeys(STATUS_KEYS, 0), "ipv4": 0, "ipv6": 0,
            "families": {}, "networks": {}, "countries": {}, "clients": {}}


def report(store: Store, since: str | None = None, until: str | None = None, top: int = 10) -> dict:
    """{"totals": {...}, "projects": {id: {...}}, "days": {day: {...}}, "first", "last",
    "lines", "malformed", "skipped"}; see docs/stats in the CLI help."""
    totals, projects, days = _empty(), {}, {}
    first = last = None
    for period, project, requests, size, s2, s3, s4, s5, so, v4, v6 in _periods(store, "", since, until):
        first = min(first or period, period)
        last = max(last or period, period)
        day = days.setdefault(period[:10], {"requests": 0, "bytes": 0, "clients": 0})
        day["requests"] += requests
        day["bytes"] += size
        for target in (totals, projects.setdefault(project, _empty())):
            target["requests"] += requests
            target["bytes"] += size
            for name, value in zip(STATUS_KEYS, (s2, s3, s4, s5, so), strict=True):
                target["status"][name] += value
            target["ipv4"] += v4
            target["ipv6"] += v6
    for table, name in (("_family", "families"), ("_network", "networks"), ("_country", "countries")):
        for _period, project, value, requests, size in _periods(store, table, since, until):
            for target in (totals, projects.setdefault(project, _empty())):
                acc = target[name].setdefault(value, {"requests": 0, "bytes": 0})
                acc["requests"] += requests
                acc["bytes"] += size
    _clients(store, since, until, totals, projects, days)
    for project, data in projects.items():
        data["top_files"] = _top_files(store, project, since, until, top)
    totals["top_files"] = _top_files(store, None, since, until, top)
    counters = dict(store.db.execute("SELECT name, value FROM counters"))
    return {"totals": totals, "projects": projects, "days": days, "first": first, "last": last,
            **{name: counters.get(name, 0) for name in ("lines", "malformed", "skipped")}}


def _clients(store: Store, since, until, totals: dict, projects: dict, days: dict) -> None:
    """Unique clients per day: per project, and over all projects (sketches merged)."""
    merged: dict[str, bytearray] = {}
    rows = store.db.execute("SELECT day, project, hll FROM daily_clients WHERE day BETWEEN ? AND ? ORDER BY day",
                            (since or "", until or "9999"))
    for day, project, hll in rows:
        projects.setdefault(project, _empty())["clients"][day] = clients.estimate(hll)
        merged[day] = clients.merge(merged[day], hll) if day in merged else bytearray(hll)
    for day, registers in merged.items():
        totals["clients"][day] = clients.estimate(registers)
        days.setdefault(day, {"requests": 0, "bytes": 0, "clients": 0})["clients"] = totals["clients"][day]


def _top_files(store: Store, project: str | None, since, until, top: int) -> list[dict]:
    sql = ("SELECT path, sum(requests), sum(bytes) FROM daily_files WHERE day BETWEEN ? AND ? "
           + ("AND project = ? " if project else "")
           + "GROUP BY path ORDER BY 2 DESC, 1 LIMIT ?")
    params = (since or "", until or "9999", *((project,) if project else ()), top)
    return [{"path": p, "requests": r, "bytes": b} for p, r, b in store.db.execute(sql, params)]


def daily_projects(store: Store, since: str | None = None, until: str | None = None) -> dict[str, dict]:
    """{day: {project: {"requests", "bytes"}}} (days with traffic only)."""
    out: dict[str, dict] = {}
    for period, project, requests, size, *_rest in _periods(store, "", since, until):
        acc = out.setdefault(period[:10], {}).setdefault(project, {"requests": 0, "bytes": 0})
        acc["requests"] += requests
        acc["bytes"] += size
    return out
