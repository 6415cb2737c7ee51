"""Prometheus textfile metrics (node exporter's textfile collector).

Each writer owns one file, replaced atomically: a sync run writes
``sync-ID.prom``, the checks write ``check.prom``. A failed write never fails
the run that makes it: metrics are a view, the status records are the truth.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable
from pathlib import Path

from .fsutil import atomic_write

Sample = tuple[str, dict[str, str], float]  # (metric name, labels, value)

HELP = {
    "speculum_sync_last_run_timestamp_seconds": "When the last sync run ended.",
    "speculum_sync_last_success_timestamp_seconds": "When the last successful sync ended.",
    "speculum_sync_duration_seconds": "How long the last sync run took.",
    "speculum_sync_exit_code": "Exit code of the last sync run (0: success).",
    "speculum_sync_size_bytes": "Size of the tree after the last successful sync.",
    "speculum_sync_transferred_bytes": "Bytes the last successful sync transferred.",
    "speculum_marker_timestamp_seconds": "The time our copy's freshness marker records.",
    "speculum_upstream_marker_timestamp_seconds": "The time the upstream's marker records.",
    "speculum_freshness_lag_seconds": "Age of our copy's data, from its freshness marker.",
    "speculum_check_state": "Check result: 0 ok, 1 warning, 2 failing, -1 unknown.",
    "speculum_incident_open": "1 while an alert incident is open for the subject.",
    "speculum_certificate_expiry_timestamp_seconds": "When the served certificate expires.",
    "speculum_check_last_run_timestamp_seconds": "When the checks last ran.",
    "speculum_backup_last_run_ok": "1 if the last backup run succeeded, else 0.",
    "speculum_backup_last_success_timestamp_seconds": "When the last successful backup ended.",
    "speculum_backup_added_bytes": "New data the last backup added to the repository.",
    "speculum_backup_duration_seconds": "How long the last successful backup run took.",
    "speculum_backup_snapshots": "Snapshots of this host in the repository.",
}
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def render(samples: Iterable[Sample]) -> str:
    """The exposition format: HELP and TYPE once per metric, samples grouped."""
    grouped: dict[str, list[tuple[dict[str, str], float]]] = {}
    for name, labels, value in samples:
        if not _NAME.fullmatch(name):
            raise ValueError(f"bad metric name {name!r}")
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        grouped.setdefault(name, []).append((labels, value))
    lines = []
    for name in sorted(grouped):
        lines.append(f"# HELP {name} {HELP.get(name, name)}")
        lines.append(f"# TYPE {name} gauge")
        for labels, value in grouped[name]:
            lines.append(f"{name}{_labels(labels)} {_number(value)}")
    return "\n".join(lines) + "\n" if lines else ""


def write(directory: str | os.PathLike | None, name: str, samples: Iterable[Sample]) -> str | None:
    """Write ``name`` into ``directory``; the reason when it could not."""
    if not directory:
        return None
    try:
        atomic_write(Path(directory) / name, render(samples))
    except OSError as exc:
        return f"metrics not written to {directory}: {exc.strerror or exc}"
    return None


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(str(v))}"' for k, v in sorted(labels.items()))
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))
