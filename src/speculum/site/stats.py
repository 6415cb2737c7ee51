"""The site's statistics: /stats/ page data and /api/v1/stats/*.json, from the
document the stats service exports (``mirrorctl stats export``).

The generator never opens the statistics store: it reads the export, which
may be absent (no ingest yet) — then the page says so and the API documents
are empty but valid.
"""

from __future__ import annotations

import sys
from typing import Any

from ..fsutil import read_json
from . import charts

TOP_PROJECTS = 8  # the daily charts stack these; the rest is "other"
STATUS_KEYS = ("2xx", "3xx", "4xx", "5xx", "other")
BANDWIDTH = (("hours", "Last 24 hours"), ("days", "Last 30 days"), ("months", "Last 12 months"))


def load(path: str) -> dict | None:
    """The export, or None when there is none yet (or it cannot be read: the site still builds)."""
    try:
        data = read_json(path)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        print(f"mirrorctl site build: {path}: {exc}; the stats page shows no statistics", file=sys.stderr)
        return None
    if not isinstance(data, dict) or data.get("version") != 1:
        print(f"mirrorctl site build: {path}: not a version 1 statistics export; ignored", file=sys.stderr)
        return None
    return data


# --- API ------------------------------------------------------------------------------------

def api_docs(stats: dict | None, generated: str, exported: str | None) -> dict[str, Any]:
    """{path: document} of api/v1/stats/ (summary, daily, bandwidth); times in RFC 3339."""
    s = stats or {}
    head = {"version": 1, "generated": generated, "exported": exported}
    totals = s.get("totals")
    bandwidth = s.get("bandwidth") or {}
    return {
        "api/v1/stats/summary.json": {
            **head, "window": s.get("window"),
            "totals": None if totals is None else {k: totals[k] for k in (
                "requests", "bytes", "status", "ipv4", "ipv6", "families", "top_files")},
            "projects": [{k: p[k] for k in ("id", "requests", "bytes", "status", "top_files")}
                         for p in s.get("projects", [])],
        },
        "api/v1/stats/daily.json": {**head, "days": s.get("days", [])},
        "api/v1/stats/bandwidth.json": {
            **head, "interface": bandwidth.get("interface"), "error": s.get("bandwidth_error", ""),
            **{kind: bandwidth.get(kind, []) for kind, _label in BANDWIDTH},
        },
    }


# --- page ------------------------------------------------------------------------------------

def view(stats: dict | None, names: dict[str, str]) -> dict[str, Any] | None:
    """Charts (SVG markup) and tables of the stats page; None when there is no export.

    ``names``: project id -> display name (ids not in it, like "other", show as they are).
    """
    if not stats:
        return None
    days = stats["days"]
    labels = [d["day"][5:] for d in days]  # MM-DD
    ranked = [p for p in stats["projects"] if p["requests"]]
    shown = [p["id"] for p in ranked if p["id"] != "other"][:TOP_PROJECTS]

    def per_project(measure: str) -> list[tuple[str, list[float]]]:
        series = [(names.get(pid, pid), [d["projects"].get(pid, {}).get(measure, 0) for d in days])
                  for pid in shown]
        rest = [d[measure] - sum(d["projects"].get(pid, {}).get(measure, 0) for pid in shown) for d in days]
        return series + ([("other", rest)] if any(rest) else [])

    window = stats["window"]
    span = f"{window['from']} to {window['to']}"
    totals = stats["totals"]
    families = sorted(totals["families"].items(), key=lambda kv: (-kv[1]["requests"], kv[0]))
    out = {
        "window": window, "totals": totals, "exported": stats["generated"],
        "projects": [{**p, "name": names.get(p["id"], p["id"]),
                      "share": p["bytes"] / totals["bytes"] if totals["bytes"] else 0} for p in ranked],
        "families": [{"name": k, **v} for k, v in families],
        "charts": {key: {"title": title, "svg": draw(f"c-{key}", title, *args)} for key, title, draw, args in (
            ("bytes", "Bytes served per day", charts.stacked_bars,
             (labels, per_project("bytes"), charts.human_bytes, f"Bytes served per day and project, {span}.")),
            ("requests", "Requests per day", charts.stacked_bars,
             (labels, per_project("requests"), charts.human_count, f"Requests per day and project, {span}.")),
            ("top", "Top projects by bytes served", charts.hbars,
             ([(names.get(p["id"], p["id"]), p["bytes"]) for p in ranked[:15]], charts.human_bytes)),
            ("families", "Requests by client family", charts.hbars,
             ([(name, v["requests"]) for name, v in families], charts.human_count)),
        )},
        "bandwidth": None, "bandwidth_error": stats.get("bandwidth_error", ""),
    }
    history = stats.get("bandwidth")
    if history:
        out["bandwidth"] = {"interface": history["interface"], "charts": [
            {"title": label, "svg": charts.lines(
                f"c-bw-{kind}", f"Bandwidth, {label.lower()}",
                [_period_label(kind, e["period"]) for e in history[kind]],
                [("sent (tx)", [e["tx"] for e in history[kind]]), ("received (rx)", [e["rx"] for e in history[kind]])],
                charts.human_bytes, f"Bytes sent and received on {history['interface']}, {label.lower()}.")}
            for kind, label in BANDWIDTH]}
    return out


def _period_label(kind: str, period: str) -> str:
    return {"hours": period[11:13] + "h", "days": period[5:], "months": period}[kind]
