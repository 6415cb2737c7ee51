"""Per-project status records, /var/lib/speculum/status/ID.json.

The fields are a superset of tunasync's worker status (``/jobs`` records),
so existing mirror frontends can read them.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .fsutil import read_json, write_json
from .lock import is_held

# tunasync status words
NONE, PRE_SYNCING, SYNCING = "none", "pre-syncing", "syncing"
SUCCESS, FAILED, DISABLED = "success", "failed", "disabled"


def new_record(project: dict) -> dict[str, Any]:
    return {
        "name": project["id"],
        "is_master": True,
        "status": NONE,
        "upstream": project["sync"].get("upstream") or "",
        "size": "unknown",
        "size_bytes": None,
        "last_update": "", "last_update_ts": 0,
        "last_started": "", "last_started_ts": 0,
        "last_ended": "", "last_ended_ts": 0,
        "next_schedule": "", "next_schedule_ts": 0,
        "exit_code": None,
        "duration": None,
        "error_msg": "",
        "marker_ts": None,
        "log_file": "",
        "history": [],
    }


def load(status_dir: str | os.PathLike, project: dict) -> dict[str, Any]:
    path = Path(status_dir) / f"{project['id']}.json"
    record = new_record(project)
    try:
        record.update(read_json(path))
    except (FileNotFoundError, ValueError):
        pass
    record["upstream"] = project["sync"].get("upstream") or ""
    return record


def current(status_dir: str | os.PathLike, lock_dir: str | os.PathLike, project: dict) -> dict[str, Any]:
    """The record as it stands: a static project shows "static", and a run
    that died without recording its end (its lock is free) shows as failed."""
    record = load(status_dir, project)
    if project["sync"]["method"] == "static":
        record["status"] = "static"  # never synced: files are placed by other means
    if record["status"] in (SYNCING, PRE_SYNCING) and not is_held(lock_dir, project["id"]):
        record.update(status=FAILED, error_msg="the last run ended without recording a result (killed?)")
    return record


def save(status_dir: str | os.PathLike, record: dict[str, Any]) -> None:
    write_json(Path(status_dir) / f"{record['name']}.json", record)


def stamp(record: dict[str, Any], key: str, when: float) -> None:
    """Set ``key_ts`` (Unix seconds) and the readable ``key`` together."""
    record[f"{key}_ts"] = int(when)
    record[key] = datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%d %H:%M:%S %z") if when else ""


def human_size(size: int | None) -> str:
    if size is None:
        return "unknown"
    value = float(size)
    for unit in ("B", "K", "M", "G", "T"):
        if value < 1024 or unit == "T":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}P"
