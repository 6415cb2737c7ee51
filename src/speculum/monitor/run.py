"""One run of the checks (``mirrorctl check``, from the monitor's timer):
read markers, check projects and host, advance the alert state, deliver the
messages, and leave the results where ``mirrorctl status``, the site and
Prometheus read them.

Files in the monitor's directory (/var/lib/speculum/monitor): ``state.json``
(incidents, undelivered messages, cached upstream markers) and
``checks.json`` (the last results, for the status page and ``mirrorctl
status``). A lock keeps a manual run and the timer's run apart.
"""

from __future__ import annotations

import fcntl
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from .. import metrics, status, upstream
from ..fsutil import read_json, write_json
from ..markers import marker_time
from . import alerts
from .checks import FAIL, OK, SEVERITY, UNKNOWN, WARN, Check, Marker, project_checks
from .hostchecks import host_checks
from .notify import Notifier
from .settings import Settings

STATE, RESULTS, LOCK = "state.json", "checks.json", "lock"
STATE_CODE = {OK: 0, WARN: 1, FAIL: 2, UNKNOWN: -1}
OUTBOX_KEEP = 86400  # undelivered messages older than a day are dropped


@dataclass
class Report:
    checks: list[Check]
    messages: list[alerts.Message]
    undelivered: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def failing(self) -> bool:
        return any(c.state == FAIL for c in self.checks)


@dataclass
class Context:
    """What a run reads; the probes are replaceable for tests."""

    config: dict
    settings: Settings
    monitor_dir: Path
    now: float
    notifier: Notifier
    secrets_dir: str | None = None
    metrics_dir: str | None = None
    read_upstream: bool = True
    host_probe: object = host_checks
    jobs: int = 8


def run(ctx: Context) -> Report:
    ctx.monitor_dir.mkdir(parents=True, exist_ok=True)
    with open(ctx.monitor_dir / LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = load_state(ctx.monitor_dir / STATE)
        checks = gather(ctx, state)
        label = ctx.settings.hostname or socket.getfqdn()
        messages = alerts.step(state, checks, ctx.now, ctx.settings, label)
        undelivered = deliver(state, messages, ctx.notifier, ctx.now)
        write_json(ctx.monitor_dir / STATE, state)
        write_json(ctx.monitor_dir / RESULTS, results(checks, state, ctx.now))
    problems = [p for p in [metrics.write(ctx.metrics_dir, "check.prom", samples(checks, state, ctx))] if p]
    return Report(checks, messages, undelivered, problems)


def gather(ctx: Context, state: dict) -> list[Check]:
    site, projects = ctx.config["site"], ctx.config["projects"]
    status_dir = Path(site["state_dir"]) / "status"
    lock_dir = Path(site["state_dir"]) / "locks"
    watched = sorted(pid for pid, p in projects.items()
                     if p["enabled"] and p["sync"]["method"] != "static")
    cache = state.setdefault("upstream", {})
    for gone in set(cache) - set(watched):
        del cache[gone]
    due = [pid for pid in watched if ctx.read_upstream and _upstream_due(projects[pid], cache.get(pid), ctx)]
    readings = upstream.parallel(lambda pid: _read_upstream(projects[pid], ctx), due, jobs=ctx.jobs)
    for pid, reading in zip(due, readings, strict=True):
        cache[pid] = {"ts": reading.ts, "error": reading.error, "read": ctx.now}
    checks: list[Check] = []
    for pid in watched:
        project = projects[pid]
        record = status.current(status_dir, lock_dir, project)
        cached = cache.get(pid)
        checks += project_checks(
            project, record, ctx.now, ctx.settings, ours=_read_ours(project, site),
            upstream=Marker(cached["ts"], cached["error"]) if cached else None)
    checks += ctx.host_probe(ctx.settings, site["mirror_root"], ctx.now)
    return checks


def deliver(state: dict, messages: list[alerts.Message], notifier: Notifier, now: float) -> int:
    """Send earlier undelivered messages, then the new ones; keep what failed."""
    pending = [m for m in state.get("outbox", []) if now - m.get("queued", now) < OUTBOX_KEEP]
    pending += [{**m.as_json(), "queued": now} for m in messages]
    kept = []
    for item in pending:
        message = alerts.Message(**{k: v for k, v in item.items() if k != "queued"})
        try:
            sent = notifier.send(message)
        except Exception:  # apprise or the network: retried on the next run
            sent = False
        if not sent:
            kept.append(item)
    state["outbox"] = kept
    return len(kept)


def results(checks: list[Check], state: dict, now: float) -> dict:
    incidents = {name: {"since": e["since"], "severity": e.get("severity")}
                 for name, e in state.get("subjects", {}).items() if e.get("open")}
    return {"checked": int(now), "checks": [c.as_json() for c in checks], "incidents": incidents}


def load_results(state_dir: str | os.PathLike) -> dict:
    """The last run's results ({} before the first run)."""
    try:
        return read_json(Path(state_dir) / "monitor" / RESULTS)
    except (FileNotFoundError, ValueError):
        return {}


def health(results: dict) -> dict[str, dict]:
    """Per subject of the last run: its most telling check (failing, then
    warning, then unknown, then ok) and when it ran."""
    rank = {OK: 0, UNKNOWN: 1, WARN: 2, FAIL: 3}
    out: dict[str, dict] = {}
    for check in results.get("checks", []):
        known = out.get(check["subject"])
        if known is None or rank[check["state"]] > rank[known["state"]]:
            out[check["subject"]] = {"state": check["state"], "check": check["check"],
                                     "message": check["message"], "checked": results.get("checked")}
    return out


def samples(checks: list[Check], state: dict, ctx: Context) -> list[metrics.Sample]:
    out: list[metrics.Sample] = [("speculum_check_last_run_timestamp_seconds", {}, ctx.now)]
    open_incidents = {n for n, e in state.get("subjects", {}).items() if e.get("open")}
    for check in checks:
        labels = {"subject": check.subject, "check": check.name}
        out.append(("speculum_check_state", labels, STATE_CODE[check.state]))
        if check.name == "freshness" and check.value is not None:
            out.append(("speculum_freshness_lag_seconds", {"project": check.subject}, check.value))
        if check.name == "certificate" and check.value is not None:
            out.append(("speculum_certificate_expiry_timestamp_seconds", {}, ctx.now + check.value * 86400))
    for subject in sorted({c.subject for c in checks}):
        out.append(("speculum_incident_open", {"subject": subject}, int(subject in open_incidents)))
    for pid, cached in sorted(state.get("upstream", {}).items()):
        if cached.get("ts") is not None:
            out.append(("speculum_upstream_marker_timestamp_seconds", {"project": pid}, cached["ts"]))
    return out


def worst_state(checks: list[Check]) -> str:
    return max((c.state for c in checks), key=SEVERITY.get, default=OK)


def _read_ours(project: dict, site: dict) -> Marker:
    verify = project.get("verify")
    if not verify:
        return Marker(None, "no marker")
    try:
        return Marker(marker_time(Path(site["mirror_root"]) / project["id"] / verify["file"], verify["format"]))
    except FileNotFoundError:
        return Marker(None, "missing")
    except (OSError, ValueError) as exc:
        return Marker(None, str(exc))


def _upstream_due(project: dict, cached: dict | None, ctx: Context) -> bool:
    if not project.get("verify") or project["sync"]["method"] != "rsync":
        return False
    return cached is None or ctx.now - cached.get("read", 0) >= ctx.settings.upstream_every


def _read_upstream(project: dict, ctx: Context) -> Marker:
    sync, verify = project["sync"], project["verify"]
    try:
        return Marker(upstream.fetch_marker(sync["upstream"], verify["file"], verify["format"],
                                            user=sync.get("user"), password=_password(project, ctx),
                                            timeout=30))
    except (upstream.UpstreamError, OSError, ValueError) as exc:
        return Marker(None, str(exc))


def _password(project: dict, ctx: Context) -> str | None:
    if not project["sync"].get("password_secret") or not ctx.secrets_dir:
        return None
    try:
        return (Path(ctx.secrets_dir) / project["id"]).read_text(encoding="utf-8").strip()
    except OSError:
        return None


def load_state(path: Path) -> dict:
    try:
        state = read_json(path)
    except (FileNotFoundError, ValueError):
        return alerts.new_state()
    return state if isinstance(state, dict) else alerts.new_state()
