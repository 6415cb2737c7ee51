"""Per-project checks: the last sync's result, freshness from the marker
(against the upstream's own marker when it can be read), a run stuck past
its expected duration, and the age of the last success.

Pure functions of the status record, the marker readings and the clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import status
from ..durations import format_duration
from .settings import Settings

OK, WARN, FAIL, UNKNOWN = "ok", "warn", "fail", "unknown"
SEVERITY = {OK: 0, UNKNOWN: 0, WARN: 1, FAIL: 2}
DEFAULT_EXPECTED = 900  # seconds a run is expected to take before there is history


@dataclass(frozen=True)
class Check:
    subject: str  # a project id, or "host/…"
    name: str
    state: str
    message: str
    value: float | None = None  # the measured number (lag, days left, percent free)

    def as_json(self) -> dict:
        return {"subject": self.subject, "check": self.name, "state": self.state,
                "message": self.message, "value": self.value}


@dataclass(frozen=True)
class Marker:
    """A marker reading: its time, or why there is none."""

    ts: float | None
    error: str = ""


def period(project: dict) -> float:
    return 86400 / project["sync"]["syncs_per_day"]


def expected_duration(project: dict, record: dict) -> float:
    """The 90th percentile of recent successful runs, else the estimate."""
    runs = sorted(h["duration"] for h in record.get("history") or []
                  if h.get("status") == status.SUCCESS and h.get("duration") is not None)
    if runs:
        return max(runs[min(len(runs) - 1, int(len(runs) * 0.9))], 60.0)
    return float(project["sync"].get("estimate") or DEFAULT_EXPECTED)


def project_checks(project: dict, record: dict, now: float, settings: Settings, *,
                   ours: Marker | None = None, upstream: Marker | None = None) -> list[Check]:
    """The checks of one enabled, syncing project."""
    pid = project["id"]
    expected = expected_duration(project, record)
    out = [_sync(pid, record, now)]
    if record["status"] == status.SYNCING:
        out.append(_stuck(pid, record, now, expected, settings))
    if project.get("verify"):
        out.append(_freshness(project, now, settings, ours or Marker(None, "not read"), upstream))
    if record.get("last_update_ts"):
        out.append(_age(project, record, now, expected, settings))
    return out


def _sync(pid: str, record: dict, now: float) -> Check:
    state = record["status"]
    if state == status.FAILED:
        streak = 0
        for run in reversed(record.get("history") or []):
            if run.get("status") != status.FAILED:
                break
            streak += 1
        runs = f"; {streak} failed runs in a row" if streak > 1 else ""
        code = f" (exit {record['exit_code']})" if record.get("exit_code") is not None else ""
        return Check(pid, "sync", FAIL, f"last run failed{code}: {record.get('error_msg') or 'no message'}{runs}")
    if state == status.NONE:
        return Check(pid, "sync", UNKNOWN, "never synced yet")
    if state in (status.SYNCING, status.PRE_SYNCING):
        return Check(pid, "sync", OK, f"{state} now")
    return Check(pid, "sync", OK, f"last run succeeded {_ago(record.get('last_ended_ts'), now)}")


def _stuck(pid: str, record: dict, now: float, expected: float, settings: Settings) -> Check:
    running = now - (record.get("last_started_ts") or now)
    limit = expected * settings.stuck_factor
    if running > limit:
        return Check(pid, "stuck", FAIL, f"running for {format_duration(running)}, "
                     f"expected about {format_duration(expected)}", running)
    return Check(pid, "stuck", OK, f"running for {format_duration(running)}", running)


def _freshness(project: dict, now: float, settings: Settings, ours: Marker,
               upstream: Marker | None) -> Check:
    pid = project["id"]
    marker = project["verify"]["file"]
    if ours.ts is None:
        return Check(pid, "freshness", UNKNOWN, f"our marker {marker} is unreadable: {ours.error}")
    age = now - ours.ts
    max_age = max(settings.max_marker_age, 2 * period(project))
    if upstream is not None and upstream.ts is not None:
        behind = upstream.ts - ours.ts
        allowed = settings.behind_periods * period(project)
        if behind > allowed:
            return Check(pid, "freshness", FAIL, f"{format_duration(behind)} behind the upstream's "
                         f"marker (allowed: {format_duration(allowed)})", age)
        if now - upstream.ts > max_age:
            return Check(pid, "freshness", WARN, f"the upstream has stalled: its marker is "
                         f"{format_duration(now - upstream.ts)} old; we have everything it has", age)
        return Check(pid, "freshness", OK, f"data {format_duration(age)} old, "
                     + ("in step with the upstream" if behind <= 0 else
                        f"{format_duration(behind)} behind the upstream"), age)
    why = f" (upstream marker: {upstream.error})" if upstream is not None and upstream.error else ""
    if age > max_age:
        return Check(pid, "freshness", FAIL, f"marker is {format_duration(age)} old, more than "
                     f"{format_duration(max_age)}{why}", age)
    return Check(pid, "freshness", OK, f"data {format_duration(age)} old{why}", age)


def _age(project: dict, record: dict, now: float, expected: float, settings: Settings) -> Check:
    age = now - record["last_update_ts"]
    limit = settings.stale_periods * period(project) + expected
    pid = project["id"]
    if age > limit:
        return Check(pid, "age", FAIL, f"last successful sync {format_duration(age)} ago "
                     f"(expected every {format_duration(period(project))})", age)
    return Check(pid, "age", OK, f"last successful sync {format_duration(age)} ago", age)


def _ago(ts: float | None, now: float) -> str:
    return f"{format_duration(now - ts)} ago" if ts else "at an unknown time"


def worst(checks: list[Check]) -> str:
    """The state of a subject: the worst of its checks (unknown only if nothing else)."""
    states = {c.state for c in checks}
    for state in (FAIL, WARN, OK, UNKNOWN):
        if state in states:
            return state
    return UNKNOWN
